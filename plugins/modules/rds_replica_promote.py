#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_replica_promote
short_description: Promote an RDS read replica to a standalone instance, and prove it happened
version_added: "0.2.0"
description:
  - "Probe: is the instance still a read replica (C(ReadReplicaSourceDBInstanceIdentifier))
    and C(available)? An instance that is already standalone is left alone (changed=false;
    the module still waits for it to be available and checks it)."
  - "Refuse: RDS cannot promote a replica that is C(backing-up), or in any status other than
    C(available); the module fails and says what to do."
  - "Act: PromoteReadReplica with an explicit I(backup_retention_period) (never 0: 0 would
    switch the new primary's backups off; the API's default is 1) and, optionally,
    I(preferred_backup_window). The promotion cannot be undone: the old primary is never
    attached again (docs/dr.md)."
  - "Wait: first for the instance to B(leave) C(available) - a waiter for C(available) would
    return at once, since the status only moves seconds after the call - then for it to be
    C(available) and standalone again."
  - "Verify: no C(ReadReplicaSourceDBInstanceIdentifier), status C(available), backup
    retention as asked. A promotion API call that was accepted but did nothing (a known
    failure of older tooling) fails the task."
  - "The lab's moto (5.2.5) accepts PromoteReadReplica but never changes the instance:
    there, I(verify_post_state=false) makes the module wait only for C(available) and say
    in C(post_state) that nothing was verified."
author:
  - tradeops engineers (@tradeops)
options:
  db_instance_identifier:
    description: The read replica to promote, in I(region).
    type: str
    required: true
  backup_retention_period:
    description: Days of automated backups of the promoted instance (1 to 35).
    type: int
    default: 7
  preferred_backup_window:
    description: Daily backup window of the promoted instance, C(hh24:mi-hh24:mi) UTC.
    type: str
  wait_timeout:
    description:
      - Seconds to wait for the whole promotion and its verification (it takes minutes,
        longer on large instances).
    type: int
    default: 3600
  verify_post_state:
    description:
      - Require the instance to leave C(available) after the call and to come back
        standalone, with the backup retention asked for.
      - false only where the API cannot show a promotion (the lab's moto).
    type: bool
    default: true
extends_documentation_fragment:
  - tradeops.platform.aws
  - tradeops.platform.wait
  - tradeops.platform.wait.delay
notes:
  - Check mode probes and reports whether it would promote.
  - Replica lag (the RPO) is the runbook's gate, before this step.
"""

EXAMPLES = r"""
- name: Promote the DR replica (unplanned failover)
  tradeops.platform.rds_replica_promote:
    region: us-west-2
    db_instance_identifier: tradeops-production-dr
    backup_retention_period: 30
    preferred_backup_window: "03:00-04:00"
  register: promoted

- name: The lab - moto cannot show a promotion
  tradeops.platform.rds_replica_promote:
    region: us-west-2
    db_instance_identifier: tradeops-lab-dr
    verify_post_state: false
"""

RETURN = r"""
action:
  description: C(promote) when the module promoted (or in check mode would), C(none) otherwise.
  returned: always
  type: str
  sample: promote
before:
  description:
    - The instance before (identifier, status, read_replica_source,
      backup_retention_period, ...).
  returned: always
  type: dict
  sample: {"db_instance_identifier": "tradeops-production-dr", "status": "available",
           "read_replica_source": "arn:aws:rds:us-east-1:123456789012:db:tradeops-production",
           "backup_retention_period": 7}
after:
  description: The instance after, same keys as C(before).
  returned: always
  type: dict
post_state_verified:
  description: Whether the post-state (standalone, available, backups) was checked and holds.
  returned: always
  type: bool
post_state:
  description: What was verified, or why nothing was.
  returned: always
  type: str
  sample: "verified: standalone (no ReadReplicaSourceDBInstanceIdentifier), available, backup
    retention 30 days"
changes:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (  # noqa: E402
    DrError,
    promote_errors,
    promote_replica,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            db_instance_identifier=dict(type="str", required=True),
            backup_retention_period=dict(type="int", default=7),
            preferred_backup_window=dict(type="str"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=3600),
            wait_delay=dict(type="int", default=15),
            verify_post_state=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = promote_errors(p)
    if errors:
        module.fail_json(msg="rds_replica_promote: " + "; ".join(errors))
    client = module.client("rds")
    try:
        result = promote_replica(
            client,
            p["db_instance_identifier"],
            p["backup_retention_period"],
            p["preferred_backup_window"],
            wait=p["wait"],
            wait_timeout=p["wait_timeout"],
            wait_delay=p["wait_delay"],
            verify_post_state=p["verify_post_state"],
            check_mode=module.check_mode,
        )
    except DrError as err:
        module.fail_json(msg=err.msg, **err.result)
    except Exception as err:  # botocore ClientError / BotoCoreError
        module.fail_json_aws(err, msg=f"Could not promote {p['db_instance_identifier']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()

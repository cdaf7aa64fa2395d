#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticache_global_failover
short_description: Make a region's member the primary of an ElastiCache Global Datastore
version_added: "0.2.0"
description:
  - "Probe: DescribeGlobalReplicationGroups (with members) in I(region), the region to make
    primary. When I(replication_group_id) there is already the primary, nothing changes
    (the module waits until the datastore is C(available) again if a failover is still
    under way)."
  - "Planned (the old primary's region answers): FailoverGlobalReplicationGroup, then wait
    until the datastore reports I(replication_group_id) in I(region) as C(PRIMARY) and its
    status is C(available)."
  - "Unplanned: with I(disassociate_if_unreachable=true), when the old primary's region
    does not answer (a short-time-out DescribeReplicationGroups there), or when ElastiCache
    refuses the failover (C(InvalidGlobalReplicationGroupState)), the target member is
    disassociated instead (DisassociateGlobalReplicationGroup): it stands alone and takes
    writes. Re-associating it later is part of C(reprotect). A member that already stands
    alone is left alone."
  - "Tested only on response shapes written from the AWS API reference (botocore Stubber,
    tests/unit/plugins/fixtures/dr/SOURCES.md): moto does not implement global datastores,
    so the lab cannot run it. Verify the unplanned path's exact behaviour in a drill on AWS."
author:
  - tradeops engineers (@tradeops)
options:
  global_replication_group_id:
    description: The Global Datastore's id (with its generated prefix, as AWS reports it).
    type: str
    required: true
  replication_group_id:
    description: The member replication group in I(region) that must become primary.
    type: str
    required: true
  disassociate_if_unreachable:
    description:
      - The unplanned case. When the old primary's region does not answer, or ElastiCache
        refuses the failover, disassociate the target member so it stands alone.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the target state (I(replication_group_id) the primary, or standing
        alone, and the datastore C(available)).
    type: int
    default: 1800
  probe_connect_timeout:
    description: Seconds to wait for a connection to the old primary's region when probing it.
    type: int
    default: 3
  probe_read_timeout:
    description: Seconds to wait for its answer.
    type: int
    default: 5
  probe_max_attempts:
    description: Attempts of the probe, the first one included.
    type: int
    default: 2
extends_documentation_fragment:
  - tradeops.platform.aws
  - tradeops.platform.wait
  - tradeops.platform.wait.delay
notes:
  - I(region) is the region whose member becomes primary (it is the region that is alive
    in the unplanned case, so every call but the probe goes there).
  - Check mode probes and reports what it would do.
"""

EXAMPLES = r"""
- name: Planned switchover of the cache to us-west-2
  tradeops.platform.elasticache_global_failover:
    region: us-west-2
    global_replication_group_id: ldgnf-tradeops-production
    replication_group_id: tradeops-production-dr

- name: Unplanned failover - stand alone when us-east-1 does not answer
  tradeops.platform.elasticache_global_failover:
    region: us-west-2
    global_replication_group_id: ldgnf-tradeops-production
    replication_group_id: tradeops-production-dr
    disassociate_if_unreachable: true
"""

RETURN = r"""
action:
  description:
    - C(failover), C(disassociate), or C(none) when the target already is primary or
      stands alone.
  returned: always
  type: str
  sample: failover
primary_region_reachable:
  description: Whether the old primary's region answered the probe (null when no probe was needed).
  returned: always
  type: bool
probe_error:
  description: The probe's error when the old primary's region did not answer.
  returned: always
  type: str
before:
  description: The Global Datastore before (id, status, members with region and role).
  returned: always
  type: dict
  sample: {"global_replication_group_id": "ldgnf-tradeops-production", "status": "available",
           "members": [{"replication_group_id": "tradeops-production", "region": "us-east-1",
                        "role": "PRIMARY", "status": "associated"}]}
after:
  description: The Global Datastore after, same keys as C(before).
  returned: always
  type: dict
replication_group:
  description: The target replication group after a disassociation (id, status, global id and role).
  returned: when the target stands alone
  type: dict
changes:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (  # noqa: E402
    DrError,
    botocore_config,
    connection_errors,
    global_failover,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            global_replication_group_id=dict(type="str", required=True),
            replication_group_id=dict(type="str", required=True),
            disassociate_if_unreachable=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=1800),
            wait_delay=dict(type="int", default=15),
            probe_connect_timeout=dict(type="int", default=3),
            probe_read_timeout=dict(type="int", default=5),
            probe_max_attempts=dict(type="int", default=2),
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = connection_errors(
        {
            "connect_timeout": p["probe_connect_timeout"],
            "read_timeout": p["probe_read_timeout"],
            "max_attempts": p["probe_max_attempts"],
        }
    )
    if p["wait_timeout"] < 1 or p["wait_delay"] < 0:
        errors.append("wait_timeout must be positive and wait_delay not negative")
    if not module.region:
        errors.append("region (the region whose member becomes primary) is required")
    if errors:
        module.fail_json(msg="elasticache_global_failover: " + "; ".join(errors))
    client = module.client("elasticache")
    probe_config = botocore_config(
        p["probe_connect_timeout"], p["probe_read_timeout"], p["probe_max_attempts"]
    )

    def probe_client_for(region):
        return module.client("elasticache", region=region, config=probe_config)

    try:
        result = global_failover(
            client,
            probe_client_for,
            p["global_replication_group_id"],
            module.region,
            p["replication_group_id"],
            disassociate_if_unreachable=p["disassociate_if_unreachable"],
            wait=p["wait"],
            wait_timeout=p["wait_timeout"],
            wait_delay=p["wait_delay"],
            check_mode=module.check_mode,
        )
    except DrError as err:
        module.fail_json(msg=err.msg, **err.result)
    except Exception as err:  # botocore ClientError / BotoCoreError
        module.fail_json_aws(
            err, msg=f"Could not fail {p['global_replication_group_id']} over to {module.region}"
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dr_state
short_description: Read and write the DR state (active region, epoch, run lock) in SSM
version_added: "0.2.0"
description:
  - The DR state of docs/dr.md lives in SSM Parameter Store of B(every) region, so either
    region can read it without the other's control plane. C(<prefix>/active) holds the JSON
    C({active_region, epoch, changed_at, run_id, verb, reason}); C(<prefix>/epochs/<epoch, 8
    digits>) holds the same JSON and is created without overwrite, which makes it the claim
    of that epoch; C(<prefix>/lock) is the DR run lock.
  - The B(authoritative) record is the one with the highest epoch among the regions that
    answered. Engines are fenced on it (role C(dr_fence)).
  - I(state=read) reads every region of I(regions) and writes nothing.
  - I(state=present) makes I(active_region) at I(epoch) the state. A new epoch is a
    compare-and-set - the authoritative epoch must still be I(expected_epoch) - then claims
    C(epochs/<epoch>) in every region that answers (a second claimant fails and is told who
    holds it; a claim this call made is released again), then writes C(active) there.
    Asking for the authoritative epoch and region again completes that decision where it is
    missing (a resumed run; C(reprotect) bringing the old region up to date), copying the
    record as it is. Records that already say it are left alone (changed=false).
  - I(state=present) with I(init=true) only creates records where they are missing and never
    overwrites (site.yml's DR layer, at epoch 1). A region without a record gets the
    authoritative record of the other regions when there is one.
  - I(state=lock) takes the run lock in every region of I(regions), I(state=unlock) releases
    it (only the lock of I(run_id) is deleted).
  - A region that does not answer (connection error, time-out, HTTP 5xx after
    I(max_attempts)) fails the task unless I(allow_unreachable=true); then it is reported
    in C(unreachable) and skipped. Access errors always fail. The time-outs and attempts are
    small so that a dead region costs seconds, not minutes.
  - "Uses the AWS connection options of amazon.aws (endpoint, credentials), so
    C(module_defaults: group/tradeops.platform.aws) reaches it; I(region) is not used, the
    regions are I(regions)."
author:
  - tradeops engineers (@tradeops)
options:
  prefix:
    description:
      - SSM path of the DR state, C(/<tradeops_project>/<tradeops_environment>/dr).
    type: str
    required: true
  regions:
    description:
      - Regions to read, and for I(state=present), I(state=lock) and I(state=unlock) to write.
    type: list
    elements: str
    required: true
  state:
    description: What to do.
    type: str
    default: read
    choices: [read, present, lock, unlock]
  active_region:
    description: The region to make active (I(state=present)).
    type: str
  epoch:
    description:
      - The epoch of the new state (I(state=present)); a new claim must be higher than
        I(expected_epoch).
    type: int
  expected_epoch:
    description:
      - The authoritative epoch the caller read before deciding (I(state=present), required
        unless I(init=true)). The write fails when the authoritative epoch is no longer this one.
    type: int
  init:
    description:
      - With I(state=present), only create missing records (at I(epoch), naming
        I(active_region), unless another region already has a record); never overwrite.
    type: bool
    default: false
  reason:
    description: Why the state changes (recorded in the record).
    type: str
    default: ""
  run_id:
    description:
      - Id of the DR run (recorded; the lock's owner key). Required for I(state=present),
        I(state=lock) and I(state=unlock). The same run may resume (re-claim its epoch,
        re-take its lock).
    type: str
  verb:
    description:
      - The runbook verb (failover, switchover, reprotect, ...); C(init) by default with
        I(init=true).
    type: str
  owner:
    description:
      - Who takes the lock, for I(state=lock); by default C(<user>@<host>) of where the
        module runs (the controller, for a runbook on localhost).
    type: str
  lock_ttl:
    description:
      - Seconds until a lock expires and another run may take it without
        I(break_lock_reason).
    type: int
    default: 3600
  break_lock_reason:
    description:
      - Take the lock even when another run holds it (unexpired), replacing it. The reason
        and the replaced lock are returned for the run record.
    type: str
  allow_unreachable:
    description:
      - Report and skip regions that do not answer instead of failing (the unplanned
        failover writes only the region that is alive). At least one region must answer, and
        with I(state=present) the I(active_region) itself.
    type: bool
    default: false
  region_endpoint_urls:
    description:
      - Endpoint URL per region, overriding I(endpoint_url) for that region (the unit tests
        point one region at a closed port; the lab fails a region behind its one endpoint
        with its region gate instead).
    type: dict
    default: {}
  connect_timeout:
    description: Seconds to wait for a connection to a region's SSM endpoint.
    type: int
    default: 3
  read_timeout:
    description: Seconds to wait for an answer once connected.
    type: int
    default: 5
  max_attempts:
    description:
      - Attempts per call, the first one included (botocore standard retry mode). With the
        defaults a dead region costs at most about 2 x (3 + 5) s plus a second of backoff; a
        refused connection milliseconds.
    type: int
    default: 2
extends_documentation_fragment:
  - tradeops.platform.aws
notes:
  - Check mode reads, and reports what would be written without writing.
  - "What a region that does not answer costs, measured on botocore 1.44 against
    127.0.0.1 (tests/unit/plugins/test_dr_state.py): a refused connection milliseconds; an
    endpoint answering 503 is asked I(max_attempts) times in under 0.2 s; a black-holed one
    (connection time-out) I(max_attempts) x I(connect_timeout) (2 x 1 s = 2.0 s), plus under
    a second of backoff. botocore's defaults (60 s time-outs, 3 attempts; 5 in legacy
    retry mode) would cost a black-holed region 3 minutes or more."
  - SSM has no compare-and-set on a parameter's value. Claims and new records are created
    without overwrite (atomic); an overwrite of C(active) or of the lock checks the version
    it got back and stops when another writer was active at the same time.
"""

EXAMPLES = r"""
- name: Read the DR state of both regions
  tradeops.platform.dr_state:
    prefix: /tradeops/production/dr
    regions: [us-east-1, us-west-2]
  register: dr

- name: Initial records at epoch 1 (site.yml; never overwrites)
  tradeops.platform.dr_state:
    prefix: /tradeops/production/dr
    regions: [us-east-1, us-west-2]
    state: present
    init: true
    active_region: us-east-1
    epoch: 1
    run_id: "site-{{ ansible_date_time.iso8601_basic_short }}"
    reason: initial state

- name: Take the DR run lock in the target region
  tradeops.platform.dr_state:
    prefix: /tradeops/production/dr
    regions: [us-west-2]
    state: lock
    run_id: "{{ dr_run_id }}"
    verb: failover
    owner: "{{ lookup('ansible.builtin.env', 'USER') }}@{{ inventory_hostname }}"
    break_lock_reason: "{{ dr_break_lock_reason | default(omit) }}"

- name: Unplanned failover - claim the next epoch, write the region that is alive
  tradeops.platform.dr_state:
    prefix: /tradeops/production/dr
    regions: [us-east-1, us-west-2]
    state: present
    active_region: us-west-2
    expected_epoch: "{{ dr.epoch }}"
    epoch: "{{ dr.epoch + 1 }}"
    run_id: "{{ dr_run_id }}"
    verb: failover
    reason: us-east-1 down (INC-1234)
    allow_unreachable: true
  register: dr_written

- name: Release the lock
  tradeops.platform.dr_state:
    prefix: /tradeops/production/dr
    regions: [us-west-2]
    state: unlock
    run_id: "{{ dr_run_id }}"
"""

RETURN = r"""
records:
  description:
    - Record of C(active) per region that answered (after a write), null where the region
      has none. Regions that did not answer are in C(unreachable), unreadable records in C(invalid).
  returned: always
  type: dict
  sample: {"us-east-1": {"active_region": "us-east-1", "epoch": 1,
                         "changed_at": "2026-01-05T10:00:00Z", "run_id": "site-1",
                         "verb": "init", "reason": "initial state"},
           "us-west-2": null}
unreachable:
  description: Error text per region that did not answer.
  returned: always
  type: dict
  sample: {"us-east-1": "EndpointConnectionError: Could not connect to the endpoint URL"}
invalid:
  description: Why a region's C(active) parameter is not a DR record (a write refuses to go on).
  returned: always
  type: dict
  sample: {}
authoritative:
  description:
    - The record with the highest epoch among the regions that answered; null when none has one.
  returned: always
  type: dict
authoritative_regions:
  description: The regions that hold the authoritative epoch.
  returned: always
  type: list
  elements: str
conflict:
  description:
    - Set when regions name different active regions at the highest epoch (then
      C(active_region) is null).
  returned: always
  type: str
active_region:
  description: The authoritative record's active region.
  returned: always
  type: str
  sample: us-east-1
epoch:
  description: The authoritative epoch.
  returned: always
  type: int
  sample: 1
record:
  description: The record written or confirmed (I(state=present)).
  returned: when state is present
  type: dict
claimed:
  description: Regions where this call claimed C(epochs/<epoch>).
  returned: when state is present
  type: list
  elements: str
written:
  description: Regions whose C(active) this call wrote.
  returned: when state is present
  type: list
  elements: str
lock:
  description: The run lock now in place (I(state=lock)).
  returned: when state is lock
  type: dict
  sample: {"owner": "alice@ops-1", "run_id": "r-20260105-1", "verb": "failover",
           "acquired_at": "2026-01-05T10:00:00Z", "expires_at": "2026-01-05T11:00:00Z"}
locks:
  description: The lock per region that answered (I(state=lock)).
  returned: when state is lock
  type: dict
acquired:
  description: Regions where the lock was created, refreshed or replaced by this call.
  returned: when state is lock
  type: list
  elements: str
broken:
  description: Per region, the lock that was replaced and why (C(break_lock_reason) or C(expired)).
  returned: when state is lock
  type: dict
break_lock_reason:
  description: The reason given for breaking a lock, for the run record.
  returned: when state is lock
  type: str
released:
  description: Regions whose lock was deleted (I(state=unlock)).
  returned: when state is unlock
  type: list
  elements: str
changes:
  description: What was (or in check mode would be) written, one sentence each.
  returned: always
  type: list
  elements: str
"""

import getpass  # noqa: E402
import socket  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (  # noqa: E402
    DrError,
    DrStateStore,
    botocore_config,
    connection_errors,
    validate_prefix,
    validate_region,
)


def default_owner():
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME in the environment
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def argument_errors(p):
    errors = validate_prefix(p["prefix"])
    if not p["regions"]:
        errors.append("regions must name at least one region")
    for region in p["regions"]:
        errors += validate_region(region)
    if len(set(p["regions"])) != len(p["regions"]):
        errors.append(f"regions {p['regions']} lists a region twice")
    for region in p["region_endpoint_urls"]:
        errors += validate_region(region, "region_endpoint_urls key")
    errors += connection_errors(p)
    if p["state"] == "present":
        errors += validate_region(p["active_region"], "active_region")
        if p["epoch"] is not None and p["epoch"] < 1:
            errors.append("epoch must be 1 or more")
        if not p["init"]:
            if p["expected_epoch"] is None:
                errors.append(
                    "expected_epoch is required with state=present (the authoritative epoch "
                    "you read before deciding; init=true for the initial records)"
                )
            elif p["epoch"] is not None and p["epoch"] < p["expected_epoch"]:
                errors.append(
                    f"epoch {p['epoch']} is lower than expected_epoch {p['expected_epoch']}"
                )
            if not p["verb"]:
                errors.append("verb is required with state=present (failover, switchover, ...)")
    if p["state"] == "lock" and p["lock_ttl"] < 60:
        errors.append("lock_ttl must be at least 60 seconds")
    return errors


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            prefix=dict(type="str", required=True),
            regions=dict(type="list", elements="str", required=True),
            state=dict(type="str", default="read", choices=["read", "present", "lock", "unlock"]),
            active_region=dict(type="str"),
            epoch=dict(type="int"),
            expected_epoch=dict(type="int"),
            init=dict(type="bool", default=False),
            reason=dict(type="str", default=""),
            run_id=dict(type="str"),
            verb=dict(type="str"),
            owner=dict(type="str"),
            lock_ttl=dict(type="int", default=3600),
            break_lock_reason=dict(type="str", no_log=False),
            allow_unreachable=dict(type="bool", default=False),
            region_endpoint_urls=dict(type="dict", default={}),
            connect_timeout=dict(type="int", default=3),
            read_timeout=dict(type="int", default=5),
            max_attempts=dict(type="int", default=2),
        ),
        required_if=[
            ("state", "present", ["active_region", "epoch", "run_id"]),
            ("state", "lock", ["run_id"]),
            ("state", "unlock", ["run_id"]),
        ],
        supports_check_mode=True,
    )
    p = module.params
    errors = argument_errors(p)
    if errors:
        module.fail_json(msg="dr_state: " + "; ".join(errors))

    config = botocore_config(p["connect_timeout"], p["read_timeout"], p["max_attempts"])
    clients = {}

    def client_for(region):
        if region not in clients:
            extra = {"config": config, "region": region}
            if p["region_endpoint_urls"].get(region):
                extra["endpoint"] = p["region_endpoint_urls"][region]
            clients[region] = module.client("ssm", **extra)
        return clients[region]

    store = DrStateStore(p["prefix"], client_for, check_mode=module.check_mode)
    regions = p["regions"]
    try:
        if p["state"] == "read":
            result = store.read(regions).result()
        elif p["state"] == "present" and p["init"]:
            result = store.init(
                regions,
                p["active_region"],
                p["epoch"],
                p["run_id"],
                p["verb"] or "init",
                p["reason"],
                p["allow_unreachable"],
            )
        elif p["state"] == "present":
            result = store.present(
                regions,
                p["active_region"],
                p["epoch"],
                p["expected_epoch"],
                p["run_id"],
                p["verb"],
                p["reason"],
                p["allow_unreachable"],
            )
        elif p["state"] == "lock":
            result = store.lock(
                regions,
                p["owner"] or default_owner(),
                p["run_id"],
                p["verb"],
                p["lock_ttl"],
                p["break_lock_reason"],
                p["allow_unreachable"],
            )
        else:
            result = store.unlock(regions, p["run_id"], p["allow_unreachable"])
    except DrError as err:
        module.fail_json(msg=err.msg, changes=store.changes, **err.result)
    except Exception as err:  # botocore errors other than "region did not answer"
        module.fail_json_aws(err, msg=f"DR state {p['prefix']} ({p['state']})")
    module.exit_json(changed=bool(store.changes), changes=store.changes, **result)


if __name__ == "__main__":
    main()

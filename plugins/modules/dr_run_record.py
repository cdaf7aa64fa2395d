#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dr_run_record
short_description: Keep the run record of one DR runbook run (a JSON file on the controller)
version_added: "0.1.0"
description:
  - Keeps the record of one run of a DR runbook (C(playbooks/dr/<verb>.yml)) - who ran it,
    when (UTC), from which git revision, with which inputs, each step's timing and outcome,
    the RPO estimate and the measured RTO. C(tradeops dr) prints it after the run.
  - The record is the file C(<dir>/<run_id>.json). Successive calls update it, each one
    atomically (a temporary file in the same directory, then a rename), so a run killed
    half way leaves a valid record, and a run started again with the same O(run_id)
    continues it (O(action=begin) on an existing record is a resume).
  - "Run it on the controller (C(delegate_to: localhost), C(run_once: true)). It is not in
    the C(aws) action group and talks to no API."
  - "O(action=begin) starts (or resumes) the record: verb, environment, regions, the
    inputs (values of keys that look secret are replaced by C(***redacted***)), the RTO/RPO
    targets. The module adds the operator (local user, and O(aws_caller)), the git revision
    of the checkout and whether it is dirty, the start time and the host."
  - "O(action=step_begin) and O(action=step_end) time one step (seconds measured by the
    module's clock, not templated). Each begin makes a new entry, so a step retried after a
    resume shows both attempts. Entries still open when a run resumes or ends are closed
    with outcome C(interrupted)."
  - "O(action=set) merges O(data) into the record's top-level sections (C(rpo), C(epoch),
    C(traffic), C(freeze), C(lock), C(notes))."
  - "O(action=end) sets the final status, the end time, the total seconds and the
    measured RTO (from the marks O(rto_clock) set; null unless both exist)."
author:
  - tradeops engineers (@tradeops)
attributes:
  check_mode:
    support: full
    description:
      - "The record is written in check mode too. It is the record of the run (also of a
        check-mode run), not a change to the platform, so C(check_mode: false) on these
        tasks is not needed (but harmless)."
  diff_mode:
    support: none
    description: The whole record is returned instead.
  platform:
    support: full
    platforms: posix
    description: The controller (any POSIX host with Python 3.9 or later).
options:
  run_id:
    description:
      - The run's identifier, also the file name. Letters, digits, C(.), C(_), C(-); it must
        start with a letter or digit. C(tradeops dr) passes C(dr_run_id) (UTC stamp, verb
        and process id).
    type: str
    required: true
  action:
    description: What to record.
    type: str
    required: true
    choices: [begin, step_begin, step_end, set, end]
  dir:
    description:
      - Directory of the records, created with mode C(0700) when missing; records are
        C(0600).
      - Default C(.cache/dr/runs) of the tradeops checkout, found from the environment
        variable C(TRADEOPS_PROJECT) or else by walking up from the working directory to a
        directory that holds C(site.yml) and C(galaxy.yml) (ansible-playbook and
        C(tradeops) run from the checkout).
    type: path
  verb:
    description: The runbook (C(failover), C(switchover), ...). Required with O(action=begin).
    type: str
  environment:
    description: The environment (inventory name). Required with O(action=begin).
    type: str
  source_region:
    description: The region the platform moves from (or the active region, for read-only verbs).
    type: str
  target_region:
    description: The region the platform moves to.
    type: str
  inputs:
    description:
      - The run's inputs (for example the C(dr_*) variables), stored with the values of keys
        that contain C(password), C(secret), C(token), C(key), C(credential) or C(auth)
        (any case, at any depth) replaced by C(***redacted***).
      - The task's own arguments are still shown by Ansible in verbose output; keep secrets
        out of the inputs, or set C(no_log) on the task.
    type: dict
    default: {}
  targets:
    description: The recovery objectives the run is measured against.
    type: dict
    suboptions:
      rto_seconds:
        description: Recovery time objective, in seconds.
        type: int
      rpo_seconds:
        description: Recovery point objective, in seconds.
        type: int
      source:
        description:
          - "Where the objectives come from (for example C(seeds/003: region failure < 1 h))."
        type: str
  aws_caller:
    description:
      - Who the run acts as in AWS, for O(action=begin). Either the ARN, or the result of
        C(amazon.aws.aws_caller_info) (its C(account), C(arn) and C(user_id) are kept; a
        result without them, a skipped task's say, records the caller as unknown, null).
    type: raw
  step:
    description: The step's identifier. Required with O(action=step_begin) and O(action=step_end).
    type: str
  title:
    description: The step's title, as the table of C(tradeops dr) shows it.
    type: str
  rto_clock:
    description:
      - V(start) (with O(action=step_begin)) marks the start of the RTO clock at this step's
        begin; the first mark wins, across resumes too.
      - V(stop) (with O(action=step_end)) marks the end of the RTO clock at this step's end,
        when its outcome is V(done) or V(skipped) (already done); the first such mark wins.
        A V(failed) step does not stop the clock.
    type: str
    choices: [start, stop]
  outcome:
    description: How the step ended. Required with O(action=step_end).
    type: str
    choices: [done, skipped, failed]
  detail:
    description: One line on what the step found or did (shown next to the step).
    type: str
  data:
    description:
      - With O(action=step_end), figures of the step (for example replication lag), stored
        in the step's entry.
      - With O(action=set) (required), sections to merge into the record, recursively
        (dicts merge, other values replace). Top-level keys allowed, C(rpo), C(epoch),
        C(traffic), C(freeze), C(lock), C(notes); each must be a dict.
      - "C(tradeops dr) prints the RPO figure from C(rpo.seconds) or C(rpo.estimate_seconds)
        (an estimate of the data-loss window) or C(rpo.measured_seconds), then the other
        C(rpo) keys."
      - Secret-looking keys are redacted as in O(inputs).
    type: dict
  status:
    description: The run's final status. Required with O(action=end).
    type: str
    choices: [succeeded, failed, refused, interrupted]
notes:
  - Safe against concurrent calls for the same record (an exclusive lock on the directory
    around each read-modify-write).
  - "C(changed) is true whenever the file was written, which is every call except an
    O(action=set) that changes nothing. A runbook whose re-run must report no change sets
    C(changed_when: false) on these tasks."
"""

EXAMPLES = r"""
- name: Start (or resume) the run record
  tradeops.platform.dr_run_record:
    run_id: "{{ dr_run_id }}"
    action: begin
    verb: failover
    environment: "{{ tradeops_environment }}"
    source_region: "{{ aws_region }}"
    target_region: "{{ dr_target_region }}"
    inputs:
      dr_target_region: "{{ dr_target_region }}"
      dr_accept_data_loss: "{{ dr_accept_data_loss | default(false) }}"
    targets:
      rto_seconds: 3600
      rpo_seconds: 60
      source: "seeds/003: region failure < 1 h"
    aws_caller: "{{ __dr_caller.arn }}"
  delegate_to: localhost
  run_once: true

- name: Promote the standby (the RTO clock starts here)
  tradeops.platform.dr_run_record:
    run_id: "{{ dr_run_id }}"
    action: step_begin
    step: promote
    title: Promote the standby database
    rto_clock: start
  delegate_to: localhost
  run_once: true

- name: Record the promotion
  tradeops.platform.dr_run_record:
    run_id: "{{ dr_run_id }}"
    action: step_end
    step: promote
    outcome: done
    detail: "db-west-1 promoted at LSN 0/3000148"
    data:
      lag_bytes: 0
  delegate_to: localhost
  run_once: true

- name: Record the RPO estimate
  tradeops.platform.dr_run_record:
    run_id: "{{ dr_run_id }}"
    action: set
    data:
      rpo:
        seconds: 0.4
        data_loss: false
        method: replay lag of db-west-1 when the primary was fenced
      epoch:
        before: 1
        after: 2
  delegate_to: localhost
  run_once: true

- name: Close the record
  tradeops.platform.dr_run_record:
    run_id: "{{ dr_run_id }}"
    action: end
    status: succeeded
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The record's file.
  returned: always
  type: str
  sample: /srv/tradeops/.cache/dr/runs/20261205T101500Z-failover-4242.json
record:
  description: The whole record after this call.
  returned: success
  type: dict
  sample:
    schema: 1
    run_id: 20261205T101500Z-failover-4242
    verb: failover
    environment: lab
    source_region: us-east-1
    target_region: us-west-2
    status: succeeded
    started_at: "2026-12-05T10:15:00.120Z"
    ended_at: "2026-12-05T10:21:40.871Z"
    seconds: 400.751
    resumed_at: []
    operator:
      user: alice
      aws_caller:
        arn: "arn:aws:iam::123456789012:user/alice"
    host: ops-1
    git:
      revision: 0076f56c2b1e7a0d6f3e8b1a9c4d5e6f7a8b9c0d
      dirty: false
    inputs:
      dr_target_region: us-west-2
      db_password: "***redacted***"
    targets:
      rto_seconds: 3600
      rpo_seconds: 60
      source: "seeds/003: region failure < 1 h"
    steps:
      - id: promote
        title: Promote the standby database
        attempt: 1
        started_at: "2026-12-05T10:15:03.004Z"
        ended_at: "2026-12-05T10:15:31.210Z"
        seconds: 28.206
        outcome: done
        detail: db-west-1 promoted
        data:
          lag_bytes: 0
    rto:
      started_at: "2026-12-05T10:15:03.004Z"
      start_step: promote
      stopped_at: "2026-12-05T10:20:12.500Z"
      stop_step: traffic
      seconds: 309.496
    rpo:
      seconds: 0.4
      data_loss: false
    epoch:
      before: 1
      after: 2
    traffic: {}
    freeze: {}
    lock: {}
    notes: {}
    updated_at: "2026-12-05T10:21:40.871Z"
"""

import os  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.dr_record import (  # noqa: E402
    ARGUMENT_SPEC,
    REQUIRED_IF,
    call,
)


# The dr_run_record action plugin does the same in the controller's process (no module
# run per record call); this module is what runs when the action plugin is bypassed.
def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True
    )
    git = module.get_bin_path("git")

    def run_git(argv):
        return module.run_command([git, *argv])[:2]

    result = call(module.params, os.getcwd(), os.environ, run_git if git else None, time.time())
    if result.get("failed"):
        module.fail_json(**{k: v for k, v in result.items() if k != "failed"})
    module.exit_json(**result)


if __name__ == "__main__":
    main()

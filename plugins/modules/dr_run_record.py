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

import datetime  # noqa: E402
import fcntl  # noqa: E402
import getpass  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

SCHEMA = 1
REDACTED = "***redacted***"
SECRET_WORDS = ("password", "secret", "token", "key", "credential", "auth")
SECTIONS = ("rpo", "epoch", "traffic", "freeze", "lock", "notes")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
UTC = datetime.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; controllers may run 3.9)


class RecordError(Exception):
    """The call cannot be recorded (missing record, wrong arguments); says what to do."""


# ---------------------------------------------------------------------------- time


def iso(t):
    """UTC ISO 8601 with milliseconds: 2026-12-05T10:15:00.120Z."""
    stamp = datetime.datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def epoch(stamp):
    """Inverse of iso()."""
    parsed = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return parsed.replace(tzinfo=UTC).timestamp()


def seconds_between(start, end):
    if not start or not end:
        return None
    return round(epoch(end) - epoch(start), 3)


# ---------------------------------------------------------------------------- content


def looks_secret(key):
    lowered = str(key).lower()
    return any(word in lowered for word in SECRET_WORDS)


def redact(value):
    """A copy of value in which every secret-looking key's value is REDACTED, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if looks_secret(k) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def merge(base, update):
    """Recursive dict merge: dicts merge, anything else replaces. Returns a new dict."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def caller_identity(value):
    """aws_caller as given (an ARN, or aws_caller_info's result) -> a small dict or None."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        # A skipped or failed aws_caller_info has none of these: the caller is unknown.
        kept = {k: value[k] for k in ("account", "arn", "user_id") if value.get(k) is not None}
        return kept or None
    return {"arn": str(value)}


def _open_steps(record):
    return [s for s in record["steps"] if s.get("outcome") is None]


def _close_open_steps(record, now):
    for step in _open_steps(record):
        step["ended_at"] = iso(now)
        step["seconds"] = seconds_between(step.get("started_at"), step["ended_at"])
        step["outcome"] = "interrupted"


def new_record(params, context, now):
    return {
        "schema": SCHEMA,
        "run_id": params["run_id"],
        "verb": params["verb"],
        "environment": params["environment"],
        "source_region": params.get("source_region"),
        "target_region": params.get("target_region"),
        "status": "running",
        "started_at": iso(now),
        "ended_at": None,
        "seconds": None,
        "resumed_at": [],
        "operator": {
            "user": context.get("user"),
            "aws_caller": caller_identity(params.get("aws_caller")),
        },
        "host": context.get("host"),
        "git": context.get("git") or {"revision": None, "dirty": None},
        "inputs": redact(params.get("inputs") or {}),
        "targets": dict(params.get("targets") or {}),
        "steps": [],
        "rto": {
            "started_at": None,
            "start_step": None,
            "stopped_at": None,
            "stop_step": None,
            "seconds": None,
        },
        "rpo": {},
        "epoch": {},
        "traffic": {},
        "freeze": {},
        "lock": {},
        "notes": {},
        "updated_at": iso(now),
    }


def begin(record, params, context, now):
    """Start a record, or resume an existing one (its steps and clock marks are kept)."""
    if record is None:
        return new_record(params, context, now)
    for key in ("verb", "environment"):
        if record.get(key) != params[key]:
            raise RecordError(
                f"run {params['run_id']} is a {record.get('verb')} run on "
                f"{record.get('environment')}, not a {params['verb']} run on "
                f"{params['environment']}: resume it with the same verb and environment, or "
                "start a new run with another run_id"
            )
    _close_open_steps(record, now)
    record["resumed_at"].append(iso(now))
    record["status"] = "running"
    record["ended_at"] = None
    record["seconds"] = None
    for key in ("source_region", "target_region"):
        if record.get(key) is None and params.get(key):
            record[key] = params[key]
    if record["operator"].get("aws_caller") is None:
        record["operator"]["aws_caller"] = caller_identity(params.get("aws_caller"))
    return record


def step_begin(record, step, title, rto_clock, now):
    if rto_clock == "stop":
        raise RecordError("rto_clock: stop belongs to action=step_end (the step that recovers)")
    entry = {
        "id": step,
        "title": title or step,
        "attempt": 1 + len(record["resumed_at"]),
        "started_at": iso(now),
        "ended_at": None,
        "seconds": None,
        "outcome": None,
        "detail": None,
        "data": {},
    }
    record["steps"].append(entry)
    if rto_clock == "start" and record["rto"]["started_at"] is None:
        record["rto"]["started_at"] = entry["started_at"]
        record["rto"]["start_step"] = step
    return entry


def step_end(record, step, outcome, detail, data, rto_clock, title, now):
    """Close the step's open entry (a step ended without a begin gets an entry of its own)."""
    if rto_clock == "start":
        raise RecordError("rto_clock: start belongs to action=step_begin")
    entry = next((s for s in reversed(_open_steps(record)) if s["id"] == step), None)
    if entry is None:
        entry = {
            "id": step,
            "title": title or step,
            "attempt": 1 + len(record["resumed_at"]),
            "started_at": None,
        }
        record["steps"].append(entry)
    elif title:
        entry["title"] = title
    entry["ended_at"] = iso(now)
    entry["seconds"] = seconds_between(entry["started_at"], entry["ended_at"])
    entry["outcome"] = outcome
    entry["detail"] = detail
    entry["data"] = redact(data or {})
    if rto_clock == "stop" and outcome != "failed" and record["rto"]["stopped_at"] is None:
        record["rto"]["stopped_at"] = entry["ended_at"]
        record["rto"]["stop_step"] = step
    return entry


def set_sections(record, data):
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise RecordError(
            f"data may set only {', '.join(SECTIONS)}; not {', '.join(unknown)} "
            "(step figures go to action=step_end's data)"
        )
    for key, value in data.items():
        if not isinstance(value, dict):
            raise RecordError(f"data.{key} must be a dict, got {type(value).__name__}")
        record[key] = merge(record.get(key) or {}, redact(value))
    return record


def end(record, status, now):
    _close_open_steps(record, now)
    record["status"] = status
    record["ended_at"] = iso(now)
    record["seconds"] = seconds_between(record["started_at"], record["ended_at"])
    rto = record["rto"]
    rto["seconds"] = seconds_between(rto["started_at"], rto["stopped_at"])
    return record


def apply(record, params, context, now):
    """One call's change to the record (None when there is none yet). Returns the record."""
    action = params["action"]
    if action == "begin":
        missing = [k for k in ("verb", "environment") if not params.get(k)]
        if missing:
            raise RecordError(f"action=begin needs {' and '.join(missing)}")
        return begin(record, params, context, now)
    if record is None:
        raise RecordError(
            f"no run record for run {params['run_id']} yet: the runbook must call "
            "action=begin first"
        )
    if action == "step_begin":
        step_begin(record, params["step"], params.get("title"), params.get("rto_clock"), now)
    elif action == "step_end":
        step_end(
            record,
            params["step"],
            params["outcome"],
            params.get("detail"),
            params.get("data"),
            params.get("rto_clock"),
            params.get("title"),
            now,
        )
    elif action == "set":
        set_sections(record, params["data"])
    elif action == "end":
        end(record, params["status"], now)
    record["updated_at"] = iso(now)
    return record


# ---------------------------------------------------------------------------- files


def find_checkout(cwd, environ):
    """The tradeops checkout: TRADEOPS_PROJECT, or the first parent of cwd with site.yml."""
    candidates = []
    if environ.get("TRADEOPS_PROJECT"):
        candidates.append(os.path.abspath(environ["TRADEOPS_PROJECT"]))
    path = os.path.abspath(cwd)
    while True:
        candidates.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for candidate in candidates:
        if all(os.path.isfile(os.path.join(candidate, f)) for f in ("site.yml", "galaxy.yml")):
            return candidate
    return None


def record_path(directory, run_id):
    if not RUN_ID.match(run_id or ""):
        raise RecordError(
            f"run_id {run_id!r} is not a plain name (letters, digits, '.', '_', '-', "
            "starting with a letter or digit)"
        )
    return os.path.join(directory, run_id + ".json")


def ensure_dir(directory):
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
        os.chmod(directory, 0o700)


def load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise RecordError(f"{path} is not a valid run record ({exc}): move it aside") from exc


def save(path, record):
    """Write record to path atomically: a 0600 temporary file beside it, then a rename."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(record, handle, indent=2, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class DirectoryLock:
    """An exclusive flock on the records' directory around one read-modify-write."""

    def __init__(self, directory):
        self.directory = directory
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.directory, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def record_call(path, params, context, now):
    """Load, apply one call, write when it changed. Returns (record, changed)."""
    with DirectoryLock(os.path.dirname(path)):
        before = load(path)
        snapshot = json.dumps(before, sort_keys=True)
        record = apply(json.loads(snapshot) if before is not None else None, params, context, now)
        if params["action"] == "set":
            unchanged = dict(record, updated_at=None) == dict(before, updated_at=None)
            if unchanged:
                return before, False
        save(path, record)
        return record, True


# ---------------------------------------------------------------------------- the module


def git_state(module, checkout):
    """{revision, dirty} of the checkout; nulls when it is not a git tree or git is missing."""
    state = {"revision": None, "dirty": None}
    git = module.get_bin_path("git")
    if not checkout or not git:
        return state
    rc, out = module.run_command([git, "-C", checkout, "rev-parse", "HEAD"])[:2]
    if rc != 0:
        return state
    state["revision"] = out.strip()
    rc, out = module.run_command([git, "-C", checkout, "status", "--porcelain"])[:2]
    if rc == 0:
        state["dirty"] = bool(out.strip())
    return state


def operator_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER")


ARGUMENT_SPEC = {
    "run_id": {"type": "str", "required": True},
    "action": {
        "type": "str",
        "required": True,
        "choices": ["begin", "step_begin", "step_end", "set", "end"],
    },
    "dir": {"type": "path"},
    "verb": {"type": "str"},
    "environment": {"type": "str"},
    "source_region": {"type": "str"},
    "target_region": {"type": "str"},
    "inputs": {"type": "dict", "default": {}},
    "targets": {
        "type": "dict",
        "options": {
            "rto_seconds": {"type": "int"},
            "rpo_seconds": {"type": "int"},
            "source": {"type": "str"},
        },
    },
    "aws_caller": {"type": "raw"},
    "step": {"type": "str"},
    "title": {"type": "str"},
    "rto_clock": {"type": "str", "choices": ["start", "stop"]},
    "outcome": {"type": "str", "choices": ["done", "skipped", "failed"]},
    "detail": {"type": "str"},
    "data": {"type": "dict"},
    "status": {"type": "str", "choices": ["succeeded", "failed", "refused", "interrupted"]},
}

REQUIRED_IF = [
    ("action", "begin", ("verb", "environment")),
    ("action", "step_begin", ("step",)),
    ("action", "step_end", ("step", "outcome")),
    ("action", "set", ("data",)),
    ("action", "end", ("status",)),
]


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True
    )
    p = module.params
    checkout = find_checkout(os.getcwd(), os.environ)
    directory = p["dir"]
    if not directory:
        if not checkout:
            module.fail_json(
                msg="no tradeops checkout (site.yml + galaxy.yml) above the working directory "
                f"{os.getcwd()} and TRADEOPS_PROJECT is not set: give dir"
            )
        directory = os.path.join(checkout, ".cache", "dr", "runs")
    path = None
    try:
        path = record_path(directory, p["run_id"])
        context = {}
        if p["action"] == "begin":
            context = {
                "user": operator_user(),
                "host": socket.gethostname(),
                "git": git_state(module, checkout),
            }
        ensure_dir(directory)
        record, changed = record_call(path, p, context, time.time())
    except RecordError as exc:
        module.fail_json(msg=f"run record: {exc}", path=path)
    except OSError as exc:
        module.fail_json(msg=f"run record: cannot write {path or directory}: {exc}", path=path)
    module.exit_json(changed=changed, record=record, path=path)


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The DR run record (one JSON file per runbook run on the controller): its content and
its atomic read-modify-write. Used by the dr_run_record action plugin (in the controller's
process: a runbook writes its record some twenty times, most on the RTO's critical path)
and by the module of the same name (its documentation, and a run on another host)."""

from __future__ import annotations

import datetime
import fcntl
import getpass
import json
import os
import re
import socket
import tempfile

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


# ---------------------------------------------------------------------------- one call


def operator_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER")


def git_state(checkout, run):
    """{revision, dirty} of the checkout; nulls when it is not a git tree or git is missing.

    run(argv) -> (rc, stdout) runs git (argv without the git binary); None when there is no
    git to run."""
    state = {"revision": None, "dirty": None}
    if not checkout or run is None:
        return state
    rc, out = run(["-C", checkout, "rev-parse", "HEAD"])
    if rc != 0:
        return state
    state["revision"] = out.strip()
    rc, out = run(["-C", checkout, "status", "--porcelain"])
    if rc == 0:
        state["dirty"] = bool(out.strip())
    return state


def call(params, cwd, environ, run_git, now):
    """One task's call: the result the task returns ({changed, record, path}, or
    {failed, msg, path}). params are validated against ARGUMENT_SPEC already."""
    checkout = find_checkout(cwd, environ)
    directory = params.get("dir")
    if not directory:
        if not checkout:
            return {
                "failed": True,
                "msg": "no tradeops checkout (site.yml + galaxy.yml) above the working "
                f"directory {cwd} and TRADEOPS_PROJECT is not set: give dir",
            }
        directory = os.path.join(checkout, ".cache", "dr", "runs")
    path = None
    try:
        path = record_path(directory, params["run_id"])
        context = {}
        if params["action"] == "begin":
            context = {
                "user": operator_user(),
                "host": socket.gethostname(),
                "git": git_state(checkout, run_git),
            }
        ensure_dir(directory)
        record, changed = record_call(path, params, context, now)
    except RecordError as exc:
        return {"failed": True, "msg": f"run record: {exc}", "path": path}
    except OSError as exc:
        return {
            "failed": True,
            "msg": f"run record: cannot write {path or directory}: {exc}",
            "path": path,
        }
    return {"changed": changed, "record": record, "path": path}


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

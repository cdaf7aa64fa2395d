"""Run history and audit: every `tradeops run`, `plan`, `drift` and `dr` recorded by ARA.

ARA (ARA Records Ansible, pinned in pyproject.toml) records each playbook run through its
Ansible callback: plays, tasks, every host's results, the files, the arguments (not the
extra-vars: ARA leaves them out by default). It runs in-process with SQLite by default,
`.cache/ara/ansible.sqlite` of the checkout (`TRADEOPS_ARA_DIR` moves it; an operator who
set `ARA_API_CLIENT=http` and `ARA_API_SERVER` records to a team's ARA server instead).

tradeops adds to each recorded playbook:

- labels: `tradeops`, `cmd:<run|plan|drift|dr>`, `env:<environment>`, `run:<run id>`;
- a record (ARA's key/value records) `tradeops` holding the audit record: who ran it (OS
  user, the sudo user behind it, and the AWS caller identity), UTC start and end, the git
  revision and whether the tree was dirty, inventory, tags, skip-tags, limit, the
  extra-vars with secret-looking values redacted, the outcome and exit code, the hosts and
  the changed things (changes.py), and a fingerprint of the desired state (drift.py uses
  it to tell drift from a change of the code or inventory).

The same record is kept as `.cache/runs/<run id>/tradeops-audit.json`, and runs against
an environment that ships its records (the protected ones: the inventory's
tradeops_protected, environment.py; or those TRADEOPS_SHIP_RUN_RECORDS lists) are copied
to the environment's compliance bucket `<project>-<env>-<account>-compliance` (Object
Lock, from the s3 layer), key `tradeops/runs/<env>/<run id>.json`.

`TRADEOPS_HISTORY=off` turns the recording off (e.g. on a machine without ARA).

ARA's callback records every task's result as it happens, in the playbook's own process:
about 0.17 s per task and host on the controller (a loopback HTTP round trip to its
server thread per call), which doubled a switchover's RTO (~150 tasks between the freeze
and the verified order). The DR runbooks that move the platform (MOVES) are therefore
recorded as a summary: the ARA playbook, its labels and the same audit record, written
when the run ends, without the per-task results (the runbook's own DR run record has its
steps and their times, and the audit record the changed things).
`TRADEOPS_HISTORY=full` records those runs task by task too; `summary` records every
run that way.
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import hashlib
import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from . import exitcodes, paths
from .changes import ChangeCollector

RECORD_KEY = "tradeops"
LABEL = "tradeops"
SCHEMA = 1
REDACTED = "***redacted***"
# Keys whose values are never recorded (the same words dr_run_record redacts).
SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "credential", "auth", "vault")
# Files whose content makes the desired state of an environment (with its inventory).
DESIRED_STATE_PATHS = ("site.yml", "ansible.cfg", "playbooks", "roles", "plugins", "meta")
SKIP_PARTS = ("__pycache__", ".pytest_cache", "molecule")
# Extra-vars that choose what a run covers, as --tags and --limit do, not what is wanted:
# left out of the desired state's fingerprint (a converge of every layer and a drift check
# of three must agree on it).
SCOPE_VARS = frozenset({"tradeops_aws_layers"})
# Commands whose runs are recorded (a fleet report only reads).
RECORDED = ("run", "plan", "drift", "dr")
# DR runbooks whose time is an outage (the RTO): recorded as a summary unless asked.
MOVES = ("switchover", "failover", "failback", "drill")


class HistoryError(Exception):
    """The history cannot be read (exit 3, with what to do)."""


def mode() -> str:
    """TRADEOPS_HISTORY: off, summary, full, or on (the default: full, DR moves summary)."""
    given = os.environ.get("TRADEOPS_HISTORY", "on").lower()
    if given in ("off", "0", "false", "no"):
        return "off"
    return given if given in ("summary", "full") else "on"


def enabled() -> bool:
    return mode() != "off"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def stamp(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def ara_dir(root: Path | None = None) -> Path:
    given = os.environ.get("TRADEOPS_ARA_DIR") or os.environ.get("ARA_BASE_DIR")
    return Path(given) if given else (root or paths.project_root()) / ".cache" / "ara"


def ara_environment(root: Path, labels: list[str], user: str) -> dict[str, str]:
    """What a run's environment needs for ARA's callback to record it."""
    import ara.setup  # noqa: F401  (ARA is installed: its callback is importable)

    # ARA's callback through tradeops' shim (ara_callback/ara_default.py: Nagle off).
    callback_plugins = str(Path(__file__).resolve().parent / "ara_callback")
    env: dict[str, str] = {}
    existing = os.environ.get("ANSIBLE_CALLBACK_PLUGINS", "")
    env["ANSIBLE_CALLBACK_PLUGINS"] = ":".join(p for p in (existing, callback_plugins) if p)
    enabled_now = [c for c in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if c]
    env["ANSIBLE_CALLBACKS_ENABLED"] = ",".join(dict.fromkeys([*enabled_now, "ara_default"]))
    if os.environ.get("ARA_API_CLIENT", "offline") == "offline":
        env["ARA_API_CLIENT"] = "offline"
        env["ARA_BASE_DIR"] = str(ara_dir(root))
    env["ARA_DEFAULT_LABELS"] = ",".join(labels)
    env["ARA_RECORD_USER_NAME"] = user
    env.setdefault("ARA_LOG_LEVEL", os.environ.get("ARA_LOG_LEVEL", "WARNING"))
    return env


# ---------------------------------------------------------------------------- who, what, where


def operator() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {
        "user": user,
        "sudo_user": os.environ.get("SUDO_USER") or None,
        "host": socket.gethostname(),
    }


def operator_name(op: dict[str, Any]) -> str:
    user = op.get("user") or "unknown"
    return f"{op['sudo_user']} (as {user})" if op.get("sudo_user") else user


def git_state(root: Path) -> dict[str, Any]:
    """{revision, dirty, branch} of the checkout; nulls when it is not a git tree."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                text=True,
                check=False,
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout if proc.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    if revision is None:
        return {"revision": None, "dirty": None, "branch": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    return {
        "revision": revision.strip(),
        "dirty": None if status is None else bool(status.strip()),
        "branch": branch.strip() if branch else None,
    }


def looks_secret(key: Any) -> bool:
    word = str(key).lower()
    return any(part in word for part in SECRET_WORDS)


def redact(value: Any) -> Any:
    """A copy with the values of secret-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if looks_secret(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


_KV = re.compile(r"^(?P<key>[A-Za-z_][\w.-]*)=(?P<value>.*)$", re.S)


def redact_extra_vars(extra_vars: list[str], cwd: Path | None = None) -> list[Any]:
    """Each -e as it is recorded: JSON/YAML mappings and key=value pairs with secret values
    redacted, @files by name with their (redacted) variables; vault files unread."""
    out: list[Any] = []
    for given in extra_vars:
        text = given.strip()
        if text.startswith("@"):
            path = Path(text[1:]).expanduser()
            if not path.is_absolute() and cwd is not None:
                path = cwd / path
            entry: dict[str, Any] = {"file": text[1:]}
            try:
                content = path.read_text()
            except OSError as exc:
                entry["error"] = f"not readable: {exc.strerror or exc}"
                out.append(entry)
                continue
            if content.lstrip().startswith("$ANSIBLE_VAULT"):
                entry["vars"] = "vault-encrypted (not recorded)"
            else:
                try:
                    entry["vars"] = redact(yaml.safe_load(content))
                except yaml.YAMLError:
                    entry["vars"] = "not YAML (not recorded)"
            out.append(entry)
            continue
        if text.startswith(("{", "[")):
            try:
                out.append(redact(yaml.safe_load(text)))
                continue
            except yaml.YAMLError:
                pass
        try:
            words = shlex.split(text)
        except ValueError:
            words = []
        pairs = [_KV.match(w) for w in words]
        if words and all(pairs):
            out.append(
                {m["key"]: REDACTED if looks_secret(m["key"]) else m["value"] for m in pairs if m}
            )
        else:
            out.append("(not a mapping: not recorded)" if text else "")
    return out


def desired_state_fingerprint(root: Path, inventory: Path, extra_vars: list[Any]) -> str:
    """sha256 over what makes an environment's desired state: the playbooks, roles, plugins,
    the inventory (its files, not what its cloud sources find) and the recorded extra-vars
    (redacted: a secret's value is not part of it; SCOPE_VARS left out)."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for name in DESIRED_STATE_PATHS:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file()]
    if inventory.is_file():
        files.append(inventory)
    elif inventory.is_dir():
        files += [p for p in inventory.rglob("*") if p.is_file()]
    for path in sorted(set(files)):
        parts = path.parts
        if any(part in SKIP_PARTS for part in parts) or path.suffix == ".pyc":
            continue
        try:
            name = str(path.relative_to(root))
        except ValueError:
            name = str(path)
        try:
            content = path.read_bytes()
        except OSError:
            continue
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    wanted = [
        {k: v for k, v in e.items() if k not in SCOPE_VARS} if isinstance(e, dict) else e
        for e in extra_vars
    ]
    wanted = [e for e in wanted if e != {}]
    digest.update(json.dumps(wanted, sort_keys=True, default=str).encode())
    return "sha256:" + digest.hexdigest()


# ---------------------------------------------------------------------------- AWS


def inventory_vars(inventory: Path) -> dict[str, Any]:
    """Literal values of the inventory's group_vars/all (no templating; what is a Jinja
    expression there stays a string)."""
    base = inventory if inventory.is_dir() else inventory.parent
    found: dict[str, Any] = {}
    directory = base / "group_vars" / "all"
    candidates = sorted(directory.glob("*.y*ml")) if directory.is_dir() else []
    candidates += [p for p in (base / "group_vars" / "all.yml",) if p.is_file()]
    for path in candidates:
        try:
            text = path.read_text()
            if text.lstrip().startswith("$ANSIBLE_VAULT"):
                continue
            data = yaml.safe_load(text) or {}
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            found.update(data)
    return found


def _literal(value: Any) -> str | None:
    return value if isinstance(value, str) and value and "{{" not in value else None


def aws_client(service: str, root: Path, inventory: Path, region: str | None = None):
    """A boto3 client as the environment's AWS modules connect: the lab's endpoint for the
    lab inventory; the default credential chain for a real one."""
    import boto3
    from botocore.config import Config

    from .runner import is_lab_inventory

    values = inventory_vars(inventory)
    config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2})
    kwargs: dict[str, Any] = {"config": config}
    if is_lab_inventory(root, inventory):
        from .lab import Lab

        kwargs.update(
            endpoint_url=Lab().moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        region = region or _literal(values.get("aws_region")) or "us-east-1"
    region = (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or _literal(values.get("aws_region"))
    )
    if region:
        kwargs["region_name"] = region
    return boto3.client(service, **kwargs)


def caller_identity(root: Path, inventory: Path) -> dict[str, Any]:
    """The AWS caller identity of the credentials the environment's runs use."""
    try:
        found = aws_client("sts", root, inventory).get_caller_identity()
    except Exception as exc:  # no credentials, no endpoint: recorded as such, not fatal
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return {
        "account": found.get("Account"),
        "arn": found.get("Arn"),
        "user_id": found.get("UserId"),
    }


def ships(environment: str, protected: bool) -> bool:
    """Whether runs against this environment go to its compliance bucket: a protected one's
    do (`protected`: the inventory's tradeops_protected, environment.py). When set,
    TRADEOPS_SHIP_RUN_RECORDS (names, comma-separated) lists the environments that ship
    instead."""
    given = os.environ.get("TRADEOPS_SHIP_RUN_RECORDS")
    if given is not None:
        return environment in {n.strip() for n in given.split(",") if n.strip()}
    return protected


def compliance_bucket(inventory: Path, environment: str, account: str | None) -> str | None:
    given = os.environ.get("TRADEOPS_COMPLIANCE_BUCKET")
    if given:
        return given
    if not account:
        return None
    values = inventory_vars(inventory)
    project = _literal(values.get("tradeops_project")) or "tradeops"
    env = _literal(values.get("tradeops_environment")) or environment
    return f"{project}-{env}-{account}-compliance"


def ship(record: dict[str, Any], root: Path, inventory: Path) -> dict[str, Any]:
    """Put the record into the compliance bucket; the bucket's Object Lock default
    retention applies to the object. Returns {bucket, key} or {error}."""
    account = (record.get("operator", {}).get("aws_caller") or {}).get("account")
    bucket = compliance_bucket(inventory, record["environment"], account)
    if not bucket:
        return {"error": "no AWS account known (the caller identity failed), so no bucket name"}
    key = f"tradeops/runs/{record['environment']}/{record['run_id']}.json"
    body = json.dumps(record, indent=2, sort_keys=True, default=str).encode()
    try:
        s3 = aws_client("s3", root, inventory)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
        )
    except Exception as exc:
        return {"bucket": bucket, "key": key, "error": f"{type(exc).__name__}: {exc}"[:400]}
    return {"bucket": bucket, "key": key}


# ---------------------------------------------------------------------------- ARA


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """ARA's offline client prints Django's migration report on stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class Ara:
    """ARA's API client: offline (in-process, the SQLite of ara_dir) or a server's."""

    def __init__(self, root: Path | None = None, migrate: bool = True):
        self.root = root or paths.project_root()
        self._client = None
        self._migrate = migrate

    @property
    def client(self):
        if self._client is None:
            mode = os.environ.get("ARA_API_CLIENT", "offline")
            try:
                if mode == "http":
                    from ara.clients.http import AraHttpClient

                    self._client = AraHttpClient(
                        endpoint=os.environ.get("ARA_API_SERVER", "http://127.0.0.1:8000")
                    )
                else:
                    directory = ara_dir(self.root)
                    directory.mkdir(parents=True, exist_ok=True)
                    os.environ["ARA_BASE_DIR"] = str(directory)
                    os.environ.setdefault("ARA_LOG_LEVEL", "WARNING")
                    migrate = self._migrate or not (directory / "ansible.sqlite").exists()
                    with _quiet():
                        from ara.clients.offline import AraOfflineClient

                        self._client = AraOfflineClient(run_sql_migrations=migrate)
            except ImportError as exc:
                raise HistoryError(
                    f"ARA is not installed ({exc}): run ./dev setup (it installs the pinned "
                    "dependencies of pyproject.toml)"
                ) from exc
        return self._client

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        with _quiet():
            answer = self.client.get(path, **params)
        if not isinstance(answer, dict):
            raise HistoryError(f"ARA answered {path} with {answer!r}")
        return answer

    def post(self, endpoint: str, **data: Any) -> dict[str, Any]:
        with _quiet():
            return self.client.post(endpoint, **data)

    def playbooks_with_label(self, label: str, limit: int = 20) -> list[dict[str, Any]]:
        answer = self.get("/api/v1/playbooks", label=label, order="-id", limit=limit)
        return list(answer.get("results") or [])

    def playbook(self, ident: int) -> dict[str, Any] | None:
        answer = self.get(f"/api/v1/playbooks/{ident}")
        return answer if answer.get("id") else None

    def record_of(self, playbook_id: int) -> dict[str, Any] | None:
        found = self.get("/api/v1/records", playbook=playbook_id, key=RECORD_KEY)
        results = found.get("results") or []
        if not results:
            return None
        value = self.get(f"/api/v1/records/{results[-1]['id']}").get("value")
        return value if isinstance(value, dict) else None

    def summary_playbook(self, record: dict[str, Any], labels: list[str]) -> dict[str, Any]:
        """A playbook entry for a run recorded without ARA's callback (no tasks)."""
        from ansible import __version__ as ansible_version

        return self.post(
            "/api/v1/playbooks",
            name=record.get("playbook"),
            path=str(record.get("playbook") or "?"),
            ansible_version=ansible_version,
            python_version=".".join(str(n) for n in sys.version_info[:3]),
            status="completed" if record.get("exit_code") == exitcodes.OK else "failed",
            labels=labels,
            started=record.get("started_at"),
            ended=record.get("ended_at"),
            controller=(record.get("operator") or {}).get("host"),
            user=(record.get("operator") or {}).get("user"),
            arguments={},
        )

    def add_record(self, playbook_id: int, record: dict[str, Any]) -> None:
        self.post(
            "/api/v1/records",
            playbook=playbook_id,
            key=RECORD_KEY,
            value=json.loads(json.dumps(record, default=str)),
            type="json",
        )


# ---------------------------------------------------------------------------- one run


def command_of(request: Any, playbook: Path, root: Path) -> str:
    given = getattr(request, "command", None)
    if given and given != "run":
        return given
    try:
        relative = playbook.relative_to(root)
    except ValueError:
        return "run"
    return "dr" if relative.parts[:2] == ("playbooks", "dr") else "run"


class RunAudit:
    """The audit of one run: its labels and environment for ARA before it starts, the
    changed things while it runs, the record when it ends (runner.run_playbook calls
    `environment()`, `observe()`, `complete()` and `record()`)."""

    def __init__(
        self,
        root: Path,
        request: Any,
        run_id: str,
        playbook: Path,
        inventory: Path,
    ):
        from .environment import of as environment_of
        from .runner import shown_path

        self.root = root
        self.request = request
        self.run_id = run_id
        self.playbook = playbook
        self.inventory = inventory
        environment = environment_of(inventory)  # its name and protection: the inventory's
        self.environment_name = environment.name
        self.protected = environment.protected
        self.command = command_of(request, playbook, root)
        self.started = utc_now()
        self.operator = operator()
        self.collector = ChangeCollector(check=bool(getattr(request, "check", False)))
        self.recorded = enabled() and self.command in RECORDED
        # What ran is what the checkout held when the run began: a commit or an edit made
        # while it runs must not be recorded as its revision or desired state.
        extra_vars = list(getattr(request, "extra_vars", []) or [])
        self.extra_vars = redact_extra_vars(extra_vars, Path.cwd()) if self.recorded else []
        self.git = git_state(root) if self.recorded else {}
        self.desired_state = (
            desired_state_fingerprint(root, inventory, self.extra_vars) if self.recorded else None
        )
        # Task by task (ARA's callback in the run), or only the summary when it ends.
        is_move = self.command == "dr" and playbook.stem in MOVES
        self.tasks = mode() == "full" or (mode() == "on" and not is_move)
        self.shown_playbook = shown_path(root, playbook)
        self.shown_inventory = shown_path(root, inventory)
        self.record_path = paths.runs_dir(root) / run_id / "tradeops-audit.json"

    def labels(self) -> list[str]:
        labels = [
            LABEL,
            f"cmd:{self.command}",
            f"env:{self.environment_name}",
            f"run:{self.run_id}",
        ]
        return [label[:254] for label in labels]

    def environment(self) -> dict[str, str]:
        if not (self.recorded and self.tasks):
            return {}
        try:
            return ara_environment(self.root, self.labels(), self.operator["user"])
        except ImportError:
            self.recorded = False
            return {}

    def observe(self, handler: Callable[[dict[str, Any]], bool]) -> Callable[[dict], bool]:
        def both(event: dict[str, Any]) -> bool:
            with contextlib.suppress(Exception):  # the record must never stop a run
                self.collector.feed(event)
            return handler(event)

        return both

    def complete(self, report: dict[str, Any]) -> None:
        """Add the changed things to the run report (before `finish` hooks read it)."""
        report["changes"] = [c.to_dict() for c in self.collector.changes()]
        report["tuning_reports"] = self.collector.tuning

    def build(self, report: dict[str, Any]) -> dict[str, Any]:
        req = self.request
        caller = self.collector.aws_caller
        if caller is None:
            caller = caller_identity(self.root, self.inventory)
        ended = utc_now()
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "command": self.command,
            "playbook": self.shown_playbook,
            "inventory": self.shown_inventory,
            "environment": self.environment_name,
            "check": bool(getattr(req, "check", False)),
            "tags": list(getattr(req, "tags", []) or []),
            "skip_tags": list(getattr(req, "skip_tags", []) or []),
            "limit": getattr(req, "limit", None),
            "extra_vars": self.extra_vars,
            "operator": dict(self.operator, aws_caller=caller),
            "git": self.git,
            "desired_state": self.desired_state,
            "started_at": stamp(self.started),
            "ended_at": stamp(ended),
            "elapsed_seconds": round((ended - self.started).total_seconds(), 1),
            "outcome": exitcodes.status(report.get("exit_code", exitcodes.ERROR)),
            "exit_code": report.get("exit_code"),
            "hosts": sorted(report.get("hosts") or {}),
            "changes": report.get("changes") or [],
            "failures": report.get("failures") or [],
        }

    def record(self, report: dict[str, Any]) -> str:
        """Write the audit record (locally, to ARA, to the compliance bucket when the
        environment ships); returns a line for the summary."""
        if not self.recorded:
            return ""
        record = self.build(report)
        notes = []
        try:
            ara = Ara(self.root, migrate=False)
            if not self.tasks:
                ara.summary_playbook(record, [*self.labels(), "history:summary"])
            playbooks = ara.playbooks_with_label(f"run:{self.run_id}")
            if playbooks:
                record["ara_playbook"] = playbooks[0]["id"]
                ara.add_record(playbooks[0]["id"], record)
                notes.append(f"run history: ARA playbook {playbooks[0]['id']}")
            else:
                notes.append("run history: ARA recorded no playbook (the run stopped before it)")
        except Exception as exc:
            notes.append(f"run history: ARA failed ({type(exc).__name__}: {exc}); kept locally")
        if ships(self.environment_name, self.protected):
            shipped = ship(record, self.root, self.inventory)
            record["shipped"] = shipped
            if shipped.get("error"):
                notes.append(
                    f"record NOT shipped to the compliance bucket {shipped.get('bucket')}: "
                    f"{shipped['error']} (copy it from {self.record_path} by hand)"
                )
            else:
                notes.append(f"record shipped to s3://{shipped['bucket']}/{shipped['key']}")
        self.record_path.parent.mkdir(parents=True, exist_ok=True)
        self.record_path.write_text(json.dumps(record, indent=2, default=str))
        report["audit"] = {
            "record": str(self.record_path),
            **{k: record.get(k) for k in ("ara_playbook", "shipped")},
        }
        return "  " + "; ".join(notes) if notes else ""


# ---------------------------------------------------------------------------- reading


def short_revision(git: dict[str, Any] | None) -> str:
    git = git or {}
    revision = (git.get("revision") or "unknown")[:10]
    return revision + ("+dirty" if git.get("dirty") else "")


def caller_text(caller: dict[str, Any] | None) -> str:
    caller = caller or {}
    if caller.get("arn"):
        return str(caller["arn"])
    if caller.get("error"):
        return "unknown (" + str(caller["error"]).split(":")[0] + ")"
    return "unknown"


def list_runs(
    limit: int = 20, environment: str | None = None, root: Path | None = None
) -> list[dict[str, Any]]:
    """The newest recorded runs, newest first: ARA's playbook with tradeops' record."""
    ara = Ara(root)
    label = f"env:{environment}" if environment else LABEL
    rows = []
    for playbook in ara.playbooks_with_label(label, limit=limit):
        record = ara.record_of(playbook["id"]) or {}
        rows.append({"ara": playbook, "record": record})
    return rows


def find_run(ident: str, root: Path | None = None) -> dict[str, Any]:
    """A run by ARA playbook id or tradeops run id."""
    ara = Ara(root)
    playbook = None
    if ident.isdigit():
        playbook = ara.playbook(int(ident))
    else:
        found = ara.playbooks_with_label(f"run:{ident}", limit=1)
        playbook = found[0] if found else None
    if playbook is None:
        raise HistoryError(
            f"no recorded run {ident}: `tradeops runs list` shows the runs (ID is the first "
            "column, or the run id of the second)"
        )
    results = ara.get("/api/v1/results", playbook=playbook["id"], changed=True, limit=200)
    return {
        "ara": playbook,
        "record": ara.record_of(playbook["id"]) or {},
        "changed_results": results.get("results") or [],
    }


def last_converges(
    environment: str, root: Path | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The records of the successful, non-check runs (run or dr) of an environment, newest
    first: what drift.py compares with."""
    out = []
    for row in list_runs(limit=limit, environment=environment, root=root):
        record = row["record"]
        if not record or record.get("check") or record.get("command") not in ("run", "dr"):
            continue
        if record.get("exit_code") != exitcodes.OK:
            continue
        out.append(record)
    return out

"""Run a playbook of the project through ansible-runner's Python API.

Before anything runs: the inventory's YAML files parse (an error names the file and the
line), tags and a --limit match something in the playbook, a protected environment is
confirmed (environment.py: the inventory's tradeops_environment and tradeops_protected).
During the run: live progress; SIGINT/SIGTERM stop the whole run (the runner's
cancel callback, then every process the run started, wherever it was reparented: each
carries TRADEOPS_RUN=<run id> in its environment) and remove its temporary files (the
run's own TMPDIR). After: the summary and the report (`status` ok, failed, unreachable,
interrupted, ...), and an exit code from exitcodes.

Each run has a directory of its own, `.cache/runs/<run id>` (ansible-runner's private data
dir: its artifacts, the report, the audit record), created 0700 in a 0700 `.cache/runs`.
ansible-runner writes the run's whole environment into `artifacts/<ident>/command` (even
with suppress_env_files); the runner keeps only the variables' names there, so no
credential of the operator's environment stays on disk. A run ends by writing the
`finished` marker and removing the oldest finished run directories beyond the newest
TRADEOPS_KEEP_RUNS (50).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import environment, exitcodes, history, paths
from .progress import ProgressDisplay, RunTracker, output_width, render_summary

# Run directories kept under .cache/runs (TRADEOPS_KEEP_RUNS); the current run's and those
# of runs still going are never removed.
DEFAULT_KEEP_RUNS = 50
# Written into a run's directory when the run is over, however it ended.
FINISHED_MARKER = "finished"
# <YYYYmmddTHHMMSS>-<pid of tradeops>[-<n>]: what the runner names a run (and prunes).
RUN_DIR_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6})-(?P<pid>\d+)(?:-(?P<n>\d+))?$")
# Every process of a run has TRADEOPS_RUN=<run id> in its environment (ansible-playbook,
# its workers in their own sessions, async jobs that daemonized): how an interrupt finds
# them all.
RUN_MARKER = "TRADEOPS_RUN"
# Tags Ansible itself gives a meaning; always valid in --tags / --skip-tags.
SPECIAL_TAGS = frozenset({"all", "always", "never", "tagged", "untagged"})
# How often (seconds) the runner asks whether to cancel, and how long the processes of an
# interrupted run get after SIGTERM before SIGKILL.
CANCEL_POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 3.0


@dataclass
class RunRequest:
    playbook: str
    inventory: str = "inventories/lab"
    # The sources to read, when not every source of the inventory directory (a failover
    # leaves out the failed region's cloud source); the directory still names the run.
    inventory_sources: list[str] | None = None
    tags: list[str] = field(default_factory=list)
    skip_tags: list[str] = field(default_factory=list)
    limit: str | None = None
    check: bool = False
    diff: bool = False
    extra_vars: list[str] = field(default_factory=list)
    confirm: str | None = None
    verbosity: int = 0
    report: str | None = None
    # What the run is for the run history (history.py): run, plan, drift (dr: inferred).
    command: str = "run"

    @classmethod
    def from_args(cls, args: Any, **fields: Any) -> RunRequest:
        """The request of a command line with the scope arguments (arguments.add_scope),
        a playbook, -e and -v; `fields` on top."""
        scope = {
            "playbook": args.playbook,
            "inventory": args.inventory,
            "tags": args.tags,
            "skip_tags": args.skip_tags,
            "limit": args.limit,
            "extra_vars": args.extra_vars,
            "verbosity": args.verbose,
        }
        return cls(**{**scope, **fields})


class Refused(Exception):
    """A guard rail said no before anything ran (exit 3)."""


class UsageError(Exception):
    """The command line asks for what does not exist: a tag, a --limit (exit 2)."""


# ---------------------------------------------------------------------------- paths


def resolve_playbook(root: Path, name: str) -> Path:
    """`site` -> site.yml, `dr/failover` -> playbooks/dr/failover.yml, or a path."""
    candidates = [Path(name), root / name, root / f"{name}.yml", root / "playbooks" / f"{name}.yml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise Refused(f"no playbook called {name!r} (tried site.yml-style names and playbooks/)")


def resolve_inventory(root: Path, name: str) -> Path:
    """-i as given: an absolute path, a path from the current directory, or one in the
    checkout (the default inventories/lab works from anywhere)."""
    given = Path(name).expanduser()
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, root / given]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    raise Refused(f"inventory {name} does not exist (looked for {', '.join(map(str, candidates))})")


def shown_path(root: Path, path: Path) -> str:
    """path relative to the checkout when it is inside it, else absolute."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def environment_name(inventory: Path) -> str:
    """The inventory's tradeops_environment, else its directory's name (environment.py)."""
    return environment.name_of(inventory)


def is_lab_inventory(root: Path, inventory: Path) -> bool:
    """The checkout's lab inventory: its hosts are the lab's containers."""
    return inventory == (root / "inventories" / "lab").resolve()


def check_guard_rails(request: RunRequest, inventory: Path) -> None:
    """A protected environment (the inventory's tradeops_protected) changes only with
    --confirm <its name>; check mode changes nothing and needs none."""
    env = environment.of(inventory)
    if env.protected and not request.check and request.confirm != env.name:
        given = f" (--confirm {request.confirm} names another)" if request.confirm else ""
        raise Refused(
            f"{env.name} is a protected environment ({env.protection_reason}): re-run with "
            f"--confirm {env.name} (or --check to see what would change){given}"
        )


# ---------------------------------------------------------------------------- inventory files

# What Ansible reads from an inventory: YAML sources by extension (other files are INI or
# scripts, and Ansible's ignored extensions are skipped), and group_vars/ host_vars/ files
# without an extension or with one of these.
YAML_SOURCE_SUFFIXES = (".yml", ".yaml", ".json")
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")
INVENTORY_KEYS = ("hosts", "vars", "children")
MAX_PROBLEMS = 10


def inventory_files(sources: list[Path]) -> list[tuple[Path, str]]:
    """(file, kind) for every YAML file Ansible reads for these sources: kind "inventory"
    for a source file, "vars" for a group_vars/host_vars file."""
    found: dict[Path, str] = {}
    var_dirs: list[Path] = []
    for source in sources:
        if source.is_dir():
            for path in sorted(source.iterdir()):
                visible = path.is_file() and not path.name.startswith(".")
                if visible and path.suffix in YAML_SOURCE_SUFFIXES:
                    found.setdefault(path, "inventory")
            base = source
        else:
            if source.suffix in YAML_SOURCE_SUFFIXES:
                found.setdefault(source, "inventory")
            base = source.parent
        var_dirs += [base / "group_vars", base / "host_vars"]
    for directory in var_dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            hidden = any(part.startswith(".") for part in path.relative_to(directory).parts)
            if path.is_file() and not hidden and path.suffix in VARS_SUFFIXES:
                found.setdefault(path, "vars")
    return sorted(found.items())


def _where(path: Path, node_or_mark: Any) -> str:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def _is_null(node: yaml.Node | None) -> bool:
    return node is None or (
        isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
    )


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.ScalarNode):
        return f"value {node.value!r}"
    return "mapping"


def yaml_problems(path: Path, kind: str) -> list[str]:
    """What is wrong with one inventory or vars file, each problem with file:line:column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot be read: {exc}"]
    if text.lstrip().startswith("$ANSIBLE_VAULT"):
        return []  # a vault-encrypted file: Ansible decrypts it
    try:
        # compose, not load: custom tags (!vault, !unsafe) need no constructor.
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _where(path, mark) if mark else str(path)
        problem = exc.problem or "invalid YAML"
        context = ""
        if exc.context and exc.context_mark:
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        return [f"{where}: YAML syntax error: {problem}{context}"]
    except yaml.YAMLError as exc:
        return [f"{path}: YAML error: {exc}"]
    if _is_null(root):
        return []
    if kind == "vars":
        if not isinstance(root, yaml.MappingNode):
            return [
                f"{_where(path, root)}: a vars file must be a mapping of variable names to "
                f"values, this one is a {_kind(root)}"
            ]
        return []
    return _inventory_problems(path, root)


def _inventory_problems(path: Path, root: yaml.Node) -> list[str]:
    """Ansible's YAML inventory: {group: {hosts: {host: vars}, vars: {}, children: {group:
    ...}}}; a file with a `plugin` key configures an inventory plugin instead."""
    if not isinstance(root, yaml.MappingNode):
        return [
            f"{_where(path, root)}: an inventory file is a mapping of groups (all: ...), "
            f"this one is a {_kind(root)}"
        ]
    if any(getattr(key, "value", None) == "plugin" for key, _ in root.value):
        return []
    problems: list[str] = []

    def mapping(node: yaml.Node, what: str) -> bool:
        if _is_null(node) or isinstance(node, yaml.MappingNode):
            return True
        problems.append(f"{_where(path, node)}: {what} must be a mapping, not a {_kind(node)}")
        return False

    def group(name: str, node: yaml.Node) -> None:
        if not mapping(node, f"group {name}") or _is_null(node):
            return
        for key, value in node.value:
            word = getattr(key, "value", "?")
            if word == "hosts":
                if mapping(value, f"the hosts of group {name}") and not _is_null(value):
                    for host, host_vars in value.value:
                        mapping(host_vars, f"the variables of host {host.value}")
            elif word == "vars":
                mapping(value, f"the vars of group {name}")
            elif word == "children":
                if mapping(value, f"the children of group {name}") and not _is_null(value):
                    for child, child_node in value.value:
                        group(child.value, child_node)
            else:
                problems.append(
                    f"{_where(path, key)}: group {name} has a key {word!r}; a group has only "
                    f"{', '.join(INVENTORY_KEYS)} (Ansible would skip it: a misspelling?)"
                )

    for key, value in root.value:
        group(getattr(key, "value", "?"), value)
    return problems


def check_inventory_files(sources: list[Path]) -> None:
    """Refused naming each file and line that Ansible would fail on (or silently skip)."""
    problems = [p for path, kind in inventory_files(sources) for p in yaml_problems(path, kind)]
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        raise Refused(
            "the inventory has errors, nothing was run:\n"
            + "\n".join(f"  {p}" for p in shown)
            + (f"\n  ... and {more} more" if more else "")
        )


# ---------------------------------------------------------------------------- tags and limits


@dataclass
class PlayListing:
    name: str
    pattern: str
    hosts: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)


PLAY_LINE = re.compile(r"^\s*play #\d+ \((?P<pattern>.*)\): (?P<name>.*?)\tTAGS: \[(?P<tags>.*)\]$")
HOSTS_LINE = re.compile(r"^\s*hosts \((?P<count>\d+)\):$")
TASK_TAGS_LINE = re.compile(r"^\s*TASK TAGS: \[(?P<tags>.*)\]$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _tag_list(text: str) -> set[str]:
    return {tag.strip() for tag in text.split(",") if tag.strip()}


def parse_listing(text: str) -> list[PlayListing]:
    """The plays of `ansible-playbook --list-hosts --list-tags`: pattern, hosts, tags."""
    plays: list[PlayListing] = []
    in_hosts = False
    for raw in ANSI.sub("", text).splitlines():
        line = raw.rstrip()
        if match := PLAY_LINE.match(line):
            tags = _tag_list(match["tags"])
            plays.append(PlayListing(match["name"], match["pattern"], tags=tags))
            in_hosts = False
        elif not plays:
            continue
        elif HOSTS_LINE.match(line):
            in_hosts = True
        elif match := TASK_TAGS_LINE.match(line):
            plays[-1].tags |= _tag_list(match["tags"])
            in_hosts = False
        elif in_hosts and line.strip() and not line.strip().startswith("pattern:"):
            plays[-1].hosts.append(line.strip())
    return plays


def check_selection(
    request: RunRequest, plays: list[PlayListing], playbook: str, inventory: str
) -> None:
    """UsageError when a tag of --tags/--skip-tags is in no play or task of the playbook,
    or --limit leaves no host to any play."""
    known = set(SPECIAL_TAGS).union(*(play.tags for play in plays)) if plays else set(SPECIAL_TAGS)
    for option, tags in (("--tags", request.tags), ("--skip-tags", request.skip_tags)):
        unknown = [tag for tag in tags if tag not in known]
        if unknown:
            hints = []
            for tag in unknown:
                close = difflib.get_close_matches(tag, sorted(known), n=3, cutoff=0.6)
                if close:
                    hints.append(f"{tag!r}: did you mean {' or '.join(map(repr, close))}?")
            raise UsageError(
                f"{option} {','.join(unknown)}: no play or task of {playbook} has "
                f"{'this tag' if len(unknown) == 1 else 'these tags'}, so "
                f"{'nothing would run' if option == '--tags' else 'nothing would be skipped'}."
                + (" " + " ".join(hints) if hints else "")
                + f"\nThe tags of {playbook}: {', '.join(sorted(known - SPECIAL_TAGS))}"
                + f"\n(and Ansible's own: {', '.join(sorted(SPECIAL_TAGS))}; docs/tags.md)"
            )
    if request.limit and not any(play.hosts for play in plays):
        patterns = sorted({play.pattern for play in plays})
        raise UsageError(
            f"--limit {request.limit} matches no host that a play of {playbook} targets in "
            f"inventory {inventory}, so nothing would run. Its plays target: "
            f"{', '.join(patterns) or 'nothing'} (`ansible-inventory -i {inventory} --graph` "
            "lists the hosts and groups)"
        )


def ansible_errors(text: str, limit: int = 40) -> str:
    """Ansible's own [ERROR] block (with its Origin: file:line), else the output's tail."""
    lines = [ANSI.sub("", line).rstrip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if line.startswith("[ERROR]")), None)
    chosen = lines[start:] if start is not None else lines[-15:]
    chosen = [line for line in chosen if line.strip()][:limit]
    return "\n".join(chosen)


def list_playbook(
    root: Path,
    playbook: Path,
    inventories: list[str],
    request: RunRequest,
    env: dict[str, str],
    private: Path,
) -> tuple[int, str]:
    """(rc, output) of ansible-playbook --list-hosts --list-tags, through ansible-runner."""
    import ansible_runner

    args = [str(playbook)]
    for source in inventories:
        args += ["-i", source]
    if request.limit:
        args += ["--limit", request.limit]
    for extra in request.extra_vars:
        args += ["-e", extra]
    args += ["--list-hosts", "--list-tags"]
    out, err, rc = ansible_runner.run_command(
        executable_cmd="ansible-playbook",
        cmdline_args=args,
        host_cwd=str(root),
        envvars=dict(env, ANSIBLE_NOCOLOR="1"),
        runner_mode="subprocess",
        quiet=True,
        private_data_dir=str(private / "listing"),
        status_handler=scrub_on_start,
        suppress_env_files=True,
    )
    return rc, (out or "") + "\n" + (err or "")


def check_tags_and_limit(
    root: Path,
    playbook: Path,
    inventories: list[str],
    request: RunRequest,
    env: dict[str, str],
    private: Path,
) -> None:
    """Only when --tags, --skip-tags or --limit is given: one listing, a few seconds."""
    if not (request.tags or request.skip_tags or request.limit):
        return
    rc, output = list_playbook(root, playbook, inventories, request, env, private)
    name = shown_path(root, playbook)
    inventory = ", ".join(shown_path(root, Path(s)) for s in inventories)
    if rc != 0:
        errors = ansible_errors(output)
        if request.limit and "no hosts to target" in output:
            raise UsageError(
                f"--limit {request.limit} matches no host of inventory {inventory}, so nothing "
                f"would run (`ansible-inventory -i {inventory} --graph` lists them):\n{errors}"
            )
        raise Refused(f"ansible-playbook cannot read {name} with inventory {inventory}:\n{errors}")
    check_selection(request, parse_listing(output), name, inventory)


# ---------------------------------------------------------------------------- interrupts


def _read_proc(pid: int) -> tuple[int, str, bytes] | None:
    """(ppid, state, environ) of a process, None when it is gone or unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except (OSError, ValueError):
        return None
    # comm may contain spaces and parentheses: the fields after the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], environ


def run_processes(marker: str) -> list[int]:
    """The live processes of a run: those whose environment carries TRADEOPS_RUN=marker,
    and every descendant of theirs (a process that reset its environment inside a lab
    container is still a child of one that did not)."""
    needle = f"{RUN_MARKER}={marker}".encode()
    me = os.getpid()
    table: dict[int, tuple[int, str, bytes]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            info = _read_proc(int(entry))
            if info is not None:
                table[int(entry)] = info
    children: dict[int, list[int]] = {}
    for pid, (ppid, _state, _env) in table.items():
        children.setdefault(ppid, []).append(pid)
    found = {pid for pid, (_p, _s, env) in table.items() if needle in env.split(b"\0")}
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child != me:
                found.add(child)
                todo.append(child)
    return sorted(pid for pid in found if table[pid][1] != "Z")  # zombies are gone already


def _alive(pid: int) -> bool:
    info = _read_proc(pid)
    return info is not None and info[1] != "Z"


def stop_run_processes(marker: str, grace: float = STOP_GRACE_SECONDS) -> list[int]:
    """SIGTERM every process of the run, SIGKILL what is left after `grace` seconds, and
    again for any that appeared meanwhile. Returns the pids that were signalled."""
    signalled: list[int] = []
    for _round in range(5):
        pids = run_processes(marker)
        if not pids:
            break
        signalled += [p for p in pids if p not in signalled]
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and any(_alive(p) for p in pids):
                time.sleep(0.05)
            pids = [p for p in pids if _alive(p)]
            if not pids:
                break
    return signalled


class Interrupts:
    """SIGINT/SIGTERM while a run is on: remembered (not raised), so that the runner's
    cancel callback stops the run and the report is still written. Restores the previous
    handlers on exit. Outside the main thread, signals are not Python's to catch."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handler(self, signum: int, _frame: Any) -> None:
        self.signum = self.signum or signum

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""


# ---------------------------------------------------------------------------- run directories


def new_run_dir(root: Path, stamp: str | None = None, pid: int | None = None) -> tuple[str, Path]:
    """(run id, its directory): `.cache/runs/<YYYYmmddTHHMMSS>-<pid>`, created 0700 (only
    the operator reads a run's artifacts), `-2`, `-3` ... when a run of this process in the
    same second has that name already."""
    directory = paths.private_dir(paths.runs_dir(root))
    stamp = stamp or time.strftime("%Y%m%dT%H%M%S")
    base = f"{stamp}-{os.getpid() if pid is None else pid}"
    for n in range(1, 1000):
        run_id = base if n == 1 else f"{base}-{n}"
        try:
            return run_id, paths.private_dir(directory / run_id, exclusive=True)
        except FileExistsError:
            continue
    raise Refused(f"{directory} has 999 runs named {base}-<n>: remove some")


def scrub_command_file(path: Path) -> bool:
    """ansible-runner's artifacts/<ident>/command holds the command line, its directory and
    the run's whole environment (AWS keys, tokens): keep the variables' names only.
    Returns whether the file was rewritten."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    env = data.get("env") if isinstance(data, dict) else None
    if not isinstance(env, dict):
        return False
    data["env"] = sorted(env)
    data["env_values"] = "not kept: the environment may hold credentials (tradeops)"
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return True


def scrub_on_start(status: dict[str, Any], runner_config: Any = None) -> None:
    """ansible-runner's status handler: it writes the command file, then says "running"
    (before the process starts); the file loses its values there and then."""
    if status.get("status") == "running" and runner_config is not None:
        with contextlib.suppress(Exception):  # never stop a run over its artifacts
            scrub_command_file(Path(runner_config.artifact_dir) / "command")


def scrub_run_dir(private: Path) -> int:
    """Every command file of the run (the playbook's and the listing's); how many were
    rewritten (those scrub_on_start did not reach: a run that failed to start)."""
    return sum(scrub_command_file(p) for p in private.rglob("artifacts/*/command"))


def keep_runs() -> int:
    """TRADEOPS_KEEP_RUNS, the number of run directories kept (50; the current run's is
    kept whatever the number)."""
    given = os.environ.get("TRADEOPS_KEEP_RUNS", "").strip()
    try:
        return max(int(given), 0) if given else DEFAULT_KEEP_RUNS
    except ValueError:
        return DEFAULT_KEEP_RUNS


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except (OverflowError, ValueError):
        return False
    return True


def run_going(path: Path, pid: int) -> bool:
    """A run is over when its directory has the finished marker, or when the tradeops
    process that named it is gone (killed: it never wrote the marker)."""
    return not (path / FINISHED_MARKER).exists() and pid_alive(pid)


def prune_runs(directory: Path, keep: int, current: Path | None = None) -> list[Path]:
    """Remove the run directories beyond the `keep` newest (by the time in their name),
    except `current` and those of runs still going; other files and directories are not
    the runner's and stay. Returns what was removed."""
    try:
        children = list(directory.iterdir())
    except OSError:
        return []
    runs = []
    for path in children:
        match = RUN_DIR_NAME.match(path.name)
        if not match or path.is_symlink() or not path.is_dir():
            continue
        order = (match["stamp"], int(match["n"] or 1), path.name)
        runs.append((order, path, int(match["pid"])))
    runs.sort(key=lambda run: run[0], reverse=True)
    removed = []
    for _order, path, pid in runs[keep:]:
        if path == current or run_going(path, pid):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def end_run(root: Path, private: Path) -> None:
    """However the run ended: no environment values in its artifacts, the finished marker,
    then the oldest run directories pruned. Never fails the run."""
    with contextlib.suppress(OSError):
        scrub_run_dir(private)
    with contextlib.suppress(OSError):
        ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        (private / FINISHED_MARKER).write_text(ended + "\n")
    with contextlib.suppress(OSError):
        prune_runs(paths.runs_dir(root), keep_runs(), current=private)


# ---------------------------------------------------------------------------- the run


def build_cmdline(request: RunRequest) -> str:
    args: list[str] = []
    if request.check:
        args.append("--check")
    if request.diff or request.check:
        args.append("--diff")
    if request.skip_tags:
        args += ["--skip-tags", ",".join(request.skip_tags)]
    for extra in request.extra_vars:
        args += ["-e", extra]
    if request.verbosity:
        args.append("-" + "v" * request.verbosity)
    return " ".join(shlex.quote(a) for a in args)


# ansible-runner sets ANSIBLE_CACHE_PLUGIN(_CONNECTION) only for its "jsonfile" type: any
# other value leaves ansible.cfg's plugin and run_environment's directory in force.
FACT_CACHE_FROM_ENV = "ansible.cfg"


def fact_cache_dir(root: Path, inventory: Path | None, lab: str | None = None) -> Path:
    """Where host facts are cached: one directory per environment, and per lab (`lab`, the
    lab's name, counts for the checkout's lab inventory only).

    Ansible keys cached facts by host name alone, and `gathering = smart` uses them as they
    are: two inventories (or two labs) naming a host alike would otherwise read each
    other's facts, addresses included."""
    name = environment_name(inventory) if inventory else "default"
    if not (inventory and is_lab_inventory(root, inventory)):
        lab = None
    return root / ".cache" / "facts" / (f"{name}-{lab}" if lab else name)


def run_environment(
    root: Path, run_id: str, tmp: Path, inventory: Path | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_CONFIG"] = str(root / "ansible.cfg")
    env.setdefault("CONTAINERS_CONF", str(root / "lab" / "containers.conf"))
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env[RUN_MARKER] = run_id
    # The run's temporary files (the AWS layers' marker directory, Ansible's local temp)
    # live in a directory of its own, removed when the run ends however it ends.
    env["TMPDIR"] = str(tmp)
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp / "ansible-local")
    lab = env.get("TRADEOPS_LAB_NAME")
    env.setdefault("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(fact_cache_dir(root, inventory, lab)))
    return env


def run_playbook(
    request: RunRequest,
    stream=None,
    finish: Callable[[dict[str, Any]], str] | None = None,
) -> int:
    """Run, show progress, print the summary, return an exit code from exitcodes.

    `finish(report)`, when given, is called once the run is over (interrupted too) and
    before the report is written: it may add keys to the report dict and change its
    "exit_code" (which is then returned), and returns text that is printed after the
    summary (`tradeops dr`).
    """
    root = paths.project_root()
    stream = stream or sys.stderr
    playbook = resolve_playbook(root, request.playbook)
    inventory = resolve_inventory(root, request.inventory)
    sources = request.inventory_sources or [str(inventory)]
    # The files parse first: the guard reads the protection from them.
    check_inventory_files([Path(s) for s in sources])
    check_guard_rails(request, inventory)

    run_id, private = new_run_dir(root)
    try:
        return _run(request, stream, finish, root, playbook, inventory, sources, run_id, private)
    finally:
        end_run(root, private)


def _run(
    request: RunRequest,
    stream,
    finish: Callable[[dict[str, Any]], str] | None,
    root: Path,
    playbook: Path,
    inventory: Path,
    sources: list[str],
    run_id: str,
    private: Path,
) -> int:
    import ansible_runner

    tmp = private / "tmp"
    (private / "env").mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    # Runner settings in the file it reads; the environment itself is never written to
    # disk (suppress_env_files; its values leave the command artifact, scrub_on_start): it
    # may hold credentials.
    (private / "env" / "settings").write_text(f"pexpect_timeout: {CANCEL_POLL_SECONDS}\n")
    env = run_environment(root, run_id, tmp, inventory)
    audit = history.RunAudit(root, request, run_id, playbook, inventory)  # the run history
    env.update(audit.environment())

    tracker = RunTracker()
    display = ProgressDisplay(tracker, stream=stream)
    result = None
    stopped: list[int] = []
    with Interrupts() as interrupts:

        def cancel() -> bool:
            if interrupts.requested:
                stopped.extend(p for p in stop_run_processes(run_id) if p not in stopped)
                return True
            return False

        try:
            check_tags_and_limit(root, playbook, sources, request, env, private)
            if not interrupts.requested:
                result = ansible_runner.run(
                    private_data_dir=str(private),
                    project_dir=str(root),
                    playbook=str(playbook),
                    inventory=request.inventory_sources or str(inventory),
                    limit=request.limit,
                    tags=",".join(request.tags) or None,
                    cmdline=build_cmdline(request) or None,
                    envvars=env,
                    # Not ansible-runner's own per-run cache (jsonfile in the artifacts),
                    # which would replace fact_cache_dir's: hosts outside a --limit had no
                    # facts, and every run gathered everything again.
                    fact_cache_type=FACT_CACHE_FROM_ENV,
                    event_handler=audit.observe(display.handle),
                    cancel_callback=cancel,
                    status_handler=scrub_on_start,
                    suppress_env_files=True,
                    quiet=True,
                    # Rotates inside this run's own directory only (one artifacts dir per
                    # run): prune_runs keeps .cache/runs to TRADEOPS_KEEP_RUNS.
                    rotate_artifacts=20,
                )
        except (Refused, UsageError):
            if not interrupts.requested:
                raise
        finally:
            display.finish()
            if interrupts.requested:
                stopped.extend(p for p in stop_run_processes(run_id) if p not in stopped)
            shutil.rmtree(tmp, ignore_errors=True)
        interrupted = interrupts.requested
        signame = interrupts.name

    if interrupted:
        code = exitcodes.INTERRUPTED
        print(
            f"tradeops: interrupted ({signame}): the run was cancelled, "
            f"{len(stopped)} of its processes stopped, its temporary files removed",
            file=stream,
        )
    else:
        code = tracker.exit_code()
        if code == exitcodes.OK and result is not None and result.rc != 0:
            # No per-host failure but ansible-playbook failed: before any play (inventory,
            # syntax: nothing ran) or after. Its own words are in the stdout artifact.
            errors = ansible_errors(_read(result.stdout))
            if tracker.plays_started == 0:
                code = exitcodes.PRECONDITION
                print(f"ansible-playbook did not start (exit {result.rc}):\n{errors}", file=stream)
            else:
                code = exitcodes.FAILED
                print(f"ansible-playbook exited {result.rc}:\n{errors}", file=stream)
    title = f"{shown_path(root, playbook)} on {environment_name(inventory)}"
    if request.check:
        title += " (check mode)"
    artifacts = Path(result.config.artifact_dir) if result is not None else private
    report = {
        "playbook": shown_path(root, playbook),
        "inventory": shown_path(root, inventory),
        "check": request.check,
        "run_id": run_id,
        "exit_code": code,
        "status": exitcodes.status(code),
        "elapsed_seconds": round(tracker.elapsed(), 1),
        "hosts": tracker.hosts,
        "failures": [f.__dict__ for f in tracker.failures],
        "summary": tracker.summary,
    }
    if interrupted:
        report["interrupted_by"] = signame
        report["stopped_processes"] = len(stopped)
    audit.complete(report)  # the changed things, for `finish` and the record
    epilog = finish(report) if finish else ""
    code = report["exit_code"]
    report["status"] = exitcodes.status(code)
    audited = audit.record(report)
    text = json.dumps(report, indent=2, default=str)
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "tradeops-report.json").write_text(text)
    if request.report:
        Path(request.report).write_text(text)
    print(
        render_summary(
            tracker,
            title,
            artifacts=str(artifacts),
            status=report["status"],
            width=output_width(stream),
        ),
        file=stream,
    )
    if audited:
        print(audited, file=stream)
    if epilog:
        print(epilog, file=stream)
    return code


def _read(handle) -> str:
    try:
        return handle.read() if handle else ""
    except (OSError, ValueError):
        return ""

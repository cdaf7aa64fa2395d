"""Run a playbook of the project through ansible-runner's Python API."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import exitcodes, paths
from .progress import ProgressDisplay, RunTracker, render_summary

# Environments whose non-check runs need `--confirm <name>` (TRADEOPS_PROTECTED_ENVS).
DEFAULT_PROTECTED = "production,prod"


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


class Refused(Exception):
    """A guard rail said no before anything ran."""


def resolve_playbook(root: Path, name: str) -> Path:
    """`site` -> site.yml, `dr/failover` -> playbooks/dr/failover.yml, or a path."""
    candidates = [Path(name), root / name, root / f"{name}.yml", root / "playbooks" / f"{name}.yml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise Refused(f"no playbook called {name!r} (tried site.yml-style names and playbooks/)")


def environment_name(inventory: Path) -> str:
    return inventory.name if inventory.is_dir() else inventory.parent.name


def check_guard_rails(request: RunRequest, inventory: Path) -> None:
    env = environment_name(inventory)
    protected = os.environ.get("TRADEOPS_PROTECTED_ENVS", DEFAULT_PROTECTED).split(",")
    is_protected = env in {p.strip() for p in protected if p.strip()}
    if is_protected and not request.check and request.confirm != env:
        raise Refused(
            f"{env} is a protected environment: re-run with --confirm {env} "
            f"(or --check to see what would change)"
        )


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
    return " ".join(_quote(a) for a in args)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def run_playbook(request: RunRequest, stream=None, finish=None) -> int:
    """Run, show progress, print the summary, return an exit code from exitcodes.

    `finish(report)`, when given, is called once the run is over and before the report is
    written: it may add keys to the report dict and change its "exit_code" (which is then
    returned), and returns text that is printed after the summary (`tradeops dr`).
    """
    import ansible_runner

    root = paths.project_root()
    stream = stream or sys.stderr
    playbook = resolve_playbook(root, request.playbook)
    inventory = (root / request.inventory).resolve()
    if not inventory.exists():
        raise Refused(f"inventory {request.inventory} does not exist")
    check_guard_rails(request, inventory)

    run_id = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    private = paths.runs_dir(root) / run_id
    private.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_CONFIG"] = str(root / "ansible.cfg")
    env.setdefault("CONTAINERS_CONF", str(root / "lab" / "containers.conf"))
    env["ANSIBLE_FORCE_COLOR"] = "0"

    tracker = RunTracker()
    display = ProgressDisplay(tracker, stream=stream)
    try:
        result = ansible_runner.run(
            private_data_dir=str(private),
            project_dir=str(root),
            playbook=str(playbook),
            inventory=request.inventory_sources or str(inventory),
            limit=request.limit,
            tags=",".join(request.tags) or None,
            cmdline=build_cmdline(request) or None,
            envvars=env,
            event_handler=display.handle,
            quiet=True,
            rotate_artifacts=20,
        )
    finally:
        display.finish()

    code = tracker.exit_code()
    if code == exitcodes.OK and result.rc != 0:
        # No per-host failure but ansible-playbook failed: syntax error, bad option,
        # unparsable inventory... its own words are in the stdout artifact.
        code = exitcodes.FAILED
        tail = _tail(result.stdout)
        print(f"ansible-playbook exited {result.rc}:\n{tail}", file=stream)
    title = f"{playbook.relative_to(root)} on {environment_name(inventory)}"
    if request.check:
        title += " (check mode)"
    artifacts = Path(result.config.artifact_dir)
    report = {
        "playbook": str(playbook.relative_to(root)),
        "inventory": str(inventory.relative_to(root)),
        "check": request.check,
        "exit_code": code,
        "elapsed_seconds": round(tracker.elapsed(), 1),
        "hosts": tracker.hosts,
        "failures": [f.__dict__ for f in tracker.failures],
        "summary": tracker.summary,
    }
    epilog = finish(report) if finish else ""
    code = report["exit_code"]
    text = json.dumps(report, indent=2, default=str)
    (artifacts / "tradeops-report.json").write_text(text)
    if request.report:
        Path(request.report).write_text(text)
    print(render_summary(tracker, title, artifacts=str(artifacts)), file=stream)
    if epilog:
        print(epilog, file=stream)
    return code


def _tail(handle, lines: int = 15) -> str:
    try:
        text = handle.read() if handle else ""
    except (OSError, ValueError):
        return ""
    return "\n".join(text.splitlines()[-lines:])

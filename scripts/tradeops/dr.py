"""`tradeops dr VERB`: a DR runbook (playbooks/dr/<verb>.yml) with guard rails, then its record.

The guard rails here run before anything starts (exit 3): the verbs that move the platform
need `--confirm ENV:REGION`, naming the inventory's environment and the target region, and a
failover needs `--target-region`. The runbook checks the same again (its own asserts, the
lock, the change freeze) and writes the run record (module tradeops.platform.dr_run_record)
to `.cache/dr/runs/<run_id>.json`; after the run this shows the record's steps, the measured
RTO and the RPO estimate under the usual summary.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from . import environment as environments
from . import exitcodes, paths
from .lab import Lab
from .runner import Refused, RunRequest, run_playbook

# verb -> (does it move the platform?, what it does)
VERBS: dict[str, tuple[bool, str]] = {
    "status": (False, "read-only: which region is active (epoch), replication, lock, freeze"),
    "preflight": (False, "read-only: could a switchover or failover run now, and what blocks it"),
    "switchover": (True, "planned move to the other region, both regions up, no data loss"),
    "failover": (True, "unplanned move: the active region is down; may lose data (RPO)"),
    "reprotect": (True, "after a failover: make the old region the new one's standby again"),
    "failback": (True, "planned move back to the original region once it is reprotected"),
    "drill": (True, "rehearsal: move and move back, measuring RTO and RPO"),
}
MOVING = tuple(verb for verb, (moves, _) in VERBS.items() if moves)
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # as dr_run_record accepts
DEFAULT_INVENTORY = "inventories/lab"

EXAMPLES = """\
examples:
  tradeops dr status                                   # who is active, lag, lock, freeze
  tradeops dr preflight -i inventories/production      # what would block a move now
  tradeops dr switchover --confirm lab:us-west-2       # planned, to the standby region
  tradeops dr failover --target-region us-west-2 --confirm lab:us-west-2 --accept-data-loss
  tradeops dr reprotect --confirm lab:us-east-1        # old region becomes the standby
  tradeops dr failback --confirm lab:us-east-1         # back to the original region
  tradeops dr drill --confirm lab:us-west-2 --report drill.json
  tradeops dr switchover --confirm lab:us-west-2 --run-id 20261205T101500Z-switchover-4242
                                                       # continue a run that was killed

  status and preflight only read and need no --confirm. The other verbs need
  --confirm ENV:REGION: ENV is the inventory's environment (its tradeops_environment, else
  its directory name) and REGION the region the platform moves to (it must equal
  --target-region when that is given; otherwise the runbook checks it against the target
  it works out). --check runs the runbook in check mode and still needs --confirm. A
  drill is refused on a protected environment (tradeops_protected).

  After the run: the steps with their outcome and seconds, the measured RTO (target:
  seeds/003, region failure < 1 h) and the RPO estimate, from the run record
  .cache/dr/runs/<run id>.json (--report FILE also writes it, inside the run report).
"""

EXIT_CODES = {
    exitcodes.PRECONDITION: "refused: before anything ran (no or wrong --confirm, lab not "
    "up),\n       or by the runbook (record status refused: lock held, freeze, preflight)",
    exitcodes.FAILED: "a runbook step failed (the record says which)",
}


def _epilog() -> str:
    lines = [f"  {code:>3}  {EXIT_CODES.get(code, text)}" for code, text in exitcodes.TABLE]
    return EXAMPLES + "\nexit codes:\n" + "\n".join(lines)


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `tradeops dr` on the top-level subcommands."""
    verbs = "\n".join(f"  {verb:<11} {text}" for verb, (_, text) in VERBS.items())
    dr = commands.add_parser(
        "dr",
        help="a DR runbook: status, preflight, switchover, failover, reprotect, failback, drill",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the DR runbook playbooks/dr/VERB.yml with guard rails and live\n"
        "progress, then show its run record (steps, RTO, RPO). docs/dr.md says how the\n"
        "pieces fit.\n\nverbs:\n" + verbs,
    )
    dr.add_argument("verb", metavar="VERB", choices=list(VERBS), help=" | ".join(VERBS))
    dr.add_argument(
        "-i",
        "--inventory",
        default=DEFAULT_INVENTORY,
        help=f"inventory directory (default: {DEFAULT_INVENTORY})",
    )
    dr.add_argument(
        "--target-region", metavar="R", help="the region to move to (failover: required)"
    )
    dr.add_argument(
        "--confirm", metavar="ENV:REGION", help="the environment and target region you mean to move"
    )
    dr.add_argument(
        "--accept-data-loss",
        action="store_true",
        help="failover: go ahead although the standby may lag (the RPO estimate is recorded)",
    )
    dr.add_argument(
        "--freeze-override-reason", metavar="TXT", help="run inside a change freeze (recorded)"
    )
    dr.add_argument("--break-lock-reason", metavar="TXT", help="break a stale DR lock (recorded)")
    dr.add_argument(
        "--run-id",
        metavar="ID",
        help="continue the run record of an earlier run (default: the unfinished run of the "
        "same verb, environment and target, if any; else a new one, UTC stamp-verb-pid)",
    )
    dr.add_argument(
        "--new-run",
        action="store_true",
        help="start a new run even when an unfinished one of the same verb exists",
    )
    dr.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="VARS",
        help="extra variables, as for ansible-playbook (repeatable; the dr_* values of the "
        "options above win)",
    )
    dr.add_argument("-C", "--check", action="store_true", help="check mode (implies --diff)")
    dr.add_argument("--report", metavar="FILE", help="also write the run report (JSON) to FILE")
    dr.add_argument("-v", "--verbose", action="count", default=0)
    return dr


# ---------------------------------------------------------------------------- guard rails


def utc_stamp(now: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds, as dr_run_record writes its times."""
    moment = datetime.datetime.fromtimestamp(time.time() if now is None else now, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(verb: str, now: float | None = None, pid: int | None = None) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{verb}-{os.getpid() if pid is None else pid}"


def check_guard_rails(args: argparse.Namespace, environment: str) -> None:
    """Refuse (exit 3) what the runbook would refuse anyway, before anything starts."""
    verb = args.verb
    if args.target_region and not REGION.match(args.target_region):
        raise Refused(f"--target-region {args.target_region!r} is not a region name (us-west-2)")
    if args.run_id is not None and not RUN_ID.match(args.run_id):
        raise Refused(
            f"--run-id {args.run_id!r} is not a run id (the name of a file under "
            ".cache/dr/runs, without .json)"
        )
    if verb == "failover" and not args.target_region:
        raise Refused(
            "failover needs --target-region: the region to move to (the active one is "
            "assumed down, so it cannot be asked)"
        )
    if verb not in MOVING:
        return
    region = args.target_region or "<target region>"
    if not args.confirm:
        raise Refused(
            f"{verb} moves {environment}: re-run with --confirm {environment}:{region} "
            f"(or run `tradeops dr preflight -i {args.inventory}` first)"
        )
    env, sep, confirm_region = args.confirm.partition(":")
    if not sep or not env or not REGION.match(confirm_region):
        raise Refused(
            f"--confirm {args.confirm!r} is not ENV:REGION: use --confirm {environment}:{region}"
        )
    if env != environment:
        raise Refused(
            f"--confirm names {env}, but the inventory {args.inventory} is {environment}: "
            f"check -i, or confirm with --confirm {environment}:{region}"
        )
    if args.target_region and confirm_region != args.target_region:
        raise Refused(
            f"--confirm names {confirm_region}, but --target-region is {args.target_region}: "
            "say the same region in both"
        )


def dr_extra_vars(args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    """The dr_* variables the runbooks read; only those given (dr_run_id always)."""
    given = {
        "dr_run_id": run_id,
        "dr_target_region": args.target_region,
        "dr_confirm": args.confirm,
        "dr_accept_data_loss": True if args.accept_data_loss else None,
        "dr_freeze_override_reason": args.freeze_override_reason,
        "dr_break_lock_reason": args.break_lock_reason,
    }
    return {key: value for key, value in given.items() if value is not None}


CLOUD_SOURCE_SUFFIXES = (".aws_ec2.yml", ".aws_ec2.yaml")


def inventory_sources(inventory: Path, target_region: str) -> list[str]:
    """The inventory's sources a failover to target_region may read.

    Every source of the directory except the cloud (aws_ec2) sources that list another
    region: that region is failed, its API does not answer, and an unparsable source fails
    the whole inventory (ansible.cfg fails closed). Each region has a source of its own
    (cloud-<region>.aws_ec2.yml)."""
    sources = []
    for path in sorted(inventory.iterdir()):
        if path.name.startswith(".") or path.name in ("group_vars", "host_vars"):
            continue
        if path.name.endswith(CLOUD_SOURCE_SUFFIXES):
            regions = (yaml.safe_load(path.read_text()) or {}).get("regions") or []
            if any(region != target_region for region in regions):
                continue
        sources.append(str(path))
    return sources


def build_request(args: argparse.Namespace, run_id: str, environment: str) -> RunRequest:
    sources = None
    if args.verb == "failover" and args.target_region:
        inventory = paths.project_root() / args.inventory
        if inventory.is_dir():
            sources = inventory_sources(inventory.resolve(), args.target_region)
    return RunRequest(
        playbook=f"dr/{args.verb}",
        inventory=args.inventory,
        inventory_sources=sources,
        check=args.check,
        # Ours last: the values the guard rails checked win over a -e of the same name.
        extra_vars=[*args.extra_vars, json.dumps(dr_extra_vars(args, run_id))],
        # The DR guard rails above stand in for `tradeops run`'s --confirm ENV.
        confirm=environment,
        verbosity=args.verbose,
        report=args.report,
    )


# ---------------------------------------------------------------------------- the record


def runs_dir(root: Path) -> Path:
    """Where dr_run_record keeps the records of this checkout (its default `dir`)."""
    return root / ".cache" / "dr" / "runs"


# A drill's phases keep records <run id>-<n>-<verb>: they are resumed with their drill.
PHASE_RECORD = re.compile(r"-\d+-[a-z]+$")


def unfinished_run(directory: Path, verb: str, environment: str, target: str | None) -> str | None:
    """The id of the newest run of this verb on this environment that never ended.

    A runbook killed or stopped by a failure leaves its record `running`: running the same
    command again resumes it (its lock is its own, its steps probe and skip what is done)."""
    if not directory.is_dir():
        return None
    candidates = []
    for path in directory.glob("*.json"):
        if PHASE_RECORD.search(path.stem):
            continue
        record = load_record(path)
        if not record or record.get("status") != "running":
            continue
        if record.get("verb") != verb or record.get("environment") != environment:
            continue
        if target and record.get("target_region") not in (None, target):
            continue
        candidates.append((path.stat().st_mtime, record.get("run_id") or path.stem))
    return max(candidates)[1] if candidates else None


def load_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        print(f"tradeops: cannot read the run record {path}: {exc}", file=sys.stderr)
        return None


def exit_code(runner_code: int, record: dict[str, Any] | None) -> int:
    """The runner's code, corrected by what the runbook recorded."""
    status = (record or {}).get("status")
    if status == "refused":
        return exitcodes.PRECONDITION
    if status == "failed":
        return runner_code or exitcodes.FAILED
    if status == "interrupted":
        return exitcodes.INTERRUPTED
    return runner_code


def _seconds(value: Any) -> str:
    if value is None or value == "":
        return "-"
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return str(value)


def _target(targets: dict[str, Any], key: str) -> str:
    value = targets.get(key)
    target = "not set" if value is None else f"{value} s"
    source = targets.get("source")
    return f"target: {target}, {source}" if source else f"target: {target}"


# The RPO figure of a record: the first of these keys of its `rpo` section that is set.
RPO_FIGURES = (
    ("seconds", "estimated"),
    ("estimate_seconds", "estimated"),
    ("measured_seconds", "measured"),
)


def render_record(record: dict[str, Any], path: Path) -> str:
    """The run record under the summary: steps, RTO, RPO, where the record is."""
    status = record.get("status") or "unknown"
    if status == "running":
        status = "not ended (the runbook stopped before it closed the record)"
    regions = " -> ".join(
        r for r in (record.get("source_region"), record.get("target_region")) if r
    )
    lines = [
        f"== DR {record.get('verb')} on {record.get('environment')}"
        + (f", {regions}" if regions else "")
        + f": {status} =="
    ]
    operator = record.get("operator") or {}
    caller = (operator.get("aws_caller") or {}).get("arn")
    git = record.get("git") or {}
    revision = (git.get("revision") or "unknown")[:12] + (" (dirty)" if git.get("dirty") else "")
    lines.append(
        f"  run {record.get('run_id')} by {operator.get('user') or 'unknown'}"
        + (f" ({caller})" if caller else "")
        + f", git {revision}, started {record.get('started_at')}"
        + (f", resumed {len(record['resumed_at'])}x" if record.get("resumed_at") else "")
    )
    steps = record.get("steps") or []
    phases = (record.get("notes") or {}).get("phases") or []
    if phases:  # a drill: its moves' records hold the steps
        lines += phase_lines(phases, record.get("targets") or {})
    elif steps:
        rows = [("step", "title", "outcome", "seconds")] + [
            (
                str(s.get("id")),
                str(s.get("title") or ""),
                str(s.get("outcome") or "running"),
                _seconds(s.get("seconds")),
            )
            for s in steps
        ]
        lines += table_lines(rows, text_columns=3)
    else:
        lines.append("  no steps recorded")
    for step in steps:
        if step.get("outcome") == "failed" and step.get("detail"):
            lines.append(f"  failed: {step.get('id')}: {step['detail']}")
    lines += readiness_lines(steps)
    if record.get("verb") in READ_ONLY_VERBS:
        lines.append(f"  record: {path}")
        return "\n".join(lines)
    targets = record.get("targets") or {}
    rto = (record.get("rto") or {}).get("seconds")
    measured = "not measured" if rto is None else f"measured {_seconds(rto)} s"
    if not phases:
        lines.append(f"  RTO {measured} ({_target(targets, 'rto_seconds')})")
    rpo = dict(record.get("rpo") or {})
    figure = "not measured"
    for key, word in RPO_FIGURES:
        value = rpo.pop(key, None)
        if value not in (None, "", "None") and figure == "not measured":
            figure = f"{word} {_seconds(value)} s"
    lines.append(f"  RPO: {figure} ({_target(targets, 'rpo_seconds')})")
    first = [
        k for k in ("bytes", "estimate_bytes", "data_loss", "detail", "disclosure") if k in rpo
    ]
    for key in first + sorted(k for k in rpo if k not in first):
        lines.append(f"  RPO: {key}: {_value(rpo[key])}")
    lines.append(f"  record: {path}")
    return "\n".join(lines)


def phase_lines(phases: list[dict[str, Any]], targets: dict[str, Any]) -> list[str]:
    """A drill's phases, one line each: status and the move's measured RTO beside the
    target (a re-protect moves nothing: no RTO)."""
    target = targets.get("rto_seconds")
    rows = [("phase", "status", "RTO s", "of target")]
    for phase in phases:
        rto = phase.get("rto_seconds")
        share = "-"
        if isinstance(rto, (int, float)) and isinstance(target, (int, float)) and target:
            share = f"{rto / target:.1%}"
        rows.append((str(phase.get("phase")), str(phase.get("status")), _seconds(rto), share))
    lines = table_lines(rows, text_columns=2)
    lines.append(f"  RTO of each move: {_target(targets, 'rto_seconds')}")
    return lines


def table_lines(rows: list[tuple[str, ...]], text_columns: int) -> list[str]:
    """Rows as aligned lines, indented: the first `text_columns` left-aligned, the figures
    after them right-aligned."""
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.ljust(widths[col]) if col < text_columns else cell.rjust(widths[col])
            for col, cell in enumerate(row)
        )
        for row in rows
    ]


# Verbs that do not move the platform: no recovery time or point to report.
READ_ONLY_VERBS = ("status", "preflight", "reprotect")
CHECK_MARKS = {"ok": "ok", "failed": "FAIL", "skipped": "skip"}


def readiness_lines(steps: list[dict[str, Any]]) -> list[str]:
    """The readiness checks of the last readiness step, one line each (ok / FAIL / skip)."""
    checks = next(
        (
            (s.get("data") or {}).get("checks")
            for s in reversed(steps)
            if s.get("id") == "readiness" and (s.get("data") or {}).get("checks")
        ),
        None,
    )
    if not checks:
        return []
    lines = ["  readiness checks:"]
    for check in checks:
        state = "skipped" if check.get("skipped") else ("ok" if check.get("ok") else "failed")
        lines.append(f"    {CHECK_MARKS[state]:<4} {check.get('name')}: {check.get('detail')}")
    return lines


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# ---------------------------------------------------------------------------- the command


def cmd_dr(args: argparse.Namespace, stream=None) -> int:
    stream = stream or sys.stderr
    root = paths.project_root()
    inventory = (root / args.inventory).resolve()
    if not inventory.exists():
        raise Refused(f"inventory {args.inventory} does not exist")
    env = environments.of(inventory)  # the name and protection the runbooks read too
    environment = env.name
    check_guard_rails(args, environment)
    if args.verb == "drill" and env.protected:
        raise Refused(
            f"a drill moves {environment} twice: it runs on unprotected environments only "
            f"({env.protection_reason}); a real move is `tradeops dr switchover`"
        )
    if args.inventory.rstrip("/").endswith("inventories/lab") and not Lab().is_up():
        raise Refused("the lab is not up: run `tradeops lab up` first")

    directory = runs_dir(root)
    run_id = args.run_id
    if run_id is None and not args.new_run and args.verb in MOVING:
        run_id = unfinished_run(directory, args.verb, environment, args.target_region)
        if run_id:
            print(
                f"tradeops: resuming {args.verb} run {run_id}, which did not finish "
                "(--new-run starts another)",
                file=stream,
            )
    run_id = run_id or new_run_id(args.verb)
    started = utc_stamp()

    def finish(report: dict[str, Any]) -> str:
        text, code = show_records(directory, run_id, started, report["exit_code"], report)
        report["exit_code"] = code
        return text

    print(f"DR {args.verb} on {environment}: run {run_id}", file=stream)
    try:
        return run_playbook(build_request(args, run_id, environment), stream=stream, finish=finish)
    except KeyboardInterrupt:
        text, _code = show_records(directory, run_id, started, exitcodes.INTERRUPTED, {})
        print(text, file=stream)
        raise


def show_records(
    directory: Path, run_id: str, started: str, runner_code: int, report: dict[str, Any]
) -> tuple[str, int]:
    """The run's record and its phases' (a drill's `<run_id>-<phase>.json`), the exit code.

    Adds dr_run_id, dr_record_path, dr_record and dr_phase_records to the report. The code
    follows the run's record; while that one is not ended (a drill stopped in a phase), the
    phase record this run wrote last; records this run did not update do not count.
    """
    path = directory / f"{run_id}.json"
    record = load_record(path)
    phases = {p: load_record(p) for p in sorted(directory.glob(f"{glob.escape(run_id)}-*.json"))}
    phases = {p: r for p, r in phases.items() if r is not None}
    report.update(
        dr_run_id=run_id,
        dr_record_path=str(path),
        dr_record=record,
        dr_phase_records={p.stem: r for p, r in phases.items()},
    )
    parts = [render_record(r, p) for p, r in phases.items()]
    if record is None:
        parts.append(f"  DR run {run_id}: the runbook wrote no run record ({path})")
    else:
        parts.append(render_record(record, path))
    fresh = [r for r in [*phases.values(), record] if r and str(r.get("updated_at")) >= started]
    if record is not None and record not in fresh:
        # --run-id of an earlier run, and this run stopped before it wrote anything.
        parts.append("  (this run did not update the record: it stopped before its first step)")
    decisive = record if record in fresh and record.get("status") != "running" else None
    if decisive is None and fresh:
        decisive = max(fresh, key=lambda r: str(r.get("updated_at")))
    return "\n".join(parts), exit_code(runner_code, decisive)

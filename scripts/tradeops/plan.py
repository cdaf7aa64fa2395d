"""`tradeops plan` and `tradeops drift`: what a converge would change, and what drifted.

`plan` runs the playbook (site.yml by default) in check mode with --diff, through the same
runner as `tradeops run` (guard rails, progress, interrupts, the run history), and turns
the run's events into the things that would change (changes.py): per AWS layer the
differences its `aws_layer_state` call found, per host each file, setting, service or
tuning check with its current and wanted value. Check mode makes no mutating call: the
AWS layers describe themselves in one read-only call each and skip a converged layer.

`drift` is the same run, restricted to what changed outside tradeops since the last
converge (drift.py), and writes its result as node_exporter textfile metrics.

Exit codes (exitcodes.py): 0 nothing would change / no drift, 2 changes / drift, 64 a bad
command line, and the run's own codes for failures (3 refused, 4 a task failed, 5 a host
unreachable, 130 interrupted).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import arguments, exitcodes, history, listing, paths
from . import drift as driftlib
from .lab import Lab
from .runner import (
    RunRequest,
    UsageError,
    environment_name,
    is_lab_inventory,
    resolve_inventory,
    run_playbook,
    shown_path,
)

PLAN_EXAMPLES = """\
examples:
  tradeops plan                                   # the whole lab platform
  tradeops plan -i inventories/production         # check mode: no --confirm needed
  tradeops plan --tags network,kernel_tuning      # only what these tags converge
  tradeops plan --tags kernel_tuning --limit engine-c5n-2
  tradeops plan --json > plan.json                # for machines (stdout)
  tradeops plan; case $? in 0) echo none;; 2) echo "changes pending";; *) echo failed;; esac

  Prints, per AWS layer and per host, each thing that would change with its current and
  wanted value (the progress line and the run summary go to stderr). Makes no change:
  the playbook runs with --check --diff. The run is recorded in the run history
  (`tradeops runs list`).
"""

DRIFT_EXAMPLES = """\
examples:
  tradeops drift                                  # what changed outside tradeops, lab
  tradeops drift -i inventories/production --metrics-file \\
      /var/lib/prometheus/node-exporter/tradeops_drift.prom    # from cron, for alerting
  tradeops drift --tags network                   # only the network layer
  tradeops drift --json

  A difference is drift when the desired state (playbooks, roles, plugins, inventory,
  extra-vars) is the one the last successful converge of that host or layer had (the run
  history keeps its fingerprint): the world changed, not the code. Differences from a
  changed desired state are listed as pending (not drift: `tradeops plan` reviews them).
  The metrics (tradeops_drift_*) are always written to .cache/drift/<env>.prom too.
"""


DESCRIPTIONS = {
    "plan": "What a converge would change: the playbook (site.yml by default) in check mode "
    "with --diff, shown per AWS layer and per host as each thing that would change with its "
    "current and wanted value. Nothing is changed.",
    "drift": "What changed outside tradeops since the last converge: the plan, restricted to "
    "the differences whose desired state is the one the last converge of that host or "
    "layer applied. Also written as node_exporter textfile metrics (tradeops_drift_*).",
}


class PlanArgumentParser(argparse.ArgumentParser):
    """plan/drift exit PLAN_USAGE (64) on a bad command line: their 2 means changes."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error("unrecognized arguments: " + " ".join(extras))
        return namespace, extras

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(exitcodes.PLAN_USAGE, f"{self.prog}: error: {message}\n")


def _epilog(examples: str) -> str:
    lines = []
    for code, text in exitcodes.TABLE:
        if code == exitcodes.USAGE and "plan, drift" not in text:
            continue  # for these two commands 2 means changes
        lines.append(f"  {code:>3}  {text}")
    return examples + "\nexit codes:\n" + "\n".join(lines)


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `tradeops plan` and `tradeops drift`."""
    formatter = argparse.RawDescriptionHelpFormatter
    original = commands._parser_class
    commands._parser_class = PlanArgumentParser
    try:
        for name, help_text, examples in (
            ("plan", "what a converge would change (check mode, nothing changes)", PLAN_EXAMPLES),
            ("drift", "what changed outside tradeops since the last converge", DRIFT_EXAMPLES),
        ):
            sub = commands.add_parser(
                name,
                help=help_text,
                description=DESCRIPTIONS[name],
                epilog=_epilog(examples),
                formatter_class=formatter,
            )
            sub.add_argument(
                "playbook",
                metavar="PLAYBOOK",
                nargs="?",
                default="site",
                help="site (default), a name under playbooks/ or a path",
            )
            arguments.add_scope(sub)
            sub.add_argument(
                "-e", "--extra-vars", action="append", default=[], metavar="VARS",
                help="extra variables, as for ansible-playbook (repeatable)",
            )  # fmt: skip
            sub.add_argument("--json", action="store_true", help="print JSON on stdout")
            sub.add_argument("--report", metavar="FILE", help="also write the JSON to FILE")
            if name == "drift":
                sub.add_argument(
                    "--metrics-file",
                    metavar="PATH",
                    help="also write the metrics there (a node_exporter textfile directory's "
                    "tradeops_drift.prom)",
                )
            sub.add_argument("-v", "--verbose", action="count", default=0)
            for flag in ("--list-hosts", "--list-tags"):
                sub.add_argument(flag, action="store_true", help=f"ansible-playbook {flag}")
            sub.set_defaults(handler=cmd_plan if name == "plan" else cmd_drift)
    finally:
        commands._parser_class = original


# ---------------------------------------------------------------------------- the run


def plan_run(args: argparse.Namespace, command: str) -> tuple[int, dict[str, Any]]:
    """Run the playbook in check mode; (runner exit code, run report with `changes`)."""
    root = paths.project_root()
    inventory = resolve_inventory(root, args.inventory)
    if is_lab_inventory(root, inventory):
        Lab().require_up()
    request = RunRequest.from_args(args, check=True, diff=True, command=command)
    captured: dict[str, Any] = {}

    def finish(report: dict[str, Any]) -> str:
        captured.update(report)
        return ""

    code = run_playbook(request, stream=sys.stderr, finish=finish)
    return code, captured


def final_code(runner_code: int, found: int) -> int:
    if runner_code != exitcodes.OK:
        return runner_code
    return exitcodes.CHANGES if found else exitcodes.OK


def cmd_plan(args: argparse.Namespace) -> int:
    if listing.wanted(args):
        return listing.cmd_list(args)
    try:
        code, report = plan_run(args, "plan")
    except UsageError as err:
        print(f"tradeops: {err}", file=sys.stderr)
        return exitcodes.PLAN_USAGE
    changes = report.get("changes") or []
    code = final_code(code, len(changes))
    result = plan_result(args, report, changes, code)
    emit(args, result, render_plan(result))
    return code


def cmd_drift(args: argparse.Namespace) -> int:
    if listing.wanted(args):
        return listing.cmd_list(args)
    root = paths.project_root()
    env = environment_name(resolve_inventory(root, args.inventory))
    metrics_paths = [driftlib.drift_dir(root) / f"{env}.prom"]
    if args.metrics_file:
        metrics_paths.append(Path(args.metrics_file))
    try:
        code, report = plan_run(args, "drift")
    except UsageError as err:
        print(f"tradeops: {err}", file=sys.stderr)
        return exitcodes.PLAN_USAGE
    except BaseException:
        for path in metrics_paths:
            driftlib.write_atomically(path, driftlib.metrics(env, None, False))
        raise
    changes = report.get("changes") or []
    inventory = resolve_inventory(root, args.inventory)
    extra = history.redact_extra_vars(list(args.extra_vars), Path.cwd())
    fingerprint = history.desired_state_fingerprint(root, inventory, extra)
    try:
        converges = history.last_converges(env, root=root)
        history_error = None
    except Exception as exc:  # no history: every difference is unattributed
        converges, history_error = [], f"{type(exc).__name__}: {exc}"
    classified = driftlib.classify(changes, converges, fingerprint)
    found = driftlib.counted(classified)
    ok = code == exitcodes.OK
    for path in metrics_paths:
        driftlib.write_atomically(path, driftlib.metrics(env, classified if ok else None, ok))
    code = final_code(code, len(found))
    result = plan_result(args, report, classified, code, command="drift")
    result["drift"] = found
    result["pending"] = [c for c in classified if c["drift"]["status"] == driftlib.PENDING]
    result["desired_state"] = fingerprint
    result["metrics_files"] = [str(p) for p in metrics_paths]
    if history_error:
        result["history_error"] = history_error
    last = driftlib.drift_dir(root) / f"{env}.json"
    driftlib.write_atomically(last, json.dumps(result, indent=2, default=str))
    emit(args, result, render_drift(result))
    return code


def plan_result(
    args: argparse.Namespace,
    report: dict[str, Any],
    changes: list[dict[str, Any]],
    code: int,
    command: str = "plan",
) -> dict[str, Any]:
    status = {exitcodes.OK: "no changes", exitcodes.CHANGES: "changes"}.get(
        code, exitcodes.status(code)
    )
    if command == "drift":
        status = {exitcodes.OK: "no drift", exitcodes.CHANGES: "drift"}.get(code, status)
    return {
        "command": command,
        "status": status,
        "exit_code": code,
        "playbook": report.get("playbook") or args.playbook,
        "inventory": report.get("inventory") or args.inventory,
        "tags": args.tags,
        "limit": args.limit,
        "extra_vars": history.redact_extra_vars(list(args.extra_vars), Path.cwd()),
        "run_id": report.get("run_id"),
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "elapsed_seconds": report.get("elapsed_seconds"),
        "hosts": sorted(report.get("hosts") or {}),
        "changes": changes,
        "failures": report.get("failures") or [],
        "audit": report.get("audit"),
    }


def emit(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    payload = json.dumps(result, indent=2, default=str)
    if args.report:
        Path(args.report).write_text(payload)
    print(payload if args.json else text)


# ---------------------------------------------------------------------------- rendering


def _value(value: Any) -> list[str]:
    if value is None or value == "" or value == [] or value == {}:
        return ["-"]
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [", ".join(f"{k}={v}" for k, v in value.items())]
    return str(value).splitlines() or ["-"]


def render_change(change: dict[str, Any], indent: str = "    ") -> list[str]:
    what = change.get("what") or "?"
    attribute = change.get("attribute")
    head = f"{indent}~ {what}" + (f" ({attribute})" if attribute and attribute != "content" else "")
    lines = [head]
    pad = indent + "    "
    current, wanted = change.get("current"), change.get("wanted")
    if attribute == "rules":
        for rule in wanted or []:
            lines.append(f"{pad}+ {rule}   (missing: wanted)")
        for rule in current or []:
            lines.append(f"{pad}- {rule}   (there: not wanted)")
    elif change.get("kind") == "file" and attribute == "content" and change.get("detail"):
        diff = str(change["detail"]).splitlines()
        shown = diff[: 2 + 12]
        lines += [f"{pad}{line}" for line in shown]
        if len(diff) > len(shown):
            lines.append(f"{pad}... {len(diff) - len(shown)} more diff lines (--json has all)")
    elif current is None and wanted is None:
        lines.append(f"{pad}{change.get('detail') or change.get('task') or ''}".rstrip())
    else:
        for word, value in (("current", current), ("wanted", wanted)):
            values = _value(value)
            lines.append(f"{pad}{word + ':':<9}{values[0]}")
            lines += [f"{pad}{'':<9}{v}" for v in values[1:]]
    for note in change.get("notes") or []:
        lines.append(f"{pad}note: {note}")
    if change.get("drift"):
        lines.append(f"{pad}{change['drift']['status']}: {change['drift']['why']}")
    return lines


def render_changes(changes: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    group = None
    for change in changes:
        scope, target = change.get("scope"), change.get("target")
        title = {"aws": f"AWS layer {target}", "controller": "controller (localhost)"}.get(
            scope, f"host {target}"
        )
        if title != group:
            lines.append(f"  {title}")
            group = title
        lines += render_change(change)
    return lines


def _scope_counts(changes: list[dict[str, Any]]) -> str:
    layers = sorted({c["target"] for c in changes if c.get("scope") == "aws"})
    hosts = sorted({c["target"] for c in changes if c.get("scope") != "aws"})
    parts = []
    if layers:
        parts.append(f"AWS layer{'s' if len(layers) > 1 else ''} {', '.join(layers)}")
    if hosts:
        parts.append(f"host{'s' if len(hosts) > 1 else ''} {', '.join(hosts)}")
    return "; ".join(parts)


def _selection(result: dict[str, Any]) -> str:
    parts = []
    if result.get("tags"):
        parts.append(f"--tags {','.join(result['tags'])}")
    if result.get("limit"):
        parts.append(f"--limit {result['limit']}")
    return " ".join(parts)


def _failures(result: dict[str, Any]) -> list[str]:
    lines = []
    for failure in result.get("failures") or []:
        word = "unreachable" if failure.get("unreachable") else "failed"
        message = str(failure.get("message") or "").splitlines()[0][:200]
        lines.append(f"  {failure.get('host')} [{word}] {failure.get('task')}: {message}")
    return lines


def render_plan(result: dict[str, Any]) -> str:
    changes = result["changes"]
    where = f"{result['playbook']} on {Path(str(result['inventory'])).name}"
    selection = _selection(result)
    where += f" ({selection})" if selection else ""
    code = result["exit_code"]
    if code not in (exitcodes.OK, exitcodes.CHANGES):
        lines = [f"Plan for {where}: INCOMPLETE ({result['status']}, exit {code})"]
        lines += _failures(result)
        if changes:
            lines.append("  what the run saw before it stopped:")
            lines += render_changes(changes)
        lines.append(
            "Fix the failures above (the run summary on stderr has them whole), then plan again."
        )
        return "\n".join(lines)
    if not changes:
        return (
            f"Plan for {where}: no changes. The platform matches its desired state "
            f"({len(result['hosts'])} hosts and AWS layers checked, in "
            f"{result.get('elapsed_seconds')} s)."
        )
    lines = [f"Plan for {where}: {len(changes)} to change ({_scope_counts(changes)})", ""]
    lines += render_changes(changes)
    inventory = result["inventory"]
    playbook = (
        Path(str(result["playbook"])).stem
        if result["playbook"] == "site.yml"
        else result["playbook"]
    )
    lines += [
        "",
        "Check mode: nothing was changed. To apply: "
        f"tradeops run {playbook} -i {inventory}"
        + (f" {selection}" if selection else "")
        + (" with the same -e" if result.get("extra_vars") else ""),
    ]
    return "\n".join(lines)


def render_drift(result: dict[str, Any]) -> str:
    found, pending = result["drift"], result["pending"]
    where = f"{Path(str(result['inventory'])).name}"
    selection = _selection(result)
    where += f" ({selection})" if selection else ""
    code = result["exit_code"]
    lines: list[str] = []
    if code not in (exitcodes.OK, exitcodes.CHANGES):
        lines.append(f"Drift of {where}: INCOMPLETE ({result['status']}, exit {code})")
        lines += _failures(result)
    elif not found:
        lines.append(
            f"Drift of {where}: no drift ({len(result['hosts'])} hosts and AWS layers checked)."
        )
    else:
        lines.append(
            f"Drift of {where}: {len(found)} changed outside tradeops ({_scope_counts(found)})"
        )
        lines.append("")
        lines += render_changes(found)
    if pending:
        lines.append("")
        lines.append(
            f"Not drift: {len(pending)} difference(s) from a desired state that changed since "
            "the last converge (review them with `tradeops plan`):"
        )
        lines += render_changes([dict(c, drift=None) for c in pending])
    if result.get("history_error"):
        lines.append(f"(the run history could not be read: {result['history_error']})")
    root = paths.project_root()  # shown as the other paths are: relative to the checkout
    shown = [shown_path(root, Path(p)) for p in result["metrics_files"]]
    lines.append(f"metrics: {', '.join(shown)}")
    return "\n".join(lines)

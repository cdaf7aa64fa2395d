"""`tradeops runs list|show ID`: the run history (history.py), read from ARA."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from . import exitcodes, history

EXAMPLES = """\
examples:
  tradeops runs list                      # the newest 20 runs, plans, drift checks, DR runs
  tradeops runs list --env production -n 50
  tradeops runs show 42                   # ARA playbook id (first column of the list)
  tradeops runs show 20261206T170010-4242 # or the tradeops run id
  tradeops runs show 42 --json

  Every `tradeops run`, `plan`, `drift` and `dr` is recorded by ARA (.cache/ara/ansible.sqlite;
  TRADEOPS_ARA_DIR moves it, ARA_API_CLIENT=http + ARA_API_SERVER use a team's ARA server).
  ARA's own views: `ara playbook list`, `ara result list --playbook ID`, and its web UI
  (`ara-manage runserver`, then http://127.0.0.1:8000).
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    epilog = (
        EXAMPLES
        + "\nexit codes:\n"
        + "\n".join(
            f"  {code:>3}  {text}" for code, text in exitcodes.TABLE if code in (0, 1, 2, 3)
        )
    )
    runs = commands.add_parser(
        "runs",
        help="the run history: who ran what, when, from which revision, what changed",
        description="The run history and audit trail, recorded by ARA for every tradeops "
        "run, plan, drift and dr.",
        epilog=epilog,
        formatter_class=formatter,
    )
    verbs = runs.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser(
        "list", help="the newest runs", epilog=epilog, formatter_class=formatter
    )
    listing.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    listing.add_argument("--env", help="only this environment (inventory name)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = verbs.add_parser(
        "show", help="one run in full", epilog=epilog, formatter_class=formatter
    )
    show.add_argument("ident", metavar="ID", help="ARA playbook id, or the tradeops run id")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    runs.set_defaults(handler=cmd_runs)


def cmd_runs(args: argparse.Namespace) -> int:
    try:
        if args.verb == "list":
            rows = history.list_runs(limit=args.limit, environment=args.env)
            if args.json:
                print(json.dumps([row_summary(r) for r in rows], indent=2, default=str))
            else:
                print(render_list(rows))
            return exitcodes.OK
        found = history.find_run(args.ident)
    except history.HistoryError as err:
        print(f"tradeops: {err}", file=sys.stderr)
        return exitcodes.PRECONDITION
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    else:
        print(render_show(found, ara_command_prefix()))
    return exitcodes.OK


def row_summary(row: dict[str, Any]) -> dict[str, Any]:
    ara, record = row["ara"], row["record"] or {}
    labels = {label["name"] for label in ara.get("labels") or []}
    command = record.get("command") or next(
        (name[4:] for name in labels if name.startswith("cmd:")), "?"
    )
    operator = record.get("operator") or {}
    return {
        "id": ara.get("id"),
        "run_id": record.get("run_id")
        or next((name[4:] for name in labels if name.startswith("run:")), None),
        "started_at": record.get("started_at") or ara.get("started"),
        "ended_at": record.get("ended_at") or ara.get("ended"),
        "command": command,
        "playbook": record.get("playbook") or ara.get("path"),
        "environment": record.get("environment"),
        "check": record.get("check"),
        "operator": history.operator_name(operator) if operator else ara.get("user"),
        "aws_caller": history.caller_text(operator.get("aws_caller")) if operator else None,
        "revision": history.short_revision(record.get("git")) if record else None,
        "outcome": record.get("outcome") or ara.get("status"),
        "changes": len(record.get("changes") or []) if record else None,
        "tags": record.get("tags"),
        "limit": record.get("limit"),
    }


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _utc(text: Any) -> str:
    """2026-12-06T17:00:10Z -> 2026-12-06 17:00:10Z."""
    value = str(text or "-")
    return value.replace("T", " ")[:19] + ("Z" if len(value) >= 19 else "")


def render_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return (
            "no recorded runs yet: every `tradeops run`, `plan`, `drift` and `dr` is recorded "
            f"from now on (in {history.ara_dir()})"
        )
    table = [["ID", "STARTED (UTC)", "CMD", "PLAYBOOK", "ENV", "OPERATOR", "AWS CALLER",
              "REVISION", "OUTCOME", "CHANGES"]]  # fmt: skip
    for row in rows:
        s = row_summary(row)
        command = s["command"] + (" --check" if s["check"] and s["command"] == "run" else "")
        selection = " ".join(
            part
            for part in (
                f"--tags {','.join(s['tags'])}" if s["tags"] else "",
                f"--limit {s['limit']}" if s["limit"] else "",
            )
            if part
        )
        table.append(
            [
                str(s["id"]),
                _utc(s["started_at"]),
                command,
                str(s["playbook"] or "-") + (f" {selection}" if selection else ""),
                str(s["environment"] or "-"),
                str(s["operator"] or "-"),
                str(s["aws_caller"] or "-"),
                str(s["revision"] or "-"),
                str(s["outcome"] or "-"),
                "-" if s["changes"] is None else str(s["changes"]),
            ]
        )
    return "\n".join(_table(table))


def ara_command_prefix() -> str:
    """What `ara` needs in front of it to read the history where tradeops keeps it: with
    the offline client, ARA_BASE_DIR (else it opens an empty ~/.ara); a team's ARA server
    (ARA_API_CLIENT=http) needs nothing more than the operator's own ARA settings."""
    if os.environ.get("ARA_API_CLIENT", "offline") != "offline":
        return ""
    where = history.ara_dir()
    with contextlib.suppress(ValueError):
        where = where.resolve().relative_to(Path.cwd().resolve())
    return f"ARA_BASE_DIR={shlex.quote(str(where))} "


def render_show(found: dict[str, Any], ara_prefix: str = "") -> str:
    from .plan import render_changes

    ara, record = found["ara"], found["record"] or {}
    s = row_summary({"ara": ara, "record": record})
    operator = record.get("operator") or {}
    git = record.get("git") or {}
    lines = [
        f"run {s['run_id']} (ARA playbook {ara.get('id')})",
        f"  command      tradeops {s['command']} {s['playbook']}"
        + (" (check mode)" if record.get("check") else ""),
        f"  outcome      {s['outcome']} (exit {record.get('exit_code', '-')})",
        f"  operator     {s['operator']} on {operator.get('host') or ara.get('controller') or '?'}",
        f"  aws caller   {s['aws_caller']}",
        f"  started      {record.get('started_at') or ara.get('started')} (UTC)",
        f"  ended        {record.get('ended_at') or ara.get('ended')} (UTC), "
        f"{record.get('elapsed_seconds', '-')} s",
        f"  git          {git.get('revision') or 'unknown'}"
        + (" (dirty tree)" if git.get("dirty") else "")
        + (f" on {git['branch']}" if git.get("branch") else ""),
        f"  inventory    {record.get('inventory') or '-'} "
        f"(environment {record.get('environment')})",
        f"  tags         {','.join(record.get('tags') or []) or 'all'}"
        + (f"; skip {','.join(record['skip_tags'])}" if record.get("skip_tags") else ""),
        f"  limit        {record.get('limit') or 'none'}",
        f"  extra-vars   {json.dumps(record.get('extra_vars') or [])}",
        f"  hosts        {', '.join(record.get('hosts') or []) or '-'}",
    ]
    if record.get("shipped"):
        shipped = record["shipped"]
        where = f"s3://{shipped.get('bucket')}/{shipped.get('key')}"
        lines.append(
            f"  shipped      {where}"
            + (f" FAILED: {shipped['error']}" if shipped.get("error") else "")
        )
    if not record:
        lines.append("  (no tradeops record: the run ended before tradeops could add it)")
    changes = record.get("changes") or []
    word = "would change" if record.get("check") else "changed"
    lines.append(f"  {word}: {len(changes) if changes else 'nothing'}")
    lines += ["  " + line for line in render_changes(changes)]
    for failure in record.get("failures") or []:
        message = str(failure.get("message") or "").splitlines()[0][:200]
        lines.append(f"  failed: {failure.get('host')}: {failure.get('task')}: {message}")
    lines.append(
        f"  ARA: `{ara_prefix}ara playbook show {ara.get('id')}`,"
        f" `{ara_prefix}ara result list --playbook {ara.get('id')}`"
    )
    return "\n".join(lines)

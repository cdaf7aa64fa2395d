"""The `tradeops` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

from . import __version__, arguments, dr, exitcodes, listing, paths, plan, report, runs
from .lab import Lab, LabError
from .runner import (
    Refused,
    RunRequest,
    UsageError,
    is_lab_inventory,
    resolve_inventory,
    run_playbook,
)

EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in exitcodes.TABLE)


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="tradeops",
        description="Run the tradeops.platform jobs with guard rails, progress and reports.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"tradeops {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    lab = commands.add_parser(
        "lab",
        help="the local lab: moto behind a region gate + podman hosts",
        epilog=EPILOG,
        formatter_class=formatter,
        description="Manage the local lab: moto behind a region gate (the AWS endpoint, on "
        "127.0.0.1 and the lab network's gateway) and systemd host containers on a "
        "198.18.0.0/24 podman network, each host in a region (lab/topology.yml). "
        "TRADEOPS_LAB_NAME, TRADEOPS_LAB_SUBNET and TRADEOPS_MOTO_PORT select another lab; "
        "TRADEOPS_LAB_ENGINES=N gives it N engine hosts (extra bare-metal ones, listed in "
        "the inventory file `lab status` names as fleet_inventory).",
    )
    lab_verbs = lab.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (
        ("up", "create whatever is missing (idempotent) and wait until it is healthy"),
        ("down", "remove exactly what `lab up` made: containers, network, gate, moto"),
        ("status", "show what exists (exit 3 when the lab is not fully up)"),
        ("image", "build the base image if its recipe changed (cached by recipe hash)"),
        (
            "fail-region",
            "fail a region: the gate refuses its AWS calls (HTTP 503) and its hosts are "
            "paused (idempotent)",
        ),
        (
            "restore-region",
            "undo fail-region: unpause the region's hosts, let its AWS calls through (idempotent)",
        ),
    ):
        sub = lab_verbs.add_parser(
            verb, help=text, description=text, epilog=EPILOG, formatter_class=formatter
        )
        if verb.endswith("-region"):
            sub.add_argument("region", metavar="REGION", help="e.g. us-east-1")
        sub.add_argument("--json", action="store_true", help="machine-readable output")

    run = commands.add_parser(
        "run",
        help="run a playbook (site, a layer, a DR runbook)",
        epilog=EPILOG,
        formatter_class=formatter,
        description="Run a playbook through ansible-runner with live progress and a summary. "
        "PLAYBOOK is `site`, a name under playbooks/ (e.g. `dr/failover`), or a path.",
    )
    run.add_argument("playbook", metavar="PLAYBOOK")
    arguments.add_scope(run)
    run.add_argument("-C", "--check", action="store_true", help="check mode (implies --diff)")
    run.add_argument("-D", "--diff", action="store_true", help="show differences")
    run.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="VARS",
        help="extra variables, as for ansible-playbook (repeatable)",
    )
    run.add_argument(
        "--confirm", metavar="ENV", help="name of the protected environment you mean to change"
    )
    run.add_argument("--report", metavar="FILE", help="also write the run report (JSON) to FILE")
    run.add_argument("-v", "--verbose", action="count", default=0)
    for flag in ("--list-hosts", "--list-tags"):  # passed through to ansible-playbook
        run.add_argument(flag, action="store_true", help=f"ansible-playbook {flag}; runs nothing")
    dr.add_parser(commands)
    plan.add_parsers(commands)  # plan, drift (issue 22)
    runs.add_parser(commands)
    report.add_parser(commands)
    return parser


def log(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_lab(args: argparse.Namespace) -> int:
    lab = Lab()
    if args.verb == "image":
        print(lab.ensure_image(log=log))
        return exitcodes.OK
    if args.verb == "up":
        started = time.monotonic()
        states = lab.up(log=log)
        result = lab.status()
        result["actions"] = states
        result["seconds"] = round(time.monotonic() - started, 1)
    elif args.verb == "down":
        result = lab.down()
    elif args.verb == "fail-region":
        result = lab.fail_region(args.region)
    elif args.verb == "restore-region":
        result = lab.restore_region(args.region)
    else:
        result = lab.status()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_format_lab(args.verb, result))
    if args.verb == "status" and not lab.is_up():
        return exitcodes.PRECONDITION
    return exitcodes.OK


def _format_lab(verb: str, result: dict) -> str:
    if verb == "down":
        parts = [f"{kind}: {', '.join(names) or 'none'}" for kind, names in result.items()]
        return "lab down: removed " + "; ".join(parts)
    if verb.endswith("-region"):
        done = "failed" if verb == "fail-region" else "restored"
        hosts = ", ".join(f"{host} {what}" for host, what in result["hosts"].items())
        return (
            f"lab {result['lab']}: region {result['region']} {done}; hosts: {hosts or 'none'}; "
            f"failed regions now: {', '.join(result['failed_regions']) or 'none'}"
        )
    gate, moto = result["gate"], result["moto"]
    lines = [
        f"lab {result['lab']}" + (f" up in {result['seconds']} s" if "seconds" in result else ""),
        f"  aws      {gate['url']} (hosts: {result['aws_endpoint_for_hosts']})  "
        f"gate {'healthy' if gate['healthy'] else 'DOWN'}",
        f"  moto     {moto['url'] or 'not running'}  {'healthy' if moto['healthy'] else 'DOWN'}",
        f"  failed   {', '.join(result['failed_regions']) or 'no region'}",
        f"  network  {result['network'] or 'absent'}",
        f"  image    {result['image']}",
    ]
    region_of = {h: r for r, info in result["regions"].items() for h in info["hosts"]}
    actions = result.get("actions", {})
    for host, state in result["hosts"].items():
        note = f" ({actions[host]})" if actions.get(host) not in (None, "running") else ""
        lines.append(f"  host     {host:<16} {region_of.get(host, '?'):<10} {state}{note}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    if listing.wanted(args):
        return listing.cmd_list(args)
    request = RunRequest.from_args(
        args, check=args.check, diff=args.diff, confirm=args.confirm, report=args.report
    )
    root = paths.project_root()
    if is_lab_inventory(root, resolve_inventory(root, request.inventory)):
        Lab().require_up()  # names what is missing: host containers, moto, the gate
    return run_playbook(request)


def internal_error(exc: BaseException) -> int:
    """An unexpected error: one line for the operator, the traceback in a file."""
    text = "".join(traceback.format_exception(exc))
    where = None
    try:
        directory = paths.runs_dir()
        directory.mkdir(parents=True, exist_ok=True)
        where = directory / f"tradeops-error-{time.strftime('%Y%m%dT%H%M%S')}.txt"
        where.write_text(text)
    except (OSError, FileNotFoundError):
        where = None
    detail = f"the traceback is in {where}" if where else f"traceback:\n{text}"
    print(
        f"tradeops: internal error: {type(exc).__name__}: {exc} ({detail}; "
        "please report it with the command line)",
        file=sys.stderr,
    )
    return exitcodes.ERROR


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "lab":
            return cmd_lab(args)
        if getattr(args, "handler", None):  # plan, drift, runs, report
            return args.handler(args)
        if args.command == "dr":
            return dr.cmd_dr(args)
        return cmd_run(args)
    except (Refused, LabError) as err:
        print(f"tradeops: {err}", file=sys.stderr)
        return exitcodes.PRECONDITION
    except UsageError as err:
        print(f"tradeops: {err}", file=sys.stderr)
        return exitcodes.USAGE
    except KeyboardInterrupt:
        print("tradeops: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED
    except Exception as exc:  # the last line of defence: exit 1, the traceback in a file
        return internal_error(exc)


if __name__ == "__main__":
    sys.exit(main())

"""`tradeops report fleet`: the engine fleet on one page, as a terminal table and an HTML file.

What each engine host says about itself, read now by a read-only playbook
(scripts/tradeops/playbooks/fleet_report.yml, run in check mode):

- its tuning profile and the verification of each check, from the textfile engine_tuning's
  verify writes (`tradeops_tuning.prom`, docs/monitoring.md): the same data TuningDrift
  alerts on, with the time of that verify;
- the engine's version and health, from its /health (asked on the host itself); a standby
  the DR fence keeps stopped (its `tradeops_dr_fence.prom`) is "standby, fenced", not down;
- backup freshness, from the backup agents' `tradeops_backup_<job>.prom` (any host);
- the monitoring targets of the host as Prometheus sees them (its /api/v1/targets);
- drift, from the last `tradeops drift` of the environment (.cache/drift/<env>.json).

The HTML is one self-contained file (inline CSS, no script, no external asset).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import exitcodes, paths
from .drift import drift_dir
from .lab import Lab
from .runner import (
    RunRequest,
    environment_name,
    is_lab_inventory,
    resolve_inventory,
    run_playbook,
)

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "fleet_report.yml"
STALE_SECONDS = 26 * 3600  # TuningReportStale, BackupTooOld's default
OK, WARN, FAIL, UNKNOWN = "ok", "warn", "fail", "unknown"
RANK = {OK: 0, UNKNOWN: 1, WARN: 2, FAIL: 3}

EXAMPLES = """\
examples:
  tradeops report fleet                             # the lab: table + .cache/reports/fleet-lab.html
  tradeops report fleet -i inventories/production --html /srv/wiki/fleet.html
  tradeops report fleet --limit 'engines:&us_east_1'
  tradeops report fleet --json                      # the data, for machines

  Reads, never changes (the read-only playbook runs in check mode). Tuning comes from the
  last verify (tradeops_tuning.prom; refresh it with `tradeops run site --tags verify`),
  drift from the last `tradeops drift`. A host is failing when a tuning check fails, its
  engine is not healthy, a monitoring target of it is down, or it drifted.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    epilog = (
        EXAMPLES
        + "\nexit codes:\n"
        + "\n".join(f"  {code:>3}  {text}" for code, text in exitcodes.TABLE if code not in (64,))
    )
    report = commands.add_parser(
        "report",
        help="reports: `report fleet`, the engine fleet on one page (terminal and HTML)",
        description="Reports on an environment.",
        epilog=epilog,
        formatter_class=formatter,
    )
    kinds = report.add_subparsers(dest="kind", metavar="KIND", required=True)
    fleet = kinds.add_parser(
        "fleet",
        help="engine hosts: profile, tuning checks, engine version/health, backups, "
        "monitoring targets, drift",
        description=(__doc__ or "").split("\n\n")[1],
        epilog=epilog,
        formatter_class=formatter,
    )
    fleet.add_argument("-i", "--inventory", default="inventories/lab", help="inventory directory")
    fleet.add_argument("-l", "--limit", help="limit to a host pattern")
    fleet.add_argument(
        "--html",
        metavar="FILE",
        help="where to write the HTML (default .cache/reports/fleet-<env>.html)",
    )
    fleet.add_argument("--json", action="store_true", help="print the data as JSON on stdout")
    fleet.add_argument("-v", "--verbose", action="count", default=0)
    report.set_defaults(handler=cmd_report)


# ---------------------------------------------------------------------------- textfiles

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_]\w*)="(?P<value>(?:[^"\\]|\\.)*)"')


def parse_prom(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of each sample of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = _SAMPLE.match(line.strip())
        if not match:
            continue
        labels = {
            m["key"]: m["value"].replace('\\"', '"').replace("\\\\", "\\")
            for m in _LABEL.finditer(match["labels"] or "")
        }
        try:
            value = float(match["value"])
        except ValueError:
            continue
        out.append((match["name"], labels, value))
    return out


def decode(content: str) -> str:
    try:
        return base64.b64decode(content).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return ""


def tuning_view(text: str | None, now: float) -> dict[str, Any]:
    if text is None:
        return {"status": UNKNOWN, "summary": "no verify report", "checks": [], "profile": None}
    checks, counts, profile, verified = [], {}, None, None
    reboot_pending = False
    for name, labels, value in parse_prom(text):
        if name == "tradeops_tuning_check_ok":
            checks.append({"check": labels.get("check", "?"), "ok": value == 1})
        elif name == "tradeops_tuning_checks":
            counts[labels.get("status", "?")] = int(value)
        elif name == "tradeops_tuning_profile_info":
            profile = labels.get("profile")
        elif name == "tradeops_tuning_last_verify_timestamp_seconds":
            verified = value
        elif name == "tradeops_tuning_reboot_pending":
            reboot_pending = value == 1
    checks.sort(key=lambda c: c["check"])
    failing = [c["check"] for c in checks if not c["ok"]]
    age = now - verified if verified else None
    if failing:
        status = FAIL
        summary = f"FAIL {len(failing)}/{len(checks)}: {', '.join(failing)}"
    elif not checks:
        status = UNKNOWN
        summary = "no judged check"
    else:
        status = OK
        summary = f"ok {len(checks)}/{len(checks)}"
    if status == OK and (age is None or age > STALE_SECONDS):
        status = WARN
        summary += " (stale)"
    if reboot_pending:
        status = max(status, WARN, key=RANK.get)
        summary += ", reboot pending"
    return {
        "status": status,
        "summary": summary,
        "checks": checks,
        "failing": failing,
        "counts": counts,
        "profile": profile,
        "verified_at": verified,
        "age_seconds": age,
    }


def backup_view(texts: dict[str, str], now: float) -> list[dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = {}
    for text in texts.values():
        for name, labels, value in parse_prom(text):
            job = labels.get("job") or labels.get("backup_job") or "?"
            entry = jobs.setdefault(job, {"job": job})
            if name == "tradeops_backup_last_success_timestamp_seconds":
                entry["last_success"] = value
            elif name == "tradeops_backup_max_age_seconds":
                entry["max_age"] = value
            elif name == "tradeops_backup_last_run_success":
                entry["last_run_ok"] = value == 1
    out = []
    for job in sorted(jobs):
        entry = jobs[job]
        age = now - entry["last_success"] if entry.get("last_success") else None
        limit = entry.get("max_age") or STALE_SECONDS
        stale = age is None or age > limit
        status = FAIL if entry.get("last_run_ok") is False or stale else OK
        out.append(dict(entry, age_seconds=age, status=status))
    return out


def fence_view(text: str | None) -> str | None:
    """The active region when the DR fence keeps this host's engine stopped (its
    tradeops_dr_fence.prom says allowed 0: a standby of the region that is not active);
    None when the engine may run or the host has no fence."""
    samples = parse_prom(text or "")
    allowed = [value for name, _, value in samples if name == "tradeops_dr_fence_allowed"]
    if not allowed or allowed[0] != 0:
        return None
    epochs = [labels for name, labels, _ in samples if name == "tradeops_dr_fence_epoch"]
    return (epochs[0].get("active") if epochs else None) or "another region"


def engine_view(engine: dict[str, Any] | None, fenced_by: str | None = None) -> dict[str, Any]:
    """The engine's health; a fenced standby whose engine is down is as it should be."""
    engine = engine or {}
    if not engine.get("asked") or engine.get("asked") in ("False", "false"):
        return {"status": UNKNOWN, "summary": "-"}
    body = engine.get("body") if isinstance(engine.get("body"), dict) else None
    if body is None and fenced_by:
        return {"status": OK, "summary": f"standby, fenced ({fenced_by} active)", "version": None}
    if body is None:
        error = str(engine.get("error") or "no answer")
        return {"status": FAIL, "summary": f"down ({error[:60]})", "version": None}
    version = body.get("version")
    healthy = str(engine.get("status")) == "200" and body.get("status") == "ok"
    problems = body.get("problems") or []
    summary = f"{version or '?'} {'ok' if healthy else 'FAILING'}"
    if problems:
        summary += f" ({'; '.join(str(p) for p in problems)[:80]})"
    return {
        "status": OK if healthy else FAIL,
        "summary": summary,
        "version": version,
        "problems": problems,
    }


def targets_view(host: str, monitoring: dict[str, Any], fenced: bool = False) -> dict[str, Any]:
    """The host's scrape targets; on a fenced standby the engine's own target is down by
    design (the EngineDown alert spares it too) and does not count."""
    targets = []
    errors = []
    for view in monitoring.values():
        if view.get("unreachable") or view.get("error"):
            errors.append(view.get("error") or "monitoring host unreachable")
            continue
        for target in view.get("targets") or []:
            labels = target.get("labels") or {}
            if labels.get("instance") == host:
                targets.append(
                    {
                        "job": labels.get("job"),
                        "health": target.get("health"),
                        "error": target.get("lastError") or "",
                    }
                )
    if not targets:
        return {
            "status": UNKNOWN,
            "summary": "no target" + (" (no monitoring)" if errors else ""),
            "targets": [],
        }
    down = [t for t in targets if t["health"] != "up"]
    summary = f"{len(targets) - len(down)}/{len(targets)} up"
    if down:
        summary += ": down " + ", ".join(str(t["job"]) for t in down)
    expected = [t for t in down if fenced and t["job"] == "engine"]
    if expected:
        summary += " (fenced)"
    failing = len(down) > len(expected)
    return {"status": FAIL if failing else OK, "summary": summary, "targets": targets}


def drift_view(host: str, last: dict[str, Any] | None) -> dict[str, Any]:
    if not last:
        return {"status": UNKNOWN, "summary": "not checked", "items": []}
    items = [
        c for c in last.get("drift") or [] if c.get("target") == host and c.get("scope") == "host"
    ]
    checked = last.get("checked_at")
    if last.get("exit_code") not in (0, 2):
        return {
            "status": UNKNOWN,
            "summary": "last check failed",
            "items": [],
            "checked_at": checked,
        }
    if host not in (last.get("hosts") or []):
        return {"status": UNKNOWN, "summary": "not checked", "items": [], "checked_at": checked}
    if items:
        return {
            "status": FAIL,
            "summary": f"{len(items)}: " + ", ".join(str(c.get("what")) for c in items),
            "items": items,
            "checked_at": checked,
        }
    return {"status": OK, "summary": "none", "items": [], "checked_at": checked}


def worst(*statuses: str) -> str:
    return max(statuses, key=lambda s: RANK.get(s, 0)) if statuses else UNKNOWN


def build(
    collected: dict[str, Any], last_drift: dict[str, Any] | None, env: str, now: float
) -> dict[str, Any]:
    hosts = collected.get("hosts") or {}
    groups = collected.get("groups") or {}
    monitoring = collected.get("monitoring") or {}
    engines = []
    for host in sorted(groups.get("engines") or []):
        view = hosts.get(host) or {"unreachable": True}
        texts = {Path(k).name: decode(v) for k, v in (view.get("textfiles") or {}).items()}
        if view.get("unreachable"):
            row = {
                "host": host,
                "region": view.get("region") or "",
                "profile": None,
                "unreachable": True,
                "tuning": {"status": FAIL, "summary": "host unreachable", "checks": []},
                "engine": {"status": FAIL, "summary": "host unreachable"},
                "backups": [],
                "targets": targets_view(host, monitoring),
                "drift": drift_view(host, last_drift),
            }
        else:
            tuning = tuning_view(texts.get("tradeops_tuning.prom"), now)
            fenced_by = fence_view(texts.get("tradeops_dr_fence.prom"))
            row = {
                "host": host,
                "region": view.get("region") or "",
                "profile": tuning.get("profile") or view.get("profile") or None,
                "unreachable": False,
                "tuning": tuning,
                "engine": engine_view(view.get("engine"), fenced_by),
                "backups": backup_view(
                    {k: v for k, v in texts.items() if k.startswith("tradeops_backup_")}, now
                ),
                "targets": targets_view(host, monitoring, fenced=fenced_by is not None),
                "drift": drift_view(host, last_drift),
            }
        backup_status = worst(*(b["status"] for b in row["backups"])) if row["backups"] else OK
        row["status"] = worst(
            row["tuning"]["status"],
            row["engine"]["status"],
            row["targets"]["status"],
            row["drift"]["status"],
            backup_status,
        )
        row["failing"] = row["status"] == FAIL
        engines.append(row)
    backups = []
    for host in sorted(hosts):
        view = hosts[host]
        texts = {Path(k).name: decode(v) for k, v in (view.get("textfiles") or {}).items()}
        for entry in backup_view(
            {k: v for k, v in texts.items() if k.startswith("tradeops_backup_")}, now
        ):
            backups.append(dict(entry, host=host))
    aws_drift = [c for c in (last_drift or {}).get("drift") or [] if c.get("scope") == "aws"]
    return {
        "environment": env,
        "generated_at": datetime.datetime.fromtimestamp(now, datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "engines": engines,
        "backups": backups,
        "monitoring": {
            h: {
                "url": v.get("url"),
                "targets": len(v.get("targets") or []),
                "error": v.get("error"),
            }
            for h, v in monitoring.items()
        },
        "drift": {
            "checked_at": (last_drift or {}).get("checked_at"),
            "status": (last_drift or {}).get("status"),
            "aws": aws_drift,
        },
        "failing": [r["host"] for r in engines if r["failing"]],
    }


# ---------------------------------------------------------------------------- rendering


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def render_table(data: dict[str, Any], width: int = 40) -> str:
    drift = data["drift"]
    lines = [
        f"Fleet report: {data['environment']}, {data['generated_at']} "
        f"(drift as of {drift.get('checked_at') or 'never: run `tradeops drift`'})",
    ]
    rows = [["HOST", "REGION", "PROFILE", "TUNING", "ENGINE", "BACKUP", "MONITORING", "DRIFT", ""]]
    for row in data["engines"]:
        tuning = row["tuning"]
        when = f" ({_age(tuning.get('age_seconds'))})" if tuning.get("checks") else ""
        backup = ", ".join(f"{b['job']} {_age(b['age_seconds'])}" for b in row["backups"]) or "-"
        rows.append(
            [
                row["host"],
                row["region"] or "-",
                row["profile"] or "-",
                (tuning["summary"] + when)[:width],
                row["engine"]["summary"][:width],
                backup[:width],
                row["targets"]["summary"][:width],
                row["drift"]["summary"][:width],
                "FAILING" if row["failing"] else "",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    if not data["engines"]:
        lines.append("  no engine host in this inventory")
    for row in data["engines"]:
        for check in row["tuning"].get("failing") or []:
            lines.append(f"  {row['host']}: tuning check {check} fails (desired != actual)")
    if data["backups"]:
        lines.append("  backups:")
        for b in data["backups"]:
            word = "ok" if b["status"] == OK else "STALE OR FAILED"
            lines.append(
                f"    {b['host']:<16} {b['job']:<12} last success {_age(b['age_seconds'])}: {word}"
            )
    if drift.get("aws"):
        lines.append("  AWS drift:")
        for c in drift["aws"]:
            lines.append(f"    {c.get('target')}: {c.get('detail') or c.get('what')}")
    failing = data["failing"]
    lines.append(
        f"  {len(data['engines'])} engine hosts, "
        + (f"{len(failing)} failing: {', '.join(failing)}" if failing else "none failing")
    )
    return "\n".join(lines)


CSS = """
:root { --ok:#1a7f37; --fail:#cf222e; --warn:#9a6700; --unknown:#6e7781; --bg:#ffffff;
        --fg:#1f2328; --line:#d0d7de; --head:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px;
       color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: var(--unknown); margin-bottom: 16px; }
.summary { display: flex; gap: 12px; margin: 12px 0 20px; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 140px; }
.card b { display: block; font-size: 24px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 7px 10px; text-align: left;
         vertical-align: top; }
th { background: var(--head); font-weight: 600; }
tr.failing td:first-child { border-left: 4px solid var(--fail); }
tr.ok td:first-child { border-left: 4px solid var(--ok); }
.status { font-weight: 600; }
.ok .status, td.ok { color: var(--ok); } td.fail { color: var(--fail); font-weight: 600; }
td.warn { color: var(--warn); } td.unknown { color: var(--unknown); }
.check { display: inline-block; margin: 1px 2px; padding: 0 6px; border-radius: 10px;
         font-size: 12px; border: 1px solid var(--line); color: var(--fg); font-weight: 400; }
.check.pass { background: #dafbe1; border-color: #aceebb; }
.check.fail { background: #ffebe9; border-color: #ff8182; font-weight: 600; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.host { font-weight: 600; white-space: nowrap; }
footer { margin-top: 28px; color: var(--unknown); font-size: 12px; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def render_html(data: dict[str, Any]) -> str:
    drift = data["drift"]
    engines = data["engines"]
    failing = data["failing"]
    cards = [
        ("engine hosts", len(engines), OK),
        ("failing", len(failing), FAIL if failing else OK),
        ("tuning checks failing", sum(len(r["tuning"].get("failing") or []) for r in engines),
         FAIL if any(r["tuning"].get("failing") for r in engines) else OK),
        ("AWS drift", len(drift.get("aws") or []), FAIL if drift.get("aws") else OK),
    ]  # fmt: skip
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Fleet report: {_e(data['environment'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f'<h1 id="title">Fleet report: {_e(data["environment"])}</h1>',
        f'<div class="meta">generated {_e(data["generated_at"])} by tradeops report fleet; '
        f"tuning from each host's last verify, drift as of "
        f"{_e(drift.get('checked_at') or 'never (run tradeops drift)')}</div>",
        '<div class="summary">',
    ]
    for label, count, status in cards:
        out.append(
            f'<div class="card" data-card="{_e(label)}">'
            f'<b class="{status}">{count}</b>{_e(label)}</div>'
        )
    out += [
        "</div>",
        '<table id="fleet"><thead><tr><th>host</th><th>region</th><th>profile</th>'
        "<th>tuning checks</th><th>engine</th><th>backup</th><th>monitoring</th><th>drift</th>"
        "<th>status</th></tr></thead><tbody>",
    ]
    for row in engines:
        status = "failing" if row["failing"] else "ok"
        tuning = row["tuning"]
        checks = "".join(
            f'<span class="check {"pass" if c["ok"] else "fail"}" data-check="{_e(c["check"])}" '
            f'data-ok="{"1" if c["ok"] else "0"}">{_e(c["check"])}</span>'
            for c in tuning.get("checks") or []
        )
        when = (
            f" <small>verified {_e(_age(tuning.get('age_seconds')))}</small>"
            if tuning.get("checks")
            else ""
        )
        backup = ", ".join(f"{b['job']} {_age(b['age_seconds'])}" for b in row["backups"]) or "-"
        backup_status = worst(*(b["status"] for b in row["backups"])) if row["backups"] else UNKNOWN
        out.append(
            f'<tr class="{status}" data-host="{_e(row["host"])}" data-status="{status}">'
            f'<td class="host">{_e(row["host"])}</td><td>{_e(row["region"])}</td>'
            f"<td>{_e(row['profile'] or '-')}</td>"
            f'<td class="{tuning["status"]}" data-col="tuning" data-status="{tuning["status"]}">'
            f"{_e(tuning['summary'])}{when}<br>{checks}</td>"
            f'<td class="{row["engine"]["status"]}" data-col="engine" '
            f'data-status="{row["engine"]["status"]}">{_e(row["engine"]["summary"])}</td>'
            f'<td class="{backup_status}" data-col="backup">{_e(backup)}</td>'
            f'<td class="{row["targets"]["status"]}" data-col="monitoring" '
            f'data-status="{row["targets"]["status"]}">{_e(row["targets"]["summary"])}</td>'
            f'<td class="{row["drift"]["status"]}" data-col="drift" '
            f'data-status="{row["drift"]["status"]}">{_e(row["drift"]["summary"])}</td>'
            f'<td class="status">{"FAILING" if row["failing"] else "ok"}</td></tr>'
        )
    if not engines:
        out.append('<tr><td colspan="9">no engine host in this inventory</td></tr>')
    out.append("</tbody></table>")
    if data["backups"]:
        out.append('<h2>Backups</h2><table id="backups"><thead><tr><th>host</th><th>job</th>'
                   "<th>last success</th><th>status</th></tr></thead><tbody>")  # fmt: skip
        for b in data["backups"]:
            out.append(
                f"<tr><td>{_e(b['host'])}</td><td>{_e(b['job'])}</td>"
                f"<td>{_e(_age(b['age_seconds']))}</td>"
                f'<td class="{b["status"]}">'
                f"{'ok' if b['status'] == OK else 'stale or failed'}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append('<h2>AWS drift</h2><ul id="aws-drift">')
    for c in drift.get("aws") or []:
        out.append(
            f"<li><b>{_e(c.get('target'))}</b>: "
            f"<code>{_e(c.get('detail') or c.get('what'))}</code></li>"
        )
    if not drift.get("aws"):
        out.append(f"<li>{'none' if drift.get('checked_at') else 'not checked yet'}</li>")
    out.append("</ul>")
    monitors = ", ".join(
        f"{h} ({m.get('targets')} targets{', ' + m['error'] if m.get('error') else ''})"
        for h, m in data["monitoring"].items()
    )
    out.append(f"<footer>monitoring: {_e(monitors or 'none')}. A host is failing when a tuning "
               "check fails, its engine is not healthy, a monitoring target of it is down, or "
               "it drifted.</footer></body></html>")  # fmt: skip
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- the command


def collect(args: argparse.Namespace, out: Path) -> int:
    request = RunRequest(
        playbook=str(PLAYBOOK),
        inventory=args.inventory,
        # the last play writes the file on the controller: a --limit must leave it in
        limit=f"{args.limit}:localhost" if args.limit else None,
        check=True,  # read-only by construction: the read tasks say check_mode: false
        extra_vars=[json.dumps({"tradeops_fleet_out": str(out)})],
        verbosity=args.verbose,
        command="report",
    )
    return run_playbook(request, stream=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    root = paths.project_root()
    inventory = resolve_inventory(root, args.inventory)
    env = environment_name(inventory)
    if is_lab_inventory(root, inventory):
        Lab().require_up()
    with tempfile.TemporaryDirectory(prefix="tradeops-fleet-") as tmp:
        out = Path(tmp) / "fleet.json"
        code = collect(args, out)
        if not out.is_file():
            print(
                "tradeops: the fleet could not be read (the run above says why); fix that and "
                "run `tradeops report fleet` again",
                file=sys.stderr,
            )
            return code if code != exitcodes.OK else exitcodes.FAILED
        collected = json.loads(out.read_text())
    last_drift_path = drift_dir(root) / f"{env}.json"
    last_drift = None
    if last_drift_path.is_file():
        try:
            last_drift = json.loads(last_drift_path.read_text())
        except ValueError:
            last_drift = None
    data = build(collected, last_drift, env, time.time())
    target = Path(args.html) if args.html else root / ".cache" / "reports" / f"fleet-{env}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(data))
    data["html"] = str(target)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print(render_table(data))
        print(f"  HTML: {target}")
    return code

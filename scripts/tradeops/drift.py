"""Drift: of the plan's changes, those the world made, not the code or the inventory.

A successful converge leaves the platform equal to the desired state of that moment. The
run history (history.py) keeps, with each run, a fingerprint of that desired state (the
playbooks, roles, plugins, the environment's inventory files and the extra-vars). So a
difference the plan finds on a host or an AWS layer is **drift** when the last successful
converge that covered that host or layer had the same fingerprint as now: the desired
state did not move, the world did. When the fingerprint differs, the difference is
**pending**: the code or the inventory changed since, and `tradeops plan` is the tool to
review it. With no converge recorded for the target, it is **unattributed**: drift cannot
be told from a pending change, and it is reported (counted as drift, so an alert errs on
the side of a look).

Caveat: a converge limited by `--tags` covers its hosts for what those tags touch only;
drift trusts it for the whole host (docs/operations.md).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

DRIFT = "drift"
PENDING = "pending"
UNATTRIBUTED = "unattributed"
COUNTED = (DRIFT, UNATTRIBUTED)


def drift_dir(root: Path) -> Path:
    """Where the last drift check of each environment is kept (<env>.json, <env>.prom);
    TRADEOPS_DRIFT_DIR moves it (the tests use their own)."""
    given = os.environ.get("TRADEOPS_DRIFT_DIR")
    return Path(given) if given else root / ".cache" / "drift"


def host_of(change: dict[str, Any]) -> str:
    """The inventory host a change belongs to (AWS layers run as aws-<layer>)."""
    if change.get("scope") == "aws":
        return f"aws-{change.get('target')}"
    if change.get("scope") == "controller":
        return "localhost"
    return str(change.get("target"))


def classify(
    changes: list[dict[str, Any]], converges: list[dict[str, Any]], fingerprint: str
) -> list[dict[str, Any]]:
    """Each change with `drift` (status, since, by, revision, why); `converges` newest first."""
    out = []
    for change in changes:
        host = host_of(change)
        base = next((r for r in converges if host in (r.get("hosts") or [])), None)
        if base is None:
            status = UNATTRIBUTED
            why = f"no successful converge of {host} is recorded: cannot tell drift from a change"
        elif base.get("desired_state") == fingerprint:
            status = DRIFT
            why = (
                f"changed outside tradeops since the converge {base.get('run_id')} "
                f"({base.get('ended_at')})"
            )
        else:
            status = PENDING
            why = (
                f"the desired state changed since the last converge {base.get('run_id')} "
                f"({base.get('ended_at')}): a change to apply, not drift (`tradeops plan`)"
            )
        info = {"status": status, "why": why}
        if base is not None:
            info.update(
                since=base.get("ended_at"),
                converge_run=base.get("run_id"),
                converge_revision=(base.get("git") or {}).get("revision"),
                converge_operator=(base.get("operator") or {}).get("user"),
            )
        out.append(dict(change, drift=info))
    return out


def counted(classified: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in classified if c["drift"]["status"] in COUNTED]


# ---------------------------------------------------------------------------- metrics


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def metrics(
    environment: str,
    classified: list[dict[str, Any]] | None,
    success: bool,
    now: float | None = None,
) -> str:
    """The drift check as node_exporter textfile metrics (docs/operations.md).

    `classified` None: the check itself failed (only success 0 and the time are written,
    so a stale count does not look current)."""
    env = _label(environment)
    lines = [
        "# HELP tradeops_drift_check_success 1 when the last tradeops drift ran to the end.",
        "# TYPE tradeops_drift_check_success gauge",
        f'tradeops_drift_check_success{{environment="{env}"}} {1 if success else 0}',
        "# HELP tradeops_drift_last_check_timestamp_seconds When tradeops drift last ran.",
        "# TYPE tradeops_drift_last_check_timestamp_seconds gauge",
        f'tradeops_drift_last_check_timestamp_seconds{{environment="{env}"}} '
        f"{int(now if now is not None else time.time())}",
    ]
    if classified is None:
        return "\n".join(lines) + "\n"
    drifted = counted(classified)
    per_target: dict[tuple[str, str], int] = {}
    for change in drifted:
        key = (str(change.get("scope")), str(change.get("target")))
        per_target[key] = per_target.get(key, 0) + 1
    pending = sum(1 for c in classified if c["drift"]["status"] == PENDING)
    lines += [
        "# HELP tradeops_drift_detected 1 when something changed outside tradeops.",
        "# TYPE tradeops_drift_detected gauge",
        f'tradeops_drift_detected{{environment="{env}"}} {1 if drifted else 0}',
        "# HELP tradeops_drift_items Things changed outside tradeops, per AWS layer or host.",
        "# TYPE tradeops_drift_items gauge",
    ]
    for (scope, target), count in sorted(per_target.items()):
        lines.append(
            f'tradeops_drift_items{{environment="{env}",scope="{_label(scope)}",'
            f'target="{_label(target)}"}} {count}'
        )
    lines += [
        "# HELP tradeops_drift_pending_items Differences from a desired state that changed "
        "since the last converge (not drift).",
        "# TYPE tradeops_drift_pending_items gauge",
        f'tradeops_drift_pending_items{{environment="{env}"}} {pending}',
    ]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """NAME.tmp then rename: node_exporter reads whatever is there at scrape time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)

# Copyright: tradeops engineers
# Apache License 2.0 (see galaxy.yml)
"""The tuning verify report as node_exporter textfile metrics (``tradeops_tuning.prom``).

The contract is docs/monitoring.md, "Tuning verify report"; the alerts that read it are
TuningDrift, TuningRebootPending, TuningReportStale (roles/monitoring_assets/files/rules/tuning.yml)
and InterruptsOnIsolatedCPU (host_latency.yml); the fleet_tuning dashboard shows them.

- :func:`render` -> the file's text from a :func:`tuning_profile.verify` report and the
  :func:`tuning_profile.render` result it was made from.
- :func:`changed` -> whether a new text says something else than the previous one,
  the verify timestamp aside (a telemetry refresh is not a change of the host).
- :func:`textfile` -> both, for the ``tuning_textfile`` filter.

Which checks are judged: a check reads either kernel-wide state (command line, CPU
isolation, IRQs, hugepages, sysctls, THP, SR-IOV) or the state of the host's own network
interfaces (ethtool read-back). In a container the kernel is the machine's under it,
which this host neither owns nor tunes: its kernel-wide checks are counted as
``not_judged`` and left out of ``tradeops_tuning_check_ok``, and the kernel-wide series
(``tradeops_tuning_reboot_pending``, ``tradeops_tuning_isolated_cpu``) are not written.
"""

from __future__ import annotations

import time

from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import (
    CpuSetError,
    parse_cpulist,
)

FILENAME = "tradeops_tuning.prom"
TIMESTAMP_METRIC = "tradeops_tuning_last_verify_timestamp_seconds"

# The statuses of tuning_profile.verify, plus ours for a check that is not this host's.
STATUSES = ("ok", "drift", "reboot_pending", "unknown", "not_judged")
KERNEL = "kernel"
NETNS = "netns"

# Checks with a fixed name in tuning_profile.verify -> their label; the others are
# "<kind> <subject> [<key>]" and become dotted ("sysctl net.core.busy_poll" ->
# "sysctl.net.core.busy_poll", "hugepages node0 2M" -> "hugepages.node0.2M").
FIXED_LABELS = {
    "kernel_cmdline": "kernel.cmdline",
    "cpu_isolated": "cpu.isolated",
    "cpu_nohz_full": "cpu.nohz_full",
    "irq_default_affinity": "irq.default_affinity",
    "irq_affinity": "irq.affinity",
    "nic_irq_affinity": "irq.nic_queues",
    "thp": "thp",
}

HELP = {
    "tradeops_tuning_check_ok": (
        "1 when the tuning check's actual state is the desired one, 0 on drift "
        "(judged checks with status ok or drift only)."
    ),
    "tradeops_tuning_checks": "Checks of the last tuning verify by status.",
    "tradeops_tuning_kernel_judged": (
        "1 when the kernel-wide checks are this host's own, 0 in a container (the kernel "
        "is the machine's under it)."
    ),
    "tradeops_tuning_reboot_pending": (
        "1 when boot-time tuning is written but not running (a reboot is pending)."
    ),
    "tradeops_tuning_isolated_cpu": "1 for each CPU the tuning profile isolates.",
    "tradeops_tuning_profile_info": "The tuning profile this host is verified against.",
    TIMESTAMP_METRIC: "Unix time of the tuning verify that wrote this file.",
}


class MetricsError(ValueError):
    """The report cannot be rendered (not a verify report)."""


def escape_label(value):
    """A label value in the text exposition format (backslash, quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def check_label(check):
    """The ``check`` label of one verify check: stable, dotted, no spaces."""
    name = str(check.get("name") or "").strip()
    if not name:
        raise MetricsError(f"a verify check without a name: {check!r}")
    return FIXED_LABELS.get(name) or ".".join(name.split())


def check_scope(check):
    """``netns`` for the host's own network interfaces (ethtool), else ``kernel``."""
    path = str(check.get("path") or "")
    return NETNS if path == "nics" or path.startswith("nics.") else KERNEL


def _labels(checks):
    """(label, check) pairs with unique labels: a repeated label gets ``.2``, ``.3``..."""
    seen = {}
    out = []
    for check in checks:
        label = check_label(check)
        seen[label] = seen.get(label, 0) + 1
        out.append((label if seen[label] == 1 else f"{label}.{seen[label]}", check))
    return out


def _family(lines, name, samples):
    lines.append(f"# HELP {name} {HELP[name]}")
    lines.append(f"# TYPE {name} gauge")
    for labels, value in samples:
        text = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels)
        lines.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")


def render(report, desired=None, kernel_judged=True, timestamp=None):
    """The text of ``tradeops_tuning.prom`` for one verify ``report``.

    ``desired`` is the render the report was made from (its ``cpu.isolated`` gives
    ``tradeops_tuning_isolated_cpu``); ``kernel_judged`` is false in a container;
    ``timestamp`` is the Unix time of the verify (now when omitted).
    """
    if not isinstance(report, dict) or not isinstance(report.get("checks"), list):
        raise MetricsError("expected the report of tradeops.platform.tuning_verify")
    desired = desired or {}
    counts = dict.fromkeys(STATUSES, 0)
    check_ok = []
    pending = False
    for label, check in _labels(report["checks"]):
        status = check.get("status")
        if status not in STATUSES[:4]:
            raise MetricsError(f"check {label}: unknown status {status!r}")
        if not kernel_judged and check_scope(check) == KERNEL:
            counts["not_judged"] += 1
            continue
        counts[status] += 1
        if status in ("ok", "drift"):
            check_ok.append(((("check", label),), 1 if status == "ok" else 0))
        pending = pending or status == "reboot_pending"

    lines = []
    _family(lines, "tradeops_tuning_check_ok", sorted(check_ok))
    _family(lines, "tradeops_tuning_checks", [((("status", s),), counts[s]) for s in STATUSES])
    _family(lines, "tradeops_tuning_kernel_judged", [((), 1 if kernel_judged else 0)])
    if kernel_judged:
        _family(lines, "tradeops_tuning_reboot_pending", [((), 1 if pending else 0)])
        try:
            isolated = parse_cpulist((desired.get("cpu") or {}).get("isolated") or "")
        except CpuSetError as exc:
            raise MetricsError(f"desired cpu.isolated: {exc}") from exc
        if isolated:
            _family(
                lines,
                "tradeops_tuning_isolated_cpu",
                [((("cpu", str(cpu)),), 1) for cpu in sorted(isolated)],
            )
    profile = report.get("profile") or desired.get("name")
    if profile:
        _family(lines, "tradeops_tuning_profile_info", [((("profile", profile),), 1)])
    when = time.time() if timestamp is None else float(timestamp)
    _family(lines, TIMESTAMP_METRIC, [((), int(when))])
    return "\n".join(lines) + "\n"


def _meaning(text):
    """The lines of a textfile that say something about the host (not when it was said)."""
    return [
        line
        for line in (text or "").splitlines()
        if line.strip() and not line.startswith(TIMESTAMP_METRIC)
    ]


def changed(previous, new):
    """True when ``new`` differs from ``previous`` in more than the verify timestamp."""
    return previous is None or _meaning(previous) != _meaning(new)


def textfile(report, desired=None, kernel_judged=True, timestamp=None, previous=None):
    """``{text, differs, removed, added}``: the file, whether it says something new
    against ``previous`` (the file as it is on the host, '' or None when absent), and the
    sample lines that went and came (the verify output shows them, timestamp aside)."""
    text = render(report, desired, kernel_judged, timestamp)
    old, new = _meaning(previous), _meaning(text)
    return {
        "text": text,
        "differs": changed(previous, text),
        "removed": [line for line in old if line not in set(new) and not line.startswith("#")],
        "added": [line for line in new if line not in set(old) and not line.startswith("#")],
    }

# Copyright: tradeops engineers
# Apache License 2.0 (see galaxy.yml)
"""The declarative latency profile: validate against host facts, render, verify.

``profile`` is the ``engine_tuning_profile`` variable (documented field by field in
docs/tuning.md); ``facts`` is what ``tradeops.platform.engine_host_facts`` returns.

- :func:`validate` -> list of problem dicts ``{path, message, fix, severity}``
  (``severity`` is ``error`` or ``warning``; any error means: change nothing).
- :func:`render` -> the desired state: kernel argument tokens (ordered) and the keys
  they own, sysctls, systemd CPUAffinity, irqbalance / static IRQ placement, per-NIC
  ethtool settings, SR-IOV, hugepages, what needs a reboot and what is disruptive.
- :func:`verify` -> one report comparing a render with facts gathered afterwards.
"""

from __future__ import annotations

import copy
import math
import re

from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import (
    CpuSetError,
    format_cpulist,
    format_mask,
    parse_cpulist,
    parse_mask,
    sibling_groups,
    split_sibling_groups,
)
from ansible_collections.tradeops.platform.plugins.module_utils.host_parsers import (
    cmdline_key,
    kb_to_size,
    size_to_kb,
)

ERROR = "error"
WARNING = "warning"

ISOLCPUS_FLAGS = ("managed_irq", "domain", "nohz")
X86_HUGEPAGE_SIZES = ("2M", "1G")
# Per-node boot form hugepages=<node>:<count> (kernel-parameters.txt); older kernels get
# a boot-time total plus a per-node runtime allocation instead.
HUGEPAGES_NODE_FORM_MIN_KERNEL = (5, 16)
# EC2 types whose OS controls C-states (metal: C- and P-states); processor_state_control
# in the EC2 user guide. Virtual types not listed get neither.
EC2_CSTATE_ONLY = frozenset(
    (
        "c5.9xlarge",
        "c5.12xlarge",
        "c5.18xlarge",
        "c5.24xlarge",
        "c5d.9xlarge",
        "c5d.12xlarge",
        "c5d.18xlarge",
        "c5d.24xlarge",
        "c5n.9xlarge",
        "c5n.18xlarge",
        "c6i.32xlarge",
    )
)

# Kernel command-line keys this profile owns: a token with one of these keys that the
# render does not ask for is removed by the kernel-args owner (one owner, as a set).
OWNED_KERNEL_KEYS = (
    "isolcpus",
    "nohz_full",
    "nohz",
    "rcu_nocbs",
    "rcu_nocb_poll",
    "irqaffinity",
    "skew_tick",
    "tsc",
    "nosoftlockup",
    "nowatchdog",
    "intel_idle.max_cstate",
    "processor.max_cstate",
    "idle",
    "intel_pstate",
    "default_hugepagesz",
    "hugepagesz",
    "hugepages",
    "intel_iommu",
    "amd_iommu",
    "iommu",
    "transparent_hugepage",
    "mitigations",
    "audit",
)

DEFAULT_SYSCTLS = {
    "vm.stat_interval": "10",
    "kernel.numa_balancing": "0",
    "kernel.nmi_watchdog": "0",
    "kernel.timer_migration": "0",
    "kernel.hung_task_timeout_secs": "600",
    "vm.swappiness": "10",
    "vm.dirty_ratio": "10",
    "vm.dirty_background_ratio": "3",
}

DEFAULTS = {
    "name": None,
    "description": "",
    "cpu": {
        "housekeeping": None,
        "isolated": None,
        "nic_irq": None,
        "busy_poll": "",
        "isolcpus": True,
        "isolcpus_flags": ["managed_irq", "domain"],
        "nohz_full": True,
        "rcu_nocbs": True,
        "rcu_nocb_poll": False,
        "allow_split_siblings": False,
        "require_full_coverage": False,
    },
    "hugepages": {
        "default_size": None,
        "pages": [],
        "headroom_percent": 10,
        "headroom_min_mb": 2048,
        "mount": None,
    },
    "transparent_hugepages": "never",
    "power": {"max_cstate": 1, "governor": "performance", "idle_poll": False, "intel_pstate": None},
    "net": {"busy_read": 50, "busy_poll": 50},
    "nics": [],
    "sriov": [],
    "irq": {"owner": "irqbalance", "ignore": []},
    "sysctls": {},
    "clock": {"source": "ntp", "servers": [], "ptp_device": "/dev/ptp0", "ptp_interface": None},
    "kernel": {
        "tsc_reliable": True,
        "nosoftlockup": True,
        "nowatchdog": False,
        "skew_tick": True,
        "extra_args": [],
    },
    "unsafe": {"mitigations_off": False, "audit_off": False, "acknowledged": False, "reason": ""},
    "latency_gate": {"enabled": False, "tool": "cyclictest", "duration_s": 60, "max_us": 100},
}

NIC_DEFAULTS = {
    "match": {},
    "channels": {},
    "rings": {},
    "coalesce": {},
    "numa_policy": "strict",
    "persist": True,
    "ena": None,
}
ENA_DEFAULTS = {
    "min_driver_version": None,
    "large_llq_header": "auto",
    "express": False,
    "require_cluster_placement_group": False,
    "rx_copybreak": None,
}
SRIOV_DEFAULTS = {"pf": None, "numvfs": 0, "driver": None, "autoprobe": None, "vfs": []}
VF_DEFAULTS = {"index": None, "trust": None, "spoofchk": None, "vlan": None, "mac": None}

CHANNEL_KEYS = ("combined", "rx", "tx", "other")
RING_KEYS = ("rx", "tx", "rx_mini", "rx_jumbo")
COALESCE_KEYS = (
    "adaptive_rx",
    "adaptive_tx",
    "rx_usecs",
    "tx_usecs",
    "rx_frames",
    "tx_frames",
    "rx_usecs_irq",
    "tx_usecs_irq",
)


def problem(path, message, fix, severity=ERROR):
    return {"path": path, "message": message, "fix": fix, "severity": severity}


def errors(problems):
    return [p for p in problems if p["severity"] == ERROR]


# ------------------------------------------------------------------ normalisation


def _merge(defaults, given, path, problems):
    """Defaults overlaid with ``given``; unknown keys are errors (typos change nothing)."""
    out = copy.deepcopy(defaults)
    if given is None:
        return out
    if not isinstance(given, dict):
        problems.append(problem(path, "must be a mapping", f"write {path} as key: value pairs"))
        return out
    for key, value in given.items():
        sub = f"{path}.{key}" if path else key
        if key not in defaults:
            problems.append(
                problem(
                    sub,
                    f"unknown field {sub!r}",
                    f"remove it or use one of: {', '.join(sorted(defaults))}",
                )
            )
            continue
        if isinstance(defaults[key], dict) and defaults[key] and key not in ("sysctls",):
            out[key] = _merge(defaults[key], value, sub, problems)
        else:
            out[key] = copy.deepcopy(value)
    return out


def normalize(profile):
    """Profile with every default filled in -> ``(profile, problems)``."""
    problems = []
    norm = _merge(DEFAULTS, profile or {}, "", problems)
    nics = []
    for i, nic in enumerate(norm.get("nics") or []):
        entry = _merge(NIC_DEFAULTS, nic, f"nics[{i}]", problems)
        if entry.get("ena") is not None:
            entry["ena"] = _merge(ENA_DEFAULTS, entry["ena"], f"nics[{i}].ena", problems)
        nics.append(entry)
    norm["nics"] = nics
    sriov = []
    for i, pf in enumerate(norm.get("sriov") or []):
        entry = _merge(SRIOV_DEFAULTS, pf, f"sriov[{i}]", problems)
        entry["vfs"] = [
            _merge(VF_DEFAULTS, vf, f"sriov[{i}].vfs[{j}]", problems)
            for j, vf in enumerate(entry.get("vfs") or [])
        ]
        sriov.append(entry)
    norm["sriov"] = sriov
    if not isinstance(norm.get("sysctls"), dict):
        problems.append(problem("sysctls", "must be a mapping", "write sysctls as name: value"))
        norm["sysctls"] = {}
    return norm, problems


def _cpus(norm, key, problems, required=False):
    value = norm["cpu"].get(key)
    path = f"cpu.{key}"
    if value is None:
        if required:
            problems.append(problem(path, "is required", f'set {path} to a CPU list, e.g. "2-5"'))
        return frozenset()
    try:
        return parse_cpulist(value if not isinstance(value, int) else str(value))
    except CpuSetError as exc:
        problems.append(
            problem(path, f"is not a CPU list: {exc}", 'use kernel cpulist syntax, e.g. "0-3,8"')
        )
        return frozenset()


def cpu_sets(norm, problems=None):
    """Parsed CPU sets with derived defaults (nic_irq defaults to housekeeping)."""
    problems = [] if problems is None else problems
    hk = _cpus(norm, "housekeeping", problems, required=True)
    iso = _cpus(norm, "isolated", problems, required=True)
    nic_irq = _cpus(norm, "nic_irq", problems) if norm["cpu"].get("nic_irq") is not None else hk
    busy = _cpus(norm, "busy_poll", problems)
    return {"housekeeping": hk, "isolated": iso, "nic_irq": nic_irq, "busy_poll": busy}


# ------------------------------------------------------------------- NIC matching


def match_nics(match, facts):
    """Interface names in ``facts`` matching ``{name|driver|pci}`` (all given must match)."""
    out = []
    for name, nic in sorted((facts.get("nics") or {}).items()):
        if match.get("name") is not None and match["name"] != name:
            continue
        if match.get("driver") is not None and match["driver"] != nic.get("driver"):
            continue
        if match.get("pci") is not None and match["pci"] != nic.get("bus_info"):
            continue
        out.append(name)
    return out


def _resolve_pf(pf, facts):
    for name, nic in (facts.get("nics") or {}).items():
        if pf in (name, nic.get("bus_info")):
            return name
    return None


def _version_tuple(text):
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", str(text or ""))
    if not match:
        return None
    return tuple(int(g or 0) for g in match.groups())


def ena_driver_kind(version, kernel_release):
    """``"github"`` for amzn-drivers builds (``2.7.2g``), ``"in-tree"`` when ethtool
    reports the kernel release, else ``"unknown"``."""
    if not version:
        return "unknown"
    if kernel_release and version == kernel_release:
        return "in-tree"
    if re.match(r"^\d+\.\d+\.\d+[gGkK]?$", version):
        return "github"
    return "in-tree" if "-" in version else "unknown"


def _kernel_at_least(release, minimum):
    version = _version_tuple(release)
    return version is not None and version[:2] >= minimum


def _node_of_cpus(facts):
    out = {}
    for node, data in ((facts.get("numa") or {}).get("nodes") or {}).items():
        for cpu in parse_cpulist(data.get("cpus") or ""):
            out[cpu] = str(node)
    return out


def _ec2_type(facts):
    ec2 = facts.get("ec2") or {}
    return ec2.get("instance_type") if ec2.get("detected") else None


# ---------------------------------------------------------------------- validate


def validate(profile, facts):
    """All preflight problems of ``profile`` on the host described by ``facts``."""
    norm, problems = normalize(profile)
    if not isinstance(norm.get("name"), str) or not norm["name"]:
        problems.append(problem("name", "is required", "give the profile a name"))
    sets = cpu_sets(norm, problems)
    _validate_cpu(norm, sets, facts, problems)
    _validate_kernel_flags(norm, sets, facts, problems)
    _validate_hugepages(norm, facts, problems)
    _validate_power(norm, facts, problems)
    _validate_nics(norm, sets, facts, problems)
    _validate_sriov(norm, facts, problems)
    _validate_misc(norm, facts, problems)
    return problems


def _validate_cpu(norm, sets, facts, problems):
    hk, iso, nic_irq, busy = (sets[k] for k in ("housekeeping", "isolated", "nic_irq", "busy_poll"))
    cpu = norm["cpu"]
    online = parse_cpulist((facts.get("cpu") or {}).get("online") or "")
    if cpu.get("housekeeping") is not None and not hk:
        problems.append(
            problem("cpu.housekeeping", "is empty", "give at least CPU 0 (and its HT sibling)")
        )
    if cpu.get("isolated") is not None and not iso:
        problems.append(
            problem(
                "cpu.isolated",
                "is empty",
                "list the CPUs the engine runs on, or use a profile without isolation",
            )
        )
    for key, cpus in sets.items():
        missing = cpus - online
        if online and missing:
            problems.append(
                problem(
                    f"cpu.{key}",
                    f"CPUs {format_cpulist(missing)} are not online on this host "
                    f"(online: {format_cpulist(online)})",
                    "use CPUs the host has; check the profile matches the instance type",
                )
            )
    overlap = hk & iso
    if overlap:
        problems.append(
            problem(
                "cpu.isolated",
                f"overlaps cpu.housekeeping on CPUs {format_cpulist(overlap)}",
                "make housekeeping and isolated disjoint",
            )
        )
    if hk and 0 not in hk:
        problems.append(
            problem(
                "cpu.housekeeping",
                "does not include CPU 0 (the boot CPU cannot be nohz_full)",
                "add CPU 0 (and its hyperthread sibling) to housekeeping",
            )
        )
    if busy - iso:
        problems.append(
            problem(
                "cpu.busy_poll",
                f"CPUs {format_cpulist(busy - iso)} are not isolated",
                "busy-polling CPUs must be a subset of cpu.isolated",
            )
        )
    if nic_irq & busy:
        problems.append(
            problem(
                "cpu.nic_irq",
                f"CPUs {format_cpulist(nic_irq & busy)} both take NIC interrupts and busy-poll",
                "move NIC interrupts to housekeeping CPUs; a busy-polling thread starves NAPI "
                "on its own CPU (ENA resets)",
            )
        )
    elif nic_irq & iso and cpu["nohz_full"]:
        problems.append(
            problem(
                "cpu.nic_irq",
                f"CPUs {format_cpulist(nic_irq & iso)} are nohz_full but take NIC interrupts",
                "prefer housekeeping CPUs for NIC interrupts",
                WARNING,
            )
        )
    siblings = (facts.get("cpu") or {}).get("siblings") or []
    groups = sibling_groups({min(parse_cpulist(s)): s for s in siblings}) if siblings else []
    split = [g for g in split_sibling_groups(iso, groups) if g & hk]
    if split:
        problems.append(
            problem(
                "cpu.isolated",
                "hyperthread siblings split between housekeeping and isolated: "
                + "; ".join(format_cpulist(g) for g in split),
                "put both siblings of each core on the same side",
                WARNING if cpu["allow_split_siblings"] else ERROR,
            )
        )
    busy_split = split_sibling_groups(busy, groups) if busy else []
    if busy_split:
        problems.append(
            problem(
                "cpu.busy_poll",
                "busy-polling CPUs share cores with other work: "
                + "; ".join(format_cpulist(g) for g in busy_split),
                "busy-poll on whole cores, or accept the sibling's interference",
                WARNING,
            )
        )
    uncovered = online - hk - iso if online and hk and iso else frozenset()
    if uncovered:
        problems.append(
            problem(
                "cpu.housekeeping",
                f"CPUs {format_cpulist(uncovered)} are neither housekeeping nor isolated",
                "add them to one of the sets",
                ERROR if cpu["require_full_coverage"] else WARNING,
            )
        )
    flags = cpu.get("isolcpus_flags") or []
    bad = [f for f in flags if f not in ISOLCPUS_FLAGS]
    if bad or not isinstance(flags, list):
        problems.append(
            problem(
                "cpu.isolcpus_flags",
                f"unknown isolcpus flags {bad}",
                f"use a list of {', '.join(ISOLCPUS_FLAGS)}",
            )
        )


def _validate_kernel_flags(norm, sets, facts, problems):
    kernel = facts.get("kernel") or {}
    flags = kernel.get("flags") or {}
    needs = []
    if norm["cpu"]["nohz_full"]:
        needs.append(("cpu.nohz_full", "no_hz_full", "CONFIG_NO_HZ_FULL", "cpu.nohz_full: false"))
    if norm["cpu"]["rcu_nocbs"]:
        needs.append(
            ("cpu.rcu_nocbs", "rcu_nocb_cpu", "CONFIG_RCU_NOCB_CPU", "cpu.rcu_nocbs: false")
        )
    if norm["cpu"]["isolcpus"]:
        needs.append(
            ("cpu.isolcpus", "cpu_isolation", "CONFIG_CPU_ISOLATION", "cpu.isolcpus: false")
        )
    if norm["net"].get("busy_read") or norm["net"].get("busy_poll"):
        needs.append(
            ("net.busy_poll", "net_rx_busy_poll", "CONFIG_NET_RX_BUSY_POLL", "net.busy_poll: 0")
        )
    if not flags:
        if needs:
            problems.append(
                problem(
                    "kernel",
                    "the kernel build configuration was not found (/boot/config-*, "
                    "/proc/config.gz); kernel features cannot be checked",
                    "install the kernel's config file or accept the risk",
                    WARNING,
                )
            )
        return
    for path, flag, option, off in needs:
        if not flags.get(flag):
            problems.append(
                problem(
                    path,
                    f"the running kernel {kernel.get('release')} is built without {option}",
                    f"set {off}, or boot a kernel built with {option}=y",
                )
            )


def _validate_hugepages(norm, facts, problems):
    hp = norm["hugepages"]
    pages = hp.get("pages") or []
    sizes_host = (facts.get("hugepages") or {}).get("sizes") or list(X86_HUGEPAGE_SIZES)
    nodes = ((facts.get("numa") or {}).get("nodes")) or {}
    seen = set()
    per_node = {}
    sizes_used = set()
    for i, entry in enumerate(pages):
        path = f"hugepages.pages[{i}]"
        if not isinstance(entry, dict):
            problems.append(problem(path, "must be a mapping", "use {size, count, node}"))
            continue
        try:
            size = kb_to_size(size_to_kb(entry.get("size")))
        except (ValueError, TypeError):
            problems.append(
                problem(path + ".size", f"bad size {entry.get('size')!r}", "use 2M or 1G")
            )
            continue
        sizes_used.add(size)
        if size not in sizes_host:
            problems.append(
                problem(
                    path + ".size",
                    f"{size} pages are not supported here (host: {', '.join(sizes_host)})",
                    "use a supported size",
                )
            )
        if size == "1G" and not (facts.get("hugepages") or {}).get("supports_1g", True):
            problems.append(
                problem(
                    path + ".size",
                    "1G pages need the pdpe1gb CPU flag, which this host lacks",
                    "use 2M pages",
                )
            )
        count = entry.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            problems.append(problem(path + ".count", f"bad count {count!r}", "use an integer >= 0"))
            continue
        node = entry.get("node")
        if node is not None and str(node) not in nodes:
            problems.append(
                problem(
                    path + ".node",
                    f"NUMA node {node} does not exist (nodes: {', '.join(sorted(nodes)) or '-'})",
                    "use an existing node or omit node to split evenly",
                )
            )
            continue
        key = (size, None if node is None else str(node))
        if key in seen:
            problems.append(
                problem(path, f"duplicate entry for size {size} node {node}", "merge the entries")
            )
        seen.add(key)
        targets = [str(node)] if node is not None else sorted(nodes) or ["0"]
        share = math.ceil(count / len(targets)) if node is None else count
        for n in targets:
            per_node[n] = per_node.get(n, 0) + share * size_to_kb(size)
    if pages and not hp.get("default_size"):
        problems.append(
            problem("hugepages.default_size", "is required when pages are set", "set 2M or 1G")
        )
    elif hp.get("default_size"):
        try:
            default = kb_to_size(size_to_kb(hp["default_size"]))
            if sizes_used and default not in sizes_used:
                problems.append(
                    problem(
                        "hugepages.default_size",
                        f"{default} has no pages in hugepages.pages",
                        "reserve pages of the default size",
                    )
                )
        except (ValueError, TypeError):
            problems.append(problem("hugepages.default_size", "bad size", "use 2M or 1G"))
    pct = hp.get("headroom_percent") or 0
    floor_kb = (hp.get("headroom_min_mb") or 0) * 1024
    for node, need_kb in sorted(per_node.items()):
        total = (nodes.get(node) or {}).get("mem_total_kb")
        if not total:
            continue
        allowed = total - max(total * pct // 100, floor_kb)
        if need_kb > allowed:
            problems.append(
                problem(
                    "hugepages.pages",
                    f"node {node} needs {need_kb // 1024} MiB of hugepages but only "
                    f"{max(allowed, 0) // 1024} MiB fit (memory {total // 1024} MiB, headroom "
                    f"{pct}% / at least {floor_kb // 1024} MiB)",
                    "reserve fewer pages on that node",
                )
            )


def _validate_power(norm, facts, problems):
    power = norm["power"]
    etype = _ec2_type(facts)
    if etype and not etype.endswith(".metal") and ".metal-" not in etype:
        cstate = etype in EC2_CSTATE_ONLY
        if power.get("max_cstate") is not None and not cstate:
            problems.append(
                problem(
                    "power.max_cstate",
                    f"{etype} gives the OS no C-state control; the argument has no effect",
                    "use a metal instance or drop power.max_cstate",
                    WARNING,
                )
            )
        if power.get("intel_pstate") or power.get("governor") not in (None, "performance"):
            problems.append(
                problem(
                    "power.governor",
                    f"{etype} gives the OS no P-state control",
                    "only *.metal instances honour P-state settings",
                    WARNING,
                )
            )
        if power.get("idle_poll"):
            problems.append(
                problem(
                    "power.idle_poll",
                    "idle=poll on a virtual instance burns CPU credit with no C-state to avoid",
                    "drop idle_poll on virtual instances",
                    WARNING,
                )
            )
    if power.get("max_cstate") is not None and (
        not isinstance(power["max_cstate"], int) or power["max_cstate"] < 0
    ):
        problems.append(problem("power.max_cstate", "must be an integer >= 0", "use 0 or 1"))


def _validate_nics(norm, sets, facts, problems):
    node_of = _node_of_cpus(facts)
    nodes = ((facts.get("numa") or {}).get("nodes")) or {}
    release = (facts.get("kernel") or {}).get("release")
    for i, nic in enumerate(norm["nics"]):
        path = f"nics[{i}]"
        match = nic.get("match") or {}
        unknown = set(match) - {"name", "driver", "pci"}
        if not match or unknown:
            problems.append(
                problem(path + ".match", "needs name, driver and/or pci", "e.g. {driver: ena}")
            )
            continue
        names = match_nics(match, facts)
        if not names:
            problems.append(
                problem(
                    path + ".match",
                    f"no interface matches {match} (have: "
                    f"{', '.join(sorted(facts.get('nics') or {})) or 'none'})",
                    "fix the match or the inventory",
                )
            )
            continue
        for name in names:
            info = facts["nics"][name]
            _validate_nic_numa(nic, name, info, sets, node_of, nodes, path, problems)
            _validate_nic_limits(nic, name, info, path, problems)
            if nic.get("ena") is not None:
                _validate_ena(nic["ena"], name, info, release, facts, path, problems)


def _validate_nic_numa(nic, name, info, sets, node_of, nodes, path, problems):
    policy = nic.get("numa_policy", "strict")
    if policy == "ignore" or len(nodes) < 2:
        return
    numa = info.get("numa_node")
    if numa is None or numa < 0:
        problems.append(
            problem(
                path + ".numa_policy",
                f"{name} reports no NUMA node; locality cannot be checked",
                "check the platform, or set numa_policy: ignore",
                WARNING,
            )
        )
        return
    off = {c for c in sets["isolated"] if node_of.get(c) != str(numa)}
    if off:
        problems.append(
            problem(
                "cpu.isolated",
                f"CPUs {format_cpulist(off)} are off NUMA node {numa} of {name}",
                f"isolate CPUs of node {numa} ({nodes[str(numa)]['cpus']}) or set "
                f"{path}.numa_policy: warn",
                ERROR if policy == "strict" else WARNING,
            )
        )
    irq_off = {c for c in sets["nic_irq"] if node_of.get(c) != str(numa)}
    if irq_off:
        problems.append(
            problem(
                "cpu.nic_irq",
                f"CPUs {format_cpulist(irq_off)} take {name} interrupts from another NUMA node",
                f"use CPUs of node {numa}",
                WARNING,
            )
        )


def _validate_nic_limits(nic, name, info, path, problems):
    for group, keys, fact_key in (
        ("channels", CHANNEL_KEYS, "channels"),
        ("rings", RING_KEYS, "rings"),
    ):
        wanted = nic.get(group) or {}
        limits = ((info.get(fact_key) or {}).get("max")) or {}
        for key, value in wanted.items():
            p = f"{path}.{group}.{key}"
            if key not in keys:
                problems.append(problem(p, f"unknown key {key!r}", f"use {', '.join(keys)}"))
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(problem(p, f"bad value {value!r}", "use an integer >= 1"))
                continue
            maximum = limits.get(key)
            if info.get(fact_key) is None:
                problems.append(
                    problem(p, f"{name} does not report {group} (ethtool)", "check ethtool")
                )
            elif not maximum:
                problems.append(
                    problem(p, f"{name} ({info.get('driver')}) cannot set {group} {key}", "drop it")
                )
            elif value > maximum:
                problems.append(
                    problem(
                        p,
                        f"{value} exceeds the maximum {maximum} of {name}",
                        f"use at most {maximum}",
                    )
                )
            elif group == "rings" and info.get("driver") == "ena" and value & (value - 1):
                problems.append(
                    problem(p, f"ENA rings must be powers of 2, got {value}", "use 256..16384")
                )
    coalesce = nic.get("coalesce") or {}
    current = info.get("coalesce")
    for key, value in coalesce.items():
        p = f"{path}.coalesce.{key}"
        if key not in COALESCE_KEYS:
            problems.append(problem(p, f"unknown key {key!r}", f"use {', '.join(COALESCE_KEYS)}"))
        elif current is not None and current.get(key) is None:
            problems.append(
                problem(p, f"{name} ({info.get('driver')}) does not support {key}", "drop it")
            )
        elif key.startswith("adaptive") and not isinstance(value, bool):
            problems.append(problem(p, "must be true or false", "use a boolean"))


def _validate_ena(ena, name, info, release, facts, path, problems):
    p = path + ".ena"
    if info.get("driver") != "ena":
        problems.append(
            problem(p, f"{name} uses driver {info.get('driver')}, not ena", "drop the ena section")
        )
        return
    floor = ena.get("min_driver_version")
    version = info.get("version")
    kind = ena_driver_kind(version, release)
    if floor:
        if kind == "github":
            if _version_tuple(version) < (_version_tuple(floor) or (0,)):
                problems.append(
                    problem(
                        p + ".min_driver_version",
                        f"{name} runs ENA {version}, older than {floor}",
                        f"install ENA >= {floor} (amzn-drivers, via DKMS)",
                    )
                )
        else:
            problems.append(
                problem(
                    p + ".min_driver_version",
                    f"{name} runs the {kind} ENA driver ({version}); its version follows the "
                    "kernel and cannot be compared with min_driver_version",
                    "pin the kernel, or install the amzn-drivers build",
                    WARNING,
                )
            )
    if ena.get("large_llq_header") not in ("auto", "on", "off"):
        problems.append(problem(p + ".large_llq_header", "must be auto, on or off", "use auto"))
    if ena.get("express"):
        problems.append(
            problem(
                p + ".express",
                "ENA Express adds tens of microseconds to median latency at light load",
                "keep it off for order and market-data paths unless measured",
                WARNING,
            )
        )
    if ena.get("require_cluster_placement_group"):
        ec2 = facts.get("ec2") or {}
        if not ec2.get("queried"):
            problems.append(
                problem(
                    p + ".require_cluster_placement_group",
                    "the placement group could not be read (IMDS not queried)",
                    "run engine_host_facts with ec2_metadata: auto on EC2",
                    WARNING,
                )
            )
        elif not ec2.get("placement_group"):
            problems.append(
                problem(
                    p + ".require_cluster_placement_group",
                    "the instance is not in a placement group",
                    "launch it in a cluster placement group (aws_fleet role)",
                )
            )


def _validate_sriov(norm, facts, problems):
    iommu = facts.get("iommu") or {}
    kflags = (facts.get("kernel") or {}).get("flags") or {}
    for i, pf in enumerate(norm["sriov"]):
        path = f"sriov[{i}]"
        name = _resolve_pf(pf.get("pf"), facts) if pf.get("pf") else None
        if not name:
            problems.append(
                problem(path + ".pf", f"no interface or PCI address {pf.get('pf')!r}", "fix pf")
            )
            continue
        sriov = facts["nics"][name].get("sriov")
        numvfs = pf.get("numvfs")
        if not sriov:
            problems.append(
                problem(path + ".pf", f"{name} does not support SR-IOV", "pick an SR-IOV PF")
            )
            continue
        if not isinstance(numvfs, int) or isinstance(numvfs, bool) or numvfs < 0:
            problems.append(problem(path + ".numvfs", f"bad value {numvfs!r}", "use an integer"))
            continue
        if numvfs > sriov["totalvfs"]:
            problems.append(
                problem(
                    path + ".numvfs",
                    f"{numvfs} VFs exceed sriov_totalvfs {sriov['totalvfs']} of {name}",
                    f"use at most {sriov['totalvfs']}",
                )
            )
        if pf.get("driver") == "vfio-pci":
            if not iommu.get("hardware"):
                problems.append(
                    problem(
                        path + ".driver",
                        "vfio-pci needs an IOMMU, and this host has none (no DMAR/IVRS)",
                        "enable VT-d/AMD-Vi in firmware or use the kernel VF driver",
                    )
                )
            if kflags and not kflags.get("vfio_pci"):
                problems.append(
                    problem(path + ".driver", "the kernel lacks CONFIG_VFIO_PCI", "use another")
                )
            if not norm["hugepages"].get("pages"):
                problems.append(
                    problem(
                        path + ".driver",
                        "vfio-pci (DPDK) users need hugepages and none are reserved",
                        "add hugepages.pages",
                        WARNING,
                    )
                )
        for j, vf in enumerate(pf.get("vfs") or []):
            idx = vf.get("index")
            if not isinstance(idx, int) or idx < 0 or idx >= (numvfs or 0):
                problems.append(
                    problem(
                        f"{path}.vfs[{j}].index",
                        f"VF index {idx!r} is outside 0..{(numvfs or 0) - 1}",
                        "use an index below numvfs",
                    )
                )
            vlan = vf.get("vlan")
            if vlan is not None and (not isinstance(vlan, int) or not 0 <= vlan <= 4095):
                problems.append(problem(f"{path}.vfs[{j}].vlan", "bad VLAN", "use 0..4095"))


def _validate_misc(norm, facts, problems):
    unsafe = norm["unsafe"]
    wanted = [k for k in ("mitigations_off", "audit_off") if unsafe.get(k)]
    if wanted and not (unsafe.get("acknowledged") is True and str(unsafe.get("reason")).strip()):
        problems.append(
            problem(
                "unsafe.acknowledged",
                f"{', '.join('unsafe.' + k for k in wanted)} requested without acknowledgement",
                "set unsafe.acknowledged: true and unsafe.reason: <who and why>, or drop them",
            )
        )
    irq = norm["irq"]
    if irq.get("owner") not in ("irqbalance", "static"):
        problems.append(problem("irq.owner", "must be irqbalance or static", "pick one owner"))
    if norm["transparent_hugepages"] not in ("never", "madvise", "always"):
        problems.append(
            problem("transparent_hugepages", "must be never, madvise or always", "use never")
        )
    clock = norm["clock"]
    source = clock.get("source")
    if source not in ("amazon_time_sync", "ptp", "ntp"):
        problems.append(problem("clock.source", "must be amazon_time_sync, ptp or ntp", "pick one"))
    elif source == "amazon_time_sync" and not (facts.get("ec2") or {}).get("detected"):
        problems.append(
            problem(
                "clock.source",
                "the Amazon Time Sync Service is only reachable from EC2",
                "use ntp or ptp on this host",
            )
        )
    elif source == "ptp" and clock.get("ptp_device") not in (facts.get("ptp_devices") or []):
        problems.append(
            problem(
                "clock.ptp_device",
                f"{clock.get('ptp_device')} does not exist on this host",
                "use a PTP hardware clock the host has, or another source",
            )
        )
    elif source == "ntp" and not clock.get("servers"):
        problems.append(problem("clock.servers", "ntp needs servers", "list NTP servers"))
    for key, value in (norm.get("sysctls") or {}).items():
        if not re.match(r"^[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+$", str(key)):
            problems.append(problem(f"sysctls.{key}", "is not a sysctl name", "e.g. vm.swappiness"))
        elif value is not None and not isinstance(value, (str, int)):
            problems.append(problem(f"sysctls.{key}", "must be a string or number", "quote it"))
    for i, arg in enumerate(norm["kernel"].get("extra_args") or []):
        if not isinstance(arg, str) or not arg or " " in arg:
            problems.append(
                problem(f"kernel.extra_args[{i}]", "must be one token", "one argument per item")
            )
        elif cmdline_key(arg) in ("mitigations", "audit"):
            problems.append(
                problem(
                    f"kernel.extra_args[{i}]",
                    f"{arg} bypasses the unsafe acknowledgement",
                    "use unsafe.mitigations_off / unsafe.audit_off",
                )
            )


# ------------------------------------------------------------------------- render


def _hugepage_plan(norm, facts):
    """-> (per_node {node: {size: n}}, totals {size: n}, node_form bool)."""
    nodes = sorted(((facts.get("numa") or {}).get("nodes") or {"0": {}}).keys())
    per_node = {}
    totals = {}
    for entry in norm["hugepages"].get("pages") or []:
        size = kb_to_size(size_to_kb(entry["size"]))
        count = entry["count"]
        if entry.get("node") is not None:
            targets = {str(entry["node"]): count}
        else:
            base, extra = divmod(count, len(nodes))
            targets = {n: base + (1 if i < extra else 0) for i, n in enumerate(nodes)}
        for node, n in targets.items():
            per_node.setdefault(node, {})
            per_node[node][size] = per_node[node].get(size, 0) + n
        totals[size] = totals.get(size, 0) + count
    release = (facts.get("kernel") or {}).get("release")
    node_form = _kernel_at_least(release, HUGEPAGES_NODE_FORM_MIN_KERNEL) and len(nodes) > 1
    return per_node, totals, node_form


def render(profile, facts):
    """Desired state of ``profile`` on the host of ``facts`` (validate first)."""
    norm, _problems = normalize(profile)
    sets = cpu_sets(norm)
    hk, iso, nic_irq, busy = (sets[k] for k in ("housekeeping", "isolated", "nic_irq", "busy_poll"))
    cpu = norm["cpu"]
    possible = (facts.get("cpu") or {}).get("count") or (max(hk | iso) + 1 if hk | iso else 1)
    irq_cpus = (hk | nic_irq) - busy
    args = []
    if cpu["isolcpus"] and iso:
        flags = [f for f in ISOLCPUS_FLAGS if f in (cpu.get("isolcpus_flags") or [])]
        args.append("isolcpus=" + ",".join([*flags, format_cpulist(iso)]))
    if cpu["nohz_full"] and iso:
        args.append("nohz_full=" + format_cpulist(iso))
    if cpu["rcu_nocbs"] and iso:
        args.append("rcu_nocbs=" + format_cpulist(iso))
        if cpu["rcu_nocb_poll"]:
            args.append("rcu_nocb_poll")
    if irq_cpus:
        args.append("irqaffinity=" + format_cpulist(irq_cpus))
    kernel = norm["kernel"]
    if kernel["skew_tick"]:
        args.append("skew_tick=1")
    if kernel["tsc_reliable"]:
        args.append("tsc=reliable")
    if kernel["nosoftlockup"]:
        args.append("nosoftlockup")
    if kernel["nowatchdog"]:
        args.append("nowatchdog")
    power = norm["power"]
    if power.get("max_cstate") is not None:
        args.append(f"intel_idle.max_cstate={power['max_cstate']}")
        args.append(f"processor.max_cstate={power['max_cstate']}")
    if power.get("idle_poll"):
        args.append("idle=poll")
    if power.get("intel_pstate"):
        args.append(f"intel_pstate={power['intel_pstate']}")
    per_node, totals, node_form = _hugepage_plan(norm, facts)
    runtime_pages = {}
    if totals:
        # validate() rejects a missing default; render stays total for previews
        default = kb_to_size(
            size_to_kb(norm["hugepages"].get("default_size") or min(totals, key=size_to_kb))
        )
        args.append(f"default_hugepagesz={default}")
        for size in sorted(totals, key=size_to_kb):
            args.append(f"hugepagesz={size}")
            if node_form:
                counts = ",".join(
                    f"{node}:{per_node[node].get(size, 0)}"
                    for node in sorted(per_node)
                    if per_node[node].get(size, 0)
                )
                args.append(f"hugepages={counts}")
            else:
                args.append(f"hugepages={totals[size]}")
                host_nodes = sorted(((facts.get("numa") or {}).get("nodes") or {}).keys())
                if len(host_nodes) > 1:
                    # the boot total lands round-robin; the role moves it per node at runtime
                    runtime_pages[size] = {n: per_node.get(n, {}).get(size, 0) for n in host_nodes}
    vfio = any(pf.get("driver") == "vfio-pci" for pf in norm["sriov"])
    if vfio:
        vendor = (facts.get("cpu") or {}).get("vendor") or "GenuineIntel"
        args.append("amd_iommu=on" if vendor == "AuthenticAMD" else "intel_iommu=on")
        args.append("iommu=pt")
    args.append(f"transparent_hugepage={norm['transparent_hugepages']}")
    unsafe = norm["unsafe"]
    unsafe_on = []
    if unsafe.get("acknowledged") is True and str(unsafe.get("reason")).strip():
        if unsafe.get("mitigations_off"):
            unsafe_on.append("mitigations=off")
        if unsafe.get("audit_off"):
            unsafe_on.append("audit=0")
    args.extend(unsafe_on)
    args.extend(kernel.get("extra_args") or [])
    owned = sorted(set(OWNED_KERNEL_KEYS) | {cmdline_key(a) for a in args})

    sysctls = dict(DEFAULT_SYSCTLS)
    net = norm["net"]
    sysctls["net.core.busy_read"] = str(net.get("busy_read") or 0)
    sysctls["net.core.busy_poll"] = str(net.get("busy_poll") or 0)
    for key, value in (norm.get("sysctls") or {}).items():
        if value is None:
            sysctls.pop(key, None)
        else:
            sysctls[key] = str(value)

    irq_owner = norm["irq"].get("owner")
    banned = iso | busy
    irqbalance = {"enabled": irq_owner == "irqbalance"}
    if irq_owner == "irqbalance":
        irqbalance.update(
            {
                "banned_cpulist": format_cpulist(banned),
                # both spellings: CPULIST for irqbalance >= 1.8, the mask for older ones
                "environment": {
                    "IRQBALANCE_BANNED_CPULIST": format_cpulist(banned),
                    "IRQBALANCE_BANNED_CPUS": format_mask(banned, possible),
                },
            }
        )

    nics, disruptive, modprobe = _render_nics(norm, facts, nic_irq)
    sriov = []
    for pf in norm["sriov"]:
        name = _resolve_pf(pf["pf"], facts) or pf["pf"]
        info = (facts.get("nics") or {}).get(name) or {}
        sriov.append(
            {
                "pf": name,
                "pci": info.get("bus_info"),
                "numvfs": pf["numvfs"],
                "driver": pf.get("driver"),
                "autoprobe": pf["autoprobe"]
                if pf.get("autoprobe") is not None
                else pf.get("driver") != "vfio-pci",
                "vfs": pf.get("vfs") or [],
            }
        )
        disruptive.append(f"sriov.{name}.numvfs")

    clock = dict(norm["clock"])
    if clock["source"] == "amazon_time_sync":
        clock["servers"] = ["169.254.169.123"]
    reboot = ["kernel_args"] + (["modprobe"] if modprobe else [])
    return {
        "name": norm.get("name"),
        "cpu": {
            "housekeeping": format_cpulist(hk),
            "isolated": format_cpulist(iso),
            "nic_irq": format_cpulist(nic_irq),
            "busy_poll": format_cpulist(busy),
            "irq_allowed": format_cpulist(irq_cpus),
            "isolcpus": bool(cpu["isolcpus"] and iso),
            "nohz_full": bool(cpu["nohz_full"] and iso),
        },
        "kernel_args": args,
        "kernel_arg_keys": owned,
        "sysctls": sysctls,
        "systemd": {"cpu_affinity": format_cpulist(hk)},
        "workqueue_cpumask": format_mask(hk, possible),
        "irq": {
            "owner": irq_owner,
            "default_smp_affinity": format_mask(irq_cpus, possible),
            "allowed": format_cpulist(irq_cpus),
            "nic_queue_cpus": format_cpulist(nic_irq),
            "ignore": list(norm["irq"].get("ignore") or []),
        },
        "irqbalance": irqbalance,
        "thp": norm["transparent_hugepages"],
        "power": {
            "governor": power.get("governor"),
            "max_cstate": power.get("max_cstate"),
            "idle_poll": bool(power.get("idle_poll")),
        },
        "hugepages": {
            "default_size": norm["hugepages"].get("default_size"),
            "per_node": per_node,
            "totals": totals,
            "boot_node_form": node_form,
            "runtime_per_node": runtime_pages,
            "mount": norm["hugepages"].get("mount"),
        },
        "nics": nics,
        "modprobe": modprobe,
        "sriov": sriov,
        "clock": clock,
        "unsafe": unsafe_on,
        "reboot_required_for": reboot,
        "live": ["sysctls", "thp", "irq", "irqbalance", "nics", "sriov", "hugepages.runtime"],
        "disruptive": disruptive,
    }


def _ethtool_args(flag, ifname, values):
    out = [flag, ifname]
    for key, value in values.items():
        if isinstance(value, bool):
            value = "on" if value else "off"
        out += [key.replace("_", "-"), str(value)]
    return out


def _render_nics(norm, facts, nic_irq):
    out = []
    disruptive = []
    modprobe = {}
    for nic in norm["nics"]:
        for name in match_nics(nic.get("match") or {}, facts):
            info = facts["nics"][name]
            entry = {
                "interface": name,
                "driver": info.get("driver"),
                "bus_info": info.get("bus_info"),
                "channels": dict(nic.get("channels") or {}),
                "rings": dict(nic.get("rings") or {}),
                "coalesce": dict(nic.get("coalesce") or {}),
                "irq_cpus": format_cpulist(nic_irq),
                "persist": bool(nic.get("persist", True)),
                "ethtool": [],
            }
            if entry["channels"]:
                entry["ethtool"].append(_ethtool_args("-L", name, entry["channels"]))
                disruptive.append(f"nics.{name}.channels")
            if entry["rings"]:
                entry["ethtool"].append(_ethtool_args("-G", name, entry["rings"]))
                disruptive.append(f"nics.{name}.rings")
            if entry["coalesce"]:
                entry["ethtool"].append(_ethtool_args("-C", name, entry["coalesce"]))
            ena = nic.get("ena")
            if ena and info.get("driver") == "ena":
                entry["ena"] = dict(ena)
                if ena.get("large_llq_header") in ("on", "off"):
                    modprobe["ena"] = {
                        "force_large_llq_header": 1 if ena["large_llq_header"] == "on" else 0
                    }
                if ena.get("rx_copybreak") is not None:
                    entry["ethtool"].append(
                        ["--set-tunable", name, "rx-copybreak", str(ena["rx_copybreak"])]
                    )
            out.append(entry)
    return out, disruptive, modprobe


# ------------------------------------------------------------------------- verify

OK = "ok"
DRIFT = "drift"
PENDING = "reboot_pending"
UNKNOWN = "unknown"


def _check(checks, name, path, desired, actual, status, message=""):
    checks.append(
        {
            "name": name,
            "path": path,
            "desired": desired,
            "actual": actual,
            "status": status,
            "message": message,
        }
    )


def verify(desired, facts):
    """Compare a :func:`render` result with freshly gathered ``facts``.

    Command-line tokens are compared as a set: a missing token (or a stale token with an
    owned key) means the new command line is written but not booted — ``reboot_pending``,
    not drift. Runtime state that differs is ``drift``.
    """
    checks = []
    tokens = set((facts.get("cmdline") or {}).get("tokens") or [])
    want = list(desired.get("kernel_args") or [])
    owned = set(desired.get("kernel_arg_keys") or [])
    missing = [t for t in want if t not in tokens]
    stale = sorted(t for t in tokens if cmdline_key(t) in owned and t not in set(want))
    _check(
        checks,
        "kernel_cmdline",
        "kernel_args",
        want,
        sorted(tokens),
        PENDING if missing or stale else OK,
        (f"not yet booted: {' '.join(missing)}" if missing else "")
        + (f"; still booted: {' '.join(stale)}" if stale else ""),
    )
    booted = set(want) - set(missing)
    cpu = desired.get("cpu") or {}
    fcpu = facts.get("cpu") or {}
    for key, enabled, prefix in (
        ("isolated", cpu.get("isolcpus"), "isolcpus="),
        ("nohz_full", cpu.get("nohz_full"), "nohz_full="),
    ):
        if not enabled:
            continue
        want_set = parse_cpulist(cpu.get("isolated") or "")
        have = parse_cpulist(fcpu.get(key) or "")
        token_booted = any(t.startswith(prefix) for t in booted)
        status = OK if have == want_set else (DRIFT if token_booted else PENDING)
        _check(
            checks,
            f"cpu_{key}",
            f"cpu.{key}",
            format_cpulist(want_set),
            format_cpulist(have),
            status,
            "" if status == OK else f"/sys/devices/system/cpu/{key} differs",
        )
    _verify_irqs(desired, facts, checks)
    _verify_hugepages(desired, facts, checks, booted)
    for key, value in sorted((desired.get("sysctls") or {}).items()):
        actual = (facts.get("sysctls") or {}).get(key)
        status = UNKNOWN if actual is None else (OK if str(actual) == str(value) else DRIFT)
        _check(checks, f"sysctl {key}", f"sysctls.{key}", str(value), actual, status)
    if desired.get("thp"):
        actual = facts.get("thp")
        _check(
            checks,
            "thp",
            "transparent_hugepages",
            desired["thp"],
            actual,
            OK if actual == desired["thp"] else DRIFT,
        )
    _verify_nics(desired, facts, checks)
    for pf in desired.get("sriov") or []:
        info = (facts.get("nics") or {}).get(pf["pf"]) or {}
        actual = (info.get("sriov") or {}).get("numvfs")
        status = UNKNOWN if actual is None else (OK if actual == pf["numvfs"] else DRIFT)
        _check(checks, f"sriov {pf['pf']}", "sriov", pf["numvfs"], actual, status)
    counts = {}
    for c in checks:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    drift = counts.get(DRIFT, 0) > 0
    pending = counts.get(PENDING, 0) > 0
    return {
        "profile": desired.get("name"),
        "status": DRIFT if drift else (PENDING if pending else OK),
        "drift": drift,
        "reboot_required": pending,
        "counts": counts,
        "checks": checks,
    }


def _verify_irqs(desired, facts, checks):
    irq = desired.get("irq") or {}
    allowed = parse_cpulist(irq.get("allowed") or "")
    nic_cpus = parse_cpulist(irq.get("nic_queue_cpus") or "")
    ignore = [re.compile(p) for p in irq.get("ignore") or []]
    firq = facts.get("irq") or {}
    if not allowed or not firq:
        return
    default = firq.get("default_smp_affinity")
    if default:
        have = parse_mask(default)
        _check(
            checks,
            "irq_default_affinity",
            "cpu.housekeeping",
            format_cpulist(allowed),
            format_cpulist(have),
            OK if have <= allowed else DRIFT,
        )
    queue_names = {n["interface"] for n in desired.get("nics") or []}
    offenders = {}
    nic_offenders = {}
    for number, entry in sorted((firq.get("irqs") or {}).items(), key=lambda kv: int(kv[0])):
        name = entry.get("name") or ""
        if any(p.search(name) for p in ignore):
            continue
        eff = parse_cpulist(entry.get("effective_affinity_list") or "")
        if not eff:
            continue
        is_queue = any(
            re.search(rf"(^|-){re.escape(n)}-(Tx-Rx|TxRx|rx|tx)-\d+$", name) for n in queue_names
        )
        if is_queue and not eff <= nic_cpus:
            nic_offenders[number] = f"{name}@{format_cpulist(eff)}"
        elif not is_queue and not eff <= allowed:
            offenders[number] = f"{name}@{format_cpulist(eff)}"
    _check(
        checks,
        "irq_affinity",
        "irq",
        format_cpulist(allowed),
        offenders or {},
        DRIFT if offenders else OK,
        f"{len(offenders)} IRQs outside the allowed CPUs" if offenders else "",
    )
    if queue_names:
        _check(
            checks,
            "nic_irq_affinity",
            "cpu.nic_irq",
            format_cpulist(nic_cpus),
            nic_offenders or {},
            DRIFT if nic_offenders else OK,
            f"{len(nic_offenders)} NIC queue IRQs off cpu.nic_irq" if nic_offenders else "",
        )


def _verify_hugepages(desired, facts, checks, booted):
    hp = desired.get("hugepages") or {}
    nodes = (facts.get("numa") or {}).get("nodes") or {}
    boot_ok = any(t.startswith("hugepages=") for t in booted)
    for node, sizes in sorted((hp.get("per_node") or {}).items()):
        for size, want in sorted(sizes.items()):
            have = ((nodes.get(node) or {}).get("hugepages") or {}).get(size, {}).get("nr")
            if have is None:
                status = UNKNOWN
            elif have == want:
                status = OK
            else:
                status = DRIFT if boot_ok or size != "1G" else PENDING
            _check(checks, f"hugepages node{node} {size}", "hugepages.pages", want, have, status)


def _verify_nics(desired, facts, checks):
    for nic in desired.get("nics") or []:
        name = nic["interface"]
        info = (facts.get("nics") or {}).get(name)
        if info is None:
            _check(checks, f"nic {name}", "nics", "present", None, DRIFT, "interface missing")
            continue
        for group in ("channels", "rings"):
            current = ((info.get(group) or {}).get("current")) or {}
            for key, want in sorted((nic.get(group) or {}).items()):
                have = current.get(key)
                _check(
                    checks,
                    f"nic {name} {group}.{key}",
                    f"nics.{group}.{key}",
                    want,
                    have,
                    UNKNOWN if have is None else (OK if have == want else DRIFT),
                )
        current = info.get("coalesce") or {}
        for key, want in sorted((nic.get("coalesce") or {}).items()):
            have = current.get(key)
            _check(
                checks,
                f"nic {name} coalesce.{key}",
                f"nics.coalesce.{key}",
                want,
                have,
                UNKNOWN if have is None else (OK if have == want else DRIFT),
            )

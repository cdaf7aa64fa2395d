# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where and how the engine runs (roles/engine_deploy/tasks/preflight.yml): what the tuning
profile asks for, narrowed to what the host can grant.

Called through the filter engine_placement. The result is the role's placement: the unit
(engine.service.j2), the engine's placement.json and the preflight's summary read it.
"""

from __future__ import annotations

from ansible_collections.tradeops.platform.plugins.module_utils.plain import as_int

REALTIME_POLICIES = ("fifo", "rr")


def probe_values(lines):
    """The preflight probe's `key=value` lines -> {key: value} (a line without "=" is its
    own key and value; the last line of a key wins)."""
    out = {}
    for line in lines or []:
        key, sep, value = str(line).partition("=")
        out[key] = value if sep else key
    return out


def bounding_set(capbnd, cap_bits):
    """PID 1's CapBnd (hex) -> {capability: in the set}, for the capabilities of
    `cap_bits` ({name: 1 << bit})."""
    mask = as_int(capbnd, base=16)
    return {name: (mask // int(bit)) % 2 == 1 for name, bit in cap_bits.items()}


def nic_numa_node(tuning, host):
    """The NUMA node of the profile's NICs when they all report the same one, else None.

    A NIC the host facts do not know, or that reports -1, has no node. Node 0 counts as no
    node too: the rule as the role's Jinja had it (numa_node | default(-1, true))."""
    nics = (host or {}).get("nics") or {}
    nodes = []
    for nic in tuning.get("nics") or []:
        info = nics.get(nic["interface"])
        node = info.get("numa_node", -1) if isinstance(info, dict) else -1
        node = node or -1
        if node >= 0 and node not in nodes:
            nodes.append(node)
    return nodes[0] if len(nodes) == 1 else None


def placement(
    probe_lines,
    tuning,
    host,
    cap_bits,
    sched_policy,
    sched_priority,
    capabilities,
    mlockall,
):
    """The engine's placement.

    probe_lines: the stdout lines of the preflight probe (capbnd=<hex>, rt=ok|<error>,
    hugepages=<reserved pages of the profile's size>); tuning: the rendered tuning profile
    (tuning_render); host: engine_host_facts' engine_host; cap_bits: {capability: mask};
    the rest: the role's engine_deploy_* settings.

    Returns {cpu_affinity, numa_node, profile} (what the profile asks for), {sched_policy,
    sched_priority, capabilities, memlock, hugepages, hugepage_size} (what the host grants)
    and left_out (why each refusal, for the unit, placement.json and the preflight)."""
    probed = probe_values(probe_lines)
    has = bounding_set(probed.get("capbnd", "0"), cap_bits)
    granted = [name for name, present in has.items() if present]
    page_size = (tuning.get("hugepages") or {}).get("default_size")
    realtime = sched_policy in REALTIME_POLICIES
    rt_ok = not realtime or probed.get("rt", "") == "ok"
    memlock_ok = has.get("CAP_IPC_LOCK", False) or has.get("CAP_SYS_RESOURCE", False)
    admin = has.get("CAP_SYS_ADMIN", False)
    pages = as_int(probed.get("hugepages", "0")) if page_size else 0
    hugepages_ok = bool(page_size) and pages > 0 and admin

    left_out = []
    if not rt_ok:
        left_out.append(
            f"real-time scheduling ({sched_policy}): "
            f"{probed.get('rt', 'not permitted')} - running SCHED_OTHER"
        )
    left_out.extend(
        f"capability {name}: not in the bounding set of PID 1 (unprivileged container?)"
        for name in capabilities
        if name not in granted
    )
    if mlockall and not memlock_ok:
        left_out.append(
            "memory locking: neither CAP_IPC_LOCK nor CAP_SYS_RESOURCE can be granted: "
            "mlockall is bound by the host RLIMIT_MEMLOCK"
        )
    if page_size and not hugepages_ok:
        left_out.append(
            f"hugepages: {pages} x {page_size} pages reserved, CAP_SYS_ADMIN (to mount "
            f"hugetlbfs) {'present' if admin else 'absent'} - no hugetlbfs buffer"
        )
    return {
        "cpu_affinity": tuning["cpu"]["isolated"],
        "numa_node": nic_numa_node(tuning, host),
        "profile": tuning.get("name"),
        "sched_policy": sched_policy if rt_ok else "other",
        "sched_priority": sched_priority if rt_ok and realtime else 0,
        "capabilities": [name for name in capabilities if name in granted],
        "memlock": mlockall and memlock_ok,
        "hugepages": hugepages_ok,
        "hugepage_size": page_size,
        "left_out": left_out,
    }

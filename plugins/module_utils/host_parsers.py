# Copyright: tradeops engineers
# Apache License 2.0 (see galaxy.yml)
"""Parsers for what a Linux host prints about itself.

Each function takes the text of one command output or one file and returns plain
data (dicts, lists, ints, strings). No I/O here: the callers (engine_host_facts,
the unit tests) read the text. Every parser is tested on recorded real outputs under
tests/unit/fixtures/hosts/.
"""

from __future__ import annotations

import json
import re
import shlex

# ---------------------------------------------------------------------------- lscpu


def parse_lscpu(text):
    """``lscpu`` (human format, old flat or new indented) -> ``{field: value}``.

    Field names keep lscpu's spelling without the colon (``"CPU(s)"``,
    ``"NUMA node0 CPU(s)"``, ``"Flags"``). Continuation lines of a wrapped value
    (newer util-linux wraps Flags) are joined with a space.
    """
    out = {}
    last = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        match = re.match(r"^\s*([^:]+?):\s*(.*)$", raw)
        if match:
            key, value = match.group(1).strip(), match.group(2).strip()
            if key in out and value == "":
                continue
            out[key] = value
            last = key
        elif last is not None:
            out[last] = (out[last] + " " + raw.strip()).strip()
    return out


def lscpu_summary(fields):
    """Normalise the fields of :func:`parse_lscpu` (or lscpu -J) into topology data."""

    def as_int(key):
        value = fields.get(key)
        try:
            return int(str(value).split()[0])
        except (TypeError, ValueError, IndexError):
            return None

    nodes = {}
    for key, value in fields.items():
        match = re.match(r"^NUMA node(\d+) CPU\(s\)$", key)
        if match:
            nodes[match.group(1)] = value
    return {
        "cpus": as_int("CPU(s)"),
        "online": fields.get("On-line CPU(s) list"),
        "threads_per_core": as_int("Thread(s) per core"),
        "cores_per_socket": as_int("Core(s) per socket"),
        "sockets": as_int("Socket(s)"),
        "numa_nodes": as_int("NUMA node(s)"),
        "model_name": fields.get("Model name"),
        "vendor": fields.get("Vendor ID"),
        "hypervisor": fields.get("Hypervisor vendor"),
        "flags": sorted(fields.get("Flags", "").split()),
        "node_cpus": nodes,
    }


def parse_lscpu_json(text):
    """``lscpu -J`` -> ``{field: value}`` (flattens util-linux >= 2.38 ``children``)."""
    data = json.loads(text)
    out = {}

    def walk(entries):
        for entry in entries:
            key = entry.get("field", "").strip().rstrip(":")
            if key:
                out[key] = entry.get("data") if entry.get("data") is not None else ""
            walk(entry.get("children", []))

    walk(data.get("lscpu", []))
    return out


def parse_lscpu_parse(text):
    """``lscpu -p`` (CSV, ``# CPU,Core,Socket,Node,...`` header) -> list of rows.

    Each row is a dict with lower-case keys from the header; numeric values are ints,
    empty values None.
    """
    header = None
    rows = []
    for line in text.splitlines():
        if line.startswith("#"):
            candidate = line.lstrip("#").strip()
            if candidate.upper().startswith("CPU,"):
                header = [h.strip().lower() for h in candidate.split(",")]
            continue
        if not line.strip():
            continue
        if header is None:
            header = ["cpu", "core", "socket", "node"]
        values = line.split(",")
        row = {}
        for i, name in enumerate(header):
            if not name:
                continue
            value = values[i].strip() if i < len(values) else ""
            row[name] = int(value) if value.isdigit() else (value or None)
        rows.append(row)
    return rows


def parse_lscpu_extended(text):
    """``lscpu -e`` (table) -> list of row dicts with lower-case column names.

    ``ONLINE`` becomes a bool, numeric columns ints; ``L1d:L1i:L2:L3`` stays a string.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = [h.lower() for h in lines[0].split()]
    rows = []
    for line in lines[1:]:
        values = line.split()
        row = {}
        for index, name in enumerate(header):
            if index >= len(values):
                break
            value = values[index]
            if name == "online":
                row[name] = value.lower() == "yes"
            elif re.match(r"^-?\d+$", value):
                row[name] = int(value)
            else:
                row[name] = value
        rows.append(row)
    return rows


def topology_from_rows(rows):
    """Rows from lscpu -p / -e -> ``{"cores": {(socket, core): [cpus]}, "nodes": {...}}``."""
    cores = {}
    nodes = {}
    for row in rows:
        if row.get("online") is False:
            continue
        cpu = row["cpu"]
        cores.setdefault((row.get("socket"), row.get("core")), []).append(cpu)
        if row.get("node") is not None:
            nodes.setdefault(str(row["node"]), []).append(cpu)
    return {
        "siblings": sorted(sorted(c) for c in cores.values()),
        "nodes": {k: sorted(v) for k, v in nodes.items()},
    }


# -------------------------------------------------------------------------- ethtool

_NA = ("n/a", "", "unknown")


def _num(value):
    value = value.strip()
    if value.lower() in _NA:
        return None
    if re.match(r"^-?\d+$", value):
        return int(value)
    return value


def parse_ethtool_driver(text):
    """``ethtool -i`` -> dict with underscore keys (``driver``, ``version``, ``bus_info``...)."""
    out = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key = key.strip().lower().replace("-", "_").replace(" ", "_")
        value = value.strip()
        if value in ("yes", "no"):
            out[key] = value == "yes"
        else:
            out[key] = value
    return out


def _two_blocks(text, first_header, second_header):
    """Split ethtool -l/-g output into (maximums, current) dicts of raw values."""
    blocks = {"max": {}, "current": {}}
    which = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        low = stripped.lower()
        if low.startswith(first_header):
            which = "max"
            continue
        if low.startswith(second_header):
            which = "current"
            continue
        if which is None or ":" not in stripped:
            continue
        key, value = stripped.split(":", 1)
        key = key.strip().lower().replace(" ", "_").replace("-", "_")
        blocks[which][key] = _num(value)
    return blocks


def parse_ethtool_channels(text):
    """``ethtool -l`` -> ``{"max": {rx, tx, other, combined}, "current": {...}}``.

    ``n/a`` becomes None; ENA's older drivers print 0 for unsupported kinds.
    """
    return _two_blocks(text, "pre-set maximums", "current hardware settings")


def parse_ethtool_rings(text):
    """``ethtool -g`` -> ``{"max": {rx, rx_mini, rx_jumbo, tx, ...}, "current": {...}}``.

    Extra fields of newer ethtool (``tx_push``, ``tx_push_buff_len``, ``tcp_data_split``,
    ``cqe_size``) are kept as printed (``"off"`` / ints / None).
    """
    return _two_blocks(text, "pre-set maximums", "current hardware settings")


def _onoff(value):
    return {"on": True, "off": False}.get(value.lower())


def parse_ethtool_coalesce(text):
    """``ethtool -c`` -> flat dict: ``adaptive_rx``/``adaptive_tx`` bools (None if n/a),
    every ``x-usecs``/``x-frames`` key as int (None if n/a), ``cqe_mode_rx/tx``."""
    out = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.lower().startswith("coalesce parameters"):
            continue
        adaptive = re.match(r"^Adaptive RX:\s*(\S+)\s+TX:\s*(\S+)", stripped, re.IGNORECASE)
        if adaptive:
            out["adaptive_rx"] = _onoff(adaptive.group(1))
            out["adaptive_tx"] = _onoff(adaptive.group(2))
            continue
        cqe = re.match(r"^CQE mode RX:\s*(\S+)\s+TX:\s*(\S+)", stripped, re.IGNORECASE)
        if cqe:
            out["cqe_mode_rx"] = _onoff(cqe.group(1))
            out["cqe_mode_tx"] = _onoff(cqe.group(2))
            continue
        if ":" in stripped:
            key, value = stripped.split(":", 1)
            out[key.strip().lower().replace("-", "_")] = _num(value)
    return out


def parse_ethtool_stats(text):
    """``ethtool -S`` -> ``{counter: int}``. Per-queue prefixes such as bnx2x's ``[0]: ``
    are kept in the name (``"[0]: rx_bytes"``)."""
    out = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.endswith("statistics:") or ":" not in stripped:
            continue
        key, value = stripped.rsplit(":", 1)
        value = value.strip()
        if re.match(r"^-?\d+$", value):
            out[key.strip()] = int(value)
    return out


ENA_ALLOWANCE_COUNTERS = (
    "bw_in_allowance_exceeded",
    "bw_out_allowance_exceeded",
    "pps_allowance_exceeded",
    "conntrack_allowance_exceeded",
    "linklocal_allowance_exceeded",
)
ENA_RESET_COUNTERS = ("tx_timeout", "wd_expired", "interface_down", "total_resets", "reset_fail")


def ena_health(stats):
    """Pick the ENA counters that matter for latency from parsed ``ethtool -S``."""
    keys = ENA_ALLOWANCE_COUNTERS + ENA_RESET_COUNTERS
    out = {k: stats[k] for k in keys if k in stats}
    out["queue_stops"] = sum(
        v for k, v in stats.items() if re.match(r"^queue_\d+_tx_queue_stop$", k)
    )
    out["ena_srd_mode"] = stats.get("ena_srd_mode")
    return out


# ------------------------------------------------------------------ /proc/interrupts

_TRIGGER_RE = re.compile(r"-(edge|level|fasteoi)$")


def parse_interrupts(text):
    """``/proc/interrupts`` -> ``{"cpus": [cpu numbers], "irqs": [...]}``.

    Each irq entry: ``irq`` (str: ``"66"`` or ``"LOC"``), ``numeric`` (bool),
    ``counts`` (per CPU column), ``total``, ``chip``, ``hwirq``, ``name`` (the action
    list, e.g. ``"enp39s0-Tx-Rx-0"``; description for NMI/LOC rows; may be empty).
    Handles the old single-token ``PCI-MSI-edge`` chip column.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return {"cpus": [], "irqs": []}
    cpus = [int(c[3:]) for c in lines[0].split() if c.startswith("CPU")]
    ncpu = len(cpus)
    irqs = []
    for line in lines[1:]:
        label, _sep, rest = line.partition(":")
        label = label.strip()
        tokens = rest.split()
        counts = []
        while tokens and len(counts) < ncpu and re.match(r"^\d+$", tokens[0]):
            counts.append(int(tokens.pop(0)))
        numeric = label.isdigit()
        chip = hwirq = None
        if numeric and tokens:
            if len(tokens) >= 2 and _TRIGGER_RE.search(tokens[1]):
                chip, hwirq = tokens[0], tokens[1]
                tokens = tokens[2:]
            elif _TRIGGER_RE.search(tokens[0]):
                chip = tokens[0]
                tokens = tokens[1:]
            else:
                chip = tokens[0]
                tokens = tokens[1:]
        irqs.append(
            {
                "irq": label,
                "numeric": numeric,
                "counts": counts,
                "total": sum(counts),
                "chip": chip,
                "hwirq": hwirq,
                "name": " ".join(tokens),
            }
        )
    return {"cpus": cpus, "irqs": irqs}


def nic_queue_irqs(interrupts, ifname, bus_info=None):
    """IRQ numbers (ints) of a NIC's queue vectors, by the names drivers give them.

    ENA ``<if>-Tx-Rx-<n>`` (the ``ena-mgmnt@pci:<bdf>`` vector is not a queue);
    i40e/ice ``i40e-<if>-TxRx-<n>``; ixgbe ``<if>-TxRx-<n>``; split vectors
    ``<if>-rx-<n>``/``<if>-tx-<n>``; mlx5 ``mlx5_comp<n>@pci:<bus_info>``.
    """
    patterns = [re.compile(rf"(^|-){re.escape(ifname)}-(Tx-Rx|TxRx|rx|tx)-\d+$")]
    if bus_info:
        patterns.append(re.compile(rf"^mlx5_comp\d+@pci:{re.escape(bus_info)}$"))
    out = []
    for entry in interrupts["irqs"]:
        if not entry["numeric"]:
            continue
        actions = [a.strip() for a in entry["name"].split(",")]
        if any(p.search(a) for p in patterns for a in actions):
            out.append(int(entry["irq"]))
    return sorted(out)


# -------------------------------------------------------------------- cmdline & co


def parse_cmdline(text):
    """``/proc/cmdline`` -> list of kernel tokens (quotes honoured).

    Everything after a lone ``--`` is passed to init, not the kernel, and dropped.
    """
    try:
        tokens = shlex.split(text.strip())
    except ValueError:
        tokens = text.split()
    if "--" in tokens:
        tokens = tokens[: tokens.index("--")]
    return tokens


def cmdline_key(token):
    """``"isolcpus=managed_irq,2-5"`` -> ``"isolcpus"``; ``"quiet"`` -> ``"quiet"``."""
    return token.split("=", 1)[0]


def parse_kconfig(text):
    """Kernel ``.config`` lines -> ``{CONFIG_X: "y"|"m"|"n"|value}``."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        unset = re.match(r"^# (CONFIG_\w+) is not set$", line)
        if unset:
            out[unset.group(1)] = "n"
            continue
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value.strip('"')
    return out


KERNEL_FLAGS = {
    "no_hz_full": "CONFIG_NO_HZ_FULL",
    "rcu_nocb_cpu": "CONFIG_RCU_NOCB_CPU",
    "net_rx_busy_poll": "CONFIG_NET_RX_BUSY_POLL",
    "cpu_isolation": "CONFIG_CPU_ISOLATION",
    "preempt_rt": "CONFIG_PREEMPT_RT",
    "intel_iommu": "CONFIG_INTEL_IOMMU",
    "vfio_pci": "CONFIG_VFIO_PCI",
    "hugetlbfs": "CONFIG_HUGETLBFS",
}


def kernel_flags(config):
    """Booleans for the build options the tuning profile depends on."""
    return {name: config.get(opt) in ("y", "m") for name, opt in KERNEL_FLAGS.items()}


def parse_meminfo(text):
    """``/proc/meminfo`` or ``/sys/devices/system/node/nodeN/meminfo`` -> ``{key: int}``.

    Values in kB stay in kB; counters (``HugePages_Total``) are counts. The ``Node N``
    prefix of per-node files is removed.
    """
    out = {}
    for line in text.splitlines():
        line = re.sub(r"^Node \d+\s+", "", line.strip())
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        parts = value.split()
        if parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0])
    return out


_SIZE_RE = re.compile(r"^(\d+)\s*([kKmMgG])?[bB]?$")
_UNITS = {"k": 1, "m": 1024, "g": 1024 * 1024, None: 1}


def size_to_kb(size):
    """``"2M"``/``"2MB"``/``"1G"``/``"2048kB"``/``2048`` (kB) -> kB as int."""
    if isinstance(size, int) and not isinstance(size, bool):
        return size
    match = _SIZE_RE.match(str(size).strip())
    if not match:
        raise ValueError(f"bad size {size!r} (use e.g. 2M, 1G, 2048kB)")
    unit = match.group(2).lower() if match.group(2) else None
    return int(match.group(1)) * _UNITS[unit]


def kb_to_size(kb):
    """2048 -> ``"2M"``; 1048576 -> ``"1G"``; 64 -> ``"64K"``."""
    kb = int(kb)
    if kb % (1024 * 1024) == 0:
        return f"{kb // (1024 * 1024)}G"
    if kb % 1024 == 0:
        return f"{kb // 1024}M"
    return f"{kb}K"


def hugepage_dir_kb(name):
    """``"hugepages-2048kB"`` -> 2048."""
    match = re.match(r"^hugepages-(\d+)kB$", name)
    if not match:
        raise ValueError(f"not a hugepages directory: {name!r}")
    return int(match.group(1))


def parse_thp(text):
    """``always [madvise] never`` -> ``"madvise"``."""
    match = re.search(r"\[(\w+)\]", text)
    return match.group(1) if match else text.strip() or None


def parse_int_file(text, default=None):
    """Contents of a one-number sysfs file (``sriov_totalvfs``, ``numa_node``)."""
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        return default


def cpuinfo_flags(text):
    """First ``flags`` line of ``/proc/cpuinfo`` -> sorted list."""
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return sorted(line.split(":", 1)[1].split())
    return []

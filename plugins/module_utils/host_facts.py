# Copyright: tradeops engineers
# Apache License 2.0 (see galaxy.yml)
"""Read an engine host's tuning-relevant state into one dict (engine_host_facts).

All file access goes through a ``root`` prefix so tests can point it at a recorded
fixture tree; commands go through a ``run(argv) -> (rc, stdout, stderr)`` callable
(``AnsibleModule.run_command`` in the module, a fixture reader in the tests); the
EC2 metadata query goes through an ``imds(timeout) -> dict`` callable. Nothing here
writes anywhere.
"""

from __future__ import annotations

import gzip
import os
import re

from ansible_collections.tradeops.platform.plugins.module_utils import host_parsers as hp
from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import (
    CpuSetError,
    format_cpulist,
    parse_cpulist,
    sibling_groups,
)

# sysctls the tuning profile manages or verifies (dotted names)
DEFAULT_SYSCTLS = (
    "kernel.sched_rt_runtime_us",
    "vm.stat_interval",
    "kernel.numa_balancing",
    "kernel.nmi_watchdog",
    "kernel.timer_migration",
    "kernel.hung_task_timeout_secs",
    "net.core.busy_read",
    "net.core.busy_poll",
    "net.core.netdev_max_backlog",
    "net.ipv4.tcp_fastopen",
    "vm.swappiness",
    "vm.dirty_ratio",
    "vm.dirty_background_ratio",
    "vm.min_free_kbytes",
)

EC2_VENDOR = "Amazon EC2"


class HostReader:
    """Path helper: every absolute path is taken below ``root``."""

    def __init__(self, root="/"):
        self.root = root or "/"

    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def exists(self, path):
        return os.path.exists(self.path(path))

    def read(self, path, default=None):
        try:
            with open(self.path(path), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return default

    def read_gzip(self, path, default=None):
        try:
            with gzip.open(self.path(path), "rt", encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return default

    def listdir(self, path):
        try:
            return sorted(n for n in os.listdir(self.path(path)) if not n.startswith("."))
        except OSError:
            return []


def _strip(text):
    return text.strip() if isinstance(text, str) else None


def _cpulist_or_empty(text):
    text = _strip(text)
    if not text or text == "(null)":
        return ""
    try:
        return format_cpulist(parse_cpulist(text))
    except CpuSetError:
        return ""


def gather_cpu(reader):
    base = "/sys/devices/system/cpu"
    online = parse_cpulist(_cpulist_or_empty(reader.read(base + "/online", "")))
    siblings = {}
    packages = {}
    for cpu in sorted(online):
        topo = f"{base}/cpu{cpu}/topology"
        sib = _strip(reader.read(topo + "/thread_siblings_list"))
        siblings[cpu] = sib if sib else str(cpu)
        packages[cpu] = hp.parse_int_file(reader.read(topo + "/physical_package_id", ""), 0)
    groups = sibling_groups(siblings) if siblings else []
    flags = hp.cpuinfo_flags(reader.read("/proc/cpuinfo", ""))
    cpuinfo = reader.read("/proc/cpuinfo", "")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    vendor = re.search(r"^vendor_id\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    threads = max((len(g) for g in groups), default=1)
    return {
        "online": format_cpulist(online),
        "count": len(online),
        "cores": len(groups),
        "threads_per_core": threads,
        "sockets": len(set(packages.values())) if packages else 0,
        "siblings": [format_cpulist(g) for g in groups],
        "isolated": _cpulist_or_empty(reader.read(base + "/isolated", "")),
        "nohz_full": _cpulist_or_empty(reader.read(base + "/nohz_full", "")),
        "nohz_full_supported": reader.exists(base + "/nohz_full"),
        "model_name": model.group(1).strip() if model else None,
        "vendor": vendor.group(1).strip() if vendor else None,
        "flags": flags,
    }


def gather_numa_and_hugepages(reader):
    base = "/sys/devices/system/node"
    nodes = {}
    for name in reader.listdir(base):
        match = re.match(r"^node(\d+)$", name)
        if not match:
            continue
        node = match.group(1)
        meminfo = hp.parse_meminfo(reader.read(f"{base}/{name}/meminfo", ""))
        pages = {}
        for hdir in reader.listdir(f"{base}/{name}/hugepages"):
            try:
                size = hp.kb_to_size(hp.hugepage_dir_kb(hdir))
            except ValueError:
                continue
            hpath = f"{base}/{name}/hugepages/{hdir}"
            pages[size] = {
                "nr": hp.parse_int_file(reader.read(hpath + "/nr_hugepages", ""), 0),
                "free": hp.parse_int_file(reader.read(hpath + "/free_hugepages", ""), 0),
            }
        nodes[node] = {
            "cpus": _cpulist_or_empty(reader.read(f"{base}/{name}/cpulist", "")),
            "mem_total_kb": meminfo.get("MemTotal"),
            "mem_free_kb": meminfo.get("MemFree"),
            "hugepages": pages,
        }
    sizes = []
    global_pages = {}
    for hdir in reader.listdir("/sys/kernel/mm/hugepages"):
        try:
            kb = hp.hugepage_dir_kb(hdir)
        except ValueError:
            continue
        sizes.append(kb)
        hpath = "/sys/kernel/mm/hugepages/" + hdir
        global_pages[hp.kb_to_size(kb)] = {
            "nr": hp.parse_int_file(reader.read(hpath + "/nr_hugepages", ""), 0),
            "free": hp.parse_int_file(reader.read(hpath + "/free_hugepages", ""), 0),
        }
    meminfo = hp.parse_meminfo(reader.read("/proc/meminfo", ""))
    default_kb = meminfo.get("Hugepagesize")
    return nodes, {
        "sizes": [hp.kb_to_size(kb) for kb in sorted(sizes)],
        "default_size": hp.kb_to_size(default_kb) if default_kb else None,
        "global": global_pages,
        "mem_total_kb": meminfo.get("MemTotal"),
    }


def _ethtool(run, ethtool, option, ifname, parser):
    rc, out, _err = run([ethtool, option, ifname])
    if rc != 0:
        return None
    try:
        return parser(out)
    except (ValueError, KeyError, IndexError):
        return None


def gather_nics(reader, run, ethtool, interfaces=None, with_stats=True):
    names = reader.listdir("/sys/class/net")
    wanted = []
    for name in names:
        if interfaces:
            if name in interfaces:
                wanted.append(name)
        elif reader.exists(f"/sys/class/net/{name}/device"):
            wanted.append(name)
    nics = {}
    for name in wanted:
        dev = f"/sys/class/net/{name}/device"
        numa = hp.parse_int_file(reader.read(dev + "/numa_node", ""), -1)
        totalvfs = hp.parse_int_file(reader.read(dev + "/sriov_totalvfs", ""), None)
        info = {
            "name": name,
            "has_device": reader.exists(dev),
            "numa_node": numa,
            "local_cpus": _cpulist_or_empty(reader.read(dev + "/local_cpulist", "")),
            "sriov": None,
            "driver": None,
            "version": None,
            "firmware_version": None,
            "bus_info": None,
            "channels": None,
            "rings": None,
            "coalesce": None,
            "stats": None,
        }
        if totalvfs is not None:
            info["sriov"] = {
                "totalvfs": totalvfs,
                "numvfs": hp.parse_int_file(reader.read(dev + "/sriov_numvfs", ""), 0),
            }
        if ethtool:
            drv = _ethtool(run, ethtool, "-i", name, hp.parse_ethtool_driver) or {}
            info["driver"] = drv.get("driver")
            info["version"] = drv.get("version")
            info["firmware_version"] = drv.get("firmware_version")
            info["bus_info"] = drv.get("bus_info") or None
            info["channels"] = _ethtool(run, ethtool, "-l", name, hp.parse_ethtool_channels)
            info["rings"] = _ethtool(run, ethtool, "-g", name, hp.parse_ethtool_rings)
            info["coalesce"] = _ethtool(run, ethtool, "-c", name, hp.parse_ethtool_coalesce)
            if with_stats:
                stats = _ethtool(run, ethtool, "-S", name, hp.parse_ethtool_stats)
                if stats is not None and info["driver"] == "ena":
                    info["stats"] = hp.ena_health(stats)
                elif stats is not None:
                    info["stats"] = {"counters": len(stats)}
        nics[name] = info
    return nics


def gather_kernel(reader):
    release = _strip(reader.read("/proc/sys/kernel/osrelease", "")) or None
    config_text = None
    config_source = None
    if release:
        config_text = reader.read(f"/boot/config-{release}")
        config_source = f"/boot/config-{release}" if config_text is not None else None
    if config_text is None:
        config_text = reader.read_gzip("/proc/config.gz")
        config_source = "/proc/config.gz" if config_text is not None else None
    config = hp.parse_kconfig(config_text or "")
    return {
        "release": release,
        "config_source": config_source,
        "config": {k: v for k, v in config.items() if k in hp.KERNEL_FLAGS.values()},
        "flags": hp.kernel_flags(config) if config_text is not None else {},
    }


def gather_iommu(reader):
    groups = reader.listdir("/sys/kernel/iommu_groups")
    units = reader.listdir("/sys/class/iommu")
    hardware = any(
        reader.exists("/sys/firmware/acpi/tables/" + t) for t in ("DMAR", "IVRS")
    ) or bool(units)
    return {"hardware": hardware, "enabled": bool(groups), "groups": len(groups), "units": units}


def gather_irqs(reader):
    text = reader.read("/proc/interrupts", "")
    parsed = hp.parse_interrupts(text)
    irqs = {}
    for entry in parsed["irqs"]:
        if not entry["numeric"]:
            continue
        base = "/proc/irq/" + entry["irq"]
        irqs[entry["irq"]] = {
            "name": entry["name"],
            "smp_affinity_list": _cpulist_or_empty(reader.read(base + "/smp_affinity_list", "")),
            "effective_affinity_list": _cpulist_or_empty(
                reader.read(base + "/effective_affinity_list", "")
            ),
            "total": entry["total"],
        }
    default = _strip(reader.read("/proc/irq/default_smp_affinity", ""))
    return {"default_smp_affinity": default, "irqs": irqs}


def gather_sysctls(reader, names):
    out = {}
    for name in names:
        value = reader.read("/proc/sys/" + name.replace(".", "/"))
        out[name] = " ".join(value.split()) if value is not None else None
    return out


def read_dmi(reader):
    base = "/sys/devices/virtual/dmi/id/"
    return {
        k: _strip(reader.read(base + k))
        for k in ("sys_vendor", "board_vendor", "product_name", "board_asset_tag")
    }


def is_ec2(dmi):
    return EC2_VENDOR in (dmi.get("sys_vendor"), dmi.get("board_vendor"))


def gather(
    root="/",
    run=None,
    imds=None,
    ethtool="ethtool",
    interfaces=None,
    ec2_metadata="auto",
    ec2_timeout=1.0,
    sysctls=DEFAULT_SYSCTLS,
    with_stats=True,
):
    """Collect everything; ``run``/``imds`` are injected (see module docstring)."""
    reader = HostReader(root)
    if run is None:

        def run(_argv):
            return 1, "", "no command runner"

    cpu = gather_cpu(reader)
    nodes, hugepages = gather_numa_and_hugepages(reader)
    hugepages["supports_1g"] = "pdpe1gb" in cpu["flags"] or "1G" in hugepages["sizes"]
    cmdline_raw = _strip(reader.read("/proc/cmdline", "")) or ""
    dmi = read_dmi(reader)
    ec2 = {"detected": is_ec2(dmi), "queried": False, "error": None}
    # auto asks the metadata service of the host the module runs on, so only when root is
    # that host: a recorded host tree (tests, offline renders) is not, and its run must not
    # send a request to the link-local address from wherever it runs.
    this_host = os.path.realpath(reader.root) == "/"
    auto = ec2_metadata == "auto" and ec2["detected"] and this_host
    want_imds = ec2_metadata == "always" or auto
    if want_imds and imds is not None:
        try:
            ec2.update(imds(ec2_timeout))
            ec2["queried"] = True
        except Exception as exc:  # report, never fail fact gathering
            ec2["error"] = str(exc)
    if not ec2.get("instance_type") and ec2["detected"]:
        # Nitro exposes the instance type as the DMI product name
        ec2["instance_type"] = dmi.get("product_name")
    return {
        "root": root,
        "cpu": cpu,
        "numa": {"nodes": nodes, "count": len(nodes)},
        "hugepages": hugepages,
        "thp": hp.parse_thp(reader.read("/sys/kernel/mm/transparent_hugepage/enabled", "")),
        "nics": gather_nics(reader, run, ethtool, interfaces, with_stats),
        "kernel": gather_kernel(reader),
        "iommu": gather_iommu(reader),
        "cmdline": {"raw": cmdline_raw, "tokens": hp.parse_cmdline(cmdline_raw)},
        "irq": gather_irqs(reader),
        "sysctls": gather_sysctls(reader, sysctls),
        "dmi": dmi,
        "ec2": ec2,
        "ptp_devices": ["/dev/" + n for n in reader.listdir("/sys/class/ptp")],
    }

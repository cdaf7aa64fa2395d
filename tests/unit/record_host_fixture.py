"""Record a host fixture set (tests/unit/fixtures/hosts/<name>/) from a live host.

    python tests/unit/record_host_fixture.py OUT --interface eth0 [--interface veth0]
        [--via podman exec CTR | --via ip netns exec NS] [--netns-via ip netns exec NS]
        --host "what the host is"

Reads, unmodified, what ``host_facts.gather`` and the parser tests read (lscpu in four
forms, /proc/{cmdline,interrupts,cpuinfo,meminfo,config.gz}, the sysctls of
host_facts.DEFAULT_SYSCTLS, /proc/irq/*, the CPU, node, hugepage and THP files of /sys,
each interface's /sys/class/net files and ``ethtool -i/-l/-g/-c/-S``; a failing ethtool
call is kept with a ``.rc`` file holding its exit status), and writes PROVENANCE.yml:
host, kernel (``uname -r`` there), date, and every command run. ``--via`` runs everything
on another host (a container); ``--netns-via`` reads the interfaces in another network
namespace (a veth pair of one's own). Nothing on the host is changed.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

# The collection as Ansible imports it (tests/conftest.py does the same for pytest).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.tradeops.platform.plugins.module_utils.host_facts import (
    DEFAULT_SYSCTLS,
)

# The reader that runs on the recorded host: globs in, {path: base64 or null} out.
READER = r"""
import base64, glob, json, os, sys
out = {}
for pattern in json.loads(sys.argv[1]):
    for path in sorted(glob.glob(pattern)) or ([] if glob.has_magic(pattern) else [pattern]):
        if os.path.isdir(path):
            continue
        try:
            with open(path, "rb") as handle:
                out[path] = base64.b64encode(handle.read()).decode()
        except OSError:
            out[path] = None
print(json.dumps(out))
"""

# What host_facts.gather reads, and the kernel's release.
SYSCTLS = (*DEFAULT_SYSCTLS, "kernel.osrelease")

HOST_FILES = [
    "/proc/cmdline",
    "/proc/interrupts",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/config.gz",
    *("/proc/sys/" + name.replace(".", "/") for name in SYSCTLS),
    "/proc/irq/default_smp_affinity",
    "/proc/irq/*/smp_affinity",
    "/proc/irq/*/smp_affinity_list",
    "/proc/irq/*/effective_affinity_list",
    "/proc/irq/*/node",
    "/sys/devices/system/cpu/online",
    "/sys/devices/system/cpu/present",
    "/sys/devices/system/cpu/possible",
    "/sys/devices/system/cpu/isolated",
    "/sys/devices/system/cpu/nohz_full",
    "/sys/devices/system/cpu/kernel_max",
    "/sys/devices/system/cpu/cpu*/topology/core_id",
    "/sys/devices/system/cpu/cpu*/topology/core_siblings_list",
    "/sys/devices/system/cpu/cpu*/topology/physical_package_id",
    "/sys/devices/system/cpu/cpu*/topology/thread_siblings_list",
    "/sys/devices/system/node/online",
    "/sys/devices/system/node/possible",
    "/sys/devices/system/node/has_cpu",
    "/sys/devices/system/node/has_memory",
    "/sys/devices/system/node/node*/cpulist",
    "/sys/devices/system/node/node*/distance",
    "/sys/devices/system/node/node*/meminfo",
    "/sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages",
    "/sys/devices/system/node/node*/hugepages/hugepages-*/free_hugepages",
    "/sys/devices/system/node/node*/hugepages/hugepages-*/surplus_hugepages",
    "/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages",
    "/sys/kernel/mm/hugepages/hugepages-*/free_hugepages",
    "/sys/kernel/mm/hugepages/hugepages-*/nr_overcommit_hugepages",
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/sys/kernel/mm/transparent_hugepage/defrag",
    "/sys/devices/virtual/dmi/id/sys_vendor",
    "/sys/devices/virtual/dmi/id/board_vendor",
    "/sys/devices/virtual/dmi/id/product_name",
]
NIC_FILES = ["type", "mtu", "operstate", "address"]
NIC_DEVICE_FILES = [
    "vendor",
    "device",
    "numa_node",
    "local_cpulist",
    "sriov_totalvfs",
    "sriov_numvfs",
]
EMPTY_DIRS = ["/sys/kernel/iommu_groups", "/sys/class/iommu", "/sys/class/ptp"]
LSCPU = {"lscpu.txt": [], "lscpu_p.txt": ["-p"], "lscpu_e.txt": ["-e"], "lscpu_J.json": ["-J"]}
ETHTOOL = ("-i", "-l", "-g", "-c", "-S")


class Recorder:
    def __init__(self, out: Path, via: list[str], netns_via: list[str]):
        self.out = out
        self.via = via
        self.netns_via = netns_via
        self.commands: list[str] = []

    def run(
        self, argv: list[str], netns: bool = False, shown: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        prefix = [*self.via, *(self.netns_via if netns else [])]
        self.commands.append(shlex.join(prefix) + " " + (shown or shlex.join(argv)))
        return subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, check=False, timeout=120
        )

    def read(self, patterns: list[str], netns: bool = False) -> dict[str, bytes | None]:
        shown = f"cat {len(patterns)} paths and globs (HOST_FILES / NIC_FILES of the recorder)"
        proc = self.run(["python3", "-c", READER, json.dumps(patterns)], netns=netns, shown=shown)
        if proc.returncode != 0:
            raise SystemExit(f"reading files failed: {proc.stderr}")
        found = json.loads(proc.stdout)
        return {p: (None if v is None else base64.b64decode(v)) for p, v in found.items()}

    def write(self, relative: str, data: bytes | str) -> None:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    def keep(self, files: dict[str, bytes | None]) -> list[str]:
        absent = []
        for path, data in files.items():
            if data is None:
                absent.append(path)
            else:
                self.write("root" + path, data)
        return absent


def _set_name(out: Path) -> str:
    """The set's path below tests/unit, as PROVENANCE.yml's ``set`` must be."""
    unit = Path(__file__).resolve().parent
    try:
        return out.resolve().relative_to(unit).as_posix()
    except ValueError:
        return out.name


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--host", required=True, help="what the recorded host is")
    parser.add_argument("--interface", action="append", default=[])
    parser.add_argument("--netns-interface", action="append", default=[])
    parser.add_argument("--via", default="", help="command prefix that runs on the host")
    parser.add_argument("--netns-via", default="", help="prefix into the interfaces' netns")
    parser.add_argument("--note", action="append", default=[])
    args = parser.parse_args(argv)
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: record into a new directory")
    rec = Recorder(args.out, shlex.split(args.via), shlex.split(args.netns_via))
    kernel = rec.run(["uname", "-r"]).stdout.strip()
    hostname = rec.run(["uname", "-n"]).stdout.strip()
    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    for name, options in LSCPU.items():
        proc = rec.run(["lscpu", *options])
        if proc.returncode != 0:
            raise SystemExit(f"lscpu {options} failed: {proc.stderr}")
        rec.write(name, proc.stdout)
    absent = rec.keep(rec.read(HOST_FILES))
    nics = [(n, False) for n in args.interface] + [(n, True) for n in args.netns_interface]
    for name, netns in nics:
        base = f"/sys/class/net/{name}/"
        files = [base + f for f in NIC_FILES] + [base + "device/" + f for f in NIC_DEVICE_FILES]
        absent += rec.keep(rec.read(files, netns=netns))
        for option in ETHTOOL:
            proc = rec.run(["ethtool", option, name], netns=netns)
            rec.write(f"cmd/ethtool_{option}_{name}.txt", proc.stdout + proc.stderr)
            if proc.returncode != 0:
                rec.write(f"cmd/ethtool_{option}_{name}.rc", f"{proc.returncode}\n")
    for directory in EMPTY_DIRS:
        listing = rec.run(["ls", "-A", directory])
        if listing.returncode == 0 and not listing.stdout.strip():
            rec.write("root" + directory + "/.empty", "")

    provenance = {
        "set": _set_name(args.out),
        "kind": "recorded",
        "summary": f"recorded on {args.host}",
        "recorded": {
            "host": f"{args.host} (uname -n: {hostname})",
            "kernel": kernel,
            "date": started.isoformat().replace("+00:00", "Z"),
            "recorder": "tests/unit/record_host_fixture.py " + shlex.join(argv),
            "commands": [c.strip() for c in dict.fromkeys(rec.commands)],
            "absent": sorted(absent),
        },
        "notes": args.note,
    }
    text = (
        "# Where this fixture set comes from (tests/unit/test_fixture_provenance.py checks it;\n"
        "# the README's offline section counts from it). Written by the recorder.\n"
        + yaml.safe_dump(provenance, sort_keys=False, width=100)
    )
    rec.write("PROVENANCE.yml", text)
    print(
        f"recorded {sum(1 for path in args.out.rglob('*') if path.is_file())} files into {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

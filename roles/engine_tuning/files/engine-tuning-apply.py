# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply the runtime part of a rendered engine tuning profile (installed by the
tradeops.platform.engine_tuning role; run at boot by tradeops-engine-tuning.service and
by the role when it applies settings live).

Reads the render (tuning_render output, JSON) and, for each setting, compares the current
value with the wanted one and writes only what differs. Output, one line each:
``CHANGED <what>`` (``WOULD <what>`` with --dry-run), ``WARN <what>``. Exit 0 unless the
state file is unreadable; a single setting that cannot be written is a WARN, so one
non-movable IRQ does not stop the rest.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys

SYS = "/sys"
PROC = "/proc"


class Applier:
    def __init__(self, dry_run):
        self.dry_run = dry_run

    def say(self, kind, what):
        print(f"{kind} {what}")
        sys.stdout.flush()

    def changed(self, what):
        self.say("WOULD" if self.dry_run else "CHANGED", what)

    def write(self, path, value, current=None, label=None):
        label = label or path
        if current is None:
            try:
                with open(path) as handle:
                    current = handle.read().strip()
            except OSError as exc:
                self.say("WARN", f"{label}: cannot read ({exc.strerror})")
                return
        if current == str(value):
            return
        if not self.dry_run:
            try:
                with open(path, "w") as handle:
                    handle.write(f"{value}\n")
            except OSError as exc:
                self.say("WARN", f"{label}: cannot write {value} ({exc.strerror})")
                return
        self.changed(f"{label}: {current} -> {value}")

    def run(self, argv, label):
        if self.dry_run:
            self.changed(label)
            return True
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            self.say("WARN", f"{label}: {' '.join(argv)} failed: {proc.stderr.strip()}")
            return False
        self.changed(label)
        return True


def parse_cpulist(text):
    cpus = set()
    for part in (text or "").strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            cpus.update(range(int(lo), int(hi) + 1))
        else:
            cpus.add(int(part))
    return cpus


def parse_mask(text):
    value = int((text or "0").strip().replace(",", ""), 16)
    return {i for i in range(value.bit_length()) if value >> i & 1}


def thp_mode(text):
    match = re.search(r"\[(\w+)\]", text or "")
    return match.group(1) if match else (text or "").strip()


def read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def ethtool_current(ifname, flag):
    """Current values of ``ethtool -l/-g/-c IF`` as {key: value} (keys in -L/-G/-C form)."""
    proc = subprocess.run(
        ["ethtool", flag, ifname],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, LC_ALL="C"),
    )
    if proc.returncode != 0:
        return None
    text = proc.stdout
    if flag in ("-l", "-g") and "Current hardware settings:" in text:
        text = text.split("Current hardware settings:", 1)[1]
    out = {}
    names = {
        "-l": {"RX": "rx", "TX": "tx", "Other": "other", "Combined": "combined"},
        "-g": {"RX": "rx", "RX Mini": "rx-mini", "RX Jumbo": "rx-jumbo", "TX": "tx"},
    }
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = (s.strip() for s in line.split(":", 1))
        if flag == "-c":
            if key.startswith("Adaptive RX"):
                rx, _sep, tx = value.partition("TX:")
                out["adaptive-rx"] = rx.strip()
                out["adaptive-tx"] = tx.strip()
                continue
            key = key.replace("_", "-")
        else:
            key = names[flag].get(key)
        if key:
            out[key] = value
    return out


def apply_ethtool(ap, argv):
    """argv like ['-L', 'eth0', 'combined', '4']; set only what differs."""
    flag, ifname, pairs = argv[0], argv[1], argv[2:]
    if flag == "--set-tunable":
        ap.run(["ethtool", *argv], f"ethtool {' '.join(argv)}")
        return
    current = ethtool_current(ifname, flag.lower())
    if current is None:
        ap.say("WARN", f"ethtool {flag.lower()} {ifname}: cannot read current settings")
        return
    todo = []
    for i in range(0, len(pairs), 2):
        key, value = pairs[i], pairs[i + 1]
        if current.get(key) != value:
            todo += [key, value]
    if todo:
        ap.run(["ethtool", flag, ifname, *todo], f"ethtool {flag} {ifname} {' '.join(todo)}")


def apply_irqs(ap, state):
    irq = state.get("irq") or {}
    allowed = parse_cpulist(irq.get("allowed"))
    nic_cpus = parse_cpulist(irq.get("nic_queue_cpus"))
    if irq.get("default_smp_affinity"):
        path = f"{PROC}/irq/default_smp_affinity"
        cur = read(path)
        if cur is not None and parse_mask(cur) != parse_mask(irq["default_smp_affinity"]):
            ap.write(path, irq["default_smp_affinity"], cur)
    if irq.get("owner") != "static":
        return
    ignore = [re.compile(p) for p in irq.get("ignore") or []]
    nics = [n["interface"] for n in state.get("nics") or []]
    names = {}
    for line in (read(f"{PROC}/interrupts") or "").splitlines()[1:]:
        fields = line.split()
        if fields and fields[0].rstrip(":").isdigit():
            names[fields[0].rstrip(":")] = fields[-1]
    for number, name in sorted(names.items(), key=lambda kv: int(kv[0])):
        if any(p.search(name) for p in ignore):
            continue
        is_queue = any(re.search(rf"(^|-){re.escape(n)}-", name) for n in nics)
        want = nic_cpus if is_queue else allowed
        path = f"{PROC}/irq/{number}/smp_affinity_list"
        cur = read(path)
        if cur is None or parse_cpulist(cur) == want:
            continue
        ap.write(path, ",".join(str(c) for c in sorted(want)), cur, f"irq {number} ({name})")


def apply_sriov(ap, pf):
    dev = f"{SYS}/class/net/{pf['pf']}/device"
    if not os.path.isdir(dev):
        ap.say("WARN", f"sriov {pf['pf']}: no such PF")
        return
    ap.write(f"{dev}/sriov_drivers_autoprobe", "1" if pf.get("autoprobe") else "0")
    cur = read(f"{dev}/sriov_numvfs")
    want = str(pf.get("numvfs") or 0)
    if cur not in (None, want):
        if cur != "0":  # the kernel only changes a non-zero count through 0 (disruptive)
            ap.write(f"{dev}/sriov_numvfs", "0", cur, f"sriov {pf['pf']} numvfs")
        ap.write(f"{dev}/sriov_numvfs", want, "0", f"sriov {pf['pf']} numvfs")
    for vf in pf.get("vfs") or []:
        args = []
        if vf.get("trust") is not None:
            args += ["trust", "on" if vf["trust"] else "off"]
        if vf.get("spoofchk") is not None:
            args += ["spoofchk", "on" if vf["spoofchk"] else "off"]
        if vf.get("vlan") is not None:
            args += ["vlan", str(vf["vlan"])]
        if vf.get("mac"):
            args += ["mac", vf["mac"]]
        if args and not ap.dry_run:
            subprocess.run(
                ["ip", "link", "set", pf["pf"], "vf", str(vf["index"]), *args],
                capture_output=True,
                check=False,
            )
    if pf.get("driver"):
        for link in sorted(glob.glob(f"{dev}/virtfn*")):
            vf_dev = os.path.realpath(link)
            addr = os.path.basename(vf_dev)
            bound = os.path.basename(os.path.realpath(f"{vf_dev}/driver"))
            if bound == pf["driver"]:
                continue
            ap.write(f"{vf_dev}/driver_override", pf["driver"], label=f"{addr} driver_override")
            if not ap.dry_run:
                if os.path.exists(f"{vf_dev}/driver"):
                    ap.write(f"{vf_dev}/driver/unbind", addr, "", f"{addr} unbind {bound}")
                ap.write(f"{SYS}/bus/pci/drivers_probe", addr, "", f"{addr} bind {pf['driver']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", default="/etc/tradeops/engine-tuning.json")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--apply", action="store_true")
    mode.add_argument("--dry-run", action="store_true")
    opts = parser.parse_args()
    with open(opts.state) as handle:
        state = json.load(handle)
    ap = Applier(opts.dry_run)

    mask = state.get("workqueue_cpumask")
    path = f"{SYS}/devices/virtual/workqueue/cpumask"
    cur = read(path)
    if mask and cur is not None and parse_mask(cur) != parse_mask(mask):
        ap.write(path, mask, cur, "workqueue cpumask")

    thp = state.get("thp")
    path = f"{SYS}/kernel/mm/transparent_hugepage/enabled"
    cur = read(path)
    if thp and cur is not None and thp_mode(cur) != thp:
        ap.write(path, thp, thp_mode(cur), "transparent_hugepage")

    for node, sizes in sorted(((state.get("hugepages") or {}).get("per_node") or {}).items()):
        for size, count in sorted(sizes.items()):
            kb = {"2M": 2048, "1G": 1048576}.get(size)
            if kb is None:
                continue
            path = f"{SYS}/devices/system/node/node{node}/hugepages/hugepages-{kb}kB/nr_hugepages"
            if os.path.exists(path):
                ap.write(path, count, label=f"hugepages node{node} {size}")
                got = read(path) if not ap.dry_run else str(count)
                if got != str(count):
                    ap.say(
                        "WARN",
                        f"hugepages node{node} {size}: {got} of {count} allocated "
                        "(fragmented memory; the boot-time reservation gets them all)",
                    )

    governor = (state.get("power") or {}).get("governor")
    if governor:
        for path in sorted(
            glob.glob(f"{SYS}/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor")
        ):
            ap.write(path, governor, label=f"{path.split('/')[5]} governor")

    apply_irqs(ap, state)
    for nic in state.get("nics") or []:
        if not nic.get("persist", True):
            continue
        for argv in nic.get("ethtool") or []:
            apply_ethtool(ap, argv)
    for pf in state.get("sriov") or []:
        apply_sriov(ap, pf)
    return 0


if __name__ == "__main__":
    sys.exit(main())

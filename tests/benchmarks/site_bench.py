"""Benchmark of the whole platform on the lab: first converge, no-op, a raw lower bound.

Not a test (it asserts nothing). In a lab of its own it runs site.yml on the lab inventory
three ways and prints, for each, wall time, CPU time (ansible-playbook and its workers, and
the whole machine busy) and changed tasks, with the no-op's time per play:

* first converge: site.yml on a fresh lab (moto empty, hosts as the image left them);
* no-op: site.yml again, nothing to change;
* the raw lower bound of that no-op: one process per host, all hosts at once, that reads the
  state the host roles check (their files, units, sysctls, packages; it reads more than they
  check, so the bound is generous), and nothing else;
* `--tags kernel_tuning --limit engine-c5n-1` with nothing to change (the targeted run).

`--existing` measures the lab that is up (`./dev lab`, TRADEOPS_LAB_NAME or the default)
instead: no lab up, no first converge; one no-op run first so that every host role has its
record (host_state: the roles' first run after a change of theirs converges), then the
no-op measured, the lower bound and the targeted run.

Ratios: no-op / first converge, no-op / lower bound. Issue #24's targets: the no-op under
45 s, the targeted run under 8 s. Run: .venv/bin/python tests/benchmarks/site_bench.py
[--keep] (--keep leaves the lab up for a look; `TRADEOPS_LAB_NAME=benchsite ./dev down`).

Fleet growth: `--engines 5,10,20,40` instead runs, for each number of engine hosts, a lab
of that many (TRADEOPS_LAB_ENGINES: extra bare-metal engines) with its first converge and
its no-op, and prints how the no-op grows (issue #24: at most 1.6x from 10 to 40). Each lab
host is a systemd container holding a few inotify instances: when the machine's
fs.inotify.max_user_instances is too small for the largest lab, the benchmark raises it for
the run and puts the old value back at the end (it says so).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from tests.benchmarks.aws_bench import machine_busy_seconds  # noqa: E402
from tests.integration.support import VENV_BIN, ansible_env, lab_environment, run_playbook  # noqa: E402

from tradeops.lab import Lab  # noqa: E402

LAB = "benchsite"
SUBNET = "198.19.97.0/24"

# What the lower bound reads on a host: every file under the directories the host roles
# write to, every unit's state, every sysctl the hosts' sysctl.d files set, the packages.
READ_STATE = r"""
import glob, hashlib, json, os, subprocess
dirs = ["/etc/tradeops", "/etc/sysctl.d", "/etc/systemd/system", "/etc/default",
        "/etc/prometheus", "/etc/alertmanager", "/etc/grafana", "/etc/pgbackrest",
        "/etc/restic", "/etc/chrony", "/etc/modprobe.d", "/etc/security/limits.d",
        "/opt/tradeops", "/usr/local/lib/tradeops", "/var/lib/tradeops"]
files = 0
for top in dirs:
    for base, _dirs, names in os.walk(top):
        for name in names:
            path = os.path.join(base, name)
            try:
                st = os.lstat(path)
                if os.path.isfile(path):
                    hashlib.sha256(open(path, "rb").read()).hexdigest()
                files += 1
            except OSError:
                pass
keys = 0
for conf in glob.glob("/etc/sysctl.d/*.conf"):
    for line in open(conf):
        line = line.strip()
        if line and not line.startswith(("#", ";")) and "=" in line:
            path = "/proc/sys/" + line.split("=")[0].strip().replace(".", "/")
            try:
                open(path).read()
                keys += 1
            except OSError:
                pass
units = subprocess.run(["systemctl", "show", "--all", "*"], capture_output=True, text=True)
pkgs = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n"],
                      capture_output=True, text=True)
print(json.dumps({"files": files, "sysctls": keys, "unit_lines": len(units.stdout.splitlines()),
                  "packages": len(pkgs.stdout.splitlines())}))
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(func, *args):
    start, cpu, busy = time.monotonic(), children_cpu(), machine_busy_seconds()
    result = func(*args)
    return result, {
        "wall": time.monotonic() - start,
        "cpu": children_cpu() - cpu,
        "busy": machine_busy_seconds() - busy,
    }


def per_play(report: dict) -> list[tuple[str, float, int]]:
    """(play, wall seconds, changed tasks) from the json callback's report."""
    out = []
    for play in report.get("plays", []):
        starts, ends, changed = [], [], 0
        for task in play.get("tasks", []):
            duration = task.get("task", {}).get("duration", {})
            for host_result in task.get("hosts", {}).values():
                changed += bool(host_result.get("changed"))
            if duration.get("start") and duration.get("end"):
                starts.append(duration["start"])
                ends.append(duration["end"])
        if starts:
            wall = _seconds(max(ends)) - _seconds(min(starts))
            out.append((play["play"]["name"], wall, changed))
    return out


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def failures(report: dict):
    """(task name, host, result) of every failed or unreachable task result."""
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                if result.get("failed") or result.get("unreachable"):
                    yield task["task"]["name"], host, result


def site(env, *args):
    json_env = dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = run_playbook("site.yml", "-i", "inventories/lab", *args, env=json_env)
    try:
        report = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        report = {}
    if proc.returncode != 0:
        for task, host, result in failures(report):
            message = str(result.get("msg", result))[:2000]
            print(f"FAILED {host}: {task}: {message}", file=sys.stderr)
        words = " ".join(args)
        raise SystemExit(f"site.yml {words} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    changed = sum(s.get("changed", 0) for s in report.get("stats", {}).values())
    return report, changed


def lower_bound(lab: Lab) -> list[dict]:
    podman = ["podman", "exec", "-i"]

    def one(host):
        proc = subprocess.run(
            [*podman, lab.container(host.name), "python3", "-"],
            input=READ_STATE,
            capture_output=True,
            text=True,
            env=lab.env,
            check=True,
        )
        return dict(json.loads(proc.stdout), host=host.name)

    with ThreadPoolExecutor(max_workers=len(lab.hosts)) as pool:
        return list(pool.map(one, lab.hosts))


INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_PER_HOST = 8  # measured: ~5 per systemd container; room for the controller's


def fleet(counts: list[int]) -> None:
    rows = []
    base = len(Lab(ROOT, name=LAB).hosts)
    engines_now = len([h for h in Lab(ROOT, name=LAB).hosts if h.name.startswith("engine-")])
    need = (base + max(counts) - engines_now) * INOTIFY_PER_HOST + 64
    old = int(INOTIFY.read_text())
    if need > old:
        print(f"raising fs.inotify.max_user_instances {old} -> {need} for this run")
        INOTIFY.write_text(f"{need}\n")
    try:
        for count in counts:
            env = lab_environment(LAB, SUBNET, TRADEOPS_LAB_ENGINES=str(count))
            os.environ.update(TRADEOPS_LAB_ENGINES=str(count))
            lab = Lab(ROOT, name=LAB)
            tradeops = str(VENV_BIN / "tradeops")
            command = [tradeops, "lab", "up"]
            try:
                subprocess.run(command, env=env, check=True, capture_output=True)
                extra = ["-i", str(lab.fleet_inventory)] if lab.extra_hosts else []
                (_r, first_changed), first = timed(site, env, *extra)
                (_r, noop_changed), noop = timed(site, env, *extra)
            finally:
                subprocess.run([tradeops, "lab", "down"], env=env, check=False, capture_output=True)
            rows.append((count, first, first_changed, noop, noop_changed))
            print(f"{count} engine hosts: first {first['wall']:.1f} s, no-op {noop['wall']:.1f} s")
    finally:
        if need > old:
            INOTIFY.write_text(f"{old}\n")
            print(f"fs.inotify.max_user_instances back to {old}")
    print(f"{'engines':>8}{'first s':>10}{'cpu s':>9}{'no-op s':>10}{'cpu s':>9}{'changed':>9}")
    for count, first, _fc, noop, noop_changed in rows:
        print(
            f"{count:>8}{first['wall']:>10.1f}{first['cpu']:>9.1f}"
            f"{noop['wall']:>10.1f}{noop['cpu']:>9.1f}{noop_changed:>9}"
        )
    walls = {count: noop["wall"] for count, _f, _fc, noop, _nc in rows}
    if 10 in walls and 40 in walls:
        print(f"no-op 40 / 10 engine hosts: {walls[40] / walls[10]:.2f}x (target at most 1.6x)")


def report(rows, noop_report, read, bound, noop, tuned, first=None) -> None:
    print(f"{'run':<28}{'wall s':>9}{'cpu s':>9}{'busy s':>9}{'changed':>9}")
    for name, t, changed in rows:
        mark = "" if changed is None else str(changed)
        print(f"{name:<28}{t['wall']:>9.1f}{t['cpu']:>9.1f}{t['busy']:>9.1f}{mark:>9}")
    print("\nno-op per play (wall s, changed):")
    for name, wall, changed in per_play(noop_report):
        print(f"  {wall:7.1f}  {changed:3d}  {name}")
    print(f"\nlower bound read per host: {read[0] if read else '-'}")
    if first:
        print(f"\nno-op / first converge: {noop['wall'] / first['wall']:.2f} (wall)")
    print(
        f"no-op / lower bound: {noop['wall'] / bound['wall']:.1f}x (wall),"
        f" target: no-op under 45 s (now {noop['wall']:.1f} s)"
        f"\nkernel_tuning on one host: {tuned['wall']:.1f} s, target under 8 s"
    )


def existing() -> None:
    env = ansible_env()
    lab = Lab(ROOT)
    rows = []
    (_r, changed), settle = timed(lambda: site(env))
    rows.append(("no-op, records made", settle, changed))
    (noop_report, changed), noop = timed(lambda: site(env))
    rows.append(("no-op", noop, changed))
    read, bound = timed(lambda: lower_bound(lab))
    rows.append((f"lower bound ({len(read)} hosts)", bound, None))
    (_r, changed), tuned = timed(
        lambda: site(env, "--tags", "kernel_tuning", "--limit", "engine-c5n-1")
    )
    rows.append(("kernel_tuning, one host", tuned, changed))
    report(rows, noop_report, read, bound, noop, tuned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument("--engines", help="fleet growth: numbers of engine hosts, e.g. 5,10,20,40")
    parser.add_argument("--existing", action="store_true", help="measure the lab that is up")
    args = parser.parse_args()
    if args.engines:
        fleet([int(n) for n in args.engines.split(",")])
        return
    if args.existing:
        existing()
        return
    keep = args.keep
    env = lab_environment(LAB, SUBNET)
    os.environ.update({k: env[k] for k in ("TRADEOPS_LAB_NAME", "TRADEOPS_LAB_SUBNET")})
    os.environ["TRADEOPS_MOTO_PORT"] = env["TRADEOPS_MOTO_PORT"]
    tradeops = str(VENV_BIN / "tradeops")
    rows = []
    try:
        command = [tradeops, "lab", "up"]
        _, up = timed(lambda: subprocess.run(command, env=env, check=True, capture_output=True))
        rows.append(("lab up", up, None))
        (_report, changed), first = timed(lambda: site(env))
        rows.append(("first converge", first, changed))
        (noop_report, changed), noop = timed(lambda: site(env))
        rows.append(("no-op", noop, changed))
        lab = Lab(ROOT, name=LAB)
        read, bound = timed(lambda: lower_bound(lab))
        rows.append((f"lower bound ({len(read)} hosts)", bound, None))
        (_r, changed), tuned = timed(
            lambda: site(env, "--tags", "kernel_tuning", "--limit", "engine-c5n-1")
        )
        rows.append(("kernel_tuning, one host", tuned, changed))
    finally:
        if not keep:
            subprocess.run([tradeops, "lab", "down"], env=env, check=False, capture_output=True)
    report(rows, noop_report, read, bound, noop, tuned, first)


if __name__ == "__main__":
    main()

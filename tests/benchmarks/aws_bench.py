"""Benchmark of the AWS layers against a private moto: wall time and API calls.

Not a test (it asserts nothing). For create-from-empty and for a no-op re-run it prints
wall time, CPU time (of ansible-playbook and its workers, and of the whole machine) and
AWS API calls (read / mutating, counted by a recording proxy in front of moto) of:

* baseline: playbooks/aws/sequential.yml with tradeops_aws_async=false and
  tradeops_aws_skip_converged=false - the same roles and modules, one layer after another,
  every task run, as a plain amazon.aws playbook would;
* tradeops: playbooks/aws/site.yml - concurrent layers, async loops, describe-first skip;

and the ratios baseline / tradeops. Run: .venv/bin/python tests/benchmarks/aws_bench.py
[--layers a,b,...] [-e EXTRA_VARS ...] (both runs get them; --layers compares the same layers
across two revisions of the collection: copy this file into the other checkout and run it
there with the same arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.aws.apilog import ApiLog  # noqa: E402
from tests.integration.support import MotoServer, ansible_env, run_playbook  # noqa: E402

BASELINE = (
    "playbooks/aws/sequential.yml",
    "-e",
    "tradeops_aws_async=false",
    "-e",
    "tradeops_aws_skip_converged=false",
)
FAST = ("playbooks/aws/site.yml",)


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (all CPUs, /proc/stat), in seconds."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(moto, log, outputs: Path, args, label):
    env = ansible_env(TRADEOPS_MOTO_PORT=str(log.port), TRADEOPS_AWS_OUTPUTS_DIR=str(outputs))
    mark = log.mark()
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_busy_seconds()
    proc = run_playbook(*args, env=env)
    busy = machine_busy_seconds() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - start
    # CPU of ansible-playbook and the workers it waits for; async jobs detach from it and
    # are missing here, so the machine's busy time (with moto and anything else running)
    # is printed beside it.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{label}: ansible-playbook failed ({proc.returncode})")
    calls = log.since(mark)
    return {"wall": wall, "cpu": cpu, "busy": busy, **ApiLog.summary(calls)}


def scenario(moto, log, args, label):
    outputs = Path(tempfile.mkdtemp(prefix="tradeops-bench-"))
    try:
        moto.reset()
        create = measure(moto, log, outputs, args, f"{label} create")
        noop = measure(moto, log, outputs, args, f"{label} no-op")
    finally:
        shutil.rmtree(outputs, ignore_errors=True)
    return create, noop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="repeat and keep the best")
    parser.add_argument("--layers", help="only these layers (comma-separated), in both runs")
    parser.add_argument(
        "--tradeops-only",
        action="store_true",
        help="skip the sequential baseline (for a comparison of two revisions' site.yml)",
    )
    parser.add_argument(
        "-e", "--extra-vars", action="append", default=[], help="extra vars for both runs"
    )
    options = parser.parse_args()
    rounds = options.rounds
    runs = [("baseline", BASELINE), ("tradeops", FAST)][int(options.tradeops_only) :]
    extra = tuple(arg for value in options.extra_vars for arg in ("-e", value))
    if options.layers:
        layers = [name.strip() for name in options.layers.split(",") if name.strip()]
        extra += ("-e", json.dumps({"tradeops_aws_layers": layers}))
    moto = MotoServer(Path(tempfile.mkdtemp(prefix="tradeops-bench-moto-")) / "moto.log")
    log = ApiLog(moto.port)
    try:
        results = {}
        for _ in range(rounds):
            for label, args in runs:
                create, noop = scenario(moto, log, args + extra, label)
                for phase, value in (("create", create), ("no-op", noop)):
                    best = results.get((label, phase))
                    if best is None or value["wall"] < best["wall"]:
                        results[(label, phase)] = value
    finally:
        log.stop()
        moto.stop()

    print(
        f"{'run':<26}{'wall s':>9}{'cpu s':>9}{'machine':>9}"
        f"{'API calls':>11}{'read':>7}{'mutating':>10}"
    )
    for phase in ("create", "no-op"):
        for label, _args in runs:
            r = results[(label, phase)]
            name = f"{phase} / {label}"
            print(
                f"{name:<26}{r['wall']:>9.1f}{r['cpu']:>9.1f}{r['busy']:>9.1f}"
                f"{r['total']:>11}{r['read']:>7}{r['mutating']:>10}"
            )
    for phase, target in (("create", 3), ("no-op", 6)) if len(runs) == 2 else ():
        base, fast = results[("baseline", phase)], results[("tradeops", phase)]
        print(
            f"{phase}: {base['wall'] / fast['wall']:.1f}x faster (target {target}x), "
            f"API calls {base['total']} -> {fast['total']}, "
            f"mutating {base['mutating']} -> {fast['mutating']}, "
            f"CPU {base['cpu']:.0f} s -> {fast['cpu']:.0f} s "
            f"(machine {base['busy']:.0f} s -> {fast['busy']:.0f} s)"
        )
    cores = os.cpu_count() or 1
    print(
        f"{cores} CPUs: no run can take less wall time than its machine CPU time / {cores} "
        "(the floor when Ansible's per-task processes are the bottleneck)"
    )


if __name__ == "__main__":
    main()

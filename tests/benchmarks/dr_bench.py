"""Benchmark of the DR runbooks on a lab of their own: RTO and RPO against the targets.

Not a test (it asserts nothing). On a converged lab with a load generator placing
sequence-numbered orders through every region's engines, it runs, end to end:

* preflight (read-only, timed on its own);
* switchover us-east-1 -> us-west-2 (planned, RPO 0), then reprotect us-east-1;
* us-west-2 cut (`lab fail-region`: hosts paused, AWS calls refused), failover to us-east-1.

For each move it prints every step's time (the critical path), the runbook's measured RTO
beside issue 17's targets (switchover < 30 s, failover < 60 s) and seeds/003's (region
failure: RTO < 1 h, RPO < 5 min) as ratios, the client-observed outage (the longest gap
between two acknowledged orders), and the RPO: acknowledged orders missing from the new
primary, beside the estimate the failover disclosed.

Run: ./dev bench dr   (or .venv/bin/python tests/benchmarks/dr_bench.py)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.lab.drlab import EAST, WEST, DrLab  # noqa: E402

RATE = 20
TARGETS = {"switchover": 30.0, "failover": 60.0}


def steps_table(record: dict) -> list[str]:
    lines = [f"    {'step':<14} {'outcome':<9} {'seconds':>8}"]
    for step in record.get("steps") or []:
        seconds = step.get("seconds")
        shown = f"{seconds:8.1f}" if isinstance(seconds, (int, float)) else f"{'-':>8}"
        lines.append(f"    {step.get('id', '?'):<14} {step.get('outcome', '?'):<9} {shown}")
    return lines


def move(drlab: DrLab, load, verb: str, *args: str) -> dict:
    before = load.last_seq()
    proc, report = drlab.dr(verb, *args, label=verb)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{verb} failed ({proc.returncode})")
    record = report.get("dr_record") or {}
    target = record.get("target_region")
    first = load.wait_for_acks_from(target, after=before)
    present = drlab.seqs("db-west-1" if target == WEST else "db-east-1")
    return {
        "verb": verb,
        "record": record,
        "wall": drlab.timings[verb],
        "rto": (record.get("rto") or {}).get("seconds"),
        "outage": load.outage_after(before),
        "lost": len(load.lost(present, upto=first[0]["seq"])),
        "acked": len([a for a in load.acked() if a["seq"] <= first[0]["seq"]]),
        "estimate": (record.get("rpo") or {}).get("estimate_seconds"),
    }


def report(results: list[dict], preflight: float, converge: float) -> None:
    print(f"\nDR benchmark: lab converged in {converge:.0f} s; preflight {preflight:.1f} s")
    print(f"load: {RATE} orders/s through every region's engines (lab/loadgen)\n")
    header = (
        f"{'move':<11} {'RTO s':>7} {'target':>7} {'ratio':>6} {'vs 1 h':>7} "
        f"{'runbook s':>10} {'outage s':>9} {'acked':>6} {'lost':>5} {'disclosed s':>12}"
    )
    print(header)
    for r in results:
        target = TARGETS[r["verb"]]
        rto = r["rto"] if r["rto"] is not None else float("nan")
        disclosed = "-" if r["estimate"] is None else f"{float(r['estimate']):.3f}"
        print(
            f"{r['verb']:<11} {rto:>7.1f} {target:>7.0f} {rto / target:>6.2f} "
            f"{rto / 3600:>7.4f} {r['wall']:>10.1f} {r['outage']:>9.1f} {r['acked']:>6} "
            f"{r['lost']:>5} {disclosed:>12}"
        )
    for r in results:
        print(f"\n  {r['verb']} steps (the RTO clock runs from the first marked step to verify):")
        print("\n".join(steps_table(r["record"])))
    print(
        "\nratio = measured RTO / issue 17's target (switchover 30 s, failover 60 s); "
        "'vs 1 h' = / seeds/003's region-failure RTO.\n"
        "outage = the longest gap the load generator saw between two acknowledged orders; "
        "lost = acknowledged orders missing from the new primary (RPO), against the "
        "estimate the failover disclosed."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lab", default="tobenchdr")
    parser.add_argument("--subnet", default="198.19.66.0/24")
    args = parser.parse_args()
    os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab" / "containers.conf"))
    with tempfile.TemporaryDirectory(prefix="dr-bench-") as tmp:
        drlab = DrLab(args.lab, args.subnet, Path(tmp))
        load = None
        try:
            drlab.up_and_converged()
            load = drlab.load(RATE)
            load.wait_for_acks_from(EAST, after=0)
            proc, _ = drlab.dr("preflight", label="preflight")
            assert proc.returncode == 0, proc.stderr[-3000:]
            results = [move(drlab, load, "switchover", "--confirm", "lab:us-west-2")]
            proc, _ = drlab.dr("reprotect", "--confirm", "lab:us-east-1", label="reprotect")
            assert proc.returncode == 0, proc.stderr[-3000:]
            proc, _ = drlab.dr("status", label="status")  # the last measured lag
            drlab.lab.fail_region(WEST)
            time.sleep(1)
            results.append(
                move(drlab, load, "failover", "--target-region", EAST, "--confirm", "lab:us-east-1")
            )
            drlab.lab.restore_region(WEST)
            report(results, drlab.timings["preflight"], drlab.timings["lab up + site"])
        finally:
            if load:
                load.stop()
            drlab.down()


if __name__ == "__main__":
    main()

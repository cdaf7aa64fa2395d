"""What the DR drill cost: acked-but-lost orders (RPO) and the client-observed outage.

    psql -XAtc 'SELECT seq FROM orders' trading > present.txt      # on the new primary
    python3 lab/loadgen/verify.py --acks acks.jsonl --present present.txt

--acks is lab/loadgen/orders.py's JSONL; --present lists the seqs the database holds, one
per line ("-" reads standard input). Prints a JSON report: every acked seq that the
database lacks (lost: the RPO on real data, which must be empty), how many rows the
database holds that were never acked (in flight when an engine went away: not a loss),
and the longest gap between two consecutive acks (the outage a client saw). Exit 0 when
nothing acked is lost, 1 when something is, 2 for unreadable input. Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path


def _instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_acks(lines: Iterable[str]) -> list[dict]:
    acks = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            raise ValueError(f"acks line {number}: not an ack record: {line.strip()[:80]}")
        acks.append(record)
    return acks


def read_seqs(lines: Iterable[str]) -> set[int]:
    seqs = set()
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text:
            try:
                seqs.add(int(text))
            except ValueError:
                raise ValueError(f"present line {number}: not a seq: {text[:80]}") from None
    return seqs


def longest_gap(acks: list[dict]) -> dict | None:
    """The longest time between two consecutive acks (in ack order), with its ends."""
    ordered = sorted(acks, key=lambda a: _instant(a["acked_at"]))
    best = None
    for before, after in itertools.pairwise(ordered):
        seconds = (_instant(after["acked_at"]) - _instant(before["acked_at"])).total_seconds()
        if best is None or seconds > best["seconds"]:
            best = {
                "seconds": round(seconds, 3),
                "start": before["acked_at"],
                "end": after["acked_at"],
                "after_seq": before["seq"],
                "before_seq": after["seq"],
                "from": before.get("url"),
                "to": after.get("url"),
            }
    return best


def verify(acks: list[dict], present: Iterable[int], max_listed: int = 1000) -> dict:
    present = set(present)
    acked = {a["seq"] for a in acks}
    lost = sorted(acked - present)
    duplicates = [seq for seq, n in Counter(a["seq"] for a in acks).items() if n > 1]
    acked_range = (min(acked), max(acked)) if acked else None
    unacked_present = (
        sorted(s for s in present - acked if acked_range[0] <= s <= acked_range[1] + 1)
        if acked_range
        else []
    )
    return {
        "ok": not lost,
        "acked": len(acked),
        "present": len(present),
        "lost_count": len(lost),
        "lost": lost[:max_listed],
        "acked_seq_range": list(acked_range) if acked_range else None,
        "present_not_acked": unacked_present[:max_listed],
        "duplicate_acks": sorted(duplicates),
        "longest_gap": longest_gap(acks),
        "acks_by_engine": dict(sorted(Counter(a.get("url") for a in acks).items())),
        "acks_by_region": dict(sorted(Counter(a.get("region") or "?" for a in acks).items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verify.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--acks", type=Path, required=True, help="orders.py's acks file (JSONL)")
    parser.add_argument("--present", required=True, help="file of seqs in the database, or -")
    args = parser.parse_args(argv)
    try:
        acks = read_acks(args.acks.read_text(encoding="utf-8").splitlines())
        if args.present == "-":
            present = read_seqs(sys.stdin)
        else:
            present = read_seqs(Path(args.present).read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError) as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    report = verify(acks, present)
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

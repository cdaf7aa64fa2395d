"""Sequence-numbered orders at a steady rate against the engines of every region.

The DR drills' client (docs/databases.md): it keeps placing orders while a runbook
fences, promotes and rebuilds, and records exactly which orders were acknowledged, so
that RPO (acknowledged but lost) and the client-observed outage are measured on real data
(lab/loadgen/verify.py). Standard library only; runs on the controller:

    python3 lab/loadgen/orders.py --engine http://198.18.0.11:8080 \\
        --engine http://198.18.0.41:8080 --rate 20 --duration 300 --start-seq 1 \\
        --acks acks.jsonl --status status.json

* Orders are sent one at a time, in seq order, at --rate per second (no burst after an
  outage). An order is "acked" when an engine answers 201 (committed), or 409 with the
  same client_order_id stored (an earlier attempt was committed after all).
* An order that fails on every engine is retried with the SAME seq (and client_order_id)
  until it is acked, so the acks file is unambiguous: every seq in it was committed.
* Engines are tried in the order given, starting with the one that answered last (sticky).
* --acks: one JSON line per acked order {seq, client_order_id, url, engine, region,
  acked_at (UTC), latency (s, of the answering request), attempts, via}.
* --status: rewritten every second (atomically): last acked seq, per-engine counts, the
  current failure streak, the longest gap between two acks with its start and end.
* Stops after --duration seconds, or on SIGTERM / SIGINT (the order in flight finishes).
  Exit 0; 3 when an engine refuses an order for good (400/422, or the seq is taken by
  another order: a 409 with another client_order_id); 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Refused(Exception):
    """An engine refused the order for good: retrying the same seq cannot help."""


def utc_now() -> str:
    return (
        datetime.datetime.now(datetime.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def make_order(seq: int, prefix: str) -> dict:
    """The order for a seq: the same on every retry."""
    return {
        "seq": seq,
        "client_order_id": f"{prefix}-{seq}",
        "symbol": SYMBOLS[seq % len(SYMBOLS)],
        "side": "buy" if seq % 2 else "sell",
        "qty": 1 + seq % 10,
        "price": round(100 + (seq % 100) / 4, 2),
    }


def post(url: str, order: dict, timeout: float) -> tuple[int | None, dict, str]:
    """(HTTP status or None, JSON body or {}, error text) of POST <url>/orders."""
    request = urllib.request.Request(
        url.rstrip("/") + "/orders",
        data=json.dumps(order).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as resp:
            return resp.status, _json(resp.read()), ""
    except urllib.error.HTTPError as exc:
        body = _json(exc.read())
        return exc.code, body, str(body.get("reason") or exc.reason)
    except (OSError, ValueError) as exc:  # refused, timeout, reset, bad URL
        return None, {}, f"{type(exc).__name__}: {exc}"


def _json(data: bytes) -> dict:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class LoadGen:
    def __init__(
        self,
        engines: list[str],
        rate: float,
        acks: Path,
        status: Path | None = None,
        start_seq: int = 1,
        duration: float | None = None,
        timeout: float = 2.0,
        retry_interval: float = 0.1,
        prefix: str = "loadgen",
    ) -> None:
        self.engines = list(engines)
        self.interval = 1.0 / rate
        self.rate = rate
        self.acks_path = acks
        self.status_path = status
        self.seq = start_seq
        self.duration = duration
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.prefix = prefix
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sticky = 0
        self.started_at = utc_now()
        self.acked = 0
        self.per_engine = {url: 0 for url in self.engines}
        self.last_acked_seq: int | None = None
        self.last_ack: tuple[float, str, int] | None = None  # monotonic, UTC, seq
        self.longest_gap: dict | None = None
        self.streak = {"attempts": 0, "since": None, "seq": None, "last_error": None}
        self.stopped_reason: str | None = None

    # -- one order -------------------------------------------------------------------
    def attempt(self, order: dict) -> dict | None:
        """Try every engine once, the sticky one first; the ack record, or None."""
        order_of_trial = [self.sticky] + [i for i in range(len(self.engines)) if i != self.sticky]
        for index in order_of_trial:
            url = self.engines[index]
            started = time.monotonic()
            status, body, error = post(url, order, self.timeout)
            latency = time.monotonic() - started
            via = None
            if status == 201 and body.get("committed"):
                via = "created"
            elif status == 409:
                stored = body.get("stored") or {}
                if stored.get("client_order_id") != order["client_order_id"]:
                    raise Refused(
                        f"{url}: seq {order['seq']} is taken by another order "
                        f"({stored.get('client_order_id')!r}); choose another --start-seq"
                    )
                via = "duplicate"  # an earlier attempt was committed
            elif status in (400, 404, 405, 422):
                raise Refused(f"{url}: {status} {body.get('detail') or error}")
            if via:
                self.sticky = index
                stored = body.get("stored") or {}
                return {
                    "seq": order["seq"],
                    "client_order_id": order["client_order_id"],
                    "url": url,
                    "engine": body.get("engine") or stored.get("engine"),
                    "region": body.get("region") or stored.get("region"),
                    "acked_at": utc_now(),
                    "latency": round(latency, 6),
                    "via": via,
                }
            with self.lock:
                self.streak["last_error"] = f"{url}: {status or 'no answer'} {error}".strip()
        return None

    def record(self, ack: dict, attempts: int) -> None:
        now = time.monotonic()
        with self.lock:
            ack["attempts"] = attempts
            with open(self.acks_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(ack, sort_keys=True) + "\n")
            if self.last_ack is not None:
                gap = now - self.last_ack[0]
                if self.longest_gap is None or gap > self.longest_gap["seconds"]:
                    self.longest_gap = {
                        "seconds": round(gap, 3),
                        "start": self.last_ack[1],
                        "end": ack["acked_at"],
                        "after_seq": self.last_ack[2],
                        "before_seq": ack["seq"],
                    }
            self.last_ack = (now, ack["acked_at"], ack["seq"])
            self.last_acked_seq = ack["seq"]
            self.acked += 1
            self.per_engine[ack["url"]] += 1
            self.streak = {"attempts": 0, "since": None, "seq": None, "last_error": None}

    # -- status ----------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self.lock:
            since_ack = None if self.last_ack is None else time.monotonic() - self.last_ack[0]
            return {
                "started_at": self.started_at,
                "updated_at": utc_now(),
                "running": not self.stop.is_set(),
                "stopped_reason": self.stopped_reason,
                "rate": self.rate,
                "engines": self.engines,
                "current_engine": self.engines[self.sticky],
                "next_seq": self.seq,
                "last_acked_seq": self.last_acked_seq,
                "acked": self.acked,
                "per_engine": dict(self.per_engine),
                "failure_streak": dict(self.streak),
                "seconds_since_last_ack": None if since_ack is None else round(since_ack, 3),
                "longest_gap": self.longest_gap,
            }

    def write_status(self) -> None:
        if self.status_path is None:
            return
        tmp = self.status_path.with_name(self.status_path.name + ".tmp")
        tmp.write_text(json.dumps(self.snapshot(), indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.status_path)

    def _status_loop(self) -> None:
        while not self.stop.wait(1.0):
            self.write_status()

    # -- the run ---------------------------------------------------------------------
    def run(self) -> int:
        deadline = None if self.duration is None else time.monotonic() + self.duration
        writer = threading.Thread(target=self._status_loop, name="status", daemon=True)
        writer.start()
        code = 0
        next_send = time.monotonic()
        try:
            while not self.stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    self.stopped_reason = "duration"
                    break
                delay = next_send - time.monotonic()
                if delay > 0 and self.stop.wait(delay):
                    break
                order = make_order(self.seq, self.prefix)
                attempts = 0
                ack = None
                while ack is None and not self.stop.is_set():
                    attempts += 1
                    ack = self.attempt(order)
                    if ack is None:
                        with self.lock:
                            self.streak["attempts"] = attempts
                            self.streak["seq"] = order["seq"]
                            self.streak["since"] = self.streak["since"] or utc_now()
                        if deadline is not None and time.monotonic() >= deadline:
                            break
                        self.stop.wait(self.retry_interval)
                if ack is None:
                    self.stopped_reason = self.stopped_reason or "duration (an order unacked)"
                    break
                self.record(ack, attempts)
                self.seq += 1
                # Steady pacing; after an outage, continue at the rate (no burst).
                next_send = max(next_send + self.interval, time.monotonic())
        except Refused as exc:
            self.stopped_reason = f"refused: {exc}"
            print(f"loadgen: {exc}", file=sys.stderr)
            code = 3
        finally:
            self.stopped_reason = self.stopped_reason or "signal"
            self.stop.set()
            writer.join(timeout=5)
            self.write_status()
        return code


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="orders.py", description=__doc__.split("\n\n")[0], epilog="See the module docstring."
    )
    parser.add_argument(
        "--engine",
        action="append",
        required=True,
        metavar="URL",
        help="an engine's base URL (repeatable, all regions; tried in this order)",
    )
    parser.add_argument("--rate", type=float, default=10.0, help="orders per second (default 10)")
    parser.add_argument("--duration", type=float, help="seconds to run (default: until SIGTERM)")
    parser.add_argument("--start-seq", type=int, default=1, help="first seq (default 1)")
    parser.add_argument("--acks", type=Path, required=True, help="JSONL file of acked orders")
    parser.add_argument("--status", type=Path, help="JSON status file, rewritten every second")
    parser.add_argument("--timeout", type=float, default=2.0, help="per request (s, default 2)")
    parser.add_argument(
        "--retry-interval",
        type=float,
        default=0.1,
        help="pause before retrying an order that failed everywhere (s)",
    )
    parser.add_argument("--prefix", default="loadgen", help="client_order_id = <prefix>-<seq>")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.start_seq < 1 or (args.duration is not None and args.duration <= 0):
        parser.error("--rate and --duration must be positive, --start-seq at least 1")
    for url in args.engine:
        if not url.startswith(("http://", "https://")):
            parser.error(f"--engine {url!r} is not an http(s) URL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    gen = LoadGen(
        args.engine,
        args.rate,
        args.acks,
        status=args.status,
        start_seq=args.start_seq,
        duration=args.duration,
        timeout=args.timeout,
        retry_interval=args.retry_interval,
        prefix=args.prefix,
    )

    def on_signal(signum, _frame) -> None:
        gen.stopped_reason = signal.Signals(signum).name
        gen.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = gen.run()
    snap = gen.snapshot()
    print(
        json.dumps(
            {k: snap[k] for k in ("acked", "last_acked_seq", "longest_gap", "stopped_reason")},
            sort_keys=True,
        )
    )
    return code


if __name__ == "__main__":
    sys.exit(main())

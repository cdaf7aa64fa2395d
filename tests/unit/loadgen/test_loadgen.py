"""The DR drill client (lab/loadgen): orders.py against tiny fake engines on 127.0.0.1
that share one fake database, and verify.py's report.

Every server and process started here is stopped; every run is bounded in time.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LOADGEN = ROOT / "lab" / "loadgen"
sys.path.insert(0, str(LOADGEN))
import orders  # noqa: E402
import verify  # noqa: E402


class Database:
    """What the fake engines write to: seq -> client_order_id."""

    def __init__(self):
        self.rows: dict[int, str] = {}
        self.lock = threading.Lock()


class FakeEngine:
    """POST /orders like refengine, with a switchable mode:
    ok | read_only | unavailable | lose_answer (commit, then drop the connection)."""

    def __init__(self, name: str, region: str, db: Database, mode: str = "ok"):
        self.name, self.region, self.db, self.mode = name, region, db, mode
        self.requests = 0
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                engine.requests += 1
                order = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                mode = engine.mode
                if mode in ("read_only", "unavailable"):
                    return self._send(503, {"reason": mode, "committed": False})
                with engine.db.lock:
                    stored = engine.db.rows.get(order["seq"])
                    if stored is not None:
                        return self._send(
                            409,
                            {
                                "reason": "duplicate",
                                "stored": {
                                    "seq": order["seq"],
                                    "client_order_id": stored,
                                    "engine": engine.name,
                                    "region": engine.region,
                                },
                            },
                        )
                    engine.db.rows[order["seq"]] = order["client_order_id"]
                if mode == "lose_answer":
                    engine.mode = "ok"  # once
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                return self._send(
                    201,
                    {
                        "seq": order["seq"],
                        "region": engine.region,
                        "engine": engine.name,
                        "committed": True,
                    },
                )

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@contextmanager
def engines(*specs):
    db = Database()
    started = [FakeEngine(name, region, db, mode) for name, region, mode in specs]
    try:
        yield db, started
    finally:
        for engine in started:
            engine.close()


def read_acks(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_in_thread(gen: orders.LoadGen) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(gen.run()), daemon=True)
    thread.start()
    return thread, result


def wait_until(predicate, timeout=10.0, what=""):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# ------------------------------------------------------------------- orders.py
def test_a_steady_run_acks_consecutive_seqs_on_the_first_engine(tmp_path):
    with engines(("east", "us-east-1", "ok"), ("west", "us-west-2", "ok")) as (db, (east, west)):
        acks, status = tmp_path / "acks.jsonl", tmp_path / "status.json"
        gen = orders.LoadGen(
            [east.url, west.url], rate=40, acks=acks, status=status, start_seq=100, duration=1.5
        )
        assert gen.run() == 0
        records = read_acks(acks)
        seqs = [r["seq"] for r in records]
        assert len(seqs) >= 20 and seqs == list(range(100, 100 + len(seqs)))
        # Paced: about rate x duration, never a burst.
        assert len(seqs) <= 40 * 1.5 + 2
        assert {r["url"] for r in records} == {east.url} and west.requests == 0
        first = records[0]
        assert first["engine"] == "east" and first["region"] == "us-east-1"
        assert first["client_order_id"] == "loadgen-100" and first["via"] == "created"
        assert first["acked_at"].endswith("Z") and 0 < first["latency"] < 2
        assert set(db.rows) == set(seqs)
        state = json.loads(status.read_text())
        assert state["running"] is False and state["stopped_reason"] == "duration"
        assert state["last_acked_seq"] == seqs[-1] and state["acked"] == len(seqs)
        assert state["per_engine"] == {east.url: len(seqs), west.url: 0}
        assert state["failure_streak"]["attempts"] == 0


def test_failover_retries_the_same_seq_and_sticks_to_the_engine_that_answers(tmp_path):
    specs = (("east", "us-east-1", "ok"), ("west", "us-west-2", "read_only"))
    with engines(*specs) as (db, (east, west)):
        acks, status = tmp_path / "acks.jsonl", tmp_path / "status.json"
        gen = orders.LoadGen(
            [east.url, west.url], rate=50, acks=acks, status=status, duration=8, retry_interval=0.05
        )
        thread, result = run_in_thread(gen)
        wait_until(lambda: gen.acked >= 10, what="acks on east")
        # The drill: east is fenced (read-only), west is still a standby.
        east.mode = "read_only"
        outage_started = time.monotonic()
        wait_until(lambda: gen.streak["attempts"] >= 5, what="a failure streak")

        def streak_in_status():
            return status.is_file() and json.loads(status.read_text())["failure_streak"]["attempts"]

        wait_until(streak_in_status, what="the streak in the status file")
        streak = json.loads(status.read_text())["failure_streak"]
        assert streak["since"] and "read_only" in streak["last_error"]
        stuck = streak["seq"]
        time.sleep(0.5)
        # West is promoted: orders flow again, through west, from the seq that was stuck.
        west.mode = "ok"
        outage = time.monotonic() - outage_started
        wait_until(lambda: gen.per_engine[west.url] >= 10, what="acks on west")
        east.mode = "ok"  # east comes back: the client stays with west (sticky)
        time.sleep(0.3)
        gen.stop.set()
        thread.join(timeout=10)
        assert result == [0]
        records = read_acks(acks)
        seqs = [r["seq"] for r in records]
        assert seqs == list(range(1, len(seqs) + 1)), "no seq skipped or repeated"
        switch = next(i for i, r in enumerate(records) if r["url"] == west.url)
        assert records[switch]["seq"] == stuck and records[switch]["attempts"] > 1
        assert all(r["url"] == west.url for r in records[switch:])
        assert records[switch]["region"] == "us-west-2"
        state = json.loads(status.read_text())
        gap = state["longest_gap"]
        assert outage - 0.3 <= gap["seconds"] <= outage + 2, (gap, outage)
        assert gap["before_seq"] == stuck and gap["after_seq"] == stuck - 1
        assert set(db.rows) == set(seqs)


def test_an_answer_lost_after_commit_is_acked_through_the_duplicate(tmp_path):
    with engines(("east", "us-east-1", "ok")) as (db, (east,)):
        assert not db.rows
        acks = tmp_path / "acks.jsonl"
        gen = orders.LoadGen([east.url], rate=20, acks=acks, duration=5, retry_interval=0.05)
        thread, result = run_in_thread(gen)
        wait_until(lambda: gen.acked >= 3, what="three acks")
        east.mode = "lose_answer"
        wait_until(lambda: gen.acked >= 8, what="acks after the lost answer")
        gen.stop.set()
        thread.join(timeout=10)
        records = read_acks(acks)
        via = [r for r in records if r["via"] == "duplicate"]
        assert len(via) == 1 and via[0]["attempts"] == 2
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        assert result == [0]


def test_a_seq_taken_by_another_order_stops_the_run(tmp_path):
    with engines(("east", "us-east-1", "ok")) as (db, (east,)):
        db.rows[3] = "someone-else-3"
        gen = orders.LoadGen([east.url], rate=50, acks=tmp_path / "acks.jsonl", duration=5)
        assert gen.run() == 3
        assert gen.last_acked_seq == 2 and "taken by another order" in gen.stopped_reason


def test_sigterm_stops_the_process_cleanly(tmp_path):
    with engines(("east", "us-east-1", "ok")) as (_db, (east,)):
        acks, status = tmp_path / "acks.jsonl", tmp_path / "status.json"
        proc = subprocess.Popen(
            [
                sys.executable,
                str(LOADGEN / "orders.py"),
                "--engine",
                east.url,
                "--rate",
                "30",
                "--acks",
                str(acks),
                "--status",
                str(status),
                "--start-seq",
                "500",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until(
                lambda: status.is_file() and json.loads(status.read_text())["acked"] >= 5,
                what="a status file with acks",
            )
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err
        summary = json.loads(out.splitlines()[-1])
        state = json.loads(status.read_text())
        assert state["stopped_reason"] == summary["stopped_reason"] == "SIGTERM"
        assert state["running"] is False
        assert summary["last_acked_seq"] == read_acks(acks)[-1]["seq"] == 499 + summary["acked"]


@pytest.mark.parametrize(
    "args", [["--rate", "0"], ["--engine", "ftp://x.invalid"], ["--start-seq", "0"]]
)
def test_bad_command_lines_exit_2(args, tmp_path, capsys):
    base = ["--engine", "http://127.0.0.1:9", "--acks", str(tmp_path / "a")]
    with pytest.raises(SystemExit) as exc:
        orders.parse_args(base + args)
    assert exc.value.code == 2


# ------------------------------------------------------------------- verify.py
def ack(seq: int, at: str, url: str = "http://e", region: str = "us-east-1") -> dict:
    return {"seq": seq, "acked_at": at, "url": url, "region": region}


ACKS = [
    ack(1, "2026-12-06T10:00:00.000Z"),
    ack(2, "2026-12-06T10:00:00.100Z"),
    ack(3, "2026-12-06T10:00:00.200Z"),
    # the outage: 4.3 s without an ack, then the DR region answers
    ack(4, "2026-12-06T10:00:04.500Z", "http://w", "us-west-2"),
    ack(5, "2026-12-06T10:00:04.600Z", "http://w", "us-west-2"),
]


def test_verify_finds_nothing_lost_and_the_outage():
    report = verify.verify(ACKS, [1, 2, 3, 4, 5, 6])
    assert report["ok"] and report["lost"] == [] and report["lost_count"] == 0
    assert report["present_not_acked"] == [6]
    gap = report["longest_gap"]
    assert gap["seconds"] == 4.3 and (gap["after_seq"], gap["before_seq"]) == (3, 4)
    assert gap["from"] == "http://e" and gap["to"] == "http://w"
    assert report["acks_by_region"] == {"us-east-1": 3, "us-west-2": 2}


def test_verify_reports_acked_orders_the_database_lacks(tmp_path):
    report = verify.verify(ACKS, [1, 2, 4, 5])
    assert not report["ok"] and report["lost"] == [3] and report["lost_count"] == 1
    acks = tmp_path / "acks.jsonl"
    acks.write_text("".join(json.dumps(a) + "\n" for a in ACKS))
    present = tmp_path / "present.txt"
    present.write_text("1\n2\n4\n5\n\n")
    assert verify.main(["--acks", str(acks), "--present", str(present)]) == 1
    present.write_text("1\n2\n3\n4\n5\n")
    assert verify.main(["--acks", str(acks), "--present", str(present)]) == 0
    present.write_text("1\nnot-a-seq\n")
    assert verify.main(["--acks", str(acks), "--present", str(present)]) == 2


def test_verify_reads_what_orders_writes(tmp_path):
    with engines(("east", "us-east-1", "ok")) as (db, (east,)):
        acks = tmp_path / "acks.jsonl"
        assert orders.LoadGen([east.url], rate=50, acks=acks, duration=0.5).run() == 0
        records = verify.read_acks(acks.read_text().splitlines())
        report = verify.verify(records, db.rows)
        assert report["ok"] and report["acked"] == len(db.rows) > 5
        del db.rows[2]
        assert verify.verify(verify.read_acks(acks.read_text().splitlines()), db.rows)["lost"] == [
            2
        ]

"""Orders in the reference engine (refengine/orders.py): the logic against a fake DB-API
driver that behaves like psycopg2 on a primary, a standby, a fenced primary and a
database that is gone. The real PostgreSQL round trip is tests/integration/databases.

Only 127.0.0.1 is used; every server started here is shut down.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENGINE_DIR = ROOT / "lab" / "reference_engine"
sys.path.insert(0, str(ENGINE_DIR))
from refengine.config import ConfigError, redact, validate  # noqa: E402
from refengine.engine import Engine, make_handler  # noqa: E402
from refengine.orders import BadOrder, load_driver, parse_order  # noqa: E402

from .test_refengine import ENGINE_PYTHON, parse_metrics, run_to_exit, write_config  # noqa: E402

PASSWORD = "s3cret-db-pass-for-tests"


# ------------------------------------------------------------------- a fake psycopg2
class FakeError(Exception):
    def __init__(self, message: str, pgcode: str | None = None):
        super().__init__(message)
        self.pgcode = pgcode


class FakeOperationalError(FakeError):
    pass


class FakeInterfaceError(FakeError):
    pass


class FakeDatabase:
    """What the server holds and how it behaves: mode primary | standby | fenced | down."""

    def __init__(self):
        self.rows: dict[int, tuple] = {}
        self.mode = "primary"
        self.connects: list[dict] = []
        self.terminate_next = False  # the fence ends the session mid-statement
        self.commit_fails_after_apply = False  # the connection drops after COMMIT reached it


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.result = None

    def execute(self, sql: str, params=()):
        db = self.conn.db
        if self.conn.closed:
            raise FakeInterfaceError("connection already closed")
        if db.terminate_next:
            db.terminate_next = False
            self.conn.closed = 2
            raise FakeOperationalError(
                "terminating connection due to administrator command", "57P01"
            )
        if sql.startswith("INSERT"):
            if db.mode in ("standby", "fenced"):
                raise FakeError("cannot execute INSERT in a read-only transaction", "25006")
            seq, client_id = params[0], params[1]
            visible = {**db.rows, **self.conn.pending}
            if seq in visible:
                self.result = None
                return
            if any(row[1] == client_id for row in visible.values()):
                raise FakeError("duplicate key value violates unique constraint", "23505")
            self.conn.pending[seq] = (*params, "2026-12-06T12:00:00+00:00")
            self.result = (seq,)
        elif sql.startswith("SELECT pg_is_in_recovery"):
            self.result = (
                db.mode == "standby",
                "on" if db.mode in ("standby", "fenced") else "off",
            )
        elif "WHERE seq" in sql:
            self.result = db.rows.get(params[0])
        elif "WHERE client_order_id" in sql:
            self.result = next((r for r in db.rows.values() if r[1] == params[0]), None)
        else:
            raise AssertionError(f"unexpected SQL {sql}")

    def fetchone(self):
        return self.result

    def close(self):
        pass


class FakeConnection:
    def __init__(self, db: FakeDatabase):
        self.db = db
        self.closed = 0
        self.pending: dict[int, tuple] = {}

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        if self.closed:
            raise FakeInterfaceError("connection already closed")
        self.db.rows.update(self.pending)
        self.pending = {}
        if self.db.commit_fails_after_apply:
            self.db.commit_fails_after_apply = False
            self.closed = 2
            raise FakeOperationalError("server closed the connection unexpectedly")

    def rollback(self):
        if self.closed:
            raise FakeInterfaceError("connection already closed")
        self.pending = {}

    def close(self):
        self.closed = 1


class FakeDriver:
    Error = FakeError
    OperationalError = FakeOperationalError
    InterfaceError = FakeInterfaceError

    def __init__(self, db: FakeDatabase):
        self.db = db

    def connect(self, **kwargs):
        self.db.connects.append(kwargs)
        if self.db.mode == "down":
            raise FakeOperationalError('connection to server at "198.18.0.51" failed: timeout')
        return FakeConnection(self.db)


# ------------------------------------------------------------------- harness
def make_config(orders=None, db=None, **sections) -> dict:
    raw = {
        "engine": {"name": "engine-west-1", "region": "us-west-2"},
        "http": {"bind": "127.0.0.1", "port": 0},
        "feed": {"udp_bind": "127.0.0.1", "udp_port": 0},
        "risk": {"max_order_qty": 1000, "max_notional": 1_000_000},
        "orders": {"enabled": True, "required": False} if orders is None else orders,
        "db": {
            "host": "db-west-1.lab.invalid",
            "port": 5432,
            "name": "trading",
            "user": "engine",
            "password": PASSWORD,
        }
        if db is None
        else db,
    }
    raw.update(sections)
    return validate(raw)


class Served:
    def __init__(self, engine: Engine, port: int):
        self.engine = engine
        self.port = port

    def request(self, method: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def order(self, seq: int, client_id: str | None = None, **fields):
        body = {
            "seq": seq,
            "client_order_id": client_id or f"lg-{seq}",
            "symbol": "AAPL",
            "side": "buy",
            "qty": 10,
            "price": 189.25,
            **fields,
        }
        return self.request("POST", "/orders", body)

    def metrics(self) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as resp:
            samples = parse_metrics(resp.read().decode())
        # {(name, ((label, value), ...)): value} -> {'name{label="value"}': value}
        return {
            name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}" if labels else ""): value
            for (name, labels), value in samples.items()
        }


@contextmanager
def serve(config: dict, db: FakeDatabase | None = None):
    from http.server import ThreadingHTTPServer

    info = {"name": "refengine", "version": "0.0.0+dev", "fault": None}
    engine = Engine(config, info, driver=FakeDriver(db) if db is not None else None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(engine))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(engine, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------- tests
def test_an_order_is_acknowledged_only_once_committed():
    db = FakeDatabase()
    with serve(make_config(), db) as engine:
        status, body = engine.order(1)
        assert (status, body) == (
            201,
            {"seq": 1, "region": "us-west-2", "engine": "engine-west-1", "committed": True},
        )
        row = db.rows[1]
        assert row[:5] == (1, "lg-1", "AAPL", "buy", 10)
        assert str(row[5]) == "189.25" and row[6:8] == ("us-west-2", "engine-west-1")
        assert engine.metrics()["orders_accepted_total"] == 1
    # One connection, with the database's timeouts and the engine's name.
    (params,) = db.connects
    assert params["dbname"] == "trading" and params["application_name"] == "engine-west-1"
    assert params["connect_timeout"] == 2 and "statement_timeout" in params["options"]


def test_a_duplicate_seq_answers_409_with_the_stored_row():
    db = FakeDatabase()
    with serve(make_config(), db) as engine:
        assert engine.order(7, "first")[0] == 201
        status, body = engine.order(7, "second", qty=99)
        assert status == 409 and body["reason"] == "duplicate" and body["field"] == "seq"
        assert body["stored"]["client_order_id"] == "first" and body["stored"]["qty"] == 10
        assert body["stored"]["price"] == "189.25"
        # The same client_order_id under another seq is a duplicate too.
        status, body = engine.order(8, "first")
        assert status == 409 and body["field"] == "client_order_id"
        assert body["stored"]["seq"] == 7
        assert len(db.rows) == 1
        assert engine.metrics()['orders_failed_total{reason="duplicate"}'] == 2


@pytest.mark.parametrize("mode", ["standby", "fenced"])
def test_a_read_only_database_answers_503_read_only(mode):
    db = FakeDatabase()
    db.mode = mode
    with serve(make_config(), db) as engine:
        status, body = engine.order(1)
        assert status == 503 and body["reason"] == "read_only" and not body["committed"]
        assert "read-only" in body["detail"]
        assert not db.rows
        # Still connected: after a promotion the same session writes again.
        db.mode = "primary"
        assert engine.order(1)[0] == 201
        assert len(db.connects) == 1
        m = engine.metrics()
        assert m['orders_failed_total{reason="read_only"}'] == 1
        assert m["orders_accepted_total"] == 1


def test_an_unreachable_database_answers_503_and_reconnects_lazily():
    db = FakeDatabase()
    db.mode = "down"
    with serve(make_config(), db) as engine:
        status, body = engine.order(1)
        assert status == 503 and body["reason"] == "unavailable"
        assert engine.order(1)[0] == 503
        assert len(db.connects) == 2  # one attempt per order, no background loop
        db.mode = "primary"
        assert engine.order(1)[0] == 201
        assert len(db.connects) == 3
        status, health = engine.request("GET", "/health")
        assert health["orders"]["connected"] is True and health["orders"]["last_error"] is None


def test_a_session_ended_by_the_fence_is_unavailable_then_reconnected():
    db = FakeDatabase()
    with serve(make_config(), db) as engine:
        assert engine.order(1)[0] == 201
        db.terminate_next = True
        status, body = engine.order(2)
        assert status == 503 and body["reason"] == "unavailable"
        assert 2 not in db.rows
        db.mode = "fenced"
        status, body = engine.order(2)
        assert status == 503 and body["reason"] == "read_only"
        assert len(db.connects) == 2


def test_a_commit_that_fails_is_not_acknowledged_and_the_retry_learns_the_outcome():
    db = FakeDatabase()
    with serve(make_config(), db) as engine:
        db.commit_fails_after_apply = True
        status, body = engine.order(5, "lg-5")
        assert status == 503 and body["committed"] is False
        # The client retries the same order: it was committed after all.
        status, body = engine.order(5, "lg-5")
        assert status == 409 and body["stored"]["client_order_id"] == "lg-5"
        assert engine.metrics()["orders_accepted_total"] == 0


def test_disabled_invalid_and_risky_orders():
    with serve(make_config(orders={"enabled": False})) as engine:
        status, body = engine.order(1)
        assert status == 503 and body["reason"] == "disabled"
        assert engine.metrics()['orders_failed_total{reason="disabled"}'] == 1
    db = FakeDatabase()
    with serve(make_config(), db) as engine:
        assert engine.order(1, side="hold")[0] == 400
        assert engine.order(0)[0] == 400
        assert engine.request("POST", "/orders", raw=b"{not json")[0] == 400
        status, body = engine.order(2, qty=5000)
        assert status == 422 and "max_order_qty" in body["detail"]
        status, body = engine.order(3, qty=1000, price=2000.0)
        assert status == 422 and "max_notional" in body["detail"]
        assert engine.request("POST", "/elsewhere", {"x": 1})[0] == 404
        assert not db.rows and not db.connects
        m = engine.metrics()
        assert m['orders_failed_total{reason="invalid"}'] == 3
        assert m['orders_failed_total{reason="risk"}'] == 2


@pytest.mark.parametrize(
    ("mode", "ready"), [("primary", True), ("standby", False), ("fenced", False), ("down", False)]
)
def test_ready_follows_the_database_only_when_orders_are_required(mode, ready):
    db = FakeDatabase()
    db.mode = mode
    with serve(make_config(orders={"enabled": True, "required": True}), db) as engine:
        status, body = engine.request("GET", "/ready")
        assert (status == 200) is ready, body
        if not ready:
            assert any("orders are required" in r for r in body["reasons"]), body
    with serve(make_config(orders={"enabled": True, "required": False}), db) as engine:
        assert engine.request("GET", "/ready")[0] == 200


def test_health_shows_region_and_orders_never_the_password():
    db = FakeDatabase()
    with serve(make_config(), db) as engine:
        engine.order(1)
        status, body = engine.request("GET", "/health")
        assert status == 200 and body["region"] == "us-west-2"
        assert body["orders"]["enabled"] is True and body["orders"]["connected"] is True
        assert body["orders"]["database"] == "db-west-1.lab.invalid:5432/trading"
        assert body["config"]["db"]["password"] == "***redacted***"
        assert PASSWORD not in json.dumps(body)


@pytest.mark.parametrize(
    ("orders", "db", "message"),
    [
        ({"enabled": True}, {"host": "h.invalid", "port": 5432, "name": "t"}, "needs [db] user"),
        (
            {"enabled": True},
            {"host": "h", "port": 70000, "name": "t", "user": "u", "password": "p"},
            "port",
        ),
        ({"enabled": False, "required": True}, {}, "required is set but enabled is not"),
        ({"enabled": "perhaps"}, {}, "expected a boolean"),
    ],
)
def test_orders_configuration_errors(orders, db, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_config(orders=orders, db=db)


def test_a_missing_driver_is_a_clear_configuration_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # import psycopg2 -> ImportError
    with pytest.raises(ConfigError, match="python3-psycopg2"):
        load_driver()
    info = {"name": "refengine", "version": "0.0.0+dev", "fault": None}
    with pytest.raises(ConfigError, match="python3-psycopg2"):
        Engine(make_config(), info)


def _has_psycopg2(python: str) -> bool:
    probe = subprocess.run(
        [python, "-I", "-c", "import psycopg2"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(
    _has_psycopg2(ENGINE_PYTHON),
    reason=f"{ENGINE_PYTHON} has psycopg2 installed: the missing-driver exit cannot be "
    "shown with it (the in-process test above covers it)",
)
def test_the_engine_process_refuses_orders_without_the_driver(tmp_path):
    config = {
        "http": {"bind": "127.0.0.1", "port": 0},
        "feed": {"udp_bind": "127.0.0.1", "udp_port": 0},
        "orders": {"enabled": True},
        "db": {"host": "h.invalid", "port": 5432, "name": "t", "user": "u", "password": PASSWORD},
    }
    path = write_config(tmp_path, config)
    for extra in ([], ["--check-config"]):
        proc = run_to_exit(
            [
                ENGINE_PYTHON,
                "-I",
                str(ENGINE_DIR / "bin" / "refengine"),
                "--config",
                str(path),
                *extra,
            ]
        )
        assert proc.returncode == 2, proc.stdout
        assert "config error" in proc.stdout and "python3-psycopg2" in proc.stdout
        assert PASSWORD not in proc.stdout


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        (
            {
                "seq": 1,
                "client_order_id": "a",
                "symbol": "X",
                "side": "buy",
                "qty": 1,
                "price": 1,
                "x": 1,
            },
            "unknown",
        ),
        (
            {
                "seq": True,
                "client_order_id": "a",
                "symbol": "X",
                "side": "buy",
                "qty": 1,
                "price": 1,
            },
            "seq",
        ),
        (
            {"seq": 1, "client_order_id": "", "symbol": "X", "side": "buy", "qty": 1, "price": 1},
            "client_order_id",
        ),
        (
            {
                "seq": 1,
                "client_order_id": "a",
                "symbol": "X",
                "side": "buy",
                "qty": 1.5,
                "price": 1,
            },
            "qty",
        ),
        (
            {
                "seq": 1,
                "client_order_id": "a",
                "symbol": "X",
                "side": "buy",
                "qty": 1,
                "price": float("nan"),
            },
            "finite",
        ),
    ],
)
def test_parse_order_rejects_what_is_not_an_order(body, message):
    with pytest.raises(BadOrder, match=message):
        parse_order(body)


def test_redact_still_hides_the_db_password():
    assert redact(make_config())["db"]["password"] == "***redacted***"

"""Orders: risk-checked, written to PostgreSQL, acknowledged only after COMMIT returned.

The engine's data path for the DR drills (docs/databases.md): ``POST /orders`` with
``{"seq", "client_order_id", "symbol", "side", "qty", "price"}`` inserts one row into the
``orders`` table of the ``db`` section's database with ``ON CONFLICT (seq) DO NOTHING``.

* 201 ``{seq, region, engine, committed: true}`` - only after COMMIT returned;
* 409 - the seq (or the client_order_id) is taken: the stored row's fields, so a client
  that retries the same order after an unclear failure learns it was committed;
* 503 ``{reason}`` - the database is read-only (a standby, or a fenced primary:
  ``read_only``), cannot be reached (``unavailable``), or orders are disabled;
* 400 / 422 - not an order / refused by the risk limits.

The driver is any DB-API 2.0 module (Debian's psycopg2 in production, a fake in the unit
tests); it is imported only when orders are enabled. The connection is opened lazily and
dropped on any connection-level error; the next order reconnects.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import math
import threading
import time
from typing import Any

from .config import ConfigError, check_db_section

SIDES = ("buy", "sell")
# SQLSTATEs that say the database will not take this write now.
READ_ONLY = "25006"  # read_only_sql_transaction: a standby, or default_transaction_read_only
UNIQUE_VIOLATION = "23505"
# Classes that mean the connection is gone or being ended (08: connection exception,
# 57: operator intervention - admin_shutdown / terminated by the fence, 53: resources).
CONNECTION_CLASSES = ("08", "57", "53")
FAILURE_REASONS = (
    "invalid",
    "risk",
    "duplicate",
    "read_only",
    "unavailable",
    "disabled",
    "database_error",
)
COLUMNS = (
    "seq", "client_order_id", "symbol", "side", "qty", "price", "region", "engine", "placed_at",
)  # fmt: skip
INSERT = (
    "INSERT INTO orders (seq, client_order_id, symbol, side, qty, price, region, engine) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (seq) DO NOTHING RETURNING seq"
)
SELECT_BY_SEQ = f"SELECT {', '.join(COLUMNS)} FROM orders WHERE seq = %s"
SELECT_BY_CLIENT_ID = f"SELECT {', '.join(COLUMNS)} FROM orders WHERE client_order_id = %s"
WRITABLE = "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"


class BadOrder(ValueError):
    """A request body that is not an order."""


def load_driver():
    """Debian's psycopg2, or a ConfigError that says how to get it."""
    try:
        import psycopg2  # only when orders are enabled
    except ImportError as exc:
        raise ConfigError(
            f"[orders] enabled needs the PostgreSQL driver psycopg2 ({exc}); "
            "install Debian's python3-psycopg2, or set [orders] enabled = false"
        ) from None
    return psycopg2


def parse_order(body: Any) -> dict:
    """Validate a request body into an order (BadOrder says what is wrong)."""
    if not isinstance(body, dict):
        raise BadOrder("the body must be a JSON object")
    unknown = sorted(set(body) - {"seq", "client_order_id", "symbol", "side", "qty", "price"})
    if unknown:
        raise BadOrder(f"unknown field(s) {', '.join(unknown)}")
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 2**63:
        raise BadOrder("'seq' must be a positive integer")
    client_id = body.get("client_order_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        raise BadOrder("'client_order_id' must be a non-empty string (at most 64 characters)")
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not 0 < len(symbol) <= 32:
        raise BadOrder("'symbol' must be a non-empty string (at most 32 characters)")
    side = body.get("side")
    if side not in SIDES:
        raise BadOrder("'side' must be 'buy' or 'sell'")
    qty = body.get("qty")
    if isinstance(qty, bool) or not isinstance(qty, int) or not 0 < qty < 2**31:
        raise BadOrder("'qty' must be a positive integer")
    price = body.get("price")
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        raise BadOrder("'price' must be a number")
    if not math.isfinite(price) or price <= 0:
        raise BadOrder("'price' must be finite and positive")
    return {
        "seq": seq,
        "client_order_id": client_id,
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "price": decimal.Decimal(str(price)),
    }


def risk_reason(order: dict, risk: dict) -> str | None:
    """Why the risk limits refuse the order, or None."""
    if order["qty"] > risk["max_order_qty"]:
        return f"qty {order['qty']} exceeds max_order_qty {risk['max_order_qty']:g}"
    notional = float(order["price"]) * order["qty"]
    if notional > risk["max_notional"]:
        return f"notional {notional:g} exceeds max_notional {risk['max_notional']:g}"
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def _close(cursor) -> None:
    with contextlib.suppress(Exception):  # a cursor of a broken connection
        cursor.close()


def sqlstate(exc: BaseException) -> str:
    return str(getattr(exc, "pgcode", "") or "")


class OrderStore:
    """One lazily opened connection, serialised by a lock (the lab's rates are small)."""

    def __init__(
        self,
        db: dict,
        engine: str,
        region: str,
        driver,
        connect_timeout: float = 2.0,
        writable_cache_seconds: float = 1.0,
    ) -> None:
        check_db_section(db)
        self.db = db
        self.engine = engine
        self.region = region
        self.driver = driver
        self.connect_timeout = connect_timeout
        self.writable_cache_seconds = writable_cache_seconds
        self.lock = threading.Lock()
        self.conn = None
        self.last_error: str | None = None
        self._writable: tuple[float, bool, str] | None = None

    # -- connection ------------------------------------------------------------------
    def _connect(self):
        timeout_ms = int(self.connect_timeout * 1000)
        return self.driver.connect(
            host=str(self.db["host"]),
            port=int(self.db["port"]),
            dbname=str(self.db["name"]),
            user=str(self.db["user"]),
            password=str(self.db["password"]),
            sslmode=str(self.db.get("sslmode") or "prefer"),
            application_name=self.engine,
            connect_timeout=max(1, math.ceil(self.connect_timeout)),
            # A primary that vanishes mid-statement must not hang the request.
            keepalives=1,
            keepalives_idle=1,
            keepalives_interval=1,
            keepalives_count=2,
            tcp_user_timeout=timeout_ms,
            options=f"-c statement_timeout={max(timeout_ms, 1000)}",
        )

    def _drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                conn.close()

    def _is_connection_error(self, exc: BaseException) -> bool:
        state = sqlstate(exc)
        if state[:2] in CONNECTION_CLASSES:
            return True
        if not state and isinstance(
            exc, (self.driver.OperationalError, self.driver.InterfaceError)
        ):
            return True
        return bool(getattr(self.conn, "closed", 0))

    def _rollback(self) -> None:
        try:
            self.conn.rollback()
        except Exception:  # a broken connection: drop it
            self._drop()

    def _fail(self, exc: BaseException) -> tuple[int, dict]:
        """Map a driver error to a 503 reason; keep the connection only if it is sound."""
        state = sqlstate(exc)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if state == READ_ONLY:
            reason = "read_only"
            self._rollback()
        elif self._is_connection_error(exc):
            reason = "unavailable"
            self._drop()
        else:
            reason = "database_error"
            self._rollback()
        self.last_error = f"{reason}: {message}"
        return 503, {"reason": reason, "detail": message, "committed": False}

    # -- orders ------------------------------------------------------------------------
    def _row(self, cur, query: str, key) -> dict | None:
        cur.execute(query, (key,))
        row = cur.fetchone()
        return None if row is None else {c: _jsonable(v) for c, v in zip(COLUMNS, row, strict=True)}

    def place(self, order: dict) -> tuple[int, dict]:
        """Insert the order; (HTTP status, body)."""
        with self.lock:
            try:
                if self.conn is None:
                    self.conn = self._connect()
                cur = self.conn.cursor()
                try:
                    cur.execute(
                        INSERT,
                        (
                            order["seq"],
                            order["client_order_id"],
                            order["symbol"],
                            order["side"],
                            order["qty"],
                            order["price"],
                            self.region,
                            self.engine,
                        ),
                    )
                    inserted = cur.fetchone()
                    if inserted is None:
                        stored = self._row(cur, SELECT_BY_SEQ, order["seq"])
                        self.conn.rollback()
                        return 409, {"reason": "duplicate", "field": "seq", "stored": stored}
                    self.conn.commit()
                finally:
                    _close(cur)
            except self.driver.Error as exc:
                if sqlstate(exc) == UNIQUE_VIOLATION:
                    return self._duplicate_client_id(order)
                return self._fail(exc)
            self.last_error = None
            self._writable = (time.monotonic(), True, "")
            return 201, {
                "seq": order["seq"],
                "region": self.region,
                "engine": self.engine,
                "committed": True,
            }

    def _duplicate_client_id(self, order: dict) -> tuple[int, dict]:
        self._rollback()
        try:
            cur = self.conn.cursor()
            try:
                stored = self._row(cur, SELECT_BY_CLIENT_ID, order["client_order_id"])
            finally:
                _close(cur)
            self.conn.rollback()
        except self.driver.Error as exc:
            return self._fail(exc)
        return 409, {"reason": "duplicate", "field": "client_order_id", "stored": stored}

    def writable(self) -> tuple[bool, str]:
        """(accepts writes, why not), probed at most once per writable_cache_seconds."""
        now = time.monotonic()
        cached = self._writable
        if cached is not None and now - cached[0] < self.writable_cache_seconds:
            return cached[1], cached[2]
        with self.lock:
            try:
                if self.conn is None:
                    self.conn = self._connect()
                cur = self.conn.cursor()
                try:
                    cur.execute(WRITABLE)
                    in_recovery, read_only = cur.fetchone()
                finally:
                    _close(cur)
                self.conn.rollback()
                if in_recovery:
                    result = (False, "read_only: the database is a standby (in recovery)")
                elif str(read_only).lower() in ("on", "true"):
                    result = (False, "read_only: the database refuses writes (fenced)")
                else:
                    result = (True, "")
            except self.driver.Error as exc:
                _, body = self._fail(exc)
                result = (False, f"{body['reason']}: {body['detail']}")
        self._writable = (time.monotonic(), *result)
        return result

    def report(self) -> dict:
        cached = self._writable
        return {
            "connected": self.conn is not None,
            "writable": None if cached is None else cached[1],
            "last_error": self.last_error,
            "database": f"{self.db['host']}:{self.db['port']}/{self.db['name']}",
        }

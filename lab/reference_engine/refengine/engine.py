"""Wiring: configuration, placement, feeds, book, and the HTTP endpoints."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import FAULTS, build_info
from .book import BadMessage, Book, decide, parse_messages
from .config import ConfigError, load, redact
from .feeds import KinesisFeed, KinesisUnavailable, UdpFeed
from .metrics import Metrics
from .orders import FAILURE_REASONS, BadOrder, OrderStore, load_driver, parse_order, risk_reason
from .placement import Placement

EXIT_CONFIG = 2
MAX_BODY_BYTES = 64 * 1024
# Small thread stacks: with mlockall(MCL_FUTURE) every thread's whole stack is locked.
THREAD_STACK_BYTES = 512 * 1024
# Binds that already include loopback (or are loopback).
WILDCARD_BINDS = ("", "0.0.0.0", "::")
LOOPBACK = "127.0.0.1"


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def listen_addresses(bind: str) -> list[str]:
    """Where the HTTP endpoints listen: http.bind, and loopback too when bind is one
    address of the host (the management address): the host's own tools (the deploy's
    health gate, the DR runbooks' order probe) reach the engine on 127.0.0.1."""
    if bind in WILDCARD_BINDS or _is_loopback(bind):
        return [bind]
    return [bind, LOOPBACK]


def shows_config(client_address: str) -> bool:
    """/health carries the (redacted) configuration only for a client on the engine's
    own host (loopback): the network sees status, version, placement, feeds, orders."""
    return _is_loopback(client_address)


def log(message: str) -> None:
    print(f"refengine: {message}", flush=True)


class Engine:
    def __init__(self, config: dict, info: dict, driver=None) -> None:
        """driver: the DB-API module orders use (psycopg2; a fake in tests), when enabled."""
        self.config = config
        self.info = info
        self.started = time.time()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.book = Book()
        self.placement = Placement()
        self.last_error: str | None = None
        self.metrics = Metrics()
        self.udp: UdpFeed | None = None
        self.kinesis: KinesisFeed | None = None
        self.orders: OrderStore | None = None
        if config["orders"]["enabled"]:
            self.orders = OrderStore(
                config["db"],
                engine=config["engine"]["name"],
                region=config["engine"]["region"],
                driver=driver if driver is not None else load_driver(),
                connect_timeout=config["orders"]["connect_timeout"],
            )
        for reason in FAILURE_REASONS:
            self.metrics.orders_failed.setdefault(reason, 0)

    # -- orders --------------------------------------------------------------------
    def place_order(self, raw: bytes) -> tuple[int, dict]:
        """POST /orders: validate, risk-check, write; (HTTP status, JSON body)."""
        if self.orders is None:
            self.metrics.order_failed("disabled")
            return HTTPStatus.SERVICE_UNAVAILABLE, {
                "reason": "disabled",
                "detail": "orders are not enabled on this engine ([orders] enabled)",
                "committed": False,
            }
        try:
            order = parse_order(json.loads(raw))
        except (ValueError, BadOrder) as exc:
            self.metrics.order_failed("invalid")
            return HTTPStatus.BAD_REQUEST, {"reason": "invalid", "detail": str(exc)}
        refused = risk_reason(order, self.config["risk"])
        if refused:
            self.metrics.order_failed("risk")
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"reason": "risk", "detail": refused}
        code, body = self.orders.place(order)
        if code == HTTPStatus.CREATED:
            self.metrics.order_accepted()
        else:
            self.metrics.order_failed(body.get("reason", "database_error"))
        return code, body

    # -- market data ---------------------------------------------------------------
    def on_payload(self, payload: bytes, received_ns: int) -> None:
        try:
            messages = parse_messages(payload)
        except BadMessage as exc:
            self._reject(str(exc))
            return
        for msg in messages:
            with self.lock:
                try:
                    _, quote = self.book.apply(msg)
                except BadMessage as exc:
                    self._reject(str(exc))
                    continue
                result = decide(quote, self.config["risk"])
                latency = (time.perf_counter_ns() - received_ns) / 1e9
                m = self.metrics
                with m.lock:
                    m.tick_to_trade.observe(latency)
                    m.processed += 1
                    m.decisions[result] += 1

    def _reject(self, reason: str) -> None:
        with self.metrics.lock:
            self.metrics.rejected += 1
        self.last_error = reason

    # -- lifecycle -----------------------------------------------------------------
    def setup(self) -> None:
        placement = self.config["placement"]
        if placement["hugetlbfs_mount"]:
            self.placement.map_hugepages(
                placement["hugetlbfs_mount"], placement["hugepage_buffer_mb"]
            )
        if placement["mlockall"]:
            self.placement.lock_memory()
        for problem in self.placement.problems():
            log(f"placement: {problem}")
        feed = self.config["feed"]
        if feed["kinesis_stream"]:
            self.kinesis = KinesisFeed(
                stream=feed["kinesis_stream"],
                region=feed["kinesis_region"],
                endpoint_url=feed["kinesis_endpoint_url"],
                iterator=feed["kinesis_iterator"],
                poll_seconds=feed["kinesis_poll_seconds"],
                handler=self.on_payload,
            )
        if feed["udp_enabled"]:
            self.udp = UdpFeed(feed["udp_bind"], feed["udp_port"], self.on_payload)

    def start_feeds(self) -> None:
        for feed in (self.udp, self.kinesis):
            if feed is not None:
                feed.start(self.stop)

    def close(self) -> None:
        self.stop.set()
        if self.udp is not None:
            self.udp.close()

    # -- reports -------------------------------------------------------------------
    def health(self, include_config: bool = True) -> tuple[int, dict]:
        """(status, body); the body carries `config` (redacted) only with include_config."""
        problems = []
        fault = self.info["fault"]
        if fault:
            problems.append(
                f"deliberate test fault {fault!r} baked into artifact {self.info['version']}: "
                f"{FAULTS[fault]}"
            )
        if self.config["placement"]["strict"]:
            problems += self.placement.problems()
        feeds = {}
        if self.udp is not None:
            feeds["udp"] = self.udp.status()
            if not feeds["udp"]["alive"]:
                problems.append("the UDP feed thread has stopped")
        if self.kinesis is not None:
            feeds["kinesis"] = self.kinesis.status()
        with self.metrics.lock:
            processed, rejected = self.metrics.processed, self.metrics.rejected
        with self.lock:
            symbols = len(self.book.quotes)
        body = {
            "status": "failing" if problems else "ok",
            "problems": problems,
            "name": self.config["engine"]["name"],
            "region": self.config["engine"]["region"],
            "orders": self.orders_report(),
            "version": self.info["version"],
            "fault": fault,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started, 3),
            "placement": self.placement.report(),
            "feeds": feeds,
            "book": {"symbols": symbols},
            "messages_processed": processed,
            "messages_rejected": rejected,
            "last_reject": self.last_error,
        }
        if include_config:
            body["config"] = redact(self.config)
        return (HTTPStatus.SERVICE_UNAVAILABLE if problems else HTTPStatus.OK), body

    def orders_report(self) -> dict:
        orders = self.config["orders"]
        report = {"enabled": orders["enabled"], "required": orders["required"]}
        if self.orders is not None:
            report.update(self.orders.report())
        return report

    def ready(self) -> tuple[int, dict]:
        code, health = self.health(include_config=False)
        reasons = list(health["problems"])
        if self.kinesis is not None and self.kinesis.state != "reading":
            reasons.append(f"kinesis feed is {self.kinesis.state}: {self.kinesis.error}")
        if self.orders is not None and self.config["orders"]["required"]:
            writable, why = self.orders.writable()
            if not writable:
                reasons.append(
                    f"orders are required and the database does not accept writes ({why})"
                )
        ok = code == HTTPStatus.OK and not reasons
        return (HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE), {
            "ready": ok,
            "version": self.info["version"],
            "reasons": reasons,
        }

    def metrics_text(self) -> str:
        report = self.placement.report()
        gauges = {
            "book_symbols": ("Symbols with a quote in the book.", len(self.book.quotes)),
            "locked_memory_bytes": (
                "VmLck of the engine process.",
                report["locked_memory_kb"] * 1024,
            ),
            "hugepage_backed": (
                "1 when hugetlbfs pages are mapped into the engine.",
                int(report["hugepages"]["backed"]),
            ),
        }
        info = {"version": self.info["version"], "name": self.config["engine"]["name"]}
        return self.metrics.render(info, gauges)


def make_handler(engine: Engine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"refengine/{engine.info['version']}"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/health":
                self._json(*engine.health(include_config=shows_config(self.client_address[0])))
            elif path == "/ready":
                self._json(*engine.ready())
            elif path == "/metrics":
                body = engine.metrics_text().encode()
                self._send(HTTPStatus.OK, "text/plain; version=0.0.4; charset=utf-8", body)
            elif path == "/book":
                with engine.lock:
                    snapshot = engine.book.snapshot()
                self._json(HTTPStatus.OK, snapshot)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}"})

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            if path != "/orders":
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path}"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY_BYTES:
                engine.metrics.order_failed("invalid")
                self._json(
                    HTTPStatus.BAD_REQUEST,
                    {"reason": "invalid", "detail": f"a JSON body of 1..{MAX_BODY_BYTES} bytes"},
                )
                return
            self._json(*engine.place_order(self.rfile.read(length)))

        def _json(self, code: int, body: dict) -> None:
            data = (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()
            self._send(code, "application/json", data)

        def _send(self, code: int, content_type: str, data: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:
            pass  # no access log on the hot host; /metrics tells the story

    return Handler


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="refengine", description=__doc__)
    parser.add_argument("--config", required=True, help="JSON or INI configuration file")
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate the configuration, print it (secrets redacted) and exit",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        info = build_info()
    except (OSError, ValueError) as exc:
        log(f"broken artifact: {exc}")
        return EXIT_CONFIG
    if args.version:
        print(info["version"])
        return 0
    try:
        config = load(args.config)
        # Orders need the PostgreSQL driver: a missing one is a configuration error, found
        # by --check-config too (a deploy stops before the switch).
        driver = load_driver() if config["orders"]["enabled"] else None
    except ConfigError as exc:
        log(f"config error: {exc}")
        return EXIT_CONFIG
    if args.check_config:
        print(json.dumps({"build": info, "config": redact(config)}, indent=1, sort_keys=True))
        return 0

    threading.stack_size(THREAD_STACK_BYTES)
    engine = Engine(config, info, driver=driver)
    servers: list[ThreadingHTTPServer] = []
    what = "the feeds"
    try:
        engine.setup()
        port = config["http"]["port"]
        for address in listen_addresses(config["http"]["bind"]):
            what = f"http {address}:{port}"
            servers.append(ThreadingHTTPServer((address, port), make_handler(engine)))
            # the first server may have picked a free port (port 0): the others take it
            port = servers[0].server_address[1]
    except KinesisUnavailable as exc:
        log(f"config error: {exc}")
        return EXIT_CONFIG
    except OSError as exc:
        log(f"cannot bind {what}: {exc.strerror or exc}")
        for server in servers:
            server.server_close()
        engine.close()
        return EXIT_CONFIG
    for server in servers:
        server.daemon_threads = True

    def on_signal(signum, _frame) -> None:
        engine.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine.start_feeds()
    for server in servers:
        threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    listening = ",".join(f"{s.server_address[0]}:{s.server_address[1]}" for s in servers)
    udp = engine.udp.address if engine.udp else "off"
    kinesis = config["feed"]["kinesis_stream"] or "off"
    fault = f" fault={info['fault']}" if info["fault"] else ""
    orders = (
        f"{config['db']['host']}:{config['db']['port']}/{config['db']['name']}"
        if engine.orders is not None
        else "off"
    )
    log(
        f"{info['version']} pid={os.getpid()} listening http={listening} udp={udp} "
        f"kinesis={kinesis} orders={orders}{fault}"
    )
    while not engine.stop.wait(0.5):
        pass
    log("stopping")
    for server in servers:
        server.shutdown()
        server.server_close()
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

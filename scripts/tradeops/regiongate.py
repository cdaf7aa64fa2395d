"""The lab's region gate: an HTTP/1.1 proxy in front of moto that can fail a region.

moto answers every region from one process, so "us-east-1 is down" cannot be said to it.
The gate can: it sits on the lab's AWS endpoint (the port clients know as the moto port),
reads each request's region from its SigV4 credential scope, and refuses the request at
once - HTTP 503 with an AWS-style error body - when that region is listed in the lab's
failed-regions file (`tradeops lab fail-region`). Everything else is relayed to moto
unchanged (the Host header too, so moto builds the same URLs it would without the gate).

- Region: `Credential=AKID/DATE/REGION/SERVICE/aws4_request` in the Authorization header,
  or the X-Amz-Credential query parameter (presigned URLs). Unsigned requests (moto's own
  /moto-api/, health probes) pass. Global services sign with us-east-1 (IAM, Route 53):
  failing us-east-1 refuses them too, as on AWS, where Route 53's control plane lives in
  us-east-1.
- The failed-regions file (one region a line) is read on every signed request: a small
  read costs microseconds against moto's milliseconds, and a change takes effect at once.
- Every request is one JSON line in the log: time, client (the caller's address: the
  controller's 127.0.0.1 or a lab host's), region, service, action (the operation:
  X-Amz-Target's part after the dot, or Action= of a form body or the query), method, path
  (without the query), refused, status, ms.
- Keep-alive: each client connection is served by one thread (HTTP/1.1, persistent).
  Connections to the upstream are pooled and reused when it keeps them open; moto's
  server (werkzeug >= 2.1) answers every request with "Connection: close", so towards
  moto each request costs a new loopback connection (the gate's overhead, measured with
  `bench` below, is in the README's lab section).

Standard library only: `python -m tradeops.regiongate --listen HOST:PORT ... --upstream
HOST:PORT --failed-regions FILE --log FILE` (started and stopped by `tradeops lab`).
`python -m tradeops.regiongate bench --upstream HOST:PORT` measures the gate's per-call
overhead against a running moto.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from urllib.parse import parse_qsl

# Headers that belong to one hop (RFC 9110 7.6.1) and are not relayed. Expect is answered
# by the gate itself (100 Continue, before it reads the body); Transfer-Encoding is
# handled by the relay code.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "transfer-encoding",
    }
)
# A request body up to this size is read whole and sent to moto with the headers in one
# write (and can be re-sent on a fresh connection when a pooled one turns out closed);
# larger bodies are streamed.
BUFFER_LIMIT = 1 << 20
BLOCK = 1 << 16
IDLE_UPSTREAM_MAX = 32
REFUSAL = "lab: region {region} is failed (tradeops lab fail-region)"
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)  # linux/in.h; Python 3.11 lacks the name


# ---- what a request is ---------------------------------------------------------------
def credential_scope(authorization: str | None, query: str) -> tuple[str | None, str | None]:
    """(region, service) of a SigV4-signed request, or (None, None) when it is unsigned.

    The scope is AKID/DATE/REGION/SERVICE/aws4_request, from the Authorization header or
    the X-Amz-Credential query parameter (a presigned URL)."""
    scope = None
    if authorization:
        at = authorization.find("Credential=")
        if at >= 0:
            scope = authorization[at + len("Credential=") :].split(",", 1)[0].strip()
    if scope is None and "X-Amz-Credential=" in query:
        scope = dict(parse_qsl(query)).get("X-Amz-Credential")
    if not scope:
        return None, None
    parts = scope.split("/")
    # SigV4a scopes (AKID/DATE/SERVICE/aws4_request) name no region: they pass.
    if len(parts) != 5 or parts[4] != "aws4_request":
        return None, None
    return parts[2] or None, parts[3] or None


def form_action(data: bytes | str) -> str | None:
    """The Action= of a form-encoded body or a query string (the query protocol)."""
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    for pair in data.split("&"):
        if pair.startswith("Action="):
            return pair[len("Action=") :] or None
    return None


def read_failed_regions(path: Path) -> frozenset[str]:
    """The regions in the failed-regions file (one a line, # comments); none if absent."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return frozenset()
    return frozenset(
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    )


def refusal(region: str, service: str | None, json_protocol: bool) -> tuple[str, bytes]:
    """(content type, body) of the AWS-style error the gate answers for a failed region.

    Code ServiceUnavailable, in the body shape the service's protocol uses, so SDKs show
    the message (botocore: "An error occurred (ServiceUnavailable) ... : lab: region ...")."""
    message = REFUSAL.format(region=region)
    request_id = str(uuid.uuid4())
    if json_protocol:
        body = {"__type": "ServiceUnavailableException", "message": message}
        return "application/x-amz-json-1.1", json.dumps(body).encode()
    if service == "ec2":
        xml = (
            "<Response><Errors><Error><Code>ServiceUnavailable</Code>"
            f"<Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    elif service == "s3":
        xml = (
            f"<Error><Code>ServiceUnavailable</Code><Message>{message}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
    else:
        xml = (
            "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        )
    return "text/xml", ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode()


# ---- the gate --------------------------------------------------------------------------
class Upstream:
    """A pool of keep-alive connections to moto."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def get(self) -> tuple[http.client.HTTPConnection, bool]:
        """A connection and whether it was reused (a reused one may have been closed by
        the upstream meanwhile)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self.new(), False

    def new(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def put(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < IDLE_UPSTREAM_MAX:
                self._idle.append(conn)
                return
        conn.close()


class Gate:
    """What every handler thread shares: moto's pool, the failed-regions file, the log."""

    def __init__(self, upstream: tuple[str, int], failed_regions: Path, log: Path):
        self.upstream = Upstream(*upstream)
        self.failed_regions_file = failed_regions
        self._log = open(log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - process-long
        self._log_lock = threading.Lock()

    def failed(self) -> frozenset[str]:
        return read_failed_regions(self.failed_regions_file)

    def record(self, entry: dict) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._log_lock:
            self._log.write(line)


class UpstreamClosed(Exception):
    """A pooled connection to moto was closed before it answered: try a fresh one."""


class GateHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tradeops-regiongate"
    gate: Gate  # set on the subclass made by serve()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:
        # Requests are logged as JSON lines by relay(); only errors reach stderr.
        if args and str(args[0]).isdigit() and int(args[0]) < 400:
            return
        sys.stderr.write(f"regiongate: {self.address_string()} {format % args}\n")

    # Every method is relayed the same way.
    def do_GET(self) -> None:
        self.relay()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    # ---- the request's body ----------------------------------------------------------
    def _chunked_body(self):
        """The raw chunked body as it arrives (size lines, data, trailer), block by block."""
        rfile = self.rfile
        while True:
            line = rfile.readline(65537)
            yield line
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailer fields, then the empty line
                    trailer = rfile.readline(65537)
                    yield trailer
                    if trailer in (b"\r\n", b"\n", b""):
                        return
            remaining = size + 2  # the data and its CRLF
            while remaining:
                block = rfile.read(min(remaining, BLOCK))
                if not block:
                    raise ConnectionError("client closed the connection inside a chunk")
                remaining -= len(block)
                yield block

    def _discard_body(self, chunked: bool, length: int) -> None:
        if chunked:
            for _ in self._chunked_body():
                pass
        elif length > BUFFER_LIMIT:
            self.close_connection = True  # cheaper than reading it
        elif length:
            self.rfile.read(length)

    # ---- the relay ---------------------------------------------------------------------
    def relay(self) -> None:
        started = time.perf_counter()
        headers = self.headers
        path, _, query = self.path.partition("?")
        region, service = credential_scope(headers.get("Authorization"), query)
        target = headers.get("X-Amz-Target")
        action = target.rpartition(".")[2] if target else None
        chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        try:
            length = 0 if chunked else int(headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._answer(400, "text/plain", b"lab gate: bad Content-Length", False)
            return
        body = None
        if not chunked and length <= BUFFER_LIMIT:
            body = self.rfile.read(length) if length else b""
        if action is None:
            ctype = headers.get("Content-Type") or ""
            if body and ctype.startswith("application/x-www-form-urlencoded"):
                action = form_action(body)
            if action is None and "Action=" in query:
                action = form_action(query)
        entry = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            # Who called: the controller (127.0.0.1) or a lab host (its lab address).
            "client": self.client_address[0],
            "region": region,
            "service": service,
            "action": action,
            "method": self.command,
            "path": path,
            "refused": False,
        }
        if region is not None and region in self.gate.failed():
            if body is None:
                self._discard_body(chunked, length)
            json_protocol = bool(target) or "json" in (headers.get("Content-Type") or "")
            ctype, payload = refusal(region, service, json_protocol)
            self._record(entry, started, 503, refused=True)
            self._answer(503, ctype, payload, json_protocol)
            return
        self._forward(body, chunked, entry, started)

    def _record(self, entry: dict, started: float, status: int, refused: bool = False) -> None:
        """Log the request before its answer goes out: whoever has the answer finds the
        line. ms is the time until the gate had its answer (moto's headers, or the
        refusal)."""
        entry["refused"] = refused
        entry["status"] = status
        entry["ms"] = round((time.perf_counter() - started) * 1000, 2)
        self.gate.record(entry)

    def _answer(self, status: int, ctype: str, payload: bytes, json_protocol: bool) -> None:
        extra = "x-amzn-ErrorType: ServiceUnavailableException\r\n" if json_protocol else ""
        head = (
            f"HTTP/1.1 {status} {http.client.responses.get(status, '')}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n{extra}"
            f"x-amzn-RequestId: {uuid.uuid4()}\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + (b"" if self.command == "HEAD" else payload))

    def _forward(self, body: bytes | None, chunked: bool, entry: dict, started: float) -> None:
        pool = self.gate.upstream
        conn = None
        try:
            conn, reused = pool.get()
            try:
                response = self._send(conn, body, chunked)
            except UpstreamClosed:
                if not reused:
                    raise
                conn.close()
                conn = pool.new()
                response = self._send(conn, body, chunked)
        except (OSError, http.client.HTTPException, UpstreamClosed) as err:
            if conn is not None:
                conn.close()
            message = f"lab gate: moto at {pool.host}:{pool.port} did not answer: {err}"
            if body is None:
                self.close_connection = True
            self._record(entry, started, 502)
            self._answer(502, "text/plain", message.encode(), False)
            return
        self._record(entry, started, response.status)
        try:
            self._relay_response(response)
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            pool.put(conn)

    def _send(self, conn: http.client.HTTPConnection, body: bytes | None, chunked: bool):
        """Send the request to moto; UpstreamClosed when a pooled connection was dead."""
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                lower = name.lower()
                if lower not in HOP_BY_HOP and not (chunked and lower == "content-length"):
                    conn.putheader(name, value)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            if body is not None:
                conn.endheaders(body)
            else:
                conn.endheaders()
        except (BrokenPipeError, ConnectionResetError) as err:
            raise UpstreamClosed(str(err)) from err
        if body is None:
            if chunked:
                for block in self._chunked_body():
                    conn.send(block)
            else:
                remaining = int(self.headers.get("Content-Length") or 0)
                while remaining:
                    block = self.rfile.read(min(remaining, BLOCK))
                    if not block:
                        raise ConnectionError("client closed the connection inside the body")
                    conn.send(block)
                    remaining -= len(block)
        try:
            return conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as err:
            if body is None:  # a streamed body cannot be sent again
                raise
            raise UpstreamClosed(str(err)) from err

    def _relay_response(self, response: http.client.HTTPResponse) -> None:
        lines = [f"HTTP/1.1 {response.status} {response.reason}\r\n"]
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                lines.append(f"{name}: {value}\r\n")
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        if no_body or response.length is not None:
            # Content-Length known (or no body): small answers go out in one write.
            if not no_body and response.length <= BUFFER_LIMIT:
                payload = response.read()
                self.wfile.write("".join(lines).encode("latin-1") + b"\r\n" + payload)
                return
            self.wfile.write("".join(lines).encode("latin-1") + b"\r\n")
            if no_body:
                response.read()
                return
            while block := response.read(BLOCK):
                self.wfile.write(block)
            return
        # moto's body is chunked or ends when it closes: chunked to an HTTP/1.1 client,
        # read whole for an HTTP/1.0 one.
        if self.request_version != "HTTP/1.1":
            payload = response.read()
            lines.append(f"Content-Length: {len(payload)}\r\n")
            self.wfile.write("".join(lines).encode("latin-1") + b"\r\n" + payload)
            return
        lines.append("Transfer-Encoding: chunked\r\n")
        self.wfile.write("".join(lines).encode("latin-1") + b"\r\n")
        while block := response.read(BLOCK):
            self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


class GateServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self) -> None:
        # IP_FREEBIND: the lab network's gateway address exists only while its bridge
        # does; bind to it anyway, packets arrive once the bridge is up. And no reverse
        # DNS look-up of the address (HTTPServer.server_bind's getfqdn).
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), port


def serve(
    listen: list[tuple[str, int]],
    upstream: tuple[str, int],
    failed_regions: Path,
    log: Path,
    poll_interval: float = 0.5,
) -> list[GateServer]:
    """Start one server per listen address (threads); returns them, serving.
    (poll_interval: how soon shutdown() returns.)"""
    gate = Gate(upstream, failed_regions, log)
    handler = type("BoundGateHandler", (GateHandler,), {"gate": gate})
    servers = [GateServer(address, handler) for address in listen]
    for server in servers:
        threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True).start()
    return servers


def address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host, int(port)


# ---- the per-call overhead, measured ---------------------------------------------------
STS_PROBE = b"Action=GetCallerIdentity&Version=2011-06-15"


def sts_headers(region: str) -> dict[str, str]:
    """Headers of an STS GetCallerIdentity signed (in form, not in fact) for region."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20000101/{region}/sts/"
        "aws4_request, SignedHeaders=host, Signature=0",
    }


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(upstream: tuple[str, int], calls: int, rounds: int) -> dict:
    """STS calls on one keep-alive connection, straight to moto and through a gate
    process, alternating rounds; the median per-call wall time of each and the gate's
    CPU time per call."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="regiongate-bench-"))
    gate = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradeops.regiongate",
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            f"{upstream[0]}:{upstream[1]}",
            "--failed-regions",
            str(work / "failed-regions"),
            "--log",
            str(work / "gate.jsonl"),
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        per_call: dict[str, list[float]] = {"direct": [], "gate": []}
        gate_cpu = 0.0
        headers = sts_headers("us-east-1")
        for _ in range(rounds):
            for kind, target in (("direct", upstream), ("gate", ("127.0.0.1", port))):
                conn = http.client.HTTPConnection(*target, timeout=30)
                cpu_before = _cpu_seconds(gate.pid)
                started = time.perf_counter()
                for _ in range(calls):
                    conn.request("POST", "/", STS_PROBE, headers)
                    response = conn.getresponse()
                    assert response.status == 200, response.status
                    response.read()
                elapsed = time.perf_counter() - started
                if kind == "gate":
                    gate_cpu += _cpu_seconds(gate.pid) - cpu_before
                conn.close()
                per_call[kind].append(elapsed / calls * 1000)
        direct = statistics.median(per_call["direct"])
        through = statistics.median(per_call["gate"])
        return {
            "calls_per_round": calls,
            "rounds": rounds,
            "direct_ms_per_call": round(direct, 3),
            "gate_ms_per_call": round(through, 3),
            "overhead_ms_per_call": round(through - direct, 3),
            "gate_cpu_ms_per_call": round(gate_cpu / (calls * rounds) * 1000, 3),
        }
    finally:
        gate.terminate()
        gate.wait(timeout=10)
        for name in ("failed-regions", "gate.jsonl"):
            (work / name).unlink(missing_ok=True)
        work.rmdir()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        parser = argparse.ArgumentParser(prog="python -m tradeops.regiongate bench")
        parser.add_argument("--upstream", type=address, required=True, help="moto's HOST:PORT")
        parser.add_argument("--calls", type=int, default=500)
        parser.add_argument("--rounds", type=int, default=5)
        args = parser.parse_args(argv[1:])
        print(json.dumps(bench(args.upstream, args.calls, args.rounds), indent=2))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m tradeops.regiongate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--listen", type=address, action="append", required=True)
    parser.add_argument("--upstream", type=address, required=True)
    parser.add_argument("--failed-regions", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    servers = serve(args.listen, args.upstream, args.failed_regions, args.log)
    print(
        "regiongate: listening on "
        + ", ".join(f"{h}:{p}" for h, p in args.listen)
        + f"; upstream {args.upstream[0]}:{args.upstream[1]}",
        file=sys.stderr,
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A recording HTTP proxy in front of moto: counts AWS API calls, mutating and read.

Every AWS module of a run talks to the proxy (the lab inventory's endpoint port), which
forwards to moto and records each call's operation. Operations come from the request
itself, whatever the protocol: ``X-Amz-Target`` (JSON services), ``Action=`` (query
services: EC2, IAM, STS ...) or, for REST services (S3, Route 53), the HTTP method.
"""

from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup", "Search", "Batch Get")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"}


def operation(method: str, path: str, headers, body: bytes) -> str:
    """Name the API operation of one request (REST calls as 'METHOD /service')."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if body and b"Action=" in body[:4096]:
        match = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body)
        if match:
            return match.group(1).decode()
    query = urllib.parse.urlparse(path).query
    action = urllib.parse.parse_qs(query).get("Action")
    if action:
        return action[0]
    route = urllib.parse.urlparse(path).path
    if route.startswith("/2013-04-01/"):
        # Route 53 reads its tags of many resources with a POST to /tags/<type>.
        parts = route.strip("/").split("/")
        if method == "POST" and parts[1:2] == ["tags"] and len(parts) == 3:
            return "ListTagsForResources"
        return f"{method} route53"
    if route.startswith("/clusters"):
        # EKS (REST JSON): reads are GETs, every change a POST/DELETE.
        return f"{method} eks"
    return f"{method} s3"


def is_read(op: str) -> bool:
    if op.startswith(("GET ", "HEAD ")):
        return True
    return op.startswith(READ_PREFIXES)


class ApiLog:
    """Proxy on 127.0.0.1:<free port> → moto; ``calls`` is the list of operations seen."""

    def __init__(self, upstream_port: int):
        self.calls: list[str] = []
        self._lock = threading.Lock()
        log = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                op = operation(self.command, self.path, self.headers, body)
                with log._lock:
                    log.calls.append(op)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in _HOP_HEADERS and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def mark(self) -> int:
        """Position in the log, to count the calls made after it."""
        with self._lock:
            return len(self.calls)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return list(self.calls[mark:])

    @staticmethod
    def summary(calls: list[str]) -> dict[str, int]:
        mutating = [c for c in calls if not is_read(c)]
        return {"total": len(calls), "read": len(calls) - len(mutating), "mutating": len(mutating)}

    @staticmethod
    def mutating(calls: list[str]) -> Counter:
        return Counter(c for c in calls if not is_read(c))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

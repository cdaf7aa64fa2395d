"""The region gate against a tiny upstream of the test's own on 127.0.0.1.

What the gate reads from a request (region, service, action), refusing a failed region at
once with an error the AWS SDK parses, relaying everything else unchanged, one JSON log
line a request, and keep-alive on the client's connection and (where the upstream allows
it) towards the upstream.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tradeops import regiongate
from tradeops.regiongate import credential_scope, form_action, read_failed_regions

SIGNED = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{region}/{service}/aws4_request, "
SIGNED += "SignedHeaders=host;x-amz-date, Signature=abc"
REFUSAL = "lab: region {} is failed (tradeops lab fail-region)"


def auth(region: str, service: str = "sts") -> str:
    return SIGNED.format(region=region, service=service)


# ---- parsing -----------------------------------------------------------------------------
def test_region_and_service_from_the_authorization_header():
    assert credential_scope(auth("us-west-2", "ssm"), "") == ("us-west-2", "ssm")
    assert credential_scope(auth("us-east-1", "iam"), "") == ("us-east-1", "iam")


def test_region_and_service_from_a_presigned_query():
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2F"
        "us-west-2%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Signature=abc"
    )
    assert credential_scope(None, query) == ("us-west-2", "s3")


@pytest.mark.parametrize(
    ("authorization", "query"),
    [
        (None, ""),  # unsigned (moto-api, a health probe)
        (None, "Action=GetCallerIdentity"),
        ("AWS AKIDEXAMPLE:signature", ""),  # SigV2: no scope
        ("AWS4-ECDSA-P256-SHA256 Credential=AKID/20260101/s3/aws4_request, Signature=x", ""),
        ("AWS4-HMAC-SHA256 Credential=, Signature=x", ""),
    ],
)
def test_requests_without_a_sigv4_region_have_none(authorization, query):
    assert credential_scope(authorization, query) == (None, None)


def test_form_action_from_a_body_or_a_query():
    assert form_action(b"Action=DescribeVpcs&Version=2016-11-15") == "DescribeVpcs"
    assert form_action("Version=2011-06-15&Action=GetCallerIdentity") == "GetCallerIdentity"
    assert form_action(b"NoAction=1&Version=1") is None


def test_the_failed_regions_file(tmp_path):
    path = tmp_path / "failed-regions"
    assert read_failed_regions(path) == frozenset()
    path.write_text("# comment\nus-east-1\n\n  us-west-2  # why\n")
    assert read_failed_regions(path) == {"us-east-1", "us-west-2"}


# ---- a tiny upstream -----------------------------------------------------------------
class Upstream(ThreadingHTTPServer):
    """Echoes each request as JSON (method, path, headers, body's sha256 and size, the
    gate's port). /chunked answers chunked; close=True answers Connection: close on every
    request, as moto's werkzeug does."""

    daemon_threads = True

    def __init__(self, close: bool = False):
        self.requests: list[dict] = []
        self.close_each = close
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or ""):
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_any(self) -> None:
        body = self._body()
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "peer_port": self.client_address[1],
        }
        self.server.requests.append(seen)
        payload = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "yes")
        if self.server.close_each:
            self.send_header("Connection", "close")
            self.close_connection = True
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for part in (payload[:10], payload[10:]):
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_any


class GateUnderTest:
    def __init__(self, tmp_path: Path, upstream_port: int):
        self.failed_file = tmp_path / "failed-regions"
        self.log_file = tmp_path / "gate.jsonl"
        self.servers = regiongate.serve(
            [("127.0.0.1", 0)],
            ("127.0.0.1", upstream_port),
            self.failed_file,
            self.log_file,
            poll_interval=0.05,
        )
        self.port = self.servers[0].server_address[1]

    def fail(self, *regions: str) -> None:
        self.failed_file.write_text("".join(f"{r}\n" for r in regions))

    def log(self) -> list[dict]:
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def upstream():
    server = Upstream()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def gate(tmp_path, upstream):
    under_test = GateUnderTest(tmp_path, upstream.port)
    yield under_test
    under_test.stop()


def sts_call(conn, region: str, extra: dict | None = None):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": auth(region),
        "Host": "sts.lab.invalid",
        **(extra or {}),
    }
    conn.request("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", headers)
    response = conn.getresponse()
    return response, response.read()


# ---- relay -----------------------------------------------------------------------------
def test_a_request_passes_through_unchanged(gate, upstream):
    conn = gate.connection()
    response, body = sts_call(conn, "us-east-1", {"Connection": "keep-alive"})
    assert response.status == 200
    assert response.getheader("X-Upstream") == "yes"
    seen = json.loads(body)
    assert seen["method"] == "POST" and seen["path"] == "/"
    assert seen["headers"]["host"] == "sts.lab.invalid"  # as the client sent it
    assert seen["headers"]["authorization"] == auth("us-east-1")
    assert "connection" not in seen["headers"]  # hop-by-hop, not relayed
    body_sent = b"Action=GetCallerIdentity&Version=2011-06-15"
    assert seen["sha256"] == hashlib.sha256(body_sent).hexdigest()
    (entry,) = gate.log()
    assert entry["client"] == "127.0.0.1"
    assert entry["region"] == "us-east-1" and entry["service"] == "sts"
    assert entry["action"] == "GetCallerIdentity"
    assert (entry["method"], entry["path"], entry["refused"], entry["status"]) == (
        "POST",
        "/",
        False,
        200,
    )
    assert entry["time"].endswith("+00:00") and entry["ms"] >= 0


def test_a_failed_region_is_refused_at_once_and_restored(gate, upstream):
    gate.fail("us-east-1")
    conn = gate.connection()
    response, body = sts_call(conn, "us-east-1")
    assert response.status == 503
    assert REFUSAL.format("us-east-1") in body.decode()
    assert b"<Code>ServiceUnavailable</Code>" in body
    assert upstream.requests == []  # never reached the upstream
    # The other region passes, on the same connection.
    response, _ = sts_call(conn, "us-west-2")
    assert response.status == 200
    assert len(upstream.requests) == 1
    # Restored: the region passes again at once.
    gate.failed_file.unlink()
    response, _ = sts_call(conn, "us-east-1")
    assert response.status == 200
    log = gate.log()
    assert [(e["region"], e["refused"], e["status"]) for e in log] == [
        ("us-east-1", True, 503),
        ("us-west-2", False, 200),
        ("us-east-1", False, 200),
    ]


def test_the_region_of_a_presigned_url_is_refused_too(gate, upstream):
    gate.fail("us-west-2")
    conn = gate.connection()
    query = (
        "X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Signature=0"
    )
    conn.request("GET", f"/bucket/key?{query}")
    response = conn.getresponse()
    body = response.read()
    assert response.status == 503
    assert body.decode().count("<Error>") == 1 and REFUSAL.format("us-west-2") in body.decode()
    (entry,) = gate.log()
    assert (entry["region"], entry["service"], entry["path"], entry["refused"]) == (
        "us-west-2",
        "s3",
        "/bucket/key",  # the query (signatures) is not logged
        True,
    )


def test_json_protocols_get_a_json_error_and_their_action_logged(gate, upstream):
    gate.fail("us-west-2")
    conn = gate.connection()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonSSM.GetParameter",
        "Authorization": auth("us-west-2", "ssm"),
    }
    conn.request("POST", "/", b'{"Name": "/tradeops/lab/dr/active"}', headers)
    response = conn.getresponse()
    error = json.loads(response.read())
    assert response.status == 503
    assert error == {
        "__type": "ServiceUnavailableException",
        "message": REFUSAL.format("us-west-2"),
    }
    (entry,) = gate.log()
    assert (entry["service"], entry["action"], entry["refused"]) == ("ssm", "GetParameter", True)


def test_unsigned_requests_pass_even_with_every_region_failed(gate, upstream):
    gate.fail("us-east-1", "us-west-2")
    conn = gate.connection()
    conn.request("POST", "/moto-api/reset")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert upstream.requests[0]["path"] == "/moto-api/reset"
    (entry,) = gate.log()
    assert entry["region"] is None and entry["refused"] is False


def test_the_action_of_a_query_string(gate, upstream):
    conn = gate.connection()
    conn.request(
        "GET",
        "/?Action=DescribeRegions&Version=2016-11-15",
        headers={"Authorization": auth("us-west-2", "ec2")},
    )
    conn.getresponse().read()
    (entry,) = gate.log()
    assert (entry["service"], entry["action"], entry["method"]) == ("ec2", "DescribeRegions", "GET")


# ---- keep-alive, bodies, the upstream -------------------------------------------------
def read_response(sock_file) -> tuple[int, dict, bytes]:
    status = int(sock_file.readline().split()[1])
    headers = {}
    while (line := sock_file.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = sock_file.read(int(headers.get("content-length", 0)))
    return status, headers, body


def test_several_requests_on_one_client_connection_and_one_upstream_connection(gate, upstream):
    gate.fail("us-east-1")
    with socket.create_connection(("127.0.0.1", gate.port)) as sock:
        sock_file = sock.makefile("rb")
        statuses = []
        for region in ("us-west-2", "us-east-1", "us-west-2", "us-west-2"):
            body = b"Action=GetCallerIdentity"
            sock.sendall(
                f"POST / HTTP/1.1\r\nHost: sts.lab.invalid\r\nAuthorization: {auth(region)}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            statuses.append(read_response(sock_file)[0])
    assert statuses == [200, 503, 200, 200]  # a refusal does not close the connection
    # The upstream keeps its connections open: the gate reused one for all three.
    assert len({r["peer_port"] for r in upstream.requests}) == 1
    assert len(upstream.requests) == 3


def test_an_upstream_that_closes_every_connection_like_moto(tmp_path):
    closing = Upstream(close=True)
    gate = GateUnderTest(tmp_path, closing.port)
    try:
        conn = gate.connection()
        for _ in range(3):
            response, _ = sts_call(conn, "us-east-1")
            assert response.status == 200
        assert len({r["peer_port"] for r in closing.requests}) == 3  # a new one each time
        assert conn.sock is not None  # the client's connection stayed open
    finally:
        gate.stop()
        closing.shutdown()
        closing.server_close()


def test_large_and_chunked_bodies_both_ways(gate, upstream):
    big = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a bit: streamed, not buffered
    conn = gate.connection()
    headers = {"Authorization": auth("us-east-1", "s3")}
    conn.request("PUT", "/bucket/big", big, headers)
    response = conn.getresponse()
    seen = json.loads(response.read())
    assert (seen["size"], seen["sha256"]) == (len(big), hashlib.sha256(big).hexdigest())
    # A chunked request body, answered with a chunked response.
    parts = [b"first part,", b"second part"]
    conn.request("PUT", "/chunked/obj", iter(parts), headers, encode_chunked=True)
    response = conn.getresponse()
    seen = json.loads(response.read())
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert seen["headers"]["transfer-encoding"] == "chunked"
    assert seen["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
    # HEAD: headers only, and the connection goes on.
    conn.request("HEAD", "/bucket/big", headers=headers)
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b""
    assert [e["method"] for e in gate.log()] == ["PUT", "PUT", "HEAD"]


def test_expect_100_continue_is_answered_by_the_gate(gate, upstream):
    body = b"x" * 1000
    with socket.create_connection(("127.0.0.1", gate.port)) as sock:
        sock_file = sock.makefile("rb")
        sock.sendall(
            f"PUT /bucket/obj HTTP/1.1\r\nHost: s3.lab.invalid\r\n"
            f"Authorization: {auth('us-east-1', 's3')}\r\nExpect: 100-continue\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        assert sock_file.readline().startswith(b"HTTP/1.1 100")
        assert sock_file.readline() == b"\r\n"
        sock.sendall(body)
        status, _, answer = read_response(sock_file)
    assert status == 200
    seen = json.loads(answer)
    assert seen["size"] == 1000 and "expect" not in seen["headers"]


def test_an_upstream_that_is_down_is_a_502(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    gate = GateUnderTest(tmp_path, dead_port)
    try:
        response, body = sts_call(gate.connection(), "us-east-1")
        assert response.status == 502 and b"did not answer" in body
        assert gate.log()[0]["status"] == 502
    finally:
        gate.stop()


# ---- what the AWS SDK makes of a refusal ----------------------------------------------
@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("sts", lambda c: c.get_caller_identity(), "ServiceUnavailable"),  # query, XML
        ("ec2", lambda c: c.describe_vpcs(), "ServiceUnavailable"),  # ec2, XML
        ("s3", lambda c: c.list_objects_v2(Bucket="b"), "ServiceUnavailable"),  # rest-xml
        ("route53", lambda c: c.list_hosted_zones(), "ServiceUnavailable"),  # rest-xml, global
        ("ssm", lambda c: c.get_parameter(Name="/x"), "ServiceUnavailableException"),  # json
    ],
)
def test_boto3_reports_the_refusal_with_the_labs_message(gate, upstream, service, call, code):
    gate.fail("us-east-1")
    client = boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{gate.port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    with pytest.raises(ClientError) as error:
        call(client)
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert REFUSAL.format("us-east-1") in str(error.value)
    assert upstream.requests == []
    assert gate.log()[-1]["refused"] is True


def test_a_bad_content_length_is_a_400_and_the_connection_closes(gate, upstream):
    with socket.create_connection(("127.0.0.1", gate.port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x.invalid\r\nContent-Length: many\r\n\r\n")
        sock_file = sock.makefile("rb")
        status, _, body = read_response(sock_file)
        assert (status, body) == (400, b"lab gate: bad Content-Length")
        assert sock_file.read() == b""  # closed
    assert upstream.requests == []

"""Tests of the lab's reference engine (lab/reference_engine), run as a real process.

Only 127.0.0.1 is used; every loop is bounded in time; every started process is stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENGINE_DIR = ROOT / "lab" / "reference_engine"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The engine is stdlib-only and runs on Debian's python3: test it with that when present.
ENGINE_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
# A start takes well under a second alone; under CI's load (four streams, three labs, on
# two cores) one took over 30 s.
START_TIMEOUT = 90.0
_PYCACHE = shutil.ignore_patterns("__pycache__", "*.pyc")
SECRETS = ("hunter2-db-pass", "s3cr3t-redis", "venue-api-key-123")

sys.path.insert(0, str(ENGINE_DIR))
import build_artifacts  # noqa: E402
from refengine.placement import cpu_list, parse_smaps  # noqa: E402

# ------------------------------------------------------------------------- harness

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(port: int, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of GET http://127.0.0.1:<port><path>."""
    try:
        with _NO_PROXY.open(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def get_json(port: int, path: str) -> tuple[int, dict]:
    status, ctype, body = http_get(port, path)
    assert ctype == "application/json", (path, ctype)
    return status, json.loads(body)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Running:
    proc: subprocess.Popen
    port: int
    log: list[str] = field(default_factory=list)

    def health(self) -> tuple[int, dict]:
        return get_json(self.port, "/health")

    def metrics(self) -> dict:
        status, ctype, body = http_get(self.port, "/metrics")
        assert status == 200
        assert ctype.startswith("text/plain; version=0.0.4")
        return parse_metrics(body)


def _read_line(proc: subprocess.Popen, deadline: float) -> str | None:
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not sel.select(remaining):
            return None
    return proc.stdout.readline()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout:
        proc.stdout.close()


def write_config(directory: Path, config: dict | str, name: str = "engine.json") -> Path:
    path = directory / name
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return path


def base_config(**sections) -> dict:
    config = {
        "http": {"bind": "127.0.0.1", "port": 0},
        "feed": {"udp_bind": "127.0.0.1", "udp_port": 0},
    }
    config.update(sections)
    return config


@contextmanager
def engine(
    config_path: Path,
    root: Path = ENGINE_DIR,
    python: str = ENGINE_PYTHON,
    isolated: bool = True,
    **popen,
):
    cmd = [
        python,
        *(["-I"] if isolated else []),
        str(root / "bin" / "refengine"),
        "--config",
        str(config_path),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        log: list[str] = []
        while True:
            line = _read_line(proc, deadline)
            if not line:
                raise AssertionError(f"engine did not start: rc={proc.poll()} log={log}")
            log.append(line.rstrip("\n"))
            match = re.search(r"listening http=127\.0\.0\.1:(\d+)", line)
            if match:
                break
        yield Running(proc, int(match.group(1)), log)
    finally:
        _stop(proc)


def run_to_exit(args: list[str], timeout: float = 15, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **popen)


def send_udp(port: int, payloads: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for payload in payloads:
            sock.sendto(payload, ("127.0.0.1", port))


def tick(symbol: str, bid: float, ask: float, seq: int | None = None, **extra) -> bytes:
    msg = {"symbol": symbol, "bid": bid, "ask": ask, "bid_size": 10, "ask_size": 20, **extra}
    if seq is not None:
        msg["seq"] = seq
    return json.dumps(msg).encode()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse_metrics(text: str) -> dict:
    """Strict enough parse of the text format: {(name, ((label, value), ...)): float}."""
    types: dict[str, str] = {}
    samples: dict[tuple, float] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        name, labels, value = match.groups()
        pairs = tuple(_LABEL.findall(labels)) if labels else ()
        if labels:
            assert ",".join(f'{k}="{v}"' for k, v in pairs) == labels, line
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or types.get(base) == "histogram", f"no TYPE for {name}"
        key = (name, pairs)
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = float(value)
    return samples


def histogram(samples: dict, name: str) -> tuple[list[tuple[float, float]], float, float]:
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (n, labels), value in samples.items()
        if n == f"{name}_bucket"
    )
    return buckets, samples[(f"{name}_sum", ())], samples[(f"{name}_count", ())]


# ------------------------------------------------------------------------- pure helpers


def test_parse_smaps_on_a_recorded_hugetlbfs_mapping():
    report = parse_smaps((FIXTURES / "smaps_hugetlb.txt").read_text())
    assert report["hugetlb_kb"] == 2048
    assert report["anon_huge_kb"] == 0
    assert report["mappings"] == [
        {
            "path": "/tmp/refengine-hp/refengine-23191.buf (deleted)",
            "size_kb": 2048,
            "page_size_kb": 2048,
        }
    ]


def test_parse_smaps_without_hugepages():
    text = (FIXTURES / "smaps_hugetlb.txt").read_text().split("7f92d3200000")[0]
    assert parse_smaps(text) == {"hugetlb_kb": 0, "anon_huge_kb": 0, "mappings": []}


@pytest.mark.parametrize(
    ("cpus", "text"),
    [({0}, "0"), ({0, 1, 2, 5}, "0-2,5"), ({3, 5, 6, 7, 9}, "3,5-7,9"), (set(), "")],
)
def test_cpu_list(cpus, text):
    assert cpu_list(cpus) == text


# ------------------------------------------------------------------------- the process


def test_health_reports_version_and_placement_from_inside(tmp_path):
    cpu = min(os.sched_getaffinity(0))
    path = write_config(tmp_path, base_config())
    with engine(path, preexec_fn=lambda: os.sched_setaffinity(0, {cpu})) as eng:
        status, health = eng.health()
        assert status == 200
        assert health["status"] == "ok"
        assert health["version"] == "0.0.0+dev"  # a source checkout, not an artifact
        assert health["fault"] is None
        assert health["pid"] == eng.proc.pid
        placement = health["placement"]
        assert placement["cpu_affinity"] == sorted(os.sched_getaffinity(eng.proc.pid)) == [cpu]
        assert placement["cpu_affinity_list"] == str(cpu)
        assert placement["sched_policy"] == "SCHED_OTHER"
        assert os.sched_getscheduler(eng.proc.pid) == os.SCHED_OTHER
        assert placement["sched_priority"] == 0
        assert placement["mlockall"] == {"requested": False, "ok": None, "error": None}
        assert placement["locked_memory_kb"] == 0
        assert placement["hugepages"]["backed"] is False
        assert placement["hugepages"]["buffer"] == {"requested": False}
        assert re.fullmatch(r"127\.0\.0\.1:\d+", health["feeds"]["udp"]["bind"])
        status, ready = get_json(eng.port, "/ready")
        assert (status, ready["ready"], ready["reasons"]) == (200, True, [])
        assert http_get(eng.port, "/nope")[0] == 404


@pytest.mark.parametrize(("policy", "priority"), [("SCHED_BATCH", 0), ("SCHED_RR", 5)])
def test_scheduling_policy_is_read_from_the_kernel(tmp_path, policy, priority):
    path = write_config(tmp_path, base_config())
    with engine(path) as eng:
        try:
            os.sched_setscheduler(eng.proc.pid, getattr(os, policy), os.sched_param(priority))
        except OSError as exc:
            pytest.skip(f"cannot set {policy} here: {exc}")
        placement = eng.health()[1]["placement"]
        assert placement["sched_policy"] == policy
        assert placement["sched_priority"] == priority


def test_udp_ticks_update_the_book_and_the_metrics(tmp_path):
    path = write_config(tmp_path, base_config())
    with engine(path) as eng:
        udp_port = int(eng.health()[1]["feeds"]["udp"]["bind"].rsplit(":", 1)[1])
        good = [
            tick(sym, 100 + i, 100.5 + i, seq=i) for i in range(10) for sym in ("AAA", "BBB", "CCC")
        ]
        two_in_one = tick("DDD", 5, 6) + b"\n" + tick("EEE", 7, 8)
        bad = [b"not json", tick("AAA", 10, 9), tick("BBB", 1, 2, seq=3)]  # junk/crossed/stale
        send_udp(udp_port, [*good, two_in_one])
        # Stale only after the newer seq landed: wait before sending the bad ones.
        wait_until(lambda: eng.health()[1]["messages_processed"] == 32, what="32 processed")
        send_udp(udp_port, bad)
        wait_until(lambda: eng.health()[1]["messages_rejected"] == 3, what="3 rejected")

        samples = eng.metrics()
        assert samples[("messages_processed_total", ())] == 32
        assert samples[("messages_rejected_total", ())] == 3
        assert samples[("up", ())] == 1
        assert samples[("engine_info", (("name", "refengine"), ("version", "0.0.0+dev")))] == 1
        buckets, total, count = histogram(samples, "tick_to_trade_seconds")
        assert count == 32
        assert buckets[-1] == (float("inf"), 32)
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
        assert len(buckets) >= 10
        assert 0 < total < 32 * 1.0  # positive, and not absurd (< 1 s per tick)
        decisions = sum(v for (n, _), v in samples.items() if n == "decisions_total")
        assert decisions == 32
        assert samples[("book_symbols", ())] == 5

        status, book = get_json(eng.port, "/book")
        assert status == 200
        assert book["AAA"] == {
            "bid": 109.0,
            "ask": 109.5,
            "bid_size": 10.0,
            "ask_size": 20.0,
            "seq": 9,
        }
        assert sorted(book) == ["AAA", "BBB", "CCC", "DDD", "EEE"]
        assert "stale update for BBB" in eng.health()[1]["last_reject"]


def test_mlockall_locks_memory_when_configured(tmp_path):
    path = write_config(tmp_path, base_config(placement={"mlockall": True, "strict": True}))
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if os.geteuid() != 0 and soft != resource.RLIM_INFINITY:
        pytest.skip("locking needs root or an unlimited RLIMIT_MEMLOCK (failure: next test)")
    with engine(path) as eng:
        status, health = eng.health()
        placement = health["placement"]
        status_file = Path(f"/proc/{eng.proc.pid}/status").read_text()
        vmlck = int(re.search(r"VmLck:\s+(\d+)", status_file).group(1))
        assert status == 200
        assert placement["mlockall"] == {"requested": True, "ok": True, "error": None}
        assert placement["locked_memory_kb"] > 1024
        assert vmlck > 1024
        # one malloc arena: far below the ~230 MB that per-thread arenas would lock
        assert placement["locked_memory_kb"] < 150 * 1024
        assert eng.metrics()[("locked_memory_bytes", ())] > 1024 * 1024


@pytest.mark.skipif(
    os.geteuid() != 0 or not os.access("/usr/bin/python3", os.X_OK),
    reason="needs root and /usr/bin/python3 to start the engine as nobody",
)
def test_mlockall_failure_fails_strict_health_and_says_why():
    # A non-root engine with RLIMIT_MEMLOCK 0 is what a unit without LimitMEMLOCK /
    # CAP_IPC_LOCK gives: the health gate must catch it.
    workdir = Path(tempfile.mkdtemp(prefix="refengine-nobody-"))
    try:
        workdir.chmod(0o755)
        # a copy nobody can read, wherever the checkout lives
        for part in ("bin", "refengine"):
            shutil.copytree(ENGINE_DIR / part, workdir / part, ignore=_PYCACHE)
        path = write_config(workdir, base_config(placement={"mlockall": True, "strict": True}))
        path.chmod(0o644)

        def drop():
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))

        with engine(
            path,
            root=workdir,
            python="/usr/bin/python3",
            user=65534,
            group=65534,
            preexec_fn=drop,
        ) as eng:
            status, health = eng.health()
            assert status == 503
            assert health["status"] == "failing"
            placement = health["placement"]
            assert placement["mlockall"]["ok"] is False
            assert "RLIMIT_MEMLOCK soft=0 hard=0" in placement["mlockall"]["error"]
            assert any("mlockall failed" in p for p in health["problems"])
            assert placement["locked_memory_kb"] == 0
            status, ready = get_json(eng.port, "/ready")
            assert status == 503
            assert ready["ready"] is False
    finally:
        shutil.rmtree(workdir)


def test_hugepage_buffer_refuses_a_mount_that_is_not_hugetlbfs(tmp_path):
    plain = tmp_path / "not-huge"
    plain.mkdir()
    config = base_config(placement={"hugetlbfs_mount": str(plain), "strict": True})
    with engine(write_config(tmp_path, config)) as eng:
        status, health = eng.health()
        assert status == 503
        buffer = health["placement"]["hugepages"]["buffer"]
        assert buffer["ok"] is False
        assert "is not a hugetlbfs mount" in buffer["error"]
        assert health["placement"]["hugepages"]["backed"] is False
        assert get_json(eng.port, "/ready")[0] == 503
        assert list(plain.iterdir()) == []
    # Not strict: the same problem is reported but does not fail the health check.
    config["placement"]["strict"] = False
    with engine(write_config(tmp_path, config)) as eng:
        status, health = eng.health()
        assert status == 200
        assert health["placement"]["hugepages"]["buffer"]["ok"] is False


def _meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@pytest.fixture
def hugetlbfs_mount(tmp_path_factory):
    """A hugetlbfs mount with free huge pages for the engine's buffer.

    REFENGINE_TEST_HUGETLBFS names one that exists (a host with a reserved pool). Otherwise,
    as root, the fixture reserves two more default-size huge pages (the kernel is the
    machine's: the pool is shared), mounts hugetlbfs on a temporary directory, and after
    the test unmounts it and gives the two pages back. The skip reasons say exactly which
    of these steps this machine refused."""
    given = os.environ.get("REFENGINE_TEST_HUGETLBFS")
    if given:
        yield given
        return
    pool = Path("/proc/sys/vm/nr_hugepages")
    if os.geteuid() != 0:
        pytest.skip(
            "reserving a huge page and mounting hugetlbfs need root (this run is not), "
            "and REFENGINE_TEST_HUGETLBFS names no existing mount"
        )
    if "hugetlbfs" not in Path("/proc/filesystems").read_text():
        pytest.skip("this kernel has no hugetlbfs (not in /proc/filesystems)")
    if not os.access(pool, os.W_OK):
        pytest.skip(f"{pool} is not writable here (a container without CAP_SYS_ADMIN?)")
    pages = 2
    before = int(pool.read_text())
    free_before = _meminfo("HugePages_Free")
    pool.write_text(str(before + pages))
    reserved = int(pool.read_text()) - before
    try:
        if _meminfo("HugePages_Free") < free_before + pages:
            pytest.skip(
                f"the kernel reserved {reserved} of {pages} huge pages (memory too fragmented "
                "for a contiguous 2 MiB page right now)"
            )
        mount = tmp_path_factory.mktemp("hugetlbfs")
        done = subprocess.run(
            ["mount", "-t", "hugetlbfs", "-o", "mode=0700", "none", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"mount -t hugetlbfs refused: {done.stderr.strip()}")
        try:
            yield str(mount)
        finally:
            subprocess.run(["umount", str(mount)], check=True)
    finally:
        # Give back what this fixture added (not a stale absolute value: the pool is the
        # machine's, and something else may have changed it meanwhile).
        if reserved > 0:
            pool.write_text(str(max(0, int(pool.read_text()) - reserved)))


def test_hugepage_buffer_is_backed_on_hugetlbfs(tmp_path, hugetlbfs_mount):
    mount = hugetlbfs_mount
    config = base_config(placement={"hugetlbfs_mount": mount, "strict": True})
    with engine(write_config(tmp_path, config)) as eng:
        status, health = eng.health()
        huge = health["placement"]["hugepages"]
        assert status == 200, health["problems"]
        assert huge["buffer"]["ok"] is True
        assert huge["backed"] is True
        assert huge["hugetlb_kb"] >= huge["buffer"]["size_bytes"] // 1024
        assert any(m["path"].startswith(mount) for m in huge["mappings"])
        assert eng.metrics()[("hugepage_backed", ())] == 1


def test_secrets_are_never_shown(tmp_path):
    config = base_config(
        db={"host": "db.lab.invalid", "user": "engine", "password": SECRETS[0]},
        redis={"url": f"rediss://default:{SECRETS[1]}@cache.lab.invalid:6379/0"},
        venues={"xnys": {"endpoint": "fix://127.0.0.1:9876", "api_key": SECRETS[2]}},
    )
    path = write_config(tmp_path, config)
    checked = run_to_exit(
        [
            ENGINE_PYTHON,
            "-I",
            str(ENGINE_DIR / "bin" / "refengine"),
            "--config",
            str(path),
            "--check-config",
        ]
    )
    assert checked.returncode == 0, checked.stderr
    shown = json.loads(checked.stdout)["config"]
    assert shown["db"]["password"] == "***redacted***"
    assert shown["db"]["host"] == "db.lab.invalid"
    assert shown["redis"]["url"] == "rediss://default:***redacted***@cache.lab.invalid:6379/0"
    assert shown["venues"]["xnys"] == {
        "endpoint": "fix://127.0.0.1:9876",
        "api_key": "***redacted***",
    }
    with engine(path) as eng:
        body = http_get(eng.port, "/health")[2] + http_get(eng.port, "/metrics")[2]
        eng.proc.terminate()
        eng.proc.wait(timeout=5)
        log = "\n".join(eng.log) + eng.proc.stdout.read()
    for secret in SECRETS:
        assert secret not in checked.stdout + checked.stderr
        assert secret not in body
        assert secret not in log
    assert "***redacted***" in body


def test_ini_configuration(tmp_path):
    ini = """
[http]
bind = 127.0.0.1
port = 0
[feed]
udp_bind = 127.0.0.1
udp_port = 0
[engine]
name = refengine-ini
[risk]
max_order_qty = 5
[venue:xnys]
endpoint = fix://127.0.0.1:9876
"""
    with engine(write_config(tmp_path, ini, name="engine.ini")) as eng:
        status, health = eng.health()
        assert status == 200
        assert health["name"] == "refengine-ini"
        assert health["config"]["risk"]["max_order_qty"] == 5.0
        assert health["config"]["venues"] == {"xnys": {"endpoint": "fix://127.0.0.1:9876"}}
        udp_port = int(health["feeds"]["udp"]["bind"].rsplit(":", 1)[1])
        send_udp(udp_port, [tick("AAA", 1, 2)])  # size 10 > max_order_qty 5: risk reject
        wait_until(lambda: eng.health()[1]["messages_processed"] == 1, what="1 processed")
        decisions = eng.metrics()
        assert decisions[("decisions_total", (("result", "risk_reject"),))] == 1
        assert decisions[("decisions_total", (("result", "order"),))] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('{"http": {"port": "eighty"}}', "[http] port: invalid literal"),
        ('{"http": {"port": 70000}}', "outside 0..65535"),
        ('{"htp": {}}', "unknown section(s) htp"),
        ('{"feed": {"udp_prot": 1}}', "[feed] unknown key(s) udp_prot"),
        ('{"feed": {"udp_enabled": false}}', "no market data source"),
        ('{"placement": {"mlockall": "maybe"}}', "expected a boolean"),
        ('{"http": ', "invalid JSON"),
        (None, "cannot read"),
    ],
)
def test_invalid_configuration_exits_2_with_a_message(tmp_path, config, message):
    path = tmp_path / "engine.json"
    if config is not None:
        path.write_text(config)
    result = run_to_exit(
        [ENGINE_PYTHON, "-I", str(ENGINE_DIR / "bin" / "refengine"), "--config", str(path)]
    )
    assert result.returncode == 2
    assert "refengine: config error: " in result.stdout
    assert message in result.stdout


def test_kinesis_without_boto3_fails_clearly(tmp_path):
    fake = tmp_path / "site" / "boto3"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('boto3 hidden by the test')\n")
    config = base_config(feed={"udp_enabled": False, "kinesis_stream": "md"})
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = run_to_exit(
        [
            ENGINE_PYTHON,
            str(ENGINE_DIR / "bin" / "refengine"),
            "--config",
            str(write_config(tmp_path, config)),
        ],
        env=env,
    )
    assert result.returncode == 2
    assert "kinesis_stream is set but boto3 cannot be imported" in result.stdout
    assert "boto3 hidden by the test" in result.stdout


@pytest.mark.moto
def test_kinesis_feed_through_moto(tmp_path):
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        for key in ("AWS_PROFILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(key, None)
        client = boto3.client(
            "kinesis",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_stream(StreamName="market-data", ShardCount=2)
        config = base_config(
            feed={
                "udp_enabled": False,
                "kinesis_stream": "market-data",
                "kinesis_endpoint_url": endpoint,
                "kinesis_iterator": "TRIM_HORIZON",
                "kinesis_poll_seconds": 0.05,
            }
        )
        path = write_config(tmp_path, config)
        with engine(path, python=sys.executable, env=env) as eng:
            wait_until(lambda: get_json(eng.port, "/ready")[0] == 200, what="kinesis ready")
            for i in range(6):
                client.put_record(
                    StreamName="market-data", Data=tick(f"K{i % 3}", 1, 2), PartitionKey=f"K{i % 3}"
                )
            wait_until(lambda: eng.health()[1]["messages_processed"] == 6, what="6 processed")
            health = eng.health()[1]
            assert health["feeds"]["kinesis"]["state"] == "reading"
            assert health["feeds"]["kinesis"]["shards"] == 2
            assert "udp" not in health["feeds"]
            _, _, count = histogram(eng.metrics(), "tick_to_trade_seconds")
            assert count == 6
    finally:
        server.stop()


def test_sigterm_stops_cleanly(tmp_path):
    with engine(write_config(tmp_path, base_config())) as eng:
        eng.proc.terminate()
        assert eng.proc.wait(timeout=5) == 0
        assert "refengine: stopping" in eng.proc.stdout.read()


# ------------------------------------------------------------------------- artifacts


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    result = run_to_exit([ENGINE_PYTHON, str(ENGINE_DIR / "build_artifacts.py"), str(out)], env=env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert sorted(manifest) == ["1.0.0", "2.0.0", "3.0.0"]
    return out, manifest


def unpack(artifacts_dir: Path, version: str, dest: Path) -> Path:
    release = dest / version
    release.mkdir(parents=True)
    with tarfile.open(artifacts_dir / f"refengine-{version}.tar.gz") as tar:
        tar.extractall(release, filter="data")
    return release


def test_artifacts_are_reproducible_and_checksummed(artifacts, tmp_path):
    out, manifest = artifacts
    again = tmp_path / "again"
    assert build_artifacts.main([str(again)]) == 0
    digests = set()
    for version, entry in manifest.items():
        name = f"refengine-{version}.tar.gz"
        data = (out / name).read_bytes()
        assert data == (again / name).read_bytes(), f"{name} differs between two builds"
        digest = hashlib.sha256(data).hexdigest()
        assert entry["sha256"] == digest
        assert (out / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
        # gzip header: no file name (FLG 0) and MTIME 0, so the build time is not in it
        assert data[:2] == b"\x1f\x8b"
        assert data[3] == 0
        assert data[4:8] == b"\0\0\0\0"
        digests.add(digest)
    assert len(digests) == 3  # every version is a different artifact


def test_source_date_epoch_sets_the_mtimes(tmp_path):
    first = build_artifacts.build(tmp_path / "a", "1.0.0", None)
    second = build_artifacts.build(tmp_path / "b", "1.0.0", None, mtime=1_800_000_000)
    assert first.read_bytes() != second.read_bytes()
    with tarfile.open(second) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1_800_000_000}


def test_artifact_layout(artifacts):
    out, _ = artifacts
    with tarfile.open(out / "refengine-3.0.0.tar.gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert {m.mtime for m in members} == {build_artifacts.FIXED_MTIME}
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "root", "root")}
        modes = {m.name: m.mode for m in members}
        assert modes["bin/refengine"] == 0o644  # run as python3 -I bin/refengine
        assert modes["bin"] == modes["refengine"] == 0o755
        assert modes["refengine/engine.py"] == 0o644
        assert {
            "VERSION",
            "BUILD.json",
            "bin/refengine",
            "refengine/__init__.py",
            "refengine/engine.py",
            "config.example.json",
            "README.md",
        } <= set(names)
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert tar.extractfile("VERSION").read() == b"3.0.0\n"
        assert json.loads(tar.extractfile("BUILD.json").read()) == {
            "name": "refengine",
            "version": "3.0.0",
            "fault": "unhealthy",
        }
    with tarfile.open(out / "refengine-2.0.0.tar.gz") as tar:
        assert json.loads(tar.extractfile("BUILD.json").read())["fault"] is None


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_good_releases_are_healthy(artifacts, tmp_path, version):
    release = unpack(artifacts[0], version, tmp_path / "releases")
    with engine(write_config(tmp_path, base_config()), root=release) as eng:
        status, health = eng.health()
        assert (status, health["status"], health["version"]) == (200, "ok", version)
        assert get_json(eng.port, "/ready") == (
            200,
            {"ready": True, "version": version, "reasons": []},
        )
        info = eng.metrics()[("engine_info", (("name", "refengine"), ("version", version)))]
        assert info == 1


def test_release_3_fails_its_health_check_on_purpose(artifacts, tmp_path):
    release = unpack(artifacts[0], "3.0.0", tmp_path / "releases")
    with engine(write_config(tmp_path, base_config()), root=release) as eng:
        assert "fault=unhealthy" in eng.log[-1]
        status, health = eng.health()
        assert status == 503
        assert health["status"] == "failing"
        assert health["version"] == "3.0.0"
        assert health["fault"] == "unhealthy"
        assert "deliberate test fault 'unhealthy'" in health["problems"][0]
        status, ready = get_json(eng.port, "/ready")
        assert (status, ready["ready"]) == (503, False)
        # It is up and serving (so only the health gate can tell), and reports its version.
        assert eng.proc.poll() is None
        samples = eng.metrics()
        assert samples[("up", ())] == 1
        assert samples[("engine_info", (("name", "refengine"), ("version", "3.0.0")))] == 1
    version = run_to_exit(
        [ENGINE_PYTHON, "-I", str(release / "bin" / "refengine"), "--config", "unused", "--version"]
    )
    assert version.stdout.strip() == "3.0.0"

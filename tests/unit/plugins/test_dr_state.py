"""Unit tests for the DR state in SSM (module_utils/dr DrStateStore, module dr_state).

SSM is moto's in-process mock (mock_aws); a region that "does not answer" is a client of a
closed 127.0.0.1 port (refused at once) or of a listening socket that never accepts
(black hole: the connection times out), so the retry bounds are measured, not assumed.
"""

from __future__ import annotations

import datetime
import getpass
import http.server
import io
import json
import socket
import threading
import time
from contextlib import redirect_stdout

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.tradeops.platform.plugins.module_utils import dr
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (
    DrError,
    DrStateStore,
    authoritative,
    botocore_config,
    parse_record,
    validate_prefix,
)
from ansible_collections.tradeops.platform.plugins.modules import dr_state
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

PREFIX = "/tradeops/lab/dr"
EAST, WEST = "us-east-1", "us-west-2"
REGIONS = [EAST, WEST]
T0 = datetime.datetime(2026, 1, 5, 10, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture
def ssm():
    with mock_aws():
        yield {r: boto3.client("ssm", region_name=r) for r in REGIONS}


def store(clients, check_mode=False, now=T0):
    return DrStateStore(PREFIX, clients.__getitem__, check_mode=check_mode, now=lambda: now)


def value(client, name):
    try:
        return json.loads(client.get_parameter(Name=name)["Parameter"]["Value"])
    except client.exceptions.ParameterNotFound:
        return None


def put(client, name, data, overwrite=True):
    text = data if isinstance(data, str) else json.dumps(data)
    client.put_parameter(Name=name, Value=text, Type="String", Overwrite=overwrite)


def record(region, epoch, run_id="r", verb="failover"):
    return dr.make_record(region, epoch, run_id, verb, "test", T0)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dead_client(region, port=None, **config):
    """An SSM client of a region whose API does not answer (connection refused)."""
    return boto3.client(
        "ssm",
        region_name=region,
        endpoint_url=f"http://127.0.0.1:{port or closed_port()}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**(config or botocore_config(1, 1, 2))),
    )


# ------------------------------------------------------------------ pure functions


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"active_region": "mars", "epoch": 1}', "active_region 'mars'"),
        ('{"active_region": "us-east-1", "epoch": 0}', "epoch 0"),
        ('{"active_region": "us-east-1", "epoch": true}', "epoch True"),
        ('{"active_region": "us-east-1", "epoch": "2"}', "epoch '2'"),
        ('{"epoch": 2}', "active_region None"),
    ],
)
def test_parse_record_rejects_what_is_not_a_record(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_record(text)


def test_parse_record_accepts_a_record_with_extra_keys():
    assert parse_record('{"active_region": "us-west-2", "epoch": 7, "x": 1}')["epoch"] == 7


def test_authoritative_is_the_highest_epoch_and_reports_conflicts():
    assert authoritative({EAST: None, WEST: None}) == (None, [], None)
    top, regions, conflict = authoritative({EAST: record(EAST, 1), WEST: record(WEST, 2)})
    assert (top["active_region"], regions, conflict) == (WEST, [WEST], None)
    top, regions, conflict = authoritative({EAST: record(WEST, 2), WEST: record(WEST, 2)})
    assert (top["epoch"], regions, conflict) == (2, [EAST, WEST], None)
    _top, _regions, conflict = authoritative({EAST: record(EAST, 3), WEST: record(WEST, 3)})
    assert (
        conflict
        == "conflicting records at epoch 3: us-east-1 names us-east-1; us-west-2 names us-west-2"
    )


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("/tradeops/lab/dr", True),
        ("/a", True),
        ("tradeops/lab/dr", False),
        ("/tradeops/lab/dr/", False),
        ("/trade ops/dr", False),
        ("/aws/dr", False),
        ("/ssm-x/dr", False),
    ],
)
def test_validate_prefix(prefix, ok):
    assert (validate_prefix(prefix) == []) is ok


def test_record_json_keeps_the_documented_key_order():
    text = dr.record_json(dict(reversed(list(record(EAST, 1).items()))))
    assert list(json.loads(text)) == list(dr.RECORD_KEYS)


# ------------------------------------------------------------------ reading


def test_read_of_an_empty_state(ssm):
    result = store(ssm).read(REGIONS).result()
    assert result["records"] == {EAST: None, WEST: None}
    assert (result["authoritative"], result["active_region"], result["epoch"]) == (None, None, None)


def test_read_reports_invalid_and_unreachable_regions(ssm):
    put(ssm[EAST], f"{PREFIX}/active", "not json")
    clients = {EAST: ssm[EAST], WEST: dead_client(WEST)}
    result = store(clients).read(REGIONS).result()
    assert EAST in result["invalid"] and "not JSON" in result["invalid"][EAST]
    assert result["unreachable"][WEST].startswith("EndpointConnectionError")
    assert result["records"] == {}


def test_access_denied_is_not_unreachable():
    client = boto3.client("ssm", region_name=EAST, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_client_error("get_parameter", "AccessDeniedException", "no", 400)
        with pytest.raises(Exception, match="AccessDenied"):
            store({EAST: client}).read([EAST])


# ------------------------------------------------------------------ init (site.yml)


def test_init_creates_both_regions_once_and_never_overwrites(ssm):
    first = store(ssm)
    result = first.init(REGIONS, EAST, 1, "site-1", "init", "initial state")
    assert result["written"] == REGIONS and result["claimed"] == REGIONS
    for region in REGIONS:
        assert value(ssm[region], f"{PREFIX}/active")["active_region"] == EAST
        assert value(ssm[region], f"{PREFIX}/epochs/00000001")["run_id"] == "site-1"
    assert value(ssm[EAST], f"{PREFIX}/active")["changed_at"] == "2026-01-05T10:00:00Z"
    again = store(ssm)
    assert again.init(REGIONS, EAST, 1, "site-2", "init", "")["written"] == []
    assert again.changes == []
    # After a failover (west at epoch 2), a converge leaves both records alone.
    put(ssm[WEST], f"{PREFIX}/active", record(WEST, 2))
    later = store(ssm)
    result = later.init(REGIONS, EAST, 1, "site-3", "init", "")
    assert later.changes == []
    assert value(ssm[WEST], f"{PREFIX}/active")["epoch"] == 2
    assert result["active_region"] == WEST


def test_init_seeds_a_missing_region_with_the_authoritative_record(ssm):
    put(ssm[WEST], f"{PREFIX}/active", record(WEST, 4, "run-4"))
    result = store(ssm).init(REGIONS, EAST, 1, "site-1", "init", "")
    assert result["written"] == [EAST]
    east = value(ssm[EAST], f"{PREFIX}/active")
    assert (east["active_region"], east["epoch"], east["run_id"]) == (WEST, 4, "run-4")
    assert value(ssm[EAST], f"{PREFIX}/epochs/00000004")["active_region"] == WEST


def test_init_in_check_mode_writes_nothing(ssm):
    checking = store(ssm, check_mode=True)
    checking.init(REGIONS, EAST, 1, "site-1", "init", "")
    assert len(checking.changes) == 4
    assert value(ssm[EAST], f"{PREFIX}/active") is None


# ------------------------------------------------------------------ present (runbooks)


@pytest.fixture
def initialised(ssm):
    store(ssm).init(REGIONS, EAST, 1, "site-1", "init", "initial state")
    return ssm


def test_switchover_claims_the_next_epoch_in_both_regions_and_is_idempotent(initialised):
    ssm = initialised
    first = store(ssm)
    result = first.present(REGIONS, WEST, 2, 1, "run-2", "switchover", "drill")
    assert (result["active_region"], result["epoch"]) == (WEST, 2)
    assert result["claimed"] == REGIONS and result["written"] == REGIONS
    for region in REGIONS:
        active = value(ssm[region], f"{PREFIX}/active")
        assert (active["active_region"], active["epoch"], active["verb"]) == (WEST, 2, "switchover")
        assert value(ssm[region], f"{PREFIX}/epochs/00000002")["run_id"] == "run-2"
    again = store(ssm)
    result = again.present(REGIONS, WEST, 2, 1, "run-2", "switchover", "drill")
    assert again.changes == [] and result["written"] == []


def test_compare_and_set_fails_when_the_epoch_moved(initialised):
    store(initialised).present(REGIONS, WEST, 2, 1, "run-2", "switchover", "drill")
    with pytest.raises(DrError) as info:
        store(initialised).present(REGIONS, EAST, 3, 1, "run-3", "failback", "x")
    assert "compare-and-set failed: expected authoritative epoch 1, found 2" in info.value.msg
    assert "run_id run-2" in info.value.msg
    assert value(initialised[EAST], f"{PREFIX}/epochs/00000003") is None


def test_an_older_or_equal_epoch_for_another_region_is_refused(initialised):
    store(initialised).present(REGIONS, WEST, 2, 1, "run-2", "switchover", "drill")
    with pytest.raises(DrError, match="epoch 2 for us-east-1 is not newer than"):
        store(initialised).present(REGIONS, EAST, 2, 2, "run-x", "failback", "x")


def test_a_second_claimant_fails_naming_the_holder_and_leaves_no_claim(initialised):
    ssm = initialised
    # Another run claimed epoch 2 in us-west-2 and has not written `active` yet.
    put(ssm[WEST], f"{PREFIX}/epochs/00000002", record(WEST, 2, "run-other", "failover"), False)
    with pytest.raises(DrError) as info:
        store(ssm).present(REGIONS, WEST, 2, 1, "run-mine", "failover", "x")
    message = info.value.msg
    assert "epoch 2 is already claimed in us-west-2" in message
    assert "run_id run-other" in message
    assert "Released this run's claim of /tradeops/lab/dr/epochs/00000002 in us-east-1" in message
    assert value(ssm[EAST], f"{PREFIX}/epochs/00000002") is None
    assert value(ssm[EAST], f"{PREFIX}/active")["epoch"] == 1


def test_the_same_run_resumes_its_own_claim(initialised):
    ssm = initialised
    # A first attempt of run-2 claimed in us-east-1 and died.
    put(ssm[EAST], f"{PREFIX}/epochs/00000002", record(WEST, 2, "run-2"), False)
    resumed = store(ssm)
    result = resumed.present(REGIONS, WEST, 2, 1, "run-2", "failover", "x")
    assert result["claimed"] == [WEST] and result["written"] == REGIONS


def test_unplanned_failover_writes_the_living_region_and_reprotect_completes_it(initialised):
    ssm = initialised
    down = {EAST: dead_client(EAST), WEST: ssm[WEST]}
    with pytest.raises(DrError, match="allow_unreachable=true"):
        store(down).present(REGIONS, WEST, 2, 1, "run-2", "failover", "east down")
    result = store(down).present(REGIONS, WEST, 2, 1, "run-2", "failover", "east down", True)
    assert result["written"] == [WEST] and list(result["unreachable"]) == [EAST]
    assert value(ssm[EAST], f"{PREFIX}/active")["epoch"] == 1  # stale until reprotect
    # The old region is back: reprotect (another run) completes the decision, copied as is.
    back = store(ssm)
    result = back.present(REGIONS, WEST, 2, 2, "run-reprotect", "reprotect", "east back")
    assert result["written"] == [EAST] and result["claimed"] == [EAST]
    east = value(ssm[EAST], f"{PREFIX}/active")
    assert (east["epoch"], east["active_region"], east["run_id"]) == (2, WEST, "run-2")


def test_the_new_active_region_must_answer(initialised):
    down = {EAST: initialised[EAST], WEST: dead_client(WEST)}
    with pytest.raises(DrError, match="cannot make us-west-2 active: its own region did not"):
        store(down).present(REGIONS, WEST, 2, 1, "run-2", "failover", "x", True)


def test_no_region_answering_fails_even_with_allow_unreachable():
    clients = {EAST: dead_client(EAST), WEST: dead_client(WEST)}
    with pytest.raises(DrError, match="no region answered"):
        store(clients).present(REGIONS, WEST, 2, 1, "run-2", "failover", "x", True)


def test_an_invalid_record_stops_a_write(initialised):
    put(initialised[WEST], f"{PREFIX}/active", '{"active_region": "us-west-2"}')
    with pytest.raises(DrError, match=r"unreadable DR record\(s\).*epoch None"):
        store(initialised).present(REGIONS, WEST, 2, 1, "run-2", "failover", "x")
    assert value(initialised[EAST], f"{PREFIX}/epochs/00000002") is None


def test_conflicting_records_are_settled_by_a_new_epoch(initialised):
    put(initialised[WEST], f"{PREFIX}/active", record(WEST, 1))
    result = store(initialised).read(REGIONS).result()
    assert result["conflict"] and result["active_region"] is None
    settled = store(initialised).present(REGIONS, WEST, 2, 1, "run-2", "failover", "settle")
    assert (settled["active_region"], settled["conflict"]) == (WEST, None)


def test_present_in_check_mode_writes_nothing(initialised):
    checking = store(initialised, check_mode=True)
    result = checking.present(REGIONS, WEST, 2, 1, "run-2", "switchover", "drill")
    assert len(checking.changes) == 4 and result["active_region"] == WEST
    assert value(initialised[WEST], f"{PREFIX}/active")["epoch"] == 1
    assert value(initialised[WEST], f"{PREFIX}/epochs/00000002") is None


def _stubbed_ssm(region=EAST):
    return boto3.client("ssm", region_name=region, aws_access_key_id="x", aws_secret_access_key="y")


def test_a_concurrent_writer_of_active_is_detected():
    client = _stubbed_ssm()
    current = json.dumps(record(EAST, 1))
    with Stubber(client) as stub:
        stub.add_response("get_parameter", {"Parameter": {"Value": current, "Version": 3}})
        stub.add_client_error("get_parameter", "ParameterNotFound", "", 400)  # the claim
        stub.add_response("put_parameter", {"Version": 1})  # the claim, created
        # Someone else wrote `active` between our read (version 3) and our write.
        stub.add_response("put_parameter", {"Version": 5})
        stub.add_response("get_parameter", {"Parameter": {"Value": "theirs", "Version": 5}})
        with pytest.raises(DrError, match=r"changed while this run wrote it \(version 3 read, 5"):
            store({EAST: client}).present([EAST], WEST, 2, 1, "run-2", "failover", "x")
        stub.assert_no_pending_responses()


# ------------------------------------------------------------------ the run lock


def test_lock_resume_refusal_and_unlock(ssm):
    taken = store(ssm).lock([WEST], "alice@ops", "run-1", "failover", 3600, None)
    assert taken["acquired"] == [WEST] and taken["lock"]["expires_at"] == "2026-01-05T11:00:00Z"
    resumed = store(ssm)
    assert resumed.lock([WEST], "alice@ops", "run-1", "failover", 3600, None)["acquired"] == []
    assert resumed.changes == []
    with pytest.raises(DrError) as info:
        store(ssm).lock([WEST], "bob@ops", "run-2", "switchover", 3600, None)
    assert "another DR run holds the lock /tradeops/lab/dr/lock in us-west-2" in info.value.msg
    assert "run_id run-1" in info.value.msg and "owner alice@ops" in info.value.msg
    with pytest.raises(DrError, match="is not this run's"):
        store(ssm).unlock([WEST], "run-2")
    assert store(ssm).unlock([WEST], "run-1")["released"] == [WEST]
    assert value(ssm[WEST], f"{PREFIX}/lock") is None
    gone = store(ssm)
    assert gone.unlock([WEST], "run-1")["released"] == [] and gone.changes == []


def test_an_expired_lock_is_replaced_and_reported(ssm):
    store(ssm).lock([WEST], "alice@ops", "run-1", "failover", 3600, None)
    later = T0 + datetime.timedelta(hours=2)
    result = store(ssm, now=later).lock([WEST], "bob@ops", "run-2", "failover", 3600, None)
    assert result["broken"][WEST]["reason"] == "expired"
    assert result["broken"][WEST]["previous"]["run_id"] == "run-1"
    assert value(ssm[WEST], f"{PREFIX}/lock")["run_id"] == "run-2"


def test_break_lock_reason_replaces_a_live_lock(ssm):
    store(ssm).lock([WEST], "alice@ops", "run-1", "failover", 3600, None)
    result = store(ssm).lock([WEST], "bob@ops", "run-2", "failover", 3600, "INC-9: run-1 died")
    assert result["broken"][WEST] == {
        "previous": value_of_lock("alice@ops", "run-1"),
        "reason": "INC-9: run-1 died",
    }
    assert result["break_lock_reason"] == "INC-9: run-1 died"


def value_of_lock(owner, run_id):
    return {
        "owner": owner,
        "run_id": run_id,
        "verb": "failover",
        "acquired_at": "2026-01-05T10:00:00Z",
        "expires_at": "2026-01-05T11:00:00Z",
    }


def test_own_expired_lock_is_refreshed_keeping_acquired_at(ssm):
    store(ssm).lock([WEST], "alice@ops", "run-1", "failover", 3600, None)
    later = T0 + datetime.timedelta(hours=3)
    result = store(ssm, now=later).lock([WEST], "alice@ops", "run-1", "failover", 3600, None)
    assert result["acquired"] == [WEST] and result["broken"] == {}
    assert result["lock"]["acquired_at"] == "2026-01-05T10:00:00Z"
    assert result["lock"]["expires_at"] == "2026-01-05T14:00:00Z"


def test_a_lock_held_in_the_second_region_releases_the_first(ssm):
    store(ssm).lock([WEST], "bob@ops", "run-2", "failover", 3600, None)
    with pytest.raises(DrError, match="Released this run's lock in us-east-1"):
        store(ssm).lock(REGIONS, "alice@ops", "run-1", "failover", 3600, None)
    assert value(ssm[EAST], f"{PREFIX}/lock") is None


def test_an_unreadable_lock_needs_a_reason_to_break(ssm):
    put(ssm[WEST], f"{PREFIX}/lock", "garbage")
    with pytest.raises(DrError, match="is unreadable"):
        store(ssm).lock([WEST], "alice@ops", "run-1", "failover", 3600, None)
    result = store(ssm).lock([WEST], "alice@ops", "run-1", "failover", 3600, "garbage lock")
    assert result["broken"][WEST]["previous"] == {"unreadable": "garbage"}


def test_lock_skips_an_unreachable_region_only_when_allowed(ssm):
    clients = {EAST: dead_client(EAST), WEST: ssm[WEST]}
    with pytest.raises(DrError, match="Released this run's lock in us-west-2"):
        store(clients).lock(REGIONS, "alice@ops", "run-1", "failover", 3600, None)
    assert value(ssm[WEST], f"{PREFIX}/lock") is None
    result = store(clients).lock(REGIONS, "alice@ops", "run-1", "failover", 3600, None, True)
    assert result["acquired"] == [WEST] and list(result["unreachable"]) == [EAST]


# ------------------------------------------------------------------ bounded retries, measured


def test_a_black_holed_region_costs_attempts_times_connect_timeout(black_hole):
    client = dead_client(EAST, black_hole, **botocore_config(1, 1, 2))
    started = time.monotonic()
    result = store({EAST: client}).read([EAST]).result()
    elapsed = time.monotonic() - started
    assert result["unreachable"][EAST].startswith("ConnectTimeoutError")
    # 2 attempts x 1 s connect time-out, plus under a second of standard-mode backoff.
    assert 1.9 <= elapsed < 3.5


class _Unavailable(http.server.BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self):
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_a_503_region_is_asked_max_attempts_times_then_reported():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for attempts in (1, 3):
            _Unavailable.requests = 0
            client = dead_client(EAST, server.server_port, **botocore_config(1, 1, attempts))
            started = time.monotonic()
            result = store({EAST: client}).read([EAST]).result()
            assert time.monotonic() - started < 1 + attempts
            assert _Unavailable.requests == attempts
            assert result["unreachable"][EAST].startswith("503")
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ the module


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        dr_state.main()
    return exc.value.code, json.loads(out.getvalue())


BASE = {"prefix": PREFIX, "regions": REGIONS}


def test_module_init_read_switchover_and_check_mode(ssm):
    init = dict(BASE, state="present", init=True, active_region=EAST, epoch=1, run_id="site-1")
    rc, result = run_module(init, check_mode=True)
    assert (rc, result["changed"]) == (0, True)
    assert value(ssm[EAST], f"{PREFIX}/active") is None
    rc, result = run_module(init)
    assert (rc, result["changed"], result["epoch"]) == (0, True, 1)
    assert result["record"]["verb"] == "init"
    rc, result = run_module(init)
    assert (rc, result["changed"]) == (0, False)
    rc, result = run_module(BASE)
    assert (result["changed"], result["active_region"], result["authoritative_regions"]) == (
        False,
        EAST,
        REGIONS,
    )
    move = dict(
        BASE,
        state="present",
        active_region=WEST,
        epoch=2,
        expected_epoch=1,
        run_id="run-2",
        verb="switchover",
        reason="drill",
    )
    rc, result = run_module(move)
    assert (rc, result["changed"], result["active_region"], result["epoch"]) == (0, True, WEST, 2)
    rc, result = run_module(dict(move, run_id="run-3", epoch=3, expected_epoch=1))
    assert rc == 1 and "compare-and-set failed" in result["msg"]


def test_module_lock_and_unlock(ssm):
    lock = dict(BASE, regions=[WEST], state="lock", run_id="run-1", verb="x")
    rc, result = run_module(lock)
    assert (rc, result["changed"], result["acquired"]) == (0, True, [WEST])
    assert result["lock"]["owner"] == f"{getpass.getuser()}@{socket.gethostname()}"
    rc, result = run_module(dict(lock, run_id="run-2"))
    assert rc == 1 and "another DR run holds the lock" in result["msg"]
    rc, result = run_module(dict(lock, state="unlock"))
    assert (rc, result["changed"], result["released"]) == (0, True, [WEST])


def test_module_region_endpoint_urls_make_one_region_unreachable(ssm):
    store(ssm).init(REGIONS, EAST, 1, "site-1", "init", "")
    args = dict(
        BASE,
        region_endpoint_urls={EAST: f"http://127.0.0.1:{closed_port()}"},
        connect_timeout=1,
        read_timeout=1,
    )
    rc, result = run_module(args)
    assert rc == 0 and list(result["unreachable"]) == [EAST]
    assert list(result["records"]) == [WEST]
    failover = dict(
        args,
        state="present",
        active_region=WEST,
        epoch=2,
        expected_epoch=1,
        run_id="run-2",
        verb="failover",
    )
    rc, result = run_module(failover)
    assert rc == 1 and "did not answer" in result["msg"]
    rc, result = run_module(dict(failover, allow_unreachable=True))
    assert (rc, result["written"], result["epoch"]) == (0, [WEST], 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"prefix": "no-slash"}, "must be an SSM path"),
        ({"regions": ["us-east-1", "us-east-1"]}, "lists a region twice"),
        ({"regions": ["moon-1"]}, "'moon-1' is not an AWS region name"),
        (
            {"state": "present", "active_region": WEST, "epoch": 2, "run_id": "r", "verb": "x"},
            "expected_epoch is required",
        ),
        (
            {
                "state": "present",
                "active_region": WEST,
                "epoch": 2,
                "expected_epoch": 1,
                "run_id": "r",
            },
            "verb is required",
        ),
        ({"max_attempts": 0}, "max_attempts must be 1 to 10"),
        ({"state": "lock", "run_id": "r", "lock_ttl": 5}, "lock_ttl must be"),
        ({"state": "lock"}, "state is lock but all of the following are missing: run_id"),
    ],
)
def test_module_rejects_bad_arguments(ssm, args, message):
    rc, result = run_module(dict(BASE, **args))
    assert rc == 1 and message in result["msg"]


def _doc_view(options):
    return {
        name: (
            spec.get("type", "str"),
            spec.get("elements"),
            bool(spec.get("required", False)),
            spec.get("default"),
        )
        for name, spec in options.items()
    }


def module_spec_view(main, module):
    """The argument spec a module's main() passes to AnsibleAWSModule, as _doc_view sees it."""
    captured = {}

    class Stop(Exception):
        pass

    def fake(**kwargs):
        captured.update(kwargs["argument_spec"])
        raise Stop

    original = module.AnsibleAWSModule
    module.AnsibleAWSModule = fake
    try:
        with pytest.raises(Stop):
            main()
    finally:
        module.AnsibleAWSModule = original
    return _doc_view(captured)


def test_module_documentation_matches_its_argument_spec():
    doc = yaml.safe_load(dr_state.DOCUMENTATION)
    assert isinstance(yaml.safe_load(dr_state.EXAMPLES), list)
    assert {"records", "unreachable", "authoritative", "active_region", "epoch"} <= set(
        yaml.safe_load(dr_state.RETURN)
    )
    assert _doc_view(doc["options"]) == module_spec_view(dr_state.main, dr_state)

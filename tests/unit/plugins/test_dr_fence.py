"""Unit tests for the host fence, roles/dr_fence/files/tradeops_dr_fence.py.

The rule lives in that one file; it is imported here (importlib) and tested on cases, then
run for real - its own boto3 path, as the role installs it - against a moto server of
this test's own on 127.0.0.1, with a black-holed region to measure what a dead region costs.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.dr import authoritative

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "roles" / "dr_fence" / "files" / "tradeops_dr_fence.py"
EAST, WEST = "us-east-1", "us-west-2"
PREFIX = "/tradeops/lab/dr"


def load_fence():
    spec = importlib.util.spec_from_file_location("tradeops_dr_fence", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fence = load_fence()


def rec(region, epoch, **extra):
    return {"value": json.dumps(dict({"active_region": region, "epoch": epoch}, **extra))}


MISSING = {"missing": True}
DOWN = {"error": "EndpointConnectionError: Could not connect"}


# ------------------------------------------------------------------ the rule, on cases


def test_own_record_missing_refuses():
    decision = fence.decide(EAST, {EAST: MISSING, WEST: rec(EAST, 1)})
    assert decision["allowed"] is False
    assert decision["reason"] == "own region us-east-1 has no DR record"


def test_own_region_unreachable_refuses_fail_closed():
    decision = fence.decide(WEST, {EAST: rec(WEST, 2), WEST: DOWN})
    assert decision["allowed"] is False
    assert decision["reason"].startswith("own region us-west-2 did not answer (Endpoint")
    assert decision["reason"].endswith("fail closed")
    assert decision["unreachable"] == {WEST: DOWN["error"]}


def test_old_primary_back_sees_the_higher_epoch_and_refuses():
    decision = fence.decide(EAST, {EAST: rec(EAST, 1), WEST: rec(WEST, 2)})
    assert decision["allowed"] is False
    assert decision["reason"] == "epoch 2 (us-west-2) names us-west-2, not us-east-1: fenced"
    assert decision["authoritative"]["epoch"] == 2


def test_only_a_higher_epoch_naming_another_region_supersedes():
    assert fence.decide(EAST, {EAST: rec(EAST, 1), WEST: rec(WEST, 2)})["superseded"] is True
    # Unreadable or missing records refuse a start but are no evidence against a running writer.
    for answers in (
        {EAST: DOWN, WEST: rec(WEST, 2)},
        {EAST: MISSING, WEST: rec(EAST, 1)},
        {EAST: rec(EAST, 1), WEST: {"value": "not json"}},
        {EAST: rec(EAST, 2), WEST: rec(WEST, 2)},
    ):
        decision = fence.decide(EAST, answers)
        assert decision["allowed"] is False
        assert decision["superseded"] is False, answers


class FakeSystemctl:
    def __init__(self, active):
        self.active, self.calls = set(active), []

    def __call__(self, argv, check=False):
        self.calls.append(argv[1:])
        running = argv[1] == "is-active" and argv[-1] in self.active
        return subprocess.CompletedProcess(argv, 0 if running or argv[1] == "stop" else 3)


def test_the_watchdog_stops_running_units_only_when_superseded(tmp_path, monkeypatch, capsys):
    systemctl = FakeSystemctl(active=["refengine"])
    assert fence.enforce(["refengine", "other"], run=systemctl) == ["refengine"]
    assert ["stop", "refengine"] in systemctl.calls
    assert ["stop", "other"] not in systemctl.calls
    config = tmp_path / "fence.json"
    config.write_text(json.dumps({"prefix": PREFIX, "regions": [EAST, WEST], "region": EAST}))
    stops = []
    monkeypatch.setattr(fence, "enforce", lambda units: stops.append(units) or units)
    for answers, stopped in (
        ({EAST: rec(EAST, 1), WEST: rec(WEST, 2)}, [["refengine"]]),
        ({EAST: DOWN, WEST: rec(WEST, 2)}, []),
    ):
        stops.clear()
        monkeypatch.setattr(fence, "fence", lambda cfg, a=answers: fence.decide(EAST, a))
        assert fence.main(["--config", str(config), "--enforce", "refengine"]) == 1
        assert stops == stopped
        out = json.loads(capsys.readouterr().out)
        assert ("stopped" in out) == bool(stopped)


def test_dr_region_starts_while_the_old_region_is_down():
    decision = fence.decide(WEST, {EAST: DOWN, WEST: rec(WEST, 2)})
    assert decision["allowed"] is True
    assert decision["reason"] == "epoch 2 (us-west-2) names us-west-2; did not answer: us-east-1"
    assert decision["records"] == {WEST: {"active_region": WEST, "epoch": 2}}


def test_own_stale_record_but_a_higher_epoch_elsewhere_naming_us_allows():
    decision = fence.decide(WEST, {EAST: rec(WEST, 3), WEST: rec(EAST, 2)})
    assert decision["allowed"] is True
    assert decision["authoritative"] == {"active_region": WEST, "epoch": 3}


def test_equal_epochs_naming_the_same_region_allow_and_conflicting_ones_refuse():
    same = fence.decide(EAST, {EAST: rec(EAST, 1, run_id="a"), WEST: rec(EAST, 1, run_id="b")})
    assert same["allowed"] is True
    assert same["reason"] == "epoch 1 (us-east-1, us-west-2) names us-east-1"
    for own in (EAST, WEST):
        split = fence.decide(own, {EAST: rec(EAST, 4), WEST: rec(WEST, 4)})
        assert split["allowed"] is False
        assert split["reason"] == (
            "conflicting records at epoch 4: us-east-1 names us-east-1, us-west-2 names us-west-2"
        )
        assert split["authoritative"] is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "not JSON"),
        ('["us-east-1", 1]', "not a JSON object"),
        ('{"active_region": "us-east-1"}', "epoch None"),
        ('{"active_region": "us-east-1", "epoch": "1"}', "epoch '1'"),
        ('{"active_region": "", "epoch": 1}', "active_region ''"),
    ],
)
def test_a_malformed_own_record_refuses(text, why):
    decision = fence.decide(EAST, {EAST: {"value": text}, WEST: rec(EAST, 1)})
    assert decision["allowed"] is False
    assert decision["reason"].startswith("own region us-east-1's DR record is unreadable: ")
    assert why in decision["reason"]


def test_a_malformed_record_in_another_region_refuses():
    decision = fence.decide(EAST, {EAST: rec(EAST, 1), WEST: {"value": "garbage"}})
    assert decision["allowed"] is False
    assert decision["reason"].startswith("unreadable DR record(s), so the authoritative epoch")
    assert list(decision["invalid"]) == [WEST]


def test_another_region_answering_access_denied_refuses():
    refused = {"refused": "AccessDeniedException: not authorised"}
    decision = fence.decide(EAST, {EAST: rec(EAST, 1), WEST: refused})
    assert decision["allowed"] is False
    assert "us-west-2: answered with an error: AccessDeniedException" in decision["reason"]


def test_a_region_answering_without_a_record_does_not_count():
    decision = fence.decide(EAST, {EAST: rec(EAST, 1), WEST: MISSING})
    assert decision["allowed"] is True
    assert decision["records"] == {EAST: {"active_region": EAST, "epoch": 1}, WEST: None}


def test_the_decision_has_the_documented_keys():
    decision = fence.decide(EAST, {EAST: rec(EAST, 1)})
    assert set(decision) == {
        "allowed",
        "superseded",
        "reason",
        "own_region",
        "authoritative",
        "records",
        "unreachable",
        "invalid",
    }


def test_script_and_module_utils_agree_on_the_authoritative_record():
    """module_utils.dr (the runbooks) and the script (the hosts) must pick the same record."""
    rng = random.Random(17)
    regions = [EAST, WEST, "eu-west-1"]
    for _case in range(300):
        records = {}
        for region in regions:
            if rng.random() < 0.2:
                records[region] = None
            else:
                records[region] = {
                    "active_region": rng.choice(regions),
                    "epoch": rng.randint(1, 4),
                }
        if all(r is None for r in records.values()):
            continue
        top, _regions, conflict = authoritative(records)
        answers = {
            r: (MISSING if v is None else {"value": json.dumps(v)}) for r, v in records.items()
        }
        for own in regions:
            decision = fence.decide(own, answers)
            if records[own] is None:
                assert decision["allowed"] is False
            elif conflict:
                assert decision["allowed"] is False and "conflicting" in decision["reason"]
            else:
                assert decision["authoritative"] == top
                assert decision["allowed"] is (top["active_region"] == own)


# ------------------------------------------------------------------ configuration


def write_config(directory, name="dr-fence.json", **config):
    path = directory / name
    base = {"prefix": PREFIX, "regions": [EAST, WEST], "region": EAST}
    base.update(config)
    path.write_text(json.dumps({k: v for k, v in base.items() if v is not None}))
    return path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"prefix": "tradeops"}, "prefix 'tradeops' is not an SSM path"),
        ({"regions": []}, "regions must be a non-empty list"),
        ({"region": "eu-west-1"}, "must be one of regions"),
        ({"regions": [EAST, "mars"]}, "region 'mars' is not a region name"),
        ({"access_key": "AKIA"}, "access_key and secret_key go together"),
        ({"connect_timeout": 0}, "connect_timeout must be a positive number"),
        ({"deadline": "soon"}, "deadline must be a positive number"),
        ({"endpoint_urls": ["http://127.0.0.1:1"]}, "endpoint_urls must map region names"),
    ],
)
def test_config_errors_exit_2(tmp_path, capsys, config, message):
    path = write_config(tmp_path, **config)
    assert fence.main(["--config", str(path)]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["allowed"] is False and message in out["reason"]


def test_missing_and_non_json_config_exit_2(tmp_path, capsys):
    assert fence.main(["--config", str(tmp_path / "absent.json")]) == 2
    assert "cannot read" in json.loads(capsys.readouterr().out)["reason"]
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert fence.main(["--config", str(bad)]) == 2
    assert "is not JSON" in json.loads(capsys.readouterr().out)["reason"]


def test_config_defaults_are_short():
    config = fence.check_config({"prefix": PREFIX, "regions": [EAST], "region": EAST})
    assert (config["connect_timeout"], config["read_timeout"], config["max_attempts"]) == (1, 2, 2)
    assert config["deadline"] == 2.5


def slow_asker(delays):
    def asker(client, name):
        time.sleep(delays[client])
        return rec(WEST, 2)

    return asker


def test_another_region_slower_than_the_deadline_counts_as_unreachable():
    config = fence.check_config(
        {"prefix": PREFIX, "regions": [EAST, WEST], "region": WEST, "deadline": 0.3}
    )
    started = time.monotonic()
    decision = fence.fence(
        config, clients={EAST: EAST, WEST: WEST}, asker=slow_asker({EAST: 2, WEST: 0})
    )
    assert time.monotonic() - started < 1
    assert decision["allowed"] is True
    assert decision["unreachable"] == {EAST: "no answer within 0.3 s"}


def test_the_own_region_is_waited_for_past_the_deadline_and_others_with_it():
    config = fence.check_config(
        {"prefix": PREFIX, "regions": [EAST, WEST], "region": WEST, "deadline": 0.2}
    )
    started = time.monotonic()
    decision = fence.fence(
        config, clients={EAST: EAST, WEST: WEST}, asker=slow_asker({EAST: 0.5, WEST: 0.6})
    )
    assert 0.6 <= time.monotonic() - started < 1.5
    assert decision["unreachable"] == {}
    assert decision["allowed"] is True


# ------------------------------------------------------------------ for real, against moto


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    sys.path.insert(0, str(ROOT))
    from tests.integration.support import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def warm_moto(moto):
    """Reset moto and load its SSM backends (its first SSM call per region takes seconds)."""
    moto.reset()
    for region in (EAST, WEST):
        with pytest.raises(Exception, match="ParameterNotFound"):
            moto.client("ssm", region).get_parameter(Name=f"{PREFIX}/warm-up")
    return moto


def put_active(server, region, record):
    server.client("ssm", region).put_parameter(
        Name=f"{PREFIX}/active", Value=json.dumps(record), Type="String", Overwrite=True
    )


def run_script(config_path):
    """The script as systemd's ExecStartPre runs it: a process, one JSON line, an exit code."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    return proc.returncode, json.loads(lines[0]), elapsed


@pytest.mark.moto
def test_the_script_against_moto(warm_moto, tmp_path):
    moto = warm_moto
    lab = {"endpoint_url": moto.url, "access_key": "testing", "secret_key": "testing"}
    east_cfg = write_config(tmp_path, "east.json", region=EAST, **lab)
    west_cfg = write_config(tmp_path, "west.json", region=WEST, **lab)

    rc, decision, _elapsed = run_script(east_cfg)  # nothing written yet: fail closed
    assert (rc, decision["reason"]) == (1, "own region us-east-1 has no DR record")

    one = {"active_region": EAST, "epoch": 1, "changed_at": "2026-01-05T10:00:00Z"}
    for region in (EAST, WEST):
        put_active(moto, region, one)
    rc, decision, _elapsed = run_script(east_cfg)
    assert (rc, decision["allowed"], decision["authoritative"]) == (0, True, one)
    rc, decision, _elapsed = run_script(west_cfg)
    assert (rc, decision["reason"]) == (
        1,
        "epoch 1 (us-east-1, us-west-2) names us-east-1, not us-west-2: fenced",
    )

    # Failover wrote only us-west-2: the DR region starts, the old primary is fenced.
    put_active(moto, WEST, {"active_region": WEST, "epoch": 2})
    assert run_script(west_cfg)[0] == 0
    rc, decision, _elapsed = run_script(east_cfg)
    assert rc == 1 and decision["reason"].startswith("epoch 2 (us-west-2) names us-west-2")


@pytest.mark.moto
def test_a_black_holed_region_delays_the_dr_region_by_the_deadline_at_most(
    warm_moto, tmp_path, black_hole
):
    moto = warm_moto
    put_active(moto, WEST, {"active_region": WEST, "epoch": 2})
    config = write_config(
        tmp_path,
        region=WEST,
        endpoint_url=moto.url,
        endpoint_urls={EAST: f"http://127.0.0.1:{black_hole}"},
        access_key="testing",
        secret_key="testing",
    )
    baseline_config = write_config(
        tmp_path,
        "baseline.json",
        regions=[WEST],
        region=WEST,
        endpoint_url=moto.url,
        access_key="testing",
        secret_key="testing",
    )
    _rc, _decision, baseline = run_script(baseline_config)
    rc, decision, elapsed = run_script(config)
    assert rc == 0 and decision["allowed"] is True
    assert list(decision["unreachable"]) == [EAST]
    # The black hole cost its connect time-outs (1 s x 2 attempts) or the deadline (2.5 s),
    # whichever came first, in parallel with the DR region's own answer ...
    assert decision["unreachable"][EAST].startswith(("ConnectTimeoutError", "no answer within"))
    assert elapsed >= 2.0
    # ... and not more: compared with the same start without the dead region.
    assert elapsed - baseline < 3.0, (elapsed, baseline)


def test_every_case_of_own_and_other_is_covered():
    """A table of (own answer, other answer) -> allowed, for the runbook docs to rely on."""
    own_cases = {
        "missing": MISSING,
        "down": DOWN,
        "garbage": {"value": "x"},
        "names-own@2": rec(WEST, 2),
        "names-other@2": rec(EAST, 2),
    }
    other_cases = {
        "missing": MISSING,
        "down": DOWN,
        "garbage": {"value": "x"},
        "names-own@3": rec(WEST, 3),
        "names-other@3": rec(EAST, 3),
        "names-other@1": rec(EAST, 1),
        "names-other@2": rec(EAST, 2),
    }
    allowed = {
        (own, other)
        for own, other in itertools.product(own_cases, other_cases)
        if fence.decide(WEST, {WEST: own_cases[own], EAST: other_cases[other]})["allowed"]
    }
    assert allowed == {
        ("names-own@2", "missing"),
        ("names-own@2", "down"),
        ("names-own@2", "names-own@3"),
        ("names-own@2", "names-other@1"),
        ("names-other@2", "names-own@3"),
    }


def test_the_watchdog_writes_the_decision_for_node_exporter(tmp_path):
    path = tmp_path / "tradeops_dr_fence.prom"
    fence.write_textfile(str(path), fence.decide(EAST, {EAST: rec(EAST, 1), WEST: rec(WEST, 2)}))
    text = path.read_text()
    assert 'tradeops_dr_fence_allowed{region="us-east-1"} 0' in text
    assert 'tradeops_dr_fence_superseded{region="us-east-1"} 1' in text
    assert 'tradeops_dr_fence_epoch{region="us-east-1",active="us-west-2"} 2' in text
    fence.write_textfile(str(path), fence.decide(WEST, {EAST: DOWN, WEST: rec(WEST, 2)}))
    assert 'tradeops_dr_fence_allowed{region="us-west-2"} 1' in path.read_text()
    decision = fence.decide(WEST, {WEST: rec(WEST, 2)})
    fence.write_textfile(str(tmp_path / "missing" / "x.prom"), decision)
    assert "textfile_error" in decision

"""drift.py (classification against the run history, the textfile metrics checked by promtool)
and report.py (textfile parsing, the fleet rows, the self-contained HTML), and the plan's
text; plan/drift's own command-line errors exit 64 (their 2 means changes)."""

from __future__ import annotations

import base64
import html.parser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tradeops import drift, exitcodes, plan, report

VENV_BIN = Path(sys.executable).parent
NOW = 1_800_000_000.0


def change(scope, target, what="x"):
    return {"scope": scope, "target": target, "kind": "resource", "what": what}


def converge(run_id, hosts, fingerprint, ended="2026-12-06T10:00:00Z"):
    return {
        "run_id": run_id,
        "hosts": hosts,
        "desired_state": fingerprint,
        "ended_at": ended,
        "git": {"revision": "abc"},
        "operator": {"user": "ops"},
    }


def test_classify_drift_pending_and_unattributed():
    changes = [
        change("aws", "network", "security group lab-engines"),
        change("host", "engine-c5n-2", "tuning check nic.eth0.channels.rx"),
        change("host", "mon-1", "/etc/prometheus/prometheus.yml"),
        change("host", "engine-bm-1"),
    ]
    converges = [  # newest first
        converge("r3", ["localhost", "mon-1"], "sha256:old"),
        converge("r2", ["localhost", "aws-network", "engine-c5n-2", "mon-1"], "sha256:now"),
    ]
    out = drift.classify(changes, converges, "sha256:now")
    status = {c["target"]: c["drift"]["status"] for c in out}
    assert status == {
        "network": drift.DRIFT,
        "engine-c5n-2": drift.DRIFT,
        "mon-1": drift.PENDING,  # its last converge (r3) had another desired state
        "engine-bm-1": drift.UNATTRIBUTED,
    }
    assert out[0]["drift"]["converge_run"] == "r2"
    assert [c["target"] for c in drift.counted(out)] == ["network", "engine-c5n-2", "engine-bm-1"]


def test_metrics_are_valid_exposition_and_count_per_target(tmp_path):
    classified = drift.classify(
        [change("aws", "network"), change("host", "engine-c5n-2"), change("host", "engine-c5n-2")],
        [converge("r1", ["aws-network", "engine-c5n-2"], "f")],
        "f",
    )
    text = drift.metrics("lab", classified, True, now=NOW)
    assert 'tradeops_drift_items{environment="lab",scope="host",target="engine-c5n-2"} 2' in text
    assert 'tradeops_drift_items{environment="lab",scope="aws",target="network"} 1' in text
    assert 'tradeops_drift_detected{environment="lab"} 1' in text
    assert f'tradeops_drift_last_check_timestamp_seconds{{environment="lab"}} {int(NOW)}' in text
    failed = drift.metrics("lab", None, False, now=NOW)
    assert 'tradeops_drift_check_success{environment="lab"} 0' in failed
    assert "tradeops_drift_items" not in failed  # no stale count presented as current
    path = tmp_path / "tradeops_drift.prom"
    drift.write_atomically(path, text)
    assert path.read_text() == text and not path.with_name(path.name + ".tmp").exists()
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    for content in (text, failed):
        proc = subprocess.run(
            [promtool, "check", "metrics"], input=content, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


TUNING_PROM = """\
# HELP tradeops_tuning_check_ok 1 = ok
# TYPE tradeops_tuning_check_ok gauge
tradeops_tuning_check_ok{check="nic.eth0.channels.rx"} %s
tradeops_tuning_check_ok{check="nic.eth0.channels.tx"} 1
tradeops_tuning_checks{status="ok"} 1
tradeops_tuning_profile_info{profile="lab"} 1
tradeops_tuning_last_verify_timestamp_seconds %d
"""
BACKUP_PROM = """\
tradeops_backup_last_success_timestamp_seconds{job="restic"} %d
tradeops_backup_last_run_success{job="restic"} 1
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def collected(rx_ok: int = 1, verified: float = NOW - 60) -> dict:
    tuning = "/var/lib/prometheus/node-exporter/tradeops_tuning.prom"
    backup = "/var/lib/prometheus/node-exporter/tradeops_backup_restic.prom"
    health = {"status": "ok", "version": "2.1.0", "problems": []}
    hosts = {
        "engine-c5n-1": {
            "region": "us-east-1",
            "textfiles": {tuning: b64(TUNING_PROM % (1, verified))},
            "engine": {"asked": True, "status": 200, "body": health},
        },
        "engine-c5n-2": {
            "region": "us-east-1",
            "textfiles": {tuning: b64(TUNING_PROM % (rx_ok, verified))},
            "engine": {"asked": True, "status": 200, "body": health},
        },
        "engine-west-1": {"unreachable": True},
        "db-east-1": {"textfiles": {backup: b64(BACKUP_PROM % (NOW - 3 * 86400))}, "engine": {}},
    }
    targets = [
        {"labels": {"instance": "engine-c5n-1", "job": "node"}, "health": "up"},
        {"labels": {"instance": "engine-c5n-2", "job": "node"}, "health": "up"},
        {"labels": {"instance": "engine-c5n-2", "job": "engine"}, "health": "down"},
    ]
    return {
        "hosts": hosts,
        "monitoring": {"mon-1": {"url": "http://198.18.0.31:9090", "targets": targets}},
        "groups": {"engines": ["engine-c5n-1", "engine-c5n-2", "engine-west-1"]},
    }


FENCE_PROM = """\
# TYPE tradeops_dr_fence_allowed gauge
tradeops_dr_fence_allowed{region="us-west-2"} %d
# TYPE tradeops_dr_fence_epoch gauge
tradeops_dr_fence_epoch{region="us-west-2",active="us-east-1"} 1
"""


def test_a_fenced_standby_engine_that_is_down_is_not_failing():
    """The DR region's engine stays stopped while the other region is active: the report
    says so instead of paging; the same host with the fence open and no engine fails."""
    fence = "/var/lib/prometheus/node-exporter/tradeops_dr_fence.prom"
    tuning = "/var/lib/prometheus/node-exporter/tradeops_tuning.prom"
    down = {"asked": True, "status": -1, "body": None, "error": "Request failed: <urlopen>"}
    targets = [
        {"labels": {"instance": "engine-west-1", "job": "node"}, "health": "up"},
        {"labels": {"instance": "engine-west-1", "job": "engine"}, "health": "down"},
    ]

    def row(allowed: int) -> dict:
        host = {
            "region": "us-west-2",
            "textfiles": {
                tuning: b64(TUNING_PROM % (1, NOW - 60)),
                fence: b64(FENCE_PROM % allowed),
            },
            "engine": down,
        }
        seen = {
            "hosts": {"engine-west-1": host},
            "monitoring": {"mon-1": {"targets": targets}},
            "groups": {"engines": ["engine-west-1"]},
        }
        return report.build(seen, None, "lab", NOW)["engines"][0]

    fenced = row(0)
    assert fenced["engine"]["summary"] == "standby, fenced (us-east-1 active)"
    assert fenced["engine"]["status"] == report.OK
    assert fenced["targets"] == dict(fenced["targets"], status=report.OK)
    assert fenced["targets"]["summary"] == "1/2 up: down engine (fenced)"
    assert not fenced["failing"]
    open_fence = row(1)
    assert open_fence["engine"]["status"] == report.FAIL
    assert open_fence["targets"]["status"] == report.FAIL and open_fence["failing"]


def test_parse_prom_and_tuning_view():
    samples = report.parse_prom(TUNING_PROM % (0, NOW - 10))
    assert ("tradeops_tuning_check_ok", {"check": "nic.eth0.channels.rx"}, 0.0) in samples
    view = report.tuning_view(TUNING_PROM % (0, NOW - 10), NOW)
    assert view["status"] == report.FAIL and view["failing"] == ["nic.eth0.channels.rx"]
    assert view["profile"] == "lab"
    stale = report.tuning_view(TUNING_PROM % (1, NOW - 2 * 86400), NOW)
    assert stale["status"] == report.WARN and "stale" in stale["summary"]
    assert report.tuning_view(None, NOW)["status"] == report.UNKNOWN


def test_build_marks_the_detuned_and_the_unreachable_host_failing():
    last_drift = {
        "exit_code": 2,
        "checked_at": "2026-12-06T10:00:00Z",
        "hosts": ["engine-c5n-1", "engine-c5n-2", "aws-network"],
        "drift": [change("aws", "network", "security group lab-engines")],
    }
    data = report.build(collected(rx_ok=0), last_drift, "lab", NOW)
    rows = {r["host"]: r for r in data["engines"]}
    assert rows["engine-c5n-1"]["status"] == report.OK
    assert rows["engine-c5n-2"]["tuning"]["status"] == report.FAIL
    assert rows["engine-c5n-2"]["targets"]["summary"] == "1/2 up: down engine"
    assert rows["engine-west-1"]["failing"]
    assert data["failing"] == ["engine-c5n-2", "engine-west-1"]
    assert data["backups"][0]["host"] == "db-east-1" and data["backups"][0]["status"] == report.FAIL
    assert data["drift"]["aws"][0]["what"] == "security group lab-engines"
    table = report.render_table(data)
    assert "engine-c5n-2" in table and "FAIL 1/2: nic.eth0.channels.rx" in table


class _Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.external = []
        self.stack = []
        self.rows = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key):
                self.external.append((tag, attrs[key]))
        if tag == "script":
            self.external.append((tag, "script"))
        if tag == "tr" and attrs.get("data-host"):
            self.rows[attrs["data-host"]] = attrs.get("data-status")


def test_html_is_self_contained_and_marks_rows():
    data = report.build(collected(rx_ok=0), None, "lab", NOW)
    page = report.render_html(data)
    checker = _Checker()
    checker.feed(page)
    assert checker.external == []
    assert checker.rows == {
        "engine-c5n-1": "ok",
        "engine-c5n-2": "failing",
        "engine-west-1": "failing",
    }
    assert 'data-check="nic.eth0.channels.rx" data-ok="0"' in page
    assert "<script" not in page and "http://198.18" not in page.split("<footer>")[0]


def test_plan_text_names_each_change_with_current_and_wanted():
    result = {
        "playbook": "site.yml",
        "inventory": "inventories/lab",
        "tags": [],
        "limit": None,
        "exit_code": exitcodes.CHANGES,
        "status": "changes",
        "hosts": ["aws-network", "engine-c5n-2"],
        "elapsed_seconds": 10,
        "changes": [
            {"scope": "aws", "target": "network", "kind": "resource",
             "what": "security group lab-engines", "attribute": "rules",
             "current": ["ingress tcp 2222 from 198.18.0.0/24"], "wanted": []},
            {"scope": "host", "target": "engine-c5n-2", "kind": "tuning",
             "what": "tuning check nic.eth0.channels.rx", "current": 2, "wanted": 1},
        ],
    }  # fmt: skip
    text = plan.render_plan(result)
    assert "2 to change (AWS layer network; host engine-c5n-2)" in text
    assert "- ingress tcp 2222 from 198.18.0.0/24   (there: not wanted)" in text
    assert "current: 2" in text and "wanted:  1" in text
    assert text.endswith("To apply: tradeops run site -i inventories/lab")
    scoped = plan.render_plan(
        dict(result, tags=["network"], extra_vars=[{"tradeops_aws_layers": ["network"]}])
    )
    assert scoped.endswith("tradeops run site -i inventories/lab --tags network with the same -e")
    none = plan.render_plan(dict(result, changes=[], exit_code=exitcodes.OK))
    assert "no changes" in none


@pytest.mark.parametrize(
    "argv",
    [["plan", "--bogus"], ["drift", "-t"], ["plan", "site", "extra", "words"]],
)
def test_plan_and_drift_usage_errors_exit_64(argv):
    proc = subprocess.run(
        [str(VENV_BIN / "tradeops"), *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == exitcodes.PLAN_USAGE, proc.stderr
    assert "usage: tradeops" in proc.stderr


def test_help_of_each_new_command_has_examples_and_exit_codes():
    for argv in (["plan"], ["drift"], ["runs", "list"], ["report", "fleet"]):
        proc = subprocess.run(
            [str(VENV_BIN / "tradeops"), *argv, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0
        assert "examples:" in proc.stdout and "exit codes:" in proc.stdout, argv

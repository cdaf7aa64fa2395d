"""`tradeops dr`: parsing, guard rails, the extra vars, the record table, exit codes.

Most tests patch the runner (nothing runs); two run a stand-in runbook
(fixtures/dr/runbook.yml, which writes a real record through dr_run_record) through the
real runner in a throwaway project, end to end.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import time
from pathlib import Path

import pytest

from tradeops import cli, dr, exitcodes
from tradeops.runner import RunRequest, build_cmdline

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dr"
SAMPLE = json.loads((FIXTURES / "record_failover.json").read_text())
WRITTEN_NOW = {k: v for k, v in SAMPLE.items() if k != "updated_at"}  # FakeRunner stamps it


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A throwaway checkout: site.yml, inventories production and staging (TRADEOPS_PROJECT)."""
    root = tmp_path / "project"
    for env in ("production", "staging"):
        (root / "inventories" / env).mkdir(parents=True)
    (root / "site.yml").write_text("---\n")
    monkeypatch.setenv("TRADEOPS_PROJECT", str(root))
    return root


class FakeRunner:
    """Stands in for run_playbook: records the request, runs the finish hook on a report."""

    def __init__(self, code=exitcodes.OK, record=None, phases=None):
        self.requests: list[RunRequest] = []
        self.code = code
        self.record = record
        self.phases = phases or {}  # phase name -> record, written as <run_id>-<phase>.json
        self.report: dict | None = None

    def __call__(self, request, stream=None, finish=None):
        self.requests.append(request)
        run_id = json.loads(request.extra_vars[-1])["dr_run_id"]
        directory = dr.runs_dir(Path(dr.paths.project_root()))
        directory.mkdir(parents=True, exist_ok=True)
        records = {run_id: self.record} if self.record is not None else {}
        records.update({f"{run_id}-{phase}": r for phase, r in self.phases.items()})
        for name, written in records.items():
            record = dict(written, run_id=name)
            record.setdefault("updated_at", dr.utc_stamp())
            (directory / f"{name}.json").write_text(json.dumps(record))
            time.sleep(0.002)  # written one after the other, as a runbook does
        self.report = {"exit_code": self.code}
        epilog = finish(self.report) if finish else ""
        print(epilog, file=stream)
        return self.report["exit_code"]


@pytest.fixture
def runner(monkeypatch):
    fake = FakeRunner()
    monkeypatch.setattr(dr, "run_playbook", fake)
    return fake


# ------------------------------------------------------------------ the command line


def test_help_shows_every_verb_an_example_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["dr", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tradeops dr")
    for verb in dr.VERBS:
        assert re.search(rf"^  tradeops dr {verb}\b", out, re.MULTILINE), verb
        assert re.search(rf"^  {verb} +\S", out, re.MULTILINE), verb  # the verb table
    assert "exit codes:" in out
    for code, _ in exitcodes.TABLE:
        assert re.search(rf"^ +{code}  \S", out, re.MULTILINE), code


def test_top_level_help_lists_dr(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert re.search(r"^    dr +a DR runbook", capsys.readouterr().out, re.MULTILINE)


@pytest.mark.parametrize("argv", [["dr"], ["dr", "sideways"], ["dr", "status", "--nope"]])
def test_bad_dr_command_lines_are_exit_code_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == exitcodes.USAGE


def test_options_parse_into_their_fields():
    args = cli.build_parser().parse_args(
        [
            "dr",
            "failover",
            "-i",
            "inventories/production",
            "--target-region",
            "us-west-2",
            "--confirm",
            "production:us-west-2",
            "--accept-data-loss",
            "--freeze-override-reason",
            "CHG-1: region down",
            "--break-lock-reason",
            "holder died",
            "-e",
            "a=1",
            "-e",
            "b=2",
            "--check",
            "--report",
            "r.json",
            "-vv",
        ]
    )
    assert (args.command, args.verb, args.inventory) == ("dr", "failover", "inventories/production")
    assert (args.target_region, args.confirm) == ("us-west-2", "production:us-west-2")
    assert args.accept_data_loss is True
    assert (args.freeze_override_reason, args.break_lock_reason) == (
        "CHG-1: region down",
        "holder died",
    )
    assert (args.extra_vars, args.check, args.report, args.verbose) == (
        ["a=1", "b=2"],
        True,
        "r.json",
        2,
    )
    defaults = cli.build_parser().parse_args(["dr", "status"])
    assert defaults.inventory == "inventories/lab"
    assert (defaults.confirm, defaults.target_region, defaults.run_id) == (None, None, None)
    assert defaults.accept_data_loss is False


# ------------------------------------------------------------------ guard rails


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["switchover"], "re-run with --confirm production:<target region>"),
        (["failback"], "--confirm production:"),
        (["reprotect"], "--confirm production:"),
        (["drill"], "--confirm production:"),
        (["failover", "--confirm", "production:us-west-2"], "failover needs --target-region"),
        (
            ["failover", "--target-region", "us-west-2"],
            "re-run with --confirm production:us-west-2",
        ),
        (
            ["switchover", "--confirm", "staging:us-west-2"],
            "--confirm names staging, but the inventory inventories/production is production",
        ),
        (["switchover", "--confirm", "production"], "is not ENV:REGION"),
        (["switchover", "--confirm", "production:west"], "is not ENV:REGION"),
        (
            ["failover", "--target-region", "us-west-2", "--confirm", "production:eu-west-1"],
            "--confirm names eu-west-1, but --target-region is us-west-2",
        ),
        (["switchover", "--target-region", "mars-1", "--confirm", "x"], "not a region name"),
        (["status", "--run-id", "../escape"], "is not a run id"),
        (["switchover", "--check"], "--confirm production:"),  # check mode confirms too
    ],
)
def test_guard_rails_refuse_before_anything_runs(project, runner, argv, message, capsys):
    code = cli.main(["dr", *argv[:1], "-i", "inventories/production", *argv[1:]])
    assert code == exitcodes.PRECONDITION
    assert message in capsys.readouterr().err
    assert runner.requests == []


def test_a_missing_inventory_is_refused(project, runner, capsys):
    assert cli.main(["dr", "status", "-i", "inventories/nowhere"]) == exitcodes.PRECONDITION
    assert "inventory inventories/nowhere does not exist" in capsys.readouterr().err
    assert runner.requests == []


def test_the_lab_must_be_up(project, runner, monkeypatch, capsys):
    (project / "inventories" / "lab").mkdir()
    up = False

    class Lab:
        def is_up(self):
            return up

    monkeypatch.setattr(dr, "Lab", Lab)
    assert cli.main(["dr", "status"]) == exitcodes.PRECONDITION
    assert "tradeops lab up" in capsys.readouterr().err
    assert runner.requests == []
    up = True
    assert cli.main(["dr", "status"]) == exitcodes.OK
    assert len(runner.requests) == 1


@pytest.mark.parametrize("verb", ["status", "preflight"])
def test_read_only_verbs_need_no_confirmation(project, runner, verb):
    assert cli.main(["dr", verb, "-i", "inventories/production"]) == exitcodes.OK
    (request,) = runner.requests
    assert request.playbook == f"dr/{verb}"
    # `tradeops run`'s protected-environment rail is satisfied by the DR rails.
    assert request.confirm == "production"


# ------------------------------------------------------------------ what is run


def test_extra_vars_carry_only_what_was_given_and_win_over_e(project, runner, monkeypatch):
    monkeypatch.setattr(dr.os, "getpid", lambda: 4242)
    argv = ["dr", "failover", "-i", "inventories/staging", "--target-region", "us-west-2"]
    argv += ["--confirm", "staging:us-west-2", "--accept-data-loss", "-e", "dr_confirm=x"]
    argv += ["--freeze-override-reason", "CHG-9 'quoted' reason", "--check", "-v"]
    before = time.strftime("%Y%m%dT%H%M", time.gmtime())
    assert cli.main(argv) == exitcodes.OK
    (request,) = runner.requests
    assert (request.playbook, request.inventory) == ("dr/failover", "inventories/staging")
    assert (request.check, request.verbosity, request.confirm) == (True, 1, "staging")
    assert request.extra_vars[0] == "dr_confirm=x"
    ours = json.loads(request.extra_vars[-1])
    run_id = ours.pop("dr_run_id")
    assert ours == {
        "dr_target_region": "us-west-2",
        "dr_confirm": "staging:us-west-2",
        "dr_accept_data_loss": True,
        "dr_freeze_override_reason": "CHG-9 'quoted' reason",
    }
    assert re.fullmatch(r"\d{8}T\d{6}Z-failover-4242", run_id)
    assert run_id[:13] >= before[:13]


def test_the_json_extra_vars_survive_the_runner_command_line(project, runner):
    argv = ["dr", "switchover", "-i", "inventories/staging", "--confirm", "staging:us-west-2"]
    argv += ["--break-lock-reason", 'it\'s "stale"; $HOME']
    cli.main(argv)
    words = shlex.split(build_cmdline(runner.requests[0]))
    assert words[0] == "-e"
    assert json.loads(words[1])["dr_break_lock_reason"] == 'it\'s "stale"; $HOME'


def test_run_id_continues_an_earlier_record(project, runner):
    argv = ["dr", "status", "-i", "inventories/staging", "--run-id", "20261205T101500Z-status-1"]
    cli.main(argv)
    assert json.loads(runner.requests[0].extra_vars[-1]) == {
        "dr_run_id": "20261205T101500Z-status-1"
    }


def test_new_run_ids_sort_by_time():
    first = dr.new_run_id("drill", now=1_800_000_000, pid=7)
    assert first == "20270115T080000Z-drill-7"
    assert dr.new_run_id("drill", now=1_800_000_001, pid=7) > first


# ------------------------------------------------------------------ the record after the run


def test_record_table_from_a_sample_record():
    path = Path("/x/.cache/dr/runs/20261205T101500Z-failover-4242.json")
    lines = dr.render_record(SAMPLE, path).splitlines()
    assert lines[0] == "== DR failover on lab, us-east-1 -> us-west-2: succeeded =="
    assert lines[1] == (
        "  run 20261205T101500Z-failover-4242 by alice (arn:aws:iam::123456789012:user/alice), "
        "git 0076f56c2b1e (dirty), started 2026-12-05T10:15:00.120Z, resumed 1x"
    )
    table = lines[2:8]
    assert table == [
        "  step       title                         outcome      seconds",
        "  preflight  Both regions answer           done             4.2",
        "  fence      Fence the old primary         interrupted     55.0",
        "  fence      Fence the old primary         skipped         12.5",
        "  promote    Promote the standby database  done           244.2",
        "  dns        Move traffic                  skipped            -",
    ]
    assert lines[8:] == [
        "  RTO measured 375.2 s (target: 3600 s, seeds/003: region failure < 1 h)",
        "  RPO: estimated 0.4 s (target: 60 s, seeds/003: region failure < 1 h)",
        "  RPO: bytes: 0",
        "  RPO: data_loss: no",
        "  RPO: detail: replay lag of db-west-1 at promotion",
        "  RPO: method: pg_last_xact_replay_timestamp",
        f"  record: {path}",
    ]


def test_record_table_says_what_was_not_measured():
    record = copy.deepcopy(SAMPLE)
    record.update(status="failed", rpo={}, targets={}, resumed_at=[], git={})
    record["rto"]["seconds"] = None
    record["steps"][3].update(outcome="failed", detail="standby did not answer")
    record["operator"] = {"user": "bob", "aws_caller": None}
    text = dr.render_record(record, Path("r.json"))
    assert "== DR failover on lab, us-east-1 -> us-west-2: failed ==" in text
    assert "by bob, git unknown, started" in text
    assert "resumed" not in text
    assert "  failed: promote: standby did not answer" in text
    assert "  RTO not measured (target: not set)" in text
    assert "  RPO: not measured (target: not set)" in text
    record.update(status="running", steps=[])
    text = dr.render_record(record, Path("r.json"))
    assert "not ended (the runbook stopped before it closed the record)" in text
    assert "  no steps recorded" in text


def test_a_drill_record_shows_its_phases_with_their_rto():
    phases = [
        {"phase": "1-switchover", "status": "succeeded", "rto_seconds": 47.341},
        {"phase": "2-reprotect", "status": "succeeded", "rto_seconds": None},
        {"phase": "3-failback", "status": "failed", "rto_seconds": None},
    ]
    record = {
        "verb": "drill",
        "environment": "lab",
        "status": "failed",
        "run_id": "d1",
        "steps": [],
        "notes": {"phases": phases},
        "rto": {"seconds": None},
        "targets": {"rto_seconds": 3600, "source": "seeds/003"},
    }
    lines = dr.render_record(record, Path("r.json")).splitlines()
    assert "  1-switchover  succeeded   47.3       1.3%" in lines, lines
    assert "  2-reprotect   succeeded      -          -" in lines, lines
    assert "  3-failback    failed         -          -" in lines, lines
    assert "  RTO of each move: target: 3600 s, seeds/003" in lines
    assert not any(line.startswith("  RTO not measured") for line in lines)
    assert "  no steps recorded" not in lines


@pytest.mark.parametrize(
    ("runner_code", "status", "expected"),
    [
        (exitcodes.OK, "succeeded", exitcodes.OK),
        (exitcodes.FAILED, "refused", exitcodes.PRECONDITION),
        (exitcodes.OK, "refused", exitcodes.PRECONDITION),
        (exitcodes.FAILED, "failed", exitcodes.FAILED),
        (exitcodes.OK, "failed", exitcodes.FAILED),
        (exitcodes.UNREACHABLE, "failed", exitcodes.UNREACHABLE),
        (exitcodes.OK, "interrupted", exitcodes.INTERRUPTED),
        (exitcodes.UNREACHABLE, "succeeded", exitcodes.UNREACHABLE),
        (exitcodes.FAILED, "running", exitcodes.FAILED),
        (exitcodes.FAILED, None, exitcodes.FAILED),
    ],
)
def test_exit_codes_follow_the_record(project, monkeypatch, capsys, runner_code, status, expected):
    record = None if status is None else dict(WRITTEN_NOW, status=status)
    fake = FakeRunner(code=runner_code, record=record)
    monkeypatch.setattr(dr, "run_playbook", fake)
    argv = ["dr", "drill", "-i", "inventories/staging", "--confirm", "staging:us-west-2"]
    assert cli.main(argv) == expected
    assert fake.report["exit_code"] == expected
    err = capsys.readouterr().err
    if record is None:
        assert "the runbook wrote no run record" in err
        assert fake.report["dr_record"] is None
    else:
        assert "  step " in err and "RTO measured 375.2 s" in err
        assert fake.report["dr_record"]["status"] == status
        assert fake.report["dr_record_path"].endswith(f"{fake.report['dr_run_id']}.json")


def test_a_record_this_run_did_not_touch_does_not_decide_the_exit_code(
    project, monkeypatch, capsys
):
    # --run-id of an earlier, failed run; this run dies before its runbook writes anything.
    fake = FakeRunner(code=exitcodes.OK, record=dict(SAMPLE, status="failed"))
    monkeypatch.setattr(dr, "run_playbook", fake)
    argv = ["dr", "status", "-i", "inventories/staging", "--run-id", SAMPLE["run_id"]]
    assert cli.main(argv) == exitcodes.OK
    assert "this run did not update the record" in capsys.readouterr().err
    assert fake.report["dr_record"]["status"] == "failed"


def test_utc_stamps_compare_like_the_module_writes_them():
    assert dr.utc_stamp(1_800_000_000.5) == "2027-01-15T08:00:00.500Z"
    assert dr.utc_stamp(1_800_000_000.5) < dr.utc_stamp(1_800_000_001)


@pytest.mark.parametrize(
    ("rpo", "line"),
    [
        ({"estimate_seconds": "0.4", "budget_seconds": 300}, "  RPO: estimated 0.4 s"),
        ({"measured_seconds": 0, "detail": "planned moves"}, "  RPO: measured 0.0 s"),
        ({"estimate_seconds": None, "detail": "unknown"}, "  RPO: not measured"),
    ],
)
def test_rpo_figures_under_the_names_the_runbooks_use(rpo, line):
    text = dr.render_record(dict(SAMPLE, rpo=rpo), Path("r.json"))
    assert f"{line} (target: 60 s, seeds/003: region failure < 1 h)" in text.splitlines()
    for key, value in rpo.items():
        if not key.endswith("_seconds") or key == "budget_seconds":
            assert f"  RPO: {key}: {value}" in text.splitlines()


def test_a_drill_shows_its_phases_and_exits_as_the_phase_that_stopped(project, monkeypatch, capsys):
    drill = dict(WRITTEN_NOW, verb="drill", status="running", steps=[])
    switchover = dict(WRITTEN_NOW, verb="switchover", status="succeeded")
    reprotect = dict(WRITTEN_NOW, verb="reprotect", status="refused")
    fake = FakeRunner(
        code=exitcodes.FAILED,
        record=drill,
        phases={"1-switchover": switchover, "2-reprotect": reprotect},
    )
    monkeypatch.setattr(dr, "run_playbook", fake)
    argv = ["dr", "drill", "-i", "inventories/staging", "--confirm", "staging:us-west-2"]
    assert cli.main(argv) == exitcodes.PRECONDITION
    err = capsys.readouterr().err
    headers = [line for line in err.splitlines() if line.startswith("== DR ")]
    assert headers == [
        "== DR switchover on lab, us-east-1 -> us-west-2: succeeded ==",
        "== DR reprotect on lab, us-east-1 -> us-west-2: refused ==",
        "== DR drill on lab, us-east-1 -> us-west-2: not ended (the runbook stopped before "
        "it closed the record) ==",
    ]
    run_id = fake.report["dr_run_id"]
    assert sorted(fake.report["dr_phase_records"]) == [
        f"{run_id}-1-switchover",
        f"{run_id}-2-reprotect",
    ]
    # An ended drill record decides, whatever its phases say.
    fake.record = dict(drill, status="succeeded")
    fake.code = exitcodes.OK
    capsys.readouterr()
    assert cli.main(argv) == exitcodes.OK


def test_an_interrupted_run_still_shows_its_record(project, monkeypatch, capsys):
    def interrupted(request, stream=None, finish=None):
        FakeRunner(record=dict(WRITTEN_NOW, status="running"))(request)
        raise KeyboardInterrupt

    monkeypatch.setattr(dr, "run_playbook", interrupted)
    argv = ["dr", "switchover", "-i", "inventories/staging", "--confirm", "staging:us-west-2"]
    assert cli.main(argv) == exitcodes.INTERRUPTED
    err = capsys.readouterr().err
    assert "not ended" in err and "  promote " in err
    assert "interrupted" in err


# ------------------------------------------------------------------ end to end


@pytest.fixture
def runbook_project(tmp_path, monkeypatch):
    """A throwaway checkout whose playbooks/dr/failover.yml is the stand-in runbook; the
    collection (dr_run_record) resolves through this checkout's collections/."""
    root = tmp_path / "project"
    (root / "playbooks" / "dr").mkdir(parents=True)
    (root / "inventories" / "drtest").mkdir(parents=True)
    (root / "inventories" / "drtest" / "hosts.yml").write_text("---\nall:\n  hosts: {}\n")
    shutil.copy(FIXTURES / "runbook.yml", root / "playbooks" / "dr" / "failover.yml")
    shutil.copy(ROOT / "ansible.cfg", root / "ansible.cfg")
    (root / "collections").symlink_to(ROOT / "collections")
    for name in ("site.yml", "galaxy.yml"):
        (root / name).write_text("---\n")
    monkeypatch.setenv("TRADEOPS_PROJECT", str(root))
    monkeypatch.setenv("ANSIBLE_LOCALHOST_WARNING", "false")
    return root


FAILOVER = ["dr", "failover", "-i", "inventories/drtest", "--target-region", "us-west-2"]
FAILOVER += ["--confirm", "drtest:us-west-2", "--accept-data-loss"]


def test_end_to_end_a_run_writes_and_shows_its_record(runbook_project, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    code = cli.main([*FAILOVER, "--report", str(report_path)])
    err = capsys.readouterr().err
    assert code == exitcodes.OK, err
    report = json.loads(report_path.read_text())
    record = report["dr_record"]
    path = Path(report["dr_record_path"])
    assert path.parent == runbook_project / ".cache" / "dr" / "runs"
    assert json.loads(path.read_text()) == record
    assert record["run_id"] == report["dr_run_id"] == path.stem
    assert record["status"] == "succeeded"
    assert record["inputs"]["dr_confirm"] == "drtest:us-west-2"
    assert record["inputs"]["dr_accept_data_loss"] is True
    assert record["inputs"]["db_password"] == "***redacted***"
    assert "fixture-secret-value" not in path.read_text()
    assert [(s["id"], s["outcome"]) for s in record["steps"]] == [
        ("preflight", "done"),
        ("promote", "done"),
    ]
    assert record["rto"]["seconds"] is not None and record["rto"]["seconds"] >= 0
    # The table comes after the usual summary, in that order.
    summary = err.index("== playbooks/dr/failover.yml on drtest: OK")
    table = err.index("== DR failover on drtest, us-east-1 -> us-west-2: succeeded ==")
    assert summary < table
    assert re.search(r"^  promote +Promote the standby +done +\d+\.\d$", err, re.MULTILINE)
    assert "RTO measured " in err and "(target: 3600 s, seeds/003: region failure < 1 h)" in err
    assert "RPO: estimated 0.4 s (target: 60 s" in err
    assert f"  record: {path}" in err


def test_end_to_end_a_run_the_runbook_refused_exits_3(runbook_project, capsys):
    # The runbook's own refusal fails a task (the runner says 4); the record says refused.
    assert cli.main([*FAILOVER, "-e", "fixture_outcome=refused"]) == exitcodes.PRECONDITION
    err = capsys.readouterr().err
    assert "== playbooks/dr/failover.yml on drtest: FAILED" in err
    assert "== DR failover on drtest, us-east-1 -> us-west-2: refused ==" in err
    (path,) = (runbook_project / ".cache" / "dr" / "runs").glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "refused"
    assert [(s["id"], s["outcome"]) for s in record["steps"]] == [("preflight", "failed")]


def _write_record(directory, run_id, **fields):
    directory.mkdir(parents=True, exist_ok=True)
    record = {"run_id": run_id, "verb": "switchover", "environment": "staging", "status": "running"}
    record.update(fields)
    (directory / f"{run_id}.json").write_text(json.dumps(record))


SWITCHOVER = ["dr", "switchover", "-i", "inventories/staging", "--confirm", "staging:us-west-2"]


def test_an_unfinished_run_of_the_same_verb_is_resumed(project, runner, capsys):
    directory = dr.runs_dir(project)
    _write_record(directory, "20261205T101500Z-switchover-1", status="succeeded")
    _write_record(directory, "20261205T111500Z-switchover-2")  # killed: still running
    _write_record(directory, "20261205T121500Z-switchover-3", environment="production")
    _write_record(directory, "20261205T131500Z-drill-4-1-switchover")  # a drill's phase
    _write_record(directory, "20261205T141500Z-failover-5", verb="failover")
    cli.main(SWITCHOVER)
    run_id = json.loads(runner.requests[0].extra_vars[-1])["dr_run_id"]
    assert run_id == "20261205T111500Z-switchover-2"
    assert "resuming switchover run 20261205T111500Z-switchover-2" in capsys.readouterr().err


def test_new_run_and_finished_runs_start_afresh(project, runner):
    directory = dr.runs_dir(project)
    _write_record(directory, "20261205T111500Z-switchover-2")
    cli.main([*SWITCHOVER, "--new-run"])
    _write_record(directory, "20261205T111500Z-switchover-2", status="refused")
    cli.main(SWITCHOVER)
    ids = [json.loads(r.extra_vars[-1])["dr_run_id"] for r in runner.requests]
    assert all(i != "20261205T111500Z-switchover-2" and "-switchover-" in i for i in ids)


def test_a_run_toward_another_target_is_not_resumed(project, runner):
    _write_record(dr.runs_dir(project), "20261205T111500Z-switchover-2", target_region="us-east-1")
    cli.main([*SWITCHOVER, "--target-region", "us-west-2"])
    assert (
        json.loads(runner.requests[0].extra_vars[-1])["dr_run_id"]
        != "20261205T111500Z-switchover-2"
    )


def test_a_preflight_record_shows_its_checks_and_no_rto_or_rpo(tmp_path):
    record = {
        "verb": "preflight",
        "environment": "lab",
        "status": "failed",
        "run_id": "20261206T120000Z-preflight-1",
        "steps": [
            {
                "id": "readiness",
                "title": "preflight",
                "outcome": "failed",
                "seconds": 9.5,
                "data": {
                    "checks": [
                        {"name": "dr_state", "ok": True, "skipped": False, "detail": "epoch 1"},
                        {"name": "postgresql_lag", "ok": False, "skipped": False, "detail": "9 s"},
                        {"name": "clocks", "ok": False, "skipped": True, "detail": "not read"},
                    ]
                },
            }
        ],
    }
    text = dr.render_record(record, tmp_path / "r.json")
    assert "    ok   dr_state: epoch 1" in text
    assert "    FAIL postgresql_lag: 9 s" in text
    assert "    skip clocks: not read" in text
    assert "RTO" not in text and "RPO" not in text


def test_a_failover_reads_no_cloud_source_of_the_failed_region(project, runner):
    inventory = project / "inventories" / "staging"
    (inventory / "hosts.yml").write_text("all: {}\n")
    (inventory / "group_vars").mkdir()
    for region in ("us-east-1", "us-west-2"):
        (inventory / f"cloud-{region}.aws_ec2.yml").write_text(
            f"plugin: amazon.aws.aws_ec2\nregions: [{region}]\n"
        )
    (inventory / "both.aws_ec2.yml").write_text(
        "plugin: amazon.aws.aws_ec2\nregions: [us-east-1, us-west-2]\n"
    )
    cli.main(
        [
            "dr",
            "failover",
            "-i",
            "inventories/staging",
            "--target-region",
            "us-west-2",
            "--confirm",
            "staging:us-west-2",
        ]
    )
    sources = [Path(s).name for s in runner.requests[0].inventory_sources]
    assert sources == ["cloud-us-west-2.aws_ec2.yml", "hosts.yml"]
    cli.main(["dr", "switchover", "-i", "inventories/staging", "--confirm", "staging:us-west-2"])
    assert runner.requests[1].inventory_sources is None

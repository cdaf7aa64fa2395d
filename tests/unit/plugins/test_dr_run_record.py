"""Unit tests for the DR run record (module_utils/dr_record.py, its module and action plugin)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess

import pytest
import yaml
from ansible_collections.tradeops.platform.plugins.module_utils import dr_record as rec
from ansible_collections.tradeops.platform.plugins.modules import dr_run_record as mod

from .controller_play import run_without_interpreter
from .module_run import run_main

T0 = dt.datetime(2026, 12, 5, 10, 15, tzinfo=dt.UTC).timestamp()
BEGIN = {
    "run_id": "20261205T101500Z-failover-42",
    "action": "begin",
    "verb": "failover",
    "environment": "lab",
    "source_region": "us-east-1",
    "target_region": "us-west-2",
    "inputs": {"dr_target_region": "us-west-2"},
    "targets": {"rto_seconds": 3600, "rpo_seconds": 60, "source": "seeds/003"},
    "aws_caller": None,
}
CONTEXT = {"user": "alice", "host": "ops-1", "git": {"revision": "abc", "dirty": False}}


def call(path, now, **params):
    """One call through the module's read-modify-write (the clock given, not read)."""
    merged = {"run_id": BEGIN["run_id"], **params}
    return rec.record_call(str(path), merged, CONTEXT, now)


def begin(path, now, **overrides):
    """action=begin with BEGIN's arguments, some replaced."""
    return rec.record_call(str(path), {**BEGIN, **overrides}, CONTEXT, now)


def run_module(args, check_mode=False):
    return run_main(mod.main, args, check_mode)


@pytest.fixture
def path(tmp_path):
    return tmp_path / f"{BEGIN['run_id']}.json"


def on_disk(path):
    return json.loads(path.read_text())


# ------------------------------------------------------------------ redaction


def test_secret_looking_keys_are_redacted_at_any_depth():
    inputs = {
        "dr_target_region": "us-west-2",
        "DB_Password": "hunter2",
        "nested": {"api_token": "t0k", "list": [{"ssh_key": "k", "name": "x"}], "ok": 1},
        "AWS_SECRET_ACCESS_KEY": "s",
        "credentials": {"user": "u"},
        "Authorization": "Bearer z",
    }
    out = rec.redact(inputs)
    assert out == {
        "dr_target_region": "us-west-2",
        "DB_Password": rec.REDACTED,
        "nested": {
            "api_token": rec.REDACTED,
            "list": [{"ssh_key": rec.REDACTED, "name": "x"}],
            "ok": 1,
        },
        "AWS_SECRET_ACCESS_KEY": rec.REDACTED,
        "credentials": rec.REDACTED,
        "Authorization": rec.REDACTED,
    }
    assert inputs["DB_Password"] == "hunter2"  # a copy: the caller's dict is untouched


def test_redacted_values_never_reach_the_file(path):
    begin(path, T0, inputs={"db": {"password": "hunter2"}, "region": "us-west-2"})
    call(path, T0 + 1, action="step_end", step="s", outcome="done", data={"token": "t0k"})
    call(path, T0 + 2, action="set", data={"notes": {"auth": "Bearer z", "why": "drill"}})
    text = path.read_text()
    assert "hunter2" not in text and "t0k" not in text and "Bearer z" not in text
    record = on_disk(path)
    assert record["inputs"] == {"db": {"password": rec.REDACTED}, "region": "us-west-2"}
    assert record["notes"] == {"auth": rec.REDACTED, "why": "drill"}


# ------------------------------------------------------------------ actions


def test_begin_writes_a_complete_record(path):
    record, changed = begin(path, T0)
    assert changed is True
    assert record == on_disk(path)
    assert record["status"] == "running"
    assert record["started_at"] == "2026-12-05T10:15:00.000Z"
    assert (record["verb"], record["environment"]) == ("failover", "lab")
    assert (record["source_region"], record["target_region"]) == ("us-east-1", "us-west-2")
    assert record["operator"] == {"user": "alice", "aws_caller": None}
    assert record["git"] == {"revision": "abc", "dirty": False}
    assert record["host"] == "ops-1"
    assert record["targets"] == {"rto_seconds": 3600, "rpo_seconds": 60, "source": "seeds/003"}
    assert record["steps"] == [] and record["resumed_at"] == []
    assert record["rto"]["seconds"] is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("arn:aws:iam::123456789012:user/alice", {"arn": "arn:aws:iam::123456789012:user/alice"}),
        (
            {
                "account": "123456789012",
                "arn": "arn:aws:iam::123456789012:user/alice",
                "user_id": "AIDA",
                "changed": False,
                "ResponseMetadata": {"RequestId": "x"},
            },
            {
                "account": "123456789012",
                "arn": "arn:aws:iam::123456789012:user/alice",
                "user_id": "AIDA",
            },
        ),
        ({"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}, None),
        ("", None),
    ],
)
def test_aws_caller_is_kept_small(path, given, kept):
    record = begin(path, T0, aws_caller=given)[0]
    assert record["operator"]["aws_caller"] == kept


def test_step_seconds_come_from_the_module_clock(path):
    begin(path, T0)
    call(path, T0 + 10, action="step_begin", step="fence", title="Fence the old primary")
    record, changed = call(
        path,
        T0 + 22.5,
        action="step_end",
        step="fence",
        outcome="done",
        detail="engines stopped",
        data={"lag_bytes": 0},
    )
    assert changed
    (step,) = record["steps"]
    assert step["title"] == "Fence the old primary"
    assert step["started_at"] == "2026-12-05T10:15:10.000Z"
    assert step["ended_at"] == "2026-12-05T10:15:22.500Z"
    assert step["seconds"] == 22.5 - 10
    assert (step["outcome"], step["detail"], step["data"]) == (
        "done",
        "engines stopped",
        {"lag_bytes": 0},
    )
    assert step["attempt"] == 1


def test_step_end_without_begin_still_records_the_outcome(path):
    begin(path, T0)
    record = call(path, T0 + 1, action="step_end", step="dns", outcome="skipped", title="DNS")[0]
    (step,) = record["steps"]
    assert (step["id"], step["title"], step["outcome"], step["seconds"]) == (
        "dns",
        "DNS",
        "skipped",
        None,
    )


def test_set_merges_sections_and_reports_no_change_when_nothing_changes(path):
    begin(path, T0)
    call(path, T0 + 1, action="set", data={"rpo": {"seconds": 0.4, "lag": {"bytes": 10}}})
    record, changed = call(
        path, T0 + 2, action="set", data={"rpo": {"lag": {"lsn": "0/30"}}, "epoch": {"after": 2}}
    )
    assert changed
    assert record["rpo"] == {"seconds": 0.4, "lag": {"bytes": 10, "lsn": "0/30"}}
    assert record["epoch"] == {"after": 2}
    mtime = path.stat().st_mtime_ns
    record, changed = call(path, T0 + 3, action="set", data={"epoch": {"after": 2}})
    assert changed is False
    assert path.stat().st_mtime_ns == mtime
    assert record["updated_at"] == on_disk(path)["updated_at"] == "2026-12-05T10:15:02.000Z"


@pytest.mark.parametrize(
    ("data", "message"),
    [({"status": {"x": 1}}, "not status"), ({"rpo": 5}, "data.rpo must be a dict")],
)
def test_set_refuses_what_is_not_a_section(path, data, message):
    begin(path, T0)
    before = path.read_text()
    with pytest.raises(rec.RecordError, match=message):
        call(path, T0 + 1, action="set", data=data)
    assert path.read_text() == before


def test_rto_is_measured_between_the_clock_marks(path):
    begin(path, T0)
    call(path, T0 + 5, action="step_begin", step="declare", rto_clock="start")
    call(path, T0 + 6, action="step_end", step="declare", outcome="done")
    call(path, T0 + 7, action="step_begin", step="promote", rto_clock="start")  # not the first
    call(path, T0 + 20, action="step_end", step="promote", outcome="done")
    call(path, T0 + 21, action="step_begin", step="traffic")
    call(path, T0 + 30, action="step_end", step="traffic", outcome="failed", rto_clock="stop")
    call(path, T0 + 31, action="step_begin", step="traffic")
    call(path, T0 + 65.25, action="step_end", step="traffic", outcome="done", rto_clock="stop")
    call(path, T0 + 70, action="step_begin", step="verify")
    call(path, T0 + 75, action="step_end", step="verify", outcome="done", rto_clock="stop")
    record = call(path, T0 + 80, action="end", status="succeeded")[0]
    assert record["rto"] == {
        "started_at": rec.iso(T0 + 5),
        "start_step": "declare",
        "stopped_at": rec.iso(T0 + 65.25),  # the failed attempt did not stop it, nor verify
        "stop_step": "traffic",
        "seconds": 60.25,
    }
    assert (record["status"], record["seconds"]) == ("succeeded", 80.0)
    assert record["ended_at"] == rec.iso(T0 + 80)
    assert [(s["id"], s["outcome"]) for s in record["steps"]] == [
        ("declare", "done"),
        ("promote", "done"),
        ("traffic", "failed"),
        ("traffic", "done"),
        ("verify", "done"),
    ]


def test_rto_is_null_without_both_marks(path):
    begin(path, T0)
    call(path, T0 + 1, action="step_begin", step="promote", rto_clock="start")
    call(path, T0 + 2, action="step_end", step="promote", outcome="failed", rto_clock="stop")
    record = call(path, T0 + 3, action="end", status="failed")[0]
    assert record["rto"]["started_at"] == rec.iso(T0 + 1)
    assert record["rto"]["stopped_at"] is None
    assert record["rto"]["seconds"] is None
    assert record["seconds"] == 3.0


def test_clock_marks_belong_to_their_action(path):
    begin(path, T0)
    with pytest.raises(rec.RecordError, match="step_end"):
        call(path, T0 + 1, action="step_begin", step="x", rto_clock="stop")
    with pytest.raises(rec.RecordError, match="step_begin"):
        call(path, T0 + 1, action="step_end", step="x", outcome="done", rto_clock="start")


def test_end_closes_steps_left_open(path):
    begin(path, T0)
    call(path, T0 + 1, action="step_begin", step="promote")
    record = call(path, T0 + 4, action="end", status="interrupted")[0]
    (step,) = record["steps"]
    assert (step["outcome"], step["seconds"]) == ("interrupted", 3.0)
    assert record["status"] == "interrupted"


@pytest.mark.parametrize(
    "params",
    [
        {"action": "step_begin", "step": "x"},
        {"action": "step_end", "step": "x", "outcome": "done"},
        {"action": "set", "data": {"rpo": {}}},
        {"action": "end", "status": "failed"},
    ],
)
def test_calls_before_begin_fail_and_write_nothing(path, params):
    with pytest.raises(rec.RecordError, match="action=begin first"):
        call(path, T0, **params)
    assert not path.exists()


# ------------------------------------------------------------------ resume


def test_begin_on_an_existing_record_resumes_it(path):
    begin(path, T0)
    call(path, T0 + 1, action="step_begin", step="fence", rto_clock="start")
    call(path, T0 + 2, action="step_end", step="fence", outcome="done")
    call(path, T0 + 3, action="step_begin", step="promote")  # ... and the run is killed here
    record, changed = begin(path, T0 + 100, inputs={"other": "inputs"})
    assert changed
    assert record["started_at"] == rec.iso(T0)
    assert record["resumed_at"] == [rec.iso(T0 + 100)]
    assert record["inputs"] == {"dr_target_region": "us-west-2"}  # the first run's inputs
    assert [(s["id"], s["outcome"], s["attempt"]) for s in record["steps"]] == [
        ("fence", "done", 1),
        ("promote", "interrupted", 1),
    ]
    call(path, T0 + 101, action="step_begin", step="fence", rto_clock="start")  # first one wins
    call(path, T0 + 101, action="step_end", step="fence", outcome="skipped")
    call(path, T0 + 102, action="step_begin", step="promote")
    call(path, T0 + 130, action="step_end", step="promote", outcome="done", rto_clock="stop")
    record = call(path, T0 + 131, action="end", status="succeeded")[0]
    assert record["rto"]["start_step"] == "fence"
    assert record["rto"]["seconds"] == 129.0  # from the first run's mark, across the resume
    assert record["seconds"] == 131.0
    assert [s["attempt"] for s in record["steps"]] == [1, 1, 2, 2]


def test_resume_after_an_end_reopens_the_run(path):
    begin(path, T0)
    call(path, T0 + 1, action="end", status="failed")
    record = begin(path, T0 + 5)[0]
    assert (record["status"], record["ended_at"], record["seconds"]) == ("running", None, None)


def test_resume_with_another_verb_is_refused(path):
    begin(path, T0)
    with pytest.raises(rec.RecordError, match="is a failover run on lab, not a switchover run"):
        begin(path, T0 + 1, verb="switchover")


# ------------------------------------------------------------------ files


def test_file_and_directory_modes(tmp_path):
    directory = tmp_path / "deep" / "runs"
    path = directory / f"{BEGIN['run_id']}.json"
    rec.ensure_dir(str(directory))
    begin(path, T0)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_write_that_dies_half_way_leaves_the_previous_record(path, monkeypatch):
    begin(path, T0)
    before = path.read_text()

    def dump_half_then_die(obj, handle, **kwargs):
        handle.write(json.dumps(obj)[:40])
        raise KeyboardInterrupt  # the run is killed while writing

    monkeypatch.setattr(rec.json, "dump", dump_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        call(path, T0 + 1, action="step_begin", step="x")
    monkeypatch.undo()
    assert path.read_text() == before
    assert json.loads(before)["steps"] == []
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left


def test_a_corrupt_record_is_not_overwritten(path):
    path.write_text('{"run_id": ')
    with pytest.raises(rec.RecordError, match="not a valid run record"):
        begin(path, T0)
    assert path.read_text() == '{"run_id": '


@pytest.mark.parametrize("run_id", ["../escape", "a/b", ".hidden", "", "x" * 129])
def test_run_ids_are_plain_file_names(tmp_path, run_id):
    with pytest.raises(rec.RecordError, match="not a plain name"):
        rec.record_path(str(tmp_path), run_id)


def test_the_checkout_is_found_from_the_environment_or_the_working_directory(tmp_path):
    checkout = tmp_path / "co"
    (checkout / "playbooks" / "dr").mkdir(parents=True)
    for name in ("site.yml", "galaxy.yml"):
        (checkout / name).write_text("---\n")
    other = tmp_path / "other"
    other.mkdir()
    assert rec.find_checkout(str(checkout / "playbooks" / "dr"), {}) == str(checkout)
    assert rec.find_checkout(str(other), {"TRADEOPS_PROJECT": str(checkout)}) == str(checkout)
    assert rec.find_checkout(str(other), {}) is None
    assert rec.find_checkout(str(other), {"TRADEOPS_PROJECT": str(other)}) is None


# ------------------------------------------------------------------ the module


def git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A throwaway tradeops-shaped git checkout, the module's working directory."""
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("site.yml", "galaxy.yml"):
        (root / name).write_text("---\n")
    (root / ".gitignore").write_text(".cache/\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    monkeypatch.delenv("TRADEOPS_PROJECT", raising=False)
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("check_mode", [False, True])
def test_module_fills_operator_git_and_host_and_writes_even_in_check_mode(checkout, check_mode):
    rc, result = run_module(dict(BEGIN, aws_caller="arn:aws:iam::123456789012:user/a"), check_mode)
    assert rc == 0, result
    path = checkout / ".cache" / "dr" / "runs" / f"{BEGIN['run_id']}.json"
    assert result["path"] == str(path)
    assert result["changed"] is True
    assert on_disk(path) == result["record"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert result["record"]["git"] == {"revision": head, "dirty": False}
    assert result["record"]["operator"]["user"]
    assert result["record"]["operator"]["aws_caller"] == {"arn": "arn:aws:iam::123456789012:user/a"}
    assert result["record"]["host"]
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_module_sees_a_dirty_checkout(checkout):
    (checkout / "site.yml").write_text("--- # edited\n")
    rc, result = run_module(BEGIN)
    assert rc == 0
    assert result["record"]["git"]["dirty"] is True


def test_module_outside_a_git_tree_records_no_revision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.delenv("TRADEOPS_PROJECT", raising=False)  # the module would look there
    for name in ("site.yml", "galaxy.yml"):
        (tmp_path / name).write_text("---\n")
    rc, result = run_module(dict(BEGIN, dir=str(tmp_path / "runs")))
    assert rc == 0, result
    assert result["record"]["git"] == {"revision": None, "dirty": None}
    assert result["path"] == str(tmp_path / "runs" / f"{BEGIN['run_id']}.json")


def test_module_runs_a_whole_record(checkout):
    base = {"run_id": BEGIN["run_id"], "dir": str(checkout / "records")}
    assert run_module(dict(BEGIN, **base))[0] == 0
    rc, result = run_module(dict(base, action="step_begin", step="promote", rto_clock="start"))
    assert rc == 0 and result["changed"]
    rc, result = run_module(
        dict(base, action="step_end", step="promote", outcome="done", rto_clock="stop")
    )
    assert rc == 0
    assert result["record"]["steps"][0]["seconds"] >= 0
    rc, result = run_module(dict(base, action="end", status="succeeded"))
    assert rc == 0
    assert result["record"]["status"] == "succeeded"
    assert result["record"]["rto"]["seconds"] is not None
    assert on_disk(checkout / "records" / f"{BEGIN['run_id']}.json") == result["record"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"action": "step_begin"},
            "action is step_begin but all of the following are missing: step",
        ),
        ({"action": "end"}, "missing: status"),
        ({"action": "step_end", "step": "x", "outcome": "done"}, "action=begin first"),
        ({"action": "begin", "verb": "failover", "environment": "lab", "run_id": "../x"}, "plain"),
    ],
)
def test_module_failures_say_what_to_do(checkout, args, message):
    rc, result = run_module({"run_id": BEGIN["run_id"], **args})
    assert rc == 1
    assert message in result["msg"]


def test_module_without_a_checkout_asks_for_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADEOPS_PROJECT", raising=False)
    rc, result = run_module(BEGIN)
    assert rc == 1
    assert "give dir" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_module_documentation_matches_its_argument_spec():
    doc = yaml.safe_load(mod.DOCUMENTATION)
    assert isinstance(yaml.safe_load(mod.EXAMPLES), list)
    assert set(yaml.safe_load(mod.RETURN)) == {"path", "record"}

    def view(options):
        return {
            name: (
                spec.get("type", "str"),
                bool(spec.get("required", False)),
                spec.get("default"),
                sorted(spec.get("choices") or []),
                view(spec.get("suboptions") or spec.get("options") or {}),
            )
            for name, spec in options.items()
        }

    assert view(doc["options"]) == view(rec.ARGUMENT_SPEC)
    sample = yaml.safe_load(mod.RETURN)["record"]["sample"]
    assert set(sample) == set(rec.new_record(BEGIN, CONTEXT, T0))
    assert os.path.basename(yaml.safe_load(mod.RETURN)["path"]["sample"]).endswith(".json")


# ---- the action plugin: the same record, written in the controller's process --------------

ACTION_TASKS = """\
    - tradeops.platform.dr_run_record:
        run_id: {run_id}
        action: begin
        verb: failover
        environment: lab
        inputs: {{db_password: hunter2, dr_target_region: us-west-2}}
    - tradeops.platform.dr_run_record:
        run_id: {run_id}
        action: step_begin
        step: promote
        rto_clock: start
    - tradeops.platform.dr_run_record:
        run_id: {run_id}
        action: step_end
        step: promote
        outcome: done
        rto_clock: stop
    - tradeops.platform.dr_run_record:
        run_id: {run_id}
        action: end
        status: succeeded
    - tradeops.platform.dr_run_record:
        run_id: {run_id}
        action: step_end
      register: bad
      ignore_errors: true
    - ansible.builtin.assert:
        that: bad is failed and 'outcome' in bad.msg
"""


@pytest.mark.parametrize("check_mode", [False, True])
def test_action_plugin_writes_the_record_without_a_module_run(checkout, check_mode):
    tasks = ACTION_TASKS.format(run_id=BEGIN["run_id"])
    proc = run_without_interpreter(
        checkout / "record.yml", tasks, check_mode, TRADEOPS_PROJECT=str(checkout)
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    record = on_disk(checkout / ".cache" / "dr" / "runs" / f"{BEGIN['run_id']}.json")
    assert record["status"] == "succeeded"
    assert record["inputs"] == {"db_password": rec.REDACTED, "dr_target_region": "us-west-2"}
    assert [s["outcome"] for s in record["steps"]] == ["done"]
    assert record["rto"]["seconds"] is not None
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert record["git"] == {"revision": head, "dirty": True}  # record.yml is untracked

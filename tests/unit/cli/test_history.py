"""history.py: the audit record's parts, shipping to an Object Lock bucket (moto, in-process),
and a real ARA round trip (an ansible-playbook run on localhost recorded by ARA's callback,
read back by `tradeops runs list|show`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tradeops import history
from tradeops.runner import RunRequest

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent


def test_redact_extra_vars_mappings_pairs_files_and_vaults(tmp_path):
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text("db_password: hunter2\nreplicas: 3\nnested: {api_token: abc, ok: 1}\n")
    vault = tmp_path / "vault.yml"
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    recorded = history.redact_extra_vars(
        [
            '{"dr_confirm": "lab:us-west-2", "aws_secret_key": "s3cr3t"}',
            "engine_version=v2 admin_password='p w'",
            "@vars.yml",
            "@vault.yml",
            "@missing.yml",
        ],
        cwd=tmp_path,
    )
    text = json.dumps(recorded)
    assert (
        "s3cr3t" not in text and "hunter2" not in text and "p w" not in text and "abc" not in text
    )
    assert recorded[0] == {"dr_confirm": "lab:us-west-2", "aws_secret_key": history.REDACTED}
    assert recorded[1] == {"engine_version": "v2", "admin_password": history.REDACTED}
    assert recorded[2]["vars"]["replicas"] == 3
    assert recorded[2]["vars"]["nested"] == {"api_token": history.REDACTED, "ok": 1}
    assert recorded[3]["vars"].startswith("vault-encrypted")
    assert "error" in recorded[4]


def test_fingerprint_follows_roles_inventory_and_extra_vars_not_secrets(tmp_path):
    root = tmp_path / "checkout"
    (root / "roles" / "r" / "tasks").mkdir(parents=True)
    (root / "roles" / "r" / "tasks" / "main.yml").write_text("- name: a\n")
    (root / "site.yml").write_text("---\n")
    inventory = root / "inventories" / "lab"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "group_vars" / "all" / "x.yml").write_text("a: 1\n")
    first = history.desired_state_fingerprint(root, inventory, [])
    assert first == history.desired_state_fingerprint(root, inventory, [])
    (root / "roles" / "r" / "tasks" / "main.yml").write_text("- name: b\n")
    second = history.desired_state_fingerprint(root, inventory, [])
    assert second != first
    (inventory / "group_vars" / "all" / "x.yml").write_text("a: 2\n")
    third = history.desired_state_fingerprint(root, inventory, [])
    assert third != second
    assert history.desired_state_fingerprint(root, inventory, [{"v": 1}]) != third
    # a secret's value is redacted before it is hashed: changing it changes nothing
    one = history.redact_extra_vars(["db_password=a"])
    two = history.redact_extra_vars(["db_password=b"])
    assert history.desired_state_fingerprint(
        root, inventory, one
    ) == history.desired_state_fingerprint(root, inventory, two)
    # The layers a run covers are its scope, not its desired state: a converge of every
    # layer and a drift check of three agree (the day-2 test's drift found only "pending").
    scoped = history.redact_extra_vars(['{"tradeops_aws_layers": ["network"]}'])
    assert history.desired_state_fingerprint(root, inventory, scoped) == third
    mixed = history.redact_extra_vars(['{"tradeops_aws_layers": ["network"], "v": 1}'])
    assert history.desired_state_fingerprint(root, inventory, mixed) == (
        history.desired_state_fingerprint(root, inventory, [{"v": 1}])
    )


def test_the_record_names_the_revision_and_desired_state_the_run_started_from(
    tmp_path, monkeypatch
):
    """A commit made while a run goes on is not what ran: revision, dirtiness and the
    desired-state fingerprint are taken when the run starts."""
    monkeypatch.setenv("TRADEOPS_HISTORY", "on")
    root = tmp_path / "checkout"
    (root / "roles" / "r").mkdir(parents=True)
    (root / "inventories" / "lab").mkdir(parents=True)
    (root / "roles" / "r" / "main.yml").write_text("a: 1\n")

    def git(*args):
        who = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
        subprocess.run(["git", "-C", str(root), *who, *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    first = history.git_state(root)["revision"]
    audit = history.RunAudit(
        root, RunRequest("x"), "r-1", root / "site.yml", root / "inventories" / "lab"
    )
    (root / "roles" / "r" / "main.yml").write_text("a: 2\n")  # the run goes on ...
    git("commit", "-qam", "two")
    assert history.git_state(root)["revision"] != first
    monkeypatch.setattr(history, "caller_identity", lambda root, inventory: None)
    record = audit.build({"exit_code": 0})
    assert record["git"]["revision"] == first and record["git"]["dirty"] is False
    now = history.desired_state_fingerprint(root, root / "inventories" / "lab", [])
    assert record["desired_state"] != now


def test_ships_protected_environments_by_default(monkeypatch):
    # Protection is the inventory's tradeops_protected (environment.py), not a list of names.
    monkeypatch.delenv("TRADEOPS_SHIP_RUN_RECORDS", raising=False)
    monkeypatch.setenv("TRADEOPS_PROTECTED_ENVS", "lab")  # no longer read
    assert history.ships("production", True) and not history.ships("lab", False)
    assert history.ships("prod-blue", True) and not history.ships("production", False)
    monkeypatch.setenv("TRADEOPS_SHIP_RUN_RECORDS", "lab,staging")
    assert history.ships("lab", False) and not history.ships("production", True)


def test_the_audit_takes_name_and_protection_from_the_inventory(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOPS_HISTORY", "on")
    inventory = tmp_path / "inventories" / "blue"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "group_vars" / "all" / "platform.yml").write_text(
        "tradeops_environment: production\ntradeops_protected: true\n"
    )
    audit = history.RunAudit(ROOT, RunRequest("x"), "r-1", ROOT / "site.yml", inventory)
    assert (audit.environment_name, audit.protected) == ("production", True)
    assert "env:production" in audit.labels()
    lab = history.RunAudit(
        ROOT, RunRequest("x"), "r-2", ROOT / "site.yml", ROOT / "inventories" / "lab"
    )
    assert (lab.environment_name, lab.protected) == ("lab", False)


def test_compliance_bucket_name_from_the_inventory(tmp_path, monkeypatch):
    monkeypatch.delenv("TRADEOPS_COMPLIANCE_BUCKET", raising=False)
    inventory = tmp_path / "production"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "group_vars" / "all" / "platform.yml").write_text(
        "tradeops_project: acme\ntradeops_environment: prod\n"
    )
    assert history.compliance_bucket(inventory, "production", "111122223333") == (
        "acme-prod-111122223333-compliance"
    )
    assert history.compliance_bucket(inventory, "production", None) is None


def test_ship_puts_the_record_into_the_object_lock_bucket(tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("TRADEOPS_COMPLIANCE_BUCKET", raising=False)
    inventory = tmp_path / "inventories" / "production"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "group_vars" / "all" / "platform.yml").write_text("tradeops_project: tradeops\n")
    record = {
        "run_id": "20261206T101010-1",
        "environment": "production",
        "operator": {"user": "ops", "aws_caller": {"account": "123456789012"}},
    }
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        bucket = "tradeops-production-123456789012-compliance"
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
            },
        )
        shipped = history.ship(record, tmp_path, inventory)
        assert shipped == {
            "bucket": bucket,
            "key": "tradeops/runs/production/20261206T101010-1.json",
        }
        body = s3.get_object(Bucket=bucket, Key=shipped["key"])["Body"].read()
        assert json.loads(body)["run_id"] == "20261206T101010-1"
        head = s3.head_object(Bucket=bucket, Key=shipped["key"])
        assert head.get("ObjectLockMode") == "COMPLIANCE"
        # a bucket that does not exist: an error to show, never an exception
        failed = history.ship(dict(record, environment="staging"), tmp_path, inventory)
        assert "error" in failed and "NoSuchBucket" in failed["error"]


def test_command_of_a_dr_runbook_and_operator_name(tmp_path):
    root = tmp_path
    assert (
        history.command_of(RunRequest("x"), root / "playbooks" / "dr" / "failover.yml", root)
        == "dr"
    )
    assert history.command_of(RunRequest("x"), root / "site.yml", root) == "run"
    assert history.command_of(RunRequest("x", command="plan"), root / "site.yml", root) == "plan"
    assert history.operator_name({"user": "root", "sudo_user": "alice"}) == "alice (as root)"


def test_ara_records_a_run_and_tradeops_runs_reads_it(tmp_path):
    """A real ansible-playbook run with ARA's callback (as the runner enables it), the
    tradeops record added to it, and `tradeops runs list|show` reading both back."""
    ara_dir = tmp_path / "ara"
    playbook = tmp_path / "pb.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Write a file\n"
        f"      ansible.builtin.copy: {{content: x, dest: {tmp_path}/out, mode: '0600'}}\n"
    )
    env = dict(os.environ, TRADEOPS_ARA_DIR=str(ara_dir))
    env.pop("ARA_BASE_DIR", None)
    env.pop("ARA_API_CLIENT", None)
    code = f"""
import json, os, subprocess, sys
from pathlib import Path
from tradeops import history
root = Path({str(ROOT)!r})
labels = ["tradeops", "cmd:run", "env:lab", "run:test-run-1"]
env = dict(os.environ, **history.ara_environment(root, labels, "tester"))
env["ANSIBLE_CONFIG"] = str(root / "ansible.cfg")
proc = subprocess.run([{str(VENV_BIN / "ansible-playbook")!r}, "-i", "localhost,",
    "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, {str(playbook)!r}],
    env=env, capture_output=True, text=True)
assert proc.returncode == 0, proc.stdout + proc.stderr
ara = history.Ara(root, migrate=False)
[pb] = ara.playbooks_with_label("run:test-run-1")
record = {{"run_id": "test-run-1", "command": "run", "playbook": "pb.yml",
    "environment": "lab", "check": False, "operator": {{"user": "tester",
    "aws_caller": {{"arn": "arn:aws:sts::123456789012:user/tester"}}}},
    "git": {{"revision": "0123456789abcdef", "dirty": True}}, "outcome": "ok",
    "exit_code": 0, "tags": [], "limit": None, "hosts": ["localhost"],
    "changes": [{{"scope": "controller", "target": "localhost", "kind": "file",
                 "what": "/x", "current": "absent", "wanted": "present"}}]}}
ara.add_record(pb["id"], record)
print(pb["id"])
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ident = proc.stdout.strip().splitlines()[-1]
    tradeops = [str(VENV_BIN / "tradeops")]
    listed = subprocess.run(
        [*tradeops, "runs", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(ident + " "))
    for word in ("tester", "0123456789+dirty", "arn:aws:sts::123456789012:user/tester", " run "):
        assert word in row, (word, listed.stdout)
    shown = subprocess.run(
        [*tradeops, "runs", "show", "test-run-1", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["record"]["run_id"] == "test-run-1"
    assert [r["status"] for r in data["changed_results"]] == ["changed"]  # ARA's own result
    # The text view names the ara command that reads this history (ARA_BASE_DIR in front:
    # without it ara opens an empty ~/.ara), and that command works as printed.
    text = subprocess.run(
        [*tradeops, "runs", "show", "test-run-1"], env=env, capture_output=True, text=True,
        timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    command = re.search(r"ARA: `([^`]*ara playbook show \d+)`", text.stdout).group(1)
    assert command.startswith("ARA_BASE_DIR=ara "), command  # relative to the directory
    ara_env = {k: v for k, v in env.items() if k not in ("TRADEOPS_ARA_DIR", "ARA_BASE_DIR")}
    ara_env["PATH"] = f"{VENV_BIN}:{ara_env.get('PATH', '')}"
    shown_by_ara = subprocess.run(
        ["bash", "-c", command], env=ara_env, capture_output=True, text=True, timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    assert shown_by_ara.returncode == 0, shown_by_ara.stdout + shown_by_ara.stderr
    assert "pb.yml" in shown_by_ara.stdout
    missing = subprocess.run(
        [*tradeops, "runs", "show", "nope"], env=env, capture_output=True, text=True, timeout=120
    )
    assert missing.returncode == 3 and "tradeops runs list" in missing.stderr


@pytest.mark.parametrize(
    ("given", "playbook", "tasks"),
    [
        (None, "site.yml", True),
        (None, "playbooks/dr/status.yml", True),
        (None, "playbooks/dr/switchover.yml", False),
        (None, "playbooks/dr/failover.yml", False),
        ("full", "playbooks/dr/failback.yml", True),
        ("summary", "site.yml", False),
    ],
)
def test_dr_moves_are_recorded_without_the_per_task_callback(
    monkeypatch, tmp_path, given, playbook, tasks
):
    if given is None:
        monkeypatch.delenv("TRADEOPS_HISTORY", raising=False)
    else:
        monkeypatch.setenv("TRADEOPS_HISTORY", given)
    audit = history.RunAudit(
        ROOT, RunRequest("x"), "r-1", ROOT / playbook, ROOT / "inventories" / "lab"
    )
    assert audit.recorded and audit.tasks is tasks
    assert ("ANSIBLE_CALLBACKS_ENABLED" in audit.environment()) is tasks


def test_a_summary_run_is_in_ara_and_tradeops_runs_lists_it(tmp_path):
    """A DR move's record (no ARA callback in the run) becomes an ARA playbook of its own."""
    env = dict(os.environ, TRADEOPS_ARA_DIR=str(tmp_path / "ara"), TRADEOPS_HISTORY="on")
    env.pop("ARA_BASE_DIR", None)
    env.pop("ARA_API_CLIENT", None)
    code = f"""
from pathlib import Path
from tradeops import history
from tradeops.runner import RunRequest
history.caller_identity = lambda root, inventory: {{"arn": "arn:aws:sts::123456789012:user/t"}}
history.Ara(Path({str(ROOT)!r})).get("/api/v1/playbooks")  # the database, migrated
root = Path({str(ROOT)!r})
audit = history.RunAudit(root, RunRequest("x"), "dr-run-7", root / "playbooks/dr/switchover.yml",
                         root / "inventories" / "lab")
audit.record_path = Path({str(tmp_path)!r}) / "audit.json"
assert audit.environment() == {{}}
print(audit.record({{"exit_code": 0, "hosts": {{"db-west-1": {{}}}}}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "run history: ARA playbook" in proc.stdout, proc.stdout
    listed = subprocess.run(
        [str(VENV_BIN / "tradeops"), "runs", "show", "dr-run-7", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["record"]["playbook"] == "playbooks/dr/switchover.yml"
    assert data["record"]["command"] == "dr"
    assert "history:summary" in [label["name"] for label in data["ara"]["labels"]]
    assert data["ara"]["status"] == "completed"


def test_aras_callback_comes_through_the_shim_that_turns_nagle_off(tmp_path):
    """Each task result is a few loopback HTTP calls to ARA's offline server: with Nagle
    on, each waits for a delayed ACK (0.18 s per task and host, measured)."""
    env = history.ara_environment(ROOT, ["tradeops"], "tester")
    directory = Path(env["ANSIBLE_CALLBACK_PLUGINS"].split(":")[-1])
    assert directory == ROOT / "scripts" / "tradeops" / "ara_callback"
    code = f"""
import importlib.util, socketserver
spec = importlib.util.spec_from_file_location("shim", {str(directory / "ara_default.py")!r})
shim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shim)
from ara.clients import offline
from ara.plugins.callback.ara_default import CallbackModule
assert shim.CallbackModule is CallbackModule
assert offline.QuietWSGIRequestHandler.disable_nagle_algorithm is True
assert socketserver.StreamRequestHandler.disable_nagle_algorithm is False
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr

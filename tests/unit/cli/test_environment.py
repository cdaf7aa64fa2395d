"""Which environment, and is it protected (environment.py): the inventory's answer, read by
the runner's guard, the run history and `tradeops dr`; and the run directories (0700, no
credentials on disk, the newest TRADEOPS_KEEP_RUNS kept).

One test runs a real playbook on the controller through runner.run_playbook, in a
throwaway project (TRADEOPS_PROJECT), with fake AWS credentials in the environment.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import textwrap
from pathlib import Path

import pytest

from tradeops import cli, dr, environment, exitcodes, paths, runner
from tradeops.runner import Refused, RunRequest, check_guard_rails

ROOT = Path(__file__).resolve().parents[3]


def inventory(path: Path, text: str | None = None, name: str = "platform.yml") -> Path:
    """An inventory directory; `text`, when given, is its group_vars/all/<name>."""
    path.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (path / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
        (path / "group_vars" / "all" / name).write_text(textwrap.dedent(text))
    return path


# ---------------------------------------------------------------------------- the reader


def test_the_checkout_s_inventories_say_who_they_are():
    lab = environment.of(ROOT / "inventories" / "lab")
    assert (lab.name, lab.protected) == ("lab", False)
    production = environment.of(ROOT / "inventories" / "production")
    assert (production.name, production.protected) == ("production", True)
    assert "tradeops_protected: true in" in production.protection_reason
    # a file of the inventory (-i inventories/lab/hosts.yml) is the same environment
    assert environment.of(ROOT / "inventories" / "lab" / "hosts.yml") == lab


def test_the_name_is_tradeops_environment_not_the_directory(tmp_path):
    blue = inventory(tmp_path / "blue", "tradeops_environment: production\n")
    env = environment.of(blue)
    assert env.name == "production"
    assert env.name_reason.startswith("tradeops_environment: production in ")
    assert runner.environment_name(blue) == "production"  # what plan, report, facts use


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "no tradeops_environment in"),
        ("tradeops_project: acme\n", "no tradeops_environment in"),
        ('tradeops_environment: "{{ env_name }}"\n', "not a literal name"),
        ("tradeops_environment: ''\n", "not a literal name"),
    ],
)
def test_without_a_literal_name_the_directory_names_it(tmp_path, text, reason):
    env = environment.of(inventory(tmp_path / "staging", text))
    assert env.name == "staging"
    assert reason in env.name_reason and "the inventory directory's name, staging" in (
        env.name_reason
    )


@pytest.mark.parametrize(
    ("text", "protected", "reason"),
    [
        ("tradeops_environment: x\ntradeops_protected: true\n", True, "tradeops_protected: true"),
        ("tradeops_environment: x\ntradeops_protected: false\n", False, "protected: false"),
        ("tradeops_protected: 'yes'\n", True, "tradeops_protected: true"),
        ("tradeops_protected: 'off'\n", False, "tradeops_protected: false"),
        ("tradeops_protected: 0\n", False, "tradeops_protected: false"),
        # the inventory names an environment but does not say: fail-safe
        ("tradeops_environment: x\n", True, "treated as protected until it says"),
        # said in a way the CLI cannot read without templating: fail-safe
        ('tradeops_protected: "{{ is_prod }}"\n', True, "not a literal true/false"),
        ("tradeops_protected: maybe\n", True, "not a literal true/false"),
        # no platform variable at all: an ad-hoc inventory, not one of the environments
        ("greeting: hello\n", False, "not one of the platform's environments"),
        (None, False, "not one of the platform's environments"),
    ],
)
def test_protection_comes_from_tradeops_protected(tmp_path, text, protected, reason):
    env = environment.of(inventory(tmp_path / "inv", text))
    assert env.protected is protected
    assert reason in env.protection_reason


def test_protection_read_from_group_vars_all_yml_and_not_from_a_vault(tmp_path):
    single = tmp_path / "single"
    (single / "group_vars").mkdir(parents=True)
    (single / "group_vars" / "all.yml").write_text(
        "tradeops_environment: single\ntradeops_protected: false\n"
    )
    assert environment.of(single).protected is False
    vaulted = inventory(tmp_path / "vaulted", "tradeops_environment: vaulted\n")
    (vaulted / "group_vars" / "all" / "secret.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n61\n")
    assert environment.of(vaulted).protected is True  # the vault is not read: unset
    # nothing readable says who it is, and a vault might: protected
    hidden = inventory(tmp_path / "hidden", "$ANSIBLE_VAULT;1.1;AES256\n61\n")
    env = environment.of(hidden)
    assert (env.name, env.protected) == ("hidden", True)
    assert "platform.yml cannot be read here (vault-encrypted or not YAML)" in (
        env.protection_reason
    )
    broken = inventory(tmp_path / "broken", "tradeops_protected: [false\n")
    assert environment.of(broken).protected is True


def test_the_name_protects_nothing(tmp_path):
    for name in ("production", "prod"):
        env = environment.of(
            inventory(tmp_path / name, f"tradeops_environment: {name}\ntradeops_protected: no\n")
        )
        assert (env.name, env.protected) == (name, False)


# ---------------------------------------------------------------------------- the guard


@pytest.mark.parametrize(
    ("check", "confirm", "refused"),
    [
        (False, None, True),
        (False, "blue", True),  # the directory's name is not the environment's
        (False, "live", False),
        (True, None, False),  # check mode changes nothing
    ],
)
def test_a_protected_environment_is_confirmed_by_its_name(tmp_path, check, confirm, refused):
    live = inventory(tmp_path / "blue", "tradeops_environment: live\ntradeops_protected: true\n")
    request = RunRequest(playbook="site", check=check, confirm=confirm)
    if refused:
        with pytest.raises(Refused) as caught:
            check_guard_rails(request, live)
        assert "live is a protected environment (tradeops_protected: true in" in str(caught.value)
        assert "re-run with --confirm live" in str(caught.value)
    else:
        check_guard_rails(request, live)


def test_an_unprotected_environment_needs_no_confirmation(tmp_path):
    lab = inventory(tmp_path / "production", "tradeops_protected: false\n")
    check_guard_rails(RunRequest(playbook="site"), lab)


def test_an_environment_that_does_not_say_is_refused_with_the_reason(tmp_path):
    env = inventory(tmp_path / "staging", "tradeops_environment: staging\n")
    with pytest.raises(Refused, match="has no tradeops_protected: treated as protected"):
        check_guard_rails(RunRequest(playbook="site"), env)


# ---------------------------------------------------------------------------- tradeops dr


@pytest.fixture
def dr_project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    inventory(root / "inventories" / "blue", "tradeops_environment: production\n")
    inventory(
        root / "inventories" / "staging",
        "tradeops_environment: staging\ntradeops_protected: false\n",
    )
    (root / "site.yml").write_text("---\n")
    monkeypatch.setenv("TRADEOPS_PROJECT", str(root))
    requests: list[RunRequest] = []

    def fake_run(request, stream=None, finish=None):
        requests.append(request)
        return exitcodes.OK

    monkeypatch.setattr(dr, "run_playbook", fake_run)
    return requests


def test_dr_names_the_environment_as_the_inventory_does(dr_project, capsys):
    argv = ["dr", "switchover", "-i", "inventories/blue", "--confirm", "blue:us-west-2"]
    assert cli.main(argv) == exitcodes.PRECONDITION
    assert "--confirm names blue, but the inventory inventories/blue is production" in (
        capsys.readouterr().err
    )
    assert dr_project == []
    argv[-1] = "production:us-west-2"
    assert cli.main(argv) == exitcodes.OK
    (request,) = dr_project
    assert request.confirm == "production"  # what the runner's guard then compares


def test_dr_refuses_a_drill_on_a_protected_environment(dr_project, capsys):
    argv = ["dr", "drill", "-i", "inventories/blue", "--confirm", "production:us-west-2"]
    assert cli.main(argv) == exitcodes.PRECONDITION
    err = capsys.readouterr().err
    assert "a drill moves production twice: it runs on unprotected environments only" in err
    assert "treated as protected" in err
    assert dr_project == []
    argv = ["dr", "drill", "-i", "inventories/staging", "--confirm", "staging:us-west-2"]
    assert cli.main(argv) == exitcodes.OK
    assert len(dr_project) == 1


# ---------------------------------------------------------------------------- run directories


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def finished_run(directory: Path, name: str) -> Path:
    path = directory / name
    (path / "artifacts").mkdir(parents=True)
    (path / runner.FINISHED_MARKER).write_text("2026-01-01T00:00:00Z\n")
    return path


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_run_directory_is_the_operator_s_only(tmp_path):
    old = os.umask(0o022)
    try:
        first, path = runner.new_run_dir(tmp_path, "20261207T040000", 4242)
        # the same second, the same process
        second, other = runner.new_run_dir(tmp_path, "20261207T040000", 4242)
    finally:
        os.umask(old)
    assert (first, second) == ("20261207T040000-4242", "20261207T040000-4242-2")
    assert path == tmp_path / ".cache" / "runs" / first and other.parent == path.parent
    assert mode(path) == mode(other) == mode(path.parent) == 0o700
    assert runner.RUN_DIR_NAME.match(second)["pid"] == "4242"


def test_an_existing_runs_directory_is_made_private(tmp_path):
    runs = paths.runs_dir(tmp_path)
    runs.mkdir(parents=True, mode=0o755)
    os.chmod(runs, 0o755)
    runner.new_run_dir(tmp_path)
    assert mode(runs) == 0o700


def test_pruning_keeps_the_newest_and_never_the_current_or_a_running_one(tmp_path):
    runs = tmp_path / "runs"
    names = [f"202601{day:02d}T120000-{100 + day}" for day in range(1, 11)]  # oldest first
    for name in names:
        finished_run(runs, name)
    current = runs / names[0]  # the oldest is this run's (a clock set back)
    (current / runner.FINISHED_MARKER).unlink()
    going = runs / "20251231T235959-1"  # older still, not finished, its process alive
    going.mkdir()
    going_pid = runs / f"20251230T000000-{os.getpid()}"
    going_pid.mkdir()
    crashed = runs / f"20251229T000000-{dead_pid()}"  # killed: no marker, process gone
    crashed.mkdir()
    (runs / "tradeops-error-20250101T000000.txt").write_text("a traceback\n")
    (runs / "notes").mkdir()  # not a run's: not the runner's to remove
    removed = runner.prune_runs(runs, keep=4, current=current)
    left = sorted(p.name for p in runs.iterdir())
    assert sorted(p.name for p in removed) == sorted([*names[1:6], crashed.name])
    assert left == sorted(
        [
            *names[6:],
            current.name,
            going.name,
            going_pid.name,
            "notes",
            "tradeops-error-20250101T000000.txt",
        ]
    )
    assert runner.prune_runs(runs, keep=4, current=current) == []  # nothing more to do


def test_pruning_orders_same_second_runs_by_their_number(tmp_path):
    runs = tmp_path / "runs"
    for name in ("20260101T000000-7", "20260101T000000-7-2", "20260101T000000-7-10"):
        finished_run(runs, name)
    removed = runner.prune_runs(runs, keep=1)
    assert sorted(p.name for p in removed) == ["20260101T000000-7", "20260101T000000-7-2"]


@pytest.mark.parametrize(
    ("given", "keep"), [(None, 50), ("3", 3), ("0", 0), ("-2", 0), ("many", 50), ("", 50)]
)
def test_keep_runs_from_the_environment(monkeypatch, given, keep):
    if given is None:
        monkeypatch.delenv("TRADEOPS_KEEP_RUNS", raising=False)
    else:
        monkeypatch.setenv("TRADEOPS_KEEP_RUNS", given)
    assert runner.keep_runs() == keep


def test_the_command_artifact_keeps_the_variables_names_only(tmp_path):
    command = tmp_path / "artifacts" / "abc" / "command"
    command.parent.mkdir(parents=True)
    command.write_text(
        json.dumps({"command": ["ansible-playbook"], "cwd": "/x", "env": {"AWS_X": "s3cr3t"}})
    )
    os.chmod(command, 0o600)
    assert runner.scrub_run_dir(tmp_path) == 1
    data = json.loads(command.read_text())
    assert data["env"] == ["AWS_X"] and "s3cr3t" not in command.read_text()
    assert data["command"] == ["ansible-playbook"] and mode(command) == 0o600
    assert runner.scrub_run_dir(tmp_path) == 0  # done already


# ---------------------------------------------------------------------------- a real run

FAKE = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKETRADEOPS4242",
    "AWS_SECRET_ACCESS_KEY": "fake+Secret/Tradeops+0123456789abcdefghijKLMN",
    "AWS_SESSION_TOKEN": "FakeSessionToken//tradeops-unit-test-7f3e9c1b2a",
}
LOCAL_INVENTORY = """\
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""
# Proves the credentials reach the run (by their hashes), without ever printing them.
PLAYBOOK = """\
- name: Credentials reach the run
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The AWS credentials are in the run's environment
      ansible.builtin.assert:
        that:
{checks}
        quiet: true
      tags: [creds]
"""


@pytest.fixture
def cred_project(tmp_path, monkeypatch):
    """A throwaway checkout with one playbook and an unprotected local inventory."""
    root = tmp_path / "project"
    inv = inventory(
        root / "inventories" / "credtest",
        "tradeops_environment: credtest\ntradeops_protected: false\n",
    )
    (inv / "hosts.yml").write_text(LOCAL_INVENTORY)
    checks = "\n".join(
        f"          - lookup('ansible.builtin.env', '{name}') | hash('sha256') == "
        f"'{hashlib.sha256(value.encode()).hexdigest()}'"
        for name, value in FAKE.items()
    )
    (root / "playbooks").mkdir()
    (root / "playbooks" / "creds.yml").write_text(PLAYBOOK.format(checks=checks))
    shutil.copy(ROOT / "ansible.cfg", root / "ansible.cfg")
    (root / "collections").symlink_to(ROOT / "collections")
    for name in ("site.yml", "galaxy.yml"):
        (root / name).write_text("---\n")
    monkeypatch.setenv("TRADEOPS_PROJECT", str(root))
    monkeypatch.setenv("TRADEOPS_HISTORY", "off")
    monkeypatch.setenv("ANSIBLE_LOCALHOST_WARNING", "false")
    monkeypatch.delenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", raising=False)
    for name, value in FAKE.items():
        monkeypatch.setenv(name, value)
    return root


def test_a_real_run_leaves_no_credential_on_disk_and_keeps_the_newest_runs(
    cred_project, monkeypatch
):
    runs = paths.runs_dir(cred_project)
    old = [finished_run(runs, f"2020010{n}T000000-1") for n in (1, 2, 3)]
    monkeypatch.setenv("TRADEOPS_KEEP_RUNS", "2")
    stream = io.StringIO()
    request = RunRequest(
        playbook="creds",
        inventory=str(cred_project / "inventories" / "credtest"),
        tags=["creds"],  # the tag check's listing is an ansible-runner run of its own
    )
    code = runner.run_playbook(request, stream=stream)
    assert code == exitcodes.OK, stream.getvalue()

    # the newest TRADEOPS_KEEP_RUNS: this run's and the newest older one
    assert sorted(p.name for p in runs.iterdir() if p.name.startswith("2020")) == [old[2].name]
    (private,) = [p for p in runs.iterdir() if not p.name.startswith("2020")]
    assert runner.RUN_DIR_NAME.match(private.name)
    assert mode(private) == 0o700 and mode(runs) == 0o700
    assert (private / runner.FINISHED_MARKER).is_file()

    commands = sorted(private.rglob("artifacts/*/command"))
    assert len(commands) == 2  # the listing's and the playbook's
    for command in commands:
        assert "AWS_SECRET_ACCESS_KEY" in json.loads(command.read_text())["env"]
    assert list(private.rglob("stdout")) and list(private.rglob("tradeops-report.json"))

    secrets = [value.encode() for value in FAKE.values()]
    files = [p for p in (cred_project / ".cache").rglob("*") if p.is_file()]
    assert len(files) > 5
    for path in files:
        content = path.read_bytes()
        found = [s.decode() for s in secrets if s in content]
        assert not found, f"{path} holds {found}"

"""The command line: help everywhere, guard rails, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeops import cli, exitcodes
from tradeops.runner import (
    Refused,
    RunRequest,
    build_cmdline,
    check_guard_rails,
    resolve_playbook,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "argv",
    [[], ["lab"], ["lab", "up"], ["lab", "down"], ["lab", "status"], ["lab", "image"], ["run"]],
)
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([*argv, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "usage: tradeops" in out
    assert "exit codes:" in out


def test_bad_command_line_is_exit_code_2(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["lab", "sideways"])
    assert stop.value.code == exitcodes.USAGE


def test_playbook_names_resolve_like_the_docs_say():
    assert resolve_playbook(ROOT, "site") == ROOT / "site.yml"
    assert resolve_playbook(ROOT, "aws/site") == ROOT / "playbooks" / "aws" / "site.yml"
    with pytest.raises(Refused, match="no playbook called 'nope'"):
        resolve_playbook(ROOT, "nope")


def inventory_with(path: Path, text: str) -> Path:
    (path / "group_vars" / "all").mkdir(parents=True)
    (path / "group_vars" / "all" / "platform.yml").write_text(text)
    return path


def test_protected_environment_needs_confirmation(tmp_path):
    production = inventory_with(
        tmp_path / "production", "tradeops_environment: production\ntradeops_protected: true\n"
    )
    with pytest.raises(Refused, match="--confirm production"):
        check_guard_rails(RunRequest(playbook="site"), production)
    with pytest.raises(Refused):
        check_guard_rails(RunRequest(playbook="site", confirm="staging"), production)
    check_guard_rails(RunRequest(playbook="site", confirm="production"), production)
    check_guard_rails(RunRequest(playbook="site", check=True), production)
    lab = inventory_with(tmp_path / "lab", "tradeops_environment: lab\ntradeops_protected: false\n")
    check_guard_rails(RunRequest(playbook="site"), lab)  # not protected


def test_protection_is_the_inventory_s_not_the_name_s(tmp_path, monkeypatch):
    # Was: TRADEOPS_PROTECTED_ENVS (default production,prod) named the protected ones.
    monkeypatch.setenv("TRADEOPS_PROTECTED_ENVS", "staging,production")
    staging = inventory_with(tmp_path / "staging", "tradeops_protected: false\n")
    check_guard_rails(RunRequest(playbook="site"), staging)  # the variable is ignored
    named_prod = inventory_with(tmp_path / "prod", "tradeops_environment: prod\n")
    with pytest.raises(Refused, match=r"--confirm prod\b"):
        check_guard_rails(RunRequest(playbook="site"), named_prod)  # unset: protected
    blue = inventory_with(
        tmp_path / "blue", "tradeops_environment: live\ntradeops_protected: yes\n"
    )
    with pytest.raises(Refused, match="--confirm live"):
        check_guard_rails(RunRequest(playbook="site", confirm="blue"), blue)
    check_guard_rails(RunRequest(playbook="site", confirm="live"), blue)


def test_check_mode_always_shows_the_diff():
    assert build_cmdline(RunRequest(playbook="site", check=True)) == "--check --diff"
    cmd = build_cmdline(RunRequest(playbook="site", skip_tags=["a", "b"], extra_vars=["x=1 y"]))
    assert cmd == "--skip-tags a,b -e 'x=1 y'"


def lab_status(**overrides) -> dict:
    """Lab.status() of an up lab, with overrides (no podman call, no probe)."""
    status = {
        "moto": {"healthy": True, "pid": 101, "url": "http://127.0.0.1:40001"},
        "gate": {"healthy": True, "pid": 102, "url": "http://127.0.0.1:5000"},
        "network": "tradeops-net",
        "hosts": {"engine-c5n-1": "running", "engine-west-1": "paused (region us-west-2 failed)"},
    }
    status.update(overrides)
    return status


@pytest.fixture
def never_run(monkeypatch):
    """A unit test must never start a real run (the caller's lab may be up)."""

    def refuse(*args, **kwargs):
        raise AssertionError("run_playbook was called")

    monkeypatch.setattr(cli, "run_playbook", refuse)


def test_run_refuses_when_the_lab_is_down_and_names_what_is_missing(monkeypatch, capsys, never_run):
    down = lab_status(
        moto={"healthy": False, "pid": None, "url": None},
        gate={"healthy": False, "pid": 102, "url": "http://127.0.0.1:5000"},
        hosts={
            "engine-c5n-1": "running",
            "engine-c5n-2": "exited",
            "mon-1": "absent",
            "engine-west-1": "paused (region us-west-2 failed)",
        },
    )
    monkeypatch.setattr(cli.Lab, "status", lambda self: down)
    assert cli.main(["run", "site"]) == exitcodes.PRECONDITION
    err = capsys.readouterr().err
    assert "moto is not running" in err
    assert "the region gate" in err and "does not answer on http://127.0.0.1:5000" in err
    assert "-engine-c5n-2 (exited)" in err and "-mon-1 (absent)" in err
    # A failed region's paused hosts are up: that is what failing a region means.
    assert "engine-west-1" not in err and "engine-c5n-1 " not in err
    assert "tradeops lab up" in err
    assert "the lab is not up: run" not in err


def test_a_lab_with_only_a_host_down_names_that_host(monkeypatch, capsys, never_run):
    hosts = {"engine-c5n-1": "running", "engine-c5n-2": "exited"}
    monkeypatch.setattr(cli.Lab, "status", lambda self: lab_status(hosts=hosts))
    assert cli.main(["run", "playbooks/hosts/engine.yml"]) == exitcodes.PRECONDITION
    err = capsys.readouterr().err
    assert "host containers not running:" in err and "engine-c5n-2 (exited)" in err
    assert "moto" not in err


def test_an_up_lab_lets_the_run_through(monkeypatch):
    monkeypatch.setattr(cli.Lab, "status", lambda self: lab_status())
    seen = []
    monkeypatch.setattr(cli, "run_playbook", lambda request: seen.append(request) or 0)
    assert cli.main(["run", "site", "--tags", "network"]) == exitcodes.OK
    assert seen[0].tags == ["network"]


# Every exit code of the table, reached through cli.main.


def test_exit_1_is_an_internal_error_with_one_line_and_the_traceback_in_a_file(
    monkeypatch, capsys, tmp_path
):
    def boom(args):
        raise RuntimeError("something inside tradeops broke")

    monkeypatch.setattr(cli, "cmd_run", boom)
    monkeypatch.setattr(cli.paths, "runs_dir", lambda root=None: tmp_path)
    assert cli.main(["run", "site"]) == exitcodes.ERROR
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: something inside tradeops broke" in err
    assert "Traceback" not in err
    saved = list(tmp_path.glob("tradeops-error-*.txt"))
    assert len(saved) == 1 and "Traceback" in saved[0].read_text()


def test_exit_2_for_a_usage_error_raised_by_the_run(monkeypatch, capsys):
    monkeypatch.setattr(cli.Lab, "status", lambda self: lab_status())

    def unknown_tag(request):
        raise cli.UsageError("--tags netwrok: no play or task of site.yml has this tag")

    monkeypatch.setattr(cli, "run_playbook", unknown_tag)
    assert cli.main(["run", "site", "--tags", "netwrok"]) == exitcodes.USAGE
    assert "netwrok" in capsys.readouterr().err


@pytest.mark.parametrize("code", [exitcodes.FAILED, exitcodes.UNREACHABLE, exitcodes.INTERRUPTED])
def test_the_run_s_own_code_is_the_exit_code(monkeypatch, code):
    monkeypatch.setattr(cli.Lab, "status", lambda self: lab_status())
    monkeypatch.setattr(cli, "run_playbook", lambda request: code)
    assert cli.main(["run", "site"]) == code


def test_ctrl_c_outside_a_run_is_exit_130(monkeypatch, capsys):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.Lab, "status", interrupted)
    assert cli.main(["run", "site"]) == exitcodes.INTERRUPTED


def test_every_exit_code_has_a_status_word():
    assert {code for code, _ in exitcodes.TABLE} == set(exitcodes.STATUS)
    assert exitcodes.status(exitcodes.INTERRUPTED) == "interrupted"

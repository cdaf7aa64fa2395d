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


def test_protected_environment_needs_confirmation(tmp_path, monkeypatch):
    monkeypatch.delenv("TRADEOPS_PROTECTED_ENVS", raising=False)
    production = tmp_path / "production"
    production.mkdir()
    with pytest.raises(Refused, match="--confirm production"):
        check_guard_rails(RunRequest(playbook="site"), production)
    with pytest.raises(Refused):
        check_guard_rails(RunRequest(playbook="site", confirm="staging"), production)
    check_guard_rails(RunRequest(playbook="site", confirm="production"), production)
    check_guard_rails(RunRequest(playbook="site", check=True), production)
    check_guard_rails(RunRequest(playbook="site"), tmp_path)  # not protected


def test_protected_environments_are_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOPS_PROTECTED_ENVS", "staging")
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(Refused):
        check_guard_rails(RunRequest(playbook="site"), staging)


def test_check_mode_always_shows_the_diff():
    assert build_cmdline(RunRequest(playbook="site", check=True)) == "--check --diff"
    cmd = build_cmdline(RunRequest(playbook="site", skip_tags=["a", "b"], extra_vars=["x=1 y"]))
    assert cmd == "--skip-tags a,b -e 'x=1 y'"


def test_run_refuses_when_the_lab_is_down(monkeypatch, capsys):
    monkeypatch.setattr(cli.Lab, "is_up", lambda self: False)
    assert cli.main(["run", "site"]) == exitcodes.PRECONDITION
    assert "tradeops lab up" in capsys.readouterr().err

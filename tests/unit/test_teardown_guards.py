"""The teardown guards: roles/aws_teardown's preflight (the inventory's tradeops_protected
decides, unset counting as protected; the typed name confirms; the environment's name
protects nothing; no layer is left standing on one torn down), and every layer role's
tasks/teardown.yml, which refuses unless that preflight passed in the same run.

Each case is a real ansible-playbook run on the controller that includes only the guard;
no AWS call is made (a refused guard stops the play first; the allowed case runs the
aws_teardown preflight alone). The whole teardown against moto is in
tests/integration/aws and tests/integration/aws_backup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# An endpoint nothing answers on: were a guard to let a refused case through, its next
# AWS call would fail here, never reach AWS.
NOWHERE = "http://127.0.0.1:9"
PLAY = """\
- name: Teardown guard
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/tradeops.platform.aws:
      endpoint_url: {nowhere}
      region: us-east-1
      access_key: testing
      secret_key: testing
  tasks:
    - name: The guard
      ansible.builtin.include_role:
        name: tradeops.platform.{role}
        tasks_from: {tasks}
"""
# The roles of the registry's layers: roles/aws_teardown includes each one's teardown.yml.
LAYER_ROLES = sorted(f"aws_{role}" for role in aws_layers.roles())


def run_guard(
    tmp_path: Path, role: str, variables: dict, tasks: str = "preflight.yml"
) -> subprocess.CompletedProcess:
    playbook = tmp_path / f"{role}.yml"
    playbook.write_text(PLAY.format(nowhere=NOWHERE, role=role, tasks=tasks))
    base = {
        "tradeops_project": "tradeops",
        "aws_region": "us-east-1",
        "aws_dr_region": "us-west-2",
        "aws_outputs_dir": str(tmp_path / "outputs"),
        "ansible_python_interpreter": sys.executable,
    }
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**base, **variables}))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"),
        AWS_ENDPOINT_URL=NOWHERE,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    return subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-e", f"@{extra}", playbook],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        # protected: refused even when confirmed, whatever the name
        (
            {
                "tradeops_environment": "staging",
                "tradeops_protected": True,
                "aws_teardown_confirm": "staging",
            },
            "it is a protected environment (tradeops_protected is True",
        ),
        # the inventory does not say: protected (fail-safe)
        (
            {"tradeops_environment": "staging", "aws_teardown_confirm": "staging"},
            "tradeops_protected is not set, which counts as true",
        ),
        # a string from -e is read as Ansible reads it
        (
            {
                "tradeops_environment": "lab",
                "tradeops_protected": "yes",
                "aws_teardown_confirm": "lab",
            },
            "it is a protected environment",
        ),
        # unprotected, not confirmed
        (
            {"tradeops_environment": "lab", "tradeops_protected": False},
            'pass -e aws_teardown_confirm=lab to confirm (got "")',
        ),
        (
            {
                "tradeops_environment": "lab",
                "tradeops_protected": False,
                "aws_teardown_confirm": "staging",
            },
            'pass -e aws_teardown_confirm=lab to confirm (got "staging")',
        ),
    ],
)
def test_a_refused_teardown_says_why_and_changes_nothing(tmp_path, variables, message):
    proc = run_guard(tmp_path, "aws_teardown", variables)
    out = flat(proc.stdout)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert message in out, proc.stdout[-3000:]
    assert "Nothing has been changed." in out
    assert "changed=0" in out and "failed=1" in out
    assert "127.0.0.1:9" not in out  # no AWS call was attempted


@pytest.mark.parametrize("name", ["production", "prod", "lab"])
def test_the_name_protects_nothing_only_tradeops_protected_does(tmp_path, name):
    variables = {
        "tradeops_environment": name,
        "tradeops_protected": False,
        "aws_teardown_confirm": name,
    }
    proc = run_guard(tmp_path, "aws_teardown", variables)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "failed=0" in flat(proc.stdout)


def test_the_kms_waiting_period_is_checked_with_its_own_message(tmp_path):
    variables = {
        "tradeops_environment": "lab",
        "tradeops_protected": False,
        "aws_teardown_confirm": "lab",
        "aws_teardown_kms_pending_days": 3,
    }
    proc = run_guard(tmp_path, "aws_teardown", variables)
    assert proc.returncode == 2
    assert "aws_teardown_kms_pending_days must be 7 to 30" in flat(proc.stdout)


def test_every_layer_role_has_its_teardown():
    missing = [
        r for r in LAYER_ROLES if not (ROOT / "roles" / r / "tasks" / "teardown.yml").is_file()
    ]
    assert not missing, f"no tasks/teardown.yml in {missing}"


@pytest.mark.parametrize("role", LAYER_ROLES)
def test_a_layer_teardown_alone_refuses_even_confirmed(tmp_path, role):
    """Not an entry point: only roles/aws_teardown, after its preflight, reaches it."""
    variables = {
        "tradeops_environment": "lab",
        "tradeops_protected": False,
        "aws_teardown_confirm": "lab",
    }
    proc = run_guard(tmp_path, role, variables, tasks="teardown.yml")
    out = flat(proc.stdout)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "teardown runs only from roles/aws_teardown, after its preflight" in out, out[-3000:]
    assert "Nothing has been changed." in out
    assert "changed=0" in out and "failed=1" in out
    assert "127.0.0.1:9" not in out


def test_a_layer_is_not_torn_down_under_one_still_standing(tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "fleet.json").write_text('{"instances": {"engine-1": {"id": "i-1"}}}')
    (outputs / "rds.json").write_text("{}")  # an empty file: nothing of the layer exists
    variables = {
        "tradeops_environment": "lab",
        "tradeops_protected": False,
        "aws_teardown_confirm": "lab",
        "tradeops_aws_layers": ["network", "eks"],
    }
    proc = run_guard(tmp_path, "aws_teardown", variables)
    out = flat(proc.stdout)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Refusing to tear down eks, network: fleet (built on network)" in out, out[-3000:]
    assert "rds" not in out.split("Refusing to tear down")[1].split("Nothing")[0]
    assert "Nothing has been changed." in out
    # With the layers built on it, it goes (after them: the registry's teardown order).
    variables["tradeops_aws_layers"] = ["network", "eks", "fleet"]
    assert run_guard(tmp_path, "aws_teardown", variables).returncode == 0

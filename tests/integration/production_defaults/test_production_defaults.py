"""Production's defaults, exercised (issue 23, point 3).

The lab relaxes a few settings for its unprivileged containers and its developers
(engine_deploy_require_placement false, the change freeze not enforced, RDS deletion
protection off). The inventory beside this file keeps the defaults production relies on
and runs the engine and backup paths with them:

* without a lab: production's own freeze definition refuses trading hours and allows the
  rest; the engine play, with engine_rollout_freeze_enforce left undefined, enforces the
  freeze (its default(true)) and stops before any host is touched; RDS deletion protection
  is on in the production spec;
* on one host of the session's site lab (tests/integration/conftest.py; its bare-metal
  engine host, reached through this inventory): strict placement refuses a host that cannot
  grant real-time scheduling, locked memory and hugepages, before anything changes on it;
  pgBackRest's preflight refuses TLS verification off although the environment is named
  "lab", and allows it only with the explicit lab switch, saying so.

What the lab cannot show (a host that passes strict preflight and then fails its memory
lock at start: 503, then the rollback) needs a lab host with CAP_IPC_LOCK in its bounding
set; see docs/engine.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from ansible_collections.tradeops.platform.plugins.module_utils.freeze import decide

from ...unit.plugins.aws_specs import render
from ..conftest import SITE_LAB, SITE_LAB_SUBNET
from ..support import ROOT, VENV_BIN, ansible_env, run_playbook

HERE = Path(__file__).resolve().parent
INVENTORY = HERE / "inventory"
LAB = SITE_LAB
SUBNET = SITE_LAB_SUBNET
HOST = "engine-bm-1"
ENGINE = "playbooks/hosts/engine.yml"
# Tue 2026-03-10 11:00 EDT: inside the NYSE session; Sat 2026-03-14: the market is shut.
INSIDE = "2026-03-10T15:00:00Z"
WEEKEND = "2026-03-14T15:00:00Z"
TIMINGS: dict[str, float] = {}


def _env(**extra: str) -> dict[str, str]:
    # A lab name of this test's own even where no lab runs: the inventory's hosts resolve
    # to h8lab-* containers, never to the default lab's.
    return ansible_env(
        TRADEOPS_LAB_NAME=LAB,
        TRADEOPS_LAB_SUBNET=SUBNET,
        **extra,
    )


def _hostvars(env) -> dict:
    out = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(INVENTORY), "--host", HOST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _flat(proc) -> str:
    return " ".join((proc.stdout + proc.stderr).split())


# --------------------------------------------------------------------------- no lab
def test_production_defines_an_enforced_nyse_freeze():
    data = yaml.safe_load(
        (ROOT / "inventories/production/group_vars/engines/engine.yml").read_text()
    )
    freeze = data["engine_rollout_freeze"]
    assert data["engine_rollout_freeze_enforce"] is True
    cases = {
        "2026-03-10T15:00:00Z": True,  # Tue 11:00 EDT: in session
        "2026-03-10T13:20:00Z": True,  # 09:20 EDT: inside the 15-minute pre-buffer
        "2026-03-10T13:00:00Z": False,  # 09:00 EDT: before it
        "2026-03-10T20:20:00Z": False,  # 16:20 EDT: after the post-buffer
        "2026-03-14T15:00:00Z": False,  # Saturday
        "2026-11-26T16:00:00Z": False,  # Thanksgiving: closed
        "2026-11-27T17:00:00Z": True,  # the early close's session, 12:00 EST
        "2026-11-27T18:30:00Z": False,  # 13:30 EST: after 13:00 + 15 minutes
    }
    got = {now: decide(freeze, now).frozen for now in cases}
    assert got == cases


def test_the_test_inventory_keeps_production_defaults():
    hostvars = _hostvars(_env())
    for name in ("engine_deploy_require_placement", "engine_rollout_freeze_enforce"):
        assert name not in hostvars, f"{name} is set: the default is what must be tested"
    assert hostvars["tradeops_environment"] == "lab"
    defaults = yaml.safe_load((ROOT / "roles/engine_deploy/defaults/main.yml").read_text())
    assert defaults["engine_deploy_require_placement"] is True
    rollout = yaml.safe_load((ROOT / "roles/engine_rollout/defaults/main.yml").read_text())
    assert rollout["engine_rollout_freeze_enforce"] is True


def test_rds_deletion_protection_is_on_in_production_and_off_only_in_the_lab():
    assert render("rds", "production")["primary"]["deletion_protection"] is True
    assert all(r["deletion_protection"] for r in render("rds", "production")["replicas"])
    lab = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/aws_data.yml").read_text())
    assert lab["aws_rds_deletion_protection"] is False
    assert "the lab turns it off" in (ROOT / "docs/aws.md").read_text()


def test_the_engine_play_enforces_the_freeze_when_the_inventory_says_nothing():
    """engine_rollout_freeze_enforce is undefined here: role engine_rollout's default
    (true) refuses the deploy inside the window, before any engine host is reached (the
    freeze runs on the controller; no lab is needed)."""
    started = time.monotonic()
    proc = run_playbook(
        ENGINE,
        "-i",
        str(INVENTORY),
        "-e",
        f"engine_rollout_freeze_now={INSIDE}",
        env=_env(),
    )
    TIMINGS["freeze refusal"] = round(time.monotonic() - started, 1)
    assert proc.returncode != 0, proc.stdout[-3000:]
    flat = _flat(proc)
    assert "change freeze in force" in flat, proc.stdout[-3000:]
    # Nothing after the freeze ran: no preflight, no connection to the host.
    assert "Rollout | the engine's preflight" not in proc.stdout
    assert "UNREACHABLE" not in proc.stdout
    # The freeze is role engine_rollout's ("<role> : <task>"); before it come the role's
    # argument validation and its own input preflight, on the controller.
    rollout = "tradeops.platform.engine_rollout : "
    tasks = [
        t.removeprefix(rollout) for t in re.findall(r"^TASK \[(.*?)\]", proc.stdout, re.MULTILINE)
    ]
    assert tasks[-1] == "Change freeze | may the engine be deployed now", tasks
    before = ("DR state |", "Change freeze |", "Validating arguments against arg spec 'main'")
    assert all(t.startswith((*before, "Preflight |")) for t in tasks), tasks


# --------------------------------------------------------------------------- on the lab
@pytest.fixture(scope="module")
def lab(site_lab_env, site_lab):
    """The session's site lab: these tests refuse before anything changes on its host."""
    yield site_lab_env
    print(f"\nproduction-defaults timings (s): {json.dumps(TIMINGS)}")


def _on_host(env, *cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", "exec", f"{LAB}-{HOST}", *cmd],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.lab
def test_strict_placement_refuses_a_host_that_cannot_grant_it(lab):
    """Outside trading hours the freeze lets the deploy through; the role's default
    (require placement) then refuses the lab container in preflight, naming what it
    cannot grant, and nothing on the host changes."""
    before = _engine_footprint(lab)
    started = time.monotonic()
    proc = run_playbook(
        ENGINE,
        "-i",
        str(INVENTORY),
        "--limit",
        HOST,
        "-v",
        "-e",
        f"engine_rollout_freeze_now={WEEKEND}",
        env=lab,
    )
    TIMINGS["strict placement refusal"] = round(time.monotonic() - started, 1)
    assert proc.returncode != 0, proc.stdout[-3000:]
    flat = _flat(proc)
    assert "reason: outside trading hours" in flat, proc.stdout[-3000:]
    assert f"{HOST} cannot run the engine as profile lab requires" in flat, proc.stdout[-4000:]
    for refused in ("real-time scheduling", "memory locking", "hugepages"):
        assert refused in flat, (refused, proc.stdout[-4000:])
    assert "engine_deploy_require_placement: false" in flat  # the message says the way out
    # Nothing changed on the host (the site lab's converge deployed the lab's engine there
    # with the lab's relaxed placement): the same releases, unit, user and running engine.
    assert _engine_footprint(lab) == before


def _engine_footprint(env) -> str:
    """What an engine deploy would change on HOST: its files (with their times), its unit
    files, its user, and the engine's main process."""
    script = (
        "find /opt/refengine /etc/refengine /etc/systemd/system -path '*refengine*' "
        "-printf '%p %T@ %s\\n' 2>/dev/null | sort; id refengine 2>&1; "
        "systemctl show -p MainPID -p ActiveState refengine"
    )
    return _on_host(env, "sh", "-c", script).stdout


@pytest.mark.lab
def test_pgbackrest_refuses_tls_verification_off_in_an_environment_named_lab(lab):
    playbook = str(HERE / "pgbackrest_tls.yml")
    base = ("-i", str(INVENTORY), "--limit", HOST)
    off = json.dumps({"backup_pgbackrest_s3_verify_tls": False})
    proc = run_playbook(playbook, *base, "-e", off, env=lab)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "backup_pgbackrest_s3_verify_tls is false on engine-bm-1" in _flat(proc)
    # The explicit lab switch waives it, and the run says so.
    proc = run_playbook(
        playbook,
        *base,
        "-e",
        json.dumps(
            {
                "backup_pgbackrest_s3_verify_tls": False,
                "backup_pgbackrest_s3_allow_insecure_tls": True,
            }
        ),
        env=lab,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "TLS verification of the pgBackRest repository endpoint is OFF" in _flat(proc)
    # Verification on (production's default): no switch, no warning.
    proc = run_playbook(playbook, *base, env=lab)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "is OFF" not in _flat(proc)

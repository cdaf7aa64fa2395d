"""One place per concern for the engine hosts (issue #20).

* engine_tuning owns the tuning profile: it alone loads the profile, reads the host facts it
  is rendered against, validates and renders it, and exports engine_tuning_render and
  engine_tuning_host_facts; engine_deploy consumes them and obtains them, when the tuning
  did not run earlier in the run, through engine_tuning's `render` entry point - never by
  reading engine_tuning's files.
* engine_rollout owns the rollout flow of playbooks/hosts/engine.yml: its engine_rollout_*
  variables are described by its argument_specs, its preflight checks them first, and the
  playbook is a thin list of plays that apply roles.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
TUNING = ROLES / "engine_tuning"
DEPLOY = ROLES / "engine_deploy"
ROLLOUT = ROLES / "engine_rollout"
ENGINE_PLAYBOOK = ROOT / "playbooks/hosts/engine.yml"


def load(path: Path):
    return yaml.safe_load(path.read_text())


def role_files(role: Path) -> list[Path]:
    return sorted(p for p in role.rglob("*") if p.is_file() and p.suffix in {".yml", ".j2"})


def role_code(role: Path) -> dict[str, str]:
    """What a role runs: its tasks, handlers, templates and variables (values, not comments)."""
    out = {}
    for path in role_files(role):
        part = path.relative_to(role).parts[0]
        if part in {"tasks", "handlers", "templates"}:
            out[str(path.relative_to(ROOT))] = path.read_text()
        elif part in {"defaults", "vars"}:
            out[str(path.relative_to(ROOT))] = yaml.safe_dump(load(path))
    return out


def specs(role: Path) -> dict:
    return load(role / "meta/argument_specs.yml")["argument_specs"]


# ---- engine_tuning is the only owner of the profile and its render -----------------------
def test_no_role_reaches_into_another_role_s_directory():
    pattern = re.compile(r"role_path\s*(\}\}\s*/|~\s*['\"]/)\.\.")
    found = [
        str(path.relative_to(ROOT))
        for path in ROLES.rglob("*")
        if path.is_file() and path.suffix in {".yml", ".j2"} and pattern.search(path.read_text())
    ]
    assert found == []


def test_engine_deploy_never_loads_reads_or_renders_the_profile_itself():
    for path, text in role_code(DEPLOY).items():
        for owned in (
            "tradeops.platform.tuning_render",
            "tradeops.platform.tuning_validate",
            "tradeops.platform.engine_host_facts",
            "include_vars",
            "engine_tuning/files",
            "engine_tuning_profile",
        ):
            assert owned not in text, f"{path} uses {owned}"


def test_engine_deploy_gets_the_render_through_engine_tuning_s_entry_point():
    tasks = load(DEPLOY / "tasks/profile.yml")
    assert len(tasks) == 1
    include = tasks[0]["ansible.builtin.include_role"]
    assert include["name"] == "tradeops.platform.engine_tuning"
    assert include["tasks_from"] == "render"
    assert tasks[0]["when"] == "engine_tuning_render is not defined"
    # ... and reads only the two outputs afterwards.
    preflight = (DEPLOY / "tasks/preflight.yml").read_text()
    assert "engine_tuning_render" in preflight and "engine_tuning_host_facts" in preflight


def test_engine_tuning_renders_once_and_exports_last():
    render = load(TUNING / "tasks/render.yml")
    # The callers skip the file while engine_tuning_render is defined (the condition is
    # evaluated for each task): the export must be the last task, and the only one.
    setters = [
        i
        for i, task in enumerate(render)
        if "engine_tuning_render" in (task.get("ansible.builtin.set_fact") or {})
        or task.get("register") == "engine_tuning_render"
    ]
    assert setters == [len(render) - 1]
    assert set(render[-1]["ansible.builtin.set_fact"]) == {
        "engine_tuning_render",
        "engine_tuning_host_facts",
    }
    actions = [next(k for k in task if k.startswith(("ansible.", "tradeops."))) for task in render]
    assert actions.count("tradeops.platform.engine_host_facts") == 1
    assert actions.count("ansible.builtin.include_vars") == 1
    preflight = load(TUNING / "tasks/preflight.yml")
    imports = [t for t in preflight if t.get("ansible.builtin.import_tasks") == "render.yml"]
    assert len(imports) == 1 and imports[0]["when"] == "engine_tuning_render is not defined"
    # Nothing else in the role loads or renders the profile.
    for path, text in role_code(TUNING).items():
        if path.endswith("tasks/render.yml"):
            continue
        assert "tradeops.platform.tuning_render" not in text, path
        assert "include_vars" not in text, path


def test_the_render_entry_point_is_documented_with_main_s_options():
    entry = specs(TUNING)
    main, render = entry["main"]["options"], entry["render"]["options"]
    assert set(render) == {
        "engine_tuning_profile_name",
        "engine_tuning_profile",
        "engine_tuning_facts_root",
    }
    assert all(render[name] == main[name] for name in render)
    for point in ("main", "render"):
        text = " ".join(entry[point]["description"])
        assert "engine_tuning_render" in text and "engine_tuning_host_facts" in text, point


# ---- engine_rollout owns the rollout flow --------------------------------------------------
def _rollout_variables(text: str) -> set[str]:
    return set(re.findall(r"\bengine_rollout_[a-z_]+", text))


def test_every_rollout_variable_is_described_by_the_role_s_argument_specs():
    documented = set(specs(ROLLOUT)["main"]["options"])
    used = set()
    for path in [*role_files(ROLLOUT), ENGINE_PLAYBOOK]:
        if path.name != "argument_specs.yml":
            used |= _rollout_variables(path.read_text())
    for inventory in ROOT.glob("inventories/*/group_vars/**/*.yml"):
        used |= _rollout_variables(inventory.read_text())
    assert used - documented == set()


def test_the_engine_playbook_is_a_thin_list_of_plays_that_apply_roles():
    plays = load(ENGINE_PLAYBOOK)
    entries = specs(ROLLOUT)
    allowed = {
        "name",
        "hosts",
        "gather_facts",
        "any_errors_fatal",
        "serial",
        "max_fail_percentage",
        "tags",
        "roles",
        "tasks",
        "post_tasks",
    }
    for play in plays:
        if "ansible.builtin.import_playbook" in play:
            continue
        assert set(play) <= allowed, play["name"]
        assert play["tags"] == ["engine"], play["name"]
        for section in ("tasks", "post_tasks"):
            for task in play.get(section, []):
                imported = task["ansible.builtin.import_role"]
                assert set(task) == {"name", "ansible.builtin.import_role"}, task
                assert imported["name"] == "tradeops.platform.engine_rollout"
                assert imported["tasks_from"] in entries
        for role in play.get("roles", []):
            assert role["role"].startswith("tradeops.platform."), role
    names = [play.get("name") for play in plays]
    assert names == [
        "DR state | the active region, for the hosts",
        "Engine | change freeze",
        "Engine | preflight of every engine host, before any of them changes",
        "Engine | canary",
        "Engine | rolling batches",
    ]
    by_name = {play["name"]: play for play in plays}
    assert by_name["Engine | preflight of every engine host, before any of them changes"][
        "any_errors_fatal"
    ]
    assert by_name["Engine | canary"]["hosts"] == "engines[0]"
    assert by_name["Engine | rolling batches"]["max_fail_percentage"] == 0
    # The batch size's default is the role's (play keywords cannot see role defaults).
    default = load(ROLLOUT / "defaults/main.yml")["engine_rollout_serial"]
    assert by_name["Engine | rolling batches"]["serial"] == (
        f"{{{{ engine_rollout_serial | default({default}) }}}}"
    )


def test_the_rollout_s_first_task_is_its_preflight_on_the_controller():
    main = load(ROLLOUT / "tasks/main.yml")
    assert main[0]["ansible.builtin.import_tasks"] == "preflight.yml"
    for task in load(ROLLOUT / "tasks/preflight.yml"):
        assert "ansible.builtin.assert" in task
        assert task["run_once"] is True and task["delegate_to"] == "localhost"


def _preflight_checks(name_start: str):
    loader = DataLoader()
    tasks = loader.load_from_file(str(ROLLOUT / "tasks/preflight.yml"), trusted_as_template=True)
    return next(t for t in tasks if t["name"].startswith(name_start))


def _holds(task, **variables) -> tuple[bool, str]:
    defaults = load(ROLLOUT / "defaults/main.yml")
    defaults["engine_rollout_audit_log"] = "/var/log/tradeops/engine-change-freeze.jsonl"
    merged = {**defaults, **variables}
    templar = Templar(loader=DataLoader(), variables=merged)
    local = {
        k: templar.template(v) if isinstance(v, str) else v
        for k, v in (task.get("vars") or {}).items()
    }
    templar = Templar(loader=DataLoader(), variables={**merged, **local})
    conditions = task["ansible.builtin.assert"]["that"]
    if isinstance(conditions, str):
        conditions = [conditions]
    ok = all(
        templar.template(trust_as_template("{{ (" + str(c) + ") | bool }}")) for c in conditions
    )
    return ok, " ".join(str(templar.template(task["ansible.builtin.assert"]["fail_msg"])).split())


@pytest.mark.parametrize("serial", [1, 2, "3", "25%", "100%", [1, "50%"]])
def test_the_preflight_accepts_batch_sizes_ansible_accepts(serial):
    ok = _holds(_preflight_checks("Preflight | batches"), engine_rollout_serial=serial)[0]
    assert ok


@pytest.mark.parametrize("serial", [0, "0", "-1", "two", "0%", "101%", "", [], [2, "x"]])
def test_the_preflight_refuses_other_batch_sizes_and_says_why(serial):
    ok, msg = _holds(_preflight_checks("Preflight | batches"), engine_rollout_serial=serial)
    assert not ok
    assert "engine_rollout_serial is the hosts per batch after the canary: a whole number" in msg


def test_the_preflight_refuses_an_empty_build_argument_and_a_relative_audit_log():
    task = _preflight_checks("Preflight | batches")
    assert _holds(task, engine_rollout_build_command=["python3", "build.py", "out"])[0]
    ok, msg = _holds(task, engine_rollout_build_command=["python3", " "])
    assert not ok
    assert 'a list without empty items (got ["python3", " "])' in msg
    ok, msg = _holds(task, engine_rollout_audit_log="audit.jsonl")
    assert not ok and 'engine_rollout_audit_log is an absolute file path (got "audit.jsonl")' in msg


def test_the_preflight_wants_trading_hours():
    task = _preflight_checks("Preflight | the environment defines its trading hours")
    assert not _holds(task, engine_rollout_freeze={})[0]
    assert not _holds(task, engine_rollout_freeze={"timezone": "America/New_York"})[0]
    assert _holds(task, engine_rollout_freeze={"timezone": "America/New_York", "windows": []})[0]

"""Every role documents its inputs: argument_specs and defaults agree key for key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAYER_LIFECYCLE = "tradeops.platform.aws_layer"
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())


def load(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_argument_specs_matching_defaults(role):
    specs = load(role / "meta" / "argument_specs.yml").get("argument_specs", {})
    assert "main" in specs, f"{role.name}: meta/argument_specs.yml needs a main entry point"
    options = specs["main"].get("options", {})
    defaults = load(role / "defaults" / "main.yml")
    with_default = {k for k, v in options.items() if not v.get("required")}
    assert set(defaults) == with_default, (
        f"{role.name}: defaults/main.yml and the optional argument_specs options differ: "
        f"only in defaults {sorted(set(defaults) - with_default)}, "
        f"only in specs {sorted(with_default - set(defaults))}"
    )
    for name, spec in options.items():
        assert spec.get("description"), f"{role.name}: option {name} has no description"
        assert spec.get("type"), f"{role.name}: option {name} has no type"
        if name in defaults and "default" in spec:
            assert spec["default"] == defaults[name], f"{role.name}: {name} defaults differ"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_validates_before_it_changes_anything(role):
    main = (role / "tasks" / "main.yml").read_text()
    assert (role / "tasks" / "preflight.yml").is_file(), f"{role.name}: no tasks/preflight.yml"
    first_task = yaml.safe_load(main)[0]
    # An AWS layer role's first task hands it to the lifecycle the layers share, whose own
    # first task is the layer's preflight (roles/aws_layer).
    if first_task.get("ansible.builtin.include_role", {}).get("name") == LAYER_LIFECYCLE:
        assert first_task["vars"]["aws_layer_role"] == role.name.removeprefix("aws_")
        first_task = yaml.safe_load((ROOT / "roles/aws_layer/tasks/main.yml").read_text())[0]
    assert "preflight.yml" in str(first_task), f"{role.name}: preflight must be the first task"

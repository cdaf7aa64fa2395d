"""The describe of every layer at once (module_utils/aws_layer_describe.py, the module
aws_layers_state): which layers are settled, and how site.yml's layer hosts get their
specs to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers
from ansible_collections.tradeops.platform.plugins.module_utils.aws_layer_describe import (
    describe_layers,
    outputs_text,
    write_outputs,
)

ROOT = Path(__file__).resolve().parents[3]


def entries(*names):
    """The registry's plan of these layers, as the layer hosts hand it over."""
    return [{"name": e["layer"], "needs": e["needs"]} for e in aws_layers.plan(names)]


def world(differences=None, outputs=None, failing=()):
    """describe() of a world where each layer has these differences and outputs."""
    differences = differences or {}
    outputs = outputs or {}

    def describe(entry):
        if entry["name"] in failing:
            raise RuntimeError(f"{entry['name']}: AccessDenied")
        return differences.get(entry["name"], []), outputs.get(entry["name"], {"id": entry["name"]})

    return describe


def test_every_converged_layer_is_settled_when_nothing_differs():
    got = describe_layers(entries("network", "security", "rds", "backup", "alarms"), world())
    assert list(got) == ["network", "security", "rds", "alarms", "backup"]
    assert all(r["converged"] and r["settled"] and r["differences"] == [] for r in got.values())


def test_a_layer_that_differs_and_every_layer_built_on_it_are_not_settled():
    got = describe_layers(
        entries("network", "network-dr", "security", "rds", "elasticache", "fleet-dr"),
        world({"network": ["subnet lab-private-a (10.0.1.0/24) does not exist"]}),
    )
    assert not got["network"]["converged"]
    assert got["network"]["differences"] == ["subnet lab-private-a (10.0.1.0/24) does not exist"]
    # rds and elasticache build on network: converged themselves, but their host must
    # describe them again once network has converged.
    assert got["rds"]["converged"] and not got["rds"]["settled"]
    assert got["elasticache"]["converged"] and not got["elasticache"]["settled"]
    # fleet-dr builds on network-dr and security only.
    assert (
        got["network-dr"]["settled"] and got["security"]["settled"] and got["fleet-dr"]["settled"]
    )


def test_a_layer_whose_describe_fails_is_left_to_its_host():
    got = describe_layers(entries("security", "kinesis"), world(failing={"security"}))
    assert got["security"] == {
        "converged": False,
        "differences": [],
        "outputs": {},
        "error": "security: AccessDenied",
        "settled": False,
        "outputs_changed": False,
    }
    assert not got["kinesis"]["settled"]


def test_a_need_not_described_here_leaves_the_layer_to_its_host():
    # --tags rds: only rds handed over its spec; its needs are in the plan but not here.
    got = describe_layers([{"name": "rds", "needs": ["network", "security"]}], world())
    assert got["rds"]["converged"] and not got["rds"]["settled"]


def test_outputs_are_saved_for_converged_layers_only(tmp_path):
    saved = {}

    def save(entry, outputs):
        saved[entry["name"]] = outputs
        return False

    describe_layers(entries("network", "security"), world({"security": ["key differs"]}), save)
    assert saved == {"network": {"id": "network"}}


def test_a_changed_outputs_file_unsettles_the_layers_after_it(tmp_path):
    """Their specs were built from the old file (eks reads eks-dr's, not among its needs)."""
    for name in ("network", "network-dr", "security", "dr-state", "eks-dr"):
        write_outputs(str(tmp_path / f"{name}.json"), {"id": name})
    (tmp_path / "eks-dr.json").write_text(outputs_text({"id": "an older cluster"}))

    def save(entry, outputs):
        return write_outputs(str(tmp_path / f"{entry['name']}.json"), outputs)

    got = describe_layers(
        entries("network", "network-dr", "security", "dr-state", "eks-dr", "eks"), world(), save
    )
    assert got["eks-dr"]["outputs_changed"] and got["eks-dr"]["settled"]
    assert not got["eks"]["settled"]
    assert json.loads((tmp_path / "eks-dr.json").read_text()) == {"id": "eks-dr"}
    assert not any(
        got[name]["outputs_changed"] for name in ("network", "network-dr", "security", "dr-state")
    )


def test_write_outputs_says_whether_the_content_changed(tmp_path):
    path = str(tmp_path / "sub" / "network.json")
    assert write_outputs(path, {"vpc_id": "vpc-1"})
    assert not write_outputs(path, {"vpc_id": "vpc-1"})
    assert write_outputs(path, {"vpc_id": "vpc-2"})
    assert json.loads(Path(path).read_text()) == {"vpc_id": "vpc-2"}


@pytest.mark.parametrize("role", aws_layers.roles())
def test_every_layer_role_names_its_spec_and_region_as_the_preflight_hands_them_over(role):
    """roles/aws_layer/tasks/preflight.yml reads __aws_<role>_spec and, when the role sets
    one, __aws_<role>_region: the names the role's main.yml passes to aws_layer."""
    main = yaml.safe_load((ROOT / f"roles/aws_{role}/tasks/main.yml").read_text())
    passed = next(
        t["vars"]
        for t in main
        if t.get("ansible.builtin.include_role", {}).get("name") == "tradeops.platform.aws_layer"
    )
    assert passed["aws_layer_spec"] == f"{{{{ __aws_{role}_spec }}}}"
    assert (
        passed.get("aws_layer_region", f"{{{{ __aws_{role}_region }}}}")
        == f"{{{{ __aws_{role}_region }}}}"
    )
    if "aws_layer_region" not in passed:
        role_vars = yaml.safe_load((ROOT / f"roles/aws_{role}/vars/main.yml").read_text()) or {}
        assert f"__aws_{role}_region" not in role_vars

"""The registry of AWS layers (plugins/module_utils/aws_layers.py) and the places that
must agree with it: the lookups site.yml and the teardown read, the module that
describes a layer, the tag lists of the AWS playbooks, the tag table of docs/tags.md, and
the roles a layer names."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers
from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import alarms_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import audit_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import backup_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_edge import edge_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import LAYERS

ROOT = Path(__file__).resolve().parents[3]


def lookup(name):
    """The collection's lookup, with its options from its documentation as Ansible's loader
    registers them (the loader itself resolves collections only inside a real run)."""
    module = importlib.import_module(f"ansible_collections.tradeops.platform.plugins.lookup.{name}")
    loader = DataLoader()
    plugin = module.LookupModule(loader=loader, templar=Templar(loader=loader))
    plugin._load_name = f"tradeops.platform.{name}"
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    C.config.initialize_plugin_configuration_definitions("lookup", plugin._load_name, options)
    return plugin


def test_the_registry_is_sound():
    assert aws_layers.problems() == []


def test_eks_dr_is_listed_before_eks_so_it_can_never_need_it():
    """The eks layer waits for eks-dr before its IRSA roles (they trust both clusters'
    OIDC providers): eks-dr needing eks would deadlock site.yml. Listed first, the
    registry's own check refuses that need (and sequential.yml builds eks-dr first)."""
    order = aws_layers.names()
    assert order.index("eks-dr") < order.index("eks")
    converge = (ROOT / "roles/aws_eks/tasks/converge.yml").read_text()
    assert "wait_for: [eks-dr]" in converge


def test_problems_names_a_need_listed_after_its_layer_and_an_unknown_one(monkeypatch):
    monkeypatch.setattr(
        aws_layers,
        "LAYERS",
        (
            aws_layers.layer("eks", needs=["network"]),
            aws_layers.layer("network"),
            aws_layers.layer("rds", needs=["vpc"]),
            aws_layers.layer("fleet-west", role="fleet", dr=True),
        ),
    )
    monkeypatch.setattr(aws_layers, "BY_NAME", {e.name: e for e in aws_layers.LAYERS})
    assert aws_layers.problems() == [
        "eks needs network, listed after it",
        "rds needs vpc, which is not a layer",
        "fleet-west is a DR copy: name it fleet-dr",
    ]


def test_every_layer_has_its_role_and_every_layer_role_is_a_layer():
    layer_roles = {p.name for p in (ROOT / "roles").glob("aws_*")} - {
        "aws_account",  # the account guard before every layer
        "aws_layer",  # the lifecycle the layer roles share
        "aws_teardown",  # removes every layer
    }
    assert {f"aws_{role}" for role in aws_layers.roles()} == layer_roles
    for role in aws_layers.roles():
        tasks = ROOT / "roles" / f"aws_{role}" / "tasks"
        assert (tasks / "preflight.yml").is_file() and (tasks / "converge.yml").is_file(), role
        main = yaml.safe_load((tasks / "main.yml").read_text())
        assert main[0]["ansible.builtin.include_role"]["name"] == "tradeops.platform.aws_layer"
        assert main[0]["vars"]["aws_layer_role"] == role


def test_every_layer_has_a_describe_function():
    states = {**LAYERS, "audit": audit_state, "backup": backup_state, "alarms": alarms_state}
    states["edge"] = edge_state
    assert set(aws_layers.state_keys()) == set(states)


def test_the_lookup_plans_the_enabled_layers_in_creation_order_with_their_needs():
    plan = lookup("aws_layers").run(["rds", "network"], variables={})
    assert plan == [
        {"layer": "network", "role": "network", "dr": False, "needs": []},
        {"layer": "rds", "role": "rds", "dr": False, "needs": ["network"]},
    ]
    every = lookup("aws_layers").run([], variables={})
    assert [p["layer"] for p in every] == aws_layers.names()
    assert {
        "layer": "eks-dr",
        "role": "eks",
        "dr": True,
        "needs": ["network-dr", "security", "dr-state"],
    } in every
    backwards = lookup("aws_layers").run([], variables={}, teardown=True)
    assert [p["layer"] for p in backwards] == aws_layers.teardown_order()
    assert backwards[-1]["layer"] == "network"


def test_the_lookup_refuses_a_name_that_is_not_a_layer():
    with pytest.raises(AnsibleLookupError, match="not a layer: netwrok"):
        lookup("aws_layers").run(["netwrok"], variables={})


def test_the_teardown_removes_every_layer_before_the_layers_it_needs():
    order = aws_layers.teardown_order()
    for entry in aws_layers.LAYERS:
        for need in entry.needs:
            assert order.index(entry.name) < order.index(need), (entry.name, need)


def test_outputs_lookup_reads_saved_outputs_and_gives_empty_for_a_layer_not_built(tmp_path):
    (tmp_path / "network.json").write_text('{"vpc_id": "vpc-1"}')
    outputs = lookup("aws_outputs")
    assert outputs.run(["network", "eks"], variables={"aws_outputs_dir": str(tmp_path)}) == [
        {"vpc_id": "vpc-1"},
        {},
    ]
    (tmp_path / "s3.json").write_text("{not json")
    with pytest.raises(AnsibleLookupError, match="cannot read the s3 outputs"):
        outputs.run(["s3"], variables={"aws_outputs_dir": str(tmp_path)})
    with pytest.raises(AnsibleLookupError, match="needs aws_outputs_dir"):
        outputs.run(["s3"], variables={})


LAYER_TAGS = set(aws_layers.names())


@pytest.mark.parametrize("playbook", ["playbooks/aws/site.yml", "playbooks/aws/sequential.yml"])
def test_the_aws_playbooks_guard_and_plan_with_every_layer_tag(playbook):
    plays = yaml.safe_load((ROOT / playbook).read_text())
    guard = plays[0]
    assert guard["roles"] == [{"role": "tradeops.platform.aws_account"}]
    assert set(guard["tags"]) >= LAYER_TAGS, LAYER_TAGS - set(guard["tags"])
    assert set(guard["tags"]) - LAYER_TAGS <= {"aws", "preflight"}
    for play in plays:
        if "tags" in play and LAYER_TAGS & set(play["tags"]):
            assert set(play["tags"]) == set(guard["tags"]), play["name"]


def test_docs_tags_table_names_every_layer():
    table = (ROOT / "docs" / "tags.md").read_text()
    documented = set(re.findall(r"`([a-z0-9-]+)`", table))
    assert documented >= LAYER_TAGS, LAYER_TAGS - documented


def test_docs_aws_layer_table_has_a_row_per_layer():
    page = (ROOT / "docs" / "aws.md").read_text()
    rows = set(re.findall(r"^\| `([a-z0-9-]+)` \|", page, re.M))
    assert rows >= LAYER_TAGS, LAYER_TAGS - rows

"""Filters of the AWS layer roles: security-group rules as module arguments, and the
results of loops run as async jobs."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.aws import (
    FilterModule,
    aws_async_results,
    aws_ids_by_name,
    aws_security_group_rules,
)

IDS = {"p-lab-alb": "sg-alb", "p-lab-nodes": "sg-nodes"}


def test_every_peer_kind_becomes_its_module_argument():
    group = {
        "name": "p-lab-nodes",
        "ingress": [
            {"proto": "tcp", "ports": [7999], "group": "p-lab-alb", "description": "API"},
            {"proto": "all", "self": True},
            {"proto": "tcp", "ports": ["30000-32767"], "cidr": "vpc"},
        ],
        "egress": [{"proto": "-1", "cidr": "0.0.0.0/0", "description": "out"}],
    }
    rules = aws_security_group_rules(group, IDS, "10.0.0.0/16")
    assert rules["ingress"] == [
        {"proto": "tcp", "rule_desc": "API", "ports": ["7999"], "group_id": "sg-alb"},
        {"proto": "-1", "group_id": "sg-nodes"},
        {"proto": "tcp", "ports": ["30000-32767"], "cidr_ip": "10.0.0.0/16"},
    ]
    assert rules["egress"] == [{"proto": "-1", "rule_desc": "out", "cidr_ip": "0.0.0.0/0"}]


def test_a_group_without_rules_has_empty_lists():
    assert aws_security_group_rules({"name": "p-lab-alb"}, IDS, "10.0.0.0/16") == {
        "ingress": [],
        "egress": [],
    }


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"proto": "tcp", "ports": [22]}, "a rule without a peer"),
        ({"proto": "tcp", "ports": [22], "group": "p-lab-db"}, "no security group p-lab-db"),
    ],
)
def test_bad_rules_fail_with_the_group_named(rule, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        aws_security_group_rules({"name": "p-lab-alb", "ingress": [rule]}, IDS, "10.0.0.0/16")


def test_async_results_carry_the_launch_items():
    launched = {"results": [{"ansible_job_id": "j1", "item": {"name": "a"}}]}
    waited = {
        "results": [
            {"finished": 1, "changed": True, "group_id": "sg-1", "item": launched["results"][0]}
        ]
    }
    assert aws_async_results(launched, waited) == [
        {"finished": 1, "changed": True, "group_id": "sg-1", "item": {"name": "a"}}
    ]


def test_async_results_of_an_inline_loop_are_the_launch_results():
    launched = {"results": [{"changed": False, "group_id": "sg-1", "item": {"name": "a"}}]}
    # async_status skipped: every item ran inline (tradeops_aws_async=false)
    assert aws_async_results(launched, {"results": []}) == launched["results"]
    assert aws_async_results(launched, {"skipped": True}) == launched["results"]


def test_ids_by_name_from_loop_results_with_check_mode_placeholders():
    results = [
        {"item": {"name": "a"}, "subnet": {"id": "subnet-1"}},
        {"item": {"name": "b"}, "changed": True},  # check mode: nothing created
    ]
    assert aws_ids_by_name(results, "subnet.id") == {"a": "subnet-1", "b": "check-mode"}


def test_ids_by_name_leaves_out_elements_without_id_when_asked():
    found = [{"tags": {"Name": "eip-a"}, "allocation_id": "eipalloc-1"}]
    launched = [{"item": {"eip_name": "eip-b"}, "skipped": True}]
    assert aws_ids_by_name(found, "allocation_id", name_key="tags.Name", missing=None) == {
        "eip-a": "eipalloc-1"
    }
    assert aws_ids_by_name(launched, "allocation_id", name_key="item.eip_name", missing=None) == {}
    assert aws_ids_by_name(None, "allocation_id") == {}


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "aws_security_group_rules",
        "aws_async_results",
        "aws_ids_by_name",
    }

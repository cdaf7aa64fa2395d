"""The DNS layer's records (module_utils/aws_dns.py): failover pairs and each region's own
name, aliasing the two regions' load balancers; the alias comparison of the state call."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.aws_dns import FilterModule
from ansible_collections.tradeops.platform.plugins.module_utils.aws_dns import (
    alias_differences,
    alias_name,
    dns_records,
)

from .aws_specs import render

TARGETS = {
    "primary": {
        "region": "us-east-1",
        "dns_name": "lb-1.us-east-1.elb.amazonaws.com",
        "zone_id": "Z35SXDOTRQ7X7K",
    },
    "secondary": {
        "region": "us-west-2",
        "dns_name": "lb-1.us-west-2.elb.amazonaws.com",
        "zone_id": "Z1H1FL5HABSF5",
    },
}


def test_each_record_is_a_failover_pair_of_aliases_gated_by_its_regions_check():
    built = dns_records([{"name": "api"}], "lab.tradeops.example", "tradeops-lab", TARGETS)
    assert [
        (r["fqdn"], r["failover"], r["alias"]["dns_name"], r["health_check"])
        for r in built["records"]
    ] == [
        (
            "api.lab.tradeops.example",
            "PRIMARY",
            TARGETS["primary"]["dns_name"],
            "tradeops-lab-api-primary",
        ),
        (
            "api.lab.tradeops.example",
            "SECONDARY",
            TARGETS["secondary"]["dns_name"],
            "tradeops-lab-api-secondary",
        ),
    ]
    assert {r["type"] for r in built["records"]} == {"A"}
    assert built["records"][1]["alias"] == {
        "dns_name": TARGETS["secondary"]["dns_name"],
        "zone_id": "Z1H1FL5HABSF5",
        "evaluate_target_health": True,
    }
    # The health checks probe each region's own name, which aliases that region's ALB.
    assert [(c["name"], c["fqdn"], c["path"], c["port"]) for c in built["health_checks"]] == [
        ("tradeops-lab-api-primary", "api.us-east-1.lab.tradeops.example", "/health", 443),
        ("tradeops-lab-api-secondary", "api.us-west-2.lab.tradeops.example", "/health", 443),
    ]
    assert [(r["fqdn"], r["alias"]["dns_name"]) for r in built["regional_records"]] == [
        ("api.us-east-1.lab.tradeops.example", TARGETS["primary"]["dns_name"]),
        ("api.us-west-2.lab.tradeops.example", TARGETS["secondary"]["dns_name"]),
    ]


def test_alias_names_compare_as_route53_answers_them():
    assert (
        alias_name("dualstack.LB-1.us-east-1.elb.amazonaws.com.")
        == "lb-1.us-east-1.elb.amazonaws.com"
    )
    want = {"dns_name": "lb-1.x.elb.amazonaws.com", "zone_id": "Z1", "evaluate_target_health": True}
    record = {
        "AliasTarget": {
            "DNSName": "lb-1.x.elb.amazonaws.com.",
            "HostedZoneId": "Z1",
            "EvaluateTargetHealth": True,
        }
    }
    assert alias_differences(record, want) == []
    record["AliasTarget"]["EvaluateTargetHealth"] = False
    assert alias_differences(record, want) == [("evaluate target health", False, True)]
    plain = {"TTL": 60, "ResourceRecords": [{"Value": "api.us-east-1.example"}]}
    assert alias_differences(plain, want)[0][0] == "alias"


def test_the_filter_wants_both_load_balancers():
    aws_dns_records = FilterModule().filters()["aws_dns_records"]
    assert len(aws_dns_records([{"name": "ws"}], "z.example", "p", TARGETS)["records"]) == 2
    with pytest.raises(AnsibleFilterError, match="no secondary load balancer"):
        aws_dns_records([{"name": "ws"}], "z.example", "p", {"primary": TARGETS["primary"]})


@pytest.mark.parametrize("inventory", ["lab", "production"])
def test_route53_checks_request_the_path_the_load_balancers_check(inventory):
    """A failover pair's health check reaches the pods through the region's ALB: it must
    request what the edge layer's target group of that service checks (the pods' readiness
    path), or Route 53 would see both regions unhealthy while the ALB serves them."""
    edge = {g["key"]: g["health_check"]["path"] for g in render("edge", inventory)["target_groups"]}
    checks = render("dns", inventory)["health_checks"]
    assert checks
    assert {(c["record"], c["path"]) for c in checks} == {
        (c["record"], edge[c["record"]]) for c in checks
    }

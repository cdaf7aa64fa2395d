"""aws_dns's effect in the scenario's moto: the lab's zone, a failover pair per service
aliasing the two regions' load balancers (the prepared edge and edge-dr layers), each gated
by an HTTPS health check of its region's own name, and those regional names."""

from __future__ import annotations

import pytest

DR = "us-west-2"
ZONE = "lab.tradeops.example"


@pytest.fixture(scope="module")
def dns(outputs):
    return outputs("dns")


@pytest.fixture(scope="module")
def records(aws, dns):
    return aws("route53").list_resource_record_sets(HostedZoneId=dns["zone_id"])[
        "ResourceRecordSets"
    ]


@pytest.fixture(scope="module")
def albs(outputs):
    return {
        "us-east-1": outputs("edge")["load_balancer"],
        DR: outputs("edge-dr")["load_balancer"],
    }


def test_the_zone_is_the_labs_and_tagged(aws, dns, tags, standard_tags):
    zone = aws("route53").get_hosted_zone(Id=dns["zone_id"])["HostedZone"]
    assert zone["Name"] == f"{ZONE}."
    found = aws("route53").list_tags_for_resource(
        ResourceType="hostedzone", ResourceId=dns["zone_id"]
    )["ResourceTagSet"]
    assert set(tags(found)) >= standard_tags


@pytest.mark.parametrize("key", ["api", "ws"])
def test_failover_pair_aliases_the_primary_then_the_dr_load_balancer(records, albs, key):
    pair = {
        r["Failover"]: r for r in records if r["Name"] == f"{key}.{ZONE}." and r.get("Failover")
    }
    assert set(pair) == {"PRIMARY", "SECONDARY"}
    for role, region in (("PRIMARY", "us-east-1"), ("SECONDARY", DR)):
        record = pair[role]
        assert record["Type"] == "A" and not record.get("ResourceRecords")
        alias = record["AliasTarget"]
        assert alias["DNSName"].rstrip(".").lower() == albs[region]["dns_name"].lower()
        assert alias["HostedZoneId"] == albs[region]["canonical_hosted_zone_id"]
        assert alias["EvaluateTargetHealth"] is True


@pytest.mark.parametrize("key", ["api", "ws"])
def test_each_side_is_gated_by_an_https_check_of_its_regions_name(aws, records, dns, key):
    r53 = aws("route53")
    for role, region in (("PRIMARY", "us-east-1"), ("SECONDARY", DR)):
        (record,) = [
            r for r in records if r["Name"] == f"{key}.{ZONE}." and r.get("Failover") == role
        ]
        check = dns["health_checks"][f"tradeops-lab-{key}-{role.lower()}"]
        assert record["HealthCheckId"] == check
        config = r53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
        assert config["Type"] == "HTTPS"
        assert config["FullyQualifiedDomainName"] == f"{key}.{region}.{ZONE}"
        assert (config["Port"], config["ResourcePath"]) == (443, "/health")
        assert (config["RequestInterval"], config["FailureThreshold"]) == (30, 3)


@pytest.mark.parametrize("key", ["api", "ws"])
def test_each_regions_own_name_aliases_its_load_balancer(records, albs, key):
    for region, alb in albs.items():
        (regional,) = [r for r in records if r["Name"] == f"{key}.{region}.{ZONE}."]
        assert not regional.get("SetIdentifier")
        assert regional["AliasTarget"]["DNSName"].rstrip(".").lower() == alb["dns_name"].lower()


def test_no_other_record_than_the_planned_ones(records):
    names = {r["Name"] for r in records if r["Type"] not in ("SOA", "NS")}
    assert names == {
        f"{key}.{where}{ZONE}." for key in ("api", "ws") for where in ("", "us-east-1.", f"{DR}.")
    }

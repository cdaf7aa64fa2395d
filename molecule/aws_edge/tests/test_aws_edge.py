"""aws_edge's effect in the scenario's moto: each region's front door (edge and edge-dr), as
the lab's plan says (roles/aws_edge/defaults, inventories/lab/group_vars/all/aws_edge.yml):
the internet-facing ALB in the prepared network's public subnets and alb group, HTTPS with
the TLS 1.3 policy and the region's certificate, HTTP redirected, routing by host to the
target groups, access logs into the s3 layer's logs bucket, the WAF web ACL."""

from __future__ import annotations

import pytest

DR = "us-west-2"
REGIONS = ["us-east-1", DR]


@pytest.fixture(params=REGIONS)
def region(request):
    return request.param


@pytest.fixture
def edge(outputs, region):
    return outputs("edge-dr" if region == DR else "edge")


@pytest.fixture
def network(outputs, region):
    return outputs("network-dr" if region == DR else "network")


@pytest.fixture
def elbv2(aws, region):
    return aws("elbv2", region)


def _tags(found):
    return {t["Key"]: t["Value"] for t in found}


def test_alb_is_internet_facing_in_the_public_subnets_behind_the_alb_group(elbv2, edge, network):
    (lb,) = elbv2.describe_load_balancers(LoadBalancerArns=[edge["load_balancer"]["arn"]])[
        "LoadBalancers"
    ]
    assert (lb["LoadBalancerName"], lb["Type"], lb["Scheme"]) == (
        "tradeops-lab",
        "application",
        "internet-facing",
    )
    assert lb["VpcId"] == network["vpc_id"]
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == {
        s["id"] for s in network["subnets"]["public"]
    }
    assert lb["SecurityGroups"] == [network["security_groups"]["alb"]]
    # What the dns layer aliases.
    assert edge["load_balancer"]["dns_name"] == lb["DNSName"]
    assert edge["load_balancer"]["canonical_hosted_zone_id"] == lb["CanonicalHostedZoneId"]


def test_access_logs_go_to_the_regions_logs_bucket(elbv2, edge, outputs, region):
    s3 = outputs("s3")
    bucket = s3["dr_buckets" if region == DR else "buckets"]["logs"]["name"]
    attrs = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(
            LoadBalancerArn=edge["load_balancer"]["arn"]
        )["Attributes"]
    }
    assert attrs["access_logs.s3.enabled"] == "true"
    assert (attrs["access_logs.s3.bucket"], attrs["access_logs.s3.prefix"]) == (bucket, "alb")
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_https_with_the_tls13_policy_and_the_regions_certificate(aws, elbv2, edge, region):
    listeners = {
        item["Port"]: item
        for item in elbv2.describe_listeners(LoadBalancerArn=edge["load_balancer"]["arn"])[
            "Listeners"
        ]
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert [c["CertificateArn"] for c in https["Certificates"]] == [edge["certificate"]["arn"]]
    cert = aws("acm", region).describe_certificate(CertificateArn=edge["certificate"]["arn"])[
        "Certificate"
    ]
    assert cert["Status"] == "ISSUED"
    hosts = {f"{k}.{w}lab.tradeops.example" for k in ("api", "ws") for w in ("", f"{region}.")}
    assert hosts <= {cert["DomainName"], *cert["SubjectAlternativeNames"]}


def test_http_is_redirected_to_https(elbv2, edge):
    (http,) = elbv2.describe_listeners(ListenerArns=[edge["listeners"]["http"]])["Listeners"]
    assert (http["Port"], http["Protocol"]) == (80, "HTTP")
    (redirect,) = http["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert {k: redirect["RedirectConfig"][k] for k in ("Protocol", "Port", "StatusCode")} == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }


def test_https_routes_each_host_to_its_target_group(elbv2, edge, network, region):
    groups = {
        tg["TargetGroupArn"]: tg
        for tg in elbv2.describe_target_groups(
            Names=[tg["name"] for tg in edge["target_groups"].values()]
        )["TargetGroups"]
    }
    rules = elbv2.describe_rules(ListenerArn=edge["listeners"]["https"])["Rules"]
    routes = {}
    for rule in rules:
        if rule["IsDefault"]:
            assert rule["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
            continue
        (condition,) = rule["Conditions"]
        (action,) = rule["Actions"]
        routes[groups[action["TargetGroupArn"]]["TargetGroupName"]] = set(
            condition["HostHeaderConfig"]["Values"]
        )
    assert routes == {
        f"tradeops-lab-{k}": {f"{k}.lab.tradeops.example", f"{k}.{region}.lab.tradeops.example"}
        for k in ("api", "ws")
    }
    ports = {tg["TargetGroupName"]: tg for tg in groups.values()}
    for name, port in (("tradeops-lab-api", 7999), ("tradeops-lab-ws", 8080)):
        tg = ports[name]
        assert (tg["Protocol"], tg["Port"], tg["TargetType"], tg["VpcId"]) == (
            "HTTPS",
            port,
            "ip",
            network["vpc_id"],
        )
        assert (tg["HealthCheckProtocol"], tg["HealthCheckPath"]) == ("HTTPS", "/health")


def test_the_waf_rate_limits_and_applies_the_managed_groups(aws, edge, region):
    wafv2 = aws("wafv2", region)
    acl = wafv2.get_web_acl_for_resource(ResourceArn=edge["load_balancer"]["arn"])["WebACL"]
    assert acl["ARN"] == edge["web_acl"]["arn"]
    rules = {r["Name"]: r for r in acl["Rules"]}
    rate = rules.pop("rate-limit-per-ip")
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == 1000
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert rate["Action"] == {"Block": {}}
    assert {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in rules.values()} == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    }
    logging = wafv2.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    assert logging["LogDestinationConfigs"] == [
        f"arn:aws:logs:{region}:123456789012:log-group:aws-waf-logs-tradeops-lab"
    ]
    assert {"authorization", "cookie"} <= {
        f["SingleHeader"]["Name"] for f in logging["RedactedFields"]
    }


def test_load_balancer_and_target_groups_carry_the_standard_tags(elbv2, edge, standard_tags):
    arns = [edge["load_balancer"]["arn"], *(tg["arn"] for tg in edge["target_groups"].values())]
    found = elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]
    assert len(found) == len(arns)
    for item in found:
        assert set(_tags(item["Tags"])) >= standard_tags, item["ResourceArn"]


def test_the_lab_certificates_key_stays_private(ephemeral, region):
    key = ephemeral / "aws-outputs" / "tls" / region / "key.pem"
    assert key.stat().st_mode & 0o077 == 0
    assert (key.parent.stat().st_mode & 0o077) == 0

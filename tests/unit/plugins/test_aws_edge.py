"""The edge layer's logic (module_utils/aws_edge.py): what the converge sends (target
groups, listeners, the access-log statement), the preflight's service checks, and the
state call against AWS's documented answers (a converged world, then one drift at a time).
"""

from __future__ import annotations

import copy
import datetime
import json
import re

import pytest
from ansible_collections.tradeops.platform.plugins.filter.aws_edge import FilterModule
from ansible_collections.tradeops.platform.plugins.module_utils import aws_edge

from .aws_edge_world import edge_world
from .aws_worlds import World

SERVICES_DEFAULT = [
    {
        "key": "api",
        "port": 7999,
        "health_check": {"path": "/health", "interval": 10, "timeout": 5},
        "deregistration_delay": 30,
    },
    {"key": "ws", "port": 8080, "deregistration_delay": 120},
]


def make_spec(validation="import"):
    groups = aws_edge.target_groups(
        SERVICES_DEFAULT, "tradeops-lab", "lab.tradeops.example", "us-east-1"
    )
    return {
        "region": "us-east-1",
        "tags": {"Environment": "lab", "Project": "tradeops"},
        "name": "tradeops-lab",
        "scheme": "internet-facing",
        "vpc_id": "vpc-1",
        "subnets": ["subnet-a", "subnet-b", "subnet-c"],
        "security_groups": ["sg-alb"],
        "attributes": {
            "access_logs.s3.enabled": "true",
            "access_logs.s3.bucket": "logs-bucket",
            "access_logs.s3.prefix": "alb",
            "deletion_protection.enabled": "true",
            "routing.http.drop_invalid_header_fields.enabled": "true",
        },
        "listeners": {
            "http_port": 80,
            "https_port": 443,
            "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        },
        "certificate": {
            "name": "tradeops-lab",
            "validation": validation,
            "domains": [h for g in groups for h in g["hosts"]],
            "min_days_valid": 30,
        },
        "target_groups": groups,
        "waf": {
            "name": "tradeops-lab",
            "rate_limit": 1000,
            "rate_window": 60,
            "managed_rule_groups": [
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesSQLiRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
            ],
            "blocked_countries": [],
            "log_group": "aws-waf-logs-tradeops-lab",
            "log_retention_days": 90,
            "redacted_headers": ["authorization", "cookie"],
        },
    }


def state(world, spec):
    return aws_edge.edge_state(world.clients, spec)


# --------------------------------------------------------------------------- what is sent
def test_target_groups_name_hosts_priorities_and_health_checks():
    groups = make_spec()["target_groups"]
    assert [g["name"] for g in groups] == ["tradeops-lab-api", "tradeops-lab-ws"]
    assert groups[0]["hosts"] == ["api.lab.tradeops.example", "api.us-east-1.lab.tradeops.example"]
    assert [g["priority"] for g in groups] == [10, 20]
    assert groups[0]["health_check"] == {
        "protocol": "HTTPS",
        "path": "/health",
        "port": "traffic-port",
        "interval": 10,
        "timeout": 5,
        "healthy": 3,
        "unhealthy": 3,
        "matcher": "200",
    }
    assert groups[1]["deregistration_delay"] == 120
    assert groups[1]["port"] == 8080


def test_listeners_redirect_http_and_route_https_by_host():
    http, https = aws_edge.listeners(make_spec(), "arn:cert")
    assert http["Protocol"] == "HTTP" and http["Port"] == 80
    assert http["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {
                "Protocol": "HTTPS",
                "Port": "443",
                "Host": "#{host}",
                "Path": "/#{path}",
                "Query": "#{query}",
                "StatusCode": "HTTP_301",
            },
        }
    ]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["Certificates"] == [{"CertificateArn": "arn:cert"}]
    assert https["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    assert https["Rules"][0] == {
        "Priority": 10,
        "Conditions": [
            {
                "Field": "host-header",
                "HostHeaderConfig": {
                    "Values": ["api.lab.tradeops.example", "api.us-east-1.lab.tradeops.example"]
                },
            }
        ],
        "Actions": [{"Type": "forward", "TargetGroupName": "tradeops-lab-api"}],
    }
    assert "Rules" not in aws_edge.listeners(make_spec(), "arn:cert", rules=False)[1]


def test_access_log_statement_names_the_regions_elb_accounts_and_only_the_prefix():
    statements = aws_edge.alb_log_delivery_policy(
        "b-logs", "alb", "123456789012", ["us-east-1", "us-west-2"]
    )
    assert statements == [
        {
            "Sid": "AlbAccessLogs",
            "Effect": "Allow",
            "Principal": {
                "AWS": ["arn:aws:iam::127311923021:root", "arn:aws:iam::797873946194:root"]
            },
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b-logs/alb/AWSLogs/123456789012/*",
        }
    ]
    # A region opened after August 2022: the log delivery service.
    newer = aws_edge.alb_log_delivery_policy("b", "", "1", ["eu-south-2"])
    assert newer[0]["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert newer[0]["Resource"] == "arn:aws:s3:::b/AWSLogs/1/*"


@pytest.mark.parametrize(
    ("text", "number"),
    [("0c:2f:41", 0x0C2F41), ("3092289", 3092289), (3092289, 3092289), ("", None), (None, None)],
)
def test_serials_from_acm_hex_and_moto_decimal(text, number):
    assert aws_edge.certificate_serial(text) == number


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["aws_edge_listeners"](make_spec(), "arn:c")[1]["Port"] == 443
    assert filters["aws_edge_service_problems"](SERVICES_DEFAULT, "tradeops-lab") == []


# --------------------------------------------------------------------------- preflight
@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"key": "API"}, "DNS label"),
        ({"port": 0}, "port must be 1 to 65535"),
        ({"port": "http"}, "port must be 1 to 65535"),
        ({"deregistration_delay": 4000}, "deregistration_delay"),
        ({"health_check": {"interval": 4}}, "interval must be 5 to 300"),
        ({"health_check": {"timeout": 10}}, "less than the interval"),
        ({"health_check": {"healthy": 1}}, "healthy must be 2 to 10"),
        ({"health_check": {"path": "health"}}, "path must start with /"),
        ({"health_check": {"matcher": "ok"}}, "matcher must be HTTP codes"),
        ({"health_check": {"paht": "/x"}}, "unknown health_check fields"),
        ({"key": "a-very-long-service-key-indeed"}, "longer than 32 characters"),
    ],
)
def test_service_problems_name_the_field(change, needle):
    services = copy.deepcopy(SERVICES_DEFAULT)
    services[0].update(change)
    problems = aws_edge.service_problems(services, "tradeops-lab")
    assert any(needle in p for p in problems), problems


def test_service_problems_accept_the_defaults_and_refuse_duplicates():
    assert aws_edge.service_problems(SERVICES_DEFAULT, "tradeops-lab") == []
    twice = [SERVICES_DEFAULT[0], SERVICES_DEFAULT[0]]
    assert any("unique" in p for p in aws_edge.service_problems(twice, "tradeops-lab"))
    assert aws_edge.service_problems([], "x") == [
        "aws_edge_services must list at least one service"
    ]


# --------------------------------------------------------------------------- the state call
@pytest.mark.parametrize("validation", ["import", "dns"])
def test_a_converged_world_has_no_differences_and_gives_the_outputs(validation):
    spec = make_spec(validation)
    differences, outputs = state(edge_world(spec, World), spec)
    assert differences == []
    assert outputs["load_balancer"]["dns_name"].startswith("tradeops-lab-")
    assert outputs["load_balancer"]["canonical_hosted_zone_id"] == "Z35SXDOTRQ7X7K"
    assert set(outputs["listeners"]) == {"http", "https"}
    assert set(outputs["target_groups"]) == {"api", "ws"}
    assert outputs["certificate"]["serial"] == str(0x0C2F41)
    assert outputs["web_acl"]["name"] == "tradeops-lab"
    assert outputs["waf_log_group"] == "aws-waf-logs-tradeops-lab"


def _lb(w):
    return w.d("elbv2")["load_balancers"][0]


def _listener(w, port):
    lb_arn = _lb(w)["LoadBalancerArn"]
    return next(x for x in w.d("elbv2")["listeners"][lb_arn] if x["Port"] == port)


def _rule(w, priority):
    arn = _listener(w, 443)["ListenerArn"]
    return next(r for r in w.d("elbv2")["rules"][arn] if r["Priority"] == priority)


def _tg(w, index=0):
    return w.d("elbv2")["target_groups"][index]


def _cert(w):
    return next(iter(w.d("acm")["certificates"].values()))


def _acl(w):
    return w.d("wafv2")["web_acls"]["acl-1"]


def _waf_rule(w, name):
    return next(r for r in _acl(w)["Rules"] if r["Name"] == name)


DRIFTS = [
    ("no load balancer", lambda w: w.d("elbv2")["load_balancers"].clear(), "does not exist"),
    ("internal", lambda w: _lb(w).update(Scheme="internal"), "scheme is internal"),
    ("one subnet less", lambda w: _lb(w)["AvailabilityZones"].pop(), "subnets are|subnets is"),
    ("other group", lambda w: _lb(w).update(SecurityGroups=["sg-x"]), "security groups is"),
    (
        "access logs off",
        lambda w: w.d("elbv2")["lb_attributes"][_lb(w)["LoadBalancerArn"]].update(
            {"access_logs.s3.enabled": "false"}
        ),
        "access_logs.s3.enabled is false",
    ),
    (
        "attribute never set (moto)",
        lambda w: w.d("elbv2")["lb_attributes"][_lb(w)["LoadBalancerArn"]].pop(
            "routing.http.drop_invalid_header_fields.enabled"
        ),
        "drop_invalid_header_fields.enabled is None",
    ),
    (
        "old TLS policy",
        lambda w: _listener(w, 443).update(SslPolicy="ELBSecurityPolicy-2016-08"),
        "TLS policy is ELBSecurityPolicy-2016-08",
    ),
    (
        "other certificate",
        lambda w: _listener(w, 443).update(Certificates=[{"CertificateArn": "arn:other"}]),
        "certificate is",
    ),
    (
        "HTTP forwards instead of redirecting",
        lambda w: _listener(w, 80).update(
            DefaultActions=[{"Type": "forward", "TargetGroupArn": _tg(w)["TargetGroupArn"]}]
        ),
        "listener 80: default action",
    ),
    (
        "redirect to HTTP",
        lambda w: _listener(w, 80)["DefaultActions"][0]["RedirectConfig"].update(Protocol="HTTP"),
        "listener 80: default action",
    ),
    (
        "no HTTPS listener",
        lambda w: w.d("elbv2")["listeners"][_lb(w)["LoadBalancerArn"]].pop(),
        "no HTTPS listener on port 443",
    ),
    (
        "an extra listener",
        lambda w: w.d("elbv2")["listeners"][_lb(w)["LoadBalancerArn"]].append(
            {"ListenerArn": "x", "Port": 8443, "Protocol": "HTTPS"}
        ),
        "port 8443 .* not in the spec",
    ),
    (
        "rule host changed",
        lambda w: _rule(w, "10")["Conditions"][0]["HostHeaderConfig"].update(Values=["x.example"]),
        "rule 10 matches",
    ),
    (
        "rule to the other group",
        lambda w: _rule(w, "10")["Actions"][0].update(
            TargetGroupArn=_tg(w, 1)["TargetGroupArn"], ForwardConfig={}
        ),
        "rule 10 does",
    ),
    (
        "rule removed",
        lambda w: w.d("elbv2")["rules"][_listener(w, 443)["ListenerArn"]].remove(_rule(w, "20")),
        "no HTTPS rule 20",
    ),
    ("target group gone", lambda w: w.d("elbv2")["target_groups"].pop(), "does not exist"),
    ("health path", lambda w: _tg(w).update(HealthCheckPath="/"), "health check path is /"),
    ("health codes", lambda w: _tg(w).update(Matcher={"HttpCode": "200-499"}), "success codes"),
    ("plain HTTP to targets", lambda w: _tg(w).update(Protocol="HTTP"), "protocol is HTTP"),
    (
        "drain time",
        lambda w: w.d("elbv2")["tg_attributes"][_tg(w)["TargetGroupArn"]].update(
            {"deregistration_delay.timeout_seconds": "300"}
        ),
        "deregistration delay is 300",
    ),
    (
        "tag removed from the load balancer",
        lambda w: w.d("elbv2")["tags"][_lb(w)["LoadBalancerArn"]].pop("Project"),
        "load balancer tradeops-lab: tags differ",
    ),
    ("certificate gone", lambda w: w.d("acm")["certificates"].clear(), "does not exist"),
    (
        "certificate expiring",
        lambda w: _cert(w).update(
            NotAfter=datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
            + datetime.timedelta(days=3)
        ),
        "less than 30 days",
    ),
    ("certificate pending", lambda w: _cert(w).update(Status="PENDING_VALIDATION"), "status is"),
    (
        "certificate misses a name",
        lambda w: _cert(w)["SubjectAlternativeNames"].pop(),
        "does not cover",
    ),
    ("no web ACL", lambda w: w.d("wafv2")["web_acls"].clear(), "web ACL tradeops-lab does not"),
    (
        "rate limit raised",
        lambda w: _waf_rule(w, "rate-limit-per-ip")["Statement"]["RateBasedStatement"].update(
            Limit=100000
        ),
        "rule rate-limit-per-ip is",
    ),
    (
        "rate counted per forwarded IP",
        lambda w: _waf_rule(w, "rate-limit-per-ip")["Statement"]["RateBasedStatement"].update(
            AggregateKeyType="FORWARDED_IP"
        ),
        "rule rate-limit-per-ip is",
    ),
    (
        "rate limit only counts",
        lambda w: _waf_rule(w, "rate-limit-per-ip").update(Action={"Count": {}}),
        "rule rate-limit-per-ip is",
    ),
    (
        "SQL injection group removed",
        lambda w: _acl(w)["Rules"].remove(_waf_rule(w, "aws-sqli")),
        "no rule aws-sqli",
    ),
    (
        "managed group set to count",
        lambda w: _waf_rule(w, "aws-common").update(OverrideAction={"Count": {}}),
        "rule aws-common is",
    ),
    (
        "a rule added by hand",
        lambda w: _acl(w)["Rules"].append({"Name": "allow-all", "Priority": 99}),
        "rule allow-all is not in the spec",
    ),
    ("default block", lambda w: _acl(w).update(DefaultAction={"Block": {}}), "default action"),
    (
        "not associated",
        lambda w: w.d("wafv2")["associations"].clear(),
        "protected by no web ACL",
    ),
    ("logging off", lambda w: w.d("wafv2")["logging"].clear(), "no logging"),
    (
        "logging elsewhere",
        lambda w: next(iter(w.d("wafv2")["logging"].values())).update(
            LogDestinationConfigs=["arn:aws:s3:::aws-waf-logs-elsewhere"]
        ),
        "logs go to",
    ),
    (
        "credentials in the logs",
        lambda w: next(iter(w.d("wafv2")["logging"].values())).update(RedactedFields=[]),
        "redacted headers are",
    ),
    (
        "log retention",
        lambda w: w.d("logs")["groups"][0].update(retentionInDays=1),
        "retention is 1 days",
    ),
    ("log group gone", lambda w: w.d("logs")["groups"].clear(), "log group .* does not exist"),
]


@pytest.mark.parametrize(("label", "mutate", "needle"), DRIFTS, ids=[d[0] for d in DRIFTS])
def test_one_drift_is_reported(label, mutate, needle):
    spec = make_spec()
    world = edge_world(spec, World)
    mutate(world)
    differences = state(world, spec)[0]
    assert any(re.search(needle, d) for d in differences), (label, differences)


def test_a_requested_certificate_is_replaced_only_when_it_cannot_serve():
    cert = {
        "DomainName": "api.x",
        "SubjectAlternativeNames": ["api.x", "ws.x"],
        "Status": "PENDING_VALIDATION",
        "Type": "AMAZON_ISSUED",
    }
    assert aws_edge.requested_certificate_problems(cert, ["api.x", "ws.x"]) == []
    assert aws_edge.requested_certificate_problems(cert, ["api.x", "new.x"])
    assert aws_edge.requested_certificate_problems(dict(cert, Status="FAILED"), ["api.x"])
    assert aws_edge.requested_certificate_problems(dict(cert, Type="IMPORTED"), ["api.x"])


def test_validation_records_once_each():
    # ACM's answer for a name and its wildcard: one record serves both.
    record = {"Name": "_a.x.", "Type": "CNAME", "Value": "_b.acm-validations.aws."}
    cert = {
        "DomainValidationOptions": [
            {"DomainName": "x", "ResourceRecord": record},
            {"DomainName": "*.x", "ResourceRecord": dict(record)},
            {"DomainName": "y"},
        ]
    }
    assert aws_edge.validation_records(cert) == [record]
    assert json.dumps(aws_edge.validation_records({})) == "[]"


def test_waf_rules_block_by_country_first_then_rate_then_managed_groups():
    waf = dict(make_spec()["waf"], blocked_countries=["KP", "IR"])
    rules = aws_edge.waf_rules(waf)
    assert [(r["Name"], r["Priority"]) for r in rules] == [
        ("geo-block", 0),
        ("rate-limit-per-ip", 10),
        ("aws-common", 20),
        ("aws-sqli", 21),
        ("aws-known-bad-inputs", 22),
    ]
    assert rules[0]["Statement"] == {"GeoMatchStatement": {"CountryCodes": ["IR", "KP"]}}
    assert rules[1]["Statement"]["RateBasedStatement"] == {
        "Limit": 1000,
        "EvaluationWindowSec": 60,
        "AggregateKeyType": "IP",
    }
    assert rules[1]["Action"] == {"Block": {}}
    assert rules[2]["OverrideAction"] == {"None": {}}
    assert "geo-block" not in [r["Name"] for r in aws_edge.waf_rules(make_spec()["waf"])]


def test_waf_rules_as_the_module_takes_them():
    """community.aws.wafv2_web_acl turns snake_case back with snake_dict_to_camel_dict."""
    from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict

    rules = aws_edge.waf_rules(dict(make_spec()["waf"], blocked_countries=["KP"]))
    snake = aws_edge.snake_rules(rules)
    assert snake[1]["statement"]["rate_based_statement"]["evaluation_window_sec"] == 60
    assert snake[1]["visibility_config"]["cloud_watch_metrics_enabled"] is True
    assert snake[2]["override_action"] == {"none": {}}
    back = [snake_dict_to_camel_dict(r, capitalize_first=True) for r in snake]
    assert back == rules


def test_logging_differences():
    want = {"destination": "arn:g", "redacted_headers": ["Authorization"]}
    same = {
        "LogDestinationConfigs": ["arn:g"],
        "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}],
    }
    assert aws_edge.logging_differences(same, want) == []
    assert aws_edge.logging_differences(dict(same, RedactedFields=[]), want)
    assert aws_edge.logging_differences(dict(same, LogDestinationConfigs=[]), want)
    assert aws_edge.redacted_fields(["X-Api-Key"]) == [{"SingleHeader": {"Name": "x-api-key"}}]

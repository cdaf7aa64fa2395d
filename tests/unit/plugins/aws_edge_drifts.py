"""The edge layer's rows of the drift table (test_aws_drift_fields.py): one case per spec
field of roles/aws_edge's spec, each a change made outside Ansible to a converged world
(aws_edge_world.py) that the state call must name.
"""

from __future__ import annotations

import datetime
from collections import namedtuple

Drift = namedtuple("Drift", "field name mutate needle")
INVARIANT = "(invariant) "


def _elb(w, s):
    return w.d("elbv2", s["region"])


def _lb(w, s):
    return _elb(w, s)["load_balancers"][0]


def _listener(w, s, port):
    return next(
        x for x in _elb(w, s)["listeners"][_lb(w, s)["LoadBalancerArn"]] if x["Port"] == port
    )


def _rule(w, s, index=0):
    want = s["target_groups"][index]
    rules = _elb(w, s)["rules"][_listener(w, s, s["listeners"]["https_port"])["ListenerArn"]]
    return next(r for r in rules if r["Priority"] == str(want["priority"]))


def _tg(w, s, index=0):
    return _elb(w, s)["target_groups"][index]


def _cert(w, s):
    return next(iter(w.d("acm", s["region"])["certificates"].values()))


def _acl(w, s):
    return next(iter(w.d("wafv2", s["region"])["web_acls"].values()))


def _waf_rule(w, s, name):
    return next(r for r in _acl(w, s)["Rules"] if r["Name"] == name)


def _logging(w, s):
    return next(iter(w.d("wafv2", s["region"])["logging"].values()))


def _log_group(w, s):
    return next(
        g for g in w.d("logs", s["region"])["groups"] if g["logGroupName"] == s["waf"]["log_group"]
    )


def _hc(key, value):
    return lambda w, s: _tg(w, s).update({key: value})


EDGE = [
    # the load balancer
    Drift(
        "name",
        "lb-deleted",
        lambda w, s: _elb(w, s)["load_balancers"].clear(),
        r"^load balancer .* does not exist",
    ),
    Drift("scheme", "lb-internal", lambda w, s: _lb(w, s).update(Scheme="internal"), "scheme is"),
    Drift(
        "vpc_id", "lb-vpc", lambda w, s: _lb(w, s).update(VpcId="vpc-other"), r": VPC is vpc-other"
    ),
    Drift(
        "subnets[]",
        "lb-subnet",
        lambda w, s: _lb(w, s)["AvailabilityZones"][0].update(SubnetId="subnet-other"),
        r"^load balancer .*: subnets is",
    ),
    Drift(
        "security_groups[]",
        "lb-group",
        lambda w, s: _lb(w, s).update(SecurityGroups=["sg-open"]),
        r"^load balancer .*: security groups is",
    ),
    Drift(
        "tags",
        "lb-tags",
        lambda w, s: _elb(w, s)["tags"][_lb(w, s)["LoadBalancerArn"]].pop("CostCenter"),
        r"^load balancer .*: tags differ",
    ),
    Drift(
        "attributes",
        "lb-access-logs-off",
        lambda w, s: _elb(w, s)["lb_attributes"][_lb(w, s)["LoadBalancerArn"]].update(
            {"access_logs.s3.enabled": "false"}
        ),
        r"attribute access_logs.s3.enabled is false",
    ),
    Drift(
        "attributes",
        "lb-attribute-unset",
        lambda w, s: _elb(w, s)["lb_attributes"][_lb(w, s)["LoadBalancerArn"]].pop(
            "deletion_protection.enabled"
        ),
        r"attribute deletion_protection.enabled is None",
    ),
    Drift(
        INVARIANT + "the load balancer is active",
        "lb-failed",
        lambda w, s: _lb(w, s).update(State={"Code": "failed"}),
        r"state is failed",
    ),
    # listeners
    Drift(
        "listeners.http_port",
        "http-listener-deleted",
        lambda w, s: _elb(w, s)["listeners"][_lb(w, s)["LoadBalancerArn"]].remove(
            _listener(w, s, s["listeners"]["http_port"])
        ),
        r"no HTTP listener on port 80",
    ),
    Drift(
        "listeners.https_port",
        "https-listener-port",
        lambda w, s: _listener(w, s, s["listeners"]["https_port"]).update(Port=8443),
        r"no HTTPS listener on port 443",
    ),
    Drift(
        "listeners.ssl_policy",
        "tls-policy",
        lambda w, s: _listener(w, s, s["listeners"]["https_port"]).update(
            SslPolicy="ELBSecurityPolicy-2016-08"
        ),
        r"TLS policy is ELBSecurityPolicy-2016-08",
    ),
    Drift(
        INVARIANT + "HTTP redirects to HTTPS",
        "http-forwards",
        lambda w, s: _listener(w, s, s["listeners"]["http_port"]).update(
            DefaultActions=[{"Type": "forward", "TargetGroupArn": _tg(w, s)["TargetGroupArn"]}]
        ),
        r"listener 80: default action",
    ),
    Drift(
        INVARIANT + "HTTPS answers 404 to an unknown host",
        "https-default-forwards",
        lambda w, s: _listener(w, s, s["listeners"]["https_port"]).update(
            DefaultActions=[{"Type": "forward", "TargetGroupArn": _tg(w, s)["TargetGroupArn"]}]
        ),
        r"listener 443: default action",
    ),
    # certificate
    Drift(
        "certificate.name",
        "cert-renamed",
        lambda w, s: next(iter(w.d("acm", s["region"])["cert_tags"].values())).update(Name="other"),
        r"^certificate .* does not exist",
    ),
    Drift(
        "certificate.validation",
        "cert-type",
        lambda w, s: _cert(w, s).update(
            Type="AMAZON_ISSUED" if s["certificate"]["validation"] == "import" else "IMPORTED"
        ),
        r"^certificate .*: type is",
    ),
    Drift(
        "certificate.domains[]",
        "cert-names",
        lambda w, s: _cert(w, s).update(SubjectAlternativeNames=[s["certificate"]["domains"][0]]),
        r"^certificate .*: does not cover",
    ),
    Drift(
        "certificate.min_days_valid",
        "cert-expiring",
        lambda w, s: _cert(w, s).update(
            NotAfter=datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
            + datetime.timedelta(days=s["certificate"]["min_days_valid"] - 1)
        ),
        r"^certificate .*: expires",
    ),
    Drift(
        INVARIANT + "the certificate is issued",
        "cert-revoked",
        lambda w, s: _cert(w, s).update(Status="REVOKED"),
        r"^certificate .*: status is REVOKED",
    ),
    Drift(
        INVARIANT + "the listener serves the layer's certificate",
        "listener-cert",
        lambda w, s: _listener(w, s, s["listeners"]["https_port"]).update(
            Certificates=[{"CertificateArn": "arn:aws:acm:x:1:certificate/other"}]
        ),
        r"listener 443: certificate is",
    ),
    # target groups and rules
    Drift(
        "target_groups[].name",
        "tg-deleted",
        lambda w, s: _elb(w, s)["target_groups"].pop(0),
        r"^target group .* does not exist",
    ),
    Drift("target_groups[].port", "tg-port", _hc("Port", 1), r": port is 1,"),
    Drift("target_groups[].protocol", "tg-protocol", _hc("Protocol", "HTTP"), r": protocol is"),
    Drift(
        "target_groups[].target_type",
        "tg-target-type",
        _hc("TargetType", "lambda"),
        r"target type is lambda",
    ),
    Drift(
        "target_groups[].health_check.protocol",
        "hc-protocol",
        _hc("HealthCheckProtocol", "HTTP"),
        r"health check protocol is HTTP",
    ),
    Drift(
        "target_groups[].health_check.path",
        "hc-path",
        _hc("HealthCheckPath", "/"),
        r"health check path is /,",
    ),
    Drift(
        "target_groups[].health_check.port",
        "hc-port",
        _hc("HealthCheckPort", "22"),
        r"health check port is 22",
    ),
    Drift(
        "target_groups[].health_check.interval",
        "hc-interval",
        _hc("HealthCheckIntervalSeconds", 300),
        r"health check interval is 300",
    ),
    Drift(
        "target_groups[].health_check.timeout",
        "hc-timeout",
        _hc("HealthCheckTimeoutSeconds", 120),
        r"health check timeout is 120",
    ),
    Drift(
        "target_groups[].health_check.healthy",
        "hc-healthy",
        _hc("HealthyThresholdCount", 10),
        r"healthy threshold is 10",
    ),
    Drift(
        "target_groups[].health_check.unhealthy",
        "hc-unhealthy",
        _hc("UnhealthyThresholdCount", 10),
        r"unhealthy threshold is 10",
    ),
    Drift(
        "target_groups[].health_check.matcher",
        "hc-matcher",
        _hc("Matcher", {"HttpCode": "200-499"}),
        r"success codes is 200-499",
    ),
    Drift(
        INVARIANT + "health checks are on",
        "hc-off",
        _hc("HealthCheckEnabled", False),
        r"health check enabled is False",
    ),
    Drift(
        "target_groups[].deregistration_delay",
        "tg-drain",
        lambda w, s: _elb(w, s)["tg_attributes"][_tg(w, s)["TargetGroupArn"]].update(
            {"deregistration_delay.timeout_seconds": "3600"}
        ),
        r"deregistration delay is 3600",
    ),
    Drift(
        "target_groups[].hosts[]",
        "rule-hosts",
        lambda w, s: _rule(w, s)["Conditions"][0]["HostHeaderConfig"].update(
            Values=["evil.example"]
        ),
        r"HTTPS rule .* matches",
    ),
    Drift(
        "target_groups[].priority",
        "rule-priority",
        lambda w, s: _rule(w, s).update(Priority="999"),
        r"no HTTPS rule 10 ",
    ),
    Drift(
        INVARIANT + "a rule forwards to its own target group",
        "rule-target",
        lambda w, s: _rule(w, s)["Actions"][0].update(
            TargetGroupArn=_tg(w, s, 1)["TargetGroupArn"], ForwardConfig={}
        ),
        r"HTTPS rule .* does",
    ),
    Drift(
        INVARIANT + "no rule beyond the spec's",
        "rule-extra",
        lambda w, s: _elb(w, s)["rules"][
            _listener(w, s, s["listeners"]["https_port"])["ListenerArn"]
        ].append({"Priority": "1", "Conditions": [], "Actions": []}),
        r"HTTPS rule 1 is not in the spec",
    ),
    Drift(
        INVARIANT + "target groups are tagged",
        "tg-tags",
        lambda w, s: _elb(w, s)["tags"][_tg(w, s)["TargetGroupArn"]].pop("CostCenter"),
        r"^target group .*: tags differ",
    ),
    # the WAF
    Drift(
        "waf.name",
        "acl-deleted",
        lambda w, s: w.d("wafv2", s["region"])["web_acls"].clear(),
        r"^web ACL .* does not exist",
    ),
    Drift(
        "waf.rate_limit",
        "waf-rate-limit",
        lambda w, s: _waf_rule(w, s, "rate-limit-per-ip")["Statement"]["RateBasedStatement"].update(
            Limit=2000000000
        ),
        r"rule rate-limit-per-ip is",
    ),
    Drift(
        "waf.rate_window",
        "waf-rate-window",
        lambda w, s: _waf_rule(w, s, "rate-limit-per-ip")["Statement"]["RateBasedStatement"].update(
            EvaluationWindowSec=600
        ),
        r"rule rate-limit-per-ip is",
    ),
    Drift(
        INVARIANT + "the rate limit blocks, per client IP",
        "waf-rate-count",
        lambda w, s: _waf_rule(w, s, "rate-limit-per-ip").update(Action={"Count": {}}),
        r"rule rate-limit-per-ip is",
    ),
    Drift(
        "waf.managed_rule_groups[]",
        "waf-group-removed",
        lambda w, s: _acl(w, s)["Rules"].remove(_waf_rule(w, s, "aws-sqli")),
        r"no rule aws-sqli",
    ),
    Drift(
        INVARIANT + "managed groups are not overridden to count",
        "waf-group-count",
        lambda w, s: _waf_rule(w, s, "aws-common").update(OverrideAction={"Count": {}}),
        r"rule aws-common is",
    ),
    Drift(
        "waf.blocked_countries[]",
        "waf-geo-by-hand",
        lambda w, s: _acl(w, s)["Rules"].append(
            {
                "Name": "geo-block",
                "Priority": 0,
                "Statement": {"GeoMatchStatement": {"CountryCodes": ["FR"]}},
                "Action": {"Block": {}},
            }
        ),
        r"rule geo-block is not in the spec",
    ),
    Drift(
        INVARIANT + "the web ACL allows what no rule blocks",
        "waf-default-block",
        lambda w, s: _acl(w, s).update(DefaultAction={"Block": {}}),
        r"default action is",
    ),
    Drift(
        INVARIANT + "the web ACL protects the load balancer",
        "waf-not-associated",
        lambda w, s: w.d("wafv2", s["region"])["associations"].clear(),
        r"protected by no web ACL",
    ),
    Drift(
        INVARIANT + "the web ACL is tagged",
        "waf-tags",
        lambda w, s: next(iter(w.d("wafv2", s["region"])["tags"].values())).pop("CostCenter"),
        r"^web ACL .*: tags differ",
    ),
    Drift(
        "waf.log_group",
        "waf-log-destination",
        lambda w, s: _logging(w, s).update(
            LogDestinationConfigs=["arn:aws:logs:x:1:log-group:aws-waf-logs-other"]
        ),
        r"logs go to",
    ),
    Drift(
        "waf.log_group",
        "waf-log-group-deleted",
        lambda w, s: w.d("logs", s["region"])["groups"].clear(),
        r"^log group aws-waf-logs-.* does not exist",
    ),
    Drift(
        "waf.log_retention_days",
        "waf-log-retention",
        lambda w, s: _log_group(w, s).update(retentionInDays=1),
        r"retention is 1 days",
    ),
    Drift(
        "waf.redacted_headers[]",
        "waf-redaction",
        lambda w, s: _logging(w, s).update(RedactedFields=[]),
        r"redacted headers are",
    ),
    Drift(
        INVARIANT + "the web ACL logs",
        "waf-logging-off",
        lambda w, s: w.d("wafv2", s["region"])["logging"].clear(),
        r"no logging",
    ),
]

EDGE_NOT_COMPARED = {
    "region": "the region the module describes (aws_layer_state's region); a resource "
    "elsewhere is a missing one, which every other case shows",
    "target_groups[].key": "the key of outputs.target_groups; the target group name carries it",
}

# Free-form maps of the edge spec (one case drifts any key).
EDGE_MAPS = {"attributes"}

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The edge layer: the internet-facing Application Load Balancer of a region, its TLS
certificate (ACM), listeners, target groups and listener rules.

``edge_state(clients, spec)`` has the signature of the layer functions in ``aws_state``
(describe everything the layer owns with read calls only, compare it with ``spec``, return
``(differences, outputs)``); the module ``aws_layer_state`` runs it (layer ``edge``; the DR
copy ``edge-dr`` is the same layer described in the DR region).

The pure functions below build what the converge sends (``listeners``: the
``elb_application_lb`` listeners option; ``alb_log_delivery_policy``: the logs bucket's
statement for the load balancer's access logs) and compare describe answers with the spec,
so "converged" means the same thing to the converge and to the state call. They are
unit-tested on AWS's documented answers (tests/unit/plugins/test_aws_edge.py).

The spec, as roles/aws_edge/vars/main.yml builds it::

    {"region": "us-east-1", "tags": {...}, "name": "tradeops-lab", "scheme": "internet-facing",
     "vpc_id": "vpc-...", "subnets": ["subnet-...", ...], "security_groups": ["sg-..."],
     "attributes": {"access_logs.s3.enabled": "true", ...},   # LoadBalancerAttributes
     "listeners": {"http_port": 80, "https_port": 443, "ssl_policy": "ELBSecurityPolicy-..."},
     "certificate": {"name", "validation": "dns" | "import", "domains": [...], "min_days_valid"},
     "target_groups": [{"key", "name", "port", "protocol", "target_type", "priority",
                        "hosts": [...], "deregistration_delay",
                        "health_check": {"protocol", "path", "port", "interval", "timeout",
                                         "healthy", "unhealthy", "matcher"}}],
     "waf": {"name", "rate_limit", "rate_window", "managed_rule_groups": [...],
             "blocked_countries": [...], "log_group", "log_retention_days",
             "redacted_headers": [...]}}
"""

from __future__ import annotations

import datetime
import re

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - reported by AnsibleAWSModule
    ClientError = Exception

UTC = datetime.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; targets may run 3.9)

# What the HTTPS listener answers when no rule matches the Host header.
DEFAULT_RESPONSE = {"ContentType": "text/plain", "MessageBody": "Not Found", "StatusCode": "404"}
# The HTTP listener sends every request to HTTPS, path and query kept.
HTTPS_REDIRECT = {
    "Protocol": "HTTPS",
    "Port": "443",
    "Host": "#{host}",
    "Path": "/#{path}",
    "Query": "#{query}",
    "StatusCode": "HTTP_301",
}
# The key types ListCertificates returns (by default it answers RSA_2048 certificates only).
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1"]

# Access logs: regions opened before August 2022 deliver as the regional Elastic Load
# Balancing account, later regions as the log delivery service (AWS: "Enable access logs
# for your Application Load Balancer", step 2).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
}
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def error_code(err):
    return getattr(err, "response", {}).get("Error", {}).get("Code", "")


def tag_dict(tag_list):
    return {
        t["Key"]: t["Value"] for t in tag_list or [] if not str(t.get("Key", "")).startswith("aws:")
    }


def tag_differences(what, actual, desired):
    actual = {k: v for k, v in (actual or {}).items() if not k.startswith("aws:")}
    if actual == desired:
        return []
    missing = {k: v for k, v in desired.items() if actual.get(k) != v}
    extra = sorted(set(actual) - set(desired))
    return [f"{what}: tags differ (to set {missing}, to remove {extra})"]


# --------------------------------------------------------------------------- what is sent
HEALTH_CHECK = {
    "path": "/health",
    "interval": 10,
    "timeout": 5,
    "healthy": 3,
    "unhealthy": 3,
    "matcher": "200",
}


def target_groups(services, name, domain, region, protocol="HTTPS", target_type="ip"):
    """The spec's target groups: one per service (aws_edge_services), named
    ``<name>-<key>``, reached by the Host names ``<key>.<domain>`` (the DNS layer's failover
    name) and ``<key>.<region>.<domain>`` (the region's own, which its health check
    probes), through rule priorities 10, 20, ... in the services' order."""
    out = []
    for index, svc in enumerate(services):
        key = svc["key"]
        check = dict(HEALTH_CHECK, **(svc.get("health_check") or {}))
        out.append(
            {
                "key": key,
                "name": f"{name}-{key}",
                "port": int(svc["port"]),
                "protocol": svc.get("protocol", protocol),
                "target_type": svc.get("target_type", target_type),
                "priority": 10 * (index + 1),
                "hosts": [f"{key}.{domain}", f"{key}.{region}.{domain}"],
                "deregistration_delay": int(svc.get("deregistration_delay", 30)),
                "health_check": {
                    "protocol": svc.get("protocol", protocol),
                    "path": check["path"],
                    "port": "traffic-port",
                    "interval": int(check["interval"]),
                    "timeout": int(check["timeout"]),
                    "healthy": int(check["healthy"]),
                    "unhealthy": int(check["unhealthy"]),
                    "matcher": str(check["matcher"]),
                },
            }
        )
    return out


def service_problems(services, name):
    """What is wrong with aws_edge_services (empty when nothing is): the preflight's check,
    before anything changes. ``name`` is aws_edge_name (target groups: <name>-<key>)."""
    out = []
    if not isinstance(services, list) or not services:
        return ["aws_edge_services must list at least one service"]
    keys = [s.get("key") if isinstance(s, dict) else None for s in services]
    if len(set(keys)) != len(keys):
        out.append(f"service keys must be unique (got {keys})")
    for svc in services:
        if not isinstance(svc, dict):
            out.append(f"a service must be a dict, not {svc!r}")
            continue
        key = str(svc.get("key", ""))
        label = f"service {key or svc}"
        if not re.match(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", key):
            out.append(f"{label}: key must be a DNS label (lower-case letters, digits, '-')")
        if len(f"{name}-{key}") > 32:
            out.append(
                f"{label}: the target group name {name}-{key} is longer than 32 characters "
                "(shorten aws_edge_name or the key)"
            )
        if as_number(svc.get("port")) not in range(1, 65536):
            out.append(f"{label}: port must be 1 to 65535 (got {svc.get('port')})")
        delay = as_number(svc.get("deregistration_delay", 30))
        if delay not in range(0, 3601):
            out.append(f"{label}: deregistration_delay must be 0 to 3600 s (got {delay})")
        check = dict(HEALTH_CHECK, **(svc.get("health_check") or {}))
        unknown = sorted(set(check) - set(HEALTH_CHECK))
        if unknown:
            out.append(f"{label}: unknown health_check fields {unknown}")
        interval, timeout = as_number(check["interval"]), as_number(check["timeout"])
        if interval not in range(5, 301):
            out.append(f"{label}: health_check.interval must be 5 to 300 s (got {interval})")
        if timeout not in range(2, 121) or (interval is not None and timeout >= interval):
            out.append(
                f"{label}: health_check.timeout must be 2 to 120 s and less than the interval "
                f"(got {timeout})"
            )
        for field in ("healthy", "unhealthy"):
            if as_number(check[field]) not in range(2, 11):
                out.append(f"{label}: health_check.{field} must be 2 to 10 (got {check[field]})")
        if not str(check["path"]).startswith("/") or len(str(check["path"])) > 1024:
            out.append(f"{label}: health_check.path must start with / (got {check['path']})")
        if not re.match(r"^[2-4][0-9]{2}([,-][2-4][0-9]{2})*$", str(check["matcher"])):
            out.append(
                f"{label}: health_check.matcher must be HTTP codes such as 200, 200-299 or "
                f"200,204 (got {check['matcher']})"
            )
    return out


def as_number(value):
    """An int from an int or a string of digits; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def alb_log_delivery_policy(bucket, prefix, account_id, regions):
    """The bucket policy statement(s) letting the load balancers of ``regions`` write their
    access logs under ``<prefix>/AWSLogs/<account_id>/`` of ``bucket``, and nothing else."""
    key = "/".join(part for part in (prefix.strip("/"), "AWSLogs", account_id, "*") if part)
    resource = f"arn:aws:s3:::{bucket}/{key}"
    accounts = sorted({ELB_LOG_ACCOUNTS[r] for r in regions if r in ELB_LOG_ACCOUNTS})
    statements = []
    if accounts:
        statements.append(
            {
                "Sid": "AlbAccessLogs",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                "Action": "s3:PutObject",
                "Resource": resource,
            }
        )
    if any(r not in ELB_LOG_ACCOUNTS for r in regions):
        statements.append(
            {
                "Sid": "AlbAccessLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": LOG_DELIVERY_SERVICE},
                "Action": "s3:PutObject",
                "Resource": resource,
            }
        )
    return statements


def listener_rules(spec):
    """One rule per target group: its Host headers forward to it."""
    return [
        {
            "Priority": tg["priority"],
            # HostHeaderConfig: the legacy Values take one host only.
            "Conditions": [
                {"Field": "host-header", "HostHeaderConfig": {"Values": list(tg["hosts"])}}
            ],
            "Actions": [{"Type": "forward", "TargetGroupName": tg["name"]}],
        }
        for tg in sorted(spec["target_groups"], key=lambda t: t["priority"])
    ]


def listeners(spec, certificate_arn, rules=True):
    """The ``listeners`` option of amazon.aws.elb_application_lb: HTTP redirects to HTTPS;
    HTTPS with the certificate and TLS policy answers 404 unless a rule's Host matches.

    ``rules=False`` leaves the rules out (the module cannot add a listener and its rules
    in one call: it looks the new listener up in the list it read before creating it)."""
    lst = spec["listeners"]
    https = {
        "Protocol": "HTTPS",
        "Port": lst["https_port"],
        "SslPolicy": lst["ssl_policy"],
        "Certificates": [{"CertificateArn": certificate_arn}],
        "DefaultActions": [
            {"Type": "fixed-response", "FixedResponseConfig": dict(DEFAULT_RESPONSE)}
        ],
    }
    if rules:
        https["Rules"] = listener_rules(spec)
    redirect = dict(HTTPS_REDIRECT, Port=str(lst["https_port"]))
    return [
        {
            "Protocol": "HTTP",
            "Port": lst["http_port"],
            "DefaultActions": [{"Type": "redirect", "RedirectConfig": redirect}],
        },
        https,
    ]


def certificate_serial(text):
    """A certificate serial number as an int, from ACM's answer (hex, colon-separated:
    ``"0c:2f:..."``; moto answers decimal) or an int. None when there is none."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return text
    text = str(text).strip()
    if ":" in text or any(c in "abcdefABCDEF" for c in text):
        return int(text.replace(":", ""), 16)
    return int(text)


# --------------------------------------------------------------------------- comparisons
def load_balancer_differences(lb, spec):
    """What differs between a DescribeLoadBalancers entry and the spec."""
    name = spec["name"]
    out = []
    checks = (
        ("type", lb.get("Type"), "application"),
        ("scheme", lb.get("Scheme"), spec["scheme"]),
        ("VPC", lb.get("VpcId"), spec["vpc_id"]),
        (
            "subnets",
            sorted(z.get("SubnetId") for z in lb.get("AvailabilityZones", [])),
            sorted(spec["subnets"]),
        ),
        ("security groups", sorted(lb.get("SecurityGroups", [])), sorted(spec["security_groups"])),
    )
    for what, got, want in checks:
        if got != want:
            out.append(f"load balancer {name}: {what} is {got}, want {want}")
    state = (lb.get("State") or {}).get("Code")
    if state not in ("active", "provisioning"):
        out.append(f"load balancer {name}: state is {state}")
    return out


def attribute_differences(name, attributes, want):
    """LoadBalancerAttributes (a list of Key/Value) against the wanted map; a key AWS does
    not answer differs (moto answers only the keys once set)."""
    got = {a["Key"]: a.get("Value") for a in attributes or []}
    return [
        f"load balancer {name}: attribute {key} is {got.get(key)}, want {value}"
        for key, value in sorted(want.items())
        if got.get(key) != str(value)
    ]


def target_group_differences(tg, want, vpc_id):
    """A DescribeTargetGroups entry against one target group of the spec."""
    hc = want["health_check"]
    checks = (
        ("protocol", tg.get("Protocol"), want["protocol"]),
        ("port", tg.get("Port"), want["port"]),
        ("VPC", tg.get("VpcId"), vpc_id),
        ("target type", tg.get("TargetType"), want["target_type"]),
        ("health check enabled", tg.get("HealthCheckEnabled", True), True),
        ("health check protocol", tg.get("HealthCheckProtocol"), hc["protocol"]),
        ("health check path", tg.get("HealthCheckPath"), hc["path"]),
        ("health check port", tg.get("HealthCheckPort"), str(hc["port"])),
        ("health check interval", tg.get("HealthCheckIntervalSeconds"), hc["interval"]),
        ("health check timeout", tg.get("HealthCheckTimeoutSeconds"), hc["timeout"]),
        ("healthy threshold", tg.get("HealthyThresholdCount"), hc["healthy"]),
        ("unhealthy threshold", tg.get("UnhealthyThresholdCount"), hc["unhealthy"]),
        ("success codes", (tg.get("Matcher") or {}).get("HttpCode"), hc["matcher"]),
    )
    return [
        f"target group {want['name']}: {what} is {got}, want {expected}"
        for what, got, expected in checks
        if got != expected
    ]


def target_group_attribute_differences(name, attributes, want):
    got = {a["Key"]: a.get("Value") for a in attributes or []}
    value = got.get("deregistration_delay.timeout_seconds")
    if value != str(want["deregistration_delay"]):
        return [
            f"target group {name}: deregistration delay is {value}, "
            f"want {want['deregistration_delay']}"
        ]
    return []


def _action(action, tg_names):
    """A listener action in one comparable shape (target groups by name)."""
    kind = action.get("Type")
    if kind == "redirect":
        conf = action.get("RedirectConfig") or {}
        return (kind, tuple(sorted((k, str(v)) for k, v in conf.items())))
    if kind == "fixed-response":
        conf = action.get("FixedResponseConfig") or {}
        return (kind, tuple(sorted((k, str(v)) for k, v in conf.items())))
    if kind == "forward":
        arns = [action["TargetGroupArn"]] if action.get("TargetGroupArn") else []
        arns += [
            t["TargetGroupArn"]
            for t in (action.get("ForwardConfig") or {}).get("TargetGroups", [])
            if t.get("TargetGroupArn") not in arns
        ]
        names = action.get("TargetGroupName")
        return (kind, (names,) if names else tuple(sorted(tg_names.get(a, a) for a in arns)))
    return (kind,)


def listener_differences(found, spec, certificate_arn, tg_names):
    """DescribeListeners' answer against the two listeners the layer wants."""
    name = spec["name"]
    want = {item["Port"]: item for item in listeners(spec, certificate_arn, rules=False)}
    got = {item["Port"]: item for item in found}
    out = [
        f"load balancer {name}: listener on port {port} ({got[port].get('Protocol')}) "
        "is not in the spec"
        for port in sorted(set(got) - set(want))
    ]
    for port, wanted in sorted(want.items()):
        have = got.get(port)
        if have is None:
            out.append(f"load balancer {name}: no {wanted['Protocol']} listener on port {port}")
            continue
        label = f"load balancer {name}: listener {port}"
        if have.get("Protocol") != wanted["Protocol"]:
            out.append(f"{label}: protocol is {have.get('Protocol')}, want {wanted['Protocol']}")
        if wanted["Protocol"] == "HTTPS":
            if have.get("SslPolicy") != wanted["SslPolicy"]:
                out.append(
                    f"{label}: TLS policy is {have.get('SslPolicy')}, want {wanted['SslPolicy']}"
                )
            certs = [c.get("CertificateArn") for c in have.get("Certificates") or []]
            if certificate_arn and certs[:1] != [certificate_arn]:
                out.append(f"{label}: certificate is {certs[:1]}, want {certificate_arn}")
        got_actions = [_action(a, tg_names) for a in have.get("DefaultActions") or []]
        want_actions = [_action(a, tg_names) for a in wanted["DefaultActions"]]
        if got_actions != want_actions:
            out.append(f"{label}: default action is {got_actions}, want {want_actions}")
    return out


def _condition_hosts(condition):
    values = (
        (condition.get("HostHeaderConfig") or {}).get("Values") or condition.get("Values") or []
    )
    return sorted(set(values))


def rule_differences(found, spec, tg_names):
    """DescribeRules' answer (the HTTPS listener) against one Host rule per target group."""
    name = spec["name"]
    want = {str(rule["Priority"]): rule for rule in listener_rules(spec)}
    got = {str(rule.get("Priority")): rule for rule in found if not rule.get("IsDefault")}
    out = [
        f"load balancer {name}: HTTPS rule {priority} is not in the spec"
        for priority in sorted(set(got) - set(want))
    ]
    for priority, wanted in sorted(want.items()):
        have = got.get(priority)
        target = wanted["Actions"][0]["TargetGroupName"]
        if have is None:
            out.append(f"load balancer {name}: no HTTPS rule {priority} (to {target})")
            continue
        conditions = have.get("Conditions") or []
        hosts = [_condition_hosts(c) for c in conditions if c.get("Field") == "host-header"]
        want_hosts = sorted(wanted["Conditions"][0]["HostHeaderConfig"]["Values"])
        if len(conditions) != 1 or hosts != [want_hosts]:
            out.append(
                f"load balancer {name}: HTTPS rule {priority} matches {conditions}, "
                f"want the hosts {want_hosts}"
            )
        actions = [_action(a, tg_names) for a in have.get("Actions") or []]
        if actions != [("forward", (target,))]:
            out.append(
                f"load balancer {name}: HTTPS rule {priority} does {actions}, "
                f"want forward to {target}"
            )
    return out


def certificate_differences(cert, want, now=None):
    """A DescribeCertificate entry against the certificate the layer wants."""
    label = f"certificate {want['name']}"
    now = now or datetime.datetime.now(UTC)
    out = []
    kind = "IMPORTED" if want["validation"] == "import" else "AMAZON_ISSUED"
    if cert.get("Type") != kind:
        out.append(f"{label}: type is {cert.get('Type')}, want {kind}")
    if cert.get("Status") != "ISSUED":
        out.append(f"{label}: status is {cert.get('Status')}, want ISSUED")
    names = set(cert.get("SubjectAlternativeNames") or []) | {cert.get("DomainName")}
    missing = [d for d in want["domains"] if d not in names]
    if missing:
        out.append(f"{label}: does not cover {missing}")
    not_after = cert.get("NotAfter")
    if isinstance(not_after, (int, float)):
        not_after = datetime.datetime.fromtimestamp(not_after, UTC)
    if not_after is None or not_after - now < datetime.timedelta(days=want["min_days_valid"]):
        out.append(
            f"{label}: expires {not_after}, less than {want['min_days_valid']} days from now"
        )
    return out


BROKEN_CERTIFICATE = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")


def requested_certificate_problems(cert, names):
    """Why a requested certificate found by its Name tag cannot serve ``names`` (a new one
    is requested then): it does not cover them all, or ACM gave up on it."""
    out = []
    covered = set(cert.get("SubjectAlternativeNames") or []) | {cert.get("DomainName")}
    missing = [n for n in names if n not in covered]
    if missing:
        out.append(f"does not cover {missing}")
    if cert.get("Status") in BROKEN_CERTIFICATE:
        out.append(f"is {cert.get('Status')}")
    if cert.get("Type") not in (None, "AMAZON_ISSUED"):
        out.append(f"is {cert.get('Type')}, not requested from ACM")
    return out


def validation_records(cert):
    """The distinct CNAME records ACM validates a certificate's names with (names that
    share a record, as a name and its wildcard do, give it once)."""
    out = []
    for option in cert.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if record and record not in out:
            out.append(
                {
                    "Name": record["Name"],
                    "Type": record.get("Type", "CNAME"),
                    "Value": record["Value"],
                }
            )
    return out


# --------------------------------------------------------------------------- WAF
# Rule priorities: the geo rule first (a blocked country needs no further look), the rate
# limit per client IP, then AWS's managed rule groups in their order.
GEO_PRIORITY = 0
RATE_PRIORITY = 10
MANAGED_PRIORITY = 20


def _visibility(metric):
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": metric,
    }


def managed_rule_name(group):
    """aws-<group without AWSManagedRules and RuleSet>, lower case: AWSManagedRulesSQLiRuleSet
    -> aws-sqli."""
    core = group
    for part in ("AWSManagedRules", "RuleSet"):
        core = core.replace(part, "")
    return "aws-" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", core).lower()


def waf_rules(waf):
    """The web ACL's rules (as GetWebACL answers them) from the spec's waf inputs: an
    optional geo block, the rate limit per client IP over its window, the managed groups."""
    rules = []
    countries = sorted(waf.get("blocked_countries") or [])
    if countries:
        rules.append(
            {
                "Name": "geo-block",
                "Priority": GEO_PRIORITY,
                "Statement": {"GeoMatchStatement": {"CountryCodes": countries}},
                "Action": {"Block": {}},
                "VisibilityConfig": _visibility("geo-block"),
            }
        )
    rules.append(
        {
            "Name": "rate-limit-per-ip",
            "Priority": RATE_PRIORITY,
            "Statement": {
                "RateBasedStatement": {
                    "Limit": int(waf["rate_limit"]),
                    "EvaluationWindowSec": int(waf["rate_window"]),
                    "AggregateKeyType": "IP",
                }
            },
            "Action": {"Block": {}},
            "VisibilityConfig": _visibility("rate-limit-per-ip"),
        }
    )
    for index, group in enumerate(waf["managed_rule_groups"]):
        name = managed_rule_name(group)
        rules.append(
            {
                "Name": name,
                "Priority": MANAGED_PRIORITY + index,
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
                "OverrideAction": {"None": {}},
                "VisibilityConfig": _visibility(name),
            }
        )
    return rules


def _snake(key):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", key).lower()


def snake_rules(value):
    """AWS-shaped rules as community.aws.wafv2_web_acl takes them (snake_case keys; it turns
    them back into AWS's names: CloudWatchMetricsEnabled <- cloud_watch_metrics_enabled)."""
    if isinstance(value, dict):
        return {_snake(k): snake_rules(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_rules(v) for v in value]
    return value


def _contains(got, want):
    """True when every key of ``want`` is in ``got`` with the same value (dicts recursively;
    AWS may answer fields the spec leaves at their defaults)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(_contains(got.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_contains(g, w) for g, w in zip(got, want, strict=True))
        )
    return got == want


def web_acl_differences(acl, waf):
    """A GetWebACL answer's WebACL against the spec's waf."""
    label = f"web ACL {waf['name']}"
    out = []
    if acl.get("DefaultAction") != {"Allow": {}}:
        out.append(f"{label}: default action is {acl.get('DefaultAction')}, want Allow")
    if not _contains(acl.get("VisibilityConfig"), _visibility(waf["name"])):
        out.append(f"{label}: metrics or sampled requests are off")
    got = {r.get("Name"): r for r in acl.get("Rules") or []}
    want = {r["Name"]: r for r in waf_rules(waf)}
    out += [f"{label}: rule {name} is not in the spec" for name in sorted(set(got) - set(want))]
    for name, rule in want.items():
        if name not in got:
            out.append(f"{label}: no rule {name}")
        elif not _contains(got[name], rule):
            out.append(f"{label}: rule {name} is {got[name]}, want {rule}")
    return out


def redacted_fields(headers):
    return [{"SingleHeader": {"Name": h.lower()}} for h in headers]


def logging_differences(config, want):
    """A GetLoggingConfiguration answer against {destination, redacted_headers}."""
    out = []
    if (config.get("LogDestinationConfigs") or []) != [want["destination"]]:
        out.append(
            f"logs go to {config.get('LogDestinationConfigs')}, want [{want['destination']}]"
        )
    got = sorted(
        (f.get("SingleHeader") or {}).get("Name", "").lower()
        for f in config.get("RedactedFields") or []
    )
    if got != sorted(h.lower() for h in want["redacted_headers"]):
        out.append(f"redacted headers are {got}, want {sorted(want['redacted_headers'])}")
    return out


def waf_log_group_arn(region, account_id, name):
    return f"arn:aws:logs:{region}:{account_id}:log-group:{name}"


def waf_state(clients, spec, lb_arn, differences, outputs):
    """The web ACL, its rules, its association with the load balancer, its logging and
    log group."""
    waf = spec["waf"]
    wafv2 = clients("wafv2")
    logs = clients("logs")
    label = f"web ACL {waf['name']}"
    summary = None
    kwargs = {"Scope": "REGIONAL"}
    while summary is None:
        page = wafv2.list_web_acls(**kwargs)
        summary = next((a for a in page.get("WebACLs", []) if a["Name"] == waf["name"]), None)
        if not page.get("NextMarker") or not page.get("WebACLs"):
            break
        kwargs["NextMarker"] = page["NextMarker"]
    group = waf["log_group"]
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    found = [g for g in found if g["logGroupName"] == group]
    if not found:
        differences.append(f"log group {group} does not exist")
    else:
        if found[0].get("retentionInDays") != waf["log_retention_days"]:
            differences.append(
                f"log group {group}: retention is {found[0].get('retentionInDays')} days, "
                f"want {waf['log_retention_days']}"
            )
        got_tags = logs.list_tags_log_group(logGroupName=group).get("tags") or {}
        differences.extend(tag_differences(f"log group {group}", got_tags, spec["tags"]))
    if summary is None:
        differences.append(f"{label} does not exist")
        return
    acl_arn = summary["ARN"]
    outputs["web_acl"] = {"arn": acl_arn, "name": waf["name"], "id": summary["Id"]}
    acl = wafv2.get_web_acl(Name=waf["name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    differences.extend(web_acl_differences(acl, waf))
    tags = wafv2.list_tags_for_resource(ResourceARN=acl_arn)
    got_tags = tag_dict((tags.get("TagInfoForResource") or {}).get("TagList"))
    differences.extend(tag_differences(label, got_tags, spec["tags"]))
    if lb_arn:
        protecting = (wafv2.get_web_acl_for_resource(ResourceArn=lb_arn).get("WebACL") or {}).get(
            "ARN"
        )
        if protecting != acl_arn:
            differences.append(
                f"load balancer {spec['name']}: protected by {protecting or 'no web ACL'}, "
                f"want {label}"
            )
    account = acl_arn.split(":")[4]
    destination = waf_log_group_arn(spec["region"], account, group)
    outputs["waf_log_group"] = group
    try:
        config = wafv2.get_logging_configuration(ResourceArn=acl_arn)["LoggingConfiguration"]
    except ClientError as err:
        if error_code(err) != "WAFNonexistentItemException":
            raise
        differences.append(f"{label}: no logging")
        return
    want = {"destination": destination, "redacted_headers": waf["redacted_headers"]}
    differences.extend(f"{label}: {d}" for d in logging_differences(config, want))


# --------------------------------------------------------------------------- describe
def find_certificate(acm, want):
    """The layer's certificate (its Name tag, among those for its first domain): the
    DescribeCertificate entry, or None."""
    domain = want["domains"][0]
    found = []
    kwargs = {"Includes": {"keyTypes": KEY_TYPES}}
    while True:
        page = acm.list_certificates(**kwargs)
        found += [
            c for c in page.get("CertificateSummaryList", []) if c.get("DomainName") == domain
        ]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    named = []
    for summary in found:
        tags = tag_dict(
            acm.list_tags_for_certificate(CertificateArn=summary["CertificateArn"])["Tags"]
        )
        if tags.get("Name") == want["name"]:
            named.append((summary["CertificateArn"], tags))
    if not named:
        return None, {}, 0
    arn, tags = named[0]
    return acm.describe_certificate(CertificateArn=arn)["Certificate"], tags, len(named)


def _target_groups(elbv2, names):
    """DescribeTargetGroups by name: {name: entry} of those that exist."""
    if not names:
        return {}
    try:
        found = elbv2.describe_target_groups(Names=names)["TargetGroups"]
    except ClientError as err:
        if error_code(err) != "TargetGroupNotFound":
            raise
        found = []
        for name in names:
            try:
                found += elbv2.describe_target_groups(Names=[name])["TargetGroups"]
            except ClientError as one:
                if error_code(one) != "TargetGroupNotFound":
                    raise
    return {tg["TargetGroupName"]: tg for tg in found}


def _tags_by_arn(elbv2, arns):
    out = {}
    for start in range(0, len(arns), 20):
        answer = elbv2.describe_tags(ResourceArns=arns[start : start + 20])
        for item in answer.get("TagDescriptions", []):
            out[item["ResourceArn"]] = tag_dict(item.get("Tags"))
    return out


def edge_state(clients, spec):
    """The load balancer, its certificate, listeners, rules and target groups, and the web
    ACL protecting it, in the region the module describes (aws_layer_state's region)."""
    elbv2 = clients("elbv2")
    acm = clients("acm")
    tags = spec["tags"]
    differences = []
    # The names the load balancer serves (the DNS layer checks its records against them).
    outputs = {
        "region": spec["region"],
        "hosts": list(spec["certificate"]["domains"]),
        "target_groups": {},
        "listeners": {},
    }

    cert_want = spec["certificate"]
    cert, cert_tags, count = find_certificate(acm, cert_want)
    cert_arn = None
    if cert is None:
        differences.append(
            f"certificate {cert_want['name']} ({cert_want['domains'][0]}) does not exist"
        )
    else:
        cert_arn = cert["CertificateArn"]
        if count > 1:
            differences.append(
                f"certificate {cert_want['name']}: {count} certificates carry that name"
            )
        differences += certificate_differences(cert, cert_want)
        differences += tag_differences(
            f"certificate {cert_want['name']}", cert_tags, dict(tags, Name=cert_want["name"])
        )
        serial = certificate_serial(cert.get("Serial"))
        outputs["certificate"] = {
            "arn": cert_arn,
            "name": cert_want["name"],
            "type": cert.get("Type"),
            "serial": str(serial) if serial is not None else "",
            "not_after": str(cert.get("NotAfter")),
            "validation_records": validation_records(cert),
        }

    groups = _target_groups(elbv2, [tg["name"] for tg in spec["target_groups"]])
    tg_names = {tg["TargetGroupArn"]: name for name, tg in groups.items()}

    try:
        lbs = elbv2.describe_load_balancers(Names=[spec["name"]])["LoadBalancers"]
    except ClientError as err:
        if error_code(err) != "LoadBalancerNotFound":
            raise
        lbs = []
    lb = lbs[0] if lbs else None
    arns = [tg["TargetGroupArn"] for tg in groups.values()] + (
        [lb["LoadBalancerArn"]] if lb else []
    )
    arn_tags = _tags_by_arn(elbv2, arns)

    for want in spec["target_groups"]:
        tg = groups.get(want["name"])
        if tg is None:
            differences.append(f"target group {want['name']} does not exist")
            continue
        outputs["target_groups"][want["key"]] = {
            "arn": tg["TargetGroupArn"],
            "name": want["name"],
            "port": want["port"],
        }
        differences += target_group_differences(tg, want, spec["vpc_id"])
        attrs = elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])
        differences += target_group_attribute_differences(
            want["name"], attrs.get("Attributes"), want
        )
        differences += tag_differences(
            f"target group {want['name']}", arn_tags.get(tg["TargetGroupArn"]), tags
        )

    if spec.get("waf"):
        waf_state(clients, spec, lb and lb["LoadBalancerArn"], differences, outputs)
    if lb is None:
        differences.append(f"load balancer {spec['name']} does not exist")
        return differences, outputs
    lb_arn = lb["LoadBalancerArn"]
    outputs["load_balancer"] = {
        "arn": lb_arn,
        "name": spec["name"],
        "dns_name": lb.get("DNSName"),
        "canonical_hosted_zone_id": lb.get("CanonicalHostedZoneId"),
    }
    differences += load_balancer_differences(lb, spec)
    differences += tag_differences(f"load balancer {spec['name']}", arn_tags.get(lb_arn), tags)
    attrs = elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb_arn)["Attributes"]
    differences += attribute_differences(spec["name"], attrs, spec["attributes"])

    found = elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    differences += listener_differences(found, spec, cert_arn, tg_names)
    by_port = {item["Port"]: item for item in found}
    for key in ("http", "https"):
        listener = by_port.get(spec["listeners"][f"{key}_port"])
        if listener:
            outputs["listeners"][key] = listener["ListenerArn"]
    https = by_port.get(spec["listeners"]["https_port"])
    if https is not None:
        rules = elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]
        differences += rule_differences(rules, spec, tg_names)
    return differences, outputs

"""The edge layer's converged world: fake Elastic Load Balancing v2, ACM, WAFv2
clients (CloudWatch Logs: aws_worlds.py's) that answer as AWS documents it (DescribeLoadBalancers,
DescribeListeners, DescribeRules, DescribeTargetGroups, ... ListCertificates,
DescribeCertificate, GetWebACL, GetWebACLForResource, GetLoggingConfiguration) for a load
balancer and web ACL that match the spec exactly. aws_worlds.py registers the services and
the builder.
"""

from __future__ import annotations

import datetime

from ansible_collections.tradeops.platform.plugins.module_utils.aws_edge import (
    DEFAULT_RESPONSE,
    HTTPS_REDIRECT,
    waf_rules,
)
from botocore.exceptions import ClientError

from .aws_specs import ACCOUNT


def _error(op, code):
    return ClientError({"Error": {"Code": code, "Message": "not found"}}, op)


def _tags(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


class _Service:
    def __init__(self, world, service, region):
        self.d = world.data.setdefault((service, region), {})


class ELBv2(_Service):
    def describe_load_balancers(self, Names):
        found = [lb for lb in self.d.get("load_balancers", []) if lb["LoadBalancerName"] in Names]
        if len(found) != len(Names):
            raise _error("DescribeLoadBalancers", "LoadBalancerNotFound")
        return {"LoadBalancers": found}

    def describe_tags(self, ResourceArns):
        tags = self.d.get("tags", {})
        return {
            "TagDescriptions": [
                {"ResourceArn": arn, "Tags": _tags(tags.get(arn, {}))} for arn in ResourceArns
            ]
        }

    def describe_load_balancer_attributes(self, LoadBalancerArn):
        attrs = self.d["lb_attributes"][LoadBalancerArn]
        return {"Attributes": [{"Key": k, "Value": v} for k, v in attrs.items()]}

    def describe_target_groups(self, Names):
        groups = {tg["TargetGroupName"]: tg for tg in self.d.get("target_groups", [])}
        if any(n not in groups for n in Names):
            raise _error("DescribeTargetGroups", "TargetGroupNotFound")
        return {"TargetGroups": [groups[n] for n in Names]}

    def describe_target_group_attributes(self, TargetGroupArn):
        attrs = self.d["tg_attributes"][TargetGroupArn]
        return {"Attributes": [{"Key": k, "Value": v} for k, v in attrs.items()]}

    def describe_listeners(self, LoadBalancerArn):
        return {"Listeners": self.d.get("listeners", {}).get(LoadBalancerArn, [])}

    def describe_rules(self, ListenerArn):
        return {"Rules": self.d.get("rules", {}).get(ListenerArn, [])}


class ACM(_Service):
    def list_certificates(self, Includes=None, NextToken=None):
        return {
            "CertificateSummaryList": [
                {"CertificateArn": c["CertificateArn"], "DomainName": c["DomainName"]}
                for c in self.d.get("certificates", {}).values()
            ]
        }

    def list_tags_for_certificate(self, CertificateArn):
        return {"Tags": _tags(self.d["cert_tags"].get(CertificateArn, {}))}

    def describe_certificate(self, CertificateArn):
        return {"Certificate": self.d["certificates"][CertificateArn]}


class WAFV2(_Service):
    def list_web_acls(self, Scope, NextMarker=None):
        return {
            "WebACLs": [
                {"Name": a["Name"], "Id": a["Id"], "ARN": a["ARN"]}
                for a in self.d.get("web_acls", {}).values()
            ]
        }

    def get_web_acl(self, Name, Scope, Id):
        return {"WebACL": self.d["web_acls"][Id], "LockToken": "token"}

    def list_tags_for_resource(self, ResourceARN):
        return {
            "TagInfoForResource": {
                "ResourceARN": ResourceARN,
                "TagList": _tags(self.d.get("tags", {}).get(ResourceARN, {})),
            }
        }

    def get_web_acl_for_resource(self, ResourceArn):
        arn = self.d.get("associations", {}).get(ResourceArn)
        acls = {a["ARN"]: a for a in self.d.get("web_acls", {}).values()}
        return {"WebACL": acls.get(arn)} if arn else {}

    def get_logging_configuration(self, ResourceArn):
        config = self.d.get("logging", {}).get(ResourceArn)
        if config is None:
            raise _error("GetLoggingConfiguration", "WAFNonexistentItemException")
        return {"LoggingConfiguration": config}


SERVICES = {"elbv2": ELBv2, "acm": ACM, "wafv2": WAFV2}


def edge_world(spec, world_class):
    """A converged edge layer in the spec's region."""
    region = spec["region"]
    world = world_class(region)
    tags = spec["tags"]
    elb = world.data.setdefault(("elbv2", region), {})
    acm = world.data.setdefault(("acm", region), {})
    arn_base = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}"

    cert = spec["certificate"]
    cert_arn = f"arn:aws:acm:{region}:{ACCOUNT}:certificate/edge-1"
    not_after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=300)  # noqa: UP017
    acm["certificates"] = {
        cert_arn: {
            "CertificateArn": cert_arn,
            "DomainName": cert["domains"][0],
            "SubjectAlternativeNames": list(cert["domains"]),
            "Status": "ISSUED",
            "Type": "IMPORTED" if cert["validation"] == "import" else "AMAZON_ISSUED",
            "NotAfter": not_after,
            "Serial": "0c:2f:41",
            "InUseBy": [f"{arn_base}:loadbalancer/app/{spec['name']}/lb1"],
        }
    }
    acm["cert_tags"] = {cert_arn: dict(tags, Name=cert["name"])}

    elb["tags"] = {}
    elb["target_groups"] = []
    elb["tg_attributes"] = {}
    for index, want in enumerate(spec["target_groups"]):
        arn = f"{arn_base}:targetgroup/{want['name']}/tg{index}"
        hc = want["health_check"]
        elb["target_groups"].append(
            {
                "TargetGroupArn": arn,
                "TargetGroupName": want["name"],
                "Protocol": want["protocol"],
                "ProtocolVersion": "HTTP1",
                "Port": want["port"],
                "VpcId": spec["vpc_id"],
                "TargetType": want["target_type"],
                "HealthCheckEnabled": True,
                "HealthCheckProtocol": hc["protocol"],
                "HealthCheckPort": hc["port"],
                "HealthCheckPath": hc["path"],
                "HealthCheckIntervalSeconds": hc["interval"],
                "HealthCheckTimeoutSeconds": hc["timeout"],
                "HealthyThresholdCount": hc["healthy"],
                "UnhealthyThresholdCount": hc["unhealthy"],
                "Matcher": {"HttpCode": hc["matcher"]},
                "LoadBalancerArns": [f"{arn_base}:loadbalancer/app/{spec['name']}/lb1"],
            }
        )
        elb["tg_attributes"][arn] = {
            "deregistration_delay.timeout_seconds": str(want["deregistration_delay"]),
            "stickiness.enabled": "false",
        }
        elb["tags"][arn] = dict(tags)
    tg_arns = {tg["TargetGroupName"]: tg["TargetGroupArn"] for tg in elb["target_groups"]}

    lb_arn = f"{arn_base}:loadbalancer/app/{spec['name']}/lb1"
    elb["load_balancers"] = [
        {
            "LoadBalancerArn": lb_arn,
            "LoadBalancerName": spec["name"],
            "DNSName": f"{spec['name']}-1234567890.{region}.elb.amazonaws.com",
            "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
            "Scheme": spec["scheme"],
            "VpcId": spec["vpc_id"],
            "State": {"Code": "active"},
            "Type": "application",
            "IpAddressType": "ipv4",
            "SecurityGroups": list(spec["security_groups"]),
            "AvailabilityZones": [
                {"ZoneName": f"{region}{z}", "SubnetId": s}
                for z, s in zip("abcdef", spec["subnets"], strict=False)
            ],
        }
    ]
    elb["tags"][lb_arn] = dict(tags)
    elb["lb_attributes"] = {
        lb_arn: {
            **{k: str(v) for k, v in spec["attributes"].items()},
            "load_balancing.cross_zone.enabled": "true",
            "routing.http.xff_header_processing.mode": "append",
        }
    }
    lst = spec["listeners"]
    http_arn = f"{arn_base}:listener/app/{spec['name']}/lb1/http"
    https_arn = f"{arn_base}:listener/app/{spec['name']}/lb1/https"
    elb["listeners"] = {
        lb_arn: [
            {
                "ListenerArn": http_arn,
                "LoadBalancerArn": lb_arn,
                "Port": lst["http_port"],
                "Protocol": "HTTP",
                "DefaultActions": [
                    {
                        "Type": "redirect",
                        "Order": 1,
                        "RedirectConfig": dict(HTTPS_REDIRECT, Port=str(lst["https_port"])),
                    }
                ],
            },
            {
                "ListenerArn": https_arn,
                "LoadBalancerArn": lb_arn,
                "Port": lst["https_port"],
                "Protocol": "HTTPS",
                "SslPolicy": lst["ssl_policy"],
                "Certificates": [{"CertificateArn": cert_arn}],
                "DefaultActions": [
                    {
                        "Type": "fixed-response",
                        "Order": 1,
                        "FixedResponseConfig": dict(DEFAULT_RESPONSE),
                    }
                ],
            },
        ]
    }
    rules = [
        {
            "RuleArn": f"{https_arn}/default",
            "Priority": "default",
            "IsDefault": True,
            "Conditions": [],
            "Actions": [{"Type": "fixed-response", "FixedResponseConfig": dict(DEFAULT_RESPONSE)}],
        }
    ]
    for want in spec["target_groups"]:
        arn = tg_arns[want["name"]]
        rules.append(
            {
                "RuleArn": f"{https_arn}/rule-{want['priority']}",
                "Priority": str(want["priority"]),
                "IsDefault": False,
                # AWS answers both the legacy Values and HostHeaderConfig.
                "Conditions": [
                    {
                        "Field": "host-header",
                        "Values": list(want["hosts"]),
                        "HostHeaderConfig": {"Values": list(want["hosts"])},
                    }
                ],
                "Actions": [
                    {
                        "Type": "forward",
                        "Order": 1,
                        "TargetGroupArn": arn,
                        "ForwardConfig": {
                            "TargetGroups": [{"TargetGroupArn": arn, "Weight": 1}],
                            "TargetGroupStickinessConfig": {"Enabled": False},
                        },
                    }
                ],
            }
        )
    elb["rules"] = {https_arn: rules}
    if spec.get("waf"):
        _waf(world, spec, lb_arn)
    return world


def _waf(world, spec, lb_arn):
    region = spec["region"]
    waf = spec["waf"]
    d = world.data.setdefault(("wafv2", region), {})
    acl_arn = f"arn:aws:wafv2:{region}:{ACCOUNT}:regional/webacl/{waf['name']}/acl-1"
    d["web_acls"] = {
        "acl-1": {
            "Name": waf["name"],
            "Id": "acl-1",
            "ARN": acl_arn,
            "DefaultAction": {"Allow": {}},
            "Description": "the load balancer's web ACL",
            # AWS answers what was sent, and a few fields of its own.
            "Rules": [dict(r, RuleLabels=[]) for r in waf_rules(waf)],
            "VisibilityConfig": {
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": waf["name"],
            },
            "Capacity": 1103,
            "ManagedByFirewallManager": False,
            "LabelNamespace": f"awswaf:{ACCOUNT}:webacl:{waf['name']}:",
        }
    }
    d["tags"] = {acl_arn: dict(spec["tags"])}
    d["associations"] = {lb_arn: acl_arn}
    d["logging"] = {
        acl_arn: {
            "ResourceArn": acl_arn,
            "LogDestinationConfigs": [
                f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{waf['log_group']}"
            ],
            "RedactedFields": [{"SingleHeader": {"Name": h}} for h in waf["redacted_headers"]],
            "ManagedByFirewallManager": False,
        }
    }
    logs = world.data.setdefault(("logs", region), {})
    logs.setdefault("groups", []).append(
        {
            "logGroupName": waf["log_group"],
            "arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{waf['log_group']}:*",
            "retentionInDays": waf["log_retention_days"],
        }
    )
    logs.setdefault("group_tags", {})[waf["log_group"]] = dict(spec["tags"])

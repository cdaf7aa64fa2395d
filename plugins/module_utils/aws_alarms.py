# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alarms layer (roles/aws_alarms): CloudWatch metric alarms on the managed services and
the engine instances, and one KMS-encrypted SNS topic per severity that they notify.

Three parts, each unit-tested (tests/unit/plugins/test_aws_alarms.py):

* ``CATALOGUE``: what each alarm rule watches (namespace, metric, statistic, comparison, the
  dimension and the layer whose outputs name the resources; the load balancers' and target
  groups' dimensions come from the edge layers' ARNs). The thresholds, severities and
  periods are the role's data (``aws_alarms_rules``, seeds/000 and seeds/003), checked by
  ``rule_problems`` and turned into alarms by ``build_spec`` (the filter aws_alarms_spec).
* ``alarms_state(clients, spec)``: the layer's describe function for aws_layer_state (read
  calls only): the topics (attributes, tags, subscriptions), the alarms in batches (one
  DescribeAlarms by name prefix per region, their tags), and whether the data key lets
  CloudWatch publish to an encrypted topic. Returns ``(differences, outputs)``; the outputs
  name the topics by severity, which the backup layer's alarms notify too (roles/aws_backup,
  aws_backup_alarm_severity).
* the helpers the modules aws_sns_topic and aws_metric_alarms share with it.

The spec (``build_spec``)::

    {"tags": {...}, "prefix": "tradeops-lab",
     "owned": ["tradeops-lab-rds-", ...],          # alarm name prefixes this layer owns
     "regions": [{"region": ...,
                  "topics": [{"severity", "name", "arn", "key_arn", "display_name",
                              "subscriptions": [{"protocol", "endpoint" or "secret"}]}],
                  "alarms": [{"key", "name", "severity", "namespace", "metric", "dimensions",
                              "statistic", "comparison", "threshold", "period",
                              "evaluation_periods", "datapoints_to_alarm",
                              "treat_missing_data", "actions", "description"}]}]}
"""

from __future__ import annotations

import json
import re
from collections import namedtuple

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - reported by AnsibleAWSModule
    ClientError = Exception

from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import (
    alarm_differences,
    error_code,
    tag_changes,
)

SEVERITIES = ("critical", "warning")
PROTOCOLS = ("email", "https")
MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
SETTINGS = (
    "severity",
    "threshold",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "treat_missing_data",
    "enabled",
)
DOCS = "docs/aws.md#alarms"
# DescribeAlarms takes at most 100 names; DeleteAlarms 100 as well.
BATCH = 100
TOPIC_SUFFIX = "-alarms-"
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")

# source: which layer's outputs name the resources (targets()); family: the alarm name's
# part after the prefix (the layer owns <prefix>-<family>-*); what: the name's last part.
Rule = namedtuple(
    "Rule", "source family what namespace metric statistic comparison dimension scale unit summary"
)

CATALOGUE = {
    "rds-cpu": Rule(
        "rds", "rds", "cpu", "AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold",
        "DBInstanceIdentifier", 1, "%", "CPU",
    ),
    "rds-free-storage": Rule(
        "rds", "rds", "free-storage", "AWS/RDS", "FreeStorageSpace", "Minimum",
        "LessThanThreshold", "DBInstanceIdentifier", 2**30, " GiB", "free storage",
    ),
    "rds-connections": Rule(
        "rds", "rds", "connections", "AWS/RDS", "DatabaseConnections", "Maximum",
        "GreaterThanThreshold", "DBInstanceIdentifier", 1, "", "connections",
    ),
    "rds-replica-lag": Rule(
        "rds-replicas", "rds", "lag", "AWS/RDS", "ReplicaLag", "Maximum",
        "GreaterThanThreshold", "DBInstanceIdentifier", 1, " s", "replica lag",
    ),
    "rds-replica-lag-critical": Rule(
        "rds-replicas", "rds", "lag-critical", "AWS/RDS", "ReplicaLag", "Maximum",
        "GreaterThanThreshold", "DBInstanceIdentifier", 1, " s", "replica lag",
    ),
    "redis-cpu": Rule(
        "elasticache", "redis", "cpu", "AWS/ElastiCache", "EngineCPUUtilization", "Average",
        "GreaterThanThreshold", "CacheClusterId", 1, "%", "engine CPU",
    ),
    "redis-memory": Rule(
        "elasticache", "redis", "memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage",
        "Average", "GreaterThanThreshold", "CacheClusterId", 1, "%", "memory used",
    ),
    "redis-evictions": Rule(
        "elasticache", "redis", "evictions", "AWS/ElastiCache", "Evictions", "Sum",
        "GreaterThanThreshold", "CacheClusterId", 1, " keys", "evictions",
    ),
    "redis-replication-lag": Rule(
        "elasticache", "redis", "replication-lag", "AWS/ElastiCache", "ReplicationLag",
        "Maximum", "GreaterThanThreshold", "CacheClusterId", 1, " s", "replication lag",
    ),
    "kinesis-iterator-age": Rule(
        "kinesis", "kinesis", "iterator-age", "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds",
        "Maximum", "GreaterThanThreshold", "StreamName", 1000, " s", "consumer iterator age",
    ),
    "kinesis-write-throttled": Rule(
        "kinesis", "kinesis", "write-throttled", "AWS/Kinesis",
        "WriteProvisionedThroughputExceeded", "Sum", "GreaterThanThreshold", "StreamName", 1,
        " records", "throttled writes",
    ),
    "ec2-status-check": Rule(
        "engines", "ec2", "status-check", "AWS/EC2", "StatusCheckFailed", "Maximum",
        "GreaterThanOrEqualToThreshold", "InstanceId", 1, "", "status check failures",
    ),
    # The edge layers' load balancers (edge, edge-dr): the 5xx the load balancer answers
    # itself (no target, a target timing out) and those its targets answer, per load
    # balancer; per target group (dimensions TargetGroup and LoadBalancer, as CloudWatch
    # publishes the target-health metrics), targets failing their health check and no
    # healthy target at all (the service is down in that region).
    "alb-5xx": Rule(
        "alb", "alb", "5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum",
        "GreaterThanThreshold", "LoadBalancer", 1, " responses",
        "5xx answered by the load balancer",
    ),
    "alb-target-5xx": Rule(
        "alb", "alb", "target-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum",
        "GreaterThanThreshold", "LoadBalancer", 1, " responses", "5xx answered by the targets",
    ),
    "alb-unhealthy-targets": Rule(
        "alb-target-groups", "alb", "unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount",
        "Maximum", "GreaterThanOrEqualToThreshold", "TargetGroup", 1, " targets",
        "unhealthy targets",
    ),
    "alb-no-healthy-targets": Rule(
        "alb-target-groups", "alb", "no-healthy", "AWS/ApplicationELB", "HealthyHostCount",
        "Minimum", "LessThanThreshold", "TargetGroup", 1, " targets", "healthy targets",
    ),
}  # fmt: skip
FAMILIES = tuple(dict.fromkeys(rule.family for rule in CATALOGUE.values()))
_OPERATORS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


# --------------------------------------------------------------------------- names
def partition(region):
    """The ARN partition of a region."""
    if str(region).startswith("cn-"):
        return "aws-cn"
    if str(region).startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def topic_name(prefix, severity):
    """The SNS topic of one severity: <prefix>-alarms-<severity> (the same name in every
    region the layer builds in)."""
    return f"{prefix}{TOPIC_SUFFIX}{severity}"


def topic_arn(region, account_id, name):
    return f"arn:{partition(region)}:sns:{region}:{account_id}:{name}"


# --------------------------------------------------------------------------- inputs
def _number(value):
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _integer(value):
    number = _number(value)
    if number is None or number != int(number):
        return None
    return int(number)


def merged_rules(rules, overrides=None):
    """The role's rules with the inventory's per-rule overrides laid over them."""
    out = {}
    for key, settings in (rules or {}).items():
        out[key] = dict(settings or {})
    for key, settings in (overrides or {}).items():
        out[key] = {**out.get(key, {}), **(settings or {})}
    return out


def rule_problems(rules, severities=SEVERITIES):
    """What is wrong with the alarm rules (aws_alarms_rules merged with its overrides), one
    problem per line: every rule of the catalogue named, each with its settings, a severity
    that has a topic, a number as threshold, a period CloudWatch accepts and an evaluation
    range it can keep."""
    out = []
    if not isinstance(rules, dict):
        return [f"aws_alarms_rules must be a mapping of rule name to settings, got {rules!r}"]
    for key in sorted(set(rules) - set(CATALOGUE)):
        out.append(f"{key}: not an alarm rule (the rules: {', '.join(CATALOGUE)})")
    for key in CATALOGUE:
        if key not in rules:
            out.append(f"{key}: missing (set enabled: false to switch a rule off)")
            continue
        settings = rules[key]
        if not isinstance(settings, dict):
            out.append(f"{key}: the settings must be a mapping, got {settings!r}")
            continue
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            out.append(f"{key}: unknown settings {unknown} (the settings: {', '.join(SETTINGS)})")
        missing = [s for s in SETTINGS if s not in settings and s != "enabled"]
        if missing:
            out.append(f"{key}: missing {', '.join(missing)}")
            continue
        out.extend(_settings_problems(key, settings, severities))
    return out


def _settings_problems(key, settings, severities):
    out = []
    if not isinstance(settings.get("enabled", True), bool):
        out.append(f"{key}: enabled must be true or false, got {settings['enabled']!r}")
    if settings["severity"] not in severities:
        out.append(
            f"{key}: severity {settings['severity']!r} has no topic (aws_alarms_severities:"
            f" {', '.join(severities)})"
        )
    threshold = _number(settings["threshold"])
    if threshold is None or threshold < 0:
        out.append(f"{key}: threshold must be a number of 0 or more, got {settings['threshold']!r}")
    period = _integer(settings["period"])
    evaluations = _integer(settings["evaluation_periods"])
    datapoints = _integer(settings["datapoints_to_alarm"])
    if period is None or not (period in (10, 20, 30) or (period >= 60 and period % 60 == 0)):
        out.append(
            f"{key}: period must be 10, 20, 30 or a multiple of 60 seconds, got"
            f" {settings['period']!r}"
        )
    if evaluations is None or evaluations < 1:
        out.append(
            f"{key}: evaluation_periods must be 1 or more, got {settings['evaluation_periods']!r}"
        )
    elif datapoints is None or not 1 <= datapoints <= evaluations:
        out.append(
            f"{key}: datapoints_to_alarm must be 1 to evaluation_periods ({evaluations}), got"
            f" {settings['datapoints_to_alarm']!r}"
        )
    if period and evaluations:
        limit = 7 * 86400 if period >= 3600 else 86400
        if period * evaluations > limit:
            out.append(
                f"{key}: period x evaluation_periods is {period * evaluations} s; CloudWatch"
                f" evaluates at most {limit} s ({'7 days' if limit > 86400 else 'a day'}) at this"
                " period"
            )
    if settings["treat_missing_data"] not in MISSING_DATA:
        out.append(
            f"{key}: treat_missing_data must be one of {', '.join(MISSING_DATA)}, got"
            f" {settings['treat_missing_data']!r}"
        )
    return out


def subscription_problems(subscriptions, severities=SEVERITIES):
    """What is wrong with aws_alarms_subscriptions ({severity: [{protocol, endpoint |
    endpoint_secret}]}), one problem per line."""
    out = []
    if subscriptions in (None, ""):
        return out
    if not isinstance(subscriptions, dict):
        return [f"aws_alarms_subscriptions must map a severity to a list, got {subscriptions!r}"]
    for severity, entries in subscriptions.items():
        if severity not in severities:
            out.append(
                f"{severity}: not a severity (aws_alarms_severities: {', '.join(severities)})"
            )
            continue
        if not isinstance(entries, list):
            out.append(f"{severity}: a list of subscriptions, got {entries!r}")
            continue
        seen = set()
        for n, entry in enumerate(entries, 1):
            where = f"{severity} #{n}"
            if not isinstance(entry, dict):
                out.append(f"{where}: a mapping {{protocol, endpoint}}, got {entry!r}")
                continue
            protocol = entry.get("protocol")
            if protocol not in PROTOCOLS:
                out.append(f"{where}: protocol must be {' or '.join(PROTOCOLS)}, got {protocol!r}")
            unknown = sorted(set(entry) - {"protocol", "endpoint", "endpoint_secret"})
            if unknown:
                out.append(f"{where}: unknown keys {unknown}")
            has_endpoint, has_secret = (
                bool(entry.get("endpoint")),
                bool(entry.get("endpoint_secret")),
            )
            if has_endpoint == has_secret:
                out.append(
                    f"{where}: give exactly one of endpoint (the address itself) and"
                    " endpoint_secret (a Secrets Manager secret holding it)"
                )
                continue
            if has_secret and not _SECRET_NAME.match(str(entry["endpoint_secret"])):
                out.append(
                    f"{where}: endpoint_secret is not a secret name: {entry['endpoint_secret']!r}"
                )
            if has_endpoint:
                endpoint = str(entry["endpoint"])
                if protocol == "https" and not endpoint.startswith("https://"):
                    out.append(f"{where}: an https endpoint starts with https://")
                if protocol == "email" and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", endpoint):
                    out.append(f"{where}: not an email address")
            ident = (
                protocol,
                entry.get("endpoint") or "secret:" + str(entry.get("endpoint_secret")),
            )
            if ident in seen:
                out.append(f"{where}: listed twice")
            seen.add(ident)
    return out


def input_problems(rules, overrides, severities, subscriptions, prefix):
    """Every problem of the layer's inputs (the role's preflight)."""
    out = []
    if not isinstance(severities, list) or not severities:
        out.append(f"aws_alarms_severities must list at least one severity, got {severities!r}")
        severities = list(SEVERITIES)
    for severity in severities:
        if not isinstance(severity, str) or not re.match(r"^[a-z0-9-]{1,32}$", severity):
            out.append(f"aws_alarms_severities: {severity!r} is not a name (a-z, 0-9, -)")
    if len(set(map(str, severities))) != len(severities):
        out.append(f"aws_alarms_severities lists a severity twice: {severities}")
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        out.append(f"aws_alarms_prefix must be 1 to 64 letters, digits, - or _, got {prefix!r}")
    if overrides not in (None, "") and not isinstance(overrides, dict):
        out.append(f"aws_alarms_rule_overrides must be a mapping, got {overrides!r}")
        overrides = {}
    for key in sorted(set(overrides or {}) - set(CATALOGUE)):
        out.append(f"aws_alarms_rule_overrides: {key} is not an alarm rule")
    if not isinstance(rules, dict):
        out.append(f"aws_alarms_rules must be a mapping of rule name to settings, got {rules!r}")
    else:
        overrides = {k: v for k, v in (overrides or {}).items() if k in CATALOGUE}
        out.extend(
            f"aws_alarms_rules {p}"
            for p in rule_problems(merged_rules(rules, overrides), severities)
        )
    out.extend(
        f"aws_alarms_subscriptions {p}" for p in subscription_problems(subscriptions, severities)
    )
    return out


# --------------------------------------------------------------------------- the spec
def targets(source, outputs, home_region):
    """The resources a rule's source names in the other layers' outputs: a list of
    {label, value (the dimension's value), region}. A layer not built (no outputs) names
    none."""
    outputs = outputs or {}
    out = []
    if source == "rds":
        primary = (outputs.get("rds") or {}).get("primary") or {}
        if primary.get("identifier"):
            out.append({"label": "", "value": primary["identifier"], "region": home_region})
    elif source == "rds-replicas":
        for key, replica in sorted(((outputs.get("rds") or {}).get("replicas") or {}).items()):
            out.append(
                {
                    "label": key,
                    "value": replica["identifier"],
                    "region": replica.get("region") or home_region,
                }
            )
    elif source == "elasticache":
        redis = outputs.get("elasticache") or {}
        group = str(redis.get("replication_group_id") or "")
        for member in sorted(redis.get("members") or []):
            label = member[len(group) + 1 :] if group and member.startswith(group + "-") else member
            out.append({"label": label, "value": member, "region": home_region})
    elif source == "kinesis":
        for key, stream in sorted(((outputs.get("kinesis") or {}).get("streams") or {}).items()):
            out.append({"label": key, "value": stream["name"], "region": home_region})
    elif source == "engines":
        for layer in ("fleet", "fleet-dr"):
            fleet = outputs.get(layer) or {}
            for name, inst in sorted((fleet.get("instances") or {}).items()):
                out.append(
                    {
                        "label": name,
                        "value": inst["id"],
                        "region": fleet.get("region") or home_region,
                    }
                )
    elif source in ("alb", "alb-target-groups"):
        out.extend(_alb_targets(source, outputs, home_region))
    else:
        raise ValueError(f"unknown alarm source {source!r}")
    return out


def load_balancer_dimension(arn):
    """CloudWatch's LoadBalancer dimension of an ALB: its ARN's resource after
    'loadbalancer/' (app/<name>/<id>); '' for anything else."""
    match = re.match(
        r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:loadbalancer/(app/[^/]+/[^/]+)$",
        str(arn or ""),
    )
    return match.group(1) if match else ""


def target_group_dimension(arn):
    """CloudWatch's TargetGroup dimension: the ARN's resource (targetgroup/<name>/<id>)."""
    match = re.match(
        r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:(targetgroup/[^/]+/[^/]+)$", str(arn or "")
    )
    return match.group(1) if match else ""


def _alb_targets(source, outputs, home_region):
    """The load balancers of the edge layers (edge: no label; edge-dr: 'dr'), or their target
    groups (label <service key>, dr-<service key>), each with its CloudWatch dimensions."""
    out = []
    for layer, label in (("edge", ""), ("edge-dr", "dr")):
        edge = outputs.get(layer) or {}
        lb = load_balancer_dimension((edge.get("load_balancer") or {}).get("arn"))
        if not lb:
            continue
        region = edge.get("region") or home_region
        if source == "alb":
            out.append(
                {"label": label, "value": lb, "region": region, "dimensions": {"LoadBalancer": lb}}
            )
            continue
        for key, group in sorted((edge.get("target_groups") or {}).items()):
            tg = target_group_dimension(group.get("arn"))
            if tg:
                out.append(
                    {
                        "label": f"{label}-{key}" if label else key,
                        "value": f"{tg} of {lb}",
                        "region": region,
                        "dimensions": {"TargetGroup": tg, "LoadBalancer": lb},
                    }
                )
    return out


def _format(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def alarm_for(key, settings, target, prefix, actions):
    """One alarm of one rule on one resource, in the spec's format."""
    rule = CATALOGUE[key]
    parts = [prefix, rule.family] + ([target["label"]] if target["label"] else []) + [rule.what]
    threshold = float(settings["threshold"])
    period = int(settings["period"])
    evaluations = int(settings["evaluation_periods"])
    datapoints = int(settings["datapoints_to_alarm"])
    where = f"{target['value']} ({target['region']})"
    window = (
        f"{datapoints} of {evaluations} periods of {period} s"
        if datapoints != evaluations
        else f"{evaluations} x {period} s"
    )
    return {
        "key": key,
        "name": "-".join(parts),
        "severity": settings["severity"],
        "namespace": rule.namespace,
        "metric": rule.metric,
        "dimensions": dict(target.get("dimensions") or {rule.dimension: target["value"]}),
        "statistic": rule.statistic,
        "comparison": rule.comparison,
        "threshold": threshold * rule.scale,
        "period": period,
        "evaluation_periods": evaluations,
        "datapoints_to_alarm": datapoints,
        "treat_missing_data": settings["treat_missing_data"],
        "actions": list(actions),
        "description": (
            f"{settings['severity'].upper()}: {rule.summary} of {where},"
            f" {rule.statistic.lower()} {_OPERATORS[rule.comparison]}"
            f" {_format(threshold)}{rule.unit} in {window} ({key}; {DOCS})"
        ),
    }


def build_spec(
    rules,
    *,
    prefix,
    account_id,
    region,
    dr_region="",
    keys=None,
    severities=SEVERITIES,
    subscriptions=None,
    sources=None,
    tags=None,
    overrides=None,
):
    """The alarms layer's spec from its inputs and the other layers' outputs.

    The layer builds in `region` and, when dr_region is set, there as well: a topic per
    severity in each, encrypted with that region's data key (keys: {region: key ARN}), and
    the alarms of the resources each region holds (the DR replica, the DR engines). An alarm
    notifies its severity's topic of its own region on ALARM and on OK (CloudWatch takes
    only a topic of the alarm's region). keys: {region: key ARN} or the security layer's
    kms_keys.data. Raises ValueError on a bad input (the preflight reports the same problems
    first)."""
    severities = list(severities or SEVERITIES)
    rules = merged_rules(rules, overrides)
    problems = rule_problems(rules, severities) + subscription_problems(subscriptions, severities)
    if problems:
        raise ValueError("; ".join(problems))
    regions = [region] + ([dr_region] if dr_region and dr_region != region else [])
    # {region: ARN}, or the security layer's kms_keys.data ({region: {arn, id, alias}}).
    keys = {r: k.get("arn", "") if isinstance(k, dict) else k for r, k in (keys or {}).items()}
    missing = [r for r in regions if not keys.get(r)]
    if missing:
        raise ValueError(f"no data key for the alarm topics in {', '.join(missing)}")
    subscriptions = subscriptions or {}
    by_region = {}
    for where in regions:
        topics = []
        for severity in severities:
            name = topic_name(prefix, severity)
            if not _TOPIC_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid SNS topic name")
            topics.append(
                {
                    "severity": severity,
                    "name": name,
                    "arn": topic_arn(where, account_id, name),
                    "key_arn": keys[where],
                    "display_name": f"{prefix} {severity} alarms"[:100],
                    "subscriptions": [
                        {"protocol": s["protocol"], "secret": s["endpoint_secret"]}
                        if s.get("endpoint_secret")
                        else {"protocol": s["protocol"], "endpoint": s["endpoint"]}
                        for s in subscriptions.get(severity) or []
                    ],
                }
            )
        by_region[where] = {"region": where, "topics": topics, "alarms": []}
    for key, rule in CATALOGUE.items():
        settings = rules[key]
        if not settings.get("enabled", True):
            continue
        for target in targets(rule.source, sources, region):
            if target["region"] not in by_region:
                continue  # a DR resource while the layer builds in one region only
            topic = next(
                t
                for t in by_region[target["region"]]["topics"]
                if t["severity"] == settings["severity"]
            )
            by_region[target["region"]]["alarms"].append(
                alarm_for(key, settings, target, prefix, [topic["arn"]])
            )
    names = [a["name"] for r in by_region.values() for a in r["alarms"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"alarm names given twice: {', '.join(twice)}")
    return {
        "tags": dict(tags or {}),
        "prefix": prefix,
        "owned": [f"{prefix}-{family}-" for family in FAMILIES],
        "regions": [by_region[r] for r in regions],
    }


# --------------------------------------------------------------------------- describe
def owned(name, prefixes):
    return any(name.startswith(p) for p in prefixes or [])


def describe_alarms(cloudwatch, names=(), prefixes=()):
    """{name: MetricAlarms entry} of the named alarms and of every alarm under the
    prefixes: one paginated DescribeAlarms per prefix, then the names not under one, 100 at
    a time."""
    found = {}
    for prefix in prefixes:
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
        )
        for page in pages:
            for alarm in page.get("MetricAlarms", []):
                found[alarm["AlarmName"]] = alarm
    rest = [n for n in dict.fromkeys(names) if not owned(n, prefixes)]
    for start in range(0, len(rest), BATCH):
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=rest[start : start + BATCH], AlarmTypes=["MetricAlarm"]
        )
        for page in pages:
            for alarm in page.get("MetricAlarms", []):
                found[alarm["AlarmName"]] = alarm
    return found


def alarm_tags(cloudwatch, arn):
    return {
        t["Key"]: t["Value"]
        for t in cloudwatch.list_tags_for_resource(ResourceARN=arn).get("Tags", [])
    }


def put_alarm_args(want):
    """PutMetricAlarm's arguments for a spec entry (tags apart)."""
    return dict(
        AlarmName=want["name"],
        AlarmDescription=want["description"],
        ActionsEnabled=True,
        AlarmActions=list(want["actions"]),
        OKActions=list(want["actions"]),
        Namespace=want["namespace"],
        MetricName=want["metric"],
        Dimensions=[{"Name": str(k), "Value": str(v)} for k, v in want["dimensions"].items()],
        Statistic=want["statistic"],
        ComparisonOperator=want["comparison"],
        Threshold=float(want["threshold"]),
        Period=int(want["period"]),
        EvaluationPeriods=int(want["evaluation_periods"]),
        DatapointsToAlarm=int(want["datapoints_to_alarm"]),
        TreatMissingData=want["treat_missing_data"],
    )


def topic_attributes(sns, arn):
    """GetTopicAttributes' Attributes, or None when the topic does not exist."""
    try:
        return sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    except ClientError as err:
        if error_code(err) in ("NotFound", "NotFoundException", "ResourceNotFound"):
            return None
        raise


def topic_tags(sns, arn):
    return {
        t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
    }


def topic_subscriptions(sns, arn):
    """The topic's subscriptions: [{protocol, endpoint, arn, pending}]."""
    out = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn):
        for sub in page.get("Subscriptions", []):
            sub_arn = sub.get("SubscriptionArn", "")
            out.append(
                {
                    "protocol": sub.get("Protocol"),
                    "endpoint": sub.get("Endpoint"),
                    "arn": sub_arn,
                    "pending": not sub_arn.startswith("arn:"),
                }
            )
    return out


def shown(protocol, endpoint):
    """An endpoint as a message may show it: an https URL only up to its host (it may carry
    an integration key), an email address whole."""
    if protocol in ("http", "https"):
        match = re.match(r"^(https?://[^/?#]+)", str(endpoint or ""))
        return (match.group(1) + "/...") if match else "(an URL)"
    return str(endpoint)


def subscription_changes(want, got):
    """(to_add, to_remove): wanted [(protocol, endpoint)] missing from the topic's
    subscriptions, and confirmed subscriptions the topic should not have (a pending one
    cannot be removed: SNS drops it when it is not confirmed)."""
    wanted = {(w["protocol"], w["endpoint"]) for w in want}
    have = {(g["protocol"], g["endpoint"]) for g in got}
    to_add = sorted(wanted - have)
    to_remove = [
        g for g in got if (g["protocol"], g["endpoint"]) not in wanted and not g["pending"]
    ]
    return to_add, to_remove


def key_allows_cloudwatch(policy_text):
    """Whether a KMS key policy lets CloudWatch (alarms) use the key for an encrypted SNS
    topic: an Allow for the service principal cloudwatch.amazonaws.com with kms:Decrypt and
    kms:GenerateDataKey* (or kms:*). Without it AWS drops the alarms' notifications."""
    try:
        policy = json.loads(policy_text) if isinstance(policy_text, str) else policy_text or {}
    except ValueError:
        return False
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    granted = set()
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal") or {}
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if isinstance(services, str):
            services = [services]
        if "cloudwatch.amazonaws.com" not in services:
            continue
        actions = st.get("Action") or []
        if isinstance(actions, str):
            actions = [actions]
        for action in actions:
            if action in ("kms:*", "*"):
                granted |= {"decrypt", "generate"}
            elif action == "kms:Decrypt":
                granted.add("decrypt")
            elif action in ("kms:GenerateDataKey*", "kms:GenerateDataKey"):
                granted.add("generate")
    return granted == {"decrypt", "generate"}


def _topic_state(clients, where, topic, tags, resolve, differences):
    """Compare one topic; its outputs entry or None when it does not exist."""
    sns = clients("sns", where)
    label = f"topic {topic['name']} ({where})"
    attrs = topic_attributes(sns, topic["arn"])
    if attrs is None:
        differences.append(f"{label} does not exist")
        return None
    if attrs.get("KmsMasterKeyId", "") != topic["key_arn"]:
        differences.append(
            f"{label}: encrypted with {attrs.get('KmsMasterKeyId') or 'nothing'},"
            f" want {topic['key_arn']}"
        )
    if attrs.get("DisplayName", "") != topic["display_name"]:
        differences.append(
            f"{label}: display name is {attrs.get('DisplayName', '')!r},"
            f" want {topic['display_name']!r}"
        )
    to_set, to_remove = tag_changes(topic_tags(sns, topic["arn"]), tags, purge=True)
    if to_set or to_remove:
        differences.append(f"{label}: tags differ (to set {to_set}, to remove {to_remove})")
    want = [
        {
            "protocol": s["protocol"],
            "endpoint": s["endpoint"] if "endpoint" in s else resolve(s["secret"]),
        }
        for s in topic["subscriptions"]
    ]
    got = topic_subscriptions(sns, topic["arn"])
    to_add, to_remove = subscription_changes(want, got)
    for protocol, endpoint in to_add:
        differences.append(f"{label}: no {protocol} subscription to {shown(protocol, endpoint)}")
    for sub in to_remove:
        differences.append(
            f"{label}: {sub['protocol']} subscription to {shown(sub['protocol'], sub['endpoint'])}"
            " is not in the spec"
        )
    return {
        "name": topic["name"],
        "arn": topic["arn"],
        "subscriptions": len(want),
        "pending": sum(1 for g in got if g["pending"]),
    }


def alarms_state(clients, spec):
    """Describe the alarms layer and compare it with its spec (module docstring)."""
    differences = []
    tags = spec["tags"]
    home = spec["regions"][0]["region"]
    outputs = {
        "region": home,
        "topics": {},
        "dr_region": "",
        "dr_topics": {},
        "alarms": [],
        "dr_alarms": [],
        "alarm_count": 0,
        "cloudwatch_can_publish": {},
    }
    cache = {}

    def resolve(secret):
        # An endpoint kept in Secrets Manager (it may carry an integration key): read here to
        # compare, never returned or put in a message (shown()).
        if secret not in cache:
            answer = clients("secretsmanager", home).get_secret_value(SecretId=secret)
            cache[secret] = (answer.get("SecretString") or "").strip()
        return cache[secret]

    for entry in spec["regions"]:
        where = entry["region"]
        dr = where != home
        if dr:
            outputs["dr_region"] = where
        for topic in entry["topics"]:
            got = _topic_state(clients, where, topic, tags, resolve, differences)
            if got:
                outputs["dr_topics" if dr else "topics"][topic["severity"]] = got["arn"]
        key_arn = entry["topics"][0]["key_arn"] if entry["topics"] else ""
        if key_arn:
            policy = clients("kms", where).get_key_policy(KeyId=key_arn, PolicyName="default")
            outputs["cloudwatch_can_publish"][where] = key_allows_cloudwatch(policy.get("Policy"))

        cloudwatch = clients("cloudwatch", where)
        wanted = {a["name"]: a for a in entry["alarms"]}
        found = describe_alarms(cloudwatch, list(wanted), spec["owned"])
        for name, want in wanted.items():
            got = found.get(name)
            differences.extend(alarm_differences(want, got))
            if got:
                to_set, to_remove = tag_changes(
                    alarm_tags(cloudwatch, got["AlarmArn"]), tags, purge=True
                )
                if to_set or to_remove:
                    differences.append(
                        f"alarm {name}: tags differ (to set {to_set}, to remove {to_remove})"
                    )
                outputs["dr_alarms" if dr else "alarms"].append(name)
        for name in sorted(found):
            if owned(name, spec["owned"]) and name not in wanted:
                differences.append(
                    f"alarm {name} ({where}) is not in the spec (its resource is gone?)"
                )
    outputs["alarm_count"] = len(outputs["alarms"]) + len(outputs["dr_alarms"])
    return differences, outputs

"""The alarms layer (roles/aws_alarms): its rules and inputs, the spec it builds from the other
layers' outputs, its describe function (alarms_state) against fake AWS worlds, and its two
modules (aws_sns_topic, aws_metric_alarms) against moto in-process."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import boto3
import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.testing import patch_module_args
from ansible_collections.tradeops.platform.plugins.filter.aws_alarms import (
    FilterModule,
    aws_alarms_spec,
)
from ansible_collections.tradeops.platform.plugins.module_utils import aws_alarms
from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import (
    CATALOGUE,
    FAMILIES,
    alarms_state,
    build_spec,
    describe_alarms,
    input_problems,
    key_allows_cloudwatch,
    rule_problems,
    shown,
    subscription_changes,
    subscription_problems,
)
from ansible_collections.tradeops.platform.plugins.modules import aws_metric_alarms, aws_sns_topic
from botocore.exceptions import ClientError
from moto import mock_aws

from .aws_worlds import alarms_world, metric_alarm
from .docs import documented_options

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "aws_alarms"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
RULES = DEFAULTS["aws_alarms_rules"]
HOME, DR = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
KEYS = {r: f"arn:aws:kms:{r}:{ACCOUNT}:key/data-{r}" for r in (HOME, DR)}
TAGS = {"Environment": "lab", "Project": "tradeops", "ManagedBy": "ansible", "CostCenter": "lab"}
HOOK = "https://127.0.0.1:9/alarms"
# The other layers' outputs as the lab's moto leaves them (one Redis member, two replicas).
SOURCES = {
    "rds": {
        "primary": {"identifier": "tradeops-lab-pg"},
        "replicas": {
            "replica-1": {"identifier": "tradeops-lab-pg-replica-1", "region": HOME},
            "dr": {"identifier": "tradeops-lab-pg-dr", "region": DR},
        },
    },
    "elasticache": {"replication_group_id": "tradeops-lab", "members": ["tradeops-lab-001"]},
    "kinesis": {
        "streams": {
            "market-data": {"name": "tradeops-lab-market-data"},
            "order-events": {"name": "tradeops-lab-order-events"},
        }
    },
    "fleet": {
        "region": HOME,
        "instances": {"engine-c5n-1": {"id": "i-1"}, "engine-metal-1": {"id": "i-2"}},
    },
    "fleet-dr": {"region": DR, "instances": {"engine-west-1": {"id": "i-3"}}},
}
# The edge layers' outputs as roles/aws_edge saves them (edge.json, edge-dr.json): the ARNs
# moto and AWS give a load balancer and its target groups.
ELB = f"arn:aws:elasticloadbalancing:{{region}}:{ACCOUNT}"
EDGE = {
    "edge": {
        "region": HOME,
        "load_balancer": {
            "arn": f"{ELB.format(region=HOME)}:loadbalancer/app/tradeops-lab/50dc6c495c0c9188",
            "name": "tradeops-lab",
        },
        "target_groups": {
            "api": {
                "arn": f"{ELB.format(region=HOME)}:targetgroup/tradeops-lab-api/73e2d6bc24d8a067",
                "name": "tradeops-lab-api",
                "port": 7999,
            },
            "ws": {
                "arn": f"{ELB.format(region=HOME)}:targetgroup/tradeops-lab-ws/0f2e5d7c9a1b3c4d",
                "name": "tradeops-lab-ws",
                "port": 8080,
            },
        },
    },
    "edge-dr": {
        "region": DR,
        "load_balancer": {
            "arn": f"{ELB.format(region=DR)}:loadbalancer/app/tradeops-lab/6d0ecf831eec9f09",
            "name": "tradeops-lab",
        },
        "target_groups": {
            "api": {
                "arn": f"{ELB.format(region=DR)}:targetgroup/tradeops-lab-api/1a2b3c4d5e6f7a8b",
                "name": "tradeops-lab-api",
                "port": 7999,
            }
        },
    },
}
SUBSCRIPTIONS = {
    "critical": [{"protocol": "https", "endpoint_secret": "tradeops-lab/alarms/pager"}],
    "warning": [{"protocol": "https", "endpoint": HOOK}],
}


def spec(**change):
    args = dict(
        prefix="tradeops-lab",
        account_id=ACCOUNT,
        region=HOME,
        dr_region=DR,
        keys=KEYS,
        subscriptions=SUBSCRIPTIONS,
        sources=SOURCES,
        tags=TAGS,
    )
    args.update(change)
    rules = args.pop("rules", RULES)
    return build_spec(rules, **args)


def alarms_by_name(s):
    return {a["name"]: (r["region"], a) for r in s["regions"] for a in r["alarms"]}


# --------------------------------------------------------------------------- inputs
def test_the_role_and_the_inventories_pass_the_checks():
    for inventory in ("lab", "staging", "production"):
        path = ROOT / "inventories" / inventory / "group_vars" / "all" / "aws_alarms.yml"
        subs = yaml.safe_load(path.read_text())["aws_alarms_subscriptions"]
        assert input_problems(RULES, {}, ["critical", "warning"], subs, "tradeops-lab") == []
    assert set(RULES) == set(CATALOGUE), "the role's rules are the catalogue's"


def test_the_role_names_the_families_the_module_owns():
    variables = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert variables["__aws_alarms_families"] == list(FAMILIES)


def test_the_lab_subscribes_only_on_127_0_0_1():
    subs = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/aws_alarms.yml").read_text())
    endpoints = [
        s["endpoint"] for entries in subs["aws_alarms_subscriptions"].values() for s in entries
    ]
    assert endpoints and all(e.startswith("https://127.0.0.1:") for e in endpoints)


def test_production_keeps_keyed_endpoints_in_secrets_manager():
    path = ROOT / "inventories/production/group_vars/all/aws_alarms.yml"
    subs = yaml.safe_load(path.read_text())["aws_alarms_subscriptions"]
    assert subs["critical"] == [
        {"protocol": "https", "endpoint_secret": "tradeops/production/alarms/pagerduty-url"}
    ]
    assert set(subs) == {"critical", "warning"}


def _with(key, **settings):
    rules = copy.deepcopy(RULES)
    rules[key].update(settings)
    return rules


@pytest.mark.parametrize(
    ("rules", "needle"),
    [
        ({k: v for k, v in RULES.items() if k != "rds-cpu"}, "rds-cpu: missing (set enabled"),
        ({**RULES, "rds-iops": RULES["rds-cpu"]}, "rds-iops: not an alarm rule"),
        (_with("rds-cpu", colour="red"), "rds-cpu: unknown settings ['colour']"),
        (_with("rds-cpu", severity="info"), "severity 'info' has no topic"),
        (_with("rds-cpu", threshold=-1), "threshold must be a number of 0 or more"),
        (_with("rds-cpu", threshold="high"), "threshold must be a number"),
        (_with("rds-cpu", period=45), "period must be 10, 20, 30 or a multiple of 60"),
        (_with("rds-cpu", evaluation_periods=0), "evaluation_periods must be 1 or more"),
        (_with("rds-cpu", datapoints_to_alarm=4), "datapoints_to_alarm must be 1 to"),
        (_with("rds-cpu", evaluation_periods=300, datapoints_to_alarm=1), "at most 86400 s"),
        (_with("rds-cpu", period=3600, evaluation_periods=169, datapoints_to_alarm=1), "604800"),
        (_with("rds-cpu", treat_missing_data="zero"), "treat_missing_data must be one of"),
        (_with("rds-cpu", enabled="yes"), "enabled must be true or false"),
    ],
)
def test_a_bad_rule_is_named(rules, needle):
    problems = rule_problems(rules)
    assert any(needle in p for p in problems), problems


def test_an_hourly_rule_may_look_back_seven_days():
    assert rule_problems(_with("rds-cpu", period=3600, evaluation_periods=168)) == []


@pytest.mark.parametrize(
    ("subs", "needle"),
    [
        ({"info": []}, "info: not a severity"),
        ({"critical": "x"}, "a list of subscriptions"),
        ({"critical": [{"protocol": "sms", "endpoint": "+1555"}]}, "protocol must be email or"),
        ({"critical": [{"protocol": "https"}]}, "give exactly one of endpoint"),
        (
            {"critical": [{"protocol": "https", "endpoint": HOOK, "endpoint_secret": "s"}]},
            "give exactly one of endpoint",
        ),
        ({"critical": [{"protocol": "https", "endpoint": "http://x.invalid/"}]}, "starts with"),
        ({"critical": [{"protocol": "email", "endpoint": "oncall"}]}, "not an email address"),
        ({"critical": [{"protocol": "https", "endpoint_secret": "a b"}]}, "not a secret name"),
        ({"critical": [{"protocol": "https", "endpoint": HOOK, "url": 1}]}, "unknown keys"),
        ({"warning": [{"protocol": "https", "endpoint": HOOK}] * 2}, "listed twice"),
    ],
)
def test_a_bad_subscription_is_named(subs, needle):
    problems = subscription_problems(subs)
    assert any(needle in p for p in problems), problems


def test_severities_prefix_and_overrides_are_checked():
    problems = input_problems(RULES, {"rds-iops": {}}, [], {}, "bad prefix")
    assert any("aws_alarms_severities must list" in p for p in problems)
    assert any("aws_alarms_prefix must be" in p for p in problems)
    assert any("rds-iops is not an alarm rule" in p for p in problems)
    problems = input_problems(RULES, {}, ["critical", "critical", "Page Me"], {}, "p")
    assert any("lists a severity twice" in p for p in problems)
    assert any("'Page Me' is not a name" in p for p in problems)
    # An override is checked merged: moving a rule to a severity without a topic fails.
    problems = input_problems(RULES, {"rds-cpu": {"severity": "info"}}, ["warning"], {}, "p")
    assert any("aws_alarms_rules rds-cpu: severity 'info' has no topic" in p for p in problems)


# --------------------------------------------------------------------------- the spec
def test_every_watched_resource_gets_its_alarms_in_its_region():
    got = alarms_by_name(spec())
    expected_home = {
        "tradeops-lab-rds-cpu",
        "tradeops-lab-rds-free-storage",
        "tradeops-lab-rds-connections",
        "tradeops-lab-rds-replica-1-lag",
        "tradeops-lab-rds-replica-1-lag-critical",
        "tradeops-lab-redis-001-cpu",
        "tradeops-lab-redis-001-memory",
        "tradeops-lab-redis-001-evictions",
        "tradeops-lab-redis-001-replication-lag",
        "tradeops-lab-kinesis-market-data-iterator-age",
        "tradeops-lab-kinesis-market-data-write-throttled",
        "tradeops-lab-kinesis-order-events-iterator-age",
        "tradeops-lab-kinesis-order-events-write-throttled",
        "tradeops-lab-ec2-engine-c5n-1-status-check",
        "tradeops-lab-ec2-engine-metal-1-status-check",
    }
    expected_dr = {
        "tradeops-lab-rds-dr-lag",
        "tradeops-lab-rds-dr-lag-critical",
        "tradeops-lab-ec2-engine-west-1-status-check",
    }
    assert {n for n, where in got.items() if where[0] == HOME} == expected_home
    assert {n for n, where in got.items() if where[0] == DR} == expected_dr


def test_alarms_watch_the_right_metric_with_the_seeds_thresholds():
    got = alarms_by_name(spec())
    cpu = got["tradeops-lab-rds-cpu"][1]
    assert (cpu["namespace"], cpu["metric"], cpu["statistic"]) == (
        "AWS/RDS",
        "CPUUtilization",
        "Average",
    )
    assert cpu["dimensions"] == {"DBInstanceIdentifier": "tradeops-lab-pg"}
    assert (cpu["comparison"], cpu["threshold"], cpu["period"]) == ("GreaterThanThreshold", 80, 300)
    # Thresholds in the rule's unit, converted to the metric's: GiB to bytes, s to ms.
    storage = got["tradeops-lab-rds-free-storage"][1]
    assert (storage["comparison"], storage["threshold"]) == ("LessThanThreshold", 10 * 2**30)
    age = got["tradeops-lab-kinesis-market-data-iterator-age"][1]
    assert (age["metric"], age["threshold"]) == ("GetRecords.IteratorAgeMilliseconds", 60000)
    assert age["dimensions"] == {"StreamName": "tradeops-lab-market-data"}
    assert got["tradeops-lab-rds-connections"][1]["threshold"] == 800  # of max_connections 1000
    assert got["tradeops-lab-redis-001-memory"][1]["dimensions"] == {
        "CacheClusterId": "tradeops-lab-001"
    }
    status = got["tradeops-lab-ec2-engine-west-1-status-check"][1]
    assert status["dimensions"] == {"InstanceId": "i-3"}
    assert status["comparison"] == "GreaterThanOrEqualToThreshold"
    assert "status check failures of i-3 (us-west-2)" in status["description"]
    assert "ec2-status-check; docs/aws.md#alarms" in status["description"]


def test_each_alarm_notifies_its_severitys_topic_in_its_own_region():
    s = spec()
    for region, alarm in alarms_by_name(s).values():
        rule = RULES[alarm["key"]]
        topic = f"arn:aws:sns:{region}:{ACCOUNT}:tradeops-lab-alarms-{rule['severity']}"
        assert alarm["actions"] == [topic], alarm["name"]
        assert alarm["severity"] == rule["severity"]
        assert alarm["description"].startswith(rule["severity"].upper() + ":")
    lag = alarms_by_name(s)["tradeops-lab-rds-dr-lag-critical"][1]
    assert lag["actions"] == [f"arn:aws:sns:{DR}:{ACCOUNT}:tradeops-lab-alarms-critical"]


def test_topics_per_severity_and_region_with_the_regions_key_and_the_subscriptions():
    s = spec(keys={r: {"arn": a, "id": "k"} for r, a in KEYS.items()})  # kms_keys.data works
    assert [r["region"] for r in s["regions"]] == [HOME, DR]
    for entry in s["regions"]:
        assert [t["name"] for t in entry["topics"]] == [
            "tradeops-lab-alarms-critical",
            "tradeops-lab-alarms-warning",
        ]
        for topic in entry["topics"]:
            assert topic["key_arn"] == KEYS[entry["region"]]
            assert topic["arn"].startswith(f"arn:aws:sns:{entry['region']}:{ACCOUNT}:")
        critical, warning = entry["topics"]
        assert critical["subscriptions"] == [
            {"protocol": "https", "secret": "tradeops-lab/alarms/pager"}
        ]
        assert warning["subscriptions"] == [{"protocol": "https", "endpoint": HOOK}]
    assert s["owned"] == [f"tradeops-lab-{f}-" for f in ("rds", "redis", "kinesis", "ec2", "alb")]
    assert s["tags"] == TAGS


def test_without_the_dr_region_its_alarms_are_left_out():
    s = spec(dr_region="")
    assert [r["region"] for r in s["regions"]] == [HOME]
    assert all(where[0] == HOME for where in alarms_by_name(s).values())
    assert "tradeops-lab-rds-dr-lag" not in alarms_by_name(s)


def test_overrides_and_a_disabled_rule():
    s = spec(
        overrides={
            "rds-cpu": {"threshold": 90, "severity": "critical"},
            "redis-evictions": {"enabled": False},
        }
    )
    got = alarms_by_name(s)
    cpu = got["tradeops-lab-rds-cpu"][1]
    assert cpu["threshold"] == 90
    assert cpu["actions"] == [f"arn:aws:sns:{HOME}:{ACCOUNT}:tradeops-lab-alarms-critical"]
    assert not [n for n in got if n.endswith("-evictions")]


def test_a_layer_not_built_names_no_resource():
    s = spec(sources={"kinesis": SOURCES["kinesis"]})
    assert {where[1]["key"] for where in alarms_by_name(s).values()} == {
        "kinesis-iterator-age",
        "kinesis-write-throttled",
    }


# --------------------------------------------------------------------------- the front door
def test_each_load_balancer_and_target_group_gets_its_5xx_and_health_alarms_in_its_region():
    got = alarms_by_name(spec(sources={**SOURCES, **EDGE}))
    alb = {n: where for n, where in got.items() if "-alb-" in n}
    assert {n for n, where in alb.items() if where[0] == HOME} == {
        "tradeops-lab-alb-5xx",
        "tradeops-lab-alb-target-5xx",
        "tradeops-lab-alb-api-unhealthy",
        "tradeops-lab-alb-api-no-healthy",
        "tradeops-lab-alb-ws-unhealthy",
        "tradeops-lab-alb-ws-no-healthy",
    }
    assert {n for n, where in alb.items() if where[0] == DR} == {
        "tradeops-lab-alb-dr-5xx",
        "tradeops-lab-alb-dr-target-5xx",
        "tradeops-lab-alb-dr-api-unhealthy",
        "tradeops-lab-alb-dr-api-no-healthy",
    }
    # Without the edge layers' outputs, no ALB alarm (a layer not built names nothing).
    assert not [n for n in alarms_by_name(spec()) if "-alb-" in n]


def test_alb_alarms_carry_cloudwatchs_dimensions_from_the_arns():
    got = alarms_by_name(spec(sources={**SOURCES, **EDGE}))
    lb, dr_lb = "app/tradeops-lab/50dc6c495c0c9188", "app/tradeops-lab/6d0ecf831eec9f09"
    for name, metric in (
        ("tradeops-lab-alb-5xx", "HTTPCode_ELB_5XX_Count"),
        ("tradeops-lab-alb-target-5xx", "HTTPCode_Target_5XX_Count"),
    ):
        alarm = got[name][1]
        assert (alarm["namespace"], alarm["metric"], alarm["statistic"]) == (
            "AWS/ApplicationELB",
            metric,
            "Sum",
        )
        assert alarm["dimensions"] == {"LoadBalancer": lb}
        assert (alarm["comparison"], alarm["threshold"], alarm["period"]) == (
            "GreaterThanThreshold",
            300,
            60,
        )
        assert (alarm["evaluation_periods"], alarm["datapoints_to_alarm"]) == (5, 3)
        assert alarm["treat_missing_data"] == "notBreaching"
    assert got["tradeops-lab-alb-dr-5xx"][1]["dimensions"] == {"LoadBalancer": dr_lb}
    unhealthy = got["tradeops-lab-alb-ws-unhealthy"][1]
    assert unhealthy["dimensions"] == {
        "TargetGroup": "targetgroup/tradeops-lab-ws/0f2e5d7c9a1b3c4d",
        "LoadBalancer": lb,
    }
    assert (unhealthy["metric"], unhealthy["statistic"], unhealthy["comparison"]) == (
        "UnHealthyHostCount",
        "Maximum",
        "GreaterThanOrEqualToThreshold",
    )
    assert unhealthy["threshold"] == 1
    healthy = got["tradeops-lab-alb-dr-api-no-healthy"][1]
    assert healthy["dimensions"] == {
        "TargetGroup": "targetgroup/tradeops-lab-api/1a2b3c4d5e6f7a8b",
        "LoadBalancer": dr_lb,
    }
    assert (healthy["metric"], healthy["statistic"], healthy["comparison"]) == (
        "HealthyHostCount",
        "Minimum",
        "LessThanThreshold",
    )
    assert (healthy["threshold"], healthy["treat_missing_data"]) == (1, "breaching")
    assert "healthy targets of targetgroup/tradeops-lab-api/" in healthy["description"]
    assert "alb-no-healthy-targets; docs/aws.md#alarms" in healthy["description"]


def test_alb_alarms_page_on_errors_and_a_down_service_and_warn_on_one_unhealthy_target():
    got = alarms_by_name(spec(sources={**SOURCES, **EDGE}))
    critical = f"arn:aws:sns:{HOME}:{ACCOUNT}:tradeops-lab-alarms-critical"
    warning = f"arn:aws:sns:{HOME}:{ACCOUNT}:tradeops-lab-alarms-warning"
    for name in ("5xx", "target-5xx", "api-no-healthy", "ws-no-healthy"):
        assert got[f"tradeops-lab-alb-{name}"][1]["actions"] == [critical], name
    assert got["tradeops-lab-alb-api-unhealthy"][1]["actions"] == [warning]
    assert got["tradeops-lab-alb-dr-api-no-healthy"][1]["actions"] == [
        f"arn:aws:sns:{DR}:{ACCOUNT}:tradeops-lab-alarms-critical"
    ]


@pytest.mark.parametrize(
    ("arn", "lb", "tg"),
    [
        (f"{ELB.format(region=HOME)}:loadbalancer/app/a/1", "app/a/1", ""),
        (f"{ELB.format(region=HOME)}:targetgroup/t/2", "", "targetgroup/t/2"),
        ("arn:aws-cn:elasticloadbalancing:cn-north-1:1:loadbalancer/app/a/1", "app/a/1", ""),
        # A network load balancer, a classic one, a name, nothing: no ALB dimension.
        (f"{ELB.format(region=HOME)}:loadbalancer/net/a/1", "", ""),
        (f"{ELB.format(region=HOME)}:loadbalancer/a", "", ""),
        ("tradeops-lab", "", ""),
        (None, "", ""),
    ],
)
def test_the_dimensions_are_read_from_the_arns(arn, lb, tg):
    assert aws_alarms.load_balancer_dimension(arn) == lb
    assert aws_alarms.target_group_dimension(arn) == tg


def test_an_edge_layer_without_its_load_balancer_names_no_alb_alarm():
    broken = copy.deepcopy(EDGE)
    broken["edge"]["load_balancer"] = {}  # the layer's first --check: nothing built yet
    broken["edge-dr"]["target_groups"]["api"]["arn"] = "not-an-arn"
    got = alarms_by_name(spec(sources={**SOURCES, **broken}))
    alb = sorted(n for n in got if "-alb-" in n)
    assert alb == ["tradeops-lab-alb-dr-5xx", "tradeops-lab-alb-dr-target-5xx"]


def test_a_bad_input_stops_the_spec():
    with pytest.raises(ValueError, match="no data key for the alarm topics in us-west-2"):
        spec(keys={HOME: KEYS[HOME]})
    with pytest.raises(ValueError, match="rds-cpu: period must be"):
        spec(overrides={"rds-cpu": {"period": 7}})
    with pytest.raises(AnsibleFilterError, match=r"aws_alarms_spec: .*no data key"):
        aws_alarms_spec(RULES, "p", ACCOUNT, HOME, dr_region=DR, keys={})
    assert set(FilterModule().filters()) == {"aws_alarms_problems", "aws_alarms_spec"}


def test_partitions_follow_the_region():
    assert aws_alarms.topic_arn("cn-north-1", ACCOUNT, "t").startswith("arn:aws-cn:sns:")
    assert aws_alarms.topic_arn("us-gov-west-1", ACCOUNT, "t").startswith("arn:aws-us-gov:")


# --------------------------------------------------------------------------- describe
def converged():
    s = spec()
    return s, alarms_world(s)


def test_a_converged_layer_has_no_differences_and_names_its_topics():
    s, world = converged()
    differences, outputs = alarms_state(world.clients, s)
    assert differences == []
    assert outputs["topics"] == {
        sev: f"arn:aws:sns:{HOME}:{ACCOUNT}:tradeops-lab-alarms-{sev}"
        for sev in ("critical", "warning")
    }
    assert outputs["dr_topics"]["critical"].startswith(f"arn:aws:sns:{DR}:")
    assert outputs["alarm_count"] == 18 == len(outputs["alarms"]) + len(outputs["dr_alarms"])
    assert "tradeops-lab-rds-dr-lag" in outputs["dr_alarms"]
    assert outputs["cloudwatch_can_publish"] == {HOME: True, DR: True}


def _topic(world, region=HOME, severity="warning"):
    return world.d("sns", region)["topics"][
        f"arn:aws:sns:{region}:{ACCOUNT}:tradeops-lab-alarms-{severity}"
    ]


def _alarm(world, name, region=HOME):
    return next(a for a in world.d("cloudwatch", region)["alarms"] if a["AlarmName"] == name)


@pytest.mark.parametrize(
    ("drift", "needle"),
    [
        (
            lambda w: w.d("sns", DR)["topics"].clear(),
            "topic tradeops-lab-alarms-critical (us-west-2) does not exist",
        ),
        (
            lambda w: _topic(w)["attributes"].pop("KmsMasterKeyId"),
            "tradeops-lab-alarms-warning (us-east-1): encrypted with nothing",
        ),
        (
            lambda w: _topic(w)["attributes"].update(DisplayName="x"),
            "display name is 'x'",
        ),
        (lambda w: _topic(w)["tags"].pop("CostCenter"), "tags differ"),
        (
            lambda w: _topic(w)["subscriptions"].clear(),
            "no https subscription to https://127.0.0.1:9/...",
        ),
        (
            lambda w: _topic(w)["subscriptions"].append(
                {"SubscriptionArn": "arn:aws:sns:x", "Protocol": "email", "Endpoint": "a@b.invalid"}
            ),
            "email subscription to a@b.invalid is not in the spec",
        ),
        (
            lambda w: w.data[("cloudwatch", HOME)]["alarms"].pop(0),
            "alarm tradeops-lab-rds-cpu does not exist",
        ),
        (
            lambda w: _alarm(w, "tradeops-lab-rds-cpu").update(Threshold=95.0),
            "alarm tradeops-lab-rds-cpu: threshold is 95.0, want 80.0",
        ),
        (
            lambda w: _alarm(w, "tradeops-lab-rds-dr-lag", DR).update(OKActions=[]),
            "alarm tradeops-lab-rds-dr-lag: OK actions is []",
        ),
        (
            lambda w: w.d("cloudwatch", HOME)["tags"].clear(),
            "alarm tradeops-lab-rds-cpu: tags differ",
        ),
        (
            lambda w: w.d("cloudwatch", HOME)["alarms"].append(
                metric_alarm(
                    HOME, dict(_spec_alarm("tradeops-lab-rds-cpu"), name="tradeops-lab-rds-old-lag")
                )
            ),
            "alarm tradeops-lab-rds-old-lag (us-east-1) is not in the spec",
        ),
    ],
)
def test_drift_is_named(drift, needle):
    s, world = converged()
    drift(world)
    differences = alarms_state(world.clients, s)[0]
    assert any(needle in d for d in differences), differences


def _spec_alarm(name):
    return alarms_by_name(spec())[name][1]


def test_alarms_of_other_layers_under_the_prefix_are_not_the_layers():
    s, world = converged()
    backup = dict(_spec_alarm("tradeops-lab-rds-cpu"), name="tradeops-lab-backup-failed")
    world.d("cloudwatch", HOME)["alarms"].append(metric_alarm(HOME, backup))
    assert alarms_state(world.clients, s)[0] == []


def test_a_pending_subscription_cannot_be_removed_and_is_not_a_difference():
    s, world = converged()
    _topic(world)["subscriptions"].append(
        {"SubscriptionArn": "PendingConfirmation", "Protocol": "email", "Endpoint": "a@b.invalid"}
    )
    assert alarms_state(world.clients, s)[0] == []


def test_an_endpoint_from_secrets_manager_is_compared_and_never_shown():
    s, world = converged()
    secret = "https://events.example.invalid/integration/ROTATED-KEY/enqueue"
    world.d("secretsmanager", HOME)["values"]["tradeops-lab/alarms/pager"] = secret
    differences, outputs = alarms_state(world.clients, s)
    text = json.dumps([differences, outputs])
    assert "ROTATED-KEY" not in text and "key-0" not in text, differences
    assert any(
        "no https subscription to https://events.example.invalid/..." in d for d in differences
    )
    assert any(
        "subscription to https://events.example.invalid/... is not in" in d for d in differences
    )


def test_a_describe_error_is_an_error():
    s, world = converged()
    world.d("sns", HOME)["topics"] = None  # the fake then raises, as AccessDenied would

    class Denied:
        def get_topic_attributes(self, TopicArn):
            raise ClientError({"Error": {"Code": "AuthorizationError"}}, "GetTopicAttributes")

    def clients(service, region=None):
        return Denied() if service == "sns" else world.clients(service, region)

    with pytest.raises(ClientError):
        alarms_state(clients, s)


def test_the_data_keys_policy_decides_whether_cloudwatch_can_publish():
    s, world = converged()
    for key in world.d("kms", DR)["keys"].values():
        key["policy"]["Statement"].pop()  # the default policy: the root statement only
    assert alarms_state(world.clients, s)[1]["cloudwatch_can_publish"] == {HOME: True, DR: False}


@pytest.mark.parametrize(
    ("statement", "allowed"),
    [
        ({"Action": ["kms:Decrypt", "kms:GenerateDataKey*"]}, True),
        ({"Action": "kms:*"}, True),
        ({"Action": ["kms:Decrypt"]}, False),
        ({"Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Effect": "Deny"}, False),
        ({"Action": "kms:*", "Principal": {"Service": "sns.amazonaws.com"}}, False),
        ({"Action": "kms:*", "Principal": "*"}, False),
    ],
)
def test_key_policy_reading(statement, allowed):
    st = {
        "Effect": "Allow",
        "Principal": {"Service": ["cloudwatch.amazonaws.com"]},
        "Resource": "*",
        **statement,
    }
    assert key_allows_cloudwatch(json.dumps({"Statement": [st]})) is allowed
    assert key_allows_cloudwatch("not json") is False


def test_shown_hides_what_follows_an_urls_host():
    assert shown("https", "https://events.example.invalid/x/KEY?k=1") == (
        "https://events.example.invalid/..."
    )
    assert shown("email", "oncall@example.invalid") == "oncall@example.invalid"


def test_subscription_changes():
    want = [{"protocol": "https", "endpoint": HOOK}]
    got = [
        {
            "protocol": "https",
            "endpoint": "https://127.0.0.1:9/old",
            "arn": "arn:1",
            "pending": False,
        },
        {"protocol": "email", "endpoint": "a@b.invalid", "arn": "Pending", "pending": True},
    ]
    to_add, to_remove = subscription_changes(want, got)
    assert to_add == [("https", HOOK)]
    assert [s["arn"] for s in to_remove] == ["arn:1"]


class _Recorder:
    def __init__(self):
        self.calls = []

    def get_paginator(self, name):
        recorder = self

        class Pages:
            def paginate(self, **kwargs):
                recorder.calls.append(kwargs)
                yield {"MetricAlarms": []}

        return Pages()


def test_describe_alarms_by_prefix_then_the_other_names_100_at_a_time():
    cloudwatch = _Recorder()
    names = [f"other-{n}" for n in range(250)] + ["p-rds-cpu"]
    describe_alarms(cloudwatch, names, ["p-rds-"])
    assert cloudwatch.calls[0] == {"AlarmNamePrefix": "p-rds-", "AlarmTypes": ["MetricAlarm"]}
    batches = [c["AlarmNames"] for c in cloudwatch.calls[1:]]
    assert [len(b) for b in batches] == [100, 100, 50]
    assert all("p-rds-cpu" not in batch for batch in batches)


# --------------------------------------------------------------------------- the modules
def run_module(module, args, check_mode=False):
    args = dict(args, region=HOME, _ansible_check_mode=check_mode)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        module.main()
    return exc.value.code, json.loads(out.getvalue())


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": HOME,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def test_the_modules_document_their_options():
    for module, expected in (
        (aws_sns_topic, {"name", "kms_master_key_id", "display_name", "subscriptions",
                         "purge_subscriptions", "state"}),
        (aws_metric_alarms, {"alarms", "purge_prefixes", "state"}),
    ):  # fmt: skip
        assert expected <= set(documented_options(module))


def test_sns_topic_created_encrypted_then_unchanged_then_repaired(aws):
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    args = {
        "name": "t-alarms-critical",
        "kms_master_key_id": key,
        "display_name": "t critical alarms",
        "subscriptions": [{"protocol": "https", "endpoint": "https://127.0.0.1:9/key-SECRET"}],
        "tags": TAGS,
    }
    code, result = run_module(aws_sns_topic, args, check_mode=True)
    assert code == 0 and result["changed"], result
    assert not boto3.client("sns").list_topics()["Topics"]  # check mode created nothing
    code, result = run_module(aws_sns_topic, args)
    assert code == 0 and result["changed"]
    assert "key-SECRET" not in json.dumps(result)  # the endpoint is never returned
    sns = boto3.client("sns")
    arn = result["topic"]["arn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (attrs["KmsMasterKeyId"], attrs["DisplayName"]) == (key, "t critical alarms")
    assert [
        s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    ] == ["https://127.0.0.1:9/key-SECRET"]
    assert run_module(aws_sns_topic, args)[1]["changed"] is False
    # Drift: the key off, a stranger subscribed, a tag gone; one run repairs all three.
    sns.set_topic_attributes(TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue="")
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="someone@example.invalid")
    sns.untag_resource(ResourceArn=arn, TagKeys=["CostCenter"])
    code, result = run_module(aws_sns_topic, args, check_mode=True)
    assert result["changed"] and not sns.get_topic_attributes(TopicArn=arn)["Attributes"].get(
        "KmsMasterKeyId"
    )
    code, result = run_module(aws_sns_topic, args)
    assert result["changed"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["KmsMasterKeyId"] == key
    subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [s["Protocol"] for s in subs] == ["https"]
    tags = {t["Key"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert "CostCenter" in tags
    assert run_module(aws_sns_topic, args)[1]["changed"] is False
    # Absent: subscriptions and topic go; again, nothing to do.
    assert run_module(aws_sns_topic, {"name": args["name"], "state": "absent"})[1]["changed"]
    assert not sns.list_topics()["Topics"] and not sns.list_subscriptions()["Subscriptions"]
    assert (
        run_module(aws_sns_topic, {"name": args["name"], "state": "absent"})[1]["changed"] is False
    )


def test_metric_alarms_put_tag_purge_and_delete(aws):
    s = spec(dr_region="")
    alarms = s["regions"][0]["alarms"]
    args = {"alarms": alarms, "purge_prefixes": s["owned"], "tags": TAGS}
    cloudwatch = boto3.client("cloudwatch")
    code, result = run_module(aws_metric_alarms, args, check_mode=True)
    assert code == 0 and result["changed"] and len(result["created"]) == len(alarms)
    assert not cloudwatch.describe_alarms()["MetricAlarms"]
    code, result = run_module(aws_metric_alarms, args)
    assert code == 0 and sorted(result["created"]) == sorted(a["name"] for a in alarms)
    assert all(result["alarms"].values())
    got = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    cpu = got["tradeops-lab-rds-cpu"]
    assert cpu["AlarmActions"] == cpu["OKActions"] == alarms[0]["actions"]
    assert cpu["Threshold"] == 80.0 and cpu["DatapointsToAlarm"] == 3
    tags = cloudwatch.list_tags_for_resource(ResourceARN=cpu["AlarmArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == TAGS
    assert run_module(aws_metric_alarms, args)[1]["changed"] is False
    # Drift: a threshold loosened, a tag removed, an alarm of a resource gone; the backup
    # layer's alarm under the same prefix is not this call's.
    cloudwatch.put_metric_alarm(**dict(aws_alarms.put_alarm_args(alarms[0]), Threshold=99.0))
    cloudwatch.untag_resource(
        ResourceARN=got["tradeops-lab-redis-001-cpu"]["AlarmArn"], TagKeys=["Project"]
    )
    gone = dict(alarms[3], name="tradeops-lab-rds-replica-9-lag")
    cloudwatch.put_metric_alarm(**aws_alarms.put_alarm_args(gone))
    backup = dict(alarms[0], name="tradeops-lab-backup-failed")
    cloudwatch.put_metric_alarm(**aws_alarms.put_alarm_args(backup))
    code, result = run_module(aws_metric_alarms, args)
    assert result["updated"] == ["tradeops-lab-rds-cpu"]
    assert result["retagged"] == ["tradeops-lab-redis-001-cpu"]
    assert result["deleted"] == ["tradeops-lab-rds-replica-9-lag"]
    names = {a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert "tradeops-lab-backup-failed" in names and "tradeops-lab-rds-replica-9-lag" not in names
    assert run_module(aws_metric_alarms, args)[1]["changed"] is False
    # Teardown: every alarm under the prefixes, not the backup layer's.
    code, result = run_module(aws_metric_alarms, {"purge_prefixes": s["owned"], "state": "absent"})
    assert len(result["deleted"]) == len(alarms)
    names = {a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert names == {"tradeops-lab-backup-failed"}


def test_metric_alarms_refuse_an_alarm_without_its_settings(aws):
    code, result = run_module(aws_metric_alarms, {"alarms": [{"name": "x"}]})
    assert code == 1 and "settings missing (x: namespace" in result["msg"]

"""aws_alarms's effect in the scenario's moto: per region a topic per severity (encrypted with
the region's data key, the lab's 127.0.0.1 subscriptions) and the CloudWatch alarms on the
resources the prepared layers built (RDS, Redis, Kinesis, the engines, each region's load
balancer), each notifying its severity's topic of its own region on ALARM and on OK."""

from __future__ import annotations

import pytest

DR = "us-west-2"
REGIONS = [("us-east-1", "topics", "alarms"), (DR, "dr_topics", "dr_alarms")]
TOPICS = [("us-east-1", "topics"), (DR, "dr_topics")]
SEVERITIES = {"critical", "warning"}


@pytest.fixture(scope="module")
def out(outputs):
    return outputs("alarms")


def _alarms(aws, region):
    pages = aws("cloudwatch", region).get_paginator("describe_alarms").paginate()
    return {a["AlarmName"]: a for page in pages for a in page["MetricAlarms"]}


def _dimensions(alarm):
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


@pytest.mark.parametrize(("region", "topics_key"), TOPICS)
def test_a_topic_per_severity_encrypted_with_the_regions_key(
    aws, outputs, out, tags, region, topics_key, standard_tags
):
    sns = aws("sns", region)
    key = outputs("security")["kms_keys"]["data"][region]["arn"]
    assert set(out[topics_key]) == SEVERITIES
    for severity, arn in out[topics_key].items():
        assert arn == f"arn:aws:sns:{region}:123456789012:tradeops-lab-alarms-{severity}"
        attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        assert attributes["KmsMasterKeyId"] == key, arn
        assert set(tags(sns.list_tags_for_resource(ResourceArn=arn))) >= standard_tags
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [
            ("https", f"https://127.0.0.1:9/tradeops-lab/alarms/{severity}")
        ]


@pytest.mark.parametrize(("region", "topics_key", "alarms_key"), REGIONS)
def test_every_alarm_notifies_its_regions_topics_on_alarm_and_ok(
    aws, out, region, topics_key, alarms_key
):
    found = _alarms(aws, region)
    assert set(out[alarms_key]) == set(found)
    topics = set(out[topics_key].values())
    for name, alarm in found.items():
        assert alarm["ActionsEnabled"] is True, name
        assert alarm["AlarmActions"] and alarm["OKActions"] == alarm["AlarmActions"], name
        assert len(alarm["AlarmActions"]) == 1 and set(alarm["AlarmActions"]) <= topics, name
    assert out["alarm_count"] == len(out["alarms"]) + len(out["dr_alarms"]) == 31


def test_the_databases_and_streams_are_watched_by_severity(aws, out, outputs):
    found = _alarms(aws, "us-east-1")
    storage = found["tradeops-lab-rds-free-storage"]
    assert _dimensions(storage) == {"DBInstanceIdentifier": outputs("rds")["primary"]["identifier"]}
    assert (storage["MetricName"], storage["ComparisonOperator"], storage["Threshold"]) == (
        "FreeStorageSpace",
        "LessThanThreshold",
        10 * 2**30,
    )
    assert storage["AlarmActions"] == [out["topics"]["critical"]]
    memory = found["tradeops-lab-redis-001-memory"]
    assert (memory["Namespace"], _dimensions(memory)["CacheClusterId"]) == (
        "AWS/ElastiCache",
        outputs("elasticache")["members"][0],
    )
    for key, stream in outputs("kinesis")["streams"].items():
        age = found[f"tradeops-lab-kinesis-{key}-iterator-age"]
        assert (age["Namespace"], _dimensions(age)) == (
            "AWS/Kinesis",
            {"StreamName": stream["name"]},
        )
    dr = _alarms(aws, DR)["tradeops-lab-rds-dr-lag-critical"]
    assert _dimensions(dr) == {
        "DBInstanceIdentifier": outputs("rds")["replicas"]["dr"]["identifier"]
    }
    assert dr["AlarmActions"] == [out["dr_topics"]["critical"]]


@pytest.mark.parametrize(("region", "layer"), [("us-east-1", "fleet"), (DR, "fleet-dr")])
def test_each_engine_has_its_status_check_alarm(aws, outputs, region, layer):
    found = _alarms(aws, region)
    for name, instance in outputs(layer)["instances"].items():
        alarm = found[f"tradeops-lab-ec2-{name}-status-check"]
        assert _dimensions(alarm) == {"InstanceId": instance["id"]}
        assert alarm["Namespace"] == "AWS/EC2"


@pytest.mark.parametrize(("region", "topics_key"), TOPICS)
def test_the_load_balancer_alarms_watch_the_real_alb_and_target_groups(
    aws, out, region, topics_key
):
    elbv2 = aws("elbv2", region)
    (lb,) = elbv2.describe_load_balancers(Names=["tradeops-lab"])["LoadBalancers"]
    lb_dim = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    groups = {
        tg["TargetGroupName"]: tg["TargetGroupArn"].rsplit(":", 1)[1]
        for tg in elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])[
            "TargetGroups"
        ]
    }
    label = "dr-" if region == DR else ""
    found = _alarms(aws, region)
    assert _dimensions(found[f"tradeops-lab-alb-{label}5xx"]) == {"LoadBalancer": lb_dim}
    for service in ("api", "ws"):
        dims = {"LoadBalancer": lb_dim, "TargetGroup": groups[f"tradeops-lab-{service}"]}
        for suffix, severity in (("unhealthy", "warning"), ("no-healthy", "critical")):
            alarm = found[f"tradeops-lab-alb-{label}{service}-{suffix}"]
            assert _dimensions(alarm) == dims
            assert alarm["AlarmActions"] == [out[topics_key][severity]]


def test_alarms_carry_the_standard_tags(aws, tags, standard_tags):
    cloudwatch = aws("cloudwatch")
    for alarm in list(_alarms(aws, "us-east-1").values())[:5]:
        found = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])
        assert set(tags(found)) >= standard_tags, alarm["AlarmName"]

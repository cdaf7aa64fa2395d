"""DR readiness rules (module_utils/dr_readiness) and dr_aws_facts' describe() on moto."""

from __future__ import annotations

import copy

import boto3
import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.dr_readiness import (
    evaluate,
    rpo_estimate,
    s3_replication,
    sg_flows,
    sg_parity,
)
from ansible_collections.tradeops.platform.plugins.modules import dr_aws_facts
from moto import mock_aws

STATE = {
    "records": {
        "us-east-1": {"active_region": "us-east-1", "epoch": 3},
        "us-west-2": {"active_region": "us-east-1", "epoch": 3},
    },
    "unreachable": {},
    "authoritative": {"active_region": "us-east-1", "epoch": 3},
}
READY = {
    "target_region": "us-west-2",
    "state": STATE,
    "budgets": {"lag_seconds": 5, "backup_age_minutes": 60, "clock_offset_ms": 100},
    "postgresql": {
        "primary": {"host": "db-east-1", "in_recovery": False},
        "standby": {
            "host": "db-west-1",
            "in_recovery": True,
            "streaming": True,
            "lag_seconds": 0.2,
            "lag_bytes": 0,
        },
    },
    "redis": {"replica": {"host": "db-west-1", "role": "replica", "link_up": True, "lag_bytes": 0}},
    "rds": {
        "primary": {
            "arn": "arn:p",
            "instance_class": "db.r6i.xlarge",
            "engine": "postgres",
            "engine_major": "16",
            "parameter_group_family": "postgres16",
            "storage_type": "gp3",
        },
        "replica": {
            "id": "pg-dr",
            "region": "us-west-2",
            "source": "arn:p",
            "status": "available",
            "backup_retention": 7,
            "instance_class": "db.r6i.xlarge",
            "engine": "postgres",
            "engine_major": "16",
            "parameter_group_family": "postgres16",
            "storage_type": "gp3",
            "replica_lag_seconds": 1.0,
            "missing_subnets": [],
        },
    },
    "capacity": {
        "required_instance_types": ["c5n.18xlarge"],
        "offered_instance_types": ["c5n.18xlarge"],
        "engines": ["engine-west-1"],
        "engines_wanted": 1,
        "launch_template": "lt",
        "nodegroups": [
            {"name": "general", "status": "ACTIVE", "max_size": 10, "failover_min_size": 3}
        ],
        "streams": {"md": "ACTIVE"},
    },
    "parity": {
        "primary": {"rds": ["in tcp 5432-5432 sg:engine"]},
        "dr": {"rds": ["in tcp 5432-5432 sg:engine"]},
    },
    "backups": {"age_minutes": 5},
    "clocks": [{"host": "db-west-1", "offset_ms": 3, "synchronized": True}],
}


def failing(result):
    return {c["name"]: c["detail"] for c in result["checks"] if not c["ok"] and not c["skipped"]}


def test_a_ready_region_passes_every_check():
    result = evaluate(READY)
    assert result["ready"], result["not_ready"]
    assert not [c for c in result["checks"] if c["skipped"]]
    assert len(result["checks"]) == 15


@pytest.mark.parametrize(
    ("path", "value", "check", "words"),
    [
        (("postgresql", "standby", "lag_seconds"), 9.5, "postgresql_lag", "replay lag 9.5 s"),
        (("postgresql", "standby", "streaming"), False, "postgresql_replication", "not receiving"),
        (
            ("postgresql", "standby", "in_recovery"),
            False,
            "postgresql_replication",
            "not a standby",
        ),
        (("redis", "replica", "link_up"), False, "redis_replication", "link down"),
        (("rds", "replica", "status"), "backing-up", "rds_replica", "backing-up"),
        (("rds", "replica", "backup_retention"), 0, "rds_replica", "no backup retention"),
        (("rds", "replica", "source"), None, "rds_replica", "not a read replica"),
        (("rds", "replica", "missing_subnets"), ["subnet-1"], "rds_replica", "subnet-1"),
        (("rds", "replica", "replica_lag_seconds"), 30.0, "rds_lag", "ReplicaLag 30.0 s"),
        (("rds", "replica", "instance_class"), "db.r6i.large", "rds_parity", "instance_class"),
        (("capacity", "offered_instance_types"), [], "dr_instance_types", "c5n.18xlarge"),
        (("capacity", "streams"), {"md": "missing"}, "dr_streams", "md: missing"),
        (("backups", "age_minutes"), 600, "backups_fresh", "600 min"),
        (
            ("parity", "dr", "rds"),
            ["in tcp 5432-5432 sg:engine", "in tcp 22-22 0.0.0.0/0"],
            "sg_parity",
            "22-22",
        ),
    ],
)
def test_each_problem_makes_the_region_unready_and_is_named(path, value, check, words):
    inputs = copy.deepcopy(READY)
    node = inputs
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    result = evaluate(inputs)
    assert not result["ready"]
    assert check in failing(result), result["checks"]
    assert words in failing(result)[check]


def test_nodegroup_too_small_for_the_failover_size():
    inputs = copy.deepcopy(READY)
    inputs["capacity"]["nodegroups"][0]["max_size"] = 2
    assert "maxSize 2 < failover minSize 3" in failing(evaluate(inputs))["dr_nodegroups"]


def test_state_disagreement_unreachable_and_already_active():
    inputs = copy.deepcopy(READY)
    inputs["state"]["records"]["us-west-2"]["epoch"] = 4
    assert "disagree" in failing(evaluate(inputs))["dr_state"]
    inputs = copy.deepcopy(READY)
    inputs["state"]["unreachable"] = {"us-east-1": "503"}
    inputs["state"]["records"]["us-east-1"] = None
    assert "cannot read the DR state in us-east-1" in failing(evaluate(inputs))["dr_state"]
    inputs = copy.deepcopy(READY)
    inputs["target_region"] = "us-east-1"
    assert "already the active region" in failing(evaluate(inputs))["target_standby"]


def test_tiers_an_environment_lacks_are_skipped_with_a_reason_not_passed():
    result = evaluate({"target_region": "us-west-2", "state": STATE})
    skipped = {c["name"]: c["detail"] for c in result["checks"] if c["skipped"]}
    assert "no self-managed PostgreSQL" in skipped["postgresql_replication"]
    assert "no RDS database" in skipped["rds_replica"]
    assert result["ready"]
    assert all(not c["ok"] for c in result["checks"] if c["skipped"])


def test_missing_rds_lag_metric_fails_unless_not_required():
    inputs = copy.deepcopy(READY)
    inputs["rds"]["replica"]["replica_lag_seconds"] = None
    assert "no ReplicaLag datapoint" in failing(evaluate(inputs))["rds_lag"]
    inputs["budgets"]["rds_lag_metric_required"] = False
    assert evaluate(inputs)["ready"]


def test_rpo_estimate_takes_the_largest_known_lag():
    estimate = rpo_estimate(
        {"lag_seconds": 0.4, "lag_bytes": 512}, None, {"seconds": 2.5, "at": "t"}
    )
    assert estimate["seconds"] == 2.5
    assert estimate["bytes"] == 512
    assert "last measured lag 2.5 s" in estimate["detail"]
    assert rpo_estimate(None, None, None)["seconds"] is None
    down = rpo_estimate({"lag_seconds": 0}, {"link_up": False, "link_down_seconds": 7})
    assert down["seconds"] == 7


def test_sg_flows_are_region_neutral():
    def groups(cidr, suffix):
        return [
            {
                "GroupId": f"sg-e{suffix}",
                "GroupName": "engine",
                "IpPermissions": [],
                "IpPermissionsEgress": [],
            },
            {
                "GroupId": f"sg-r{suffix}",
                "GroupName": "rds",
                "IpPermissions": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "UserIdGroupPairs": [{"GroupId": f"sg-e{suffix}"}],
                    },
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "IpRanges": [{"CidrIp": cidr}],
                    },
                ],
                "IpPermissionsEgress": [
                    {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                ],
            },
        ]

    east = sg_flows(groups("10.0.0.0/16", "1"), "10.0.0.0/16")
    west = sg_flows(groups("10.1.0.0/16", "2"), "10.1.0.0/16")
    assert east == west
    assert "in tcp 5432-5432 sg:engine" in east["rds"]
    assert "in tcp 5432-5432 vpc" in east["rds"]
    west["rds"].append("in tcp 22-22 198.18.9.0/24")
    assert sg_parity(east, west) == ["rds: flows only in the DR region: in tcp 22-22 198.18.9.0/24"]
    del west["engine"]
    assert "security group engine is missing in the DR region" in sg_parity(east, west)


# ---- dr_aws_facts.describe against moto (in-process) -----------------------------------------
PARAMS = {
    "regions": ["us-east-1", "us-west-2"],
    "target_region": "us-west-2",
    "rds_instances": {"us-east-1": "pg", "us-west-2": "pg-dr"},
    "engine_instance_types": ["c5n.18xlarge"],
    "tag_filters": {"Project": "t", "Environment": "lab"},
    "launch_template_name": "",
    "eks_cluster": "",
    "eks_nodegroups": [],
    "kinesis_streams": ["t-lab-market-data"],
    "rds_lag_metric": True,
}


def _clients():
    cache = {}

    def client(service, region):
        if region not in PARAMS_IN_USE["regions"]:
            raise dr_aws_facts.Unreachable(f"{region} is not in the regions this run may contact")
        return cache.setdefault((service, region), boto3.client(service, region_name=region))

    return client


PARAMS_IN_USE = dict(PARAMS)


def _world():
    tags = [{"Key": "Project", "Value": "t"}, {"Key": "Environment", "Value": "lab"}]
    for region, cidr in (("us-east-1", "10.0.0.0/16"), ("us-west-2", "10.1.0.0/16")):
        ec2 = boto3.client("ec2", region_name=region)
        vpc = ec2.create_vpc(
            CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
        )["Vpc"]["VpcId"]
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "11.0/24"))
        group = ec2.create_security_group(GroupName="rds", Description="rds", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "IpRanges": [{"CidrIp": cidr}],
                }
            ],
        )
    east = boto3.client("rds", region_name="us-east-1")
    east.create_db_instance(
        DBInstanceIdentifier="pg",
        Engine="postgres",
        EngineVersion="16.8",
        DBInstanceClass="db.r6i.xlarge",
        MasterUsername="u",
        MasterUserPassword="p" * 16,
        AllocatedStorage=400,
        BackupRetentionPeriod=7,
    )
    arn = east.describe_db_instances(DBInstanceIdentifier="pg")["DBInstances"][0]["DBInstanceArn"]
    boto3.client("rds", region_name="us-west-2").create_db_instance_read_replica(
        DBInstanceIdentifier="pg-dr",
        SourceDBInstanceIdentifier=arn,
        SourceRegion="us-east-1",
        DBInstanceClass="db.r6i.xlarge",
    )
    boto3.client("kinesis", region_name="us-west-2").create_stream(
        StreamName="t-lab-market-data", ShardCount=1
    )
    west = boto3.client("ec2", region_name="us-west-2")
    west.run_instances(
        ImageId=west.describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
        InstanceType="c5n.18xlarge",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [
                    *tags,
                    {"Key": "Name", "Value": "engine-west-1"},
                    {"Key": "tradeops:role", "Value": "engine"},
                ],
            }
        ],
    )
    return arn


@mock_aws
def test_describe_both_regions_feeds_a_ready_evaluation(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    arn = _world()
    PARAMS_IN_USE.clear()
    PARAMS_IN_USE.update(PARAMS)
    facts = dr_aws_facts.describe(PARAMS, _clients())
    assert facts["unreachable"] == {}
    assert facts["rds"]["primary"]["id"] == "pg"
    assert facts["rds"]["replica"]["source"] == arn
    assert facts["capacity"]["offered_instance_types"] == ["c5n.18xlarge"]
    assert facts["capacity"]["streams"] == {"t-lab-market-data": "ACTIVE"}
    assert facts["capacity"]["engines"] == ["engine-west-1"]
    assert facts["parity"]["primary"] == facts["parity"]["dr"]
    result = evaluate(
        {
            "target_region": "us-west-2",
            "rds": facts["rds"],
            "capacity": facts["capacity"],
            "parity": facts["parity"],
            "budgets": {"rds_lag_metric_required": False},
        }
    )
    assert not failing(result), result


@mock_aws
def test_a_region_left_out_is_never_called_and_a_drifted_rule_is_seen(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _world()
    PARAMS_IN_USE.clear()
    PARAMS_IN_USE.update(PARAMS, regions=["us-west-2"])
    calls = []
    real = _clients()

    def client(service, region):
        calls.append(region)
        return real(service, region)

    facts = dr_aws_facts.describe(dict(PARAMS, regions=["us-west-2"]), client)
    assert set(calls) == {"us-west-2"}
    assert facts["rds"]["primary"] is None
    assert facts["rds"]["replica"]["id"] == "pg-dr"
    assert facts["parity"]["primary"] is None
    # A rule added by hand in the DR region breaks parity.
    PARAMS_IN_USE.update(regions=PARAMS["regions"])
    ec2 = boto3.client("ec2", region_name="us-west-2")
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["rds"]}])[
        "SecurityGroups"
    ][0]["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "198.18.0.0/24"}],
            }
        ],
    )
    facts = dr_aws_facts.describe(PARAMS, _clients())
    assert sg_parity(facts["parity"]["primary"], facts["parity"]["dr"]) == [
        "rds: flows only in the DR region: in tcp 22-22 198.18.0.0/24"
    ]


# ---- re-protect's S3 plan ----------------------------------------------------------------------
S3_OUTPUTS = {
    "buckets": {
        "backups": {"name": "p-backups", "replicate_to": "p-backups-dr"},
        "logs": {"name": "p-logs"},
        "compliance": {"name": "p-compliance", "replicate_to": "p-compliance-dr"},
    },
    "dr_buckets": {
        "compliance": {"name": "p-compliance-dr"},
        "backups": {"name": "p-backups-dr"},
        "logs": {"name": "p-logs-dr"},  # a bucket of its own (dr_copy), replicated by nothing
    },
    "replication_role_arn": "arn:aws:iam::123456789012:role/p-s3-replication",
}


def test_s3_replication_reverses_the_dr_copies_while_the_dr_region_is_active():
    plan = s3_replication(S3_OUTPUTS, "us-east-1", "us-west-2", "us-east-1")
    assert plan == {
        "state": "present",
        "region": "us-west-2",
        "role": "p-s3-replication",
        # only the replicated buckets, each DR copy toward its home bucket
        "pairs": [
            {"key": "backups", "source": "p-backups-dr", "destination": "p-backups"},
            {"key": "compliance", "source": "p-compliance-dr", "destination": "p-compliance"},
        ],
    }


def test_s3_replication_back_home_removes_the_reverse_rules():
    plan = s3_replication(S3_OUTPUTS, "us-east-1", "us-west-2", "us-west-2")
    assert plan["state"] == "absent"
    assert [p["source"] for p in plan["pairs"]] == ["p-backups-dr", "p-compliance-dr"]


def test_s3_replication_without_replicated_buckets_has_nothing_to_do():
    plan = s3_replication({"buckets": S3_OUTPUTS["buckets"]}, "us-east-1", "us-west-2", "us-east-1")
    assert plan["pairs"] == [] and plan["role"] == ""
    assert s3_replication(None, "us-east-1", "us-west-2", "us-east-1")["pairs"] == []


@pytest.mark.parametrize(
    ("outputs", "protect", "message"),
    [
        (S3_OUTPUTS, "eu-west-1", "not eu-west-1"),
        (dict(S3_OUTPUTS, replication_role_arn=""), "us-east-1", "no replication role"),
        (dict(S3_OUTPUTS, buckets={}), "us-east-1", "no home bucket"),
    ],
)
def test_s3_replication_refuses_what_it_cannot_plan(outputs, protect, message):
    with pytest.raises(ValueError, match=message):
        s3_replication(outputs, "us-east-1", "us-west-2", protect)

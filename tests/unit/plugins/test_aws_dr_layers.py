"""Unit tests for the DR region's state comparisons (aws_state) on fake clients: the engine
launch template and the DR fleet, the cross-region RDS replica's placement and backups, the
Kinesis DR copies and the DR state records."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import (
    dr_state_state,
    fleet_state,
    kinesis_state,
    launch_template_differences,
    rds_state,
    replica_checks,
)
from botocore.exceptions import ClientError

from .test_aws_rds_state import PRIMARY_ARN, SPEC, TAG_LIST, TAGS, FakeRds, _instance

DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/dr"
PROFILE = "arn:aws:iam::123456789012:instance-profile/tradeops-lab-engine"


def _missing(op):
    return ClientError({"Error": {"Code": "NotFound", "Message": "missing"}}, op)


# ------------------------------------------------------------------ launch template, fleet
WANT_TEMPLATE = {
    "name": "tradeops-lab-engine-dr",
    "image_id": "",
    "instance_profile_arn": PROFILE,
    "security_group_ids": ["sg-nodes-dr"],
    "subnet_id": "subnet-dr-a",
    "kms_key_arn": DR_KEY,
    "root_device": "/dev/xvda",
    "root_volume_size": 50,
}


def _template_data(**over):
    data = {
        "ImageId": "ami-1",
        "IamInstanceProfile": {"Arn": PROFILE},
        "EbsOptimized": True,
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "KmsKeyId": DR_KEY,
                    "VolumeSize": 50,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "NetworkInterfaces": [
            {
                "DeviceIndex": 0,
                "Groups": ["sg-nodes-dr"],
                "SubnetId": "subnet-dr-a",
                "AssociatePublicIpAddress": False,
            }
        ],
    }
    data.update(over)
    return data


def test_a_converged_launch_template_has_no_differences():
    assert launch_template_differences(_template_data(), WANT_TEMPLATE) == []


def _root(**ebs):
    base = _template_data()["BlockDeviceMappings"][0]
    return [dict(base, Ebs=dict(base["Ebs"], **ebs))]


def _eni(**over):
    return [dict(_template_data()["NetworkInterfaces"][0], **over)]


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"MetadataOptions": {"HttpTokens": "optional"}}, "IMDSv2 (HttpTokens) is optional"),
        ({"IamInstanceProfile": {}}, "instance profile is None"),
        ({"EbsOptimized": False}, "EBS optimized is False"),
        ({"BlockDeviceMappings": _root(Encrypted=False)}, "root volume encrypted is False"),
        ({"BlockDeviceMappings": _root(VolumeType="gp2")}, "root volume type is gp2"),
        ({"BlockDeviceMappings": _root(KmsKeyId="other")}, "root volume KMS key is other"),
        ({"BlockDeviceMappings": _root(VolumeSize=8)}, "root volume size is 8, want 50"),
        ({"BlockDeviceMappings": []}, "no root volume /dev/xvda"),
        ({"NetworkInterfaces": _eni(Groups=["sg-x"])}, "security groups is ['sg-x']"),
        ({"NetworkInterfaces": _eni(SubnetId="subnet-east")}, "subnet is subnet-east"),
        ({"NetworkInterfaces": _eni(AssociatePublicIpAddress=True)}, "public IP is True"),
        ({"NetworkInterfaces": []}, "no network interface at device index 0"),
        ({"ImageId": None}, "no AMI"),
    ],
)
def test_each_launch_template_field_is_compared(over, needle):
    differences = launch_template_differences(_template_data(**over), WANT_TEMPLATE)
    assert any(needle in d for d in differences), differences


def test_a_pinned_ami_is_compared():
    want = dict(WANT_TEMPLATE, image_id="ami-2")
    assert launch_template_differences(_template_data(), want) == ["AMI is ami-1, want ami-2"]


class FakeEc2:
    def __init__(self, template=True, instance_over=None, versions=(1, 1), template_tags=None):
        self.template = template
        self.template_tags = template_tags
        self.instance_over = instance_over or {}
        self.versions = versions

    def describe_launch_templates(self, LaunchTemplateNames):
        if not self.template:
            raise _missing("DescribeLaunchTemplates")
        return {
            "LaunchTemplates": [
                {
                    "LaunchTemplateName": LaunchTemplateNames[0],
                    "LaunchTemplateId": "lt-1",
                    "DefaultVersionNumber": self.versions[0],
                    "LatestVersionNumber": self.versions[1],
                }
            ]
        }

    def describe_tags(self, Filters):
        assert Filters == [{"Name": "resource-id", "Values": ["lt-1"]}]
        tags = (
            self.template_tags
            if self.template_tags is not None
            else [*TAG_LIST, {"Key": "Name", "Value": "tradeops-lab-engine-dr"}]
        )
        return {"Tags": [dict(t, ResourceId="lt-1", ResourceType="launch-template") for t in tags]}

    def describe_launch_template_versions(self, LaunchTemplateId, Versions):
        assert LaunchTemplateId == "lt-1"
        return {"LaunchTemplateVersions": [{"LaunchTemplateData": _template_data()}]}

    def describe_instances(self, Filters):
        inst = {
            "InstanceId": "i-1",
            "PrivateIpAddress": "10.1.1.10",
            "InstanceType": "c5n.18xlarge",
            "State": {"Name": "running"},
            "SubnetId": "subnet-dr-a",
            "Placement": {"AvailabilityZone": "us-west-2a", "Tenancy": "default"},
            "MetadataOptions": {
                "HttpTokens": "required",
                "HttpEndpoint": "enabled",
                "HttpPutResponseHopLimit": 1,
            },
            "EbsOptimized": True,
            "IamInstanceProfile": {"Arn": PROFILE},
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": "eni-1",
                    "Attachment": {"DeviceIndex": 0},
                    "Groups": [{"GroupId": "sg-nodes-dr"}],
                }
            ],
            "Tags": [
                *TAG_LIST,
                {"Key": "Name", "Value": "engine-west-1"},
                {"Key": "aws:ec2launchtemplate:id", "Value": "lt-1"},
            ],
        }
        inst.update(self.instance_over)
        return {"Reservations": [{"Instances": [inst]}]}


FLEET_SPEC = {
    "region": "us-west-2",
    "tags": TAGS,
    "instances": [{"name": "engine-west-1", "instance_type": "c5n.18xlarge"}],
    "subnet_id": "subnet-dr-a",
    "security_group_ids": ["sg-nodes-dr"],
    "instance_profile_arn": PROFILE,
    "tenancy": "default",
    "placement_group": "",
    "kms_key_arn": DR_KEY,
    "launch_template": WANT_TEMPLATE,
}


def test_dr_fleet_converged_and_its_outputs():
    differences, outputs = fleet_state(lambda service: FakeEc2(), FLEET_SPEC)
    assert differences == []
    assert outputs["region"] == "us-west-2"
    assert outputs["launch_template"] == {"name": WANT_TEMPLATE["name"], "id": "lt-1", "version": 1}
    assert outputs["instances"]["engine-west-1"]["subnet_id"] == "subnet-dr-a"


@pytest.mark.parametrize(
    ("fake", "needle"),
    [
        (FakeEc2(template=False), "launch template tradeops-lab-engine-dr does not exist"),
        (FakeEc2(versions=(1, 2)), "default version 1 is not the latest (2)"),
        (FakeEc2(template_tags=TAG_LIST), "launch template tradeops-lab-engine-dr: tags differ"),
        (
            FakeEc2(
                instance_over={
                    "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 1}
                }
            ),
            "instance engine-west-1: IMDSv2 (HttpTokens) is optional, want required",
        ),
        (
            FakeEc2(instance_over={"SubnetId": "subnet-east"}),
            "instance engine-west-1: subnet is subnet-east, want subnet-dr-a",
        ),
        (
            FakeEc2(instance_over={"Tags": [*TAG_LIST, {"Key": "Name", "Value": "engine-west-1"}]}),
            "instance engine-west-1: launch template is None, want lt-1",
        ),
    ],
)
def test_dr_fleet_differences_are_named(fake, needle):
    differences, _outputs = fleet_state(lambda service: fake, FLEET_SPEC)
    assert any(needle in d for d in differences), differences


def test_the_primary_fleet_needs_no_launch_template():
    spec = dict(FLEET_SPEC, launch_template=None)
    fake = FakeEc2(
        template=False,
        instance_over={"Tags": [*TAG_LIST, {"Key": "Name", "Value": "engine-west-1"}]},
    )
    assert fleet_state(lambda service: fake, spec)[0] == []


# ------------------------------------------------------------------ RDS: the DR replica
DR_SUBNETS = ["subnet-db-dr-a", "subnet-db-dr-b"]


def _dr_spec(**rep_over):
    spec = copy.deepcopy(SPEC)
    spec["dr_subnet_group"] = {"name": "pg", "region": "us-west-2", "subnet_ids": DR_SUBNETS}
    dr = spec["replicas"][1]
    dr.update(
        security_group_ids=["sg-rds-dr"],
        subnet_group="pg",
        subnet_ids=DR_SUBNETS,
        backup_retention=7,
    )
    dr.update(rep_over)
    return spec


def _dr_world(dr_subnets=None, **dr_over):
    dr_subnets = DR_SUBNETS if dr_subnets is None else dr_subnets
    east = FakeRds(
        {
            "pg": _instance("pg"),
            "pg-replica-1": _instance(
                "pg-replica-1", MultiAZ=False, ReadReplicaSourceDBInstanceIdentifier="pg"
            ),
        },
        {"pg": {"Subnets": [{"SubnetIdentifier": "s-1"}, {"SubnetIdentifier": "s-2"}]}},
    )
    replica = dict(
        KmsKeyId=SPEC["replicas"][1]["kms_key_arn"],
        ReadReplicaSourceDBInstanceIdentifier=PRIMARY_ARN,
        VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-rds-dr"}],
        BackupRetentionPeriod=7,
        DBSubnetGroup={
            "DBSubnetGroupName": "pg",
            "Subnets": [{"SubnetIdentifier": s} for s in DR_SUBNETS],
        },
    )
    replica.update(dr_over)
    west = FakeRds(
        {"pg-dr": _instance("pg-dr", **replica)},
        {"pg": {"Subnets": [{"SubnetIdentifier": s} for s in dr_subnets]}},
    )

    def clients(service, region="us-east-1"):
        assert service == "rds"
        return west if region == "us-west-2" else east

    return clients


def test_the_dr_replica_in_the_dr_network_with_backups_is_converged():
    differences, outputs = rds_state(_dr_world(), _dr_spec())
    assert differences == []
    dr = outputs["replicas"]["dr"]
    assert dr["subnet_group"] == "pg"
    assert dr["security_group_ids"] == ["sg-rds-dr"]
    assert dr["backup_retention"] == 7
    assert outputs["dr_subnet_group"] == {
        "name": "pg",
        "region": "us-west-2",
        "subnet_ids": sorted(DR_SUBNETS),
    }


@pytest.mark.parametrize(
    ("world", "needle"),
    [
        (
            _dr_world(BackupRetentionPeriod=0),
            "read replica pg-dr (us-west-2): backup retention is 0, want 7",
        ),
        (
            _dr_world(VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-default"}]),
            "read replica pg-dr (us-west-2): security groups is ['sg-default'], want ['sg-rds-dr']",
        ),
        (
            _dr_world(DBSubnetGroup={"DBSubnetGroupName": "default", "Subnets": []}),
            "read replica pg-dr (us-west-2): subnet group is default, want pg",
        ),
        (
            _dr_world(DBSubnetGroup={"DBSubnetGroupName": "pg", "Subnets": []}),
            "read replica pg-dr (us-west-2): subnets is [], want",
        ),
        (
            _dr_world(dr_subnets=["subnet-db-dr-a"]),
            "DB subnet group pg (us-west-2): subnets ['subnet-db-dr-a'], want",
        ),
    ],
)
def test_dr_replica_drift_is_named(world, needle):
    differences, _outputs = rds_state(world, _dr_spec())
    assert any(d.startswith(needle) for d in differences), differences


def test_a_missing_dr_subnet_group_is_named():
    world = _dr_world()
    world("rds", "us-west-2").subnet_groups.clear()
    differences, outputs = rds_state(world, _dr_spec())
    assert "DB subnet group pg (us-west-2) does not exist" in differences
    assert "dr_subnet_group" not in outputs


def test_replica_subnets_are_skipped_where_the_subnet_group_cannot_be_read_back():
    """moto reports a cross-region replica's subnet group as the source region's group of
    the same name: the lab compares the name only (check_replica_subnets false)."""
    got = {"DBSubnetGroup": {"DBSubnetGroupName": "pg", "Subnets": [{"SubnetIdentifier": "s-1"}]}}
    rep = {"subnet_group": "pg", "subnet_ids": DR_SUBNETS, "backup_retention": None}
    assert [c[0] for c in replica_checks(got, rep)] == ["subnet group", "subnets"]
    assert replica_checks(got, rep, check_subnets=False) == [("subnet group", "pg", "pg")]


# ------------------------------------------------------------------ Kinesis DR copies
class FakeKinesis:
    def __init__(self, streams):
        self.streams = streams

    def describe_stream_summary(self, StreamName):
        if StreamName not in self.streams:
            raise _missing("DescribeStreamSummary")
        return {"StreamDescriptionSummary": self.streams[StreamName]}

    def list_tags_for_stream(self, StreamName):
        return {"Tags": TAG_LIST}


class FakeKms:
    def __init__(self, key_id):
        self.key_id = key_id

    def describe_key(self, KeyId):
        return {"KeyMetadata": {"KeyId": self.key_id}}


def _stream(key_id):
    return {
        "StreamARN": "arn:stream",
        "StreamStatus": "ACTIVE",
        "OpenShardCount": 2,
        "RetentionPeriodHours": 168,
        "EncryptionType": "KMS",
        "KeyId": f"arn:aws:kms:region:1:key/{key_id}",
    }


KINESIS_SPEC = {
    "tags": TAGS,
    "key_alias": "alias/tradeops-lab-data",
    "streams": [
        {"key": "orders", "name": "tradeops-lab-orders", "shards": 2, "retention_hours": 168}
    ],
    "dr_region": "us-west-2",
}


def _kinesis_world(dr_streams):
    east = FakeKinesis({"tradeops-lab-orders": _stream("east-key")})
    west = FakeKinesis(dr_streams)

    def clients(service, region=None):
        if service == "kms":
            return FakeKms("west-key" if region == "us-west-2" else "east-key")
        return west if region == "us-west-2" else east

    return clients


def test_kinesis_dr_copies_same_names_with_the_dr_key():
    world = _kinesis_world({"tradeops-lab-orders": _stream("west-key")})
    differences, outputs = kinesis_state(world, KINESIS_SPEC)
    assert differences == []
    assert set(outputs["streams"]) == set(outputs["dr_streams"]) == {"orders"}
    assert outputs["dr_region"] == "us-west-2"


def test_kinesis_dr_copy_missing_or_with_the_primary_key():
    differences, _state = kinesis_state(_kinesis_world({}), KINESIS_SPEC)
    assert differences == ["stream tradeops-lab-orders (us-west-2) does not exist"]
    world = _kinesis_world({"tradeops-lab-orders": _stream("east-key")})
    differences, _state = kinesis_state(world, KINESIS_SPEC)
    assert differences == [
        "stream tradeops-lab-orders (us-west-2): not encrypted with alias/tradeops-lab-data"
    ]


def test_kinesis_without_a_dr_region_describes_one_region():
    spec = dict(KINESIS_SPEC, dr_region="")
    differences, outputs = kinesis_state(_kinesis_world({}), spec)
    assert differences == [] and "dr_streams" not in outputs


# ------------------------------------------------------------------ DR state records
PREFIX = "/tradeops/lab/dr"


class FakeSsm:
    def __init__(self, values):
        self.values = values

    def get_parameters(self, Names):
        return {
            "Parameters": [{"Name": n, "Value": self.values[n]} for n in Names if n in self.values]
        }


def _record(active="us-east-1", epoch=1):
    return json.dumps(
        {
            "active_region": active,
            "epoch": epoch,
            "changed_at": "2026-12-01T00:00:00Z",
            "run_id": "site-init",
            "verb": "init",
            "reason": "site.yml",
        }
    )


DR_STATE_SPEC = {
    "prefix": PREFIX,
    "regions": ["us-east-1", "us-west-2"],
    "records": ["active", "epochs/00000001"],
    "tags": TAGS,
}


def _ssm_world(east, west):
    regions = {"us-east-1": FakeSsm(east), "us-west-2": FakeSsm(west)}

    def clients(service, region=None):
        assert service == "ssm"
        return regions[region]

    return clients


def _both(record):
    return {f"{PREFIX}/active": record, f"{PREFIX}/epochs/00000001": _record()}


def test_dr_state_converged_in_both_regions():
    differences, outputs = dr_state_state(
        _ssm_world(_both(_record()), _both(_record())), DR_STATE_SPEC
    )
    assert differences == []
    assert outputs["active_region"] == "us-east-1" and outputs["epoch"] == 1
    assert set(outputs["regions"]) == {"us-east-1", "us-west-2"}


def test_a_missing_record_is_named_with_its_region():
    west = {f"{PREFIX}/active": _record()}
    differences, _state = dr_state_state(_ssm_world(_both(_record()), west), DR_STATE_SPEC)
    assert differences == [f"DR state {PREFIX}/epochs/00000001 (us-west-2) does not exist"]


def test_a_failed_over_state_is_converged_and_authoritative():
    """After a failover the DR region's record is at epoch 2: nothing to create, and the
    outputs name the DR region as active even when the old region still says epoch 1."""
    moved = _record("us-west-2", 2)
    differences, outputs = dr_state_state(_ssm_world(_both(_record()), _both(moved)), DR_STATE_SPEC)
    assert differences == []
    assert outputs["active_region"] == "us-west-2" and outputs["epoch"] == 2
    assert outputs["authoritative_regions"] == ["us-west-2"]


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("not json", "is not a DR record (not JSON"),
        (json.dumps({"active_region": "us-east-1", "epoch": 0}), "epoch 0 is not a positive"),
        (_record("eu-west-1"), "names eu-west-1, not one of"),
    ],
)
def test_a_record_that_is_not_a_dr_record_is_reported_not_rewritten(value, needle):
    differences, _state = dr_state_state(_ssm_world(_both(value), _both(_record())), DR_STATE_SPEC)
    assert len(differences) == 1 and needle in differences[0], differences
    assert differences[0].startswith(f"DR state {PREFIX}/active (us-east-1)")

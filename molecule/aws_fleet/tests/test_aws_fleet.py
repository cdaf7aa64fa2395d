"""aws_fleet's effect in the scenario's moto: the lab's engine instances (fleet) and the DR
region's warm standby launched from its template (fleet-dr), as the lab's plan says
(inventories/lab/group_vars/all/fleet.yml), in the prepared networks with the security
layer's profile and data keys. Not here: the cluster placement group, which moto does not
model (the lab switches it off, inventories/lab/group_vars/all/aws_lab.yml)."""

from __future__ import annotations

import pytest

DR = "us-west-2"
PLAN = {
    "engine-c5n-1": "c5n.18xlarge",
    "engine-c5n-2": "c5n.18xlarge",
    "engine-metal-1": "c5n.metal",
}
DR_PLAN = {"engine-west-1": "c5n.18xlarge"}


def _engines(aws, region="us-east-1"):
    reservations = aws("ec2", region).describe_instances(
        Filters=[
            {"Name": "tag:tradeops:role", "Values": ["engine"]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )["Reservations"]
    out = {}
    for reservation in reservations:
        for instance in reservation["Instances"]:
            name = {t["Key"]: t["Value"] for t in instance["Tags"]}["Name"]
            assert name not in out, f"{name} launched twice"
            out[name] = instance
    return out


@pytest.fixture(scope="module")
def engines(aws):
    return _engines(aws)


@pytest.fixture(scope="module")
def dr_engines(aws):
    return _engines(aws, DR)


def _data_key(outputs, region):
    return outputs("security")["kms_keys"]["data"][region]["arn"]


def _root_volume(aws, instance, region="us-east-1"):
    (mapping,) = [m for m in instance["BlockDeviceMappings"] if m["DeviceName"] == "/dev/xvda"]
    return aws("ec2", region).describe_volumes(VolumeIds=[mapping["Ebs"]["VolumeId"]])["Volumes"][0]


def test_one_running_instance_per_planned_engine_of_its_type(engines, dr_engines):
    assert {name: i["InstanceType"] for name, i in engines.items()} == PLAN
    assert {name: i["InstanceType"] for name, i in dr_engines.items()} == DR_PLAN
    for instance in [*engines.values(), *dr_engines.values()]:
        assert instance["State"]["Name"] == "running"


@pytest.mark.parametrize(("region", "layer"), [("us-east-1", "network"), (DR, "network-dr")])
def test_engines_require_imdsv2_in_a_private_subnet_behind_the_nodes_group(
    aws, outputs, region, layer
):
    network = outputs(layer)
    private = network["subnets"]["private"][0]["id"]
    for name, instance in _engines(aws, region).items():
        assert instance["MetadataOptions"]["HttpTokens"] == "required", name
        assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 1, name
        assert instance["SubnetId"] == private, name
        assert instance["VpcId"] == network["vpc_id"], name
        assert not instance.get("PublicIpAddress"), name
        primary = [n for n in instance["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0]
        assert [g["GroupId"] for g in primary[0]["Groups"]] == [network["security_groups"]["nodes"]]


@pytest.mark.parametrize("region", ["us-east-1", DR])
def test_engines_run_with_the_engine_profile_on_an_encrypted_gp3_root(aws, outputs, region):
    profile = outputs("security")["instance_profiles"]["engine"]
    for name, instance in _engines(aws, region).items():
        assert instance["IamInstanceProfile"]["Arn"] == profile, name
        root = _root_volume(aws, instance, region)
        assert root["Encrypted"] is True, name
        assert root["KmsKeyId"] == _data_key(outputs, region), name
        assert (root["VolumeType"], root["Size"]) == ("gp3", 50), name


@pytest.mark.parametrize("region", ["us-east-1", DR])
def test_engines_carry_the_standard_tags_and_the_engine_role(aws, tags, region, standard_tags):
    for name, instance in _engines(aws, region).items():
        assert set(tags(instance)) >= standard_tags, name
        assert tags(instance)["tradeops:role"] == "engine", name
        assert tags(instance)["Environment"] == "lab", name


def test_the_market_data_engine_has_its_second_nic(aws, engines, outputs):
    nics = {n["Attachment"]["DeviceIndex"]: n for n in engines["engine-c5n-1"]["NetworkInterfaces"]}
    assert set(nics) == {0, 1}
    assert nics[1]["SubnetId"] == outputs("network")["subnets"]["private"][0]["id"]
    assert [len(engines[n]["NetworkInterfaces"]) for n in ("engine-c5n-2", "engine-metal-1")] == [
        1,
        1,
    ]


def test_the_dr_engine_comes_from_its_template_with_imdsv2_and_the_dr_key(
    aws, dr_engines, outputs, tags
):
    ec2 = aws("ec2", DR)
    (template,) = ec2.describe_launch_templates(LaunchTemplateNames=["tradeops-lab-engine-dr"])[
        "LaunchTemplates"
    ]
    assert (
        tags(dr_engines["engine-west-1"])["aws:ec2launchtemplate:id"]
        == (template["LaunchTemplateId"])
    )
    data = ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Default"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True and root["Ebs"]["VolumeType"] == "gp3"
    assert root["Ebs"]["KmsKeyId"] == _data_key(outputs, DR)
    assert data["NetworkInterfaces"][0]["Groups"] == [
        outputs("network-dr")["security_groups"]["nodes"]
    ]
    assert data["IamInstanceProfile"]["Arn"] == outputs("security")["instance_profiles"]["engine"]


def test_the_outputs_name_each_engine(engines, dr_engines, outputs):
    assert {n: i["id"] for n, i in outputs("fleet")["instances"].items()} == {
        n: i["InstanceId"] for n, i in engines.items()
    }
    assert {n: i["id"] for n, i in outputs("fleet-dr")["instances"].items()} == {
        n: i["InstanceId"] for n, i in dr_engines.items()
    }

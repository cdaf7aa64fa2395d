"""The AWS layers against moto: preflight, create, no-op, check mode, security, teardown.

The tests run in file order and share one moto account: invalid inputs first (on an empty
account: nothing may be created), then one create from empty that the later tests inspect,
and the teardown last.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from ..support import AWS_LAYERS, ROOT, VENV_BIN, ansible_env, run_playbook
from .apilog import ApiLog

pytestmark = pytest.mark.moto

SITE = "playbooks/aws/site.yml"

# Every ansible-playbook output of the module, to prove no secret ever reaches a log.
TRANSCRIPTS: list[str] = []
ALLOWED_PREFLIGHT_READS = {"GetCallerIdentity", "ListAccountAliases", "DescribeAvailabilityZones"}


def _env(aws_api, outputs_dir):
    return ansible_env(
        TRADEOPS_MOTO_PORT=str(aws_api.port), TRADEOPS_AWS_OUTPUTS_DIR=str(outputs_dir)
    )


def _run(aws_api, outputs_dir, *args):
    mark = aws_api.mark()
    proc = run_playbook(SITE, *args, env=_env(aws_api, outputs_dir))
    TRANSCRIPTS.append(proc.stdout + proc.stderr)
    return proc, aws_api.since(mark)


# Tag runs of one layer also leave the other layer hosts out (the drift test runs a plain
# --tags run, as an operator would): the same layer converges, in less time.
RDS_ONLY = json.dumps({"tradeops_aws_layers": ["rds"]})
EKS_ONLY = json.dumps({"tradeops_aws_layers": ["eks"]})


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    recap = {}
    for line in stdout.split("PLAY RECAP")[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if match:
            recap[match.group(1)] = {
                k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))
            }
    return recap


def _seven_per_tier(base: int) -> list[str]:
    return [f"10.0.{base + i}.0/24" for i in range(7)]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        pytest.param(
            {
                "tradeops_aws_layers": ["network", "security"],
                "aws_network_subnets": {
                    "public": ["10.0.101.0/24", "10.0.101.128/25", "10.0.103.0/24"],
                    "private": ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
                    "database": ["10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24"],
                },
            },
            "overlapping: 10.0.101.0/24 and 10.0.101.128/25",
            id="overlapping-subnets",
        ),
        pytest.param(
            {
                "tradeops_aws_layers": ["network", "security"],
                "aws_network_subnets": {
                    "public": ["10.0.101.0/24", "10.0.102.0/24", "10.0.103.0/24"],
                    "private": ["10.1.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
                    "database": ["10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24"],
                },
            },
            "10.1.1.0/24 not inside the VPC 10.0.0.0/16",
            id="subnet-outside-vpc",
        ),
        pytest.param(
            {
                "tradeops_aws_layers": ["network", "security"],
                "aws_network_az_count": 7,
                "aws_network_subnets": {
                    "public": _seven_per_tier(101),
                    "private": _seven_per_tier(1),
                    "database": _seven_per_tier(11),
                },
            },
            "aws_network_az_count is 7 but us-east-1 offers 6 zones",
            id="az-count-region-lacks",
        ),
        pytest.param(
            {
                "tradeops_aws_layers": ["network", "network-dr", "security"],
                "aws_network_dr_vpc_cidr": "10.0.0.0/16",
            },
            (
                "aws_network_vpc_cidr (10.0.0.0/16) and aws_network_dr_vpc_cidr"
                " (10.0.0.0/16) overlap",
                "aws_network_dr_subnets: 10.1.101.0/24",
            ),
            id="dr-vpc-overlaps-primary",
        ),
        pytest.param(
            {"aws_network_flow_logs_retention_days": 42},
            "aws_network_flow_logs_retention_days must be one of",
            id="flow-log-retention",
        ),
        pytest.param(
            {
                "tradeops_aws_layers": ["kinesis", "network"],
                "aws_kinesis_streams": [
                    {"name": "market-data", "shards": 2, "retention_hours": 10}
                ],
            },
            "retention_hours between 24 and 8760",
            id="kinesis-retention",
        ),
        pytest.param(
            {
                "tradeops_aws_layers": ["s3", "network"],
                "aws_s3_buckets": [
                    {
                        "key": "compliance",
                        "encryption": "aws:kms",
                        "object_lock": {"mode": "COMPLIANCE", "days": 40000},
                    }
                ],
            },
            "object-lock",
            id="object-lock-retention",
        ),
        pytest.param(
            {"tradeops_aws_layers": ["rds", "network"], "aws_rds_backup_retention_days": 40},
            "aws_rds_backup_retention_days must be 1 to 35 days",
            id="rds-retention",
        ),
        pytest.param(
            {"tradeops_aws_layers": ["eks", "network"], "aws_eks_version": "1.28"},
            "aws_eks_version must be major.minor and at least 1.32",
            id="eks-unsupported-version",
        ),
        pytest.param(
            {
                "tradeops_aws_layers": ["eks", "network"],
                "aws_eks_nodegroup_overrides": {"general": {"desired_size": 50}},
            },
            "general: min/desired/max 3/50/10",
            id="eks-desired-above-max",
        ),
    ],
)
def test_invalid_input_fails_in_preflight_before_any_change(
    moto, aws_api, outputs_dir, extra, needle
):
    """Most cases run the failing layer with one other (tradeops_aws_layers), which shows
    that a bad input stops every layer as well as all fourteen would, in a fraction of the
    time; flow-log-retention runs them all."""
    moto.reset()
    proc, calls = _run(aws_api, outputs_dir, "-e", json.dumps(extra))
    assert proc.returncode != 0, proc.stdout[-3000:]
    for text in needle if isinstance(needle, tuple) else (needle,):
        assert text in " ".join(proc.stdout.split()), proc.stdout[-3000:]
    # Reads only: the inventory (DescribeInstances), the account guard (STS, IAM aliases)
    # and the region's zones; no layer has started.
    assert not ApiLog.mutating(calls), f"mutating calls before the preflight failed: {calls}"
    assert set(calls) <= ALLOWED_PREFLIGHT_READS | {"DescribeInstances"}, calls
    assert "no layer has been started" in " ".join(proc.stdout.split()), proc.stdout[-3000:]


def test_a_failed_layer_stops_the_layers_built_on_it(moto, aws_api, tmp_path):
    """The security layer fails (its outputs file cannot be written); kinesis, which builds
    on it (its streams are encrypted with the layer's key), stops with the reason instead of
    waiting or creating streams. (Security rather than network: the same ordering, in a
    third of the time the network layer takes to build before it fails.)"""
    moto.reset()
    outputs = tmp_path / "outputs"
    (outputs / "security.json").mkdir(parents=True)
    layers = {"tradeops_aws_layers": ["security", "kinesis"]}
    proc, calls = _run(aws_api, outputs, "-e", json.dumps(layers))
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "The security layer failed in this run" in " ".join(proc.stdout.split())
    recap = _recap(proc.stdout)
    assert recap["aws-security"]["failed"] == 1
    assert recap["aws-kinesis"]["failed"] == 1
    assert "CreateStream" not in calls and "DescribeStreamSummary" not in calls, calls
    assert not (outputs / "kinesis.json").exists()


@pytest.fixture(scope="module")
def created(moto, aws_api, outputs_dir):
    moto.reset()
    proc, calls = _run(aws_api, outputs_dir)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc, calls


def test_create_from_empty(created, outputs_dir):
    proc, calls = created
    recap = _recap(proc.stdout)
    for layer in AWS_LAYERS:
        assert recap[f"aws-{layer}"]["failed"] == 0
        assert recap[f"aws-{layer}"]["changed"] > 0, f"{layer} created nothing"
        assert (outputs_dir / f"{layer}.json").is_file()
    network = json.loads((outputs_dir / "network.json").read_text())
    assert len(network["subnets"]["private"]) == 3
    assert len(network["nat_gateway_ids"]) == 3
    fleet = json.loads((outputs_dir / "fleet.json").read_text())
    assert set(fleet["instances"]) == {"engine-c5n-1", "engine-c5n-2", "engine-metal-1"}
    assert len(fleet["instances"]["engine-c5n-1"]["enis"]) == 2
    assert ApiLog.summary(calls)["mutating"] > 0
    rds = json.loads((outputs_dir / "rds.json").read_text())
    assert set(rds["replicas"]) == {"replica-1", "dr"}
    assert rds["replicas"]["dr"]["region"] == "us-west-2"
    redis = json.loads((outputs_dir / "elasticache.json").read_text())
    assert redis["primary_endpoint"]["Port"] == 6379
    eks = json.loads((outputs_dir / "eks.json").read_text())
    assert set(eks["nodegroups"]) == {"general", "compute-spot", "memory"}
    backup = json.loads((outputs_dir / "backup.json").read_text())
    assert set(backup["vaults"]) == {"primary", "dr"}
    assert ":us-west-2:" in backup["vaults"]["dr"]["arn"]
    network_dr = json.loads((outputs_dir / "network-dr.json").read_text())
    assert network_dr["vpc_cidr"] == "10.1.0.0/16"
    assert network_dr["name"] == network["name"]  # same names: one set of flows, two regions
    assert len(network_dr["subnets"]["database"]) == 3
    assert len(network_dr["nat_gateway_ids"]) == 1  # the lab's DR network: one shared NAT
    fleet_dr = json.loads((outputs_dir / "fleet-dr.json").read_text())
    assert set(fleet_dr["instances"]) == {"engine-west-1"}
    assert fleet_dr["region"] == "us-west-2"
    eks_dr = json.loads((outputs_dir / "eks-dr.json").read_text())
    assert set(eks_dr["nodegroups"]) == set(eks["nodegroups"])
    kinesis = json.loads((outputs_dir / "kinesis.json").read_text())
    assert set(kinesis["dr_streams"]) == set(kinesis["streams"]) == {"market-data", "order-events"}
    dr_state = json.loads((outputs_dir / "dr-state.json").read_text())
    assert (dr_state["active_region"], dr_state["epoch"]) == ("us-east-1", 1)


def test_rerun_changes_nothing_and_makes_no_mutating_call(created, aws_api, outputs_dir):
    proc, calls = _run(aws_api, outputs_dir)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in _recap(proc.stdout).values()), (
        proc.stdout[-4000:]
    )
    assert not ApiLog.mutating(calls), f"mutating calls on a no-op run: {ApiLog.mutating(calls)}"


def test_check_mode_on_converged_reports_nothing(created, aws_api, outputs_dir):
    proc, calls = _run(aws_api, outputs_dir, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(r["changed"] == 0 for r in _recap(proc.stdout).values()), proc.stdout[-4000:]
    assert not ApiLog.mutating(calls)


def test_drift_is_detected_and_repaired(created, moto, aws_api, outputs_dir):
    """An out-of-band rule on the RDS group is noticed by the state call and purged."""
    ec2 = moto.client("ec2")
    sg = json.loads((outputs_dir / "network.json").read_text())["security_groups"]["rds"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    proc, _ = _run(aws_api, outputs_dir, "--tags", "network")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-network"]["changed"] >= 1
    perms = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
    assert all(p.get("FromPort") != 22 for p in perms)


def test_a_key_left_without_its_alias_is_named_again_not_duplicated(
    created, moto, aws_api, outputs_dir
):
    """A run interrupted between CreateKey and CreateAlias leaves a key no alias finds:
    the next run names it (same tags and description) instead of creating another."""
    kms = moto.client("kms", "us-west-2")
    alias = "alias/tradeops-lab-data"
    key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    keys_before = sorted(k["KeyId"] for k in kms.list_keys()["Keys"])
    kms.delete_alias(AliasName=alias)
    proc, calls = _run(aws_api, outputs_dir, "--tags", "security")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id
    assert sorted(k["KeyId"] for k in kms.list_keys()["Keys"]) == keys_before
    assert "CreateKey" not in calls and "CreateAlias" in calls, calls


def _bucket_named(moto, suffix: str) -> str:
    (name,) = [
        b["Name"] for b in moto.client("s3").list_buckets()["Buckets"] if b["Name"].endswith(suffix)
    ]
    return name


def _instance_named(moto, name: str) -> dict:
    ec2 = moto.client("ec2")
    (inst,) = [
        i
        for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])[
            "Reservations"
        ]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]
    return inst


DRIFT_LAYERS = ["network", "s3", "kinesis", "fleet", "eks"]


def test_drift_made_through_the_api_in_five_layers_is_repaired_by_one_run(
    created, moto, aws_api, outputs_dir
):
    """Issue 23's list, drifted at once outside Ansible (S3 encryption, S3 public access,
    IMDSv2 on an engine, a security-group rule, a route, a Kinesis retention) plus the S3
    Bucket Key, the flow logs' retention and an IRSA role's trust opened to every service
    account of the cluster: one --tags run of those layers notices each (the layer's state
    call) and repairs it (its converge), and the next run is a no-op."""
    ec2, s3, kinesis = moto.client("ec2"), moto.client("s3"), moto.client("kinesis")
    network = json.loads((outputs_dir / "network.json").read_text())
    kms_arn = _data_key(moto, "us-east-1")
    # 1. S3 encryption: the market-data bucket falls back to SSE-S3.
    market_data = _bucket_named(moto, "-market-data")
    s3.put_bucket_encryption(
        Bucket=market_data,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    # 2. S3 public access: the backups bucket lets public policies in.
    backups = _backups_bucket(moto)
    s3.put_public_access_block(
        Bucket=backups,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    # 3. The S3 Bucket Key off (SSE-KMS kept) on the compliance bucket.
    compliance = _bucket_named(moto, "-compliance")
    s3.put_bucket_encryption(
        Bucket=compliance,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": kms_arn,
                    },
                    "BucketKeyEnabled": False,
                }
            ]
        },
    )
    # 4. IMDSv1 allowed again on an engine. Every option is named: moto drops the ones a
    # ModifyInstanceMetadataOptions call leaves out (AWS keeps them), and ec2_instance's
    # repair then sends None for those and fails.
    engine = _instance_named(moto, "engine-c5n-1")
    ec2.modify_instance_metadata_options(
        InstanceId=engine["InstanceId"],
        HttpTokens="optional",
        HttpEndpoint="enabled",
        HttpPutResponseHopLimit=1,
        HttpProtocolIpv6="disabled",
        InstanceMetadataTags="disabled",
    )
    # 5. A security-group rule removed: HTTPS from the VPC to the nodes.
    nodes = network["security_groups"]["nodes"]
    ec2.revoke_security_group_ingress(
        GroupId=nodes,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": network["vpc_cidr"]}],
            }
        ],
    )
    # 6. A route removed: a private subnet's default route through its NAT gateway.
    private_table = network["route_tables"]["tradeops-lab-private-a"]
    ec2.delete_route(RouteTableId=private_table, DestinationCidrBlock="0.0.0.0/0")
    # 7. A Kinesis retention cut to a day.
    stream = "tradeops-lab-market-data"
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=24)
    # 8. The flow logs kept a day instead of the inventory's retention.
    moto.client("logs").put_retention_policy(
        logGroupName=network["flow_log_group"], retentionInDays=1
    )
    # 9. An IRSA role's trust opened to every service account of the cluster (sub dropped).
    iam, irsa_role = moto.client("iam"), "tradeops-lab-order-api"
    widened = json.loads(json.dumps(_irsa_roles(moto)[irsa_role]["AssumeRolePolicyDocument"]))
    conditions = widened["Statement"][0]["Condition"]["StringEquals"]
    sub = next(k for k in conditions if k.endswith(":sub"))
    del conditions[sub]
    iam.update_assume_role_policy(RoleName=irsa_role, PolicyDocument=json.dumps(widened))
    layers = json.dumps({"tradeops_aws_layers": DRIFT_LAYERS})
    proc, calls = _run(aws_api, outputs_dir, "--tags", ",".join(DRIFT_LAYERS), "-e", layers)
    assert proc.returncode == 0, proc.stdout[-6000:]
    # The trust is put back by its own call (the role is not recreated).
    assert "UpdateAssumeRolePolicy" in ApiLog.mutating(calls), ApiLog.mutating(calls)
    assert "DeleteRole" not in ApiLog.mutating(calls), ApiLog.mutating(calls)
    restored = _irsa_roles(moto)[irsa_role]["AssumeRolePolicyDocument"]
    assert restored["Statement"][0]["Condition"]["StringEquals"][sub].endswith(":order-api")
    recap = _recap(proc.stdout)
    for layer in DRIFT_LAYERS:
        assert recap[f"aws-{layer}"]["changed"] >= 1, (layer, proc.stdout[-4000:])

    sse = s3.get_bucket_encryption(Bucket=market_data)["ServerSideEncryptionConfiguration"]["Rules"]
    assert sse[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=backups)["PublicAccessBlockConfiguration"]
    assert all(block.values()), block
    sse = s3.get_bucket_encryption(Bucket=compliance)["ServerSideEncryptionConfiguration"]
    assert sse["Rules"][0]["BucketKeyEnabled"] is True
    meta = _instance_named(moto, "engine-c5n-1")["MetadataOptions"]
    assert meta["HttpTokens"] == "required", meta
    perms = ec2.describe_security_groups(GroupIds=[nodes])["SecurityGroups"][0]["IpPermissions"]
    assert any(
        p.get("FromPort") == 443
        and {"CidrIp": network["vpc_cidr"]}
        in [{"CidrIp": r["CidrIp"]} for r in p.get("IpRanges", [])]
        for p in perms
    ), perms
    table = ec2.describe_route_tables(RouteTableIds=[private_table])["RouteTables"][0]
    assert any(
        r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("NatGatewayId")
        for r in table["Routes"]
    ), table["Routes"]
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 168
    group = moto.client("logs").describe_log_groups(logGroupNamePrefix=network["flow_log_group"])
    assert group["logGroups"][0]["retentionInDays"] == 90
    # Repaired means converged: the same run again changes nothing and mutates nothing.
    proc, calls = _run(aws_api, outputs_dir, "--tags", ",".join(DRIFT_LAYERS), "-e", layers)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(r["changed"] == 0 for r in _recap(proc.stdout).values()), proc.stdout[-4000:]
    assert not ApiLog.mutating(calls), ApiLog.mutating(calls)


def test_security_posture(created, moto):
    ec2 = moto.client("ec2")
    for sg in ec2.describe_security_groups()["SecurityGroups"]:
        if sg["GroupName"] == "default":
            continue
        for perm in sg["IpPermissions"]:
            open_world = any(r["CidrIp"] == "0.0.0.0/0" for r in perm.get("IpRanges", []))
            open_world |= any(r["CidrIpv6"] == "::/0" for r in perm.get("Ipv6Ranges", []))
            if open_world:
                assert sg["GroupName"].endswith("-alb"), f"{sg['GroupName']} is open to the world"
                assert perm["FromPort"] in (80, 443) and perm["FromPort"] == perm["ToPort"]
    groups = {g["GroupName"]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert groups["tradeops-lab-rds"]["IpPermissionsEgress"] == []
    assert groups["tradeops-lab-redis"]["IpPermissionsEgress"] == []

    s3 = moto.client("s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert len(buckets) == 7  # logs-dr: the DR load balancer's access logs
    for name in buckets:
        region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        s3r = moto.client("s3", region)
        rules = s3r.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in (
            "aws:kms",
            "AES256",
        )
        block = s3r.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert all(block.values()), f"{name}: {block}"
        assert s3r.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    instances = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]
    assert len(instances) == 3
    for inst in instances:
        assert inst["MetadataOptions"]["HttpTokens"] == "required"

    kms = moto.client("kms")
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"].startswith("alias/tradeops-"):
            assert kms.get_key_rotation_status(KeyId=alias["TargetKeyId"])["KeyRotationEnabled"]


# seeds/003's tag set, with the lab's values (ManagedBy: any value).
REQUIRED_TAGS = {
    "Environment": "lab",
    "Project": "tradeops",
    "CostCenter": "lab",
    "Team": "devops",
    "Compliance": "none",
}


def _tagged(tags) -> bool:
    if isinstance(tags, list):
        tags = {t.get("Key", t.get("TagKey")): t.get("Value", t.get("TagValue")) for t in tags}
    return REQUIRED_TAGS.items() <= (tags or {}).items() and "ManagedBy" in (tags or {})


def test_everything_is_tagged(created, moto):
    for region in ("us-east-1", "us-west-2"):  # the primary and the DR region's copies
        ec2 = moto.client("ec2", region)
        proj = [{"Name": "tag:Project", "Values": ["tradeops"]}]
        vpcs = ec2.describe_vpcs(Filters=proj)["Vpcs"]
        assert len(vpcs) == 1, region
        vpc = [{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]
        for what, items in {
            "subnet": ec2.describe_subnets(Filters=vpc)["Subnets"],
            "route table": [
                t
                for t in ec2.describe_route_tables(Filters=vpc)["RouteTables"]
                if not any(a.get("Main") for a in t.get("Associations", []))
            ],
            "security group": [
                g
                for g in ec2.describe_security_groups(Filters=vpc)["SecurityGroups"]
                if g["GroupName"] != "default"
            ],
            "nat gateway": ec2.describe_nat_gateways(Filter=vpc)["NatGateways"],
            "internet gateway": ec2.describe_internet_gateways()["InternetGateways"],
            "elastic ip": ec2.describe_addresses()["Addresses"],
            "vpc endpoint": ec2.describe_vpc_endpoints(Filters=vpc)["VpcEndpoints"],
            "instance": [
                i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
            ],
            "flow log": ec2.describe_flow_logs()["FlowLogs"],
        }.items():
            assert items, (region, what)
            for item in items:
                assert _tagged(item.get("Tags")), f"{what} {item} ({region}) is not tagged"
        kinesis = moto.client("kinesis", region)
        for stream in kinesis.list_streams()["StreamNames"]:
            assert _tagged(kinesis.list_tags_for_stream(StreamName=stream)["Tags"]), stream
        eks = moto.client("eks", region)
        for name in eks.list_clusters()["clusters"]:
            assert _tagged(eks.describe_cluster(name=name)["cluster"]["tags"]), name
            for ng in eks.list_nodegroups(clusterName=name)["nodegroups"]:
                got = eks.describe_nodegroup(clusterName=name, nodegroupName=ng)["nodegroup"]
                assert _tagged(got["tags"]), (region, ng)
    ec2 = moto.client("ec2", "us-west-2")
    templates = ec2.describe_launch_templates()["LaunchTemplates"]
    assert templates
    for template in templates:  # tagged by CreateTags (docs/aws.md): read them as it left them
        tags = ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [template["LaunchTemplateId"]]}]
        )["Tags"]
        assert _tagged(tags), template
    iam = moto.client("iam")
    for role in iam.list_roles()["Roles"]:
        if role["RoleName"].startswith("tradeops-"):
            assert _tagged(iam.get_role(RoleName=role["RoleName"])["Role"].get("Tags")), role[
                "RoleName"
            ]
    sm = moto.client("secretsmanager")
    for secret in sm.list_secrets()["SecretList"]:
        assert _tagged(secret.get("Tags")), secret["Name"]
    s3 = moto.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        assert _tagged(s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]), bucket["Name"]
    for region in ("us-east-1", "us-west-2"):
        rds = moto.client("rds", region)
        for db in rds.describe_db_instances()["DBInstances"]:
            assert _tagged(db.get("TagList")), db["DBInstanceIdentifier"]
        for group in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
            tags = rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"])["TagList"]
            assert _tagged(tags), (region, group["DBSubnetGroupName"])
    ec = moto.client("elasticache")
    for group in ec.describe_replication_groups()["ReplicationGroups"]:
        tags = ec.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
        assert _tagged(tags), group["ReplicationGroupId"]
    r53 = moto.client("route53")
    for zone in r53.list_hosted_zones()["HostedZones"]:
        zid = zone["Id"].split("/")[-1]
        tags = r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zid)
        assert _tagged(tags["ResourceTagSet"]["Tags"]), zone["Name"]


def _data_key(moto, region):
    kms = moto.client("kms", region)
    return kms.describe_key(KeyId="alias/tradeops-lab-data")["KeyMetadata"]["Arn"]


def test_rds_is_encrypted_multi_az_with_30_day_backups_and_replicas(created, moto):
    rds = moto.client("rds")
    primary = rds.describe_db_instances(DBInstanceIdentifier="tradeops-lab-pg")["DBInstances"][0]
    assert primary["StorageEncrypted"] is True
    assert primary["KmsKeyId"] == _data_key(moto, "us-east-1")
    assert primary["MultiAZ"] is True
    assert primary["BackupRetentionPeriod"] == 30
    assert primary["PubliclyAccessible"] is False
    assert primary["MonitoringInterval"] == 60
    assert primary["StorageType"] == "gp3"
    groups = [g["VpcSecurityGroupId"] for g in primary["VpcSecurityGroups"]]
    sg = moto.client("ec2").describe_security_groups(GroupIds=groups)["SecurityGroups"]
    assert [g["GroupName"] for g in sg] == ["tradeops-lab-rds"]
    replica = rds.describe_db_instances(DBInstanceIdentifier="tradeops-lab-pg-replica-1")[
        "DBInstances"
    ][0]
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == "tradeops-lab-pg"
    dr = moto.client("rds", "us-west-2").describe_db_instances(
        DBInstanceIdentifier="tradeops-lab-pg-dr"
    )["DBInstances"][0]
    assert dr["ReadReplicaSourceDBInstanceIdentifier"] == primary["DBInstanceArn"]
    assert dr["StorageEncrypted"] is True
    assert dr["KmsKeyId"] == _data_key(moto, "us-west-2")
    # The AWS Backup plan selects the primary by its Backup=true tag, not the replicas.
    tags = {t["Key"]: t["Value"] for t in primary["TagList"]}
    assert tags["Backup"] == "true" and tags["Environment"] == "lab"
    assert "Backup" not in {t["Key"] for t in replica["TagList"]}


def test_a_removed_backup_tag_on_the_database_is_put_back(created, moto, aws_api, outputs_dir):
    """Without Backup=true AWS Backup would silently skip the database: the RDS layer's
    state call notices the missing tag and the converge (an update of the existing
    primary) puts it back."""
    rds = moto.client("rds")
    arn = rds.describe_db_instances(DBInstanceIdentifier="tradeops-lab-pg")["DBInstances"][0][
        "DBInstanceArn"
    ]
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["Backup"])
    proc, calls = _run(aws_api, outputs_dir, "--tags", "rds", "-e", RDS_ONLY)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-rds"]["changed"] >= 1
    assert "AddTagsToResource" in ApiLog.mutating(calls)
    tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}
    assert tags["Backup"] == "true"


def test_redis_is_encrypted_with_failover_and_auth(created, moto):
    ec = moto.client("elasticache")
    group = ec.describe_replication_groups(ReplicationGroupId="tradeops-lab")["ReplicationGroups"][
        0
    ]
    assert group["AtRestEncryptionEnabled"] is True
    assert group["KmsKeyId"] == _data_key(moto, "us-east-1")
    assert group["TransitEncryptionEnabled"] is True
    assert group["AuthTokenEnabled"] is True
    assert group["AutomaticFailover"] == "enabled"
    assert group["MultiAZ"] == "enabled"
    assert group["SnapshotRetentionLimit"] == 7


def test_eks_version_endpoint_and_logging(created, moto):
    cluster = moto.client("eks").describe_cluster(name="tradeops-lab")["cluster"]
    assert cluster["version"] == "1.35"
    assert cluster["resourcesVpcConfig"]["endpointPrivateAccess"] is True
    assert cluster["resourcesVpcConfig"]["endpointPublicAccess"] is False
    enabled = {t for e in cluster["logging"]["clusterLogging"] if e["enabled"] for t in e["types"]}
    assert enabled == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert cluster["encryptionConfig"][0]["provider"]["keyArn"] == _data_key(moto, "us-east-1")
    spot = moto.client("eks").describe_nodegroup(
        clusterName="tradeops-lab", nodegroupName="compute-spot"
    )["nodegroup"]
    assert spot["capacityType"] == "SPOT"
    assert spot["scalingConfig"] == {"minSize": 2, "maxSize": 20, "desiredSize": 2}


def test_node_group_scales_by_a_variable_change(created, moto, aws_api, outputs_dir):
    eks = moto.client("eks")

    def desired():
        return eks.describe_nodegroup(clusterName="tradeops-lab", nodegroupName="general")[
            "nodegroup"
        ]["scalingConfig"]["desiredSize"]

    scale = json.dumps({"aws_eks_nodegroup_overrides": {"general": {"desired_size": 5}}})
    proc, calls = _run(aws_api, outputs_dir, "--tags", "eks", "-e", scale, "-e", EKS_ONLY)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-eks"]["changed"] >= 1
    assert desired() == 5
    assert set(ApiLog.mutating(calls)) == {"POST eks"}, ApiLog.mutating(calls)
    proc, calls = _run(aws_api, outputs_dir, "--tags", "eks", "-e", scale, "-e", EKS_ONLY)
    assert _recap(proc.stdout)["aws-eks"]["changed"] == 0
    assert not ApiLog.mutating(calls)
    # Back to the inventory's size: the file's later tests expect the converged lab.
    proc, _ = _run(aws_api, outputs_dir, "--tags", "eks", "-e", EKS_ONLY)
    assert proc.returncode == 0 and desired() == 3, proc.stdout[-4000:]


def test_no_secret_in_any_output_or_log(created, moto, outputs_dir):
    sm = moto.client("secretsmanager")
    redis = json.loads(sm.get_secret_value(SecretId="tradeops-lab/redis-auth")["SecretString"])
    pg = json.loads(sm.get_secret_value(SecretId="tradeops-lab/rds-master")["SecretString"])
    secrets = [redis["token"], pg["password"]]
    assert all(len(v) >= 16 for v in secrets)
    texts = TRANSCRIPTS + [p.read_text() for p in outputs_dir.glob("*.json")]
    assert len(texts) > 3
    for text in texts:
        for value in secrets:
            assert value not in text


# ------------------------------------------------------------- the DR region's footprint
DR = "us-west-2"
DR_PREFIX = "/tradeops/lab/dr"


def _vpc(moto, region):
    vpcs = moto.client("ec2", region).describe_vpcs(
        Filters=[{"Name": "tag:Project", "Values": ["tradeops"]}]
    )["Vpcs"]
    assert len(vpcs) == 1, (region, vpcs)
    return vpcs[0]


def _flows(moto, region):
    """The region's security groups as region-neutral flows: peers by group name, the
    VPC's own range as "vpc" (what makes two regions' groups comparable)."""
    vpc = _vpc(moto, region)
    groups = moto.client("ec2", region).describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    )["SecurityGroups"]
    names = {g["GroupId"]: g["GroupName"] for g in groups}
    out = {}
    for group in groups:
        if group["GroupName"] == "default":
            continue
        flows = set()
        for direction in ("IpPermissions", "IpPermissionsEgress"):
            for perm in group[direction]:
                ports = (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
                for rng in perm.get("IpRanges", []):
                    peer = "vpc" if rng["CidrIp"] == vpc["CidrBlock"] else rng["CidrIp"]
                    flows.add((direction, *ports, peer, rng.get("Description")))
                for pair in perm.get("UserIdGroupPairs", []):
                    flows.add((direction, *ports, names[pair["GroupId"]], pair.get("Description")))
        out[group["GroupName"]] = flows
    return out


def test_dr_network_has_its_own_range_and_the_primarys_flows(created, moto, outputs_dir):
    primary, dr = _vpc(moto, "us-east-1"), _vpc(moto, DR)
    assert (primary["CidrBlock"], dr["CidrBlock"]) == ("10.0.0.0/16", "10.1.0.0/16")
    ec2 = moto.client("ec2", DR)
    in_vpc = [{"Name": "vpc-id", "Values": [dr["VpcId"]]}]
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    assert len(subnets) == 9 and all(s["CidrBlock"].startswith("10.1.") for s in subnets)
    # One definition of the flows, two regions: the same groups with the same rules.
    flows = _flows(moto, DR)
    assert flows == _flows(moto, "us-east-1")
    assert {"tradeops-lab-alb", "tradeops-lab-nodes", "tradeops-lab-rds"} <= set(flows)
    # Gateways, endpoints and the flow log as the primary has them (one NAT in the lab's DR).
    assert ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [dr["VpcId"]]}]
    )["InternetGateways"]
    nats = [n for n in ec2.describe_nat_gateways(Filter=in_vpc)["NatGateways"]]
    assert len(nats) == 1 and nats[0]["State"] == "available"
    services = {
        e["ServiceName"] for e in ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    }
    assert services == {f"com.amazonaws.{DR}.{s}" for s in ("s3", "dynamodb", "kinesis-streams")}
    logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [dr["VpcId"]]}])
    assert len(logs["FlowLogs"]) == 1
    private = {s["SubnetId"] for s in subnets if {"Key": "Tier", "Value": "private"} in s["Tags"]}
    for table in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]:
        if {a.get("SubnetId") for a in table.get("Associations", [])} & private:
            assert {r.get("NatGatewayId") for r in table["Routes"]} >= {nats[0]["NatGatewayId"]}


def test_rds_dr_replica_in_the_dr_network_with_backups(created, moto, outputs_dir):
    network_dr = json.loads((outputs_dir / "network-dr.json").read_text())
    rds = moto.client("rds", DR)
    replica = rds.describe_db_instances(DBInstanceIdentifier="tradeops-lab-pg-dr")["DBInstances"][0]
    # The DR network's rds group (in the DR VPC), not the primary's nor a default one.
    groups = [g["VpcSecurityGroupId"] for g in replica["VpcSecurityGroups"]]
    assert groups == [network_dr["security_groups"]["rds"]]
    sg = moto.client("ec2", DR).describe_security_groups(GroupIds=groups)["SecurityGroups"][0]
    assert sg["VpcId"] == network_dr["vpc_id"]
    # The subnet group of that name in the DR region holds the DR database subnets. (moto
    # reports a cross-region replica's group as the source region's: docs/aws.md.)
    assert replica["DBSubnetGroup"]["DBSubnetGroupName"] == "tradeops-lab-pg"
    group = rds.describe_db_subnet_groups(DBSubnetGroupName="tradeops-lab-pg")["DBSubnetGroups"][0]
    dr_db = {s["id"] for s in network_dr["subnets"]["database"]}
    assert {s["SubnetIdentifier"] for s in group["Subnets"]} == dr_db
    assert group["VpcId"] == network_dr["vpc_id"]
    # Backups on the replica (the role's 7 days; moto created it with the source's 30, so
    # this is the converge's own ModifyDBInstance).
    assert replica["BackupRetentionPeriod"] == 7


def test_dr_engine_runs_from_its_launch_template(created, moto, outputs_dir):
    network_dr = json.loads((outputs_dir / "network-dr.json").read_text())
    security = json.loads((outputs_dir / "security.json").read_text())
    ec2 = moto.client("ec2", DR)
    (inst,) = [
        i
        for r in ec2.describe_instances(
            Filters=[{"Name": "tag:Name", "Values": ["engine-west-1"]}]
        )["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]
    tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
    assert tags["tradeops:role"] == "engine" and tags["Environment"] == "lab"
    assert inst["InstanceType"] == "c5n.18xlarge"
    assert inst["SubnetId"] in {s["id"] for s in network_dr["subnets"]["private"]}
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["IamInstanceProfile"]["Arn"] == security["instance_profiles"]["engine"]
    assert [g["GroupId"] for g in inst["NetworkInterfaces"][0]["Groups"]] == [
        network_dr["security_groups"]["nodes"]
    ]
    (template,) = ec2.describe_launch_templates(LaunchTemplateNames=["tradeops-lab-engine-dr"])[
        "LaunchTemplates"
    ]
    assert tags["aws:ec2launchtemplate:id"] == template["LaunchTemplateId"]
    data = ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Default"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] and root["Ebs"]["VolumeType"] == "gp3"
    assert root["Ebs"]["KmsKeyId"] == _data_key(moto, DR)
    assert data["NetworkInterfaces"][0]["Groups"] == [network_dr["security_groups"]["nodes"]]


def test_the_inventory_finds_both_regions_engines_with_their_region(created, aws_api):
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "--list"],
        cwd=ROOT,
        env=ansible_env(TRADEOPS_MOTO_PORT=str(aws_api.port)),
        capture_output=True,
        text=True,
        check=True,
    )
    inventory = json.loads(proc.stdout)
    # ansible-core 2.19 marks composed (templated) values as unsafe in the JSON it prints.
    hostvars = {
        host: {k: v.get("__ansible_unsafe", v) if isinstance(v, dict) else v for k, v in hv.items()}
        for host, hv in inventory["_meta"]["hostvars"].items()
    }
    assert set(inventory["engines_ec2"]["hosts"]) == {
        "engine-c5n-1",
        "engine-c5n-2",
        "engine-metal-1",
        "engine-west-1",
    }
    assert hostvars["engine-west-1"]["tradeops_region"] == DR
    assert hostvars["engine-c5n-1"]["tradeops_region"] == "us-east-1"
    assert inventory["region_us_west_2"]["hosts"] == ["engine-west-1"]


def test_dr_eks_is_a_warm_standby_of_the_primary(created, moto):
    eks = moto.client("eks", DR)
    cluster = eks.describe_cluster(name="tradeops-lab")["cluster"]
    assert cluster["encryptionConfig"][0]["provider"]["keyArn"] == _data_key(moto, DR)
    primary = moto.client("eks")
    for name in ("general", "compute-spot", "memory"):
        got = eks.describe_nodegroup(clusterName="tradeops-lab", nodegroupName=name)["nodegroup"]
        ref = primary.describe_nodegroup(clusterName="tradeops-lab", nodegroupName=name)
        assert got["scalingConfig"]["minSize"] == got["scalingConfig"]["desiredSize"] == 1
        assert got["scalingConfig"]["maxSize"] == ref["nodegroup"]["scalingConfig"]["maxSize"]
        assert got["instanceTypes"] == ref["nodegroup"]["instanceTypes"]


def test_dr_streams_and_state_records(created, moto):
    kinesis = moto.client("kinesis", DR)
    for name in ("tradeops-lab-market-data", "tradeops-lab-order-events"):
        got = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        assert got["EncryptionType"] == "KMS"
        assert got["KeyId"] in ("alias/tradeops-lab-data", _data_key(moto, DR))
    for region in ("us-east-1", DR):
        ssm = moto.client("ssm", region)
        names = [f"{DR_PREFIX}/active", f"{DR_PREFIX}/epochs/00000001"]
        found = {p["Name"]: p["Value"] for p in ssm.get_parameters(Names=names)["Parameters"]}
        assert set(found) == set(names), region
        for value in found.values():
            record = json.loads(value)
            assert (record["active_region"], record["epoch"], record["verb"]) == (
                "us-east-1",
                1,
                "init",
            )
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", record["changed_at"])
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=names[0])["TagList"]
        assert _tagged(tags), region


# ------------------------------------------------------------- the backups bucket
# The backup agents' repositories live under restic/ and pgbackrest/ of the backups bucket
# (inventories/lab/group_vars/all/backup.yml, roles/backup_pgbackrest): no lifecycle rule
# may move or expire them (docs/backups.md, "The backups bucket").


def _backups_bucket(moto) -> str:
    names = [b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]]
    (name,) = [n for n in names if n.endswith("-backups")]
    return name


def _repository_prefixes() -> set[str]:
    """The prefixes the agents really use, read from the lab's and the role's variables."""
    lab = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/backup.yml").read_text())
    pg = yaml.safe_load((ROOT / "roles/backup_pgbackrest/defaults/main.yml").read_text())
    restic = re.search(
        r"/\{\{ tradeops_lab_backup_bucket \}\}/([^/]+/)", lab["backup_restic_repository"]
    )
    assert restic, lab["backup_restic_repository"]
    assert "backup_pgbackrest_repo_path" not in lab
    return {restic.group(1), pg["backup_pgbackrest_repo_path"].lstrip("/").split("/")[0] + "/"}


def _lifecycle(moto, bucket):
    return moto.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]


def _run_s3(aws_api, outputs_dir, *args):
    mark = aws_api.mark()
    # The S3 layer alone, as an operator runs one layer (the registry's sequential playbook).
    proc = run_playbook(
        "playbooks/aws/sequential.yml",
        "-e",
        json.dumps({"tradeops_aws_layers": ["s3"]}),
        *args,
        env=_env(aws_api, outputs_dir),
    )
    TRANSCRIPTS.append(proc.stdout + proc.stderr)
    return proc, aws_api.since(mark)


def test_lifecycle_keeps_the_backup_repositories_readable(created, moto):
    repos = _repository_prefixes()
    assert repos == {"restic/", "pgbackrest/"}
    rules = _lifecycle(moto, _backups_bucket(moto))
    for rule in rules:
        prefix = rule["Filter"]["Prefix"]
        if rule.get("Transitions") or "Days" in rule.get("Expiration", {}):
            assert prefix and not any(
                prefix.startswith(kept) or kept.startswith(prefix) for kept in repos
            ), rule
    by_prefix = {r["Filter"]["Prefix"]: r for r in rules}
    for kept in repos:
        rule = by_prefix[kept]
        assert rule["Status"] == "Enabled"
        assert set(rule) - {"ID", "Filter", "Status"} == {
            "NoncurrentVersionExpiration",
            "AbortIncompleteMultipartUpload",
        }, rule
    archive = by_prefix["archive/"]  # seed 003's tiers
    assert archive["Transitions"] == [
        {"Days": 30, "StorageClass": "STANDARD_IA"},
        {"Days": 90, "StorageClass": "GLACIER"},
    ]
    assert archive["Expiration"] == {"Days": 365}


def test_a_tier_rule_over_a_repository_fails_in_preflight(created, aws_api, outputs_dir):
    buckets = [
        {
            "key": "backups",
            "protected_prefixes": ["restic/", "pgbackrest/"],
            "lifecycle": [
                {"id": "tiers", "transitions": [{"days": 90, "storage_class": "GLACIER"}]}
            ],
        }
    ]
    proc, calls = _run_s3(aws_api, outputs_dir, "-e", json.dumps({"aws_s3_buckets": buckets}))
    assert proc.returncode != 0
    flat = " ".join(proc.stdout.split())
    assert 'backups/tiers: prefix "" moves or expires the protected prefix restic/' in flat, (
        proc.stdout[-3000:]
    )
    assert not ApiLog.mutating(calls)


def test_the_old_whole_bucket_tiers_rule_is_replaced(created, moto, aws_api, outputs_dir):
    """An environment built before the repositories were protected has one rule, "tiers",
    over the whole bucket: the state call notices it and the converge replaces it."""
    bucket = _backups_bucket(moto)
    old = {
        "ID": "tiers",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Transitions": [
            {"Days": 30, "StorageClass": "STANDARD_IA"},
            {"Days": 90, "StorageClass": "GLACIER"},
        ],
        "Expiration": {"Days": 365},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
    }
    moto.client("s3").put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [old]}
    )
    proc, _calls = _run_s3(aws_api, outputs_dir)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["localhost"]["changed"] >= 1, proc.stdout[-4000:]
    assert sorted(r["ID"] for r in _lifecycle(moto, bucket)) == [
        "archive-tiers",
        "pgbackrest-repositories",
        "restic-repositories",
    ]
    proc, calls = _run_s3(aws_api, outputs_dir)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["localhost"]["changed"] == 0
    assert not ApiLog.mutating(calls)


def _dr_records(moto):
    out = {}
    for region in ("us-east-1", DR):
        ssm = moto.client("ssm", region)
        for param in ssm.get_parameters_by_path(Path=DR_PREFIX, Recursive=True)["Parameters"]:
            out[(region, param["Name"])] = (param["Value"], param["Version"])
    return out


def test_a_converge_never_undoes_a_failover(created, moto, aws_api, outputs_dir):
    """A failover (simulated as the runbook records it: epochs/00000002 claimed, active moved
    to the DR region at epoch 2) survives a converge of the DR layers that runs every task:
    no record is rewritten, and the DR cluster is sized like the primary's, not shrunk back
    to its warm-standby size."""
    moved = json.dumps(
        {
            "active_region": DR,
            "epoch": 2,
            "changed_at": "2026-12-01T00:00:00Z",
            "run_id": "test-failover",
            "verb": "failover",
            "reason": "test",
        },
        separators=(",", ":"),
    )
    for region in ("us-east-1", DR):
        ssm = moto.client("ssm", region)
        ssm.put_parameter(Name=f"{DR_PREFIX}/epochs/00000002", Value=moved, Type="String")
        ssm.put_parameter(Name=f"{DR_PREFIX}/active", Value=moved, Type="String", Overwrite=True)
    before = _dr_records(moto)
    layers = {"tradeops_aws_layers": ["dr-state", "eks-dr"], "tradeops_aws_skip_converged": False}
    proc, calls = _run(aws_api, outputs_dir, "-e", json.dumps(layers))
    assert proc.returncode == 0, proc.stdout[-4000:]
    recap = _recap(proc.stdout)
    assert recap["aws-dr-state"]["changed"] == 0, proc.stdout[-4000:]
    assert "PutParameter" not in calls and "DeleteParameter" not in calls, ApiLog.mutating(calls)
    assert _dr_records(moto) == before
    dr_state = json.loads((outputs_dir / "dr-state.json").read_text())
    assert (dr_state["active_region"], dr_state["epoch"]) == (DR, 2)
    # The DR region is active: its node groups take the primary's sizes.
    assert recap["aws-eks-dr"]["changed"] >= 1
    eks = moto.client("eks", DR)
    general = eks.describe_nodegroup(clusterName="tradeops-lab", nodegroupName="general")
    assert general["nodegroup"]["scalingConfig"] == {"minSize": 3, "maxSize": 10, "desiredSize": 3}


def test_teardown_refuses_without_confirmation(created, aws_api, outputs_dir):
    mark = aws_api.mark()
    proc = run_playbook("playbooks/aws/teardown.yml", env=_env(aws_api, outputs_dir))
    assert proc.returncode != 0
    assert "aws_teardown_confirm" in proc.stdout
    assert not ApiLog.mutating(aws_api.since(mark))
    # A layer's own teardown file is not reached: the preflight stops the play first.
    assert "Tear down the layer" not in proc.stdout
    assert all((outputs_dir / f"{layer}.json").exists() for layer in AWS_LAYERS)


def test_teardown_removes_the_environment(created, moto, aws_api, outputs_dir):
    proc = run_playbook(
        "playbooks/aws/teardown.yml",
        "-e",
        "aws_teardown_confirm=lab",
        env=_env(aws_api, outputs_dir),
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    # One layer at a time, each by its own role's teardown.yml, in the registry's teardown
    # order (the reverse of creation: every layer before the layers it needs).
    order = re.findall(r"TASK \[(?:\S+ : )?Tear down the layer (\S+)\]", proc.stdout)
    assert order == list(reversed(AWS_LAYERS)), order
    for role in ("network", "fleet", "eks", "rds", "security", "backup", "dr_state"):
        assert f"TASK [tradeops.platform.aws_{role} : Teardown |" in proc.stdout, role
    assert not [layer for layer in AWS_LAYERS if (outputs_dir / f"{layer}.json").exists()]
    ec2 = moto.client("ec2")
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["tradeops"]}])["Vpcs"]
    running = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    ]
    assert not running
    assert not moto.client("s3").list_buckets()["Buckets"]
    assert not moto.client("kinesis").list_streams()["StreamNames"]
    assert not moto.client("route53").list_hosted_zones()["HostedZones"]
    assert not moto.client("route53").list_health_checks()["HealthChecks"]
    assert not moto.client("eks").list_clusters()["clusters"]
    # moto never completes a deletion ("deleting" is as far as it goes) and cannot delete
    # a cache subnet group: the lab's teardown leaves that and says so (docs/aws.md).
    assert "subnet group" in proc.stdout and "is left in" in proc.stdout
    groups = moto.client("elasticache").describe_replication_groups()["ReplicationGroups"]
    assert all(g["Status"] == "deleting" for g in groups), groups
    for region in ("us-east-1", "us-west-2"):
        assert not moto.client("rds", region).describe_db_instances()["DBInstances"], region
        assert not moto.client("backup", region).list_backup_vaults()["BackupVaultList"], region
        # The flow logs' groups (names from the network role's vars, one per copy).
        logs = moto.client("logs", region)
        assert not logs.describe_log_groups(logGroupNamePrefix="/tradeops/lab/")["logGroups"]
        assert not moto.client("secretsmanager", region).list_secrets()["SecretList"], region
    assert not moto.client("cloudwatch").describe_alarms(AlarmNamePrefix="tradeops-lab")[
        "MetricAlarms"
    ]
    assert not moto.client("rds").describe_db_subnet_groups()["DBSubnetGroups"]
    # The DR region's footprint: network, engine and its template, cluster, streams, state.
    ec2_dr = moto.client("ec2", DR)
    assert not ec2_dr.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["tradeops"]}])[
        "Vpcs"
    ]
    assert not [
        i
        for r in ec2_dr.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    ]
    assert not ec2_dr.describe_launch_templates()["LaunchTemplates"]
    assert not moto.client("eks", DR).list_clusters()["clusters"]
    assert not moto.client("kinesis", DR).list_streams()["StreamNames"]
    assert not moto.client("rds", DR).describe_db_subnet_groups()["DBSubnetGroups"]
    for region in ("us-east-1", DR):
        ssm = moto.client("ssm", region)
        assert not ssm.get_parameters_by_path(Path=DR_PREFIX, Recursive=True)["Parameters"]
    assert not [
        r["RoleName"]
        for r in moto.client("iam").list_roles()["Roles"]
        if r["RoleName"].startswith("tradeops-lab")
    ]
    for region in ("us-east-1", "us-west-2"):
        kms = moto.client("kms", region)
        for key in kms.list_keys()["Keys"]:
            state = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"]
            assert state == "PendingDeletion", (region, key["KeyId"], state)


# ------------------------------------------------------------- the audit layer
# roles/aws_audit on the platform `created` built: the trail, AWS Config, a stopped trail
# repaired. conftest.py runs these before the teardown tests; the last one, after them.
AUDIT_ONLY = json.dumps({"tradeops_aws_layers": ["audit"]})


def _outputs(outputs_dir, layer):
    return json.loads((outputs_dir / f"{layer}.json").read_text())


def _lab_trail(moto):
    trails = moto.client("cloudtrail").describe_trails()["trailList"]
    (trail,) = [t for t in trails if t["Name"] == "tradeops-lab"]
    return trail


def test_audit_trail_is_multi_region_validated_encrypted_into_the_object_lock_bucket(
    created, moto, outputs_dir
):
    audit = _outputs(outputs_dir, "audit")
    bucket = _outputs(outputs_dir, "s3")["buckets"]["compliance"]["name"]
    key = _outputs(outputs_dir, "security")["kms_keys"]["data"]["us-east-1"]
    trail = _lab_trail(moto)
    assert trail["TrailARN"] == audit["trail"]["arn"]
    assert trail["HomeRegion"] == "us-east-1"
    assert trail["IsMultiRegionTrail"] and trail["IncludeGlobalServiceEvents"]
    assert trail["LogFileValidationEnabled"]
    assert trail["S3BucketName"] == bucket
    assert trail["KmsKeyId"] == key["arn"]
    assert trail["CloudWatchLogsLogGroupArn"].endswith(":log-group:/tradeops/lab/cloudtrail:*")
    # Into the bucket nobody can delete the logs from, for seven years.
    s3 = moto.client("s3")
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    ct = moto.client("cloudtrail")
    assert ct.get_trail_status(Name=trail["TrailARN"])["IsLogging"]
    assert ct.get_event_selectors(TrailName=trail["TrailARN"])["EventSelectors"] == [
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": [],
            "ExcludeManagementEventSources": [],
        }
    ]
    # One trail for every region: the DR region sees it (a shadow trail), none of its own.
    west = moto.client("cloudtrail", DR).describe_trails()["trailList"]
    assert [t["TrailARN"] for t in west] == [trail["TrailARN"]]
    # What lets CloudTrail write on AWS: the bucket policy and the data key's policy.
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (write,) = [st for st in policy["Statement"] if st["Action"] == "s3:PutObject"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Resource"] == f"arn:aws:s3:::{bucket}/AWSLogs/123456789012/*"
    kms = moto.client("kms")
    statements = json.loads(kms.get_key_policy(KeyId=key["id"], PolicyName="default")["Policy"])[
        "Statement"
    ]
    assert {"kms:GenerateDataKey*", "kms:DescribeKey"} <= {
        st["Action"]
        for st in statements
        if st["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    }
    tags = ct.list_tags(ResourceIdList=[trail["TrailARN"]])["ResourceTagList"][0]["TagsList"]
    assert _tagged(tags)


def test_aws_config_records_both_regions_against_the_seeds_rules(created, moto, outputs_dir):
    audit = _outputs(outputs_dir, "audit")
    logs_bucket = _outputs(outputs_dir, "s3")["buckets"]["logs"]["name"]
    key = _outputs(outputs_dir, "security")["kms_keys"]["data"]["us-east-1"]["arn"]
    assert set(audit["config"]["regions"]) == {"us-east-1", DR}
    for region in ("us-east-1", DR):
        cfg = moto.client("config", region)
        (recorder,) = cfg.describe_configuration_recorders()["ConfigurationRecorders"]
        assert recorder["name"] == "tradeops-lab"
        assert recorder["roleARN"] == audit["config"]["role_arn"]
        assert recorder["recordingGroup"]["allSupported"]
        # Global resources (IAM) are recorded once, in the primary region.
        assert recorder["recordingGroup"]["includeGlobalResourceTypes"] == (region == "us-east-1")
        (status,) = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
        assert status["recording"], region
        (channel,) = cfg.describe_delivery_channels()["DeliveryChannels"]
        # Not the Object Lock bucket: AWS Config cannot deliver there.
        assert channel["s3BucketName"] == logs_bucket
        assert channel["s3KmsKeyArn"] == key
        rules = {r["ConfigRuleName"]: r for r in cfg.describe_config_rules()["ConfigRules"]}
        assert {name: r["Source"]["SourceIdentifier"] for name, r in rules.items()} == {
            "encrypted-volumes": "ENCRYPTED_VOLUMES",
            "rds-storage-encrypted": "RDS_STORAGE_ENCRYPTED",
            "s3-bucket-level-public-access-prohibited": "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
            "restricted-ssh": "INCOMING_SSH_DISABLED",
        }
        assert audit["config"]["regions"][region]["rules"] == {
            name: r["ConfigRuleArn"] for name, r in rules.items()
        }
        for rule in rules.values():
            assert _tagged(cfg.list_tags_for_resource(ResourceArn=rule["ConfigRuleArn"])["Tags"])


def test_a_trail_stopped_by_hand_is_detected_and_started_again(created, moto, aws_api, outputs_dir):
    ct = moto.client("cloudtrail")
    ct.stop_logging(Name="tradeops-lab")
    moto.client("config", DR).stop_configuration_recorder(ConfigurationRecorderName="tradeops-lab")
    proc, calls = _run(aws_api, outputs_dir, "--tags", "audit", "-e", AUDIT_ONLY)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-audit"]["changed"] >= 1
    assert ct.get_trail_status(Name="tradeops-lab")["IsLogging"]
    status = moto.client("config", DR).describe_configuration_recorder_status()
    assert status["ConfigurationRecordersStatus"][0]["recording"]
    # Only what had drifted is written: nothing is created or rewritten (the converge runs
    # every task of the layer, each comparing first).
    assert set(ApiLog.mutating(calls)) == {"StartLogging", "StartConfigurationRecorder"}, calls


def test_teardown_removed_the_audit_layer(created, moto, outputs_dir):
    """After test_teardown_removes_the_environment (conftest.py runs it last but this)."""
    assert not (outputs_dir / "audit.json").exists()
    for region in ("us-east-1", DR):
        assert not moto.client("cloudtrail", region).describe_trails()["trailList"], region
        cfg = moto.client("config", region)
        assert not cfg.describe_configuration_recorders()["ConfigurationRecorders"], region
        assert not cfg.describe_delivery_channels()["DeliveryChannels"], region
        assert not cfg.describe_config_rules()["ConfigRules"], region


# ------------------------------------------------------------- the alarms layer
# roles/aws_alarms on the platform `created` built: a topic per severity in both regions,
# KMS-encrypted, every alarm (the layer's, AWS Backup's) notifying one of them; an alarm
# deleted by hand found by the describe (--check) and put back; the teardown's last test
# checks nothing of it is left.
ALARMS_ONLY = {"tradeops_aws_layers": ["alarms"]}
ALARM_FAMILIES = ("rds", "redis", "kinesis", "ec2", "alb")
ALARM_SEVERITIES = ("critical", "warning")


def _alarms_outputs(outputs_dir):
    return json.loads((outputs_dir / "alarms.json").read_text())


def _alarms_everywhere(moto):
    """Every metric alarm of the account, by region."""
    return {
        region: moto.client("cloudwatch", region).describe_alarms()["MetricAlarms"]
        for region in ("us-east-1", DR)
    }


def _alarm_topics(moto, region):
    sns = moto.client("sns", region)
    return {
        t["TopicArn"]: sns.get_topic_attributes(TopicArn=t["TopicArn"])["Attributes"]
        for t in sns.list_topics()["Topics"]
    }


def test_alarms_every_alarm_notifies_an_encrypted_topic_that_exists(created, moto, outputs_dir):
    out = _alarms_outputs(outputs_dir)
    alarms = _alarms_everywhere(moto)
    for region, topics_key in (("us-east-1", "topics"), (DR, "dr_topics")):
        topics = _alarm_topics(moto, region)
        # One topic per severity, encrypted with the region's data key, tagged.
        assert set(out[topics_key]) == set(ALARM_SEVERITIES), out
        for severity, arn in out[topics_key].items():
            assert arn.endswith(f":{region}:123456789012:tradeops-lab-alarms-{severity}")
            assert topics[arn]["KmsMasterKeyId"] == _data_key(moto, region), (region, arn)
            sns = moto.client("sns", region)
            assert _tagged(sns.list_tags_for_resource(ResourceArn=arn)["Tags"]), arn
            # The lab's subscriptions: HTTPS on 127.0.0.1 only.
            subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
            assert [s["Endpoint"] for s in subs] == [
                f"https://127.0.0.1:9/tradeops-lab/alarms/{severity}"
            ], subs
        # Every alarm of the region (this layer's, AWS Backup's) notifies, on ALARM and on
        # OK, a topic of its own region that exists.
        assert alarms[region], region
        for alarm in alarms[region]:
            actions = alarm["AlarmActions"]
            assert actions and alarm["OKActions"] == actions, alarm["AlarmName"]
            assert alarm["ActionsEnabled"] is True
            assert set(actions) <= set(topics), (alarm["AlarmName"], actions)
    names = {r: {a["AlarmName"] for a in alarms[r]} for r in alarms}
    assert set(out["alarms"]) <= names["us-east-1"] and set(out["dr_alarms"]) <= names[DR]
    # 16 + 3 on the data layers and engines, 6 + 6 on the two regions' load balancers.
    assert out["alarm_count"] == len(out["alarms"]) + len(out["dr_alarms"]) == 31
    # What the seeds ask to watch, on the lab's resources (the DR replica's and DR engine's
    # alarms in the DR region).
    for name in (
        "tradeops-lab-rds-cpu",
        "tradeops-lab-rds-free-storage",
        "tradeops-lab-rds-connections",
        "tradeops-lab-rds-replica-1-lag",
        "tradeops-lab-redis-001-memory",
        "tradeops-lab-redis-001-evictions",
        "tradeops-lab-redis-001-replication-lag",
        "tradeops-lab-kinesis-market-data-iterator-age",
        "tradeops-lab-kinesis-order-events-write-throttled",
        "tradeops-lab-ec2-engine-metal-1-status-check",
    ):
        assert name in out["alarms"], name
    assert {"tradeops-lab-rds-dr-lag-critical", "tradeops-lab-ec2-engine-west-1-status-check"} <= (
        set(out["dr_alarms"])
    )
    by_name = {a["AlarmName"]: a for a in alarms["us-east-1"]}
    storage = by_name["tradeops-lab-rds-free-storage"]
    assert storage["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": "tradeops-lab-pg"}]
    assert (storage["Threshold"], storage["AlarmActions"]) == (
        10 * 2**30,
        [out["topics"]["critical"]],
    )
    tags = moto.client("cloudwatch").list_tags_for_resource(ResourceARN=storage["AlarmArn"])
    assert _tagged(tags["Tags"])
    # AWS Backup's alarms notify the warning topic (aws_backup_alarm_severity).
    for name in ("tradeops-lab-backup-failed", "tradeops-lab-backup-age"):
        assert by_name[name]["AlarmActions"] == [out["topics"]["warning"]], by_name[name]


def _dimensions(alarm) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


@pytest.mark.parametrize("region", ("us-east-1", DR))
def test_alarms_watch_the_edge_layers_real_load_balancer_and_target_groups(
    created, moto, outputs_dir, region
):
    """The ALB alarms' dimensions are CloudWatch's names of the load balancer and target
    groups the edge layer built in that region (read from moto, not from the outputs):
    LoadBalancer app/<name>/<id>, TargetGroup targetgroup/<name>/<id>."""
    elbv2 = moto.client("elbv2", region)
    (lb,) = elbv2.describe_load_balancers(Names=["tradeops-lab"])["LoadBalancers"]
    lb_dim = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    assert lb_dim.startswith("app/tradeops-lab/"), lb_dim
    groups = {
        tg["TargetGroupName"]: tg["TargetGroupArn"].rsplit(":", 1)[1]
        for tg in elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])[
            "TargetGroups"
        ]
    }
    assert set(groups) == {"tradeops-lab-api", "tradeops-lab-ws"}, groups
    out = _alarms_outputs(outputs_dir)
    topics = out["dr_topics" if region == DR else "topics"]
    label = "dr-" if region == DR else ""
    alarms = {
        a["AlarmName"]: a
        for a in moto.client("cloudwatch", region).describe_alarms(
            AlarmNamePrefix="tradeops-lab-alb-"
        )["MetricAlarms"]
    }
    wanted = {
        f"tradeops-lab-alb-{label}5xx": ("HTTPCode_ELB_5XX_Count", {"LoadBalancer": lb_dim}),
        f"tradeops-lab-alb-{label}target-5xx": (
            "HTTPCode_Target_5XX_Count",
            {"LoadBalancer": lb_dim},
        ),
    }
    for service in ("api", "ws"):
        dims = {"LoadBalancer": lb_dim, "TargetGroup": groups[f"tradeops-lab-{service}"]}
        wanted[f"tradeops-lab-alb-{label}{service}-unhealthy"] = ("UnHealthyHostCount", dims)
        wanted[f"tradeops-lab-alb-{label}{service}-no-healthy"] = ("HealthyHostCount", dims)
    assert set(alarms) == set(wanted), sorted(alarms)
    for name, (metric, dims) in wanted.items():
        alarm = alarms[name]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApplicationELB", metric), name
        assert _dimensions(alarm) == dims, name
        severity = "warning" if name.endswith("-unhealthy") else "critical"
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topics[severity]], name
    assert set(wanted) <= set(out["dr_alarms" if region == DR else "alarms"])


def test_alarms_an_alarm_deleted_by_hand_is_found_and_put_back(created, moto, aws_api, outputs_dir):
    """Two alarms deleted outside Ansible (one in the DR region) and the critical topic given
    a subscription from Secrets Manager: --check names the changes without a mutating call,
    one run puts back exactly those alarms and subscribes the secret's endpoint (never
    logged), and the run after it changes nothing."""
    home, dr = moto.client("cloudwatch"), moto.client("cloudwatch", DR)
    home.delete_alarms(AlarmNames=["tradeops-lab-rds-cpu"])
    dr.delete_alarms(AlarmNames=["tradeops-lab-rds-dr-lag"])
    endpoint = "https://127.0.0.1:9/tradeops-lab/pager/KEY-from-the-secret"
    moto.client("secretsmanager").create_secret(
        Name="tradeops-lab/alarms/pager", SecretString=endpoint
    )
    subscriptions = {
        "critical": [
            {"protocol": "https", "endpoint": "https://127.0.0.1:9/tradeops-lab/alarms/critical"},
            {"protocol": "https", "endpoint_secret": "tradeops-lab/alarms/pager"},
        ],
        "warning": [
            {"protocol": "https", "endpoint": "https://127.0.0.1:9/tradeops-lab/alarms/warning"}
        ],
    }
    extra = json.dumps({**ALARMS_ONLY, "aws_alarms_subscriptions": subscriptions})
    proc, calls = _run(aws_api, outputs_dir, "--tags", "alarms", "-e", extra, "--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-alarms"]["changed"] >= 1, proc.stdout[-4000:]
    assert not ApiLog.mutating(calls), ApiLog.mutating(calls)
    assert "tradeops-lab-rds-cpu" not in {
        a["AlarmName"] for a in home.describe_alarms()["MetricAlarms"]
    }

    mark = aws_api.mark()
    env = dict(_env(aws_api, outputs_dir), ANSIBLE_SHOW_CUSTOM_STATS="true")
    proc = run_playbook(SITE, "--tags", "alarms", "-e", extra, env=env)
    TRANSCRIPTS.append(proc.stdout + proc.stderr)
    calls = aws_api.since(mark)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert ApiLog.mutating(calls) == {"PutMetricAlarm": 2, "Subscribe": 2}, ApiLog.mutating(calls)
    assert "KEY-from-the-secret" not in proc.stdout + proc.stderr
    names = {a["AlarmName"] for a in home.describe_alarms()["MetricAlarms"]}
    assert "tradeops-lab-rds-cpu" in names
    assert "tradeops-lab-rds-dr-lag" in {
        a["AlarmName"] for a in dr.describe_alarms()["MetricAlarms"]
    }
    for region in ("us-east-1", DR):
        sns = moto.client("sns", region)
        arn = _alarms_outputs(outputs_dir)["topics" if region != DR else "dr_topics"]["critical"]
        got = {
            s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        }
        assert endpoint in got, (region, got)
    # The run summary names the topics and the alarm count.
    stats = proc.stdout.split("CUSTOM STATS")[-1]
    assert "tradeops-lab-alarms-critical, tradeops-lab-alarms-warning" in stats, stats
    assert "31 CloudWatch alarms" in stats, stats
    # The security layer's data key lets CloudWatch publish to the encrypted topics.
    assert "NOT DELIVERED" not in stats, stats
    assert _alarms_outputs(outputs_dir)["cloudwatch_can_publish"] == {"us-east-1": True, DR: True}

    proc, calls = _run(aws_api, outputs_dir, "--tags", "alarms", "-e", extra)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-alarms"]["changed"] == 0, proc.stdout[-4000:]
    assert not ApiLog.mutating(calls), ApiLog.mutating(calls)
    # Back to the lab inventory's subscriptions for the tests after this one.
    for region in ("us-east-1", DR):
        sns = moto.client("sns", region)
        for sub in sns.list_subscriptions()["Subscriptions"]:
            if sub["Endpoint"] == endpoint:
                sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    moto.client("secretsmanager").delete_secret(
        SecretId="tradeops-lab/alarms/pager", ForceDeleteWithoutRecovery=True
    )


def test_teardown_removed_the_alarms_layer(created, moto):
    """Runs after test_teardown_removes_the_environment (conftest.py): no alarm of the layer's
    families, topic or subscription is left in either region."""
    for region in ("us-east-1", DR):
        alarms = moto.client("cloudwatch", region).describe_alarms()["MetricAlarms"]
        left = [
            a["AlarmName"]
            for a in alarms
            if a["AlarmName"].startswith(tuple(f"tradeops-lab-{f}-" for f in ALARM_FAMILIES))
        ]
        assert not left, (region, left)
        sns = moto.client("sns", region)
        assert not [
            t for t in sns.list_topics()["Topics"] if ":tradeops-lab-alarms-" in t["TopicArn"]
        ]
        subs = sns.list_subscriptions()["Subscriptions"]
        assert not [s for s in subs if ":tradeops-lab-alarms-" in s["TopicArn"]], region


# ------------------------------------------------------------- the edge layers
# roles/aws_edge on the platform `created` built, in both regions: the load balancer, its
# certificate, listeners and target groups, the web ACL in front of it. conftest.py runs
# these before the teardown tests; the last one, after them.
EDGE_ONLY = json.dumps({"tradeops_aws_layers": ["edge"]})
EDGE_REGIONS = ("us-east-1", DR)


def _edge_outputs(outputs_dir, layer):
    return json.loads((outputs_dir / f"{layer}.json").read_text())


def _edge_of(outputs_dir, region):
    """(edge outputs, network outputs, logs bucket) of one region's copy."""
    dr = region != "us-east-1"
    s3 = _edge_outputs(outputs_dir, "s3")
    return (
        _edge_outputs(outputs_dir, "edge-dr" if dr else "edge"),
        _edge_outputs(outputs_dir, "network-dr" if dr else "network"),
        s3["dr_buckets" if dr else "buckets"]["logs"]["name"],
    )


@pytest.mark.parametrize("region", EDGE_REGIONS)
def test_edge_alb_is_internet_facing_in_the_public_subnets_with_access_logs(
    created, moto, outputs_dir, region
):
    edge, network, logs_bucket = _edge_of(outputs_dir, region)
    elbv2 = moto.client("elbv2", region)
    arn = edge["load_balancer"]["arn"]
    (lb,) = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert (lb["LoadBalancerName"], lb["Type"], lb["Scheme"]) == (
        "tradeops-lab",
        "application",
        "internet-facing",
    )
    assert lb["VpcId"] == network["vpc_id"]
    public = sorted(s["id"] for s in network["subnets"]["public"])
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == public
    assert lb["SecurityGroups"] == [network["security_groups"]["alb"]]
    # What the DNS layer aliases.
    assert edge["load_balancer"]["dns_name"] == lb["DNSName"]
    assert edge["load_balancer"]["canonical_hosted_zone_id"] == lb["CanonicalHostedZoneId"]
    attrs = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    }
    assert attrs["access_logs.s3.enabled"] == "true"
    assert (attrs["access_logs.s3.bucket"], attrs["access_logs.s3.prefix"]) == (logs_bucket, "alb")
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == "false"  # the lab's; the role default is on
    # Access logs go to a bucket of the load balancer's region, encrypted with SSE-S3 (the
    # only encryption ALB log delivery supports).
    s3 = moto.client("s3", region)
    where = s3.get_bucket_location(Bucket=logs_bucket).get("LocationConstraint") or "us-east-1"
    assert where == region
    sse = s3.get_bucket_encryption(Bucket=logs_bucket)["ServerSideEncryptionConfiguration"]
    assert sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    arns = [arn, *(tg["arn"] for tg in edge["target_groups"].values())]
    for item in elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]:
        assert _tagged(item["Tags"]), item["ResourceArn"]


@pytest.mark.parametrize("region", EDGE_REGIONS)
def test_edge_serves_https_with_tls13_redirects_http_and_routes_by_host(
    created, moto, outputs_dir, region
):
    edge, network, _logs = _edge_of(outputs_dir, region)
    elbv2 = moto.client("elbv2", region)
    found = elbv2.describe_listeners(LoadBalancerArn=edge["load_balancer"]["arn"])["Listeners"]
    listeners = {item["Port"]: item for item in found}
    assert set(listeners) == {80, 443}
    http, https = listeners[80], listeners[443]
    assert http["Protocol"] == "HTTP"
    (redirect,) = http["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert {k: redirect["RedirectConfig"][k] for k in ("Protocol", "Port", "StatusCode")} == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    (policy,) = elbv2.describe_ssl_policies(Names=[https["SslPolicy"]])["SslPolicies"]
    assert set(policy["SslProtocols"]) == {"TLSv1.3", "TLSv1.2"}
    assert [c["CertificateArn"] for c in https["Certificates"]] == [edge["certificate"]["arn"]]
    # The certificate covers the failover names and the region's own.
    hosts = {
        f"{key}.{where}lab.tradeops.example"
        for key in ("api", "ws")
        for where in ("", f"{region}.")
    }
    cert = moto.client("acm", region).describe_certificate(
        CertificateArn=edge["certificate"]["arn"]
    )["Certificate"]
    assert cert["Status"] == "ISSUED" and cert["Type"] == "IMPORTED"  # the lab's self-signed
    assert hosts <= {cert["DomainName"], *cert["SubjectAlternativeNames"]}
    # HTTPS to the pods of each service (seeds/003: API 7999, WebSocket 8080), by Host.
    groups = {
        tg["TargetGroupName"]: tg
        for tg in elbv2.describe_target_groups(
            Names=[tg["name"] for tg in edge["target_groups"].values()]
        )["TargetGroups"]
    }
    rules = [
        r
        for r in elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]
        if not r["IsDefault"]
    ]
    routes = {}
    for rule in rules:
        (condition,) = rule["Conditions"]
        (action,) = rule["Actions"]
        target = next(
            n for n, tg in groups.items() if tg["TargetGroupArn"] == action["TargetGroupArn"]
        )
        routes[target] = set(condition["HostHeaderConfig"]["Values"])
    assert routes == {
        f"tradeops-lab-{key}": {
            f"{key}.lab.tradeops.example",
            f"{key}.{region}.lab.tradeops.example",
        }
        for key in ("api", "ws")
    }
    for name, port in (("tradeops-lab-api", 7999), ("tradeops-lab-ws", 8080)):
        tg = groups[name]
        assert (tg["Protocol"], tg["Port"], tg["TargetType"], tg["VpcId"]) == (
            "HTTPS",
            port,
            "ip",
            network["vpc_id"],
        )
        assert (tg["HealthCheckProtocol"], tg["HealthCheckPath"], tg["Matcher"]["HttpCode"]) == (
            "HTTPS",
            "/health",
            "200",
        )
    (default,) = [
        r for r in elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"] if r["IsDefault"]
    ]
    assert default["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "404"


@pytest.mark.parametrize("region", EDGE_REGIONS)
def test_edge_waf_protects_the_alb_with_the_rate_limit_and_managed_groups(
    created, moto, outputs_dir, region
):
    edge, _network, _logs = _edge_of(outputs_dir, region)
    wafv2 = moto.client("wafv2", region)
    acl = wafv2.get_web_acl_for_resource(ResourceArn=edge["load_balancer"]["arn"])["WebACL"]
    assert acl["ARN"] == edge["web_acl"]["arn"]
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    rate = rules.pop("rate-limit-per-ip")
    # seeds/003: 1000 requests a minute per client IP, then blocked.
    assert rate["Statement"]["RateBasedStatement"] == {
        "Limit": 1000,
        "EvaluationWindowSec": 60,
        "AggregateKeyType": "IP",
    }
    assert rate["Action"] == {"Block": {}}
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]: r["OverrideAction"]
        for r in rules.values()
    }
    assert managed == {
        "AWSManagedRulesCommonRuleSet": {"None": {}},  # XSS among its rules
        "AWSManagedRulesSQLiRuleSet": {"None": {}},
        "AWSManagedRulesKnownBadInputsRuleSet": {"None": {}},
    }
    tags = wafv2.list_tags_for_resource(ResourceARN=acl["ARN"])["TagInfoForResource"]["TagList"]
    assert _tagged(tags)
    # Logs to CloudWatch Logs, credentials redacted.
    logging = wafv2.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    group = "aws-waf-logs-tradeops-lab"
    assert logging["LogDestinationConfigs"] == [
        f"arn:aws:logs:{region}:123456789012:log-group:{group}"
    ]
    redacted = {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]}
    assert {"authorization", "cookie", "x-api-key"} <= redacted
    logs = moto.client("logs", region)
    (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found["retentionInDays"] == 90
    assert _tagged(logs.list_tags_log_group(logGroupName=group)["tags"])


def test_the_alb_group_is_the_only_way_in_from_the_internet_and_only_on_443_and_80(
    created, moto, outputs_dir
):
    for region in EDGE_REGIONS:
        edge, network, _logs = _edge_of(outputs_dir, region)
        ec2 = moto.client("ec2", region)
        open_world = {}
        for sg in ec2.describe_security_groups()["SecurityGroups"]:
            for perm in sg["IpPermissions"]:
                anywhere = any(r["CidrIp"] == "0.0.0.0/0" for r in perm.get("IpRanges", []))
                anywhere |= any(r["CidrIpv6"] == "::/0" for r in perm.get("Ipv6Ranges", []))
                if anywhere:
                    open_world.setdefault(sg["GroupId"], set()).add(
                        (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
                    )
        alb = network["security_groups"]["alb"]
        assert open_world == {alb: {("tcp", 80, 80), ("tcp", 443, 443)}}, region
        # ... and that group is the load balancer's alone: no instance or interface uses it.
        assert not ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [alb]}])[
            "NetworkInterfaces"
        ]
        users = [
            lb["LoadBalancerArn"]
            for lb in moto.client("elbv2", region).describe_load_balancers()["LoadBalancers"]
            if alb in lb.get("SecurityGroups", [])
        ]
        assert users == [edge["load_balancer"]["arn"]], region
        assert all(
            lb["Scheme"] == "internet-facing"
            for lb in moto.client("elbv2", region).describe_load_balancers()["LoadBalancers"]
        )


def test_edge_drift_through_the_api_is_repaired_by_one_run(created, moto, aws_api, outputs_dir):
    """An older TLS policy on the HTTPS listener, access logs off and the web ACL taken off
    the load balancer: one --tags edge run finds and repairs all three; the run after it
    changes nothing. Its summary names the load balancer and the WAF."""
    edge = _edge_outputs(outputs_dir, "edge")
    arn = edge["load_balancer"]["arn"]
    elbv2 = moto.client("elbv2")
    elbv2.modify_listener(
        ListenerArn=edge["listeners"]["https"], SslPolicy="ELBSecurityPolicy-2016-08"
    )
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "access_logs.s3.enabled", "Value": "false"}]
    )
    wafv2 = moto.client("wafv2")
    wafv2.disassociate_web_acl(ResourceArn=arn)
    mark = aws_api.mark()
    env = dict(_env(aws_api, outputs_dir), ANSIBLE_SHOW_CUSTOM_STATS="true")
    proc = run_playbook(SITE, "--tags", "edge", "-e", EDGE_ONLY, env=env)
    calls = aws_api.since(mark)
    TRANSCRIPTS.append(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-edge"]["changed"] >= 1
    (https,) = elbv2.describe_listeners(ListenerArns=[edge["listeners"]["https"]])["Listeners"]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    attrs = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    assert {"Key": "access_logs.s3.enabled", "Value": "true"} in attrs
    assert (
        wafv2.get_web_acl_for_resource(ResourceArn=arn)["WebACL"]["ARN"] == edge["web_acl"]["arn"]
    )
    # Only what had drifted is written: nothing is created or imported again.
    assert set(ApiLog.mutating(calls)) == {
        "ModifyListener",
        "ModifyLoadBalancerAttributes",
        "AssociateWebACL",
    }, calls
    # The run summary names the load balancer and the web ACL.
    text = " ".join(proc.stdout.split())
    assert f"ALB {edge['load_balancer']['dns_name']}" in text
    assert "WAF tradeops-lab: 1000 requests per 60 s per IP" in text
    proc, calls = _run(aws_api, outputs_dir, "--tags", "edge", "-e", EDGE_ONLY)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["aws-edge"]["changed"] == 0
    assert not ApiLog.mutating(calls), calls


def test_teardown_removed_the_edge_layers(created, moto, outputs_dir):
    """After test_teardown_removes_the_environment (conftest.py runs it last but this)."""
    assert not (outputs_dir / "edge.json").exists()
    assert not (outputs_dir / "edge-dr.json").exists()
    # The lab's generated keys went with their certificates.
    assert not list((outputs_dir / "tls").glob("*/key.pem"))
    for region in EDGE_REGIONS:
        elbv2 = moto.client("elbv2", region)
        assert not elbv2.describe_load_balancers()["LoadBalancers"], region
        assert not elbv2.describe_target_groups()["TargetGroups"], region
        assert not moto.client("acm", region).list_certificates()["CertificateSummaryList"], region
        assert not moto.client("wafv2", region).list_web_acls(Scope="REGIONAL")["WebACLs"], region
        logs = moto.client("logs", region)
        assert not logs.describe_log_groups(logGroupNamePrefix="aws-waf-logs-")["logGroups"], region


# ------------------------------------------------------------- DNS aliases the load balancers
def _dns_records(moto, outputs_dir):
    zone = _edge_outputs(outputs_dir, "dns")["zone_id"]
    return moto.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]


def test_dns_failover_pairs_alias_the_two_regions_load_balancers(created, moto, outputs_dir):
    dns = _edge_outputs(outputs_dir, "dns")
    records = _dns_records(moto, outputs_dir)
    albs = {region: _edge_of(outputs_dir, region)[0]["load_balancer"] for region in EDGE_REGIONS}
    r53 = moto.client("route53")
    for key in ("api", "ws"):
        fqdn = f"{key}.lab.tradeops.example."
        pair = {r["Failover"]: r for r in records if r["Name"] == fqdn and r.get("SetIdentifier")}
        assert set(pair) == {"PRIMARY", "SECONDARY"}, pair
        for role, region in (("PRIMARY", "us-east-1"), (("SECONDARY", DR))):
            record = pair[role]
            assert record["Type"] == "A" and not record.get("ResourceRecords"), record
            alias = record["AliasTarget"]
            assert alias["DNSName"].rstrip(".").lower() == albs[region]["dns_name"].lower()
            assert alias["HostedZoneId"] == albs[region]["canonical_hosted_zone_id"]
            assert alias["EvaluateTargetHealth"]
            # Gated by the health check of the region's own name, which aliases the same ALB.
            check = dns["health_checks"][f"tradeops-lab-{key}-{role.lower()}"]
            assert record["HealthCheckId"] == check
            config = r53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
            own = f"{key}.{region}.lab.tradeops.example"
            assert (config["Type"], config["FullyQualifiedDomainName"]) == ("HTTPS", own)
            (regional,) = [
                r for r in records if r["Name"] == own + "." and not r.get("SetIdentifier")
            ]
            assert regional["AliasTarget"]["DNSName"].rstrip(".").lower() == (
                albs[region]["dns_name"].lower()
            )
            # The load balancer serves both names (its certificate and Host rules).
            assert {f"{key}.lab.tradeops.example", own} <= set(
                _edge_of(outputs_dir, region)[0]["hosts"]
            )
    # The placeholder names of earlier versions are gone.
    assert not [r for r in records if r["Type"] == "CNAME"], records


# ------------------------------------------------------------- EKS: OIDC provider and IRSA
# roles/aws_eks on the platform `created` built: each cluster's IAM OIDC provider, the IRSA
# roles trusted through both (only the primary copy creates roles: IAM names are global, and
# the same annotations serve the DR cluster after failover), a trust drifted through the API
# and repaired, the teardown removing them.
def _issuer_host(moto, region):
    cluster = moto.client("eks", region).describe_cluster(name="tradeops-lab")["cluster"]
    return cluster["identity"]["oidc"]["issuer"].removeprefix("https://")


def _irsa_roles(moto):
    roles = moto.client("iam").list_roles()["Roles"]
    return {r["RoleName"]: r for r in roles if r["RoleName"] in IRSA_ROLES}


IRSA_ROLES = {
    "tradeops-lab-order-api": "trading:order-api",
    "tradeops-lab-risk-worker": "trading:risk-worker",
    "tradeops-lab-cluster-autoscaler": "kube-system:cluster-autoscaler",
    "tradeops-lab-ebs-csi-driver": "kube-system:ebs-csi-controller-sa",
}


def test_eks_clusters_have_oidc_providers_and_the_irsa_roles_trust_both(created, moto, outputs_dir):
    iam = moto.client("iam")
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    providers = {p["Arn"] for p in listed}
    hosts = {region: _issuer_host(moto, region) for region in ("us-east-1", DR)}
    assert hosts["us-east-1"] != hosts[DR]
    arns = {}
    for region, host in hosts.items():
        (arn,) = arns[region] = [a for a in providers if a.endswith(":oidc-provider/" + host)]
        got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        assert got["ClientIDList"] == ["sts.amazonaws.com"], region
        assert _tagged(got["Tags"]), region
    eks = _outputs(outputs_dir, "eks")
    assert eks["oidc_provider_arn"].endswith(hosts["us-east-1"])
    assert {r["name"] for r in eks["irsa_roles"].values()} == set(IRSA_ROLES)
    assert _outputs(outputs_dir, "eks-dr")["irsa_roles"] == {}
    # The primary's provider first, then the DR cluster's (eks waited for eks-dr).
    assert eks["irsa_trusted_providers"] == [arns["us-east-1"][0], arns[DR][0]]
    roles = _irsa_roles(moto)
    assert set(roles) == set(IRSA_ROLES)
    for name, subject in IRSA_ROLES.items():
        statements = roles[name]["AssumeRolePolicyDocument"]["Statement"]
        assert len(statements) == 2, statements
        for statement, region in zip(statements, ("us-east-1", DR), strict=True):
            host = hosts[region]
            assert statement["Principal"] == {"Federated": arns[region][0]}
            assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
            assert statement["Condition"]["StringEquals"] == {
                f"{host}:sub": f"system:serviceaccount:{subject}",
                f"{host}:aud": "sts.amazonaws.com",
            }
        assert _tagged(iam.list_role_tags(RoleName=name)["Tags"]), name
    attached = iam.list_attached_role_policies(RoleName="tradeops-lab-ebs-csi-driver")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    ]
    assert iam.list_role_policies(RoleName="tradeops-lab-order-api")["PolicyNames"] == [
        "order-api-irsa"
    ]


def test_every_irsa_annotation_k8s_workloads_renders_names_a_role_trusting_the_cluster(
    created, moto, aws_api, outputs_dir, tmp_path
):
    """The Kubernetes side as an operator runs it (playbooks/k8s/site.yml) on the outputs of
    this account's layers: its preflight holds the annotations to eks.json's verified roles,
    and each annotated role exists in IAM and trusts exactly that service account through
    the cluster's OIDC provider."""
    render = tmp_path / "workloads"
    proc = run_playbook(
        "playbooks/k8s/site.yml",
        "--tags", "k8s_workloads",
        "-e", f"k8s_workloads_network_outputs={outputs_dir / 'network.json'}",
        "-e", f"k8s_workloads_eks_outputs={outputs_dir / 'eks.json'}",
        "-e", f"k8s_workloads_render_dir={render}",
        env=_env(aws_api, outputs_dir),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "every IRSA annotation names a role the eks layer verified" in proc.stdout
    annotated = {}
    for path in sorted(render.iterdir()):
        obj = yaml.safe_load(path.read_text())
        arn = (obj["metadata"].get("annotations") or {}).get("eks.amazonaws.com/role-arn")
        if arn:
            annotated[f"{obj['metadata']['namespace']}:{obj['metadata']['name']}"] = arn
    assert set(annotated) == {
        "trading:order-api",
        "trading:risk-worker",
        "kube-system:cluster-autoscaler",
    }
    provider = _outputs(outputs_dir, "eks")["oidc_provider_arn"]
    host = _issuer_host(moto, "us-east-1")
    iam = moto.client("iam")
    for subject, arn in annotated.items():
        role = iam.get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
        assert role["Arn"] == arn
        statement = role["AssumeRolePolicyDocument"]["Statement"][0]
        assert statement["Principal"] == {"Federated": provider}
        assert statement["Condition"]["StringEquals"][f"{host}:sub"] == (
            f"system:serviceaccount:{subject}"
        )


def test_teardown_removed_the_eks_oidc_providers_and_irsa_roles(created, moto):
    """After test_teardown_removes_the_environment (conftest.py runs it last but this)."""
    iam = moto.client("iam")
    assert not iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert not _irsa_roles(moto)

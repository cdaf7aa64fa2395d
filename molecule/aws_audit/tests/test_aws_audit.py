"""aws_audit's effect in the scenario's moto, with the lab's settings (CloudWatch Logs and
AWS Config on): the trail - multi-region, log-file validation, logging, management events,
encrypted with the data key, delivering into the compliance bucket (Object Lock) and the
log group - and AWS Config's recorder, delivery channel and rules in both regions."""

from __future__ import annotations

import json

import pytest

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "us-west-2")
LOG_GROUP = "/tradeops/lab/cloudtrail"
RULES = {
    "encrypted-volumes": "ENCRYPTED_VOLUMES",
    "rds-storage-encrypted": "RDS_STORAGE_ENCRYPTED",
    "s3-bucket-level-public-access-prohibited": "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
    "restricted-ssh": "INCOMING_SSH_DISABLED",
}


@pytest.fixture(scope="module")
def trail(aws):
    trails = aws("cloudtrail").describe_trails(trailNameList=["tradeops-lab"])["trailList"]
    assert len(trails) == 1
    return trails[0]


def _doc(document):
    return json.loads(document) if isinstance(document, str) else document


def test_the_trail_is_multi_region_with_log_file_validation(trail):
    assert trail["HomeRegion"] == "us-east-1"
    assert trail["IsMultiRegionTrail"] is True
    assert trail["LogFileValidationEnabled"] is True
    assert trail["IncludeGlobalServiceEvents"] is True


def test_the_trail_delivers_into_the_compliance_bucket_encrypted_with_the_data_key(
    aws, outputs, trail
):
    bucket = outputs("s3")["buckets"]["compliance"]["name"]
    assert trail["S3BucketName"] == bucket
    assert bucket in outputs("s3")["object_locked"]
    assert trail["KmsKeyId"] == outputs("security")["kms_keys"]["data"]["us-east-1"]["arn"]


def test_the_trail_is_logging_management_events_only(aws, trail):
    ct = aws("cloudtrail")
    assert ct.get_trail_status(Name=trail["TrailARN"])["IsLogging"] is True
    selectors = ct.get_event_selectors(TrailName=trail["TrailARN"])
    found = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    if found:
        assert [(s["ReadWriteType"], s["IncludeManagementEvents"]) for s in found] == [
            ("All", True)
        ]
        assert all(not s.get("DataResources") for s in found)
    else:
        fields = [f for s in advanced for f in s["FieldSelectors"]]
        assert {"Field": "eventCategory", "Equals": ["Management"]} in fields
        assert not [f for f in fields if f["Field"] == "resources.type"]


def test_the_trail_carries_the_standard_tags(aws, tags, trail, standard_tags):
    listed = aws("cloudtrail").list_tags(ResourceIdList=[trail["TrailARN"]])["ResourceTagList"]
    assert set(tags({"Tags": listed[0]["TagsList"]})) >= standard_tags


def test_the_trail_writes_its_log_group_through_its_own_role(aws, trail):
    assert trail["CloudWatchLogsLogGroupArn"].startswith(
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{LOG_GROUP}:"
    )
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(LOG_GROUP, 90)]
    role_name = "tradeops-lab-cloudtrail-logs"
    assert trail["CloudWatchLogsRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    iam = aws("iam")
    trust = _doc(iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "cloudtrail.amazonaws.com"}]
    policy = _doc(
        iam.get_role_policy(RoleName=role_name, PolicyName="deliver-to-log-group")["PolicyDocument"]
    )
    [statement] = policy["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{LOG_GROUP}:log-stream:{ACCOUNT}_CloudTrail_*"
    )


@pytest.mark.parametrize("region", REGIONS)
def test_config_records_everything_in_each_region(aws, region):
    config = aws("config", region)
    recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert [r["name"] for r in recorders] == ["tradeops-lab"]
    group = recorders[0]["recordingGroup"]
    assert group["allSupported"] is True
    # global resources (IAM) are recorded once, in the primary region
    assert group["includeGlobalResourceTypes"] is (region == "us-east-1")
    assert recorders[0]["roleARN"] == f"arn:aws:iam::{ACCOUNT}:role/tradeops-lab-config"
    status = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert [s["recording"] for s in status] == [True]


@pytest.mark.parametrize("region", REGIONS)
def test_config_delivers_into_the_logs_bucket_encrypted(aws, outputs, region):
    channels = aws("config", region).describe_delivery_channels()["DeliveryChannels"]
    assert len(channels) == 1
    channel = channels[0]
    assert channel["s3BucketName"] == outputs("s3")["buckets"]["logs"]["name"]
    assert channel["s3KmsKeyArn"] == outputs("security")["kms_keys"]["data"]["us-east-1"]["arn"]
    assert channel["configSnapshotDeliveryProperties"]["deliveryFrequency"] == "TwentyFour_Hours"


@pytest.mark.parametrize("region", REGIONS)
def test_config_rules_in_each_region(aws, region):
    config = aws("config", region)
    rules = config.describe_config_rules()["ConfigRules"]
    got = {r["ConfigRuleName"]: r["Source"] for r in rules}
    assert {name: source["SourceIdentifier"] for name, source in got.items()} == RULES
    assert {source["Owner"] for source in got.values()} == {"AWS"}


def test_configs_role_reads_configurations_and_writes_only_its_bucket(aws, outputs):
    iam = aws("iam")
    name = "tradeops-lab-config"
    trust = _doc(iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "config.amazonaws.com"}]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWS_ConfigRole"]
    policy = _doc(
        iam.get_role_policy(RoleName=name, PolicyName="deliver-to-bucket")["PolicyDocument"]
    )
    bucket = outputs("s3")["buckets"]["logs"]["name"]
    resources = [s["Resource"] for s in policy["Statement"]]
    assert resources == [
        f"arn:aws:s3:::{bucket}",
        f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/Config/*",
        outputs("security")["kms_keys"]["data"]["us-east-1"]["arn"],
    ]

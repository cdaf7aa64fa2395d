"""aws_rds's effect in the scenario's moto: the PostgreSQL primary, its in-region read
replica and the cross-region replica, as the lab's plan says (roles/aws_rds/defaults,
inventories/lab/group_vars), in the network and with the keys of the prepared layers.
Not here: Performance Insights and the parameter group, which moto cannot model (the lab
switches them off, inventories/lab/group_vars/all/aws_lab.yml)."""

from __future__ import annotations

import json

import pytest

DR = "us-west-2"
PRIMARY = "tradeops-lab-pg"


@pytest.fixture(scope="module")
def security(outputs):
    return outputs("security")


def _db(aws, identifier, region="us-east-1"):
    return aws("rds", region).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][
        0
    ]


def _tags(db):
    return {t["Key"]: t["Value"] for t in db["TagList"]}


def test_primary_is_multi_az_encrypted_with_the_data_key_and_keeps_30_days(aws, security):
    db = _db(aws, PRIMARY)
    assert db["Engine"] == "postgres" and db["EngineVersion"].startswith("16.")
    assert db["MultiAZ"] is True
    assert db["StorageEncrypted"] is True
    assert db["KmsKeyId"] == security["kms_keys"]["data"]["us-east-1"]["arn"]
    assert db["BackupRetentionPeriod"] == 30
    assert db["PreferredBackupWindow"] == "03:00-04:00"
    assert db["PubliclyAccessible"] is False
    # The lab is torn down by its tests (inventories/lab/group_vars/all/aws_data.yml).
    assert db["DeletionProtection"] is False
    assert (db["StorageType"], db["AllocatedStorage"], db["Iops"]) == ("gp3", 400, 12000)
    assert db["MonitoringInterval"] == 60
    assert db["MonitoringRoleArn"] == security["iam_roles"]["rds-monitoring"]
    assert set(db["EnabledCloudwatchLogsExports"]) == {"postgresql", "upgrade"}


def test_primary_sits_in_the_database_subnets_behind_the_rds_group(aws, outputs):
    network = outputs("network")
    db = _db(aws, PRIMARY)
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [
        network["security_groups"]["rds"]
    ]
    group = db["DBSubnetGroup"]
    assert group["VpcId"] == network["vpc_id"]
    assert {s["SubnetIdentifier"] for s in group["Subnets"]} == {
        s["id"] for s in network["subnets"]["database"]
    }


def test_the_backup_plan_selects_the_primary_by_tag_not_the_replicas(aws):
    primary = _tags(_db(aws, PRIMARY))
    assert primary["Backup"] == "true" and primary["Environment"] == "lab"
    replica = _tags(_db(aws, f"{PRIMARY}-replica-1"))
    assert "Backup" not in replica and replica["Environment"] == "lab"


def test_in_region_read_replica_of_the_primary(aws):
    replica = _db(aws, f"{PRIMARY}-replica-1")
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == PRIMARY
    assert replica["StorageEncrypted"] is True
    assert replica["PubliclyAccessible"] is False
    assert f"{PRIMARY}-replica-1" in _db(aws, PRIMARY)["ReadReplicaDBInstanceIdentifiers"]


def test_cross_region_replica_in_the_dr_network_with_its_key_and_backups(aws, outputs, security):
    network_dr = outputs("network-dr")
    replica = _db(aws, f"{PRIMARY}-dr", DR)
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == _db(aws, PRIMARY)["DBInstanceArn"]
    assert replica["StorageEncrypted"] is True
    assert replica["KmsKeyId"] == security["kms_keys"]["data"][DR]["arn"]
    assert [g["VpcSecurityGroupId"] for g in replica["VpcSecurityGroups"]] == [
        network_dr["security_groups"]["rds"]
    ]
    # The role's own ModifyDBInstance after the create (a replica starts without backups).
    assert replica["BackupRetentionPeriod"] == 7
    group = aws("rds", DR).describe_db_subnet_groups(DBSubnetGroupName=PRIMARY)["DBSubnetGroups"][0]
    assert group["VpcId"] == network_dr["vpc_id"]
    assert {s["SubnetIdentifier"] for s in group["Subnets"]} == {
        s["id"] for s in network_dr["subnets"]["database"]
    }


def test_the_outputs_name_the_databases_and_hold_no_password(aws, outputs, ephemeral):
    rds = outputs("rds")
    assert rds["primary"]["arn"] == _db(aws, PRIMARY)["DBInstanceArn"]
    assert rds["replicas"]["dr"]["region"] == DR
    secret = aws("secretsmanager").get_secret_value(SecretId=rds["master_secret_arn"])
    password = json.loads(secret["SecretString"])["password"]
    assert len(password) >= 16
    assert password not in (ephemeral / "aws-outputs" / "rds.json").read_text()

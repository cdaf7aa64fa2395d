"""Unit tests for rds_replica_promote (module_utils/dr promote_replica).

The promotion's sequence of states is played with botocore Stubber from response shapes
written from the RDS API reference (fixtures/dr/rds.json, SOURCES.md); moto's in-process
mock shows what the lab sees: PromoteReadReplica accepted, the instance unchanged.
"""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (
    DrError,
    promote_replica,
)
from ansible_collections.tradeops.platform.plugins.modules import rds_replica_promote
from botocore.stub import Stubber
from moto import mock_aws

from .docs import documented_options

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "dr" / "rds.json").read_text())
DB = "tradeops-lab-dr"


def response(name):
    return copy.deepcopy(FIXTURES[name])


class FakeClock:
    """time.monotonic / time.sleep for waits: sleeping advances the clock, nothing blocks."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def rds():
    client = boto3.client(
        "rds", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def describe(stub, name):
    stub.add_response("describe_db_instances", response(name), {"DBInstanceIdentifier": DB})


def promote(client, clock, **kwargs):
    args = dict(
        backup_retention_period=7,
        preferred_backup_window="03:00-04:00",
        wait_timeout=600,
        wait_delay=15,
        sleep=clock.sleep,
        clock=clock.clock,
    )
    args.update(kwargs)
    return promote_replica(client, DB, **args)


def test_promotion_waits_for_the_transition_and_verifies(rds):
    client, stub = rds
    clock = FakeClock()
    describe(stub, "replica_available")
    stub.add_response(
        "promote_read_replica",
        response("promote_response"),
        {
            "DBInstanceIdentifier": DB,
            "BackupRetentionPeriod": 7,
            "PreferredBackupWindow": "03:00-04:00",
        },
    )
    # Still "available" just after the call: a waiter for available would stop here.
    describe(stub, "replica_available")
    describe(stub, "promoting_modifying")
    describe(stub, "promoting_rebooting")
    describe(stub, "promoted_available")
    result = promote(client, clock)
    assert (result["changed"], result["action"], result["post_state_verified"]) == (
        True,
        "promote",
        True,
    )
    assert result["before"]["read_replica_source"].endswith(":db:tradeops-lab")
    assert result["after"]["read_replica_source"] is None
    assert result["after"]["backup_retention_period"] == 7
    assert result["post_state"].startswith("verified: standalone")
    assert clock.sleeps == [15, 15]


def test_an_already_standalone_instance_is_left_alone(rds):
    client, stub = rds
    describe(stub, "promoted_available")
    result = promote(client, FakeClock())
    assert (result["changed"], result["action"], result["post_state_verified"]) == (
        False,
        "none",
        True,
    )
    assert result["changes"] == []


def test_a_standalone_instance_still_rebooting_is_waited_for(rds):
    client, stub = rds
    describe(stub, "promoting_rebooting")
    describe(stub, "promoting_rebooting")
    describe(stub, "promoted_available")
    result = promote(client, FakeClock())
    assert (result["changed"], result["after"]["status"]) == (False, "available")


def test_a_replica_that_is_backing_up_is_refused(rds):
    client, stub = rds
    describe(stub, "replica_backing_up")
    with pytest.raises(DrError) as info:
        promote(client, FakeClock())
    assert "is backing-up: RDS cannot promote a read replica while it takes a backup" in str(
        info.value
    )
    assert "(03:00-04:00)" in str(info.value)


def test_a_replica_that_is_not_available_is_refused(rds):
    client, stub = rds
    describe(stub, "replica_storage_full")
    with pytest.raises(DrError, match="is storage-full, not available"):
        promote(client, FakeClock())


def test_check_mode_probes_only(rds):
    client, stub = rds
    describe(stub, "replica_available")
    result = promote(client, FakeClock(), check_mode=True)
    assert (result["changed"], result["post_state_verified"]) == (True, False)
    assert result["changes"] == [
        "promote tradeops-lab-dr (replica of arn:aws:rds:us-east-1:123456789012:db:tradeops-lab)"
        " with 7 days of backups"
    ]


def test_an_accepted_promotion_that_never_starts_fails(rds):
    client, stub = rds
    clock = FakeClock()
    describe(stub, "replica_available")
    stub.add_response("promote_read_replica", response("promote_response"))
    for _probe in range(5):  # 0, 15, 30, 45, 60 s: never leaves available
        describe(stub, "replica_available")
    with pytest.raises(DrError) as info:
        promote(client, clock, wait_timeout=60)
    assert "still available and a replica of" in str(info.value)
    assert "the promotion never started" in str(info.value)


def test_a_promotion_without_the_asked_backup_retention_fails_verification(rds):
    client, stub = rds
    describe(stub, "replica_available")
    stub.add_response("promote_read_replica", response("promote_response"))
    describe(stub, "promoting_modifying")
    describe(stub, "promoted_available_retention_1")
    with pytest.raises(DrError, match="backup retention is 1 days, want 7"):
        promote(client, FakeClock())


def test_without_post_state_verification_the_result_says_so(rds):
    client, stub = rds
    describe(stub, "replica_available")
    stub.add_response("promote_read_replica", response("promote_response"))
    describe(stub, "replica_available")  # what moto shows: nothing moved
    result = promote(client, FakeClock(), verify_post_state=False)
    assert (result["changed"], result["post_state_verified"]) == (True, False)
    assert result["post_state"].startswith("not verified (verify_post_state=false)")


def test_a_missing_instance_fails_clearly(rds):
    client, stub = rds
    stub.add_client_error("describe_db_instances", "DBInstanceNotFound", "not found", 404)
    with pytest.raises(DrError, match="DB instance tradeops-lab-dr does not exist"):
        promote(client, FakeClock())


# ------------------------------------------------------------------ the module


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        rds_replica_promote.main()
    return exc.value.code, json.loads(out.getvalue())


@pytest.fixture
def moto_replica():
    """A primary and its read replica in moto (one region: moto keeps replicas per region)."""
    with mock_aws():
        client = boto3.client("rds", region_name="us-west-2")
        client.create_db_instance(
            DBInstanceIdentifier="tradeops-lab",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="tradeops",
            MasterUserPassword="not-a-secret-1",
            BackupRetentionPeriod=7,
        )
        client.create_db_instance_read_replica(
            DBInstanceIdentifier=DB, SourceDBInstanceIdentifier="tradeops-lab"
        )
        yield client


def test_module_against_moto_needs_verify_post_state_false(moto_replica):
    args = {"region": "us-west-2", "db_instance_identifier": DB, "wait_delay": 0}
    rc, result = run_module(args, check_mode=True)
    assert (rc, result["changed"], result["action"]) == (0, True, "promote")
    # moto 5.2.5 accepts PromoteReadReplica and changes nothing: with verification on, the
    # module sees the silent no-op and fails (this is what protects a real promotion).
    rc, result = run_module(dict(args, wait_timeout=1))
    assert rc == 1 and "the promotion never started" in result["msg"]
    rc, result = run_module(dict(args, verify_post_state=False))
    assert (rc, result["changed"], result["post_state_verified"]) == (0, True, False)
    assert "not verified" in result["post_state"]
    assert result["after"]["read_replica_source"]  # moto still reports the source


def test_module_with_a_stubbed_promotion(monkeypatch, rds):
    client, stub = rds
    monkeypatch.setattr(AnsibleAWSModule, "client", lambda self, service, **kw: client)
    describe(stub, "replica_available")
    stub.add_response(
        "promote_read_replica",
        response("promote_response"),
        {"DBInstanceIdentifier": DB, "BackupRetentionPeriod": 30},
    )
    describe(stub, "promoting_modifying")
    promoted = response("promoted_available")
    promoted["DBInstances"][0]["BackupRetentionPeriod"] = 30
    stub.add_response("describe_db_instances", promoted, {"DBInstanceIdentifier": DB})
    rc, result = run_module(
        {
            "region": "us-west-2",
            "db_instance_identifier": DB,
            "backup_retention_period": 30,
            "wait_delay": 0,
        }
    )
    assert (rc, result["changed"], result["post_state_verified"]) == (0, True, True)
    assert result["after"]["backup_retention_period"] == 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"backup_retention_period": 0}, "backup_retention_period must be 1 to 35 days"),
        ({"preferred_backup_window": "3-4"}, "must be hh24:mi-hh24:mi"),
        ({"wait_timeout": 0}, "wait_timeout must be positive"),
    ],
)
def test_module_rejects_bad_arguments(args, message):
    rc, result = run_module(dict({"region": "us-west-2", "db_instance_identifier": DB}, **args))
    assert rc == 1 and message in result["msg"]


def test_module_documentation_matches_its_argument_spec():
    doc = yaml.safe_load(rds_replica_promote.DOCUMENTATION)
    assert isinstance(yaml.safe_load(rds_replica_promote.EXAMPLES), list)
    assert {"before", "after", "post_state_verified", "post_state"} <= set(
        yaml.safe_load(rds_replica_promote.RETURN)
    )
    assert set(documented_options(rds_replica_promote)) == {
        "db_instance_identifier",
        "backup_retention_period",
        "preferred_backup_window",
        "wait",
        "wait_timeout",
        "wait_delay",
        "verify_post_state",
    }
    assert doc["options"]["backup_retention_period"]["default"] == 7
    assert doc["options"]["verify_post_state"]["default"] is True

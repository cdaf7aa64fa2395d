"""Unit tests for elasticache_global_failover (module_utils/dr global_failover).

moto does not implement global datastores: every test here plays response shapes written
from the ElastiCache API reference (fixtures/dr/elasticache.json, SOURCES.md) through
botocore Stubber. An old primary's region that does not answer is a client of a closed
127.0.0.1 port (a real EndpointConnectionError).
"""

from __future__ import annotations

import copy
import io
import json
import socket
from contextlib import redirect_stdout
from pathlib import Path

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (
    DrError,
    botocore_config,
    global_failover,
)
from ansible_collections.tradeops.platform.plugins.modules import elasticache_global_failover
from botocore.config import Config
from botocore.stub import Stubber

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "dr" / "elasticache.json").read_text())
GLOBAL = "ldgnf-tradeops-lab"
TARGET = "tradeops-lab-dr"
OLD = "tradeops-lab"
EAST, WEST = "us-east-1", "us-west-2"


def response(name):
    return copy.deepcopy(FIXTURES[name])


def elasticache(region):
    return boto3.client(
        "elasticache", region_name=region, aws_access_key_id="x", aws_secret_access_key="y"
    )


@pytest.fixture
def west():
    client = elasticache(WEST)
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def east():
    client = elasticache(EAST)
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_east(_region):
    return boto3.client(
        "elasticache",
        region_name=EAST,
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(**botocore_config(1, 1, 2)),
    )


def describe_global(stub, name):
    stub.add_response(
        "describe_global_replication_groups",
        response(name),
        {"GlobalReplicationGroupId": GLOBAL, "ShowMemberInfo": True},
    )


def describe_group(stub, name, group_id=TARGET):
    stub.add_response(
        "describe_replication_groups", response(name), {"ReplicationGroupId": group_id}
    )


def run(client, probe_client_for, **kwargs):
    args = dict(wait_timeout=600, wait_delay=0, sleep=lambda _s: None)
    args.update(kwargs)
    return global_failover(client, probe_client_for, GLOBAL, WEST, TARGET, **args)


def test_planned_failover_waits_until_primary_and_available(west, east):
    client, stub = west
    east_client, east_stub = east
    describe_global(stub, "global_east_primary")
    describe_group(east_stub, "east_primary_group", OLD)  # the probe: east answers
    stub.add_response(
        "failover_global_replication_group",
        response("failover_response"),
        {
            "GlobalReplicationGroupId": GLOBAL,
            "PrimaryRegion": WEST,
            "PrimaryReplicationGroupId": TARGET,
        },
    )
    describe_global(stub, "global_modifying")
    describe_global(stub, "global_west_primary_modifying")
    describe_global(stub, "global_west_primary")
    result = run(client, lambda region: east_client)
    assert (result["action"], result["changed"], result["primary_region_reachable"]) == (
        "failover",
        True,
        True,
    )
    roles = {m["region"]: m["role"] for m in result["after"]["members"]}
    assert roles == {EAST: "SECONDARY", WEST: "PRIMARY"}
    assert result["after"]["status"] == "available"
    assert result["changes"] == [f"fail {GLOBAL} over to {TARGET} in {WEST} (from {OLD} in {EAST})"]


def test_already_primary_is_no_change(west):
    client, stub = west
    describe_global(stub, "global_west_primary")
    result = run(client, lambda region: pytest.fail("no probe when nothing is to be done"))
    assert (result["action"], result["changed"]) == ("none", False)
    assert result["msg"] == f"{TARGET} in {WEST} is already the primary of {GLOBAL}"


def test_already_primary_but_still_modifying_is_waited_for(west):
    client, stub = west
    describe_global(stub, "global_west_primary_modifying")
    describe_global(stub, "global_west_primary_modifying")
    describe_global(stub, "global_west_primary")
    result = run(client, lambda region: None)
    assert (result["changed"], result["after"]["status"]) == (False, "available")


def test_check_mode_probes_and_reports(west, east):
    client, stub = west
    east_client, east_stub = east
    describe_global(stub, "global_east_primary")
    describe_group(east_stub, "east_primary_group", OLD)
    result = run(client, lambda region: east_client, check_mode=True)
    assert (result["action"], result["changed"]) == ("failover", True)


def test_unplanned_disassociates_when_the_old_region_does_not_answer(west):
    client, stub = west
    describe_global(stub, "global_east_primary")
    stub.add_response(
        "disassociate_global_replication_group",
        response("disassociate_response"),
        {
            "GlobalReplicationGroupId": GLOBAL,
            "ReplicationGroupId": TARGET,
            "ReplicationGroupRegion": WEST,
        },
    )
    describe_group(stub, "west_member_modifying")
    describe_group(stub, "west_standalone_modifying")
    describe_group(stub, "west_standalone")
    describe_global(stub, "global_east_only")
    result = run(client, unreachable_east, disassociate_if_unreachable=True)
    assert (result["action"], result["changed"], result["primary_region_reachable"]) == (
        "disassociate",
        True,
        False,
    )
    assert result["probe_error"].startswith("EndpointConnectionError")
    assert result["replication_group"] == {
        "replication_group_id": TARGET,
        "status": "available",
        "global_replication_group_id": None,
        "global_role": None,
    }
    assert "the primary's region us-east-1 did not answer" in result["changes"][0]


def test_without_the_option_an_unreachable_primary_still_tries_the_failover(west):
    client, stub = west
    describe_global(stub, "global_east_primary")
    stub.add_client_error(
        "failover_global_replication_group",
        "InvalidGlobalReplicationGroupState",
        "The Global datastore is not available or in primary-only state.",
        400,
    )
    with pytest.raises(DrError) as info:
        run(client, unreachable_east)
    message = str(info.value)
    assert "ElastiCache refused the failover" in message
    assert "The primary's region did not answer (EndpointConnectionError" in message
    assert "disassociate_if_unreachable=true" in message


def test_a_refused_failover_falls_back_to_disassociation_when_allowed(west, east):
    client, stub = west
    east_client, east_stub = east
    describe_global(stub, "global_east_primary")
    describe_group(east_stub, "east_primary_group", OLD)
    stub.add_client_error(
        "failover_global_replication_group", "InvalidGlobalReplicationGroupState", "no", 400
    )
    stub.add_response("disassociate_global_replication_group", response("disassociate_response"))
    describe_group(stub, "west_standalone")
    describe_global(stub, "global_east_only")
    result = run(client, lambda region: east_client, disassociate_if_unreachable=True)
    assert result["action"] == "disassociate"
    assert len(result["changes"]) == 1
    assert "the failover was refused: InvalidGlobalReplicationGroupState" in result["changes"][0]


def test_a_member_that_already_stands_alone_is_no_change(west):
    client, stub = west
    describe_global(stub, "global_east_only")
    describe_group(stub, "west_standalone")
    result = run(client, lambda region: None, disassociate_if_unreachable=True)
    assert (result["action"], result["changed"]) == ("none", False)
    assert "stands alone" in result["msg"]


def test_a_non_member_without_the_option_fails(west):
    client, stub = west
    describe_global(stub, "global_east_only")
    describe_group(stub, "west_standalone")
    with pytest.raises(DrError, match="is not a member of global datastore"):
        run(client, lambda region: None)


def test_a_failover_that_does_not_finish_in_time_says_so(west, east):
    client, stub = west
    east_client, east_stub = east
    describe_global(stub, "global_east_primary")
    describe_group(east_stub, "east_primary_group", OLD)
    stub.add_response("failover_global_replication_group", response("failover_response"))
    clock = iter(range(0, 1000, 10))  # every reading of the clock is 10 s later
    describe_global(stub, "global_modifying")  # at 0 s
    describe_global(stub, "global_modifying")  # at 20 s: past the 15 s

    with pytest.raises(DrError) as info:
        run(client, lambda region: east_client, wait_timeout=15, clock=lambda: next(clock))
    assert "timed out after 15 s" in str(info.value)
    assert "the failover was requested; run again to keep waiting" in str(info.value)


# ------------------------------------------------------------------ the module


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        elasticache_global_failover.main()
    return exc.value.code, json.loads(out.getvalue())


def test_module_passes_the_region_and_probe_configuration(monkeypatch, west, east):
    client, stub = west
    east_client, east_stub = east
    calls = []

    def fake_client(self, service, **kwargs):
        calls.append((service, kwargs.get("region"), kwargs.get("config")))
        return east_client if kwargs.get("region") == EAST else client

    monkeypatch.setattr(AnsibleAWSModule, "client", fake_client)
    describe_global(stub, "global_east_primary")
    describe_group(east_stub, "east_primary_group", OLD)
    rc, result = run_module(
        {
            "region": WEST,
            "global_replication_group_id": GLOBAL,
            "replication_group_id": TARGET,
            "probe_connect_timeout": 1,
        },
        check_mode=True,
    )
    assert (rc, result["action"]) == (0, "failover")
    assert calls[0] == ("elasticache", None, None)
    assert calls[1][:2] == ("elasticache", EAST)
    assert calls[1][2]["connect_timeout"] == 1
    assert calls[1][2]["retries"] == {"mode": "standard", "total_max_attempts": 2}


def test_module_rejects_bad_arguments():
    rc, result = run_module(
        {
            "region": WEST,
            "global_replication_group_id": GLOBAL,
            "replication_group_id": TARGET,
            "probe_max_attempts": 0,
        }
    )
    assert rc == 1 and "max_attempts must be 1 to 10" in result["msg"]


def test_module_documentation_says_it_is_stubber_tested():
    doc = yaml.safe_load(elasticache_global_failover.DOCUMENTATION)
    assert isinstance(yaml.safe_load(elasticache_global_failover.EXAMPLES), list)
    assert "moto does not implement global datastores" in " ".join(doc["description"])
    assert doc["options"]["disassociate_if_unreachable"]["default"] is False
    assert {"action", "before", "after", "primary_region_reachable"} <= set(
        yaml.safe_load(elasticache_global_failover.RETURN)
    )

"""aws_dr_state's effect in the scenario's moto: the epoch 1 records in both regions, and
after side_effect.yml's failover and lost record, the converge re-created the lost record
and left the failover's records as they were (it never overwrites a record)."""

from __future__ import annotations

import json

import pytest

REGIONS = ("us-east-1", "us-west-2")
PREFIX = "/tradeops/lab/dr"


def _param(aws, region, name):
    return aws("ssm", region).get_parameter(Name=f"{PREFIX}/{name}")["Parameter"]


@pytest.mark.parametrize("region", REGIONS)
def test_the_epoch_1_record_names_the_primary_region(aws, region):
    param = _param(aws, region, "epochs/00000001")
    record = json.loads(param["Value"])
    assert param["Type"] == "String"
    assert record["active_region"] == "us-east-1"
    assert record["epoch"] == 1
    assert record["verb"] == "init"
    assert record["run_id"].startswith("site-init-")


@pytest.mark.parametrize("region", REGIONS)
def test_the_records_carry_the_standard_tags(aws, tags, region, standard_tags):
    ssm = aws("ssm", region)
    resource = ssm.list_tags_for_resource(
        ResourceType="Parameter", ResourceId=f"{PREFIX}/epochs/00000001"
    )
    assert set(tags({"Tags": resource["TagList"]})) >= standard_tags
    assert tags({"Tags": resource["TagList"]})["Environment"] == "lab"


@pytest.mark.parametrize("region", REGIONS)
def test_a_converge_never_undoes_the_failover(aws, region):
    record = json.loads(_param(aws, region, "active")["Value"])
    assert (record["active_region"], record["epoch"], record["verb"]) == (
        "us-west-2",
        2,
        "failover",
    )


def test_only_the_records_of_the_layer_and_the_runbook_exist(aws):
    for region in REGIONS:
        names = sorted(p["Name"] for p in aws("ssm", region).describe_parameters()["Parameters"])
        assert names == [
            f"{PREFIX}/active",
            f"{PREFIX}/epochs/00000001",
            f"{PREFIX}/epochs/00000002",
        ]


def test_the_outputs_name_the_authoritative_record(outputs):
    state = outputs("dr-state")
    assert state["prefix"] == PREFIX
    assert (state["active_region"], state["epoch"], state["conflict"]) == ("us-west-2", 2, None)
    assert sorted(state["regions"]) == list(REGIONS)

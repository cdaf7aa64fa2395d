"""The dr guard read the DR state and changed nothing: both regions still hold the
dr-state layer's records (epoch 1, the home region active), and no lock or later epoch
was written, by the status run nor by the refused failover (side effect)."""

from __future__ import annotations

import json

import pytest

PREFIX = "/tradeops/lab/dr"


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_the_dr_state_is_untouched_in_both_regions(aws, region):
    params = aws("ssm", region).get_parameters_by_path(Path=PREFIX, Recursive=True)
    names = sorted(p["Name"] for p in params["Parameters"])
    assert names == [f"{PREFIX}/active", f"{PREFIX}/epochs/00000001"]
    active = json.loads(
        aws("ssm", region).get_parameter(Name=f"{PREFIX}/active")["Parameter"]["Value"]
    )
    assert (active["active_region"], active["epoch"], active["verb"]) == ("us-east-1", 1, "init")


def test_no_run_record_was_written(ephemeral):
    records = ephemeral / "dr-runs"
    assert not records.exists() or not any(records.iterdir())

"""aws_account's effect: against moto's account (123456789012, the lab's aws_account_id)
the converge passed; for an inventory of another account (side_effect.yml) the guard
stopped the run with its message, before the layer after it created anything."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def refusal(ephemeral):
    return json.loads((ephemeral / "refusal.json").read_text())


def test_the_guard_refuses_credentials_of_another_account(refusal):
    assert refusal["refused"] is True
    assert refusal["task"] == "Stop unless the credentials belong to this environment's account"


def test_the_refusal_names_both_accounts_and_says_nothing_changed(refusal):
    msg = refusal["msg"]
    assert "These credentials are for AWS account 123456789012" in msg
    assert "this inventory is for account 210987654321" in msg
    assert "Nothing was changed" in msg


def test_no_layer_ran_after_the_refusal(aws):
    # dr-state, run after the guard, would have created its records in both regions.
    for region in ("us-east-1", "us-west-2"):
        params = aws("ssm", region).describe_parameters()["Parameters"]
        assert params == [], region


def test_the_refused_run_saved_no_outputs(ephemeral):
    outputs = ephemeral / "aws-outputs"
    assert not (outputs / "dr-state.json").exists()

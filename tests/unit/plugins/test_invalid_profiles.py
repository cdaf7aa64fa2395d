"""The invalid-profile catalogue: each entry must fail preflight, for its own reason."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.tradeops.platform.plugins.module_utils.tuning_profile import (
    errors,
    render,
    validate,
)

from .hosts import host_facts, profile

CATALOGUE = yaml.safe_load((Path(__file__).parent / "invalid_profiles.yml").read_text())


def set_path(data, dotted, value):
    parts = [p for p in re.split(r"\.|(\[\d+\])", dotted) if p]
    target = data
    for i, part in enumerate(parts):
        key = int(part[1:-1]) if part.startswith("[") else part
        if i == len(parts) - 1:
            target[key] = value
        else:
            if isinstance(key, str) and key not in target:
                target[key] = {}
            target = target[key]


def build(entry):
    prof = copy.deepcopy(profile(entry.get("base", entry["host"])))
    for dotted, value in (entry.get("set") or {}).items():
        set_path(prof, dotted, copy.deepcopy(value))
    facts = host_facts(entry["host"])
    for dotted, value in (entry.get("facts_set") or {}).items():
        set_path(facts, dotted, copy.deepcopy(value))
    return prof, facts


def test_catalogue_is_big_enough_and_unique():
    assert len(CATALOGUE) >= 20
    ids = [e["id"] for e in CATALOGUE]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e["id"] for e in CATALOGUE])
def test_invalid_profile_is_rejected(entry):
    base_errors = errors(
        validate(profile(entry.get("base", entry["host"])), host_facts(entry["host"]))
    )
    assert base_errors == [], "the base profile must be valid for the entry to mean anything"
    prof, facts = build(entry)
    found = errors(validate(prof, facts))
    matching = [p for p in found if p["path"] == entry["path"] and entry["message"] in p["message"]]
    assert matching, f"expected {entry['path']}: {entry['message']!r}; got {found}"
    assert all(p["fix"] for p in found), "every problem must say how to fix it"


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e["id"] for e in CATALOGUE])
def test_validation_changes_nothing(entry):
    prof, facts = build(entry)
    before = (copy.deepcopy(prof), copy.deepcopy(facts))
    validate(prof, facts)
    render(prof, facts)  # pure too, even for a rejected profile
    assert (prof, facts) == before

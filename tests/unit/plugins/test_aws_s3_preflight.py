"""The S3 layer's lifecycle and object-lock checks (module_utils/aws_s3.py, filter
aws_s3_bucket_problems), as roles/aws_s3/tasks/preflight.yml asks them.

The expected problems are the ones the preflight's Jinja reported before the rules moved to
Python (issue #20), word for word: they are the preflight's message.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.tradeops.platform.plugins.filter.aws_s3 import (
    FilterModule,
    aws_s3_bucket_problems,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_s3 import bucket_problems
from ansible_collections.tradeops.platform.plugins.module_utils.plain import as_int

from .aws_specs import ROOT, register_collection_filters

BUCKETS = yaml.safe_load((ROOT / "roles/aws_s3/defaults/main.yml").read_text())["aws_s3_buckets"]


def _bucket(**fields):
    return {"key": "b", "encryption": "aws:kms", **fields}


def test_the_role_defaults_have_no_problem():
    assert bucket_problems(BUCKETS) == []
    assert bucket_problems([]) == []


@pytest.mark.parametrize(
    ("rule", "problems"),
    [
        ({"id": "r", "transitions": [{"days": 30, "storage_class": "STANDARD_IA"}]}, []),
        (
            {"id": "r", "transitions": [{"days": 29, "storage_class": "STANDARD_IA"}]},
            ["b/r: STANDARD_IA after 29 days"],
        ),
        (
            {"id": "r", "transitions": [{"days": "10", "storage_class": "ONEZONE_IA"}]},
            ["b/r: ONEZONE_IA after 10 days"],
        ),
        ({"id": "r", "transitions": [{"days": 0, "storage_class": "GLACIER"}]}, []),
        (
            {"id": "r", "transitions": [{"days": -1, "storage_class": "GLACIER"}]},
            ["b/r: GLACIER after -1 days"],
        ),
        (
            {
                "id": "r",
                "transitions": [
                    {"days": 90, "storage_class": "GLACIER"},
                    {"days": 30, "storage_class": "STANDARD_IA"},
                ],
            },
            ["b/r: transitions out of order"],
        ),
        (
            {
                "id": "r",
                "transitions": [
                    {"days": 60, "storage_class": "GLACIER"},
                    {"days": 60, "storage_class": "DEEP_ARCHIVE"},
                ],
            },
            ["b/r: transitions out of order"],
        ),
        (
            {
                "id": "r",
                "transitions": [{"days": 90, "storage_class": "GLACIER"}],
                "expiration_days": 90,
            },
            ["b/r: expiration_days 90"],
        ),
        (
            {
                "id": "r",
                "transitions": [{"days": 90, "storage_class": "GLACIER"}],
                "expiration_days": 91,
            },
            [],
        ),
        ({"id": "r", "expiration_days": 0}, ["b/r: expiration_days 0"]),
        ({"id": "r", "expiration_days": None}, ["b/r: expiration_days None"]),
        ({"id": "r", "expiration_days": 1}, []),
        ({"id": "r", "noncurrent_expiration_days": 0}, ["b/r: noncurrent_expiration_days 0"]),
        ({"id": "r", "noncurrent_expiration_days": "x"}, ["b/r: noncurrent_expiration_days x"]),
        ({"id": "r", "noncurrent_expiration_days": 1, "abort_multipart_days": 0}, []),
        (
            # Every check of one rule, in the preflight's order.
            {
                "id": "all",
                "transitions": [
                    {"days": 20, "storage_class": "STANDARD_IA"},
                    {"days": 10, "storage_class": "GLACIER"},
                ],
                "expiration_days": 15,
                "noncurrent_expiration_days": 0,
            },
            [
                "b/all: transitions out of order",
                "b/all: STANDARD_IA after 20 days",
                "b/all: expiration_days 15",
                "b/all: noncurrent_expiration_days 0",
            ],
        ),
    ],
)
def test_lifecycle_rules(rule, problems):
    assert bucket_problems([_bucket(lifecycle=[rule])]) == problems


@pytest.mark.parametrize(
    ("rule", "problems"),
    [
        # Only rules that move or expire current objects matter.
        ({"id": "r", "prefix": "restic/", "noncurrent_expiration_days": 30}, []),
        ({"id": "r", "prefix": "archive/", "expiration_days": 30}, []),
        (
            {"id": "r", "prefix": "restic/keys/", "expiration_days": 30},
            ['b/r: prefix "restic/keys/" moves or expires the protected prefix restic/'],
        ),
        (
            # The whole bucket covers every protected prefix.
            {"id": "r", "transitions": [{"days": 90, "storage_class": "GLACIER"}]},
            [
                'b/r: prefix "" moves or expires the protected prefix restic/',
                'b/r: prefix "" moves or expires the protected prefix pgbackrest/',
            ],
        ),
        (
            {"id": "r", "prefix": "res", "expiration_days": 30},
            ['b/r: prefix "res" moves or expires the protected prefix restic/'],
        ),
        ({"id": "r", "prefix": "restic", "transitions": []}, []),
    ],
)
def test_protected_prefixes(rule, problems):
    bucket = _bucket(protected_prefixes=["restic/", "pgbackrest/"], lifecycle=[rule])
    assert bucket_problems([bucket]) == problems


def test_the_prefix_checks_follow_every_rules_own_checks():
    bucket = _bucket(
        protected_prefixes=["db/"],
        lifecycle=[
            {"id": "one", "expiration_days": 0},
            {"id": "two", "noncurrent_expiration_days": 0},
        ],
    )
    assert bucket_problems([bucket]) == [
        "b/one: expiration_days 0",
        "b/two: noncurrent_expiration_days 0",
        'b/one: prefix "" moves or expires the protected prefix db/',
    ]


@pytest.mark.parametrize(
    ("lock", "problem"),
    [
        ({"mode": "COMPLIANCE", "days": 1}, None),
        ({"mode": "GOVERNANCE", "days": 36500}, None),
        ({"mode": "GOVERNANCE", "days": "30"}, None),
        ({"mode": "COMPLIANCE", "days": 0}, 'b: object_lock {"mode": "COMPLIANCE", "days": 0}'),
        (
            {"mode": "COMPLIANCE", "days": 36501},
            'b: object_lock {"mode": "COMPLIANCE", "days": 36501}',
        ),
        ({"mode": "LEGAL", "days": 30}, 'b: object_lock {"mode": "LEGAL", "days": 30}'),
        ({"days": 30}, 'b: object_lock {"days": 30}'),
    ],
)
def test_object_lock(lock, problem):
    assert bucket_problems([_bucket(object_lock=lock)]) == ([problem] if problem else [])


def test_buckets_in_order_each_with_its_lifecycle_then_prefixes_then_lock():
    buckets = copy.deepcopy(BUCKETS)
    buckets[0]["lifecycle"][2]["prefix"] = "restic/old/"
    buckets[3]["object_lock"]["days"] = 0
    buckets[1]["lifecycle"][0]["expiration_days"] = 0
    assert bucket_problems(buckets) == [
        'backups/archive-tiers: prefix "restic/old/" moves or expires the protected prefix restic/',
        "logs/expire: expiration_days 0",
        'compliance: object_lock {"mode": "COMPLIANCE", "days": 0}',
    ]


@pytest.mark.parametrize(
    ("value", "read"),
    [(30, 30), ("30", 30), ("30.9", 30), (30.9, 30), ("x", 0), (None, 0), ("", 0), (True, 1)],
)
def test_days_are_read_as_jinja_int_reads_them(value, read):
    assert as_int(value) == read


def test_the_filter_and_its_documentation():
    assert aws_s3_bucket_problems(BUCKETS) == []
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        aws_s3_bucket_problems({"key": "b"})
    for name in FilterModule().filters():
        doc = yaml.safe_load((ROOT / "plugins/filter" / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name


def test_the_preflight_asks_the_filter():
    """The preflight's variable, templated as Ansible does (the filter by its FQCN)."""
    register_collection_filters()
    loader = DataLoader()
    path = ROOT / "roles/aws_s3/tasks/preflight.yml"
    tasks = loader.load_from_file(str(path), trusted_as_template=True)
    task = next(t for t in tasks if "__aws_s3_problems" in t.get("vars", {}))
    buckets = copy.deepcopy(BUCKETS)
    buckets[1]["lifecycle"][0]["expiration_days"] = 0
    variables = {**task["vars"], "aws_s3_buckets": buckets}
    got = Templar(loader=loader, variables=variables).template(variables["__aws_s3_problems"])
    assert list(got) == ["logs/expire: expiration_days 0"]

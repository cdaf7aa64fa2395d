"""CPU list arithmetic: parsing, formatting, masks, sibling checks."""

from __future__ import annotations

import random

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import (
    CpuSetError,
    complete_cores,
    difference,
    format_cpulist,
    format_mask,
    intersection,
    overlaps,
    parse_cpulist,
    parse_mask,
    sibling_groups,
    split_sibling_groups,
    union,
)


@pytest.mark.parametrize(
    ("text", "cpus"),
    [
        ("", set()),
        ("  \n", set()),
        ("0", {0}),
        ("0-3,8,10-11", {0, 1, 2, 3, 8, 10, 11}),
        ("0-3\n", {0, 1, 2, 3}),
        (" 5 , 1-2 ", {1, 2, 5}),
        ("3-3", {3}),
        ("0-15:2/4", {0, 1, 4, 5, 8, 9, 12, 13}),
        ("8191", {8191}),
        (7, {7}),
        ([1, "3-4", 9], {1, 3, 4, 9}),
        (None, set()),
    ],
)
def test_parse_cpulist(text, cpus):
    assert parse_cpulist(text) == frozenset(cpus)


@pytest.mark.parametrize(
    "bad", ["3-1", "a", "1,,2", "-1", "1-", "0-7:0/4", "0-7:5/4", "1.5", True, -3, 1.0, "0x3"]
)
def test_parse_cpulist_rejects(bad):
    with pytest.raises(CpuSetError):
        parse_cpulist(bad)


@pytest.mark.parametrize(
    ("cpus", "text"),
    [
        (set(), ""),
        ({0}, "0"),
        ({0, 1}, "0-1"),
        ({0, 1, 2, 5}, "0-2,5"),
        ({5, 3, 1}, "1,3,5"),
        ({0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"),
    ],
)
def test_format_cpulist(cpus, text):
    assert format_cpulist(frozenset(cpus)) == text
    assert format_cpulist(sorted(cpus)) == text


def test_roundtrip_property():
    rng = random.Random(4)
    for _round in range(500):
        cpus = frozenset(rng.sample(range(300), rng.randint(0, 60)))
        text = format_cpulist(cpus)
        assert parse_cpulist(text) == cpus
        # shortest form: no two adjacent elements could be merged
        parts = [p for p in text.split(",") if p]
        ends = [int(p.split("-")[-1]) for p in parts]
        starts = [int(p.split("-")[0]) for p in parts]
        assert all(starts[i + 1] > ends[i] + 1 for i in range(len(parts) - 1))
        assert parse_mask(format_mask(cpus, 320)) == cpus


@pytest.mark.parametrize(
    ("mask", "cpus"),
    [
        ("00000003", {0, 1}),
        ("3", {0, 1}),
        ("00000000,00000001", {0}),
        ("00000001,00000000", {32}),
        ("ff,ffffffff", set(range(40))),
        ("ffffffff,ffffffff,ffffffff", set(range(96))),
        ("0x10", {4}),
        ("00000000\n", set()),
    ],
)
def test_parse_mask(mask, cpus):
    assert parse_mask(mask) == frozenset(cpus)


@pytest.mark.parametrize("bad", ["", "xyz", "1,,2", "123456789,0", 5])
def test_parse_mask_rejects(bad):
    with pytest.raises(CpuSetError):
        parse_mask(bad)


def test_format_mask_words_like_proc_irq():
    assert format_mask("0-1", 2) == "00000003"
    assert format_mask("0-1", 72) == "00000000,00000000,00000003"
    assert format_mask("0-71", 72) == "000000ff,ffffffff,ffffffff"
    assert format_mask("", 8) == "00000000"
    assert format_mask("40") == "00000100,00000000"


def test_set_operations():
    assert union("0-3", [8], "2-5") == frozenset({0, 1, 2, 3, 4, 5, 8})
    assert difference("0-7", "2-3") == frozenset({0, 1, 4, 5, 6, 7})
    assert intersection("0-7", "6-9") == frozenset({6, 7})
    assert overlaps("0-3", "3-5")
    assert not overlaps("0-3", "4-5")
    assert not overlaps("", "0-100")


def test_sibling_checks_on_c5n_layout():
    siblings = {c: f"{c % 36},{c % 36 + 36}" for c in range(72)}
    groups = sibling_groups(siblings)
    assert len(groups) == 36
    assert groups[0] == frozenset({0, 36})
    assert split_sibling_groups("2-17,38-53", groups) == []
    assert split_sibling_groups("2-17", groups) == [frozenset({c, c + 36}) for c in range(2, 18)]
    assert split_sibling_groups("0,36,1", groups) == [frozenset({1, 37})]
    assert complete_cores("1,2", groups) == frozenset({1, 2, 37, 38})


def test_sibling_groups_without_ht():
    groups = sibling_groups({0: "0", 1: "1"})
    assert groups == [frozenset({0}), frozenset({1})]
    assert split_sibling_groups("1", groups) == []

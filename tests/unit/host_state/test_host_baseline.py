"""host_baseline's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "host_baseline",
        {"state.yml", "record.yml", "preflight.yml"},
        ansible_facts={"os_family": "Debian"},
    )
    assert missing == {}
    assert watch["files"] == [
        "/etc/localtime",
        "/etc/ansible/facts.d",
        "/etc/ansible/facts.d/tradeops.fact",
    ]
    assert watch["packages"] == ["ethtool", "iproute2", "procps"]

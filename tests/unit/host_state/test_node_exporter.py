"""node_exporter's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "node_exporter",
        # verify.yml only reads (the scrape, every run)
        {"state.yml", "record.yml", "preflight.yml", "verify.yml"},
        ansible_facts={"os_family": "Debian"},
    )
    assert missing == {}
    assert watch["files"] == [
        "/var/lib/prometheus/node-exporter",
        "/etc/default/prometheus-node-exporter",
    ]
    assert watch["units"] == ["prometheus-node-exporter"]
    assert watch["packages"] == ["prometheus-node-exporter"]

"""prometheus's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered

# verify.yml asks the running Prometheus every run (settled or not): not the converge.
NOT_CONVERGE = {"state.yml", "record.yml", "preflight.yml", "verify.yml"}


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "prometheus",
        NOT_CONVERGE,
        # no rule file the role does not manage: the removal loop names none
        __prometheus_rule_dir={"files": []},
    )
    assert missing == {}
    assert watch["units"] == ["prometheus"]
    assert watch["packages"] == ["prometheus"]
    # a rule file dropped in by hand (the converge removes it) unsettles the host
    assert {"/etc/prometheus/rules/*.yml", "/etc/prometheus/rules/*.yaml"} <= set(watch["files"])

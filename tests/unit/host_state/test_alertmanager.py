"""alertmanager's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered

# verify.yml asks the running Alertmanager every run (settled or not): not the converge.
NOT_CONVERGE = {"state.yml", "record.yml", "preflight.yml", "verify.yml"}


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered("alertmanager", NOT_CONVERGE)
    assert missing == {}
    assert watch["units"] == ["prometheus-alertmanager"]
    assert watch["packages"] == ["prometheus-alertmanager"]

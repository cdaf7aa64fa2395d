"""dr_fence's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered

# decide.yml asks the fence (the DR state in AWS) on every run: it is not the converge
NOT_CONVERGE = {"state.yml", "record.yml", "preflight.yml", "decide.yml"}


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "dr_fence",
        NOT_CONVERGE,
        # two guarded units, one named without .service
        dr_fence_units=["refengine", "refgateway.service"],
        ansible_facts={"os_family": "Debian", "service_mgr": "systemd"},
    )
    assert missing == {}
    assert watch["units"] == ["tradeops-dr-fence-watch.timer"]
    assert watch["packages"] == ["python3-boto3"]
    for unit in ("refengine.service", "refgateway.service"):
        assert f"/etc/systemd/system/{unit}.d/50-tradeops-dr-fence.conf" in watch["files"]

"""`tradeops dr drill` end to end on a lab of its own, with orders flowing the whole time.

The drill moves the platform twice in one run (switchover to us-west-2, re-protect home,
fail back, re-protect us-west-2) and must end where it began: us-east-1 active two epochs
later, db-east-1 the primary with db-west-1 streaming from it, the S3 replication as
site.yml made it, no acknowledged order lost, and the drill's record (phases, their RTO)
in the CLI's summary and in every region's `<prefix>/last-drill` for `tradeops dr status`.

Its own converge costs about as much as the site lab's: marked `full` (./dev test-full),
as the site lab's DR day already runs each move on its own in CI.
"""

from __future__ import annotations

import json

import pytest

from ..lab.drlab import EAST, PREFIX, WEST, DrLab

pytestmark = [pytest.mark.lab, pytest.mark.full]

LAB = "todrill"
SUBNET = "198.19.67.0/24"
RATE = 20  # orders per second


@pytest.fixture(scope="module")
def drill_lab(tmp_path_factory):
    drlab = DrLab(LAB, SUBNET, tmp_path_factory.mktemp("drill"))
    load = None
    try:
        drlab.up_and_converged()
        load = drlab.load(RATE)
        load.wait_for_acks_from(EAST, after=0)
        yield drlab, load
    finally:
        if load:
            load.stop()
        print("drill lab timings (s):", json.dumps(drlab.timings))
        drlab.down()


def test_a_drill_moves_twice_and_ends_where_it_began(drill_lab):
    drlab, load = drill_lab
    epoch = {r["epoch"] for r in drlab.dr_state().values()}
    assert len(epoch) == 1
    s3_before = drlab.s3_replication(WEST)

    proc, report = drlab.dr("drill", "--confirm", "lab:us-west-2", label="drill")
    assert proc.returncode == 0, proc.stderr[-6000:]
    record = report["dr_record"]
    assert (record["verb"], record["status"]) == ("drill", "succeeded")
    phases = record["notes"]["phases"]
    assert [(p["phase"], p["status"]) for p in phases] == [
        ("1-switchover", "succeeded"),
        ("2-reprotect", "succeeded"),
        ("3-failback", "succeeded"),
        ("4-reprotect", "succeeded"),
    ]
    drlab.timings["switchover RTO"] = phases[0]["rto_seconds"]
    drlab.timings["failback RTO"] = phases[2]["rto_seconds"]
    assert phases[0]["rto_seconds"] > 0 and phases[2]["rto_seconds"] > 0
    assert phases[1]["rto_seconds"] is None  # a re-protect moves no traffic
    said = " ".join((proc.stdout + proc.stderr).split())
    assert "1-switchover succeeded" in said and "3-failback succeeded" in said, said[-3000:]

    # Where it began, two epochs on.
    states = drlab.dr_state()
    assert {r["active_region"] for r in states.values()} == {EAST}, states
    assert {r["epoch"] for r in states.values()} == {epoch.pop() + 2}, states
    assert not drlab.in_recovery("db-east-1") and drlab.in_recovery("db-west-1")
    assert drlab.psql("db-west-1", "SELECT status FROM pg_stat_wal_receiver") == "streaming"
    assert drlab.s3_replication(WEST) == s3_before  # the reverse rules are gone again

    # No acknowledged order lost across both moves (planned moves: RPO 0).
    last = load.last_seq()
    fresh = load.wait_for_acks_from(EAST, after=last)
    assert load.lost(drlab.seqs("db-east-1"), upto=fresh[0]["seq"]) == []

    # The last drill, where `tradeops dr status` reads it, in both regions.
    for region in (EAST, WEST):
        value = drlab.ssm(region).get_parameter(Name=f"{PREFIX}/last-drill")["Parameter"]["Value"]
        kept = json.loads(value)
        assert kept["run_id"] == record["run_id"] and kept["status"] == "succeeded"
        assert kept["switchover_rto_seconds"] == phases[0]["rto_seconds"]
    status, _ = drlab.dr("status", label="status after the drill")
    assert status.returncode == 0, status.stderr[-4000:]
    assert record["run_id"] in status.stdout + status.stderr

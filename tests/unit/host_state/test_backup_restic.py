"""backup_restic's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "backup_restic",
        {"state.yml", "record.yml", "preflight.yml", "verify.yml"},
        # the job wrapper is written by backup_common, which the role imports
        imported=frozenset({"/usr/local/sbin/tradeops-backup-job"}),
        ansible_facts={"os_family": "Debian"},
    )
    assert missing == {}
    assert watch["units"] == [
        f"tradeops-restic-{job}.timer" for job in ("backup", "forget", "check")
    ]

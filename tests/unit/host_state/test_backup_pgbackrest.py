"""backup_pgbackrest's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered

JOBS = ("full", "diff", "check", "verify")
# repository.yml changes the repository, not the host; verify.yml only reads
NOT_CONVERGE = {"state.yml", "record.yml", "preflight.yml", "repository.yml", "verify.yml"}
# the job wrapper is written by backup_common, which the role imports
WRAPPER = frozenset({"/usr/local/sbin/tradeops-backup-job"})


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "backup_pgbackrest",
        NOT_CONVERGE,
        imported=WRAPPER,
        # the lab's values: the role installs PostgreSQL too
        backup_pgbackrest_postgresql_package="postgresql-15",
        inventory_hostname="db-1",
        ansible_facts={"os_family": "Debian"},
    )
    assert missing == {}
    assert watch["units"] == ["postgresql@15-main"] + [
        f"tradeops-pgbackrest-{job}.timer" for job in JOBS
    ]
    assert watch["packages"] == ["pgbackrest", "postgresql-15"]
    assert "/etc/postgresql/15/main/conf.d/90-tradeops-pgbackrest.conf" in watch["files"]


def test_an_installed_postgresql_is_not_the_roles_package():
    watch, missing = uncovered(
        "backup_pgbackrest",
        NOT_CONVERGE,
        imported=WRAPPER,
        inventory_hostname="db-1",
        ansible_facts={"os_family": "Debian"},
    )
    assert watch["packages"] == ["pgbackrest"]
    # the PostgreSQL install task (skipped then) names "": nothing else is missing
    assert missing == {"packages": [""]}

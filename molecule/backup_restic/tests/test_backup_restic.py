"""backup_restic's effect: timers per job, the repository initialised in the scenario's S3,
the backup converge took, and that it restores (the lab's values: inventories/lab)."""

from __future__ import annotations

import json
import re

import pytest

HOST = "molecule-backup-restic"
testinfra_hosts = [f"podman://{HOST}"]

BUCKET = "tradeops-lab-123456789012-backups"
PREFIX = f"restic/{HOST}/"
REPOSITORY = f"s3:https://lab-s3:5443/{BUCKET}/restic/{HOST}"
TREE = "/var/log/tradeops/molecule-roundtrip"  # prepare.yml wrote it before converge
JOBS = {"backup": "*-*-* 01:30:00", "forget": "*-*-* 04:00:00", "check": "Sun *-*-* 05:00:00"}
LISTING = (
    "find . \\( -type f -o -type l \\) -print0 | sort -z | xargs -0 sha256sum; "
    "find . -printf '%p %m %y %l\\n' | sort"
)


def restic(host, args: str) -> str:
    """restic against the host's repository, as an operator runs it (docs/runbooks/restore.md)."""
    return host.check_output(f"tradeops-restic restic {args}")


def test_a_timer_per_job_enabled_and_scheduled(host):
    timers = host.check_output("systemctl list-timers --all --no-legend 'tradeops-restic-*'")
    for job, schedule in JOBS.items():
        timer = host.service(f"tradeops-restic-{job}.timer")
        assert timer.is_enabled and timer.is_running, job
        assert f"tradeops-restic-{job}.timer" in timers
        assert (
            f"OnCalendar={schedule}"
            in host.file(f"/etc/systemd/system/tradeops-restic-{job}.timer").content_string
        )
        unit = host.file(f"/etc/systemd/system/tradeops-restic-{job}.service").content_string
        assert re.search(
            rf"^ExecStart=/usr/local/sbin/tradeops-backup-job --job restic\S* .* -- "
            rf"/usr/local/sbin/tradeops-restic {job}$",
            unit,
            re.M,
        ), job


def test_the_settings_are_root_only_and_name_the_labs_repository(host, ephemeral):
    env = host.file("/etc/tradeops-restic/restic.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    # Only the repository line is compared: the file holds the password.
    lines = env.content_string.splitlines()
    assert [line for line in lines if line.startswith("RESTIC_REPOSITORY=")] == [
        f"RESTIC_REPOSITORY={REPOSITORY}"
    ]
    long_enough = any(
        line.startswith("RESTIC_PASSWORD=") and len(line) >= len("RESTIC_PASSWORD=") + 16
        for line in lines
    )
    assert long_enough, "no RESTIC_PASSWORD of 16+ characters"
    ca = host.file("/etc/tradeops-restic/s3-ca.pem")
    assert ca.content_string.strip() == (ephemeral / "s3front" / "lab-s3.pem").read_text().strip()
    runner = host.file("/usr/local/sbin/tradeops-restic")
    assert (runner.user, runner.mode) == ("root", 0o750)
    assert host.package("restic").is_installed


def test_the_repository_is_initialised_in_s3(host, aws):
    keys = [
        o["Key"]
        for o in aws("s3").list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    ]
    assert f"{PREFIX}config" in keys
    for kind in ("keys", "snapshots", "data", "index"):
        assert any(k.startswith(f"{PREFIX}{kind}/") for k in keys), kind
    # And the host's password opens it.
    assert json.loads(restic(host, "cat config"))["version"] >= 1


def test_converge_took_one_backup_and_recorded_it(host):
    snapshots = json.loads(restic(host, "snapshots --json"))
    # One: the first converge's; the idempotence and check runs took none.
    assert len(snapshots) == 1, snapshots
    snapshot = snapshots[0]
    assert snapshot["hostname"] == HOST and snapshot["tags"] == ["tradeops"]
    assert {"/var/log/tradeops", "/var/log/journal"} <= set(snapshot["paths"])
    prom = host.file("/var/lib/prometheus/node-exporter/tradeops_backup_restic.prom").content_string
    assert 'tradeops_backup_last_run_success{job="restic"} 1.000' in prom
    assert 'tradeops_backup_max_age_seconds{job="restic"} 93600.000' in prom


@pytest.fixture
def target(host):
    directory = host.check_output("mktemp -d /tmp/molecule-restore.XXXXXX")
    yield directory
    host.run(f"rm -rf {directory}")


def test_the_backup_restores(host, target):
    original = host.check_output(f"cd {TREE} && {{ {LISTING}; }}")
    assert original.count("\n") > 15
    restic(host, f"restore latest --target {target} --include {TREE}")
    restored = host.check_output(f"cd {target}{TREE} && {{ {LISTING}; }}")
    assert restored == original

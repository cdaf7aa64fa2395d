"""backup_pgbackrest's effect: WAL archiving on, the stanza in the scenario's S3, a full backup
that `pgbackrest info` lists (client-side encrypted, SSE-KMS), the timers (the lab's values)."""

from __future__ import annotations

import json
import re

HOST = "molecule-backup-pgbackrest"
testinfra_hosts = [f"podman://{HOST}"]

BUCKET = "tradeops-lab-123456789012-backups"
PREFIX = f"pgbackrest/{HOST}"
KMS_KEY = "alias/aws/s3"  # the lab's, without TRADEOPS_BACKUP_KMS_KEY_ID
JOBS = {
    "full": ("Sun *-*-* 01:00:00", "pgbackrest", "--type=full backup"),
    "diff": ("Mon..Sat *-*-* 01:00:00", "pgbackrest", "--type=diff backup"),
    "check": ("*-*-* 06:00:00", "pgbackrest-check", "check"),
    "verify": ("Sat *-*-* 08:00:00", "pgbackrest-verify", "verify"),
}


def psql(host, sql: str) -> str:
    return host.check_output(f"runuser -u postgres -- psql -XAtc {sql!r}")


def info(host) -> dict:
    out = host.check_output("runuser -u postgres -- pgbackrest --stanza=main --output=json info")
    return json.loads(out)[0]


def test_postgresql_runs_and_archives_its_wal_to_pgbackrest(host):
    assert host.package("pgbackrest").is_installed
    service = host.service("postgresql@15-main")
    assert service.is_enabled and service.is_running
    assert psql(host, "SHOW archive_mode") == "on"
    assert psql(host, "SHOW wal_level") == "replica"
    assert psql(host, "SHOW archive_command") == "pgbackrest --stanza=main archive-push %p"
    # Archiving works: segments reached the repository, none failed.
    archived, failed = psql(
        host, "SELECT archived_count, failed_count FROM pg_stat_archiver"
    ).split("|")
    assert int(archived) >= 1 and int(failed) == 0


def test_the_configuration_is_postgres_only_and_names_the_labs_repository(host, ephemeral):
    conf = host.file("/etc/pgbackrest.conf")
    assert (conf.user, conf.group, conf.mode) == ("postgres", "postgres", 0o600)
    pairs = dict(line.split("=", 1) for line in conf.content_string.splitlines() if "=" in line)
    # The secrets are left out of anything an assertion could print.
    cipher_pass = pairs.pop("repo1-cipher-pass", "")
    pairs.pop("repo1-s3-key-secret", None)
    long_enough = len(cipher_pass) >= 20
    assert long_enough, "no repo1-cipher-pass of 20+ characters"
    expected = {
        "repo1-type": "s3",
        "repo1-s3-bucket": BUCKET,
        "repo1-s3-endpoint": "lab-s3",
        "repo1-storage-port": "5443",
        "repo1-s3-uri-style": "path",
        "repo1-path": f"/{PREFIX}",
        "repo1-s3-kms-key-id": KMS_KEY,
        "repo1-cipher-type": "aes-256-cbc",
        "repo1-storage-ca-file": "/etc/pgbackrest/s3-ca.pem",
        "repo1-storage-verify-tls": "y",
        "repo1-retention-full-type": "time",
        "repo1-retention-full": "30",
        "pg1-path": "/var/lib/postgresql/15/main",
    }
    assert {k: pairs.get(k) for k in expected} == expected
    ca = host.file("/etc/pgbackrest/s3-ca.pem").content_string
    assert ca.strip() == (ephemeral / "s3front" / "lab-s3.pem").read_text().strip()


def test_a_timer_per_job_enabled_and_scheduled(host):
    timers = host.check_output("systemctl list-timers --all --no-legend 'tradeops-pgbackrest-*'")
    for job, (schedule, label, command) in JOBS.items():
        timer = host.service(f"tradeops-pgbackrest-{job}.timer")
        assert timer.is_enabled and timer.is_running, job
        assert f"tradeops-pgbackrest-{job}.timer" in timers
        unit = host.file(f"/etc/systemd/system/tradeops-pgbackrest-{job}.timer").content_string
        assert f"OnCalendar={schedule}" in unit
        unit = host.file(f"/etc/systemd/system/tradeops-pgbackrest-{job}.service").content_string
        assert re.search(
            rf"^ExecStart=/usr/local/sbin/tradeops-backup-job --job {label} .* -- "
            rf"/usr/sbin/runuser -u postgres -- /usr/bin/pgbackrest --stanza=main {command}$",
            unit,
            re.M,
        ), job


def test_the_stanza_has_the_converges_full_backup(host):
    stanza = info(host)
    assert stanza["name"] == "main"
    assert stanza["status"]["code"] == 0, stanza["status"]
    assert stanza["cipher"] == "aes-256-cbc"
    # One: the first converge's; the idempotence and check runs took none.
    assert [b["type"] for b in stanza["backup"]] == ["full"]
    assert stanza["backup"][0]["error"] is False
    prom = host.file("/var/lib/prometheus/node-exporter/tradeops_backup_pgbackrest.prom")
    assert 'tradeops_backup_last_run_success{job="pgbackrest"} 1.000' in prom.content_string


def test_the_repository_in_s3_is_encrypted_twice(aws):
    s3 = aws("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/")
    sizes = {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}
    backup = [k for k in sizes if k.startswith(f"{PREFIX}/backup/main/") and "/pg_data/" in k]
    wal = [k for k in sizes if k.startswith(f"{PREFIX}/archive/main/15-1/") and sizes[k] > 8]
    backup.sort(key=sizes.get, reverse=True)
    assert backup and wal, sorted(sizes)[:20]
    for key in (backup[0], wal[0], f"{PREFIX}/backup/main/backup.info"):
        head = s3.head_object(Bucket=BUCKET, Key=key)
        # Server side: SSE-KMS with the configured key.
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY), key
        # Client side: pgBackRest's aes-256-cbc (OpenSSL's salted format).
        body = s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=0-7")["Body"].read()
        assert body == b"Salted__", key

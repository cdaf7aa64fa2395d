"""backup_common's effect on the host: the job wrapper, and the metrics it writes per run."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

testinfra_hosts = ["podman://molecule-backup-common"]

WRAPPER = "/usr/local/sbin/tradeops-backup-job"
SOURCE = Path(__file__).parents[3] / "roles/backup_common/files/tradeops_backup_job.py"


def metrics(host, directory: str, job: str) -> dict[str, float]:
    text = host.file(f"{directory}/tradeops_backup_{job}.prom").content_string
    found = re.findall(
        r'^tradeops_backup_(\w+)\{job="' + re.escape(job) + r'"\} (\S+)$', text, re.M
    )
    return {name: float(value) for name, value in found}


@pytest.fixture
def textfile_dir(host):
    directory = host.check_output("mktemp -d /tmp/molecule-textfile.XXXXXX")
    yield directory
    host.run(f"rm -rf {directory}")


def test_the_wrapper_is_the_roles_file_root_owned_and_executable(host):
    wrapper = host.file(WRAPPER)
    assert wrapper.is_file
    assert (wrapper.user, wrapper.group, wrapper.mode) == ("root", "root", 0o755)
    expected = "#!/usr/bin/python3\n" + SOURCE.read_text()
    assert wrapper.content_string.strip() == expected.strip()


def test_a_successful_job_is_recorded(host, textfile_dir):
    before = time.time()
    run = host.run(f"{WRAPPER} --job ok --textfile-dir {textfile_dir} --max-age 3600 -- true")
    assert run.rc == 0, run.stderr
    assert "tradeops-backup-job: ok: ok in" in run.stdout
    prom = host.file(f"{textfile_dir}/tradeops_backup_ok.prom")
    assert prom.mode == 0o644
    m = metrics(host, textfile_dir, "ok")
    assert m["last_run_success"] == 1 and m["last_run_exit_code"] == 0, m
    assert m["max_age_seconds"] == 3600, m
    # The container's clock is the machine's.
    assert before - 5 < m["last_success_timestamp_seconds"] <= time.time() + 5, m
    assert m["last_run_timestamp_seconds"] == m["last_success_timestamp_seconds"], m


def test_a_failed_job_is_recorded_and_keeps_the_last_success(host, textfile_dir):
    ok = host.run(f"{WRAPPER} --job flaky --textfile-dir {textfile_dir} -- true")
    assert ok.rc == 0, ok.stderr
    good = metrics(host, textfile_dir, "flaky")
    time.sleep(0.1)
    failed = host.run(f"{WRAPPER} --job flaky --textfile-dir {textfile_dir} -- sh -c 'exit 3'")
    # The job's own exit code, so systemd marks the unit failed.
    assert failed.rc == 3
    assert "FAILED with exit code 3" in failed.stderr
    bad = metrics(host, textfile_dir, "flaky")
    assert bad["last_run_success"] == 0 and bad["last_run_exit_code"] == 3, bad
    assert bad["last_success_timestamp_seconds"] == good["last_success_timestamp_seconds"]
    assert bad["last_run_timestamp_seconds"] > good["last_run_timestamp_seconds"]
    assert "max_age_seconds" not in bad  # only with --max-age


def test_a_command_that_cannot_run_is_a_recorded_failure(host, textfile_dir):
    run = host.run(f"{WRAPPER} --job missing --textfile-dir {textfile_dir} -- /nonexistent/job")
    assert run.rc == 127
    m = metrics(host, textfile_dir, "missing")
    assert m["last_run_success"] == 0 and m["last_success_timestamp_seconds"] == 0, m

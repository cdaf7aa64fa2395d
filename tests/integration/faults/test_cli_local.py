"""`tradeops run` against the controller alone: bad input, failures and interrupts.

No lab: a local inventory outside the checkout and small playbooks of the test's own, run
through the CLI as an operator runs it. Each case checks the exit code, what the operator
reads, the report, and that nothing ran that should not have.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tradeops.runner import RUN_MARKER, run_processes

from ..support import VENV_BIN, ansible_env, tradeops

LOCAL_INVENTORY = """\
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def site(tmp_path) -> Path:
    """An inventory outside the checkout (tmp) with one host, the controller."""
    write(tmp_path / "inv" / "local" / "hosts.yml", LOCAL_INVENTORY)
    write(tmp_path / "inv" / "local" / "group_vars" / "all.yml", "greeting: hello\n")
    return tmp_path


def run(site: Path, playbook: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = site / "report.json"
    report.unlink(missing_ok=True)
    inventory = str(site / "inv" / "local")
    proc = tradeops(
        "run", str(playbook), "-i", inventory, "--report", str(report), *args, env=ansible_env()
    )
    data = json.loads(report.read_text()) if report.is_file() else {}
    return proc, data


TOUCH = """\
- name: Local play
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Leave a trace
      ansible.builtin.file:
        path: "{{ trace }}"
        state: touch
        mode: "0644"
      tags: [trace]
"""


def test_an_inventory_outside_the_checkout_runs_and_is_reported(site):
    playbook = write(site / "touch.yml", TOUCH)
    trace = site / "trace"
    proc, report = run(site, playbook, "-e", f"trace={trace}")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert trace.exists()
    assert report["status"] == "ok" and report["exit_code"] == 0
    assert report["inventory"] == str(site / "inv" / "local")
    assert "OK" in proc.stderr.splitlines()[
        -3 if "artifacts" in proc.stderr else -1
    ] or "OK in" in (proc.stderr)


def test_a_malformed_group_vars_file_is_named_and_nothing_runs(site):
    broken = write(site / "inv" / "local" / "group_vars" / "all.yml", "greeting: [hello\nx: 1\n")
    playbook = write(site / "touch.yml", TOUCH)
    trace = site / "trace"
    proc, report = run(site, playbook, "-e", f"trace={trace}")
    assert proc.returncode == 3, proc.stderr
    assert f"{broken}:2:2: YAML syntax error" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not trace.exists()
    assert report == {}  # refused before the run: no report


def test_a_misspelt_tag_is_exit_2_with_the_known_tags_and_runs_nothing(site):
    playbook = write(site / "touch.yml", TOUCH)
    trace = site / "trace"
    proc, _ = run(site, playbook, "-e", f"trace={trace}", "--tags", "trcae")
    assert proc.returncode == 2, proc.stderr
    assert "--tags trcae: no play or task of" in proc.stderr
    assert "did you mean 'trace'?" in proc.stderr
    assert not trace.exists()
    proc, _ = run(site, playbook, "-e", f"trace={trace}", "--limit", "nohost")
    assert proc.returncode == 2, proc.stderr
    assert "--limit nohost matches no host" in proc.stderr
    assert not trace.exists()


def test_a_playbook_ansible_cannot_read_is_exit_3_with_its_file_and_line(site):
    playbook = write(
        site / "broken.yml",
        "- hosts: localhost\n  tasks:\n    - name: x\n      nosuchmodule_at_all: {}\n",
    )
    proc, report = run(site, playbook)
    assert proc.returncode == 3, proc.stderr
    assert "did not start" in proc.stderr
    assert f"{playbook}:" in proc.stderr  # ansible's Origin: file:line
    assert report["status"] == "refused"


def test_a_multi_line_failure_is_shown_whole(site):
    playbook = write(
        site / "fail.yml",
        """\
        - name: Local play
          hosts: localhost
          gather_facts: false
          tasks:
            - name: Profile | the profile is valid on this host
              ansible.builtin.fail:
                msg: |-
                  Tuning profile lab does not fit localhost (2 errors):
                  - cpu.isolated: CPUs 40-71 are not on this host (fix: isolate CPUs the host has)
                  - hugepages.count: 8 x 1G pages need 8 GiB (fix: lower hugepages.count)
        """,
    )
    proc, report = run(site, playbook)
    assert proc.returncode == 4, proc.stderr
    shown = " ".join(proc.stderr.split())
    assert "cpu.isolated: CPUs 40-71 are not on this host (fix: isolate CPUs the host has)" in shown
    assert "hugepages.count: 8 x 1G pages need 8 GiB (fix: lower hugepages.count)" in shown
    assert report["status"] == "failed"
    assert "hugepages.count" in report["failures"][0]["message"]


# A run as the AWS layers make one: a marker directory in $TMPDIR, an async job, and a wait
# with a two-hour timeout for a marker that never comes.
LONG_RUN = """\
- name: Local play
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A directory for this run's layer markers
      ansible.builtin.tempfile:
        state: directory
        prefix: tradeops-aws-layers-
      register: markers

    - name: Tell the test where it is
      ansible.builtin.copy:
        content: "{{ markers.path }}"
        dest: "{{ record }}"
        mode: "0644"

    - name: A long async job
      ansible.builtin.command: sleep 877
      async: 900
      poll: 0
      changed_when: false

    - name: Wait for the layers this one builds on
      ansible.builtin.wait_for:
        path: "{{ markers.path }}/never.done"
        timeout: 7200
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_stops_every_process_removes_the_temp_files_and_exits_130(site, sig):
    playbook = write(site / "long.yml", LONG_RUN)
    record = site / "markers.txt"
    report = site / "report.json"
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "tradeops"),
            "run",
            str(playbook),
            "-i",
            str(site / "inv" / "local"),
            "--report",
            str(report),
            "-e",
            f"record={record}",
        ],
        env=ansible_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "Wait for the layers this one builds on" in line:
                break
        time.sleep(2)  # the wait module is running now
        markers = Path(record.read_text())
        assert markers.is_dir()
        sent = time.monotonic()
        proc.send_signal(sig)
        rest = proc.communicate(timeout=60)[1]
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(seen) + rest
    assert proc.returncode == 130, out
    assert took < 20, took
    data = json.loads(report.read_text())
    assert data["status"] == "interrupted" and data["exit_code"] == 130
    assert data["interrupted_by"] == sig.name
    assert f"interrupted ({sig.name})" in out and "INTERRUPTED" in out
    # Nothing of the run is left: not ansible-playbook, its workers, the async job.
    assert run_processes(data["run_id"]) == []
    leftovers = subprocess.run(["pgrep", "-f", "sleep 877"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout
    # The run's temporary files are gone: the layers' marker directory with them.
    assert not markers.exists()
    assert RUN_MARKER not in os.environ

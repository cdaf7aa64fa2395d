"""The podman_nsenter connection: capability set, init-process cache, the command it runs.

The lab's own hosts exercise it end to end (tests/integration); here the pieces run on
this machine: nsenter into this test's own namespaces (a no-op entry, as root) shows the
capability drop and the clean environment, and a fake podman counts the look-ups.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.playbook.play_context import PlayContext
from ansible_collections.tradeops.platform.plugins.connection import podman_nsenter as pn

# CapBnd of the lab image's init, as podman 4.3 (Debian 12) starts it with its defaults.
PODMAN_DEFAULT = "Name:\tsystemd\nCapInh:\t0000000000000000\nCapBnd:\t00000000a80425fb\n"
PODMAN_DEFAULT_CAPS = [
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "net_bind_service",
    "net_raw",
    "sys_chroot",
    "mknod",
    "audit_write",
    "setfcap",
]


def test_bounding_set_names_exactly_the_bits_set():
    arg = pn.bounding_set(PODMAN_DEFAULT)
    assert arg.split(",") == ["-all"] + ["+" + c for c in PODMAN_DEFAULT_CAPS]


def test_bounding_set_of_a_full_set_and_of_none():
    full = pn.bounding_set("CapBnd:\t000001ffffffffff\n")
    assert full.count("+") == len(pn.CAPABILITIES) == 41
    assert pn.bounding_set("CapBnd:\t0000000000000000\n") == "-all"


def test_bounding_set_without_the_line_is_an_error():
    with pytest.raises(ValueError, match="CapBnd"):
        pn.bounding_set("Name:\tx\n")


def test_start_time_is_stable_and_none_for_a_gone_process():
    me = os.getpid()
    assert pn.start_time(me) == pn.start_time(me)
    assert pn.start_time(me).isdigit()
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert pn.start_time(proc.pid) is None


def test_enter_command_enters_the_namespaces_then_drops_privileges():
    argv = pn.enter_command(42, "-all,+chown", "echo hi")
    assert argv[:3] == ["nsenter", "-t", "42"]
    assert argv[argv.index("--") + 1] == "setpriv"
    assert argv[-3:] == ["/bin/sh", "-c", "echo hi"]
    assert "--reset-env" in argv and "--inh-caps" in argv


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="nsenter needs root")


@needs_root
def test_the_entered_shell_has_only_the_given_capabilities_and_a_clean_environment():
    env = dict(os.environ, TRADEOPS_SECRET_PROBE="leak")
    argv = pn.enter_command(os.getpid(), "-all,+chown,+kill", "cat /proc/self/status; env")
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    assert "CapBnd:\t0000000000000021" in out  # chown (0) and kill (5)
    assert "CapEff:\t0000000000000021" in out
    assert "TRADEOPS_SECRET_PROBE" not in out


@pytest.fixture
def fake_podman(tmp_path, monkeypatch):
    """A podman that answers inspect with this test's pid and counts its calls."""
    calls = tmp_path / "calls"
    script = tmp_path / "podman"
    script.write_text(
        f"#!/bin/sh\necho x >> {calls}\n"
        f'[ "$6" = missing ] && {{ echo "no such container" >&2; exit 125; }}\n'
        f"echo {os.getpid()}\n"
    )
    script.chmod(0o755)
    monkeypatch.setattr(pn.tempfile, "gettempdir", lambda: str(tmp_path))
    return script, calls


def connection(container: str, podman: Path):
    conn = pn.Connection(PlayContext(), sys.stdin)
    # The options as Ansible would have resolved them from the inventory.
    conn._options = {"remote_addr": container, "podman_executable": str(podman)}
    return conn


def test_the_init_process_is_looked_up_once_then_cached(fake_podman):
    podman, calls = fake_podman
    assert connection("c1", podman)._lookup("c1") == os.getpid()
    assert connection("c1", podman)._lookup("c1") == os.getpid()
    assert len(calls.read_text().split()) == 1


def test_a_stale_cache_entry_is_looked_up_again(fake_podman, tmp_path):
    podman, calls = fake_podman
    cache = Path(connection("c2", podman)._cache_file("c2"))
    cache.write_text(f'{{"pid": {os.getpid()}, "start": "1"}}')  # another process's time
    assert connection("c2", podman)._lookup("c2") == os.getpid()
    assert len(calls.read_text().split()) == 1


def test_a_container_that_is_not_running_fails_the_connection(fake_podman):
    podman = fake_podman[0]
    with pytest.raises(pn.AnsibleConnectionFailure, match="missing is not running"):
        connection("missing", podman)._lookup("missing")


@needs_root
def test_commands_and_files_through_the_connection(fake_podman, tmp_path):
    podman = fake_podman[0]
    conn = connection("self", podman)
    rc, out, err = conn.exec_command("cat", in_data=b"piped")
    assert (rc, out, err) == (0, b"piped", b"")
    src, dest, back = tmp_path / "src", tmp_path / "dest", tmp_path / "back"
    src.write_bytes(b"\x00binary\xff")
    conn.put_file(str(src), str(dest))
    conn.fetch_file(str(dest), str(back))
    assert back.read_bytes() == dest.read_bytes() == src.read_bytes()

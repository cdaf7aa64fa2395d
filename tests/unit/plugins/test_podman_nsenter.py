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
    """A podman that answers inspect ("PID STATUS") and counts its calls.

    By default the container's init is this test's process, running; a file
    answer-<container> next to the script holds another answer."""
    calls = tmp_path / "calls"
    script = tmp_path / "podman"
    script.write_text(
        f"#!/bin/sh\necho x >> {calls}\n"
        f'[ "$6" = missing ] && {{ echo "no such container" >&2; exit 125; }}\n'
        f'[ -f "{tmp_path}/answer-$6" ] && exec cat "{tmp_path}/answer-$6"\n'
        f"echo {os.getpid()} running\n"
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


# ---- paused and stopped containers are unreachable ------------------------------------
def fake_proc(tmp_path: Path, pid: int, cgroup_lines: str) -> tuple[str, str]:
    """A /proc with one process's cgroup file, and an empty cgroup mount."""
    proc, sys_cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "cgroup").write_text(cgroup_lines)
    sys_cgroup.mkdir()
    return str(proc), str(sys_cgroup)


def cgroup_file(root: str, path: str, name: str, text: str) -> None:
    target = Path(root + path)
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_text(text)


# /proc/<pid>/cgroup of a runc container's init on this kind of machine (cgroups v1).
V1_LINES = (
    "12:freezer:/machine.slice/libpod-abc.scope\n"
    "11:memory:/machine.slice/libpod-abc.scope\n"
    "1:name=systemd:/machine.slice/libpod-abc.scope/init.scope\n"
    "0::/\n"
)


@pytest.mark.parametrize(
    ("state", "expected"),
    [("FROZEN\n", "frozen"), ("FREEZING\n", "frozen"), ("THAWED\n", "thawed")],
)
def test_freezer_state_of_a_v1_cgroup(tmp_path, state, expected):
    proc, cg = fake_proc(tmp_path, 7, V1_LINES)
    cgroup_file(cg, "/freezer/machine.slice/libpod-abc.scope", "freezer.state", state)
    assert pn.freezer_state(7, proc, cg) == expected


@pytest.mark.parametrize(
    ("events", "expected"),
    [("populated 1\nfrozen 1\n", "frozen"), ("populated 1\nfrozen 0\n", "thawed")],
)
def test_freezer_state_of_a_v2_cgroup_and_of_a_hybrid_ones_unified_tree(tmp_path, events, expected):
    lines = "0::/machine.slice/libpod-abc.scope/init.scope\n"
    proc, cg = fake_proc(tmp_path, 8, lines)
    cgroup_file(cg, "/machine.slice/libpod-abc.scope/init.scope", "cgroup.events", events)
    assert pn.freezer_state(8, proc, cg) == expected
    hybrid = tmp_path / "hybrid"
    hybrid.mkdir()
    proc, cg = fake_proc(hybrid, 8, lines)
    cgroup_file(cg, "/unified/machine.slice/libpod-abc.scope/init.scope", "cgroup.events", events)
    assert pn.freezer_state(8, proc, cg) == expected


def test_freezer_state_is_unknown_without_the_files(tmp_path):
    proc, cg = fake_proc(tmp_path, 9, V1_LINES)
    assert pn.freezer_state(9, proc, cg) is None  # no freezer.state, no cgroup.events
    assert pn.freezer_state(10, proc, cg) is None  # no such process


def test_podman_saying_paused_or_exited_is_unreachable(fake_podman, tmp_path):
    podman = fake_podman[0]
    (tmp_path / "answer-c-paused").write_text(f"{os.getpid()} paused\n")
    (tmp_path / "answer-c-exited").write_text("0 exited\n")
    with pytest.raises(pn.AnsibleConnectionFailure, match="container c-paused is paused"):
        connection("c-paused", podman)._connect()
    with pytest.raises(pn.AnsibleConnectionFailure, match="container c-exited is exited"):
        connection("c-exited", podman)._connect()


def test_a_running_container_costs_no_podman_call_once_cached(fake_podman):
    podman, calls = fake_podman
    for _attempt in range(3):  # one connection per task, as Ansible makes them
        conn = connection("c-run", podman)._connect()
        assert conn._pid == os.getpid()
    assert len(calls.read_text().split()) == 1


class FrozenCgroup:
    """A real cgroup of this machine holding one sleeping process, to freeze and thaw
    (cgroup v1 freezer, or v2). Removed again afterwards: the machine is left as found."""

    def __init__(self, name: str):
        v1 = Path("/sys/fs/cgroup/freezer")
        v2 = Path("/sys/fs/cgroup")
        if (v1 / "freezer.state").exists() or (v1 / "tasks").exists():
            self.path, self.v2 = v1 / name, False
        elif (v2 / "cgroup.controllers").exists():
            self.path, self.v2 = v2 / name, True
        else:
            pytest.skip("no cgroup freezer on this machine")
        self.path.mkdir()
        self.proc = subprocess.Popen(["sleep", "300"])
        (self.path / "cgroup.procs").write_text(f"{self.proc.pid}\n")

    def freeze(self, frozen: bool) -> None:
        if self.v2:
            (self.path / "cgroup.freeze").write_text("1\n" if frozen else "0\n")
        else:
            (self.path / "freezer.state").write_text("FROZEN\n" if frozen else "THAWED\n")

    def remove(self) -> None:
        self.freeze(False)
        self.proc.kill()
        self.proc.wait()
        self.path.rmdir()


@needs_root
def test_a_frozen_container_is_unreachable_and_reachable_again_once_thawed(fake_podman, tmp_path):
    podman = fake_podman[0]
    group = FrozenCgroup(f"tradeops-test-{os.getpid()}")
    try:
        (tmp_path / "answer-c-frozen").write_text(f"{group.proc.pid} running\n")
        assert pn.freezer_state(group.proc.pid) == "thawed"
        connection("c-frozen", podman)._connect()  # caches the init process
        group.freeze(True)
        assert pn.freezer_state(group.proc.pid) == "frozen"
        with pytest.raises(pn.AnsibleConnectionFailure) as failure:
            connection("c-frozen", podman)._connect()
        assert "container c-frozen is paused" in str(failure.value)
        group.freeze(False)
        assert pn.freezer_state(group.proc.pid) == "thawed"
        assert connection("c-frozen", podman)._connect()._pid == group.proc.pid
    finally:
        group.remove()

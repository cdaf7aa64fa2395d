# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: podman_nsenter
short_description: Run tasks in a local rootful podman container through nsenter, with pipelining
version_added: "0.1.0"
description:
  - Reaches a running container of the local, rootful podman by entering its namespaces
    with C(nsenter) instead of starting C(podman exec) for every command. A task then costs
    one short-lived process and, with pipelining, one command; containers.podman.podman
    needs four or five C(podman) runs per task, each far slower than the module itself.
  - The command runs as root of the container with the container's capability bounding
    set (read from its init process, applied with the container's own C(setpriv)) and a
    clean environment (C(setpriv --reset-env)), as C(podman exec) would give it. Seccomp and
    LSM profiles are not re-applied.
  - The init process of each container is looked up with C(podman inspect) once and cached
    (pid and start time, so a restarted container is looked up again).
  - A paused container (its cgroup frozen, e.g. by C(podman pause) or C(tradeops lab
    fail-region)) or a stopped one is unreachable - the task is not run inside a frozen
    namespace. The freezer state is read from C(/proc) and C(/sys/fs/cgroup) (cgroup v1
    freezer or cgroup v2) on every connection, without a C(podman) call.
  - Made for the lab and the tests (the controller is the container host, as root). Real
    hosts are reached over SSH.
author:
  - tradeops engineers (@tradeops)
options:
  remote_addr:
    description: The container's name or id.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman command, used only to find the container's init process.
    type: str
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
notes:
  - The container must have C(/bin/sh), C(cat) and C(setpriv) (util-linux).
"""

EXAMPLES = r"""
# inventories/lab/group_vars/all/lab.yml
# ansible_connection: tradeops.platform.podman_nsenter
# ansible_host: "tradeops-{{ inventory_hostname }}"
"""

import json  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

from ansible.errors import AnsibleConnectionFailure, AnsibleError  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_text  # noqa: E402
from ansible.plugins.connection import ConnectionBase  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

display = Display()

# Linux capability numbers -> names (capability.h), for setpriv --bounding-set.
CAPABILITIES = (
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
)

# Namespaces of the container to enter: mount, UTS, IPC, network, PID, cgroup.
NSENTER_FLAGS = ("-m", "-u", "-i", "-n", "-p", "-C")


def bounding_set(status_text):
    """setpriv's --bounding-set argument for the CapBnd line of /proc/<pid>/status."""
    for line in status_text.splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split(":", 1)[1].strip(), 16)
            break
    else:
        raise ValueError("no CapBnd line in the process status")
    names = [name for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1]
    return ",".join(["-all"] + ["+" + name for name in names])


def start_time(pid):
    """The process's start time (clock ticks after boot), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name (field 2) may hold spaces: count fields after its ")".
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def freezer_state(pid, proc_root="/proc", cgroup_root="/sys/fs/cgroup"):
    """The cgroup freezer state of process pid: "frozen", "thawed", or None (unknown).

    cgroup v1: the freezer hierarchy's freezer.state (FROZEN, or FREEZING on the way; a
    child of a frozen cgroup reports FROZEN too). cgroup v2: the "frozen" field of
    cgroup.events of the process's unified cgroup (set when an ancestor is frozen too, as
    for systemd's init.scope inside a paused container), at the root of the cgroup mount
    or under unified/ on a hybrid machine."""
    try:
        with open(f"{proc_root}/{pid}/cgroup", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    unified = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if "freezer" in controllers.split(","):
            state = _read(f"{cgroup_root}/freezer{path}/freezer.state")
            if state is not None:
                return "frozen" if state in ("FROZEN", "FREEZING") else "thawed"
        elif hierarchy == "0" and controllers == "":
            unified = path
    if unified is not None:
        for base in (cgroup_root, f"{cgroup_root}/unified"):
            events = _read(f"{base}{unified}/cgroup.events")
            if events is not None:
                return "frozen" if "frozen 1" in events.splitlines() else "thawed"
    return None


def _read(path):
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return None


def enter_command(pid, caps, command):
    """The argv that runs a shell command inside the container as podman exec would."""
    return [
        "nsenter",
        "-t",
        str(pid),
        *NSENTER_FLAGS,
        "-r",
        "-w",
        "--",
        "setpriv",
        "--bounding-set",
        caps,
        "--inh-caps",
        "-all",
        "--reset-env",
        "--",
        "/bin/sh",
        "-c",
        command,
    ]


class Connection(ConnectionBase):
    """Commands and files through the namespaces of a local podman container."""

    transport = "tradeops.platform.podman_nsenter"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pid = None
        self._caps = None

    def _cache_file(self, container):
        base = os.path.join(tempfile.gettempdir(), f"tradeops-nsenter-{os.getuid()}")
        os.makedirs(base, mode=0o700, exist_ok=True)
        return os.path.join(base, container.replace("/", "_") + ".json")

    def _lookup(self, container):
        cache = self._cache_file(container)
        try:
            with open(cache, encoding="utf-8") as handle:
                cached = json.load(handle)
            if start_time(cached["pid"]) == cached["start"]:
                return cached["pid"]
        except (OSError, ValueError, KeyError):
            pass
        podman = self.get_option("podman_executable")
        proc = subprocess.run(
            [
                podman,
                "inspect",
                "--type",
                "container",
                "--format",
                "{{.State.Pid}} {{.State.Status}}",
                container,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        answer = proc.stdout.split()
        pid = answer[0] if answer else ""
        state = answer[1] if len(answer) > 1 else "not running"
        if proc.returncode != 0:
            reason = proc.stderr.strip() or "no such container"
            raise AnsibleConnectionFailure(f"container {container} is not running: {reason}")
        if not pid.isdigit() or pid == "0":
            raise AnsibleConnectionFailure(
                f"container {container} is {state}: it has no init process to enter"
            )
        if state == "paused":
            raise AnsibleConnectionFailure(
                f"container {container} is paused (podman unpause, or tradeops lab restore-region)"
            )
        pid = int(pid)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(cache))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"pid": pid, "start": start_time(pid)}, handle)
        os.replace(tmp, cache)
        return pid

    def _connect(self):
        if not self._connected:
            container = self.get_option("remote_addr")
            self._pid = self._lookup(container)
            # A paused container keeps its init process (the cache stays valid): its cgroup
            # freezer says whether it runs. Tasks must not run in a frozen namespace.
            if freezer_state(self._pid) == "frozen":
                raise AnsibleConnectionFailure(
                    f"container {container} is paused (its cgroup is frozen): podman unpause "
                    f"it, or tradeops lab restore-region its region"
                )
            try:
                with open(f"/proc/{self._pid}/status", encoding="ascii") as status:
                    self._caps = bounding_set(status.read())
            except (OSError, ValueError) as err:
                raise AnsibleConnectionFailure(f"container {container}: {err}") from err
            display.vvv(f"ENTER {container} (pid {self._pid})", host=container)
            self._connected = True
        return self

    def _run(self, command, in_data=None):
        argv = enter_command(self._pid, self._caps, command)
        display.vvv(f"EXEC {shlex.join(argv)}", host=self.get_option("remote_addr"))
        proc = subprocess.run(argv, input=in_data, capture_output=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        return self._run(to_text(cmd, errors="surrogate_or_strict"), in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as src:
            data = src.read()
        rc, _out, err = self._run(f"cat > {shlex.quote(out_path)}", data)
        if rc != 0:
            raise AnsibleError(f"failed to put {in_path} to {out_path}: {to_text(err)}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        rc, out, err = self._run(f"cat {shlex.quote(in_path)}")
        if rc != 0:
            raise AnsibleError(f"failed to fetch {in_path}: {to_text(err)}")
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as dest:
            dest.write(out)

    def close(self):
        self._connected = False

"""Start or stop the moto server of one molecule scenario (molecule/_shared/create.yml).

    python moto.py start DIR   # a free port on 127.0.0.1; DIR/port, DIR/pid, DIR/moto.log
    python moto.py stop DIR

The server runs detached from the create step, in a session of its own, until destroy.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _running(state: Path) -> int | None:
    """The port of the scenario's moto when it is up (a create run again keeps it)."""
    try:
        pid = int((state / "pid").read_text())
        port = int((state / "port").read_text())
        os.kill(pid, 0)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).close()
    except (OSError, ValueError):
        return None
    return port


def start(state: Path) -> int:
    state.mkdir(parents=True, exist_ok=True)
    running = _running(state)
    if running:
        return running
    with socket.socket() as probe:  # a port nothing listens on, released for moto
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Path(sys.executable).with_name("moto_server")
    with open(state / "moto.log", "wb") as log:
        proc = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"),
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
            continue
        (state / "pid").write_text(f"{proc.pid}\n")
        (state / "port").write_text(f"{port}\n")
        return port
    proc.kill()
    raise SystemExit(f"moto did not start on 127.0.0.1:{port}; see {state / 'moto.log'}")


def stop(state: Path) -> bool:
    """Stop the scenario's moto; False when none was running."""
    pidfile = state / "pid"
    if not pidfile.exists():
        return False
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # ProcessLookupError once it has gone
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pidfile.unlink()
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        raise SystemExit(__doc__)
    state = Path(argv[2])
    if argv[1] == "start":
        print(start(state))
    else:
        print("stopped" if stop(state) else "absent")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

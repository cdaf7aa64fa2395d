"""The lab's S3 repository for a backup scenario, as tests/integration/backup/ makes it: a TLS
front (tests/integration/backup/s3tls.py, unchanged) on the scenario network's gateway,
relaying to the scenario's moto, with a CA of its own for the name lab-s3.

    python s3front.py start STATE GATEWAY PORT MOTO_STATE   # STATE/lab-s3.pem: the CA to trust
    python s3front.py stop STATE

`start` starts (or keeps) a detached watcher that runs the front and ends it, and itself, as
soon as the scenario's moto is gone (MOTO_STATE/pid removed or its process dead). The shared
destroy (molecule/_shared/destroy.yml) stops that moto: so the front ends with the scenario,
with no hook of its own in destroy. `stop` is for an operator cleaning up by hand.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

S3TLS = Path(__file__).resolve().parents[2] / "tests" / "integration" / "backup" / "s3tls.py"


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def make_ca(state: Path) -> tuple[Path, Path]:
    """The front's certificate for lab-s3 (kept when it exists): s3tls.make_ca's."""
    cert_path, key_path = state / "lab-s3.pem", state / "lab-s3.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    spec = importlib.util.spec_from_file_location("s3tls", S3TLS)  # the backup test's module
    s3tls = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(s3tls)
    return s3tls.make_ca(state)


def start(state: Path, gateway: str, port: int, moto_state: Path) -> str:
    state.mkdir(parents=True, exist_ok=True)
    if _alive(state / "pid"):
        return "running"
    make_ca(state)
    with open(state / "s3front.log", "ab") as log:
        watcher = subprocess.Popen(
            [sys.executable, __file__, "watch", str(state), gateway, str(port), str(moto_state)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (state / "pid").write_text(f"{watcher.pid}\n")
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection((gateway, port), timeout=1).close()
            return "started"
        except OSError:
            if watcher.poll() is not None or time.monotonic() > deadline:
                stop(state)
                raise SystemExit(
                    f"the TLS front did not start on {gateway}:{port}; see {state}/s3front.log"
                ) from None
            time.sleep(0.2)


def watch(state: Path, gateway: str, port: int, moto_state: Path) -> int:
    upstream = (moto_state / "port").read_text().strip()
    cert, key = state / "lab-s3.pem", state / "lab-s3.key"
    front = subprocess.Popen(
        [sys.executable, str(S3TLS), gateway, str(port), str(cert), str(key), upstream]
    )

    def end(*_: object) -> None:
        front.terminate()
        front.wait(timeout=10)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, end)
    while front.poll() is None:
        if not _alive(moto_state / "pid"):
            print("s3front: the scenario's moto is gone: stopping the front", flush=True)
            end()
        time.sleep(0.5)
    return front.returncode


def stop(state: Path) -> str:
    pidfile = state / "pid"
    if not _alive(pidfile):
        pidfile.unlink(missing_ok=True)
        return "absent"
    os.kill(int(pidfile.read_text()), signal.SIGTERM)
    pidfile.unlink()
    return "stopped"


def main(argv: list[str]) -> int:
    if argv[1:2] == ["start"] and len(argv) == 6:
        print(start(Path(argv[2]), argv[3], int(argv[4]), Path(argv[5])))
    elif argv[1:2] == ["watch"] and len(argv) == 6:
        return watch(Path(argv[2]), argv[3], int(argv[4]), Path(argv[5]))
    elif argv[1:2] == ["stop"] and len(argv) == 3:
        print(stop(Path(argv[2])))
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

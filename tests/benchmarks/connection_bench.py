"""Benchmark of the lab's connection: containers.podman.podman against podman_nsenter.

Not a test (it asserts nothing). In a lab of its own (static hosts only, no moto needed
for them) it runs one playbook of ordinary work on every static lab host - commands,
a copied file, a template, a fetched file, a service query - once per connection,
alternating, and prints the wall time of each and the ratio podman / podman_nsenter.
Run: .venv/bin/python tests/benchmarks/connection_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.support import VENV_BIN, _free_port, ansible_env, run_playbook  # noqa: E402

CONNECTIONS = ("containers.podman.podman", "tradeops.platform.podman_nsenter")
PLAYBOOK = """\
- name: Ordinary work on the lab's static hosts
  hosts: engines_baremetal:monitoring
  gather_facts: false
  tasks:
    - name: Commands
      ansible.builtin.command: "true"
      changed_when: false
      loop: "{{ range(10) | list }}"
    - name: A copied file
      ansible.builtin.copy:
        content: "{{ inventory_hostname }} {{ 99999999 | random }}\\n"
        dest: /root/bench-copy
        mode: "0644"
    - name: A template
      ansible.builtin.template:
        src: "{{ playbook_dir }}/bench.j2"
        dest: /root/bench-template
        mode: "0644"
    - name: A fetched file
      ansible.builtin.fetch:
        src: /root/bench-copy
        dest: "{{ playbook_dir }}/fetched/"
    - name: A service query
      ansible.builtin.systemd_service:
        name: systemd-journald
      check_mode: true
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    env = ansible_env(
        TRADEOPS_LAB_NAME="benchconn",
        TRADEOPS_LAB_SUBNET="198.19.98.0/24",
        TRADEOPS_MOTO_PORT=str(_free_port()),
    )
    work = Path(tempfile.mkdtemp(prefix="tradeops-bench-conn-"))
    (work / "play.yml").write_text(PLAYBOOK)
    (work / "bench.j2").write_text("{{ inventory_hostname }} {{ range(50) | list }}\n")
    tradeops = str(VENV_BIN / "tradeops")
    subprocess.run([tradeops, "lab", "up"], env=env, check=True, capture_output=True)
    walls: dict[str, list[float]] = {c: [] for c in CONNECTIONS}
    try:
        for _ in range(rounds):
            for conn in CONNECTIONS:
                started = time.monotonic()
                run_playbook(
                    str(work / "play.yml"),
                    "-i",
                    str(ROOT / "inventories/lab/hosts.yml"),
                    "-e",
                    f"ansible_connection={conn}",
                    env=env,
                    check=True,
                )
                walls[conn].append(time.monotonic() - started)
    finally:
        subprocess.run([tradeops, "lab", "down"], env=env, check=False, capture_output=True)
    print(f"{'connection':<36}{'median wall s':>14}   runs")
    for conn in CONNECTIONS:
        runs = ", ".join(f"{w:.1f}" for w in walls[conn])
        print(f"{conn:<36}{statistics.median(walls[conn]):>14.1f}   {runs}")
    podman, nsenter = (statistics.median(walls[c]) for c in CONNECTIONS)
    print(f"podman_nsenter is {podman / nsenter:.1f}x faster on the same playbook and hosts")


if __name__ == "__main__":
    main()

"""Run a play of action plugins on localhost with no Python interpreter to be found: a
module run would fail there, so a play that passes proves its actions started none (they
ran in the controller's process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

HEADER = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: /nonexistent/python3
  tasks:
"""


def run_without_interpreter(path: Path, tasks: str, check_mode=False, **env):
    """Write HEADER + tasks (indented as the play's tasks) to path and run it."""
    path.write_text(HEADER + tasks)
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(path)]
    return subprocess.run(
        [*argv, "--check"] if check_mode else argv,
        cwd=ROOT,
        env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

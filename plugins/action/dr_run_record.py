# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""dr_run_record in the controller's process.

The record is a file on the controller, and a runbook writes it some twenty times, most of
them between the freeze and the verified order (the RTO's critical path): a module run
(a Python interpreter started and an AnsiballZ payload unpacked per call) cost each one
about half a second there. The action plugin validates the same arguments and calls the
same code (module_utils/dr_record.py) without starting anything; the record is written
in check mode too, as the module documents.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import ClassVar

from ansible_collections.tradeops.platform.plugins.module_utils.dr_record import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
    call,
)
from ansible_collections.tradeops.platform.plugins.plugin_utils.controller_action import (
    ControllerAction,
)


def run_git(git):
    def run(argv):
        proc = subprocess.run([git, *argv], capture_output=True, text=True, check=False, timeout=30)
        return proc.returncode, proc.stdout

    return run


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    VALIDATION: ClassVar[dict] = {"required_if": REQUIRED_IF}

    def call(self, params):
        git = shutil.which("git")
        return call(params, os.getcwd(), os.environ, run_git(git) if git else None, time.time())

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The markers by which site.yml's concurrent AWS layers wait for each other.

Each layer host (aws-<layer>, playbooks/aws/layers.yml) waits for the layers it builds on
to leave <layer>.done in the run's directory, and stops when one of them left
<layer>.failed too; at its end it leaves its own markers. These are files on the
controller, so the action plugin aws_layer_gate does this in the controller's process
(a module run would start an interpreter per marker: about a third of a second of CPU
each, some thirty times in a no-op run of every layer).
"""

from __future__ import annotations

import os
import time

POLL_SECONDS = 0.2

ARGUMENT_SPEC = {
    "run_dir": {"type": "path", "required": True},
    "layer": {"type": "str", "required": True},
    "wait_for": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "int", "default": 1800},
    "mark": {"type": "str", "choices": ["done", "failed"]},
}


def marker(run_dir, layer, state):
    return os.path.join(run_dir, f"{layer}.{state}")


def wait(run_dir, layers, timeout, clock=time.monotonic, sleep=time.sleep):
    """Wait until every one of layers has left its .done marker. Returns the layers still
    missing when timeout seconds have passed ([] once all are done)."""
    deadline = clock() + timeout
    pending = list(layers)
    while True:
        pending = [name for name in pending if not os.path.exists(marker(run_dir, name, "done"))]
        if not pending or clock() >= deadline:
            return pending
        sleep(POLL_SECONDS)


def mark(run_dir, layer, state):
    """Leave the layer's markers: done, or failed then done (a waiting layer that sees
    done must see failed already)."""
    for name in ("failed", "done") if state == "failed" else ("done",):
        fd = os.open(marker(run_dir, layer, name), os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)


def call(params, clock=time.monotonic, sleep=time.sleep):
    """One task: wait for params['wait_for'] (and check they succeeded), then leave
    params['mark'] when given. Returns the task's result."""
    run_dir, layer = params["run_dir"], params["layer"]
    needs = params.get("wait_for") or []
    result = {"changed": False, "waited_for": needs}
    missing = wait(run_dir, needs, params.get("timeout", 1800), clock, sleep)
    if missing:
        return {
            **result,
            "failed": True,
            "msg": (
                f"Timed out after {params.get('timeout', 1800)} s waiting for the "
                f"{', '.join(missing)} layer(s); the {layer} layer builds on them and has "
                "not been started."
            ),
        }
    failed = [name for name in needs if os.path.exists(marker(run_dir, name, "failed"))]
    if failed:
        return {
            **result,
            "failed": True,
            "msg": (
                f"The {', '.join(failed)} layer failed in this run (its error is above); the "
                f"{layer} layer builds on it and has not been started."
            ),
        }
    if params.get("mark"):
        mark(run_dir, layer, params["mark"])
        result["marked"] = params["mark"]
    return result

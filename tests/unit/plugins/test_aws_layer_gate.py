"""The markers of site.yml's concurrent layers (module_utils/aws_layer_gate.py), and the
action plugin that runs them in the controller's process."""

from __future__ import annotations

import os
import stat

import pytest
import yaml
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layer_gate as gate
from ansible_collections.tradeops.platform.plugins.modules import aws_layer_gate as module

from .controller_play import run_without_interpreter


class FakeClock:
    """A clock that moves only when the gate sleeps; sleeping runs the given events."""

    def __init__(self, events=None):
        self.now = 0.0
        self.events = dict(events or {})

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        for at in sorted(t for t in self.events if t <= self.now):
            self.events.pop(at)()


def params(run_dir, **extra):
    return {"run_dir": str(run_dir), "layer": "eks", "wait_for": [], "timeout": 1800, **extra}


def call(run_dir, clock=None, **extra):
    clock = clock or FakeClock()
    return gate.call(params(run_dir, **extra), clock, clock.sleep)


def test_nothing_to_wait_for_passes_at_once(tmp_path):
    assert call(tmp_path) == {"changed": False, "waited_for": []}


def test_waits_until_every_layer_it_builds_on_is_done(tmp_path):
    clock = FakeClock(
        {
            1.0: lambda: gate.mark(str(tmp_path), "network", "done"),
            5.0: lambda: gate.mark(str(tmp_path), "security", "done"),
        }
    )
    result = call(tmp_path, clock, wait_for=["network", "security"])
    assert "failed" not in result, result
    assert 5.0 <= clock.now < 5.0 + gate.POLL_SECONDS + 1e-9


def test_a_failed_layer_stops_the_layer_built_on_it(tmp_path):
    gate.mark(str(tmp_path), "network", "failed")
    gate.mark(str(tmp_path), "security", "done")
    result = call(tmp_path, wait_for=["security", "network"], mark="done")
    assert result["failed"] is True
    assert result["msg"] == (
        "The network layer failed in this run (its error is above); the eks layer builds "
        "on it and has not been started."
    )
    # It did not mark itself done: its rescue marks it failed.
    assert not (tmp_path / "eks.done").exists()


def test_a_layer_that_never_ends_times_out_by_name(tmp_path):
    gate.mark(str(tmp_path), "network", "done")
    clock = FakeClock()
    result = call(tmp_path, clock, wait_for=["network", "security"], timeout=30)
    assert result["failed"] is True
    assert "waiting for the security layer(s)" in result["msg"]
    assert 30 <= clock.now < 30 + gate.POLL_SECONDS + 1e-9


@pytest.mark.parametrize(
    ("state", "files"), [("done", {"eks.done"}), ("failed", {"eks.done", "eks.failed"})]
)
def test_marks_are_private_files(tmp_path, state, files):
    result = call(tmp_path, mark=state)
    assert result["marked"] == state and result["changed"] is False
    assert {p.name for p in tmp_path.iterdir()} == files
    for name in files:
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600


def test_marking_again_is_harmless(tmp_path):
    call(tmp_path, mark="done")
    assert call(tmp_path, mark="done")["marked"] == "done"


def test_the_module_documents_the_arguments_it_takes():
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    assert {
        name: (spec["type"], spec.get("required", False), spec.get("default"), spec.get("choices"))
        for name, spec in options.items()
    } == {
        name: (spec["type"], spec.get("required", False), spec.get("default"), spec.get("choices"))
        for name, spec in gate.ARGUMENT_SPEC.items()
    }


GATE_TASKS = """\
    - tradeops.platform.aws_layer_gate: {{run_dir: "{run_dir}", layer: network, mark: done}}
    - tradeops.platform.aws_layer_gate: {{run_dir: "{run_dir}", layer: kms, mark: failed}}
    - tradeops.platform.aws_layer_gate: {{run_dir: "{run_dir}", layer: eks, wait_for: [network]}}
    - tradeops.platform.aws_layer_gate:
        {{run_dir: "{run_dir}", layer: eks, wait_for: [network, kms]}}
      register: stopped
      ignore_errors: true
    - ansible.builtin.assert:
        that: stopped is failed and stopped.msg is search('The kms layer failed in this run')
"""


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_action_plugin_runs_in_the_controller_in_check_mode_too(tmp_path, check_mode):
    (tmp_path / "markers").mkdir()
    tasks = GATE_TASKS.format(run_dir=tmp_path / "markers")
    proc = run_without_interpreter(tmp_path / "gate.yml", tasks, check_mode)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    markers = {p.name for p in (tmp_path / "markers").iterdir()}
    assert markers == {"network.done", "kms.failed", "kms.done"}

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the engine roles (roles/engine_deploy/tasks/preflight.yml).

The rules live in module_utils/engine_placement.py (unit-tested); this is a thin wrapper.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.engine_placement import (
    placement,
)


def _plain(value):
    """Variables as plain dicts and lists (reading each item renders what it templates)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def engine_placement(
    probe_lines,
    tuning,
    host,
    cap_bits,
    sched_policy,
    sched_priority,
    capabilities,
    mlockall,
):
    """The preflight probe's lines -> the engine's placement (profile narrowed to the host)."""
    if not isinstance(probe_lines, list):
        raise AnsibleFilterError("engine_placement: the probe's stdout_lines, a list")
    return placement(
        _plain(probe_lines),
        _plain(tuning),
        _plain(host),
        _plain(cap_bits),
        sched_policy,
        sched_priority,
        _plain(capabilities),
        mlockall,
    )


class FilterModule:
    def filters(self):
        return {"engine_placement": engine_placement}

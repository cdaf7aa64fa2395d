# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the engine roles (roles/engine_deploy/tasks/preflight.yml).

The rules live in module_utils/engine_placement.py (unit-tested); this is a thin wrapper.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.engine_placement import (
    placement,
)
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def engine_placement(probe_lines, *args, **kwargs):
    """The preflight probe's lines -> the engine's placement (profile narrowed to the host).
    The other arguments are placement()'s: tuning, host, cap_bits, sched_policy,
    sched_priority, capabilities, mlockall."""
    if not isinstance(probe_lines, list):
        raise AnsibleFilterError("engine_placement: the probe's stdout_lines, a list")
    kwargs = {name: plain(value) for name, value in kwargs.items()}
    return placement(plain(probe_lines), *(plain(arg) for arg in args), **kwargs)


class FilterModule:
    def filters(self):
        return {"engine_placement": engine_placement}

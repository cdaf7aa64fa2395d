# Copyright: (c) 2025, tradeops engineers
# SPDX-License-Identifier: Apache-2.0
"""Thin Jinja wrappers around module_utils.cpuset, .tuning_profile and .tuning_metrics.

Documentation for each filter lives in the sidecar file of the same name
(plugins/filter/<filter>.yml), as ansible-doc and ansible-test sanity expect for a
FilterModule that provides several filters.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils import (
    tuning_metrics,
    tuning_profile,
)
from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import (
    CpuSetError,
    format_cpulist,
    format_mask,
    parse_cpulist,
)
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def cpulist(value):
    """Any CPU list form (string, int, list) -> compact kernel cpulist string."""
    try:
        return format_cpulist(parse_cpulist(value))
    except CpuSetError as exc:
        raise AnsibleFilterError(f"cpulist: {exc}") from exc


def cpumask(value, nr_cpus=None):
    """CPU list -> comma-grouped hex mask as in /proc/irq/*/smp_affinity."""
    try:
        return format_mask(parse_cpulist(value), nr_cpus)
    except CpuSetError as exc:
        raise AnsibleFilterError(f"cpumask: {exc}") from exc


# The rules deep-copy what they are given; a deep copy of one of Ansible's lazy containers
# copies the templating context with it (every variable of the run: seconds in site.yml).
# So every argument is made plain first.
def _facts(facts):
    facts = plain(facts)
    if isinstance(facts, dict) and "engine_host" in facts:
        return facts["engine_host"]
    if not isinstance(facts, dict):
        raise AnsibleFilterError("expected the engine_host dict from engine_host_facts")
    return facts


def tuning_validate(profile, facts):
    return tuning_profile.validate(plain(profile), _facts(facts))


def tuning_render(profile, facts):
    return tuning_profile.render(plain(profile), _facts(facts))


def tuning_verify(desired, facts):
    return tuning_profile.verify(plain(desired), _facts(facts))


def tuning_textfile(report, desired=None, kernel_judged=True, timestamp=None, previous=None):
    try:
        return tuning_metrics.textfile(
            plain(report), plain(desired), kernel_judged, timestamp, previous
        )
    except tuning_metrics.MetricsError as exc:
        raise AnsibleFilterError(f"tuning_textfile: {exc}") from exc


class FilterModule:
    def filters(self):
        return {
            "cpulist": cpulist,
            "cpumask": cpumask,
            "tuning_validate": tuning_validate,
            "tuning_render": tuning_render,
            "tuning_verify": tuning_verify,
            "tuning_textfile": tuning_textfile,
        }

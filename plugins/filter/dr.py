# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the DR runbooks: readiness checks and the data-loss estimate.

The rules live in module_utils/dr_readiness.py (unit-tested); these are thin wrappers.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible_collections.tradeops.platform.plugins.module_utils.dr_readiness import (
    database_tiers,
    evaluate,
    rpo_estimate,
)


def dr_readiness(inputs):
    """The readiness checks of a DR region: {ready, checks, not_ready}."""
    return evaluate(inputs or {})


def dr_rpo_estimate(postgresql=None, redis=None, last_known=None):
    """What an unplanned failover would lose, as the surviving side can tell."""
    return rpo_estimate(postgresql or None, redis or None, last_known or None)


def dr_database_tiers(hosts, hostvars, fact, active_region, target_region):
    """{primary, standby} statuses of a self-managed database tier, by region."""
    return database_tiers(hosts or [], hostvars, fact, active_region, target_region)


class FilterModule:
    def filters(self):
        return {
            "dr_readiness": dr_readiness,
            "dr_rpo_estimate": dr_rpo_estimate,
            "dr_database_tiers": dr_database_tiers,
        }

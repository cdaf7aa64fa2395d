# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the DR runbooks: readiness checks, the data-loss estimate, re-protect's S3 plan.

The rules live in module_utils/dr_readiness.py (unit-tested); these are thin wrappers.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.dr_readiness import (
    database_tiers,
    evaluate,
    rpo_estimate,
    s3_replication,
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


def dr_s3_replication(s3_outputs, home_region, dr_region, protect_region):
    """The S3 replication re-protecting protect_region wants (reversed while away)."""
    try:
        return s3_replication(s3_outputs, home_region, dr_region, protect_region)
    except ValueError as err:
        raise AnsibleFilterError(f"dr_s3_replication: {err}") from None


class FilterModule:
    def filters(self):
        return {
            "dr_readiness": dr_readiness,
            "dr_rpo_estimate": dr_rpo_estimate,
            "dr_database_tiers": dr_database_tiers,
            "dr_s3_replication": dr_s3_replication,
        }

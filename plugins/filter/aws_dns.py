# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the DNS layer (roles/aws_dns): its health checks and records, aliasing the
two regions' load balancers.

The rules live in module_utils/aws_dns.py (unit-tested); this is a thin wrapper.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.aws_dns import dns_records
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def aws_dns_records(records, zone, prefix, targets, evaluate_target_health=True):
    """aws_dns_failover_records + the load balancers -> {health_checks, records,
    regional_records} of the DNS layer's spec."""
    if not isinstance(records, list):
        raise AnsibleFilterError("aws_dns_records: aws_dns_failover_records must be a list")
    targets = plain(targets)
    missing = [role for role in ("primary", "secondary") if role not in targets]
    if missing:
        raise AnsibleFilterError(f"aws_dns_records: no {' or '.join(missing)} load balancer")
    return dns_records(plain(records), str(zone), str(prefix), targets, evaluate_target_health)


class FilterModule:
    def filters(self):
        return {"aws_dns_records": aws_dns_records}

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the alarms layer (roles/aws_alarms): its preflight's problems and its spec.

The rules live in module_utils/aws_alarms.py (unit-tested); these are thin wrappers.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import (
    build_spec,
    input_problems,
)
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def aws_alarms_problems(rules, overrides=None, severities=None, subscriptions=None, prefix=""):
    """The alarms layer's inputs -> what is wrong with them (empty: nothing)."""
    return input_problems(
        plain(rules), plain(overrides), plain(severities), plain(subscriptions), plain(prefix)
    )


def aws_alarms_spec(rules, prefix, account_id, region, **options):
    """aws_alarms_rules and the other layers' outputs -> the alarms layer's spec. The other
    options are build_spec's (dr_region, keys, severities, subscriptions, sources, tags,
    overrides); one left out or null takes build_spec's default."""
    options = {key: plain(value) for key, value in options.items() if value is not None}
    try:
        return build_spec(
            plain(rules),
            prefix=plain(prefix),
            account_id=str(plain(account_id)),
            region=plain(region),
            **options,
        )
    except (ValueError, KeyError, TypeError) as err:
        raise AnsibleFilterError(f"aws_alarms_spec: {err}") from None


class FilterModule:
    def filters(self):
        return {"aws_alarms_problems": aws_alarms_problems, "aws_alarms_spec": aws_alarms_spec}

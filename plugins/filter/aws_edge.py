# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the edge layer (roles/aws_edge): its target groups from the services, the
load balancer's listeners, the web ACL's rules, the logs bucket's statement for
access logs.

The rules live in module_utils/aws_edge.py (unit-tested); this is a thin wrapper.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils import aws_edge
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def aws_edge_target_groups(services, name, domain, region, protocol="HTTPS", target_type="ip"):
    """aws_edge_services -> the spec's target groups (names, hosts, rule priorities)."""
    if not isinstance(services, list):
        raise AnsibleFilterError("aws_edge_target_groups: aws_edge_services must be a list")
    return aws_edge.target_groups(plain(services), name, domain, region, protocol, target_type)


def aws_edge_service_problems(services, name):
    """aws_edge_services -> what is wrong with them (the preflight's messages)."""
    return aws_edge.service_problems(plain(services), str(name))


def aws_edge_listeners(spec, certificate_arn, rules=True):
    """The edge spec -> amazon.aws.elb_application_lb's listeners option."""
    return aws_edge.listeners(plain(spec), certificate_arn, rules=rules)


def aws_edge_waf_rules(waf):
    """The edge spec's waf -> community.aws.wafv2_web_acl's rules option."""
    return aws_edge.snake_rules(aws_edge.waf_rules(plain(waf)))


def aws_alb_log_delivery_policy(bucket, prefix, account_id, regions):
    """The bucket policy statements letting the regions' load balancers write access logs."""
    if isinstance(regions, str):
        regions = [regions]
    return aws_edge.alb_log_delivery_policy(bucket, prefix, str(account_id), plain(regions))


class FilterModule:
    def filters(self):
        return {
            "aws_edge_target_groups": aws_edge_target_groups,
            "aws_edge_service_problems": aws_edge_service_problems,
            "aws_edge_listeners": aws_edge_listeners,
            "aws_edge_waf_rules": aws_edge_waf_rules,
            "aws_alb_log_delivery_policy": aws_alb_log_delivery_policy,
        }

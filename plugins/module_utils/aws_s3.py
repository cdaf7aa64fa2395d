# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 layer's cross-field checks (roles/aws_s3/tasks/preflight.yml).

Called through the filter aws_s3_bucket_problems; each problem is one line of the
preflight's message, "<key>/<rule id>: what" or "<key>: what".
"""

from __future__ import annotations

import json

from ansible_collections.tradeops.platform.plugins.module_utils.plain import as_int

# Storage classes S3 moves an object to only after 30 days in STANDARD.
IA_CLASSES = ("STANDARD_IA", "ONEZONE_IA")
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
LOCK_MAX_DAYS = 36500


def _lifecycle_problems(where, rule):
    out = []
    transitions = rule.get("transitions") or []
    days = [as_int(t.get("days")) for t in transitions]
    if days != sorted(days) or len(set(days)) != len(days):
        out.append(f"{where}: transitions out of order")
    for transition in transitions:
        after = as_int(transition.get("days"))
        if after < 0 or (transition.get("storage_class") in IA_CLASSES and after < 30):
            out.append(
                f"{where}: {transition.get('storage_class')} after {transition.get('days')} days"
            )
    if "expiration_days" in rule:
        expiration = as_int(rule["expiration_days"])
        if expiration < 1 or (days and expiration <= max(days)):
            out.append(f"{where}: expiration_days {rule['expiration_days']}")
    if "noncurrent_expiration_days" in rule and as_int(rule["noncurrent_expiration_days"]) < 1:
        out.append(f"{where}: noncurrent_expiration_days {rule['noncurrent_expiration_days']}")
    return out


def _protected_prefix_problems(where, rule, protected):
    """A rule that transitions or expires current objects may not cover a protected
    prefix, nor lie under one."""
    if not (rule.get("transitions") or "expiration_days" in rule):
        return []
    prefix = rule.get("prefix") or ""
    return [
        f'{where}: prefix "{prefix}" moves or expires the protected prefix {kept}'
        for kept in protected
        if prefix.startswith(kept) or kept.startswith(prefix)
    ]


def bucket_problems(buckets):
    """What is wrong with aws_s3_buckets' lifecycle rules and object locks, in bucket
    order: per bucket, each rule's transition days (rising, none twice, IA classes after
    at least 30 days), expiration after the last transition, noncurrent expiration at
    least a day; then every rule against the protected prefixes; then the object lock
    (mode COMPLIANCE or GOVERNANCE, 1 to 36500 days)."""
    out = []
    for bucket in buckets or []:
        key = bucket.get("key")
        rules = bucket.get("lifecycle") or []
        for rule in rules:
            out.extend(_lifecycle_problems(f"{key}/{rule.get('id')}", rule))
        for rule in rules:
            out.extend(
                _protected_prefix_problems(
                    f"{key}/{rule.get('id')}", rule, bucket.get("protected_prefixes") or []
                )
            )
        if "object_lock" in bucket:
            lock = bucket["object_lock"]
            fields = lock if isinstance(lock, dict) else {}
            days = as_int(fields.get("days"))
            if fields.get("mode") not in LOCK_MODES or days < 1 or days > LOCK_MAX_DAYS:
                out.append(f"{key}: object_lock {json.dumps(lock)}")
    return out

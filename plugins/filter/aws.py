# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the AWS layer roles.

Security-group rules from the layer's data to ec2_security_group's arguments, the results
of a loop started as async jobs, and the ids a loop created, by name. Documentation for
each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def aws_security_group_rules(group, group_ids, vpc_cidr):
    """One group of aws_network_security_groups -> {'ingress': [...], 'egress': [...]}.

    Each rule names exactly one peer: `cidr` (or `vpc`, the VPC's CIDR), `group` (another
    group's key) or `self`; `proto` all/-1 means every protocol and takes no ports."""
    out = {"ingress": [], "egress": []}
    for direction in out:
        for rule in group.get(direction) or []:
            proto = str(rule.get("proto", "tcp"))
            module_rule = {"proto": "-1" if proto in ("all", "-1") else proto}
            if rule.get("description") is not None:
                module_rule["rule_desc"] = rule["description"]
            if module_rule["proto"] != "-1":
                module_rule["ports"] = [str(port) for port in rule.get("ports") or []]
            if rule.get("self"):
                peer = ("group_id", group["name"])
            elif rule.get("group") is not None:
                peer = ("group_id", rule["group"])
            elif rule.get("cidr") == "vpc":
                peer = ("cidr_ip", vpc_cidr)
            elif rule.get("cidr") is not None:
                peer = ("cidr_ip", rule["cidr"])
            else:
                raise AnsibleFilterError(f"{group.get('name')}: a rule without a peer: {rule}")
            key, value = peer
            if key == "group_id":
                if value not in group_ids:
                    raise AnsibleFilterError(f"{group.get('name')}: no security group {value}")
                value = group_ids[value]
            module_rule[key] = value
            out[direction].append(module_rule)
    return out


def aws_async_results(launched, waited):
    """The results of a loop launched with `async` + `poll: 0` and collected with
    async_status: every job's final result, with the loop item of its launch. When the
    loop ran inline (no job was started), the launch results themselves."""
    finished = (waited or {}).get("results") or []
    if not finished:
        return list((launched or {}).get("results") or [])
    return [dict(result, item=result["item"]["item"]) for result in finished]


def _path(value, path):
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def aws_ids_by_name(items, id_key, name_key="item.name", missing="check-mode"):
    """{name: id} of a list of dicts (a loop's results, an info module's list), both given
    as dotted paths. An item without the id (check mode creates nothing) maps to
    `missing`; with missing=None it is left out."""
    out = {}
    for item in items or []:
        value = _path(item, id_key)
        if value is None and missing is None:
            continue
        out[_path(item, name_key)] = missing if value is None else value
    return out


def aws_kms_unnamed_keys(found, wanted, tags):
    """Keys an interrupted run created and never named, to be named instead of duplicated.

    amazon.aws.kms_key creates a key (with its tags, in one call) and then its alias: a run
    stopped in between leaves a key no alias finds, and the next run would create another.
    found: the registered loop of kms_key_info over `wanted` (one result per wanted key);
    wanted: [{alias, description, region}]; tags: the environment's tags. A wanted alias
    that exists nowhere gets the newest enabled key of its region with no alias, the same
    description and every one of the tags. Returns [{alias, key_id, region}]."""
    results = (found or {}).get("results") if isinstance(found, dict) else found
    if not isinstance(results, list) or not isinstance(wanted, list):
        raise AnsibleFilterError("aws_kms_unnamed_keys: found must be a registered loop")
    tags = {str(k): str(v) for k, v in (tags or {}).items()}
    claims = []
    taken = set()
    if len(results) != len(wanted):
        raise AnsibleFilterError(
            f"aws_kms_unnamed_keys: {len(results)} lookups for {len(wanted)} wanted keys"
        )
    for index, want in enumerate(wanted):
        result = results[index]
        if (result or {}).get("skipped"):
            continue  # its alias exists: the lookup was not needed
        keys = (result or {}).get("kms_keys") or []
        alias = want["alias"] if want["alias"].startswith("alias/") else "alias/" + want["alias"]
        if any(
            alias in (k.get("aliases") or []) or want["alias"] in (k.get("aliases") or [])
            for k in keys
        ):
            continue
        candidates = [
            k
            for k in keys
            if not k.get("aliases")
            and k.get("key_state") == "Enabled"
            and k.get("description") == want["description"]
            and all(str((k.get("tags") or {}).get(t)) == v for t, v in tags.items())
            and k.get("key_id") not in taken
        ]
        if candidates:
            newest = max(candidates, key=lambda k: str(k.get("creation_date") or ""))
            taken.add(newest["key_id"])
            claims.append(
                {"alias": want["alias"], "key_id": newest["key_id"], "region": want["region"]}
            )
    return claims


def aws_s3_replication_policy(sources, destinations, account_id, source_region, destination_region):
    """The IAM policy S3 replication needs, and nothing more: read the source buckets'
    versions (decrypting with the source region's keys), write replicas into the
    destination buckets (encrypting with the destination region's keys)."""
    if not isinstance(sources, list) or not isinstance(destinations, list):
        raise AnsibleFilterError("aws_s3_replication_policy: sources and destinations are lists")

    def arns(names, suffix=""):
        return [f"arn:aws:s3:::{name}{suffix}" for name in names]

    def keys(region):
        return [f"arn:aws:kms:{region}:{account_id}:key/*"]

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": arns(sources),
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention",
                    "s3:GetObjectLegalHold",
                ],
                "Resource": arns(sources, "/*"),
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:ReplicateObject",
                    "s3:ReplicateDelete",
                    "s3:ReplicateTags",
                    "s3:ObjectOwnerOverrideToBucketOwner",
                ],
                "Resource": arns(destinations, "/*"),
            },
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": keys(source_region)},
            {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": keys(destination_region)},
        ],
    }


def aws_s3_bucket_kms_key(bucket_info):
    """The KMS key a bucket encrypts new objects with ('' for none or SSE-S3), from one
    result of amazon.aws.s3_bucket_info with bucket_facts.bucket_encryption."""
    buckets = (bucket_info or {}).get("buckets") or [{}]
    rules = ((buckets[0] or {}).get("bucket_encryption") or {}).get(
        "ServerSideEncryptionConfiguration", {}
    ).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    return str(default.get("KMSMasterKeyID") or "")


class FilterModule:
    def filters(self):
        return {
            "aws_security_group_rules": aws_security_group_rules,
            "aws_async_results": aws_async_results,
            "aws_ids_by_name": aws_ids_by_name,
            "aws_kms_unnamed_keys": aws_kms_unnamed_keys,
            "aws_s3_replication_policy": aws_s3_replication_policy,
            "aws_s3_bucket_kms_key": aws_s3_bucket_kms_key,
        }

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DR readiness: is the standby region ready to take over, and what would a failover lose?

Pure functions over plain data (what dr_aws_facts and the database roles' `status` entry
points report), so the rules are unit-tested without AWS or a database:

- `evaluate(inputs)` -> {"ready", "checks": [{name, ok, skipped, detail}], "not_ready"}
- `rpo_estimate(...)` -> the data-loss estimate a failover discloses before it promotes
- `sg_flows(groups, vpc_cidr)` -> region-neutral security-group flows, for parity checks
- `s3_replication(...)` -> the S3 replication a re-protect wants (reversed while away)

A check is ok, failed, or skipped (with the reason it could not be evaluated: a tier this
environment does not have, a figure the lab's moto cannot produce). Skipped checks do not
make an environment unready; the reason is shown so that nobody mistakes one for a pass.
"""

from __future__ import annotations


def _check(name, ok, detail, skipped=False):
    return {
        "name": name,
        "ok": bool(ok) and not skipped,
        "skipped": bool(skipped),
        "detail": detail,
    }


def _mark(check):
    return "skip" if check["skipped"] else ("ok" if check["ok"] else "FAIL")


def _skip(name, why):
    return _check(name, False, why, skipped=True)


# ---- security-group parity ---------------------------------------------------------------
def sg_flows(groups, vpc_cidr):
    """{group name: sorted flows} with peers made region-neutral.

    `groups` is EC2 DescribeSecurityGroups' list for one VPC. A peer that is another group
    becomes that group's name, the VPC's own CIDR becomes "vpc", so the primary's and the
    DR region's groups compare equal when they carry the same flows."""
    names = {g["GroupId"]: g["GroupName"] for g in groups}
    out = {}
    for group in groups:
        if group["GroupName"] == "default":
            continue
        flows = set()
        for direction, key in (("in", "IpPermissions"), ("out", "IpPermissionsEgress")):
            for perm in group.get(key) or []:
                proto = str(perm.get("IpProtocol", "-1"))
                ports = "all" if proto == "-1" else f"{perm.get('FromPort')}-{perm.get('ToPort')}"
                peers = [
                    "vpc" if r.get("CidrIp") == vpc_cidr else r.get("CidrIp")
                    for r in perm.get("IpRanges") or []
                ]
                peers += [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges") or []]
                peers += [
                    "sg:" + names.get(p.get("GroupId"), p.get("GroupId", "?"))
                    for p in perm.get("UserIdGroupPairs") or []
                ]
                peers += [
                    "pl:" + p.get("PrefixListId", "?") for p in perm.get("PrefixListIds") or []
                ]
                for peer in peers:
                    flows.add(f"{direction} {proto} {ports} {peer}")
        out[group["GroupName"]] = sorted(flows)
    return out


def sg_parity(primary, dr):
    """Differences between two regions' flows (sg_flows output), one sentence each."""
    problems = []
    for name in sorted(set(primary) | set(dr)):
        if name not in dr:
            problems.append(f"security group {name} is missing in the DR region")
            continue
        if name not in primary:
            problems.append(f"security group {name} exists only in the DR region")
            continue
        only_primary = sorted(set(primary[name]) - set(dr[name]))
        only_dr = sorted(set(dr[name]) - set(primary[name]))
        if only_primary:
            problems.append(f"{name}: flows missing in the DR region: {', '.join(only_primary)}")
        if only_dr:
            problems.append(f"{name}: flows only in the DR region: {', '.join(only_dr)}")
    return problems


# ---- the database tiers --------------------------------------------------------------------
def database_tiers(hosts, hostvars, fact, active_region, target_region):
    """{primary, standby} statuses of one self-managed tier, by the hosts' regions.

    `fact` is the status fact the tier's role sets on its hosts (db_postgresql_status,
    db_redis_status); hosts without it (not reached, or no such tier) are left out. Each
    status gains `host` and `region`. None when no host reported."""
    found = {}
    for host in hosts:
        values = hostvars[host]
        status = values.get(fact) if hasattr(values, "get") else None
        if not status:
            continue
        region = values.get("tradeops_region") or values.get("aws_region")
        found[region] = dict(status, host=host, region=region)
    if not found:
        return None
    return {"primary": found.get(active_region), "standby": found.get(target_region)}


# ---- S3 replication after a move ------------------------------------------------------------
def s3_replication(s3_outputs, home_region, dr_region, protect_region):
    """Which S3 replication re-protecting `protect_region` wants, from the s3 layer's outputs.

    site.yml's s3 layer replicates each home bucket to its DR copy (`<name>-dr`) and owns that
    rule. With the DR region active, re-protecting home adds the reverse rule: each DR copy
    replicates to its home bucket (S3 two-way replication). Back home, re-protecting the DR
    region removes the reverse rule again, so the topology is the one site.yml builds.

    Returns {"state": "present"|"absent", "region": where the DR copies live,
    "role": the replication role's name, "pairs": [{key, source, destination}]}: source is
    a DR copy its home bucket replicates to (`replicate_to`), destination that home bucket.
    No pairs when the layer replicates nothing."""
    if protect_region not in (home_region, dr_region) or home_region == dr_region:
        raise ValueError(
            f"re-protect protects the home region {home_region} or the DR region {dr_region}, "
            f"not {protect_region}"
        )
    outputs = s3_outputs or {}
    home = outputs.get("buckets") or {}
    copies = outputs.get("dr_buckets") or {}
    pairs = []
    for key in sorted(copies):
        if key not in home:
            raise ValueError(f"the s3 layer's outputs have a DR copy of {key} but no home bucket")
        if home[key].get("replicate_to") != copies[key]["name"]:
            continue  # a DR bucket of its own (dr_copy: the DR region's access logs)
        pairs.append({"key": key, "source": copies[key]["name"], "destination": home[key]["name"]})
    role_arn = outputs.get("replication_role_arn") or ""
    if pairs and not role_arn:
        raise ValueError(
            "the s3 layer's outputs name no replication role: run site.yml --tags s3 first"
        )
    return {
        "state": "present" if protect_region == home_region else "absent",
        "region": dr_region,
        "role": role_arn.rsplit("/", 1)[-1],
        "pairs": pairs,
    }


# ---- the data-loss estimate -----------------------------------------------------------------
def rpo_estimate(postgresql=None, redis=None, last_known=None):
    """What an unplanned failover would lose, as far as the surviving side can tell.

    postgresql: the standby's status (db_postgresql `status`): lag_seconds, lag_bytes,
      streaming (the WAL receiver is connected).
    redis: the replica's status (db_redis `status`): link_up, link_down_seconds.
    last_known: the last lag measured while the primary answered (a status or preflight
      record): {"seconds", "at"}.

    Async replication loses what the primary committed and had not shipped when it died:
    nobody on the surviving side can see it, so the estimate is the last known lag (the
    window the replica trailed by), never less than what the standby itself shows."""
    figures = []
    if last_known and last_known.get("seconds") is not None:
        figures.append(
            (
                float(last_known["seconds"]),
                f"last measured lag {last_known['seconds']} s at {last_known.get('at', '?')}",
            )
        )
    if postgresql:
        lag = postgresql.get("lag_seconds")
        if lag is not None:
            figures.append((float(lag), f"PostgreSQL standby replay lag {lag} s"))
    if redis and redis.get("link_up") is False and redis.get("link_down_seconds") is not None:
        figures.append(
            (
                float(redis["link_down_seconds"]),
                f"Redis replica link down for {redis['link_down_seconds']} s (cache, rebuildable)",
            )
        )
    if not figures:
        return {
            "seconds": None,
            "bytes": None,
            "detail": "no lag figure is available: the loss is unknown",
        }
    seconds = max(figure[0] for figure in figures)
    return {
        "seconds": round(seconds, 3),
        "bytes": (postgresql or {}).get("lag_bytes"),
        "detail": "; ".join(text for _seconds, text in figures),
    }


# ---- readiness --------------------------------------------------------------------------------
def _state_checks(state, target):
    if state is None:
        return [_skip("dr_state", "the DR state was not read")]
    records = state.get("records") or {}
    unreachable = state.get("unreachable") or {}
    checks = []
    missing = sorted(r for r, rec in records.items() if rec is None and r not in unreachable)
    if unreachable:
        checks.append(
            _check(
                "dr_state",
                False,
                "cannot read the DR state in "
                + ", ".join(f"{r} ({e})" for r, e in sorted(unreachable.items())),
            )
        )
    elif missing:
        checks.append(
            _check(
                "dr_state",
                False,
                f"no DR state record in {', '.join(missing)}: converge site.yml (DR layer)",
            )
        )
    else:
        epochs = {r: rec["epoch"] for r, rec in records.items()}
        if len(set(epochs.values())) > 1:
            checks.append(
                _check(
                    "dr_state",
                    False,
                    "the regions disagree about the epoch ("
                    + ", ".join(f"{r}: {e}" for r, e in sorted(epochs.items()))
                    + "): run the reprotect runbook to update the lagging region's record",
                )
            )
        else:
            auth = state.get("authoritative") or {}
            checks.append(
                _check(
                    "dr_state",
                    True,
                    f"active {auth.get('active_region')} at epoch {auth.get('epoch')}"
                    " in every region",
                )
            )
    auth = state.get("authoritative") or {}
    if target and auth.get("active_region") == target:
        checks.append(_check("target_standby", False, f"{target} is already the active region"))
    elif target:
        checks.append(_check("target_standby", True, f"{target} is the standby region"))
    return checks


def _postgresql_checks(pg, budget):
    if not pg:
        return [_skip("postgresql_replication", "no self-managed PostgreSQL in this environment")]
    primary, standby = pg.get("primary"), pg.get("standby")
    if not standby:
        return [_check("postgresql_replication", False, "no PostgreSQL standby in the DR region")]
    checks = []
    if not standby.get("in_recovery"):
        checks.append(
            _check(
                "postgresql_replication",
                False,
                f"{standby.get('host')} is not a standby (not in recovery)",
            )
        )
    elif not standby.get("streaming"):
        checks.append(
            _check(
                "postgresql_replication",
                False,
                f"{standby.get('host')} is not receiving WAL from the primary",
            )
        )
    else:
        checks.append(
            _check(
                "postgresql_replication",
                True,
                f"{standby.get('host')} streams from {(primary or {}).get('host', 'the primary')}",
            )
        )
    lag = standby.get("lag_seconds")
    if lag is None:
        checks.append(_check("postgresql_lag", False, "the standby reports no lag figure"))
    else:
        checks.append(
            _check(
                "postgresql_lag",
                float(lag) <= budget,
                f"replay lag {lag} s, {standby.get('lag_bytes', '?')} bytes (budget {budget} s)",
            )
        )
    return checks


def _redis_checks(redis):
    if not redis:
        return [_skip("redis_replication", "no self-managed Redis in this environment")]
    replica = redis.get("replica")
    if not replica:
        return [_check("redis_replication", False, "no Redis replica in the DR region")]
    ok = replica.get("role") in ("slave", "replica") and replica.get("link_up")
    lag = replica.get("lag_bytes", replica.get("offset_lag", "?"))
    return [
        _check(
            "redis_replication",
            ok,
            f"{replica.get('host')}: role {replica.get('role')}, "
            f"link {'up' if replica.get('link_up') else 'down'}, "
            f"offset lag {lag} bytes",
        )
    ]


def _rds_checks(rds, budget, lag_metric_required):
    if not rds:
        return [_skip("rds_replica", "no RDS database in this environment")]
    primary, replica = rds.get("primary"), rds.get("replica")
    checks = []
    if not replica:
        return [_check("rds_replica", False, "the DR region has no RDS replica")]
    problems = []
    if (
        primary
        and replica.get("source")
        and primary.get("arn")
        and replica["source"] != primary["arn"]
    ):
        problems.append(
            f"replicates from {replica['source']}, not from the primary {primary['arn']}"
        )
    if not replica.get("source"):
        problems.append("is not a read replica (already promoted?)")
    if replica.get("status") != "available":
        problems.append(
            f"status is {replica.get('status')} (promotion needs available; never backing-up)"
        )
    if not replica.get("backup_retention"):
        problems.append(
            "has no backup retention (a replica without backups cannot be promoted safely)"
        )
    missing = replica.get("missing_subnets") or []
    if missing:
        problems.append(
            f"its DB subnet group names subnets that do not exist: {', '.join(missing)}"
        )
    checks.append(
        _check(
            "rds_replica",
            not problems,
            f"{replica.get('id')} ({replica.get('region')}) "
            + ("; ".join(problems) if problems else "is a healthy replica"),
        )
    )
    lag = replica.get("replica_lag_seconds")
    if lag is None:
        if lag_metric_required:
            checks.append(
                _check("rds_lag", False, "no ReplicaLag datapoint in the last 10 minutes")
            )
        else:
            checks.append(
                _skip("rds_lag", "ReplicaLag not required here (moto publishes no RDS metrics)")
            )
    else:
        checks.append(
            _check("rds_lag", float(lag) <= budget, f"ReplicaLag {lag} s (budget {budget} s)")
        )
    if primary:
        differences = [
            f"{field} {primary.get(field)} != {replica.get(field)}"
            for field in (
                "instance_class",
                "engine",
                "engine_major",
                "parameter_group_family",
                "storage_type",
            )
            if primary.get(field) != replica.get(field)
        ]
        checks.append(
            _check(
                "rds_parity",
                not differences,
                "primary and replica match"
                if not differences
                else "primary vs replica: " + "; ".join(differences),
            )
        )
    return checks


def _capacity_checks(capacity):
    if not capacity:
        return [_skip("dr_capacity", "DR capacity was not described")]
    checks = []
    required = capacity.get("required_instance_types") or []
    offered = set(capacity.get("offered_instance_types") or [])
    missing = sorted(set(required) - offered)
    checks.append(
        _check(
            "dr_instance_types",
            not missing,
            f"offered in the DR region: {', '.join(sorted(set(required))) or 'none required'}"
            if not missing
            else f"not offered in the DR region's zones: {', '.join(missing)}",
        )
    )
    engines = capacity.get("engines")
    if engines is not None:
        wanted = capacity.get("engines_wanted", 1)
        checks.append(
            _check(
                "dr_engines",
                len(engines) >= wanted or bool(capacity.get("launch_template")),
                f"{len(engines)} DR engine host(s) ({', '.join(engines) or 'none'}), "
                f"launch template {capacity.get('launch_template') or 'none'}",
            )
        )
    groups = capacity.get("nodegroups")
    if groups is not None:
        problems = [
            f"{g['name']}: {g.get('status', 'missing')}"
            + (
                f", maxSize {g.get('max_size')} < failover minSize {g.get('failover_min_size')}"
                if g.get("max_size", 0) < g.get("failover_min_size", 0)
                else ""
            )
            for g in groups
            if g.get("status") != "ACTIVE" or g.get("max_size", 0) < g.get("failover_min_size", 0)
        ]
        checks.append(
            _check(
                "dr_nodegroups",
                not problems and bool(groups),
                "no DR node groups"
                if not groups
                else ("; ".join(problems) or f"{len(groups)} node group(s) ready to scale"),
            )
        )
    streams = capacity.get("streams")
    if streams is not None:
        bad = sorted(name for name, status in streams.items() if status != "ACTIVE")
        checks.append(
            _check(
                "dr_streams",
                not bad and bool(streams),
                "; ".join(f"{n}: {streams[n]}" for n in bad) or f"{len(streams)} stream(s) active",
            )
        )
    return checks


def _parity_checks(parity):
    if not parity or parity.get("primary") is None or parity.get("dr") is None:
        return [_skip("sg_parity", "security groups of both regions were not described")]
    problems = sg_parity(parity["primary"], parity["dr"])
    return [
        _check(
            "sg_parity",
            not problems,
            "; ".join(problems) or f"{len(parity['primary'])} group(s) carry the same flows",
        )
    ]


def _backup_checks(backups, max_age_minutes):
    if not backups or backups.get("age_minutes") is None:
        return [_skip("backups_fresh", (backups or {}).get("why", "no backup timestamp available"))]
    age = float(backups["age_minutes"])
    return [
        _check(
            "backups_fresh",
            age <= max_age_minutes,
            f"latest restorable point {age:.0f} min old (budget {max_age_minutes} min)",
        )
    ]


def _clock_checks(clocks, max_offset_ms):
    if clocks is None:
        return [_skip("clocks", "clock sync is not checked in this environment (dr_check_clocks)")]
    if not clocks:
        return [_skip("clocks", "no host of the standby region reported its clock")]
    bad = [
        f"{c['host']}: offset {c.get('offset_ms')} ms"
        + ("" if c.get("synchronized", True) else ", not synchronized")
        for c in clocks
        if not c.get("synchronized", True) or abs(float(c.get("offset_ms") or 0)) > max_offset_ms
    ]
    return [
        _check(
            "clocks", not bad, "; ".join(bad) or f"{len(clocks)} host(s) within {max_offset_ms} ms"
        )
    ]


def evaluate(inputs):
    """Every readiness check of a DR region, from the facts gathered by the runbook."""
    budgets = inputs.get("budgets") or {}
    lag_budget = float(budgets.get("lag_seconds", 60))
    checks = []
    checks += _state_checks(inputs.get("state"), inputs.get("target_region"))
    checks += _postgresql_checks(inputs.get("postgresql"), lag_budget)
    checks += _redis_checks(inputs.get("redis"))
    checks += _rds_checks(
        inputs.get("rds"), lag_budget, bool(budgets.get("rds_lag_metric_required", True))
    )
    checks += _capacity_checks(inputs.get("capacity"))
    checks += _parity_checks(inputs.get("parity"))
    checks += _backup_checks(inputs.get("backups"), float(budgets.get("backup_age_minutes", 1560)))
    checks += _clock_checks(inputs.get("clocks"), float(budgets.get("clock_offset_ms", 500)))
    not_ready = [c for c in checks if not c["ok"] and not c["skipped"]]
    return {
        "ready": not not_ready,
        "checks": checks,
        "lines": [f"{_mark(c):<4} {c['name']}: {c['detail']}" for c in checks],
        "not_ready": [f"{c['name']}: {c['detail']}" for c in not_ready],
    }

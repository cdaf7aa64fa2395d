# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS layer's records: failover pairs and each region's own names, aliasing the two
regions' load balancers (the edge layers' outputs).

``dns_records`` builds the spec's health checks and records from aws_dns_failover_records
and the load balancers (roles/aws_dns/vars/main.yml, through the filter aws_dns_records);
``alias_differences`` compares a record's AliasTarget as Route 53 answers it (the state
call, aws_state.dns_state). Unit-tested in tests/unit/plugins/test_aws_dns.py.

For each record ``name`` of the zone ``zone``:

* ``<name>.<zone>`` PRIMARY aliases the primary region's load balancer, SECONDARY the DR
  region's, each gated by the health check of its region;
* ``<name>.<region>.<zone>`` aliases that region's load balancer: the name its health check
  probes over HTTPS (the load balancer routes it by Host like the failover name).
"""

from __future__ import annotations

ROLES = ("primary", "secondary")


def regional_fqdn(name, region, zone):
    return f"{name}.{region}.{zone}"


def dns_records(records, zone, prefix, targets, evaluate_target_health=True):
    """{health_checks, records, regional_records} of the DNS layer's spec.

    ``targets``: {"primary": {region, dns_name, zone_id}, "secondary": {...}}, the two
    load balancers (an empty dns_name when the edge layer has not saved its outputs yet:
    the layer's checks stop the run before anything is sent)."""
    checks, failover, regional = [], [], []
    for rec in records:
        name = rec["name"]
        for role in ROLES:
            target = targets[role]
            fqdn = regional_fqdn(name, target["region"], zone)
            alias = {
                "dns_name": target["dns_name"],
                "zone_id": target["zone_id"],
                "evaluate_target_health": bool(evaluate_target_health),
            }
            check = f"{prefix}-{name}-{role}"
            checks.append(
                {
                    "name": check,
                    "record": name,
                    "role": role,
                    "fqdn": fqdn,
                    "path": rec.get("health_path", "/health"),
                    "port": int(rec.get("health_port", 443)),
                }
            )
            failover.append(
                {
                    "fqdn": f"{name}.{zone}",
                    "key": name,
                    "type": "A",
                    "identifier": f"{name}-{role}",
                    "failover": role.upper(),
                    "health_check": check,
                    "alias": dict(alias),
                }
            )
            regional.append(
                {"fqdn": fqdn, "key": name, "region": target["region"], "type": "A", "alias": alias}
            )
    return {"health_checks": checks, "records": failover, "regional_records": regional}


def alias_name(name):
    """A load balancer's DNS name as Route 53 may answer it: lower case, without the
    trailing dot, without the dualstack. prefix the console adds."""
    name = (name or "").lower().rstrip(".")
    return name[len("dualstack.") :] if name.startswith("dualstack.") else name


def alias_differences(record, want):
    """What differs between a ResourceRecordSet and the alias the spec wants ({dns_name,
    zone_id, evaluate_target_health}): (what, actual, desired) triples."""
    target = record.get("AliasTarget")
    if not target:
        values = [v.get("Value") for v in record.get("ResourceRecords") or []]
        return [("alias", f"no alias (values {values})", alias_name(want["dns_name"]))]
    out = []
    for what, have, wanted in (
        ("alias target", alias_name(target.get("DNSName")), alias_name(want["dns_name"])),
        ("alias hosted zone", target.get("HostedZoneId"), want["zone_id"]),
        (
            "evaluate target health",
            bool(target.get("EvaluateTargetHealth")),
            bool(want["evaluate_target_health"]),
        ),
    ):
        if have != wanted:
            out.append((what, have, wanted))
    return out

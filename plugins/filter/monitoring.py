# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the monitoring roles (node_exporter, prometheus, alertmanager, grafana).

Scrape targets from the inventory, alert-rule overrides per environment, Grafana
dashboards from a compact spec, and the one-line health of Prometheus' targets.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

import ipaddress
import json

import yaml
from ansible.errors import AnsibleFilterError

WILDCARD_BINDS = ("", "0.0.0.0", "::", "[::]", "*")
GRID_WIDTH = 24


def _plain(value):
    """Ansible's lazy/tagged containers -> plain Python data (JSON round trip)."""
    return json.loads(json.dumps(value, default=str))


def _get(mapping, key, default=None):
    try:
        value = mapping[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _is_loopback(address):
    text = str(address).strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def _host_address(hostvars, host):
    """Where Prometheus reaches a host: monitoring_address, the default IPv4 address the
    host reports (facts), ansible_host, or the inventory name."""
    hvars = hostvars[host]
    explicit = _get(hvars, "monitoring_address")
    if explicit:
        return str(explicit)
    facts = _get(hvars, "ansible_facts", {})
    ipv4 = _get(_get(facts, "default_ipv4", {}), "address")
    if ipv4:
        return str(ipv4)
    return str(_get(hvars, "ansible_host") or host)


def _format_address(address, port):
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    return f"{address}:{port}"


def _job_hosts(job, groups):
    hosts = []
    for group in job.get("groups") or ["all"]:
        for host in groups.get(group, []):
            if host not in hosts:
                hosts.append(host)
    return sorted(hosts)


def monitoring_scrape_targets(jobs, hostvars, groups):
    """Scrape job specs x inventory -> one target per (job, host)."""
    if not isinstance(jobs, list):
        raise AnsibleFilterError("monitoring_scrape_targets: jobs must be a list of job specs")
    targets = []
    for job in jobs:
        if not isinstance(job, dict) or not job.get("job"):
            raise AnsibleFilterError(f"monitoring_scrape_targets: job spec without a name: {job!r}")
        for host in _job_hosts(job, groups):
            hvars = hostvars[host]
            require = job.get("require_var")
            if require and not _get(hvars, require):
                continue
            port = _get(hvars, job["port_var"]) if job.get("port_var") else None
            port = port or job.get("port")
            if not port:
                raise AnsibleFilterError(
                    f"monitoring_scrape_targets: job {job['job']} has no port for {host} "
                    f"(set port in the job spec or {job.get('port_var') or 'port_var'})"
                )
            try:
                port = int(port)
            except (TypeError, ValueError):
                raise AnsibleFilterError(
                    f"monitoring_scrape_targets: port {port!r} of {host} ({job['job']}) "
                    "is not a number"
                ) from None
            bind = str(_get(hvars, job["bind_var"], "")) if job.get("bind_var") else ""
            loopback = bool(bind) and _is_loopback(bind)
            address = bind if bind and bind not in WILDCARD_BINDS and not loopback else None
            targets.append(
                {
                    "job": job["job"],
                    "host": host,
                    "address": address or _host_address(hostvars, host),
                    "port": port,
                    "loopback_bind": loopback,
                }
            )
    return targets


def monitoring_scrape_configs(targets, jobs, labels=None):
    """Targets (monitoring_scrape_targets) + job specs -> Prometheus scrape_configs."""
    labels = _plain(labels or {})
    configs = []
    for job in _plain(jobs):
        own = [t for t in targets if t["job"] == job["job"]]
        if not own:
            continue
        config = {"job_name": job["job"]}
        for key in ("scrape_interval", "scrape_timeout", "scheme", "honor_labels"):
            if key in job:
                config[key] = job[key]
        config["metrics_path"] = job.get("path", "/metrics")
        config["static_configs"] = [
            {
                "targets": [_format_address(t["address"], t["port"])],
                "labels": dict(labels, instance=t["host"]),
            }
            for t in own
        ]
        if job.get("metric_relabel_configs"):
            config["metric_relabel_configs"] = job["metric_relabel_configs"]
        configs.append(config)
    return configs


class _RulesDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_RulesDumper.add_representer(str, _str_presenter)


def _rules_doc(source):
    doc = yaml.safe_load(source) if isinstance(source, str) else _plain(source)
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise AnsibleFilterError("monitoring rules: not a Prometheus rule file (no groups list)")
    return doc


def monitoring_alert_names(sources):
    """Rule files (text or parsed) -> sorted alert names."""
    if isinstance(sources, (str, dict)):
        sources = [sources]
    names = set()
    for source in sources:
        for group in _rules_doc(source)["groups"]:
            names.update(r["alert"] for r in group.get("rules", []) if "alert" in r)
    return sorted(names)


OVERRIDABLE = {"expr", "for", "keep_firing_for", "labels", "annotations"}


def monitoring_rules_override(source, overrides=None):
    """A rule file's text + {alert: {for, expr, labels, annotations}} -> rule file text.

    Unchanged text when no override names an alert of this file (comments are kept)."""
    overrides = _plain(overrides or {})
    doc = _rules_doc(source)
    changed = False
    for name, override in overrides.items():
        if not isinstance(override, dict) or not set(override) <= OVERRIDABLE:
            raise AnsibleFilterError(
                f"monitoring_rules_override: override of {name} may set only "
                f"{sorted(OVERRIDABLE)}, got {override!r}"
            )
    for group in doc["groups"]:
        for rule in group.get("rules", []):
            override = overrides.get(rule.get("alert"))
            if not override:
                continue
            changed = True
            for key, value in override.items():
                if key in ("labels", "annotations"):
                    rule[key] = dict(rule.get(key) or {}, **value)
                else:
                    rule[key] = value
    if not changed:
        return source if isinstance(source, str) else yaml.dump(doc, Dumper=_RulesDumper)
    header = "# Rendered by tradeops.platform (prometheus_alert_overrides applied).\n"
    return header + yaml.dump(
        doc, Dumper=_RulesDumper, sort_keys=False, default_flow_style=False, width=1000
    )


def _panel(spec, datasource, grid, panel_id):
    width = int(spec.get("width", 12))
    height = int(spec.get("height", 8))
    if grid["x"] + width > GRID_WIDTH:
        grid["x"] = 0
        grid["y"] += grid["row_height"]
        grid["row_height"] = 0
    position = {"x": grid["x"], "y": grid["y"], "w": width, "h": height}
    grid["x"] += width
    grid["row_height"] = max(grid["row_height"], height)
    targets = spec.get("targets") or []
    if not targets:
        raise AnsibleFilterError(
            f"monitoring_grafana_dashboard: panel {spec.get('title')!r} has no targets"
        )
    panel = {
        "id": panel_id,
        "type": spec.get("type", "timeseries"),
        "title": spec["title"],
        "description": spec.get("description", ""),
        "datasource": datasource,
        "gridPos": position,
        "fieldConfig": {
            "defaults": {"unit": spec.get("unit", "short")},
            "overrides": [],
        },
        "options": {},
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": datasource,
                "expr": target["expr"],
                "legendFormat": target.get("legend", ""),
                "instant": spec.get("type") in ("stat", "table", "bargauge"),
            }
            for index, target in enumerate(targets)
        ],
    }
    if "thresholds" in spec:
        steps = [{"color": "green", "value": None}]
        steps += [{"color": color, "value": value} for value, color in spec["thresholds"]]
        panel["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": steps}
    if panel["type"] == "stat":
        panel["options"] = {"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"]}}
    return panel


def monitoring_grafana_dashboard(spec, datasource_uid="prometheus"):
    """Compact dashboard spec (uid, title, panels of {title, unit, targets[{expr, legend}]})
    -> a Grafana dashboard JSON model, laid out on the 24-column grid."""
    spec = _plain(spec)
    for key in ("uid", "title", "panels"):
        if not spec.get(key):
            raise AnsibleFilterError(f"monitoring_grafana_dashboard: the spec needs {key}")
    datasource = {"type": "prometheus", "uid": datasource_uid}
    instances = 'label_values(up{job="node"}, instance)'
    grid = {"x": 0, "y": 0, "row_height": 0}
    panels = [_panel(p, datasource, grid, i + 1) for i, p in enumerate(spec["panels"])]
    return {
        "uid": spec["uid"],
        "title": spec["title"],
        "description": spec.get("description", ""),
        "tags": spec.get("tags", ["tradeops"]),
        "timezone": "utc",
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": spec.get("refresh", "30s"),
        "time": {"from": spec.get("time_from", "now-1h"), "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "instance",
                    "label": "host",
                    "type": "query",
                    "datasource": datasource,
                    "query": {"query": instances, "refId": "instance"},
                    "definition": instances,
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".+",
                    "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                    "refresh": 2,
                    "sort": 1,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


ROUTE_TIMING = ("group_wait", "group_interval", "repeat_interval")


def monitoring_severity_route(item):
    """{key: severity, value: {receiver, group_wait, ...}} (dict2items) -> an
    Alertmanager route matching that severity."""
    item = _plain(item)
    severity, spec = item.get("key"), item.get("value") or {}
    if not severity or not spec.get("receiver"):
        raise AnsibleFilterError(
            f"monitoring_severity_route: severity {severity!r} needs a receiver, got {spec!r}"
        )
    unknown = set(spec) - {"receiver", "continue", *ROUTE_TIMING}
    if unknown:
        raise AnsibleFilterError(
            f"monitoring_severity_route: severity {severity}: unknown keys {sorted(unknown)}"
        )
    route = {"receiver": spec["receiver"], "matchers": [f'severity="{severity}"']}
    route.update({key: spec[key] for key in ROUTE_TIMING if key in spec})
    route["continue"] = bool(spec.get("continue", False))
    return route


def monitoring_targets_summary(response):
    """Prometheus /api/v1/targets answer -> {up, total, down, line}."""
    data = _get(_plain(response), "data", {})
    active = _get(data, "activeTargets", [])
    down = sorted(
        f"{t['labels'].get('job', '?')}/{t['labels'].get('instance', '?')}"
        for t in active
        if t.get("health") != "up"
    )
    total = len(active)
    line = f"targets up {total - len(down)}/{total}"
    if down:
        shown = ", ".join(down[:6]) + (f" (+{len(down) - 6} more)" if len(down) > 6 else "")
        line += f"; not up: {shown}"
    return {"up": total - len(down), "total": total, "down": down, "line": line}


class FilterModule:
    def filters(self):
        return {
            "monitoring_scrape_targets": monitoring_scrape_targets,
            "monitoring_scrape_configs": monitoring_scrape_configs,
            "monitoring_alert_names": monitoring_alert_names,
            "monitoring_rules_override": monitoring_rules_override,
            "monitoring_grafana_dashboard": monitoring_grafana_dashboard,
            "monitoring_severity_route": monitoring_severity_route,
            "monitoring_targets_summary": monitoring_targets_summary,
        }

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the k8s_monitoring role: kube-prometheus-stack's Helm values from the sources
the host monitoring uses (docs: plugins/filter/<name>.yml).

The rule files of roles/prometheus, the severity routes of roles/alertmanager (built by the
same monitoring_severity_route) and the dashboards of roles/grafana (the same
monitoring_grafana_dashboard) become one release's values, so that the cluster pages on
exactly what the hosts page on. Every refusal names the role variable at fault.
"""

from __future__ import annotations

import json
import re

import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.monitoring import (
    monitoring_grafana_dashboard,
    monitoring_rules_override,
    monitoring_severity_route,
)
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_quantity import (
    QuantityError,
    parse_quantity,
)

VAR = "k8s_monitoring_"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
# Alertmanager's own retention flag takes no days (the chart says so).
AM_DURATION = re.compile(r"^([0-9]+(ms|s|m|h))+$")
# Prometheus' --storage.tsdb.retention.size: base-2 units spelt KB, MB ... (1GB = 2**30 B).
RETENTION_SIZE = re.compile(r"^([0-9]+)(B|KB|MB|GB|TB|PB|EB)$")
SIZE_UNITS = {"B": 0, "KB": 10, "MB": 20, "GB": 30, "TB": 40, "PB": 50, "EB": 60}
# Prometheus' storage docs: keep retention.size at most 80-85% of the volume (the WAL and
# compaction need the rest).
RETENTION_SHARE = 0.85
# Labels the Prometheus operator adds to every series itself.
OPERATOR_LABELS = ("prometheus", "prometheus_replica")
# ConfigMaps hold at most 1 MiB; leave room for the metadata.
CONFIGMAP_DATA_LIMIT = 1_000_000
# Receiver integrations amtool 0.25 (Debian bookworm, which checks the configuration) knows.
INTEGRATIONS = (
    "discord_configs",
    "email_configs",
    "msteams_configs",
    "opsgenie_configs",
    "pagerduty_configs",
    "pushover_configs",
    "slack_configs",
    "sns_configs",
    "telegram_configs",
    "victorops_configs",
    "webex_configs",
    "webhook_configs",
    "wechat_configs",
)
# Where each component's resources go in the chart's values.
COMPONENTS = {
    "prometheus": ("prometheus", "prometheusSpec", "resources"),
    "alertmanager": ("alertmanager", "alertmanagerSpec", "resources"),
    "grafana": ("grafana", "resources"),
    "operator": ("prometheusOperator", "resources"),
    "kube_state_metrics": ("kube-state-metrics", "resources"),
    "node_exporter": ("prometheus-node-exporter", "resources"),
}
MANAGED_BY = {
    "app.kubernetes.io/managed-by": "tradeops.platform",
    "app.kubernetes.io/part-of": "tradeops",
}
DASHBOARD_LABEL = ("grafana_dashboard", "1")
FOLDER_ANNOTATION = "grafana_folder"
# The chart's Watchdog (always firing) and InfoInhibitor alerts are plumbing, not pages.
PLUMBING_ALERTS = 'alertname=~"Watchdog|InfoInhibitor"'
NULL_RECEIVER = "null"


def _plain(value):
    """Ansible's lazy/tagged containers -> plain Python data (JSON round trip)."""
    return json.loads(json.dumps(value, default=str))


class _ValuesDumper(yaml.SafeDumper):
    """Block style, multi-line strings (PromQL, descriptions) as literal blocks."""


def _str_presenter(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_ValuesDumper.add_representer(str, _str_presenter)


def _dump(data):
    return yaml.dump(
        data, Dumper=_ValuesDumper, sort_keys=False, default_flow_style=False, width=1000
    )


def _fail(field, message):
    raise AnsibleFilterError(f"{VAR}{field}: {message}")


def _need(spec, key, kind):
    value = spec.get(key)
    if not isinstance(value, kind):
        _fail(key, f"missing or not a {kind.__name__} (got {value!r})")
    return value


def _quantity(field, value):
    try:
        quantity = parse_quantity(value)
    except QuantityError as exc:
        _fail(field, str(exc))
    if quantity <= 0:
        _fail(field, f"{value!r} must be more than zero")
    return quantity


def _set(tree, path, value):
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _resources(resources):
    """{component: {requests: {cpu, memory}, limits: {cpu?, memory}}} -> {component: resources},
    refused unless every component has CPU and memory requests, a memory limit, and
    requests that fit their limits."""
    unknown = sorted(set(resources) - set(COMPONENTS))
    missing = sorted(set(COMPONENTS) - set(resources))
    if unknown or missing:
        _fail(
            "resources",
            f"components are {', '.join(COMPONENTS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else ""),
        )
    out = {}
    for component in COMPONENTS:
        spec = resources[component]
        where = f"resources.{component}"
        if not isinstance(spec, dict) or set(spec) - {"requests", "limits"}:
            _fail(where, f"a dict of requests and limits, got {spec!r}")
        requests, limits = spec.get("requests") or {}, spec.get("limits") or {}
        for name in ("cpu", "memory"):
            if name not in requests:
                _fail(
                    f"{where}.requests.{name}", "required (the scheduler places pods by requests)"
                )
        if "memory" not in limits:
            _fail(
                f"{where}.limits.memory", "required (an unbounded pod can take the node's memory)"
            )
        for kind, given in (("requests", requests), ("limits", limits)):
            extra = sorted(set(given) - {"cpu", "memory"})
            if extra:
                _fail(f"{where}.{kind}", f"only cpu and memory, not {', '.join(extra)}")
        for name in ("cpu", "memory"):
            if name in limits:
                low = _quantity(f"{where}.requests.{name}", requests[name])
                high = _quantity(f"{where}.limits.{name}", limits[name])
                if low > high:
                    _fail(
                        f"{where}.requests.{name}",
                        f"{requests[name]} is more than its limit {limits[name]}",
                    )
            else:
                _quantity(f"{where}.requests.{name}", requests[name])
        out[component] = {
            "requests": {name: str(requests[name]) for name in ("cpu", "memory")},
            "limits": {name: str(limits[name]) for name in ("cpu", "memory") if name in limits},
        }
    return out


def _claim(storage_class, size):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec = {"storageClassName": storage_class, **spec}
    return {"volumeClaimTemplate": {"spec": spec}}


def _storage(storage, retention_size):
    unknown = sorted(set(storage) - {"storage_class", "prometheus", "alertmanager", "grafana"})
    if unknown:
        _fail(
            "storage",
            f"keys are storage_class, prometheus, alertmanager, grafana; unknown: {unknown}",
        )
    storage_class = storage.get("storage_class") or ""
    if storage_class and not DNS_LABEL.match(str(storage_class)):
        _fail("storage.storage_class", f"{storage_class!r} is not a storage class name")
    sizes = {}
    for component in ("prometheus", "alertmanager", "grafana"):
        if component not in storage:
            _fail(f"storage.{component}", "required (a volume size such as 200Gi)")
        sizes[component] = _quantity(f"storage.{component}", storage[component])
    if retention_size:
        match = RETENTION_SIZE.match(str(retention_size))
        if not match:
            _fail("retention_size", f"{retention_size!r} is not a size like 170GB (or empty)")
        size = int(match.group(1)) * 2 ** SIZE_UNITS[match.group(2)]
        allowed = sizes["prometheus"] * round(RETENTION_SHARE * 100) / 100
        if size > allowed:
            _fail(
                "retention_size",
                f"{retention_size} leaves too little of the {storage['prometheus']} volume "
                f"(k8s_monitoring_storage.prometheus) for the WAL and compaction: at most "
                f"{int(RETENTION_SHARE * 100)}% of it, {int(allowed) // 2**30}GB",
            )
    return storage_class, {component: str(storage[component]) for component in sizes}


def _rule_files(rules, overrides):
    """{file name: text} + alert overrides -> [{file, name, text, overridden, groups, alerts}],
    by file name."""
    if not rules:
        _fail("rules_dir", "holds no rule files (*.yml)")
    out, alerts_seen, names = [], set(), {}
    for filename in sorted(rules):
        stem = re.sub(r"\.ya?ml$", "", filename)
        name = "tradeops-" + stem.replace("_", "-").lower()
        if not DNS_LABEL.match(name) or len(name) > 63:
            _fail("rules_dir", f"{filename}: the name {name} is not a DNS label (rename the file)")
        if name in names:
            _fail("rules_dir", f"{filename} and {names[name]} both become the rule set {name}")
        names[name] = filename
        try:
            doc = yaml.safe_load(rules[filename])
        except yaml.YAMLError as exc:
            _fail("rules_dir", f"{filename} is not YAML: {exc}")
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            _fail("rules_dir", f"{filename} is not a Prometheus rule file (no groups list)")
        for group in doc["groups"]:
            alerts_seen.update(r["alert"] for r in group.get("rules") or [] if "alert" in r)
        try:
            text = monitoring_rules_override(rules[filename], overrides)
        except AnsibleFilterError as exc:
            _fail("alert_overrides", str(exc))
        doc = yaml.safe_load(text)
        out.append(
            {
                "file": filename,
                "name": name,
                "text": text,
                # Unchanged by the overrides: promtool can check the file itself.
                "overridden": text != rules[filename],
                "groups": doc["groups"],
                "alerts": sorted(
                    r["alert"] for g in doc["groups"] for r in g.get("rules") or [] if "alert" in r
                ),
            }
        )
    unknown = sorted(set(overrides) - alerts_seen)
    if unknown:
        _fail("alert_overrides", f"name alerts no rule file defines: {', '.join(unknown)}")
    return out


def _labels(field, labels):
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        _fail(field, f"a dict of strings to strings, got {labels!r}")
    return labels


def _dashboard_manifests(spec, labels):
    dashboards = _need(spec, "dashboards", dict)
    if not dashboards:
        _fail("dashboards_dir", "holds no dashboards (*.yml)")
    namespace = spec["namespace"]
    out, uids = [], {}
    for index, name in enumerate(sorted(dashboards), start=2):
        try:
            model = monitoring_grafana_dashboard(dashboards[name], spec["grafana_datasource_uid"])
        except AnsibleFilterError as exc:
            _fail("dashboards_dir", f"{name}.yml: {exc}")
        if model["uid"] in uids:
            _fail(
                "dashboards_dir",
                f"{name}.yml and {uids[model['uid']]}.yml share the uid {model['uid']}",
            )
        uids[model["uid"]] = name
        # The JSON the host side's Grafana reads, byte for byte (its to_nice_json).
        text = json.dumps(model, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"
        if len(text.encode()) > CONFIGMAP_DATA_LIMIT:
            _fail(
                "dashboards_dir", f"{name}.yml renders {len(text)} bytes, over a ConfigMap's 1 MiB"
            )
        object_name = "tradeops-dashboard-" + name.replace("_", "-").lower()
        if not DNS_LABEL.match(object_name) or len(object_name) > 63:
            _fail(
                "dashboards_dir", f"{name}.yml: {object_name} is not a DNS label (rename the file)"
            )
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": object_name,
                "namespace": namespace,
                "labels": {
                    **labels,
                    DASHBOARD_LABEL[0]: DASHBOARD_LABEL[1],
                    "tradeops.io/component": "grafana-dashboard",
                },
                "annotations": {FOLDER_ANNOTATION: spec["dashboards_folder"]},
            },
            "data": {f"{name}.json": text},
        }
        out.append({"file": f"{index:02d}-configmap-{object_name}.yaml", "manifest": manifest})
    return out


def k8s_monitoring_values(spec):
    """The role's spec -> {values, values_yaml, rules, manifests, summary} (no secrets)."""
    if not isinstance(spec, dict):
        raise AnsibleFilterError(f"k8s_monitoring_values: a dict spec, not {type(spec).__name__}")
    spec = _plain(spec)
    namespace = _need(spec, "namespace", str)
    if not DNS_LABEL.match(namespace) or len(namespace) > 63:
        _fail("namespace", f"{namespace!r} is not a DNS label")
    labels = {**_labels("labels", spec.get("labels") or {}), **MANAGED_BY}
    external = _labels("external_labels", spec.get("external_labels") or {})
    clash = sorted(set(external) & set(OPERATOR_LABELS))
    if clash:
        _fail("external_labels", f"{', '.join(clash)}: the Prometheus operator sets these itself")
    retention = str(spec.get("retention_time") or "")
    if not DURATION.match(retention):
        _fail("retention_time", f"{retention!r} is not a Prometheus duration such as 30d")
    am_retention = str(spec.get("alertmanager_retention") or "")
    if not AM_DURATION.match(am_retention):
        _fail("alertmanager_retention", f"{am_retention!r} is not a duration in h/m/s such as 120h")
    retention_size = str(spec.get("retention_size") or "")
    storage_class, sizes = _storage(_need(spec, "storage", dict), retention_size)
    resources = _resources(_need(spec, "resources", dict))
    rules = _rule_files(_need(spec, "rules", dict), spec.get("alert_overrides") or {})
    admin_secret = spec.get("grafana_admin_secret") or ""
    if not DNS_LABEL.match(admin_secret):
        _fail("grafana_admin_secret", f"{admin_secret!r} is not the name of a Secret")
    for key in ("grafana_datasource_uid", "dashboards_folder"):
        if not spec.get(key) or not isinstance(spec[key], str):
            _fail(key, "required (a non-empty string)")
    dashboards = _dashboard_manifests(spec, labels)

    prometheus_spec = {
        "retention": retention,
        **({"retentionSize": retention_size} if retention_size else {}),
        "externalLabels": external,
        # Select every ServiceMonitor, PodMonitor and PrometheusRule, not only this release's.
        "ruleSelectorNilUsesHelmValues": False,
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "storageSpec": _claim(storage_class, sizes["prometheus"]),
    }
    grafana_persistence = {"enabled": True, "type": "pvc", "accessModes": ["ReadWriteOnce"]}
    if storage_class:
        grafana_persistence["storageClassName"] = storage_class
    grafana_persistence["size"] = sizes["grafana"]
    values = {
        "commonLabels": labels,
        "crds": {"enabled": True},
        "defaultRules": {"create": True},
        "additionalPrometheusRulesMap": {
            rule["name"]: {"groups": rule["groups"]} for rule in rules
        },
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {
            "alertmanagerSpec": {
                "retention": am_retention,
                "storage": _claim(storage_class, sizes["alertmanager"]),
            }
        },
        "grafana": {
            # The admin credentials come from a Secret, never from these values.
            "admin": {
                "existingSecret": admin_secret,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "defaultDashboardsTimezone": "utc",
            "persistence": grafana_persistence,
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL[0],
                    "labelValue": DASHBOARD_LABEL[1],
                    "folderAnnotation": FOLDER_ANNOTATION,
                    "provider": {"foldersFromFilesStructure": True},
                },
                "datasources": {"uid": spec["grafana_datasource_uid"]},
            },
        },
    }
    for component, path in COMPONENTS.items():
        _set(values, path, resources[component])

    namespace_manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                **labels,
                # node-exporter needs the host's network, PID namespace and filesystem.
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/warn": "baseline",
            },
        },
    }
    manifests = [{"file": f"01-namespace-{namespace}.yaml", "manifest": namespace_manifest}]
    manifests += dashboards
    groups = sum(len(rule["groups"]) for rule in rules)
    alerts = sum(len(rule["alerts"]) for rule in rules)
    summary = (
        f"{len(rules)} rule files ({groups} groups, {alerts} alerts), "
        f"{len(dashboards)} dashboards, retention {retention}"
        + (f"/{retention_size}" if retention_size else "")
    )
    header = (
        "# kube-prometheus-stack values, rendered by tradeops.platform (k8s_monitoring) from\n"
        "# the rules and dashboards of roles/monitoring_assets: do not edit. The\n"
        "# Alertmanager configuration (receivers' secrets) is in alertmanager-values.yaml.\n"
    )
    return {
        "values": values,
        "values_yaml": header + _dump(values),
        "rules": rules,
        "manifests": manifests,
        "summary": summary,
    }


def _receivers(receivers):
    if not isinstance(receivers, list) or not receivers:
        _fail("alertmanager_receivers", "a non-empty list of receivers")
    names = []
    for index, receiver in enumerate(receivers):
        where = f"alertmanager_receivers[{index}]"
        if not isinstance(receiver, dict) or not isinstance(receiver.get("name"), str):
            _fail(where, "a receiver needs a name")
        name = receiver["name"]
        if not name:
            _fail(where, "a receiver needs a name")
        if name in names:
            _fail(where, f"the name {name} is used twice")
        names.append(name)
        for key in sorted(set(receiver) - {"name"}):
            # Only keys are named: the values are the receiver's secrets.
            if key not in INTEGRATIONS:
                _fail(
                    f"{where} ({name})",
                    f"unknown key {key} (an integration is one of {', '.join(INTEGRATIONS)})",
                )
            configs = receiver[key]
            if (
                not isinstance(configs, list)
                or not configs
                or not all(isinstance(c, dict) for c in configs)
            ):
                _fail(f"{where} ({name}).{key}", "a non-empty list of integration settings")
    return names


def _undefined(names):
    return f"is not in k8s_monitoring_alertmanager_receivers (defined: {', '.join(names)})"


def k8s_monitoring_alertmanager(spec):
    """The Alertmanager part of the spec -> {config, values_yaml, config_yaml, public}.

    config holds the receivers' secrets; public (receivers, silent receivers, routes) does
    not, and neither does any error message (they name receivers and keys, never values)."""
    if not isinstance(spec, dict):
        raise AnsibleFilterError(
            f"k8s_monitoring_alertmanager: a dict spec, not {type(spec).__name__}"
        )
    spec = _plain(spec)
    receivers = spec.get("receivers")
    names = _receivers(receivers)
    severity_routes = spec.get("severity_routes")
    if not isinstance(severity_routes, dict) or not severity_routes:
        _fail("alertmanager_severity_routes", "a dict of severity to receiver and timing")
    routes = []
    for severity, route in severity_routes.items():
        try:
            routes.append(monitoring_severity_route({"key": severity, "value": route}))
        except AnsibleFilterError as exc:
            _fail(f"alertmanager_severity_routes.{severity}", str(exc))
        if route["receiver"] not in names:
            _fail(
                f"alertmanager_severity_routes.{severity}.receiver",
                f"{route['receiver']} {_undefined(names)}",
            )
    default = spec.get("default_receiver")
    if default not in names:
        _fail(
            "alertmanager_default_receiver",
            f"{default!r} {_undefined(names)}",
        )
    watchdog = spec.get("watchdog_receiver") or ""
    receivers = list(receivers)
    if not watchdog:
        watchdog = NULL_RECEIVER
        if NULL_RECEIVER not in names:
            receivers.append({"name": NULL_RECEIVER})
    elif watchdog not in names:
        _fail(
            "alertmanager_watchdog_receiver",
            f"{watchdog} {_undefined(names)}",
        )
    group_by = spec.get("group_by") or []
    if not isinstance(group_by, list) or not all(isinstance(label, str) for label in group_by):
        _fail("alertmanager_group_by", f"a list of label names, got {group_by!r}")
    inhibit = spec.get("inhibit_rules") or []
    if not isinstance(inhibit, list) or not all(isinstance(rule, dict) for rule in inhibit):
        _fail("alertmanager_inhibit_rules", "a list of inhibition rules")
    resolve = str(spec.get("resolve_timeout") or "")
    if not DURATION.match(resolve):
        _fail("alertmanager_resolve_timeout", f"{resolve!r} is not a duration such as 5m")

    plumbing = {"receiver": watchdog, "matchers": [PLUMBING_ALERTS], "continue": False}
    config = {
        "global": {"resolve_timeout": resolve},
        "route": {"receiver": default, "group_by": group_by, "routes": [plumbing, *routes]},
        "inhibit_rules": inhibit,
        "receivers": receivers,
    }
    silent = [r["name"] for r in receivers if r["name"] != NULL_RECEIVER and len(r) == 1]
    header = (
        "# SECRET: the Alertmanager configuration of kube-prometheus-stack, with the receivers'\n"
        "# credentials. Rendered by tradeops.platform (k8s_monitoring); never commit or log it.\n"
    )
    return {
        "config": config,
        "config_yaml": _dump(config),
        "values_yaml": header + _dump({"alertmanager": {"config": config}}),
        "public": {
            "receivers": [r["name"] for r in receivers],
            "silent_receivers": silent,
            "routes": {severity: route["receiver"] for severity, route in severity_routes.items()},
            "summary": "routes "
            + ", ".join(f"{sev}->{route['receiver']}" for sev, route in severity_routes.items()),
        },
    }


# Go's url.Error, as amtool prints it: parse "<the whole setting>": <reason>.
_GO_URL_ERROR = re.compile(r'parse "(?:[^"\\]|\\.)*"')
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"']*")


def k8s_monitoring_redact(text):
    """amtool's output with every setting it may quote masked (a URL it cannot parse is
    often the secret itself, e.g. a Slack webhook): the reason stays readable."""
    text = _GO_URL_ERROR.sub('parse "<hidden>"', str(text or ""))
    text = _URL.sub("<url>", text)
    return " ".join(text.split())


class FilterModule:
    def filters(self):
        return {
            "k8s_monitoring_values": k8s_monitoring_values,
            "k8s_monitoring_alertmanager": k8s_monitoring_alertmanager,
            "k8s_monitoring_redact": k8s_monitoring_redact,
        }

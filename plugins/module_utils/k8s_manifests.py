# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's companion services on Kubernetes, as manifests built from data.

One spec (the k8s_workloads role's variables) gives, in apply order: the namespace
(restricted Pod Security), a service account per service (IRSA role when given), the
network policies (default deny, DNS, then exactly the declared flows), Deployments with
Guaranteed QoS and whole-core CPU requests (the kubelet's static CPU manager gives such
pods exclusive cores), Services, PodDisruptionBudgets and HorizontalPodAutoscalers.

Flows are (from, to, port) between services and named endpoints outside the cluster
(CIDR lists: the database subnets, the ALB's subnets ...). Each becomes an egress rule on
the source and an ingress rule on the destination, so that both ends of the policy agree.
"""

from __future__ import annotations

import copy
import json
import re

from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import (
    IrsaError,
    role_arn_from_prefix,
)
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_quantity import (
    QuantityError,
    is_whole,
    parse_quantity,
)

NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
CAPACITY_TYPE = "eks.amazonaws.com/capacityType"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"

_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")
_HUGEPAGE_SIZE = re.compile(r"^[0-9]+(Ki|Mi|Gi)$")

KIND_ORDER = (
    "Namespace",
    "ServiceAccount",
    "NetworkPolicy",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
)


class ManifestError(ValueError):
    """A spec that cannot become valid manifests; the message names the field."""


def _fail(where, message):
    raise ManifestError(f"{where}: {message}")


def _dns_name(value, where):
    if not isinstance(value, str) or not _DNS_NAME.match(value):
        _fail(where, f"{value!r} is not a DNS label (lower case, digits, '-', at most 63)")
    return value


def _port(value, where):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        _fail(where, f"{value!r} is not a port (an integer 1-65535)")
    return value


def _positive_int(value, where, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(where, f"{value!r} must be an integer >= {minimum}")
    return value


def _labels(spec, name, service):
    return {
        NAME: name,
        COMPONENT: service.get("tier", name),
        PART_OF: spec.get("part_of", "tradeops"),
    }


def _meta(spec, name, labels=None, annotations=None):
    meta = {"name": name, "namespace": spec["namespace"]}
    meta["labels"] = {**spec.get("labels", {}), MANAGED_BY: "tradeops.platform", **(labels or {})}
    if annotations:
        meta["annotations"] = annotations
    return meta


def _resources(name, service):
    where = f"services.{name}"
    if "cpu" not in service or "memory" not in service:
        _fail(where, "cpu and memory are required (requests = limits: Guaranteed QoS)")
    try:
        if not is_whole(service["cpu"]) or parse_quantity(service["cpu"]) < 1:
            _fail(
                f"{where}.cpu",
                f"{service['cpu']!r} is not a whole number of cores; the static CPU manager "
                "pins only Guaranteed pods with integer CPU requests",
            )
        parse_quantity(service["memory"])
    except QuantityError as exc:
        _fail(where, str(exc))
    amounts = {"cpu": str(service["cpu"]), "memory": str(service["memory"])}
    for size, amount in (service.get("hugepages") or {}).items():
        if not _HUGEPAGE_SIZE.match(str(size)):
            _fail(f"{where}.hugepages", f"{size!r} is not a page size (2Mi, 1Gi)")
        try:
            parse_quantity(amount)
        except QuantityError as exc:
            _fail(f"{where}.hugepages.{size}", str(exc))
        amounts[f"hugepages-{size}"] = str(amount)
    # Requests equal to limits for every resource: Guaranteed QoS (hugepages must be).
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _container(name, service):
    container = {
        "name": name,
        "image": service["image_ref"],
        "imagePullPolicy": "IfNotPresent",
        "resources": _resources(name, service),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if service.get("args"):
        container["args"] = [str(arg) for arg in service["args"]]
    if service.get("env"):
        container["env"] = [
            {"name": str(key), "value": str(value)} for key, value in sorted(service["env"].items())
        ]
    if "port" in service:
        container["ports"] = [{"name": "http", "containerPort": service["port"]}]
        probe = {"httpGet": {"path": service.get("health_path", "/health"), "port": "http"}}
        container["readinessProbe"] = {**probe, "periodSeconds": 5, "failureThreshold": 3}
        container["livenessProbe"] = {**probe, "periodSeconds": 10, "failureThreshold": 6}
    for size in sorted(service.get("hugepages") or {}):
        container["volumeMounts"].append(
            {"name": f"hugepages-{size.lower()}", "mountPath": f"/dev/hugepages-{size}"}
        )
    return container


def _deployment(spec, name, service):
    labels = _labels(spec, name, service)
    volumes = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    for size in sorted(service.get("hugepages") or {}):
        volumes.append(
            {"name": f"hugepages-{size.lower()}", "emptyDir": {"medium": f"HugePages-{size}"}}
        )
    pod_spec = {
        "serviceAccountName": name,
        "automountServiceAccountToken": "role_arn" in service,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(name, service)],
        "volumes": volumes,
        "terminationGracePeriodSeconds": 30,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {NAME: name}},
            }
        ],
    }
    if service.get("capacity_type"):
        pod_spec["nodeSelector"] = {CAPACITY_TYPE: service["capacity_type"]}
    deployment_spec = {
        "selector": {"matchLabels": {NAME: name}},
        # Never below the current capacity during a rollout.
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    # Under an autoscaler the replica count is the autoscaler's: leaving it out keeps
    # a re-apply from resetting it.
    if not service.get("autoscaling"):
        deployment_spec["replicas"] = _positive_int(
            service.get("replicas", 2), f"services.{name}.replicas"
        )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, name, labels),
        "spec": deployment_spec,
    }


def _scaling_rules(rules, where, stabilization):
    policies = []
    if "percent" in rules:
        policies.append(
            {"type": "Percent", "value": _positive_int(rules["percent"], f"{where}.percent")}
        )
    if "pods" in rules:
        policies.append({"type": "Pods", "value": _positive_int(rules["pods"], f"{where}.pods")})
    if not policies:
        _fail(where, "give percent and/or pods")
    period = _positive_int(rules.get("period_seconds", 60), f"{where}.period_seconds")
    for policy in policies:
        policy["periodSeconds"] = period
    return {
        "stabilizationWindowSeconds": rules.get("stabilization_seconds", stabilization),
        # "+100% (max 4 pods)": the smaller of the policies wins.
        "selectPolicy": "Min",
        "policies": policies,
    }


def _autoscaler(spec, name, service):
    scaling = service["autoscaling"]
    where = f"services.{name}.autoscaling"
    minimum = _positive_int(scaling.get("min_replicas"), f"{where}.min_replicas")
    maximum = _positive_int(scaling.get("max_replicas"), f"{where}.max_replicas")
    if maximum < minimum:
        _fail(where, f"max_replicas {maximum} is below min_replicas {minimum}")
    metrics = []
    for resource in ("cpu", "memory"):
        if f"{resource}_percent" in scaling:
            target = _positive_int(scaling[f"{resource}_percent"], f"{where}.{resource}_percent")
            metrics.append(
                {
                    "type": "Resource",
                    "resource": {
                        "name": resource,
                        "target": {"type": "Utilization", "averageUtilization": target},
                    },
                }
            )
    if not metrics:
        _fail(where, "give cpu_percent and/or memory_percent")
    behavior = {}
    if scaling.get("scale_up"):
        behavior["scaleUp"] = _scaling_rules(scaling["scale_up"], f"{where}.scale_up", 0)
    if scaling.get("scale_down"):
        behavior["scaleDown"] = _scaling_rules(scaling["scale_down"], f"{where}.scale_down", 300)
    hpa_spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": minimum,
        "maxReplicas": maximum,
        "metrics": metrics,
    }
    if behavior:
        hpa_spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(spec, name, _labels(spec, name, service)),
        "spec": hpa_spec,
    }


def _service_objects(spec, name, service):
    where = f"services.{name}"
    if not service.get("image"):
        _fail(where, "image is required (registry/repository:tag or @sha256:...)")
    if "port" in service:
        _port(service["port"], f"{where}.port")
    if service.get("capacity_type") not in (None, "ON_DEMAND", "SPOT"):
        _fail(f"{where}.capacity_type", f"{service['capacity_type']!r}: ON_DEMAND or SPOT")
    image = str(service["image"])
    if "/" not in image.split(":", maxsplit=1)[0]:
        if not spec.get("image_registry"):
            _fail(f"{where}.image", f"{image!r} names no registry and image_registry is empty")
        image = f"{spec['image_registry'].rstrip('/')}/{image}"
    service["image_ref"] = image
    if service.get("irsa"):
        if not spec.get("irsa_role_arn_prefix"):
            _fail(f"{where}.irsa", "irsa is true but irsa_role_arn_prefix is empty")
        # The name the eks layer gives the role (aws_irsa: one function names both).
        try:
            service["role_arn"] = role_arn_from_prefix(spec["irsa_role_arn_prefix"], name)
        except IrsaError as exc:
            _fail(f"{where}.irsa", str(exc))
    labels = _labels(spec, name, service)
    annotations = None
    if "role_arn" in service:
        if not _ROLE_ARN.match(str(service["role_arn"])):
            _fail(f"{where}.role_arn", f"{service['role_arn']!r} is not an IAM role ARN")
        annotations = {IRSA_ANNOTATION: service["role_arn"]}
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(spec, name, labels, annotations),
            "automountServiceAccountToken": "role_arn" in service,
        },
        _deployment(spec, name, service),
    ]
    if "port" in service:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta(spec, name, labels),
                "spec": {
                    "selector": {NAME: name},
                    "ports": [{"name": "http", "port": service["port"], "targetPort": "http"}],
                },
            }
        )
    objects.append(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(spec, name, labels),
            "spec": {
                "maxUnavailable": _positive_int(
                    service.get("max_unavailable", 1), f"{where}.max_unavailable"
                ),
                "selector": {"matchLabels": {NAME: name}},
            },
        }
    )
    if service.get("autoscaling"):
        objects.append(_autoscaler(spec, name, service))
    return objects


def _peer(spec, party, where):
    """A network-policy peer for a service (its pods) or an endpoint (its CIDRs)."""
    if party in spec["services"]:
        return [{"podSelector": {"matchLabels": {NAME: party}}}]
    if party in spec.get("endpoints", {}):
        cidrs = spec["endpoints"][party]
        if not cidrs:
            _fail(f"endpoints.{party}", "no CIDRs: a flow to or from it would allow nothing")
        return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]
    known = sorted([*spec["services"], *spec.get("endpoints", {})])
    _fail(where, f"{party!r} is neither a service nor an endpoint (known: {', '.join(known)})")
    return []


def _flows(spec):
    """Validated flows as (source, destination, port, protocol)."""
    flows = []
    for index, flow in enumerate(spec.get("flows", [])):
        where = f"flows[{index}]"
        source, target = flow.get("from"), flow.get("to")
        if source not in spec["services"] and target not in spec["services"]:
            _fail(where, f"{source!r} -> {target!r}: one end must be a service of this namespace")
        port = flow.get("port")
        if port is None and target in spec["services"]:
            port = spec["services"][target].get("port")
        if target in spec["services"] and "port" not in spec["services"][target]:
            _fail(where, f"{target!r} listens on no port: give it a port or drop the flow")
        protocol = flow.get("protocol", "TCP")
        if protocol not in ("TCP", "UDP", "SCTP"):
            _fail(f"{where}.protocol", f"{protocol!r}: TCP, UDP or SCTP")
        _peer(spec, source, f"{where}.from")
        _peer(spec, target, f"{where}.to")
        flows.append((source, target, _port(port, f"{where}.port"), protocol))
    return flows


def _network_policies(spec):
    flows = _flows(spec)
    everything = {"podSelector": {}}
    policies = [
        (
            "default-deny",
            {**everything, "policyTypes": ["Ingress", "Egress"]},
        ),
        (
            "allow-dns",
            {
                **everything,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": spec["dns"]["namespace"]
                                    }
                                },
                                "podSelector": {"matchLabels": spec["dns"]["pod_labels"]},
                            }
                        ],
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ],
                    }
                ],
            },
        ),
    ]
    scrapers = spec.get("scrapers")
    for name, service in spec["services"].items():
        ingress = [
            {"from": _peer(spec, source, name), "ports": [{"protocol": protocol, "port": port}]}
            for source, target, port, protocol in flows
            if target == name
        ]
        if scrapers and "port" in service:
            ingress.append(
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {
                                    "kubernetes.io/metadata.name": scrapers["namespace"]
                                }
                            },
                            "podSelector": {"matchLabels": scrapers["pod_labels"]},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": service["port"]}],
                }
            )
        egress = [
            {"to": _peer(spec, target, name), "ports": [{"protocol": protocol, "port": port}]}
            for source, target, port, protocol in flows
            if source == name
        ]
        policies.append(
            (
                name,
                {
                    "podSelector": {"matchLabels": {NAME: name}},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": ingress,
                    "egress": egress,
                },
            )
        )
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(spec, name),
            "spec": policy_spec,
        }
        for name, policy_spec in policies
    ]


def workload_manifests(spec):
    """The spec -> manifests (dicts), in apply order. Raises ManifestError."""
    spec = copy.deepcopy(spec)
    _dns_name(spec.get("namespace"), "namespace")
    if not spec.get("services"):
        _fail("services", "no services: nothing to deploy")
    for name in spec["services"]:
        _dns_name(name, f"services.{name}")
    spec.setdefault("dns", {"namespace": "kube-system", "pod_labels": {"k8s-app": "kube-dns"}})
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": spec["namespace"],
            "labels": {
                **spec.get("labels", {}),
                MANAGED_BY: "tradeops.platform",
                # The restricted Pod Security Standard, enforced by the API server.
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }
    objects = [namespace, *_network_policies(spec)]
    for name, service in spec["services"].items():
        objects.extend(_service_objects(spec, name, service))
    objects.sort(key=lambda obj: KIND_ORDER.index(obj["kind"]))
    # Through JSON: no object shared between two places (YAML would write an alias).
    return json.loads(json.dumps(objects))


def manifest_filename(index, obj):
    """A file name that keeps the apply order: 03-networkpolicy-default-deny.yaml."""
    return f"{index:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"

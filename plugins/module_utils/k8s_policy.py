# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a set of manifests promises, checked offline.

The OpenAPI schemas say whether each object is well formed; these checks say whether
the set keeps this platform's rules: Guaranteed QoS with whole cores, hugepages requested
as limited, restricted pod security, a default-deny network policy in every namespace
that runs pods, a disruption budget for every workload, autoscalers that own their
replica counts, service accounts that exist. allowed_flows() computes, from the network
policies as the API server would apply them, which connections are possible at all.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.tradeops.platform.plugins.module_utils.k8s_quantity import (
    QuantityError,
    is_whole,
    parse_quantity,
)

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def _name(obj):
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name', '')}".replace(
        "//", "/"
    )


def _namespace(obj):
    return obj.get("metadata", {}).get("namespace", "default")


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels + matchExpressions) against a label map."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _pod_labels(workload):
    return workload.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})


def _check_resources(where, container):
    problems = []
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for resource in ("cpu", "memory"):
        if resource not in requests or resource not in limits:
            problems.append(
                f"{where}: {resource} requests and limits are both required (Guaranteed QoS)"
            )
            continue
        try:
            if parse_quantity(requests[resource]) != parse_quantity(limits[resource]):
                problems.append(
                    f"{where}: {resource} requests {requests[resource]} != limits "
                    f"{limits[resource]} (Guaranteed QoS needs them equal)"
                )
        except QuantityError as exc:
            problems.append(f"{where}: {exc}")
    try:
        if "cpu" in requests and not is_whole(requests["cpu"]):
            problems.append(
                f"{where}: cpu {requests['cpu']} is not whole cores (the static CPU manager "
                "gives exclusive cores only to integer requests)"
            )
    except QuantityError:
        pass  # reported above
    for key in sorted({*requests, *limits}):
        if key.startswith("hugepages-") and requests.get(key) != limits.get(key):
            problems.append(f"{where}: {key} requests and limits must be equal")
    return problems


def _check_security(where, pod_spec, container):
    pod_context = pod_spec.get("securityContext") or {}
    context = container.get("securityContext") or {}
    problems = []
    if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
        problems.append(f"{where}: runAsNonRoot is not set (restricted pod security)")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation must be false")
    if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
        problems.append(f"{where}: capabilities must drop ALL")
    if context.get("privileged"):
        problems.append(f"{where}: privileged")
    return problems


def check(objects):
    """Every broken rule, one message each naming the object; [] when all hold."""
    problems = []
    workloads = [obj for obj in objects if obj.get("kind") in WORKLOAD_KINDS]
    policies = [obj for obj in objects if obj.get("kind") == "NetworkPolicy"]
    budgets = [obj for obj in objects if obj.get("kind") == "PodDisruptionBudget"]
    autoscalers = [obj for obj in objects if obj.get("kind") == "HorizontalPodAutoscaler"]
    accounts = {
        (_namespace(obj), obj["metadata"]["name"])
        for obj in objects
        if obj.get("kind") == "ServiceAccount"
    }

    for workload in workloads:
        pod_spec = workload.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
            where = f"{_name(workload)} container {container.get('name')}"
            problems += _check_resources(where, container)
            problems += _check_security(where, pod_spec, container)
        account = pod_spec.get("serviceAccountName", "default")
        if account != "default" and (_namespace(workload), account) not in accounts:
            problems.append(
                f"{_name(workload)}: service account {account!r} is not in the manifests"
            )
        labels = _pod_labels(workload)
        if workload["kind"] != "DaemonSet" and not any(
            _namespace(budget) == _namespace(workload)
            and selector_matches(budget.get("spec", {}).get("selector"), labels)
            for budget in budgets
        ):
            problems.append(f"{_name(workload)}: no PodDisruptionBudget selects its pods")

    for namespace in sorted({_namespace(workload) for workload in workloads}):
        if not any(
            _namespace(policy) == namespace
            and policy["spec"].get("podSelector") == {}
            and {"Ingress", "Egress"} <= set(policy["spec"].get("policyTypes", []))
            and not policy["spec"].get("ingress")
            and not policy["spec"].get("egress")
            for policy in policies
        ):
            problems.append(
                f"namespace {namespace}: no default-deny NetworkPolicy (podSelector {{}}, "
                "policyTypes Ingress and Egress, no rules)"
            )

    for autoscaler in autoscalers:
        target = autoscaler.get("spec", {}).get("scaleTargetRef", {})
        matches = [
            workload
            for workload in workloads
            if workload["kind"] == target.get("kind")
            and workload["metadata"]["name"] == target.get("name")
            and _namespace(workload) == _namespace(autoscaler)
        ]
        if not matches:
            scaled = f"{target.get('kind')}/{target.get('name')}"
            problems.append(f"{_name(autoscaler)}: scales {scaled}, not in the manifests")
        elif "replicas" in matches[0].get("spec", {}):
            problems.append(
                f"{_name(matches[0])}: sets replicas while {_name(autoscaler)} owns them "
                "(every apply would reset the autoscaler)"
            )
    return problems


def _peer_parties(peer, namespace, workloads):
    """The parties a NetworkPolicy peer admits: workload names, CIDRs, or other pods."""
    if "ipBlock" in peer:
        return {peer["ipBlock"]["cidr"]}
    if "namespaceSelector" in peer:
        namespace_labels = peer["namespaceSelector"].get("matchLabels", {})
        pods = peer.get("podSelector", {}).get("matchLabels", {})
        where = ",".join(f"{k}={v}" for k, v in sorted(namespace_labels.items())) or "*"
        what = ",".join(f"{k}={v}" for k, v in sorted(pods.items())) or "*"
        return {f"pods({where}; {what})"}
    return {
        workload["metadata"]["name"]
        for workload in workloads
        if _namespace(workload) == namespace
        and selector_matches(peer.get("podSelector"), _pod_labels(workload))
    }


def _rules(policies, workload, direction, workloads):
    """(party, port, protocol) this workload's policies allow in one direction, or None
    when no policy of that direction selects it (then everything is allowed)."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        policy
        for policy in policies
        if _namespace(policy) == _namespace(workload)
        and direction in policy["spec"].get("policyTypes", [])
        and selector_matches(policy["spec"].get("podSelector", {}), _pod_labels(workload))
    ]
    if not selecting:
        return None
    allowed = set()
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            parties = set()
            for peer in rule.get(peers_key) or [{"ipBlock": {"cidr": "0.0.0.0/0"}}]:
                parties |= _peer_parties(peer, _namespace(workload), workloads)
            for port in rule.get("ports") or [{"port": "*"}]:
                for party in parties:
                    allowed.add((party, port.get("port", "*"), port.get("protocol", "TCP")))
    return allowed


def _admits(allowed, party, port, protocol):
    return any(
        admitted_party == party and admitted_port in (port, "*") and admitted_protocol == protocol
        for admitted_party, admitted_port, admitted_protocol in allowed
    )


def allowed_flows(objects):
    """Every (source, destination, port, protocol) the network policies let through.

    Between two workloads a connection needs the source's egress and the destination's
    ingress; a CIDR or another namespace's pods count as one party each (their side is
    not in these manifests). Named ports are not resolved: these manifests use numbers.
    """
    workloads = [obj for obj in objects if obj.get("kind") in WORKLOAD_KINDS]
    policies = [obj for obj in objects if obj.get("kind") == "NetworkPolicy"]
    egress = {w["metadata"]["name"]: _rules(policies, w, "Egress", workloads) for w in workloads}
    ingress = {w["metadata"]["name"]: _rules(policies, w, "Ingress", workloads) for w in workloads}
    names = set(egress)
    flows = set()
    for source, allowed in egress.items():
        for party, port, protocol in allowed or ():
            if party in names:
                destination_allows = ingress[party]
                if destination_allows is None or _admits(
                    destination_allows, source, port, protocol
                ):
                    flows.add((source, party, port, protocol))
            else:
                flows.add((source, party, port, protocol))
    for destination, allowed in ingress.items():
        for party, port, protocol in allowed or ():
            if party not in names:
                flows.add((party, destination, port, protocol))
    return sorted(flows, key=str)


def open_to_world(flows):
    """The flows that admit any address (a 0.0.0.0/0 or ::/0 ipBlock)."""
    world = []
    for flow in flows:
        for party in flow[:2]:
            try:
                if ipaddress.ip_network(party).prefixlen == 0:
                    world.append(flow)
            except ValueError:
                continue
    return world

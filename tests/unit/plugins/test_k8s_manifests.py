"""The companion-service manifests: built from a seed-003 spec, valid against the
Kubernetes 1.35 schemas, keeping the platform rules, allowing exactly the seed's flows."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.tradeops.platform.plugins.module_utils import k8s_policy
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_manifests import (
    ManifestError,
    workload_manifests,
)
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_quantity import (
    QuantityError,
    is_whole,
    parse_quantity,
)
from ansible_collections.tradeops.platform.plugins.modules import k8s_manifests_validate

ROOT = Path(__file__).resolve().parents[3]
VERSION = "1.35.0"
PUBLIC = ["10.0.101.0/24", "10.0.102.0/24"]
DATABASE = ["10.0.11.0/24", "10.0.12.0/24"]
VPC = ["10.0.0.0/16"]

# seeds/003: API 7999 and WebSocket 8080 behind the ALB; API -> DB, API -> Redis,
# WebSocket -> API, workers -> DB; IRSA pods reach the AWS APIs through VPC endpoints.
SPEC = {
    "namespace": "trading",
    "image_registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "irsa_role_arn_prefix": "arn:aws:iam::123456789012:role/tradeops-lab-",
    "labels": {"tradeops.io/environment": "lab"},
    "services": {
        "order-api": {
            "tier": "api",
            "image": "order-api:1.0.0",
            "port": 7999,
            "cpu": 2,
            "memory": "4Gi",
            "hugepages": {"2Mi": "256Mi"},
            "capacity_type": "ON_DEMAND",
            "irsa": True,
            "autoscaling": {
                "min_replicas": 3,
                "max_replicas": 10,
                "cpu_percent": 70,
                "memory_percent": 80,
                "scale_up": {"percent": 100, "pods": 4, "period_seconds": 30},
                "scale_down": {"percent": 50, "pods": 2, "period_seconds": 300},
            },
        },
        "market-stream": {
            "tier": "websocket",
            "image": "market-stream:1.0.0",
            "port": 8080,
            "cpu": 1,
            "memory": "2Gi",
            "autoscaling": {"min_replicas": 5, "max_replicas": 20, "cpu_percent": 60},
        },
        "risk-worker": {
            "tier": "worker",
            "image": "risk-worker:1.0.0",
            "cpu": 2,
            "memory": "4Gi",
            "capacity_type": "SPOT",
            "irsa": True,
            "replicas": 2,
        },
    },
    "endpoints": {"alb": PUBLIC, "postgresql": DATABASE, "redis": DATABASE, "aws-apis": VPC},
    "flows": [
        {"from": "alb", "to": "order-api"},
        {"from": "alb", "to": "market-stream"},
        {"from": "market-stream", "to": "order-api"},
        {"from": "order-api", "to": "postgresql", "port": 5432},
        {"from": "order-api", "to": "redis", "port": 6379},
        {"from": "risk-worker", "to": "postgresql", "port": 5432},
        {"from": "order-api", "to": "aws-apis", "port": 443},
        {"from": "risk-worker", "to": "aws-apis", "port": 443},
    ],
    "scrapers": {"namespace": "monitoring", "pod_labels": {"app.kubernetes.io/name": "prometheus"}},
}
DNS = "pods(kubernetes.io/metadata.name=kube-system; k8s-app=kube-dns)"
PROMETHEUS = "pods(kubernetes.io/metadata.name=monitoring; app.kubernetes.io/name=prometheus)"


def spec(**changes):
    value = copy.deepcopy(SPEC)
    for path, change in changes.items():
        target = value
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        if change is None:
            del target[last]
        else:
            target[last] = change
    return value


@pytest.fixture(scope="module")
def objects():
    return workload_manifests(SPEC)


def by(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_every_object_is_valid_for_the_target_kubernetes_strictly(objects):
    for obj in objects:
        kubernetes_validate.validate(obj, VERSION, strict=True)


def test_the_schema_check_can_fail(objects):
    broken = copy.deepcopy(by(objects, "Deployment", "order-api"))
    broken["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # misspelt
    with pytest.raises(kubernetes_validate.utils.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_set_keeps_the_platform_rules(objects):
    assert k8s_policy.check(objects) == []


def test_apply_order_and_contents(objects):
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "Namespace"
    assert kinds.index("NetworkPolicy") < kinds.index("Deployment")
    assert objects[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"} == {
        "order-api",
        "market-stream",
    }
    # One Service per listening service: the worker listens on nothing.
    assert {o["metadata"]["name"] for o in objects if o["kind"] == "Service"} == {
        "order-api",
        "market-stream",
    }


def test_guaranteed_qos_whole_cores_and_hugepages(objects):
    container = by(objects, "Deployment", "order-api")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["resources"]["requests"] == {
        "cpu": "2",
        "memory": "4Gi",
        "hugepages-2Mi": "256Mi",
    }
    volumes = by(objects, "Deployment", "order-api")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "hugepages-2mi", "emptyDir": {"medium": "HugePages-2Mi"}} in volumes


def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(objects):
    assert "replicas" not in by(objects, "Deployment", "order-api")["spec"]
    assert by(objects, "Deployment", "risk-worker")["spec"]["replicas"] == 2
    hpa = by(objects, "HorizontalPodAutoscaler", "order-api")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    # seed 003: +100% every 30 s, at most 4 pods: the smaller policy wins.
    assert hpa["behavior"]["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Min",
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 30},
            {"type": "Pods", "value": 4, "periodSeconds": 30},
        ],
    }


def test_irsa_and_registry(objects):
    account = by(objects, "ServiceAccount", "order-api")
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/tradeops-lab-order-api"
    }
    assert "annotations" not in by(objects, "ServiceAccount", "market-stream")["metadata"]
    image = by(objects, "Deployment", "risk-worker")["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/risk-worker:1.0.0"


def test_the_policies_allow_exactly_the_seeds_flows_dns_and_the_scrape(objects):
    expected = set()
    for flow in SPEC["flows"]:
        port = flow.get("port") or SPEC["services"][flow["to"]]["port"]
        sources = SPEC["endpoints"].get(flow["from"], [flow["from"]])
        targets = SPEC["endpoints"].get(flow["to"], [flow["to"]])
        expected |= {(s, t, port, "TCP") for s in sources for t in targets}
    for name in SPEC["services"]:
        expected |= {(name, DNS, 53, "UDP"), (name, DNS, 53, "TCP")}
    expected |= {(PROMETHEUS, "order-api", 7999, "TCP"), (PROMETHEUS, "market-stream", 8080, "TCP")}
    flows = set(k8s_policy.allowed_flows(objects))
    assert flows == expected
    assert k8s_policy.open_to_world(flows) == []


def test_a_flow_needs_both_ends_policies():
    objects = workload_manifests(SPEC)
    api = by(objects, "NetworkPolicy", "order-api")
    api["spec"]["ingress"] = [
        r for r in api["spec"]["ingress"] if "podSelector" not in r["from"][0]
    ]
    flows = k8s_policy.allowed_flows(objects)
    # market-stream still has its egress rule, but order-api no longer admits it.
    assert ("market-stream", "order-api", 7999, "TCP") not in flows


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda o: o.remove(by(o, "NetworkPolicy", "default-deny")),
            "no default-deny NetworkPolicy",
        ),
        (
            lambda o: by(o, "Deployment", "risk-worker")["spec"]["template"]["spec"]["containers"][
                0
            ]["resources"]["limits"].update(cpu="3"),
            "cpu requests 2 != limits 3",
        ),
        (
            lambda o: by(o, "Deployment", "risk-worker")["spec"]["template"]["spec"]["containers"][
                0
            ]["resources"].update(
                requests={"cpu": "1500m", "memory": "1Gi"}, limits={"cpu": "1500m", "memory": "1Gi"}
            ),
            "not whole cores",
        ),
        (lambda o: by(o, "Deployment", "order-api")["spec"].update(replicas=3), "owns them"),
        (
            lambda o: o.remove(by(o, "PodDisruptionBudget", "risk-worker")),
            "no PodDisruptionBudget selects",
        ),
        (
            lambda o: o.remove(by(o, "ServiceAccount", "risk-worker")),
            "service account 'risk-worker'",
        ),
        (
            lambda o: by(o, "Deployment", "risk-worker")["spec"]["template"]["spec"]["containers"][
                0
            ]["securityContext"].update(allowPrivilegeEscalation=True),
            "allowPrivilegeEscalation",
        ),
    ],
)
def test_each_rule_can_fail(mutate, message):
    objects = workload_manifests(SPEC)
    mutate(objects)
    problems = k8s_policy.check(objects)
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"services__risk-worker__cpu": "1500m"}, "services.risk-worker.cpu"),
        ({"services__risk-worker__memory": None}, "cpu and memory are required"),
        ({"flows": [{"from": "order-api", "to": "kafka", "port": 9092}]}, "'kafka' is neither"),
        ({"flows": [{"from": "alb", "to": "risk-worker"}]}, "listens on no port"),
        ({"flows": [{"from": "alb", "to": "redis", "port": 1}]}, "one end must be a service"),
        ({"services__order-api__autoscaling__max_replicas": 2}, "below min_replicas"),
        ({"services__order-api__port": 70000}, "is not a port"),
        ({"services__order-api__capacity_type": "RESERVED"}, "ON_DEMAND or SPOT"),
        ({"image_registry": ""}, "names no registry"),
        ({"irsa_role_arn_prefix": ""}, "irsa is true"),
        ({"namespace": "Trading"}, "namespace"),
        ({"endpoints__redis": []}, "endpoints.redis"),
    ],
)
def test_bad_specs_are_refused_naming_the_field(changes, message):
    with pytest.raises(ManifestError, match=message):
        workload_manifests(spec(**changes))


def test_no_yaml_aliases(objects):
    assert "&id" not in yaml.safe_dump(objects)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2), (2, 2), ("1500m", 1.5), ("2Gi", 2**31), ("1G", 10**9), ("1e3", 1000)],
)
def test_quantities(value, expected):
    assert float(parse_quantity(value)) == expected


def test_quantity_errors():
    assert is_whole("2000m") and not is_whole("1.5")
    for bad in ("two", "2GB", True, ""):
        with pytest.raises(QuantityError):
            parse_quantity(bad)


def run_module(_tmp_path, args):
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit):
        k8s_manifests_validate.main()
    return json.loads(out.getvalue())


def write(tmp_path, objects):
    out = tmp_path / "manifests"
    out.mkdir(exist_ok=True)
    for index, obj in enumerate(objects):
        (out / f"{index:02d}.yaml").write_text(yaml.safe_dump(obj))
    return out


def test_module_accepts_the_rendered_set_and_reports_flows(tmp_path):
    src = write(tmp_path, workload_manifests(SPEC))
    result = run_module(tmp_path, {"src": str(src), "kubernetes_version": "1.35"})
    assert not result.get("failed"), result.get("msg")
    assert result["kubernetes_version"] == VERSION
    assert result["objects"][0] == "Namespace/trading"
    assert {
        "source": "market-stream",
        "destination": "order-api",
        "port": 7999,
        "protocol": "TCP",
    } in result["flows"]


def test_module_refuses_schema_errors_and_broken_rules_naming_them(tmp_path):
    objects = workload_manifests(SPEC)
    by(objects, "Service", "order-api")["spec"]["portz"] = []
    objects.remove(by(objects, "NetworkPolicy", "default-deny"))
    src = write(tmp_path, objects)
    result = run_module(tmp_path, {"src": str(src), "kubernetes_version": "1.35"})
    assert result["failed"]
    assert any("Service/trading/order-api" in e and "portz" in e for e in result["errors"])
    assert any("no default-deny" in e for e in result["errors"])


def test_module_validates_objects_given_inline_naming_their_position(tmp_path):
    objects = workload_manifests(SPEC)
    result = run_module(tmp_path, {"manifests": objects, "kubernetes_version": "1.35"})
    assert not result.get("failed"), result.get("msg")
    assert len(result["objects"]) == len(objects)
    index = objects.index(by(objects, "Service", "order-api"))
    objects[index]["spec"]["portz"] = []
    result = run_module(tmp_path, {"manifests": objects, "kubernetes_version": "1.35"})
    assert result["failed"]
    assert any(
        e.startswith(f"manifests[{index}]: Service/trading/order-api") for e in result["errors"]
    )


def test_module_takes_exactly_one_of_src_and_manifests(tmp_path):
    src = write(tmp_path, workload_manifests(SPEC))
    both = {"src": str(src), "manifests": [], "kubernetes_version": "1.35"}
    assert "mutually exclusive" in run_module(tmp_path, both)["msg"]
    neither = {"kubernetes_version": "1.35"}
    assert "one of the following is required" in run_module(tmp_path, neither)["msg"]


def test_module_refuses_an_unknown_version(tmp_path):
    src = write(tmp_path, workload_manifests(SPEC)[:1])
    result = run_module(tmp_path, {"src": str(src), "kubernetes_version": "1.99"})
    assert result["failed"] and "no schemas for Kubernetes 1.99" in result["msg"]


def test_the_filter_names_files_in_apply_order_and_wraps_errors():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.tradeops.platform.plugins.filter.k8s import k8s_workload_manifests

    items = k8s_workload_manifests(SPEC)
    assert items[0]["file"] == "01-namespace-trading.yaml"
    assert [i["file"] for i in items] == sorted(i["file"] for i in items)
    with pytest.raises(
        AnsibleFilterError, match=r"k8s_workload_manifests: services\.risk-worker\.cpu"
    ):
        k8s_workload_manifests(spec(**{"services__risk-worker__cpu": "0.5"}))


def test_network_endpoints_come_from_the_network_layers_outputs():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.tradeops.platform.plugins.filter.k8s import k8s_network_endpoints

    outputs = {
        "vpc_cidr": VPC[0],
        "subnets": {
            "public": [
                {"id": "subnet-1", "cidr": PUBLIC[0]},
                {"id": "subnet-2", "cidr": PUBLIC[1]},
            ],
            "private": [{"id": "subnet-3", "cidr": "10.0.1.0/24"}],
            "database": [
                {"id": "subnet-4", "cidr": DATABASE[0]},
                {"id": "subnet-5", "cidr": DATABASE[1]},
            ],
        },
    }
    assert k8s_network_endpoints(outputs) == {
        "alb": PUBLIC,
        "postgresql": DATABASE,
        "redis": DATABASE,
        "aws-apis": VPC,
    }
    del outputs["subnets"]["database"], outputs["vpc_cidr"]
    with pytest.raises(AnsibleFilterError, match=r"lack subnets\.database, vpc_cidr"):
        k8s_network_endpoints(outputs)
    with pytest.raises(AnsibleFilterError, match="a dict"):
        k8s_network_endpoints([])


def write_files(dest, files, check_mode=False, prune=True):
    from ansible_collections.tradeops.platform.plugins.modules import k8s_manifests_files

    args = {"dest": str(dest), "files": files, "prune": prune, "_ansible_check_mode": check_mode}
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit):
        k8s_manifests_files.main()
    return json.loads(out.getvalue())


def test_files_module_writes_then_reports_nothing_to_change(tmp_path):
    from ansible_collections.tradeops.platform.plugins.filter.k8s import k8s_workload_manifests

    dest = tmp_path / "render"
    files = k8s_workload_manifests(SPEC)
    first = write_files(dest, files)
    assert first["changed"] and first["written"] == sorted(i["file"] for i in files)
    assert sorted(p.name for p in dest.iterdir()) == first["written"]
    on_disk = yaml.safe_load((dest / files[0]["file"]).read_text())
    assert on_disk == files[0]["manifest"]
    assert oct((dest / files[0]["file"]).stat().st_mode & 0o777) == "0o644"
    again = write_files(dest, files)
    assert not again["changed"] and again["written"] == [] and again["removed"] == []


def test_files_module_prunes_only_stale_manifests_and_check_mode_writes_nothing(tmp_path):
    from ansible_collections.tradeops.platform.plugins.filter.k8s import k8s_workload_manifests

    dest = tmp_path / "render"
    files = k8s_workload_manifests(SPEC)
    write_files(dest, files)
    (dest / "99-stale.yaml").write_text("kind: ConfigMap\n")
    (dest / "README").write_text("not a manifest\n")
    changed = copy.deepcopy(files)
    changed[0]["manifest"]["metadata"]["labels"] = {"team": "sre"}
    before = (dest / files[0]["file"]).read_text()

    planned = write_files(dest, changed, check_mode=True)
    assert planned["changed"]
    assert planned["written"] == [files[0]["file"]] and planned["removed"] == ["99-stale.yaml"]
    assert (dest / files[0]["file"]).read_text() == before and (dest / "99-stale.yaml").exists()
    assert {d["after_header"] for d in planned["diff"]} >= {"(removed)"}

    kept = write_files(dest, changed, prune=False)
    assert kept["removed"] == [] and (dest / "99-stale.yaml").exists()
    done = write_files(dest, changed)
    assert done["removed"] == ["99-stale.yaml"] and not (dest / "99-stale.yaml").exists()
    assert (dest / "README").exists()
    assert not list(dest.glob(".tmp-*"))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"file": "../escape.yaml", "manifest": {}}, "not a plain"),
        ({"file": "notes.txt", "manifest": {}}, "not a plain"),
        ({"file": "a.yaml", "manifest": "kind: x"}, r"files\[0\]\.manifest: not an object"),
    ],
)
def test_files_module_refuses_bad_items_and_writes_nothing(tmp_path, item, message):
    import re

    dest = tmp_path / "render"
    result = write_files(dest, [item])
    assert result["failed"] and re.search(message, result["msg"]), result["msg"]
    assert not dest.exists()


def test_files_module_refuses_a_name_twice(tmp_path):
    item = {"file": "a.yaml", "manifest": {"kind": "ConfigMap"}}
    result = write_files(tmp_path / "render", [item, item])
    assert result["failed"] and "files[1].file: a.yaml appears twice" in result["msg"]

#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_manifests_validate
short_description: Validate Kubernetes manifests offline against the API schemas and platform rules
version_added: "0.1.0"
description:
  - Reads every C(*.yaml) / C(*.yml) file of a directory (or one file), each possibly
    holding several YAML documents, or takes the objects themselves in O(manifests)
    (to validate before anything is written), and validates every object against the OpenAPI
    schema of the target Kubernetes version with the kubernetes-validate library, with
    no API server.
  - With O(policy=true) (the default) it also checks the set against the platform's
    rules; each broken rule is one message naming the object. Guaranteed QoS (CPU and
    memory requests equal to limits, CPU in whole cores). Hugepages requested as limited.
    Restricted pod security (non-root, no privilege escalation, capabilities dropped).
    A default-deny NetworkPolicy in every namespace that runs pods. A
    PodDisruptionBudget for every Deployment or StatefulSet. Autoscalers that own their
    replica counts. Service accounts that exist.
  - Returns the network flows the policies allow, computed as the API server would
    apply them, so that a caller or a test can compare them with the intended flows.
  - Changes nothing; runs the same in check mode. Run it on the controller.
author:
  - tradeops engineers (@tradeops)
requirements:
  - kubernetes-validate (Python), which carries the schemas of each Kubernetes release.
attributes:
  check_mode:
    support: full
    description: Reads files only.
  diff_mode:
    support: none
    description: Nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs wherever kubernetes-validate is installed (the controller).
options:
  src:
    description:
      - A directory of manifests (its C(*.yaml) and C(*.yml) files, not recursive) or one
        manifest file.
      - Exactly one of O(src) and O(manifests) is given.
    type: path
  manifests:
    description:
      - The objects themselves, as a list of dicts (for example the output of the
        P(tradeops.platform.k8s_workload_manifests#filter) filter, whose items carry
        them under C(manifest)). Errors name an object by its position.
    type: list
    elements: dict
  kubernetes_version:
    description:
      - The Kubernetes version whose schemas apply, for example C(1.35) or C(1.35.0).
    type: str
    required: true
  strict:
    description:
      - Reject fields the schema does not know (a misspelt field is otherwise silently
        dropped by the API server).
    type: bool
    default: true
  policy:
    description:
      - Also check the platform's rules (see the description).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Validate the rendered companion manifests for the cluster's version
  tradeops.platform.k8s_manifests_validate:
    src: "{{ k8s_workloads_render_dir }}"
    kubernetes_version: "1.35"
  delegate_to: localhost

- name: Validate objects before writing them anywhere
  tradeops.platform.k8s_manifests_validate:
    manifests: "{{ rendered | map(attribute='manifest') | list }}"
    kubernetes_version: "1.35"
"""

RETURN = r"""
objects:
  description: Every object read, as Kind/namespace/name, in file order.
  returned: always
  type: list
  elements: str
  sample: [Namespace/trading, NetworkPolicy/trading/default-deny]
kubernetes_version:
  description: The schema version used.
  returned: always
  type: str
  sample: 1.35.0
errors:
  description: Every schema error and broken rule, one message each (empty when valid).
  returned: always
  type: list
  elements: str
flows:
  description:
    - The connections the network policies allow, as source, destination, port and
      protocol; a party outside these manifests is a CIDR or C(pods(namespace labels; pod labels)).
  returned: success
  type: list
  elements: dict
  sample: [{source: market-stream, destination: order-api, port: 7999, protocol: TCP}]
summary:
  description: One line for a run summary.
  returned: always
  type: str
  sample: 22 manifests valid for Kubernetes 1.35.0 (schemas strict, platform rules)
"""

import os  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils import k8s_policy  # noqa: E402

YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()

KV_IMPORT_ERROR = None
try:
    import kubernetes_validate
    import kubernetes_validate.utils
except ImportError:
    KV_IMPORT_ERROR = traceback.format_exc()


def manifest_files(src):
    if os.path.isdir(src):
        return [
            os.path.join(src, name)
            for name in sorted(os.listdir(src))
            if name.endswith((".yaml", ".yml")) and os.path.isfile(os.path.join(src, name))
        ]
    return [src]


def load_objects(paths):
    """(path, object) for every non-empty document; YAML errors name the file."""
    objects, errors = [], []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                documents = list(yaml.safe_load_all(handle))
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"{path}: {exc}")
            continue
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict) or "kind" not in document:
                errors.append(f"{path}: a document that is not a Kubernetes object")
                continue
            objects.append((path, document))
    return objects, errors


def given_objects(manifests):
    """(label, object) for the objects given inline; the label is their position."""
    objects, errors = [], []
    for index, document in enumerate(manifests):
        label = f"manifests[{index}]"
        if "kind" not in document:
            errors.append(f"{label}: not a Kubernetes object (no kind)")
            continue
        objects.append((label, document))
    return objects, errors


def schema_version(version):
    """'1.35' -> '1.35.0', refused unless kubernetes-validate has its schemas."""
    parts = str(version).lstrip("v").split(".")
    full = ".".join([*parts, "0", "0"][:3])
    known = kubernetes_validate.utils.all_versions()
    if full not in known:
        raise ValueError(
            f"no schemas for Kubernetes {version} in this kubernetes-validate "
            f"(it has {known[0]} to {known[-1]})"
        )
    return full


def schema_errors(path, obj, version, strict):
    try:
        kubernetes_validate.validate(obj, version, strict)
    except kubernetes_validate.utils.ValidationError as exc:
        where = "/".join(str(part) for part in exc.path) or "(top level)"
        return [f"{os.path.basename(path)}: {object_name(obj)}: {where}: {exc.message}"]
    except kubernetes_validate.utils.SchemaNotFoundError as exc:
        return [f"{os.path.basename(path)}: {object_name(obj)}: no schema ({exc.message})"]
    return []


def object_name(obj):
    meta = obj.get("metadata") or {}
    parts = [obj.get("kind"), meta.get("namespace"), meta.get("name")]
    return "/".join(str(part) for part in parts if part)


def main():
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path"},
            "manifests": {"type": "list", "elements": "dict"},
            "kubernetes_version": {"type": "str", "required": True},
            "strict": {"type": "bool", "default": True},
            "policy": {"type": "bool", "default": True},
        },
        mutually_exclusive=[("src", "manifests")],
        required_one_of=[("src", "manifests")],
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    if KV_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("kubernetes-validate"), exception=KV_IMPORT_ERROR)

    src = module.params["src"]
    if src is not None and not os.path.exists(src):
        module.fail_json(msg=f"{src}: no such file or directory", errors=[], objects=[])
    try:
        version = schema_version(module.params["kubernetes_version"])
    except ValueError as exc:
        module.fail_json(msg=str(exc), errors=[str(exc)], objects=[])

    if src is None:
        pairs, errors = given_objects(module.params["manifests"])
        src = "manifests"
    else:
        pairs, errors = load_objects(manifest_files(src))
    if not pairs and not errors:
        errors.append(f"{src}: no manifests")
    for path, obj in pairs:
        errors += schema_errors(path, obj, version, module.params["strict"])
    objects = [obj for _path, obj in pairs]
    if module.params["policy"]:
        errors += k8s_policy.check(objects)

    checks = "schemas" + (" strict" if module.params["strict"] else "")
    checks += ", platform rules" if module.params["policy"] else ""
    result = {
        "changed": False,
        "objects": [object_name(obj) for obj in objects],
        "kubernetes_version": version,
        "errors": errors,
    }
    if errors:
        result["summary"] = f"{len(errors)} problem(s) in {len(objects)} manifests ({checks})"
        shown = "; ".join(errors[:10]) + ("; ..." if len(errors) > 10 else "")
        module.fail_json(msg=f"Manifests refused for Kubernetes {version}: {shown}", **result)
    result["flows"] = [
        {"source": source, "destination": destination, "port": port, "protocol": protocol}
        for source, destination, port, protocol in k8s_policy.allowed_flows(objects)
    ]
    result["summary"] = f"{len(objects)} manifests valid for Kubernetes {version} ({checks})"
    module.exit_json(**result)


if __name__ == "__main__":
    main()

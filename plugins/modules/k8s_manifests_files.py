#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_manifests_files
short_description: Keep a directory of Kubernetes manifests equal to a list of objects
version_added: "0.1.0"
description:
  - Writes one YAML file per object into O(dest), in one call (a loop of copy tasks costs
    about a second per object), and with O(prune=true) removes the C(*.yaml) and C(*.yml)
    files the list no longer has, so that the directory is exactly what would be applied
    (for review and for C(kubectl diff -f)).
  - Files are replaced atomically, and only when their content differs.
  - Validate the objects first (M(tradeops.platform.k8s_manifests_validate) with its
    C(manifests) option); this module only writes them.
author:
  - tradeops engineers (@tradeops)
requirements:
  - PyYAML
attributes:
  check_mode:
    support: full
    description: Reports what it would write and remove, and writes nothing.
  diff_mode:
    support: full
    description: One before/after per file written or removed.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host; the roles run it on the controller.
options:
  dest:
    description:
      - The directory; it is created (mode 0755) when missing.
    type: path
    required: true
  files:
    description:
      - The objects, each as C(file) (a plain file name ending in C(.yaml) or C(.yml)) and
        C(manifest) (the object), as the P(tradeops.platform.k8s_workload_manifests#filter)
        filter returns them.
    type: list
    elements: dict
    required: true
  prune:
    description:
      - Remove the manifest files of O(dest) that O(files) does not name.
    type: bool
    default: true
  mode:
    description:
      - Mode of the files written.
    type: raw
    default: "0644"
"""

EXAMPLES = r"""
- name: Write the rendered companion manifests, one file per object
  tradeops.platform.k8s_manifests_files:
    dest: "{{ k8s_workloads_render_dir }}"
    files: "{{ __k8s_workloads_spec | tradeops.platform.k8s_workload_manifests }}"
"""

RETURN = r"""
written:
  description: The files written (new or changed), by name.
  returned: always
  type: list
  elements: str
  sample: [10-deployment-order-api.yaml]
removed:
  description: The files removed (with O(prune=true)), by name.
  returned: always
  type: list
  elements: str
  sample: [20-service-old-api.yaml]
"""

import os  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()

SUFFIXES = (".yaml", ".yml")


def render(manifest):
    """The file content of one object: block style, keys in the builder's order."""
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, indent=2)


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def plan(dest, files, prune):
    """(to write {name: content}, to remove [name], errors) for the directory."""
    wanted, errors = {}, []
    for index, item in enumerate(files):
        name = item.get("file")
        if (
            not isinstance(name, str)
            or os.path.basename(name) != name
            or not name.endswith(SUFFIXES)
        ):
            errors.append(f"files[{index}].file: {name!r} is not a plain *.yaml / *.yml file name")
            continue
        if name in wanted:
            errors.append(f"files[{index}].file: {name} appears twice")
            continue
        if not isinstance(item.get("manifest"), dict):
            errors.append(f"files[{index}].manifest: not an object")
            continue
        wanted[name] = render(item["manifest"])
    present = sorted(os.listdir(dest)) if os.path.isdir(dest) else []
    write = {
        name: content
        for name, content in wanted.items()
        if read(os.path.join(dest, name)) != content
    }
    remove = [
        name
        for name in present
        if prune
        and name.endswith(SUFFIXES)
        and name not in wanted
        and os.path.isfile(os.path.join(dest, name))
    ]
    return write, remove, errors


def main():
    module = AnsibleModule(
        argument_spec={
            "dest": {"type": "path", "required": True},
            "files": {"type": "list", "elements": "dict", "required": True},
            "prune": {"type": "bool", "default": True},
            "mode": {"type": "raw", "default": "0644"},
        },
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)

    dest = module.params["dest"]
    if os.path.exists(dest) and not os.path.isdir(dest):
        module.fail_json(msg=f"{dest} exists and is not a directory")
    write, remove, errors = plan(dest, module.params["files"], module.params["prune"])
    if errors:
        module.fail_json(msg="; ".join(errors), written=[], removed=[])

    diff = [
        {
            "before": read(os.path.join(dest, name)) or "",
            "after": content,
            "before_header": os.path.join(dest, name),
            "after_header": os.path.join(dest, name),
        }
        for name, content in write.items()
    ] + [
        {
            "before": read(os.path.join(dest, name)) or "",
            "after": "",
            "before_header": os.path.join(dest, name),
            "after_header": "(removed)",
        }
        for name in remove
    ]
    result = {
        "changed": bool(write or remove),
        "written": sorted(write),
        "removed": remove,
        "diff": diff,
    }
    if module.check_mode or not result["changed"]:
        module.exit_json(**result)

    if not os.path.isdir(dest):
        os.makedirs(dest, mode=0o755)
    for name, content in write.items():
        path = os.path.join(dest, name)
        handle, temp = tempfile.mkstemp(dir=dest, prefix=".tmp-", suffix=".yaml")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        module.atomic_move(temp, path)
        module.set_mode_if_different(path, module.params["mode"], False)
    for name in remove:
        os.unlink(os.path.join(dest, name))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_layers_state
short_description: Describe several tradeops AWS layers in one call and say which are settled
version_added: "0.1.0"
description:
  - Read-only. Describes each of I(layers) as M(tradeops.platform.aws_layer_state) does (the
    same describe functions and specs), all in one process with one client per service and
    region, and says which layers are I(settled).
  - A layer is settled when it matches its spec and so does every layer of its I(needs),
    whose outputs this call left as they were. C(playbooks/aws/site.yml) calls it once
    before the layer hosts start; a settled layer's host then skips its own describe and
    converge (the no-op run), every other layer runs as before.
  - Never changes anything in AWS; C(changed) is always false. Runs the same in check mode.
author:
  - tradeops engineers (@tradeops)
options:
  layers:
    description:
      - The layers to describe, in the registry's order (every layer after the layers it
        needs).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The layer's name in the registry (C(network-dr), C(rds), ...).
        type: str
        required: true
      layer:
        description: Its describe call, as I(layer) of M(tradeops.platform.aws_layer_state).
        type: str
        required: true
      spec:
        description: The layer's desired state, as its role builds it.
        type: dict
        required: true
      region:
        description: The region it is described in; the connection's when not set.
        type: str
      outputs_path:
        description:
          - When set and the layer is converged, write its outputs there as JSON (rewritten
            only when the content changes). Not an AWS change. Nothing is written in check
            mode.
        type: path
      needs:
        description: The layers among I(layers) whose outputs its spec reads.
        type: list
        elements: str
        default: []
extends_documentation_fragment:
  - tradeops.platform.aws
"""

EXAMPLES = r"""
- name: Describe the network layers at once
  tradeops.platform.aws_layers_state:
    layers:
      - name: network
        layer: network
        spec: "{{ network_spec }}"
        outputs_path: "{{ aws_outputs_dir }}/network.json"
      - name: network-dr
        layer: network
        region: us-west-2
        spec: "{{ network_dr_spec }}"
        outputs_path: "{{ aws_outputs_dir }}/network-dr.json"
  register: described
"""

RETURN = r"""
layers:
  description: Per layer name, what its describe found.
  returned: always
  type: dict
  sample:
    network:
      converged: true
      settled: true
      differences: []
      outputs: {"vpc_id": "vpc-0123456789abcdef0"}
      outputs_changed: false
settled:
  description: The settled layers' names, in the order of I(layers).
  returned: always
  type: list
  elements: str
  sample: ["network", "security"]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_layer_describe import (  # noqa: E402
    describe_layers,
    write_outputs,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_layer_states import STATES  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import session_clients  # noqa: E402


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            layers=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    layer=dict(type="str", required=True),
                    spec=dict(type="dict", required=True),
                    region=dict(type="str"),
                    outputs_path=dict(type="path"),
                    needs=dict(type="list", elements="str", default=[]),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    unknown = [e["layer"] for e in module.params["layers"] if e["layer"] not in STATES]
    if unknown:
        module.fail_json(
            msg=f"layer must be one of {', '.join(aws_layers.state_keys())}, not {unknown[0]}"
        )
    # One client per service and region for every layer, from one session (the point of
    # this module).
    client = session_clients(module)

    def describe(entry):
        return STATES[entry["layer"]](
            lambda service, region=None: client(service, region or entry["region"]), entry["spec"]
        )

    def save(entry, outputs):
        if not entry["outputs_path"] or module.check_mode:
            return False
        return write_outputs(entry["outputs_path"], outputs)

    layers = describe_layers(module.params["layers"], describe, save)
    module.exit_json(
        changed=False,
        layers=layers,
        settled=[
            entry["name"] for entry in module.params["layers"] if layers[entry["name"]]["settled"]
        ],
    )


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_layer_state
short_description: Describe one tradeops AWS layer in one call and compare it with its spec
version_added: "0.1.0"
description:
  - Read-only. Describes every resource of one layer (network, security, ...) with batched
    Describe/List/Get calls, compares it with the desired I(spec) and returns the
    differences and the layer's outputs (ids, ARNs, endpoints).
  - The layer roles call it before their tasks, to skip a converged layer without a single
    mutating call (the no-op run), and after them, to verify the result and publish outputs.
  - Never changes anything; C(changed) is always false. Runs the same in check mode.
  - I(region) selects the region a layer is described in; the DR copies of the network,
    EKS and fleet layers (C(network-dr), C(eks-dr), C(fleet-dr) in site.yml) are the same
    I(layer) described in the DR region. C(dr-state) describes the DR state records of
    docs/dr.md in every region its spec names.
author:
  - tradeops engineers (@tradeops)
options:
  layer:
    description:
      - Which layer to describe, by the name of the role that builds it (C(-) for C(_), e.g.
        C(dr-state) for C(aws_dr_state)). The layers are listed once, in the registry
        C(plugins/module_utils/aws_layers.py); a DR copy is its role's layer in I(region).
    type: str
    required: true
  spec:
    description:
      - The desired state of the layer, as built by the layer role from its variables
        (see the role's C(vars/main.yml)).
    type: dict
    required: true
  outputs_path:
    description:
      - When set and the layer is converged, write I(outputs) there as JSON (parent
        directories are created; the file is rewritten only when its content changes).
      - This is the per-environment outputs artifact later layers read. Writing it is not
        an AWS change, so C(changed) stays false. Nothing is written in check mode.
    type: path
  fail_on_difference:
    description:
      - Fail, listing the differences, when the layer is not converged (the verify step).
    type: bool
    default: false
extends_documentation_fragment:
  - tradeops.platform.aws
"""

EXAMPLES = r"""
- name: Is the network layer converged?
  tradeops.platform.aws_layer_state:
    layer: network
    spec: "{{ __aws_network_spec }}"
  register: __aws_network_state

- name: The same layer in the DR region
  tradeops.platform.aws_layer_state:
    layer: network
    region: us-west-2
    spec: "{{ __aws_network_spec }}"
    outputs_path: "{{ aws_outputs_dir }}/network-dr.json"
"""

RETURN = r"""
converged:
  description: True when the layer matches its spec.
  returned: always
  type: bool
  sample: true
differences:
  description: What differs from the spec, one sentence each; empty when converged.
  returned: always
  type: list
  elements: str
  sample: ["subnet lab-private-a (10.0.1.0/24) does not exist"]
outputs:
  description: Ids, ARNs and endpoints of the layer, for the layers that build on it.
  returned: always
  type: dict
  sample: {"vpc_id": "vpc-0123456789abcdef0"}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_layer_describe import (  # noqa: E402
    write_outputs,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_layer_states import STATES  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import session_clients  # noqa: E402


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            layer=dict(type="str", required=True),
            spec=dict(type="dict", required=True),
            outputs_path=dict(type="path"),
            fail_on_difference=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    clients = session_clients(module)

    layer = module.params["layer"]
    if layer not in STATES:
        module.fail_json(
            msg=f"layer must be one of {', '.join(aws_layers.state_keys())}, not {layer}"
        )
    try:
        differences, outputs = STATES[layer](clients, module.params["spec"])
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not describe the {layer} layer")
    result = dict(
        changed=False, converged=not differences, differences=differences, outputs=outputs
    )
    if differences and module.params["fail_on_difference"]:
        module.fail_json(
            msg=f"The {layer} layer differs from its spec after converging: "
            + "; ".join(differences),
            **result,
        )
    if not differences and module.params["outputs_path"] and not module.check_mode:
        write_outputs(module.params["outputs_path"], outputs)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

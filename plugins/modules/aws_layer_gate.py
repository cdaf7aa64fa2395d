#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_layer_gate
short_description: Order site.yml's concurrent AWS layers by marker files on the controller
version_added: "0.1.0"
description:
  - Each AWS layer of C(playbooks/aws/site.yml) runs on a pseudo-host of its own, side by
    side with the others; a layer starts once the layers it builds on (the registry,
    C(plugins/module_utils/aws_layers.py)) have ended in this run. A layer that ended leaves
    C(<layer>.done) in the run's directory, and C(<layer>.failed) before it when it failed.
  - This module waits for the markers of O(wait_for), fails when one of those layers
    failed (naming it and O(layer)), then leaves O(mark) when given.
  - An action plugin of the same name does this in the controller's process (the markers
    are files on the controller), so no module process is started per marker.
author:
  - tradeops engineers (@tradeops)
attributes:
  check_mode:
    support: full
    description: Markers are written in check mode too; they order the run and are not changes.
  diff_mode:
    support: none
    description: Markers are not changes; there is nothing to show.
  platform:
    support: full
    platforms: posix
    description: The controller.
options:
  run_dir:
    description: The run's marker directory (created by site.yml for this run).
    type: path
    required: true
  layer:
    description: The layer of the calling host, named in messages and marked by O(mark).
    type: str
    required: true
  wait_for:
    description: The layers to wait for, each until its C(.done) marker exists.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for all of O(wait_for) before failing.
    type: int
    default: 1800
  mark:
    description:
      - After the wait, leave C(<layer>.done) (V(done)) or C(<layer>.failed) then
        C(<layer>.done) (V(failed)); files of mode C(0600).
    type: str
    choices: [done, failed]
"""

EXAMPLES = r"""
- name: Wait for the layers this one builds on (each must have succeeded)
  tradeops.platform.aws_layer_gate:
    run_dir: "{{ tradeops_aws_run_dir }}"
    layer: eks
    wait_for: [network, security]

- name: Mark the layer done
  tradeops.platform.aws_layer_gate:
    run_dir: "{{ tradeops_aws_run_dir }}"
    layer: eks
    mark: done
"""

RETURN = r"""
waited_for:
  description: The layers waited for.
  returned: always
  type: list
  elements: str
  sample: [network, security]
marked:
  description: The marker left, when O(mark) was given and the wait succeeded.
  returned: when O(mark) is given
  type: str
  sample: done
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_layer_gate import (  # noqa: E402
    ARGUMENT_SPEC,
    call,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = call(module.params)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

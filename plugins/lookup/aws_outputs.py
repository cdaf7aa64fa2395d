# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_outputs
short_description: The saved outputs of AWS layers (ids, ARNs, endpoints)
version_added: "0.1.0"
description:
  - Each layer's verify step saves its outputs to C(<aws_outputs_dir>/<layer>.json) (the
    module aws_layer_state); the layers built on it, the host roles and the DR runbooks
    read them back with this lookup.
  - Returns one dict per layer named; a layer not built yet gives an empty dict, so a role
    can say in its preflight which layer to run first.
author:
  - tradeops engineers (@tradeops)
options:
  _terms:
    description: Layer names (network, network-dr, security, ...).
    type: list
    elements: str
    required: true
  dir:
    description: The outputs directory.
    type: str
    vars:
      - name: aws_outputs_dir
"""

EXAMPLES = r"""
- name: The network layer's private subnets
  ansible.builtin.debug:
    msg: "{{ lookup('tradeops.platform.aws_outputs', 'network').subnets.private }}"
"""

RETURN = r"""
_list:
  description: The outputs of each layer named ({} when its file does not exist).
  type: list
  elements: dict
"""

import json  # noqa: E402
import os  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        # The inventory's value may itself be a template (lab: under the checkout).
        directory = os.path.expanduser(str(self._templar.template(self.get_option("dir") or "")))
        if not directory:
            raise AnsibleLookupError("aws_outputs needs aws_outputs_dir (or dir=)")
        out = []
        for term in terms:
            path = os.path.join(directory, f"{term}.json")
            try:
                with open(path, encoding="utf-8") as handle:
                    out.append(json.load(handle))
            except FileNotFoundError:
                out.append({})
            except (OSError, ValueError) as err:
                msg = f"cannot read the {term} outputs {path}: {err}"
                raise AnsibleLookupError(msg) from err
        return out

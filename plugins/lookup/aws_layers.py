# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_layers
short_description: The AWS layers of the platform, from the collection's one registry
version_added: "0.1.0"
description:
  - Returns the layers of plugins/module_utils/aws_layers.py, each as a dict with C(layer)
    (its name, the pseudo-host aws-<layer> and tag), C(role) (the role aws_<role> that
    builds it), C(dr) (the DR region's copy of that role) and C(needs) (the layers it
    builds on, restricted to the ones returned).
  - In creation order; with I(teardown) in the order a teardown removes them.
author:
  - tradeops engineers (@tradeops)
options:
  _terms:
    description: The layers wanted (default every layer); an unknown name is an error.
    type: list
    elements: str
    required: false
  teardown:
    description: Reverse order (every layer before the layers it needs).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: One pseudo-host per enabled layer
  ansible.builtin.add_host:
    name: "aws-{{ item.layer }}"
    tradeops_aws_layer_needs: "{{ item.needs }}"
  loop: "{{ query('tradeops.platform.aws_layers', *tradeops_aws_layers) }}"
"""

RETURN = r"""
_list:
  description: One dict per layer (layer, role, dr, needs).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        wanted = [str(term) for term in terms] or None
        try:
            plan = aws_layers.plan(wanted)
        except ValueError as err:
            raise AnsibleLookupError(str(err)) from err
        if self.get_option("teardown"):
            plan.reverse()
        return plan

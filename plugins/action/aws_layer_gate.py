# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""aws_layer_gate in the controller's process: the markers are files on the controller,
and a module run per wait or mark (an interpreter started, a payload unpacked) cost more
CPU than the rest of a converged layer's bookkeeping. Same arguments and code as the
module (module_utils/aws_layer_gate.py)."""

from __future__ import annotations

from ansible_collections.tradeops.platform.plugins.module_utils.aws_layer_gate import (
    ARGUMENT_SPEC,
    call,
)
from ansible_collections.tradeops.platform.plugins.plugin_utils.controller_action import (
    ControllerAction,
)


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def call(self, params):
        return call(params)

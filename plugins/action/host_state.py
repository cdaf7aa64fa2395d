# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""host_state: the role's inputs digest is made here, on the controller, then the module
runs on the host. Check and record derive it the same way, so they cannot disagree."""

from __future__ import annotations

import os

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.tradeops.platform.plugins.plugin_utils import host_state_inputs as hsi


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        if args.get("state", "check") == "check" and not boolean(
            self._templar.template(task_vars.get("tradeops_skip_settled", True))
        ):
            return dict(result, settled=False, reasons=["tradeops_skip_settled is false"])
        extra = args.pop("extra_inputs", None)
        extra_roles = args.pop("extra_roles", None) or []
        if not args.get("inputs"):
            role = self._task._role
            if role is None:
                return dict(
                    result, failed=True, msg="host_state outside a role needs inputs (a digest)"
                )
            root = role._role_path
            try:
                names = hsi.option_names(root)
            except ValueError as err:
                return dict(result, failed=True, msg=str(err))
            options = {
                name: self._templar.template(task_vars[name]) for name in names if name in task_vars
            }
            # roles of the same collection whose files this role puts on the host
            others = [os.path.join(os.path.dirname(root), name) for name in extra_roles]
            args["inputs"] = hsi.inputs_digest(root, options, extra, others)
            args.setdefault("name", role.get_name(include_role_fqcn=False))
        result.update(
            self._execute_module(
                module_name="tradeops.platform.host_state", module_args=args, task_vars=task_vars
            )
        )
        return result

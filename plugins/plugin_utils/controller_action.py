# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base of the action plugins that run a module's code in the controller's process.

For modules whose work is on the controller (files there, a record, markers): a module run
starts an interpreter and unpacks a payload per task, which costs more than the work. The
action validates the module's own argument spec and calls the same module_utils code.
"""

from __future__ import annotations

from typing import ClassVar

from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    # The module's argument spec, and extra validation (required_if, ...) by keyword.
    ARGUMENT_SPEC: ClassVar[dict] = {}
    VALIDATION: ClassVar[dict] = {}

    def call(self, params):
        """The task's result for the validated params."""
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, params = self.validate_argument_spec(
            argument_spec=self.ARGUMENT_SPEC, **self.VALIDATION
        )
        result.update(self.call(params))
        return result

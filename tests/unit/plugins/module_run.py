"""Running a module's main() in the test process: its arguments in, its JSON result out."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest
from ansible.module_utils.testing import patch_module_args


def run_main(main, args, check_mode=False):
    """(exit code, result) of ``main()`` called with ``args`` (in check mode if asked)."""
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, json.loads(out.getvalue())

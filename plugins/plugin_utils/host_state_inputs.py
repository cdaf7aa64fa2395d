# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The digest of everything a role's converge depends on (the host_state action).

One SHA-256 over the role's own files (tasks, templates, files, defaults, vars: a new
collection version is a new input), the value in this run of every option of the role's
entry point (its meta/argument_specs.yml: an option added there is covered without a second
list) and the values the role derives in the run (a rendered profile ...).
"""

from __future__ import annotations

import hashlib
import json
import os

import yaml

# A role's files do not change during a run: digest each directory once per process.
_TREES = {}


def tree_digest(root):
    if root not in _TREES:
        digest = hashlib.sha256()
        for directory, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
        _TREES[root] = digest.hexdigest()
    return _TREES[root]


def option_names(root, entry_point="main"):
    path = os.path.join(root, "meta", "argument_specs.yml")
    try:
        with open(path, encoding="utf-8") as handle:
            specs = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        return []
    entry = (specs.get("argument_specs") or {}).get(entry_point)
    if entry is None:
        raise ValueError(f"{path} has no entry point {entry_point!r}")
    return sorted(entry.get("options") or {})


def inputs_digest(root, options, extra, other_roles=()):
    """``options``: the role's option values in this run; ``extra``: derived values;
    ``other_roles``: directories of roles whose files this role also puts on the host."""
    payload = {
        "role": tree_digest(root),
        "other_roles": [tree_digest(path) for path in other_roles],
        "options": options,
        "extra": extra,
    }
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()

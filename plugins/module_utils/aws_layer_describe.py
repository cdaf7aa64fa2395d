# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Describe several AWS layers in one process, and say which of them are settled.

site.yml describes every planned layer once, before the layer hosts start
(the module aws_layers_state): one interpreter, one boto3 import, one client per service
and region for all of them, instead of one module run per layer. A layer is *settled*
when it is converged and so is every layer it builds on, and this describe left the
outputs files of the layers before it as they were: its spec (built before, from those
files) is then still its spec, and its host can skip its own describe and converge. Every
other layer runs as before.
"""

from __future__ import annotations

import json
import os
import tempfile


def outputs_text(outputs):
    """The outputs artifact's text (one format for every writer)."""
    return json.dumps(outputs, indent=2, sort_keys=True) + "\n"


def read_text(path):
    """A file's text, or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def write_outputs(path, outputs):
    """Write the outputs artifact atomically, only when its content changes.

    Returns True when the file's content changed (or it was created)."""
    text = outputs_text(outputs)
    if read_text(path) == text:
        return False
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".outputs-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return True


def describe_layers(entries, describe, save=None):
    """Describe each entry, in the given order (the registry's: needs first).

    entries: dicts with `name` and `needs` (layer names); describe(entry) returns
    (differences, outputs) or raises; save(entry, outputs) stores a converged layer's
    outputs and returns True when that changed what was stored.
    Returns {name: {converged, differences, outputs, outputs_changed, settled[, error]}}.
    A layer whose describe failed is not converged (its host describes it again, and fails
    there with the whole message). Settled: converged, every need described here and
    settled, and no outputs file of a layer before it changed here (a spec reads the
    outputs of the layers before it, its needs and a few more, e.g. eks reads eks-dr's)."""
    results = {}
    outputs_moved = False
    for entry in entries:
        try:
            differences, outputs = describe(entry)
            result = {"converged": not differences, "differences": differences, "outputs": outputs}
        except Exception as err:  # pylint: disable=broad-except
            result = {"converged": False, "differences": [], "outputs": {}, "error": str(err)}
        result["settled"] = (
            result["converged"]
            and not outputs_moved
            and all(results.get(need, {}).get("settled") for need in entry.get("needs") or [])
        )
        result["outputs_changed"] = bool(
            result["converged"] and save and save(entry, result["outputs"])
        )
        outputs_moved = outputs_moved or result["outputs_changed"]
        results[entry["name"]] = result
    return results

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of every AWS module of this collection, in one fragment.

Used as ``extends_documentation_fragment: [tradeops.platform.aws]``: amazon.aws' fragments
``common.modules`` (credentials, profile, endpoint, TLS validation, botocore debug logs),
``region.modules`` and ``boto3`` (the SDK requirements), which every module here takes
through AnsibleAWSModule. Built from the installed amazon.aws' own fragments when it is
loaded, so it says what that amazon.aws says. A module adds ``amazon.aws.tags``,
``tradeops.platform.state`` or ``tradeops.platform.wait`` when it takes those.
"""

from __future__ import annotations

import yaml
from ansible_collections.amazon.aws.plugins.doc_fragments import boto3, common, region


def combined(*texts):
    """One fragment of several: their options, and their notes and requirements in order."""
    doc = {"options": {}}
    for text in texts:
        part = yaml.safe_load(text) or {}
        doc["options"].update(part.get("options") or {})
        for key in ("requirements", "notes", "seealso"):
            doc.setdefault(key, []).extend(part.get(key) or [])
    return yaml.safe_dump({k: v for k, v in doc.items() if v}, sort_keys=False)


class ModuleDocFragment:
    # Set per instance, as amazon.aws' boto3 fragment does: Ansible loads a fragment by
    # instantiating it, and the sanity tests read class-level DOCUMENTATION as a literal.
    def __init__(self):
        self.DOCUMENTATION = combined(
            common.ModuleDocFragment.MODULES,
            region.ModuleDocFragment.MODULES,
            boto3.ModuleDocFragment().MODULES,
        )

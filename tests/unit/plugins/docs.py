"""A module's documented options as ansible-doc shows them (the tests' helper).

The module's own DOCUMENTATION plus the options of this collection's doc fragments
(plugins/doc_fragments, ``extends_documentation_fragment: tradeops.platform.NAME[.VAR]``);
an option the module documents itself wins, as in ansible-doc. The connection fragments
(amazon.aws', and tradeops.platform.aws which combines them) are left out: their options
(region, endpoint_url, credentials ...) are AnsibleAWSModule's, not the module's
argument_spec.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import yaml

PREFIX = "tradeops.platform."
# AnsibleAWSModule's own options (plugins/doc_fragments/aws.py), not the module's.
CONNECTION = "tradeops.platform.aws"


def fragment_options(name: str) -> dict:
    """The options of one fragment, e.g. ``tradeops.platform.wait.delay``."""
    parts = name.removeprefix(PREFIX).split(".", 1)
    plugin, variable = parts[0], parts[1] if len(parts) > 1 else "documentation"
    package = "ansible_collections.tradeops.platform.plugins.doc_fragments"
    fragment = importlib.import_module(f"{package}.{plugin}").ModuleDocFragment
    return yaml.safe_load(getattr(fragment, variable.upper()))["options"]


def documented_options(module: ModuleType) -> dict:
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for name in doc.get("extends_documentation_fragment") or []:
        if name.startswith(PREFIX) and name != CONNECTION:
            for key, value in fragment_options(name).items():
                options.setdefault(key, value)
    return options

"""The collection's doc fragments as ansible-doc assembles them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from ansible_collections.amazon.aws.plugins.doc_fragments import boto3, common, region
from ansible_collections.tradeops.platform.plugins.doc_fragments import aws

MODULES = Path(__file__).resolve().parents[3] / "plugins" / "modules"


def test_the_aws_fragment_is_amazon_aws_connection_fragments_combined():
    parts = [
        yaml.safe_load(text)
        for text in (
            common.ModuleDocFragment.MODULES,
            region.ModuleDocFragment.MODULES,
            boto3.ModuleDocFragment().MODULES,
        )
    ]
    combined = yaml.safe_load(aws.ModuleDocFragment().DOCUMENTATION)
    options = {}
    for part in parts:
        options.update(part.get("options") or {})
    assert combined["options"] == options
    assert {"region", "endpoint_url", "access_key", "profile"} <= set(combined["options"])
    assert combined["requirements"] == [r for p in parts for r in p.get("requirements") or []]
    assert combined["notes"] == [n for p in parts for n in p.get("notes") or []]


def test_every_aws_module_takes_the_connection_options_from_one_fragment():
    """A module on AnsibleAWSModule documents its connection options by the one fragment,
    not amazon.aws' three by name (a fourth, or a new one, would be one place to add)."""
    for path in sorted(MODULES.glob("*.py")):
        text = path.read_text()
        if "AnsibleAWSModule" not in text and "aws_module" not in text:
            continue
        doc = yaml.safe_load(re.search(r'DOCUMENTATION = r"""\n(.*?)"""', text, re.S).group(1))
        fragments = doc.get("extends_documentation_fragment") or []
        assert "tradeops.platform.aws" in fragments, path.name
        assert not {"amazon.aws.common.modules", "amazon.aws.region.modules"} & set(fragments)

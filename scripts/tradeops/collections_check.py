"""Check that the collections in requirements.yml are installed at those versions.

Galaxy is not reachable here: the pinned `ansible` package carries the collections.
This makes a version drift between requirements.yml and what is installed an error at
set-up, not a surprise in a play. Usage: python -m tradeops.collections_check FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def search_paths(root: Path) -> list[Path]:
    """Where ansible looks, in its order: ./collections, then sys.path."""
    found = [root / "collections" / "ansible_collections"]
    found += [Path(p) / "ansible_collections" for p in sys.path if p]
    return [p for p in found if p.is_dir()]


def installed_version(name: str, paths: list[Path]) -> str | None:
    namespace, collection = name.split(".", 1)
    for base in paths:
        manifest = base / namespace / collection / "MANIFEST.json"
        if manifest.is_file():
            return json.loads(manifest.read_text())["collection_info"]["version"]
    return None


def check(requirements: Path) -> list[str]:
    wanted = yaml.safe_load(requirements.read_text())["collections"]
    paths = search_paths(requirements.parent)
    problems = []
    for entry in wanted:
        have = installed_version(entry["name"], paths)
        if have is None:
            problems.append(f"{entry['name']} is not installed (want {entry['version']})")
        elif have != str(entry["version"]):
            problems.append(f"{entry['name']} is {have}, requirements.yml wants {entry['version']}")
    link = requirements.parent / "collections" / "ansible_collections" / "tradeops" / "platform"
    if not (link / "galaxy.yml").is_file():
        problems.append(f"{link} must link to the checkout (FQCNs tradeops.platform.*)")
    return problems


def main() -> int:
    problems = check(Path(sys.argv[1]).resolve())
    for problem in problems:
        print(f"collections: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

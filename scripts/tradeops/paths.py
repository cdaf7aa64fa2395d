"""Where things are: the project checkout, its lab recipe and its local state."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds site.yml (TRADEOPS_PROJECT overrides, e.g. for a copy)."""
    env = os.environ.get("TRADEOPS_PROJECT")
    root = Path(env) if env else Path(__file__).resolve().parents[2]
    if not (root / "site.yml").is_file():
        raise FileNotFoundError(f"{root} is not a tradeops checkout (no site.yml)")
    return root


def state_dir(root: Path | None = None) -> Path:
    """Local, untracked state: lab pid/log files, run artifacts, caches."""
    return (root or project_root()) / ".lab"


def runs_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / ".cache" / "runs"

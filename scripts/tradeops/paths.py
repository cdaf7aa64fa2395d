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


def private_dir(path: Path, exclusive: bool = False) -> Path:
    """`path` as a directory only its owner may enter (0700, whatever the umask), its
    parents created as usual. `exclusive`: FileExistsError when it exists already (a new
    run's directory); otherwise an existing one of ours is made 0700 too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if exclusive or not path.is_dir():
            raise
    if path.stat().st_uid == os.getuid():
        os.chmod(path, 0o700)
    return path

"""refengine: the lab's reference trading engine (stdlib only).

It reads market data (UDP datagrams, optionally a Kinesis stream), keeps a top-of-book
per symbol, makes a risk-checked decision per tick, and reports over HTTP how it runs:
/health (status, version, placement as seen from inside the process), /ready, /metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "refengine"
DEV_VERSION = "0.0.0+dev"
# An artifact carries VERSION and BUILD.json beside this package (written by
# build_artifacts.py); a source checkout has neither and runs as the dev version.
ARTIFACT_ROOT = Path(__file__).resolve().parent.parent
FAULTS = {
    "unhealthy": "/health and /ready answer 503 although the process runs "
    "(a deliberate test fault for the deploy's health gate and rollback)",
}


def build_info(root: Path = ARTIFACT_ROOT) -> dict:
    """Version and baked-in test fault of the artifact this code was unpacked from."""
    version = DEV_VERSION
    fault = None
    version_file = root / "VERSION"
    if version_file.is_file():
        version = version_file.read_text(encoding="utf-8").strip() or DEV_VERSION
    build_file = root / "BUILD.json"
    if build_file.is_file():
        data = json.loads(build_file.read_text(encoding="utf-8"))
        fault = data.get("fault") or None
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"BUILD.json names an unknown fault {fault!r}; known: {sorted(FAULTS)}")
    return {"name": NAME, "version": version, "fault": fault}

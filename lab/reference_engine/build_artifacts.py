"""Build the reference engine's release artifacts, reproducibly.

    python3 build_artifacts.py OUTDIR                  # 1.0.0, 2.0.0, 3.0.0 (faulty)
    python3 build_artifacts.py OUTDIR --release 2.1.0 --release 9.9.9:unhealthy

Each release gives ``refengine-<version>.tar.gz`` and ``refengine-<version>.tar.gz.sha256``
(``sha256sum`` format). The archive has no top-level directory; unpacked into a release
directory it holds::

    VERSION            the version, one line
    BUILD.json         {"name", "version", "fault"}: fault is null, or a deliberate test
                       fault (3.0.0: "unhealthy" -> /health and /ready answer 503)
    bin/refengine      the launcher, run by the interpreter (no shebang, not executable):
                       /usr/bin/python3 -I bin/refengine --config FILE
    refengine/*.py     the engine package
    README.md, config.example.json, config.example.ini

Entries are sorted, owned by 0:0, with fixed modes and mtimes (SOURCE_DATE_EPOCH, or a
fixed date), and gzip carries no name or time: the same sources give the same sha256.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "refengine"
DEFAULT_RELEASES = {"1.0.0": None, "2.0.0": None, "3.0.0": "unhealthy"}
FIXED_MTIME = 1704067200  # 2024-01-01T00:00:00Z
SOURCES = ("README.md", "config.example.json", "config.example.ini")
sys.path.insert(0, str(HERE))
from refengine import FAULTS  # noqa: E402


def _files() -> list[tuple[str, bytes, int]]:
    """(archive path, content, mode) of everything that goes into an artifact."""
    out = [("bin/refengine", (HERE / "bin" / NAME).read_bytes(), 0o644)]
    for path in sorted((HERE / NAME).glob("*.py")):
        out.append((f"{NAME}/{path.name}", path.read_bytes(), 0o644))
    out += [(name, (HERE / name).read_bytes(), 0o644) for name in SOURCES]
    return out


def build(outdir: Path, version: str, fault: str | None, mtime: int = FIXED_MTIME) -> Path:
    if fault is not None and fault not in FAULTS:
        raise SystemExit(f"unknown fault {fault!r}; known: {', '.join(sorted(FAULTS))}")
    if not version or "/" in version or version.startswith("."):
        raise SystemExit(f"bad version {version!r}")
    build_json = json.dumps({"name": NAME, "version": version, "fault": fault}, indent=1)
    files = [
        *_files(),
        ("VERSION", f"{version}\n".encode(), 0o644),
        ("BUILD.json", (build_json + "\n").encode(), 0o644),
    ]
    dirs = sorted({str(Path(p).parent) for p, _, _ in files} - {"."})

    def info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
        entry = tarfile.TarInfo(name)
        entry.type, entry.mode, entry.size, entry.mtime = kind, mode, size, mtime
        entry.uid = entry.gid = 0
        entry.uname = entry.gname = "root"
        return entry

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        entries = [(d, None, 0o755) for d in dirs] + files
        for name, data, mode in sorted(entries, key=lambda e: e[0]):
            if data is None:
                tar.addfile(info(name, tarfile.DIRTYPE, mode))
            else:
                tar.addfile(info(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())

    outdir.mkdir(parents=True, exist_ok=True)
    artifact = outdir / f"{NAME}-{version}.tar.gz"
    artifact.write_bytes(packed.getvalue())
    digest = hashlib.sha256(packed.getvalue()).hexdigest()
    Path(f"{artifact}.sha256").write_text(f"{digest}  {artifact.name}\n", encoding="ascii")
    return artifact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument(
        "--release",
        action="append",
        metavar="VERSION[:FAULT]",
        help="release to build (repeatable); default: 1.0.0, 2.0.0 and 3.0.0:unhealthy",
    )
    args = parser.parse_args(argv)
    releases = DEFAULT_RELEASES
    if args.release:
        releases = {}
        for item in args.release:
            version, _, fault = item.partition(":")
            releases[version] = fault or None
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", FIXED_MTIME))
    manifest = {}
    for version, fault in releases.items():
        artifact = build(args.outdir, version, fault, mtime)
        digest = Path(f"{artifact}.sha256").read_text(encoding="ascii").split()[0]
        manifest[version] = {"path": str(artifact), "sha256": digest, "fault": fault}
    print(json.dumps(manifest, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

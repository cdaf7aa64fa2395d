"""Where the unit tests' fixture files come from, counted from their PROVENANCE.yml files.

Every directory named ``fixtures`` under tests/unit holds fixture sets; a set is a
directory with a PROVENANCE.yml, and every file below it (down to the next set) belongs to
it. A set's ``kind``, or a ``files`` entry's for the paths it lists, is one of

- ``recorded``: captured unmodified on a host this project names (host, kernel, date, commands);
- ``published``: a real output someone else recorded and published, copied verbatim;
- ``derived``: written from documents (listed), with the values that are assumed listed;
- ``authored``: test inputs written by hand that stand for no machine's output.

    python tests/unit/fixture_provenance.py            # print the README block
    python tests/unit/fixture_provenance.py --write    # put it into README.md

tests/unit/test_fixture_provenance.py fails when a fixture file has no set, a
PROVENANCE.yml is incomplete, or README.md's block differs from what this prints.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "tests" / "unit"
README = REPO / "README.md"
PROVENANCE = "PROVENANCE.yml"
# Files about a set, not of it; .empty keeps an empty recorded directory in git.
METADATA = {PROVENANCE, "SOURCES.md", ".empty"}
KINDS = ("recorded", "published", "derived", "authored")
BEGIN = "<!-- fixture-provenance:begin (python tests/unit/fixture_provenance.py --write) -->"
END = "<!-- fixture-provenance:end -->"


@dataclass
class FixtureSet:
    path: Path
    data: dict
    unit: Path = UNIT
    files: dict[Path, str] = field(default_factory=dict)  # file -> kind

    @property
    def name(self) -> str:
        return self.path.relative_to(self.unit).as_posix()

    @property
    def kind(self) -> str:
        return self.data.get("kind")

    def kind_of(self, file: Path) -> str:
        relative = file.relative_to(self.path).as_posix()
        for entry in self.data.get("files") or []:
            if any(fnmatch.fnmatchcase(relative, p) for p in entry.get("paths") or []):
                return entry.get("kind")
        return self.kind


def fixture_roots(unit: Path = UNIT) -> list[Path]:
    return sorted(p for p in unit.rglob("fixtures") if p.is_dir())


def fixture_files(unit: Path = UNIT) -> list[Path]:
    return sorted(
        f
        for root in fixture_roots(unit)
        for f in root.rglob("*")
        if f.is_file() and f.name not in METADATA
    )


def load_sets(unit: Path = UNIT) -> tuple[list[FixtureSet], list[Path]]:
    """The sets with their files, and the files that belong to no set."""
    roots = fixture_roots(unit)
    sets = {
        p.parent: FixtureSet(p.parent, yaml.safe_load(p.read_text()) or {}, unit)
        for root in roots
        for p in root.rglob(PROVENANCE)
    }
    orphans = []
    for root in roots:
        for file in sorted(f for f in root.rglob("*") if f.is_file() and f.name not in METADATA):
            owner = next(
                (sets[d] for d in file.parents if d in sets and root in (d, *d.parents)), None
            )
            if owner is None:
                orphans.append(file)
            else:
                owner.files[file] = owner.kind_of(file)
    return sorted(sets.values(), key=lambda s: s.name), orphans


def problems(fixture_set: FixtureSet) -> list[str]:
    """What is missing or wrong in one PROVENANCE.yml (empty when it is complete)."""
    data, out = fixture_set.data, []
    where = f"{fixture_set.name}/{PROVENANCE}"

    def need(mapping, keys, prefix):
        for key in keys:
            value = (mapping or {}).get(key)
            if value in (None, "", []):
                out.append(f"{where}: {prefix}{key} is missing or empty")

    if data.get("set") != fixture_set.name:
        out.append(f"{where}: set is {data.get('set')!r}, not its path {fixture_set.name!r}")
    if data.get("kind") not in KINDS:
        out.append(f"{where}: kind must be one of {', '.join(KINDS)}, not {data.get('kind')!r}")
    need(data, ["summary"], "")
    kind = data.get("kind")
    if kind == "recorded":
        recorded = data.get("recorded") or {}
        need(recorded, ["host", "commands"], "recorded.")
        for key in ("kernel", "date"):
            if key not in recorded:
                out.append(f"{where}: recorded.{key} is missing (null if unknown, with a gap)")
            elif recorded[key] is None and not any(key in g for g in data.get("gaps") or []):
                out.append(f"{where}: recorded.{key} is unknown but no gap says so")
    elif kind == "derived":
        derived = data.get("derived") or {}
        need(derived, ["documents", "assumed"], "derived.")
        for item in derived.get("assumed") or []:
            if not (
                isinstance(item, dict) and set(item) == {"what", "value"} and all(item.values())
            ):
                out.append(f"{where}: derived.assumed entry {item!r} needs what and value only")
    elif kind == "published":
        need(data, ["source"], "")
    elif kind == "authored":
        need(data.get("authored"), ["what"], "authored.")
    for entry in data.get("files") or []:
        if entry.get("kind") not in KINDS or not entry.get("paths"):
            out.append(f"{where}: files entry {entry!r} needs paths and a kind")
        if entry.get("kind") == "published" and not entry.get("source"):
            out.append(f"{where}: files entry {entry.get('paths')} is published without a source")
        relative = [f.relative_to(fixture_set.path).as_posix() for f in fixture_set.files]
        for pattern in entry.get("paths") or []:
            if not fnmatch.filter(relative, pattern):
                out.append(f"{where}: files entry {pattern!r} matches no file of the set")
    if data.get("details") and not (fixture_set.path / data["details"]).is_file():
        out.append(f"{where}: details names {data['details']}, which is not there")
    if not fixture_set.files:
        out.append(f"{where}: the set has no files")
    return out


def _origin(fixture_set: FixtureSet) -> str:
    data = fixture_set.data
    if data.get("kind") == "recorded":
        rec = data.get("recorded") or {}
        host = str(rec.get("host") or "").split(";", maxsplit=1)[0].split(" (", maxsplit=1)[0]
        kernel = f", kernel {rec['kernel']}" if rec.get("kernel") else ", kernel not noted"
        return host + kernel
    if data.get("kind") == "derived":
        return f"{len((data.get('derived') or {}).get('documents') or [])} documents, " + (
            f"{len((data.get('derived') or {}).get('assumed') or [])} assumed values"
        )
    return " ".join(str(data.get("summary") or "").split())


def counts(sets: list[FixtureSet]) -> dict[str, int]:
    out = dict.fromkeys(KINDS, 0)
    for fixture_set in sets:
        for kind in fixture_set.files.values():
            out[kind] += 1
    return out


def block(sets: list[FixtureSet]) -> str:
    """The README block: how many fixture files are which, and each set's origin."""
    total = counts(sets)
    n = sum(total.values())
    paragraph = (
        f"Of the {n} fixture files under `tests/unit/**/fixtures`, **{total['recorded']} are "
        f"real recordings** made by this project (each set names the host, and the kernel"
        f" where it was noted), {total['published']} {'is' if total['published'] == 1 else 'are'}"
        f" someone else's published recording copied verbatim, **{total['derived']} are"
        f" derived** from documentation with assumed values, and {total['authored']} are"
        " authored test inputs."
        " Each set's `PROVENANCE.yml` says which (recorded on: host, kernel, date, commands;"
        " derived from: the documents, and the values assumed); `SOURCES.md` goes file by file."
    )
    lines = [
        BEGIN,
        textwrap.fill(paragraph, width=90, break_on_hyphens=False),
        "",
        "| fixture set | kind | files | recorded on / derived from |",
        "|---|---|---|---|",
    ]
    for fixture_set in sets:
        kinds = sorted(set(fixture_set.files.values()), key=KINDS.index)
        kind = " + ".join(
            f"{k} ({sum(1 for v in fixture_set.files.values() if v == k)})" if len(kinds) > 1 else k
            for k in kinds
        )
        lines.append(
            f"| `{fixture_set.name}` | {kind} | {len(fixture_set.files)} | {_origin(fixture_set)} |"
        )
    lines.append(END)
    return "\n".join(lines)


def readme_block(text: str) -> str | None:
    if BEGIN not in text or END not in text:
        return None
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--write", action="store_true", help=f"update the block in {README}")
    args = parser.parse_args(argv)
    sets, orphans = load_sets()
    bad = [p for s in sets for p in problems(s)] + [f"{f}: in no fixture set" for f in orphans]
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    new = block(sets)
    if not args.write:
        print(new)
        return 0
    text = README.read_text()
    old = readme_block(text)
    if old is None:
        print(f"{README} has no {BEGIN} ... {END} block: add one", file=sys.stderr)
        return 1
    README.write_text(text.replace(old, new))
    print(f"{README}: {'updated' if old != new else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

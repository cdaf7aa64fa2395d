"""Every fixture set says where it comes from (PROVENANCE.yml), and the README's count of
recorded against derived fixture files is the one those files give (tests/unit/
fixture_provenance.py prints and writes it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from . import fixture_provenance as fp

SETS, ORPHANS = fp.load_sets()


def test_every_fixture_file_belongs_to_a_set_with_a_provenance_file():
    assert fp.fixture_files(), "no fixture files found: the walk is broken"
    assert [str(f.relative_to(fp.UNIT)) for f in ORPHANS] == []


@pytest.mark.parametrize("fixture_set", SETS, ids=lambda s: s.name)
def test_provenance_file_is_complete(fixture_set):
    assert fp.problems(fixture_set) == []


@pytest.mark.parametrize(
    "fixture_set",
    [s for s in SETS if s.kind == "recorded" and (s.data["recorded"] or {}).get("kernel")],
    ids=lambda s: s.name,
)
def test_a_recording_names_the_kernel_it_recorded(fixture_set):
    """Where the set holds the kernel's own release string, it is the named kernel."""
    osrelease = fixture_set.path / "root" / "proc" / "sys" / "kernel" / "osrelease"
    assert osrelease.is_file(), "a recorded host set without its kernel's osrelease"
    assert osrelease.read_text().strip() == fixture_set.data["recorded"]["kernel"]


def test_readme_says_how_many_fixture_files_are_recorded_and_derived():
    block = fp.readme_block(fp.README.read_text())
    assert block is not None, f"README.md lacks the block {fp.BEGIN}"
    assert block == fp.block(SETS), "stale: run python tests/unit/fixture_provenance.py --write"
    counts = fp.counts(SETS)
    assert counts["recorded"] > 0 and counts["derived"] > counts["recorded"]
    assert sum(counts.values()) == len(fp.fixture_files())


# ------------------------------------------------------------------ the checker itself


def _tree(tmp_path: Path, provenance: dict | None) -> Path:
    unit = tmp_path / "unit"
    files = unit / "plugins" / "fixtures" / "box"
    (files / "cmd").mkdir(parents=True)
    (files / "cmd" / "out.txt").write_text("x\n")
    (files / "SOURCES.md").write_text("notes\n")
    if provenance is not None:
        (files / "PROVENANCE.yml").write_text(yaml.safe_dump(provenance))
    return unit


def test_a_set_without_provenance_is_found(tmp_path):
    sets, orphans = fp.load_sets(_tree(tmp_path, None))
    assert sets == [] and [f.name for f in orphans] == ["out.txt"]


@pytest.mark.parametrize(
    ("provenance", "complaint"),
    [
        ({"set": "plugins/fixtures/box", "kind": "guessed", "summary": "s"}, "kind must be"),
        ({"set": "box", "kind": "authored", "summary": "s", "authored": {"what": "w"}}, "its path"),
        (
            {"set": "plugins/fixtures/box", "kind": "recorded", "summary": "s",
             "recorded": {"host": "h", "commands": ["c"], "date": "d"}},
            "recorded.kernel is missing",
        ),
        (
            {"set": "plugins/fixtures/box", "kind": "recorded", "summary": "s",
             "recorded": {"host": "h", "commands": ["c"], "date": "d", "kernel": None}},
            "kernel is unknown but no gap",
        ),
        (
            {"set": "plugins/fixtures/box", "kind": "derived", "summary": "s",
             "derived": {"documents": ["d"]}},
            "derived.assumed is missing",
        ),
        (
            {"set": "plugins/fixtures/box", "kind": "derived", "summary": "s",
             "derived": {"documents": ["d"], "assumed": ["a guess"]}},
            "needs what and value",
        ),
        (
            {"set": "plugins/fixtures/box", "kind": "authored", "summary": "s",
             "authored": {"what": "w"}, "files": [{"paths": ["gone.txt"], "kind": "derived"}]},
            "matches no file",
        ),
        (
            {"set": "plugins/fixtures/box", "kind": "authored", "summary": "s",
             "authored": {"what": "w"}, "files": [{"paths": ["cmd/*"], "kind": "published"}]},
            "published without a source",
        ),
    ],
)  # fmt: skip
def test_an_incomplete_provenance_file_is_refused(tmp_path, provenance, complaint):
    (fixture_set,), orphans = fp.load_sets(_tree(tmp_path, provenance))
    assert orphans == []
    found = fp.problems(fixture_set)
    assert any(complaint in p for p in found), found


def test_files_entries_change_the_count_and_metadata_is_not_counted(tmp_path):
    provenance = {
        "set": "plugins/fixtures/box",
        "kind": "derived",
        "summary": "s",
        "derived": {"documents": ["d"], "assumed": [{"what": "w", "value": "v"}]},
        "files": [{"paths": ["cmd/out.txt"], "kind": "published", "source": "an issue"}],
    }
    unit = _tree(tmp_path, provenance)
    (unit / "plugins" / "fixtures" / "box" / "more.txt").write_text("y\n")
    (fixture_set,), orphans = fp.load_sets(unit)
    assert orphans == []
    assert fp.problems(fixture_set) == []
    assert fp.counts([fixture_set]) == {"recorded": 0, "published": 1, "derived": 1, "authored": 0}
    assert "| `plugins/fixtures/box` | published (1) + derived (1) | 2 |" in fp.block([fixture_set])

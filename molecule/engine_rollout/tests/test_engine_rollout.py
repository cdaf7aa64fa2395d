"""engine_rollout's phase 1 on the controller: the release artifacts built with their
checksums, and (after the side effect) the override of an enforced freeze in the audit log."""

import hashlib
import io
import json
import tarfile

import pytest

testinfra_hosts = ["local://"]

VERSIONS = {"1.0.0": None, "2.0.0": None, "3.0.0": "unhealthy"}


@pytest.fixture(scope="module")
def artifacts(ephemeral):
    """The lab's artifacts directory: beside molecule's ansible.cfg (tradeops_lab_artifacts_dir)."""
    return ephemeral / ".cache" / "artifacts" / "refengine"


@pytest.mark.parametrize("version", VERSIONS)
def test_each_release_is_built_with_its_checksum(artifacts, version):
    archive = artifacts / f"refengine-{version}.tar.gz"
    digest, name = (artifacts / f"{archive.name}.sha256").read_text().split()
    assert name == archive.name
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes())) as tar:
        build = json.load(tar.extractfile("BUILD.json"))
        assert tar.extractfile("VERSION").read() == f"{version}\n".encode()
        assert "bin/refengine" in tar.getnames()
    assert build == {"name": "refengine", "version": version, "fault": VERSIONS[version]}


def test_the_override_is_recorded_once_in_the_audit_log(host, ephemeral):
    log = ephemeral / ".cache" / "audit" / "engine-change-freeze.jsonl"
    assert host.file(str(log)).mode == 0o640
    records = [json.loads(line) for line in log.read_text().splitlines()]
    # The refused run and the lab's unenforced converges recorded nothing.
    assert len(records) == 1, records
    record = records[0]
    assert record["decision"] == "overridden"
    assert record["frozen"] is True
    assert record["override_used"] is True
    assert record["override_reason"] == "CHG-42: venue certificate rotation"
    assert record["actor"] == "molecule"
    assert record["change"] == "engine deploy"
    assert record["version"] == "2.0.0"
    assert record["timezone"] == "America/New_York"
    assert record["local_time"].startswith("2026-03-10T11:00:00")

"""engine_deploy's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered

# prune.yml removes old releases (their directories go, they are not managed items);
# verify.yml's rollback repoints current, which is watched.
NOT_CONVERGE = {
    "state.yml",
    "record.yml",
    "preflight.yml",
    "profile.yml",
    "prune.yml",
    "verify.yml",
}


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "engine_deploy",
        NOT_CONVERGE,
        engine_deploy_version="2.0.0",
        __engine_deploy_placement={"hugepages": True, "hugepage_size": "2M"},
        __engine_deploy_http_address="127.0.0.1",
    )
    # the only path not watched: the downloaded archive, which the install itself removes
    assert missing == {"files": ["/opt/refengine/.incoming-2.0.0.tar.gz"]}
    assert watch["units"] == ["refengine"]
    assert watch["users"] == ["refengine"] and watch["groups"] == ["refengine"]
    assert watch["mounts"] == ["/mnt/hugepages-refengine"]

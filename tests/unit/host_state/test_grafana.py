"""grafana's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered

NOT_CONVERGE = {"state.yml", "record.yml", "preflight.yml"}


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "grafana",
        NOT_CONVERGE,
        # no dashboard the role does not manage: the removal loop names none
        __grafana_dashboard_files={"files": []},
    )
    assert missing == {}
    assert watch["units"] == ["grafana-server"]
    assert watch["packages"] == ["grafana"]
    # the vendor's repository and key (deb822_repository, not a file task) and a dashboard
    # dropped in by hand (the converge removes it)
    assert {
        "/etc/apt/sources.list.d/grafana.sources",
        "/etc/apt/keyrings/grafana.*",
        "/var/lib/grafana/dashboards/tradeops/*.json",
    } <= set(watch["files"])


def test_without_the_package_only_the_provisioning_files_are_watched():
    watch, missing = uncovered(
        "grafana",
        NOT_CONVERGE | {"install.yml"},
        __grafana_dashboard_files={"files": []},
        grafana_install_package=False,
    )
    assert missing == {}
    assert watch["units"] == [] and watch["packages"] == []
    assert not any(path.startswith("/etc/apt/") for path in watch["files"])

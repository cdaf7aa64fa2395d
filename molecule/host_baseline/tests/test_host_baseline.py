"""host_baseline's effect on the host: its packages, UTC, its local fact."""

import json

testinfra_hosts = ["podman://molecule-host-baseline"]


def test_the_base_packages_are_installed(host):
    for name in ("ethtool", "iproute2", "procps"):
        assert host.package(name).is_installed, name


def test_the_time_zone_is_utc(host):
    localtime = host.file("/etc/localtime")
    assert localtime.is_symlink
    assert localtime.linked_to == "/usr/share/zoneinfo/Etc/UTC"


def test_the_local_fact_names_the_environment_and_the_groups(host):
    fact = host.file("/etc/ansible/facts.d/tradeops.fact")
    assert fact.user == "root"
    assert fact.mode == 0o644
    assert json.loads(fact.content_string) == {
        "environment": "lab",
        "project": "tradeops",
        "groups": ["engines"],
    }

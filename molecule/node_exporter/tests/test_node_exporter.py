"""node_exporter's effect on the host: the package, the running service on its port,
its flags in effect, the latency collectors and the textfile directory served."""

import re

import pytest

testinfra_hosts = ["podman://molecule-node-exporter"]

SERVICE = "prometheus-node-exporter"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
COLLECTORS = ("interrupts", "ethtool", "softnet", "netdev", "textfile", "timex", "meminfo")


def metrics(host) -> str:
    return host.check_output("curl -fsS http://127.0.0.1:9100/metrics")


def test_the_package_is_installed(host):
    assert host.package(SERVICE).is_installed


def test_the_service_is_running_and_enabled(host):
    service = host.service(SERVICE)
    assert service.is_running
    assert service.is_enabled


def test_it_listens_on_every_address_on_9100(host):
    assert (
        host.socket("tcp://0.0.0.0:9100").is_listening or host.socket("tcp://:::9100").is_listening
    )


def test_the_flags_file_names_the_collectors_and_the_textfile_directory(host):
    flags = host.file(f"/etc/default/{SERVICE}")
    assert flags.user == "root"
    assert flags.group == "root"
    assert flags.mode == 0o644
    args = re.search(r'^ARGS="(.*)"$', flags.content_string, re.M).group(1).split()
    assert "--web.listen-address=:9100" in args
    for name in COLLECTORS:
        assert f"--collector.{name}" in args, name
    assert f"--collector.textfile.directory={TEXTFILE_DIR}" in args
    assert any(
        a.startswith("--collector.ethtool.metrics-include=") and "allowance_exceeded" in a
        for a in args
    )


def test_the_running_exporter_has_those_flags(host):
    pid = host.check_output(f"systemctl show -p MainPID --value {SERVICE}")
    cmdline = host.file(f"/proc/{pid}/cmdline").content.split(b"\0")
    assert b"--collector.interrupts" in cmdline
    assert f"--collector.textfile.directory={TEXTFILE_DIR}".encode() in cmdline


@pytest.mark.parametrize("collector", [c for c in COLLECTORS if c != "textfile"])
def test_every_latency_collector_scrapes_without_error(host, collector):
    assert f'node_scrape_collector_success{{collector="{collector}"}} 1' in metrics(host)


def test_the_textfile_directory_is_there_and_served(host):
    directory = host.file(TEXTFILE_DIR)
    assert directory.is_directory
    assert directory.user == "root"
    assert directory.mode == 0o755
    # what another role (engine_tuning's verify report, backups) would write there
    probe = f"{TEXTFILE_DIR}/molecule_probe.prom"
    host.check_output(f"printf 'molecule_probe 42\\n' > {probe}")
    try:
        assert re.search(r"^molecule_probe 42$", metrics(host), re.M)
    finally:
        host.check_output(f"rm -f {probe}")

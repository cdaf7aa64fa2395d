"""engine_tuning's effect on an engine host (a container, the lab profile): the persisted
configuration, the boot-time unit and its state, the verify report as textfile metrics,
and the machine's kernel left alone. Ported from the former ansible verify.yml."""

import json
import re

import pytest

testinfra_hosts = ["podman://molecule-engine-tuning"]

KERNEL_ARGS = (
    "isolcpus=managed_irq,domain,1 rcu_nocbs=1 irqaffinity=0 skew_tick=1 nosoftlockup"
    " default_hugepagesz=2M hugepagesz=2M hugepages=64 transparent_hugepage=never"
)
FILES = {
    "grub": "/etc/default/grub.d/99-engine_tuning-kernel-args.cfg",
    "sysctl": "/etc/sysctl.d/60-tradeops-engine-tuning.conf",
    "affinity": "/etc/systemd/system.conf.d/60-tradeops-cpu-affinity.conf",
    "irqbalance": "/etc/default/irqbalance",
    "chrony": "/etc/chrony/chrony.conf",
    "state": "/etc/tradeops/engine-tuning.json",
    "unit": "/etc/systemd/system/tradeops-engine-tuning.service",
}
PROM = "/var/lib/prometheus/node-exporter/tradeops_tuning.prom"


def content(host, name: str) -> str:
    return host.file(FILES[name]).content_string


@pytest.fixture(scope="module")
def state(host) -> dict:
    return json.loads(content(host, "state"))


@pytest.mark.parametrize("name", FILES)
def test_each_persisted_file_is_roots(host, name):
    f = host.file(FILES[name])
    assert f.is_file
    assert f.user == "root"
    assert f.mode == 0o644


def test_the_kernel_command_line_is_one_grub_drop_in_in_profile_order(host):
    assert f'GRUB_CMDLINE_LINUX="${{GRUB_CMDLINE_LINUX}} {KERNEL_ARGS}"' in content(host, "grub")


def test_the_kernel_command_line_is_written_not_booted(host):
    # a container has no boot of its own: the running command line is the machine's
    assert "isolcpus=managed_irq,domain,1" not in host.file("/proc/cmdline").content_string


def test_the_sysctl_drop_in_has_exactly_the_profiles_values(host, state):
    written = dict(
        re.match(r"^(\S+) = (.*)$", line).groups()
        for line in content(host, "sysctl").splitlines()
        if line and not line.startswith("#")
    )
    # the side effect's hand edits (busy_poll = 0, vm.overcommit_memory) are gone
    assert written == {k: str(v) for k, v in state["sysctls"].items()}
    assert written["vm.stat_interval"] == "10"
    assert written["kernel.numa_balancing"] == "0"
    assert written["net.core.busy_poll"] == "50"


def test_systemd_and_its_services_stay_on_the_housekeeping_cpu(host):
    assert re.search(r"^CPUAffinity=0$", content(host, "affinity"), re.M)


def test_irqbalance_bans_the_isolated_cpu(host):
    irqbalance = content(host, "irqbalance")
    assert re.search(r'^IRQBALANCE_BANNED_CPULIST="1"$', irqbalance, re.M)
    assert re.search(r'^IRQBALANCE_BANNED_CPUS="00000002"$', irqbalance, re.M)


def test_chrony_has_one_clock_source(host):
    chrony = content(host, "chrony")
    assert re.search(r"^server 127\.0\.0\.1 ", chrony, re.M)
    assert len(re.findall(r"^(?:server|pool|refclock) ", chrony, re.M)) == 1


def test_the_boot_time_unit_is_enabled_and_follows_eth0(host):
    # enabled again after the side effect disabled it
    assert host.service("tradeops-engine-tuning.service").is_enabled
    assert "sys-subsystem-net-devices-eth0.device" in content(host, "unit")


def test_the_units_state_is_the_render_of_the_lab_profile(state):
    assert " ".join(state["kernel_args"]) == KERNEL_ARGS
    assert state["workqueue_cpumask"] == "00000001"
    assert state["nics"][0]["ethtool"] == [["-L", "eth0", "rx", "1", "tx", "1"]]


def test_the_apply_scripts_dry_run_reads_the_host_without_failing(host):
    host.run_expect([0], "python3 /usr/local/libexec/tradeops/engine-tuning-apply.py --dry-run")


def test_the_verify_report_says_lab_profile_no_drift_kernel_not_judged(host):
    prom = host.file(PROM)
    assert prom.user == "root"
    assert prom.mode == 0o644
    metrics = prom.content_string
    assert re.search(r'^tradeops_tuning_profile_info\{profile="lab"\} 1$', metrics, re.M)
    # a container: the kernel-wide checks (command line, reboot pending) are not its own
    assert re.search(r"^tradeops_tuning_kernel_judged 0$", metrics, re.M)
    assert not re.search(r"^tradeops_tuning_reboot_pending ", metrics, re.M)
    assert int(
        re.search(r'^tradeops_tuning_checks\{status="not_judged"\} (\d+)$', metrics, re.M)[1]
    )
    assert re.search(r'^tradeops_tuning_checks\{status="drift"\} 0$', metrics, re.M)
    assert re.findall(r"^tradeops_tuning_check_ok\{.*\} 1$", metrics, re.M)


def test_the_machines_kernel_is_not_written(host):
    # the container's /proc/sys/vm is the machine's (net.core.* is the container's own
    # network namespace's): the profile's values are not there
    assert host.sysctl("vm.stat_interval") != 10
    assert host.sysctl("vm.swappiness") != 10

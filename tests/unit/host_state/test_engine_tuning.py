"""engine_tuning's host_state watch list covers what its converge manages (watch.py)."""

from __future__ import annotations

from .watch import uncovered

# A render of each branch the watch list depends on (ptp clock, irqbalance owner, a
# hugetlbfs mount, live apply), so every conditional task's path is in play.
RENDER = {
    "name": "test",
    "kernel_args": ["isolcpus=2-3"],
    "kernel_arg_keys": ["isolcpus"],
    "sysctls": {"vm.swappiness": "10", "kernel.numa_balancing": "0"},
    "hugepages": {"mount": "/mnt/huge", "default_size": "2M"},
    "irq": {"owner": "irqbalance"},
    "irqbalance": {"environment": {"IRQBALANCE_BANNED_CPULIST": "2-3"}},
    "clock": {"source": "ptp", "ptp_interface": "eth1"},
    "systemd": {"cpu_affinity": "0-1"},
    "modprobe": [{"module": "ena", "options": "llq=1"}],
}


NOT_CONVERGE = {
    "state.yml",
    "record.yml",
    "verify.yml",
    "latency_gate.yml",
    "preflight.yml",
    "render.yml",
}


def test_the_watch_list_names_everything_the_converge_manages():
    watch, missing = uncovered(
        "engine_tuning",
        NOT_CONVERGE,
        engine_tuning_render=RENDER,
        __engine_tuning_profile={"latency_gate": {"enabled": True}},
        __engine_tuning_live=True,
        ansible_facts={"os_family": "Debian"},
    )
    assert missing == {}
    assert set(watch["packages"]) == {"ethtool", "chrony", "irqbalance", "linuxptp", "rt-tests"}
    # live runs watch what they set in /proc and the mounts
    assert set(watch["sysctls"]) == set(RENDER["sysctls"])
    assert watch["mounts"] == [RENDER["hugepages"]["mount"]]

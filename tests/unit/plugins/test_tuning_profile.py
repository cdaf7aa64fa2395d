"""Shipped profiles: valid on their hosts, exact renders, verify before/after."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.tuning import FilterModule
from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import format_cpulist
from ansible_collections.tradeops.platform.plugins.module_utils.tuning_profile import (
    ERROR,
    errors,
    render,
    validate,
    verify,
)

from .hosts import MACHINES, host_facts, profile

# Both C5n shapes have the same 72 threads (2 sockets x 18 cores x 2), so the same isolation.
C5N_CPU_ARGS = [
    "isolcpus=managed_irq,domain,2-17,38-53",
    "nohz_full=2-17,38-53",
    "rcu_nocbs=2-17,38-53",
    "irqaffinity=0-1,18-37,54-71",
    "skew_tick=1",
    "tsc=reliable",
    "nosoftlockup",
    "intel_idle.max_cstate=1",
    "processor.max_cstate=1",
]
KERNEL_ARGS = {
    "c5n_18xlarge": [
        *C5N_CPU_ARGS,
        "default_hugepagesz=1G",
        "hugepagesz=1G",
        "hugepages=0:16",
        "transparent_hugepage=never",
    ],
    "c5n_metal": [
        *C5N_CPU_ARGS,
        "intel_pstate=disable",
        "default_hugepagesz=1G",
        "hugepagesz=2M",
        "hugepages=0:1024",
        "hugepagesz=1G",
        "hugepages=0:16",
        "transparent_hugepage=never",
    ],
    "baremetal_sriov": [
        "isolcpus=managed_irq,domain,17-31,49-63",
        "nohz_full=17-31,49-63",
        "rcu_nocbs=17-31,49-63",
        "irqaffinity=0-16,32-48",
        "skew_tick=1",
        "tsc=reliable",
        "nosoftlockup",
        "intel_idle.max_cstate=1",
        "processor.max_cstate=1",
        "intel_pstate=disable",
        "default_hugepagesz=1G",
        "hugepagesz=1G",
        "hugepages=32",
        "intel_iommu=on",
        "iommu=pt",
        "transparent_hugepage=never",
    ],
    "lab": [
        "isolcpus=managed_irq,domain,1",
        "rcu_nocbs=1",
        "irqaffinity=0",
        "skew_tick=1",
        "nosoftlockup",
        "default_hugepagesz=2M",
        "hugepagesz=2M",
        "hugepages=64",
        "transparent_hugepage=never",
    ],
}


@pytest.mark.parametrize("machine", MACHINES)
def test_shipped_profile_valid_on_its_host(machine):
    problems = validate(profile(machine), host_facts(machine))
    assert errors(problems) == []
    for p in problems:
        assert p["path"] and p["message"] and p["fix"]


@pytest.mark.parametrize("machine", MACHINES)
def test_shipped_profile_kernel_args(machine):
    desired = render(profile(machine), host_facts(machine))
    assert desired["kernel_args"] == KERNEL_ARGS[machine]
    assert {"isolcpus", "hugepages", "mitigations", "idle"} <= set(desired["kernel_arg_keys"])
    assert desired["unsafe"] == []
    assert "kernel_args" in desired["reboot_required_for"]


def test_c5n_18xlarge_render_details():
    d = render(profile("c5n_18xlarge"), host_facts("c5n_18xlarge"))
    assert d["systemd"] == {"cpu_affinity": "0-1,18-37,54-71"}
    assert d["irqbalance"]["enabled"] is True
    assert d["irqbalance"]["banned_cpulist"] == "2-17,38-53"
    assert d["irqbalance"]["environment"]["IRQBALANCE_BANNED_CPUS"] == "00000000,003fffc0,0003fffc"
    assert d["sysctls"]["net.core.busy_read"] == "70"
    assert d["sysctls"]["kernel.numa_balancing"] == "0"
    nic = d["nics"][0]
    assert nic["interface"] == "ens5"
    assert nic["ethtool"] == [
        ["-L", "ens5", "combined", "4"],
        ["-G", "ens5", "rx", "4096", "tx", "1024"],
        ["-C", "ens5", "adaptive-rx", "off", "rx-usecs", "0", "tx-usecs", "0"],
    ]
    assert d["disruptive"] == ["nics.ens5.channels", "nics.ens5.rings"]
    assert d["modprobe"] == {}
    assert d["clock"]["servers"] == ["169.254.169.123"]
    assert d["hugepages"]["per_node"] == {"0": {"1G": 16}}


def test_workqueue_mask_is_housekeeping():
    d = render(profile("c5n_18xlarge"), host_facts("c5n_18xlarge"))
    from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import parse_mask

    assert format_cpulist(parse_mask(d["workqueue_cpumask"])) == "0-1,18-37,54-71"


def test_baremetal_render_sriov_and_hugepage_fallback():
    d = render(profile("baremetal_sriov"), host_facts("baremetal_sriov"))
    # RHEL 8's 4.18 kernel predates hugepages=<node>:<n>: boot total, per-node at runtime
    assert d["hugepages"]["boot_node_form"] is False
    assert d["hugepages"]["runtime_per_node"] == {"1G": {"0": 0, "1": 32}}
    assert d["sriov"][0]["pf"] == "ens3f0"
    assert d["sriov"][0]["pci"] == "0000:d8:00.0"
    assert d["sriov"][0]["autoprobe"] is False  # vfio-pci: keep the VF driver off the VFs
    assert d["irqbalance"] == {"enabled": False}
    assert d["irq"]["owner"] == "static"
    assert d["irq"]["nic_queue_cpus"] == "16,48"
    assert "sriov.ens3f0.numvfs" in d["disruptive"]


def test_unsafe_rendered_only_with_ack():
    facts = host_facts("c5n_metal")
    prof = profile("c5n_metal")
    prof["unsafe"] = {"mitigations_off": True, "audit_off": True}
    assert "mitigations=off" not in render(prof, facts)["kernel_args"]
    prof["unsafe"].update({"acknowledged": True, "reason": "desk CTO, ticket RISK-1"})
    assert errors(validate(prof, facts)) == []
    d = render(prof, facts)
    assert d["unsafe"] == ["mitigations=off", "audit=0"]
    assert d["kernel_args"][-2:] == ["mitigations=off", "audit=0"]


def test_idle_poll_only_on_opt_in_and_warned_on_virtual():
    facts = host_facts("c5n_18xlarge")
    prof = profile("c5n_18xlarge")
    assert "idle=poll" not in render(prof, facts)["kernel_args"]
    prof["power"]["idle_poll"] = True
    assert "idle=poll" in render(prof, facts)["kernel_args"]
    warned = [p for p in validate(prof, facts) if p["path"] == "power.idle_poll"]
    assert warned and warned[0]["severity"] == "warning"


def test_isolcpus_flags_and_disable():
    facts = host_facts("lab")
    prof = profile("lab")
    prof["cpu"]["isolcpus_flags"] = ["managed_irq"]
    assert render(prof, facts)["kernel_args"][0] == "isolcpus=managed_irq,1"
    prof["cpu"]["isolcpus"] = False
    assert not any(a.startswith("isolcpus=") for a in render(prof, facts)["kernel_args"])


def test_sysctl_override_and_removal():
    facts = host_facts("lab")
    prof = profile("lab")
    prof["sysctls"] = {"kernel.timer_migration": 1, "vm.swappiness": None}
    s = render(prof, facts)["sysctls"]
    assert s["kernel.timer_migration"] == "1"
    assert "vm.swappiness" not in s


# ------------------------------------------------------------------ verify


def booted(facts, desired):
    """Facts as they would read after apply + reboot with the desired state."""
    after = copy.deepcopy(facts)
    tokens = [
        t for t in after["cmdline"]["tokens"] if t.split("=")[0] not in desired["kernel_arg_keys"]
    ]
    after["cmdline"]["tokens"] = tokens + desired["kernel_args"]
    cpu = desired["cpu"]
    after["cpu"]["isolated"] = cpu["isolated"] if cpu["isolcpus"] else ""
    after["cpu"]["nohz_full"] = cpu["isolated"] if cpu["nohz_full"] else ""
    allowed = cpu["irq_allowed"]
    from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import parse_cpulist

    first = str(min(parse_cpulist(allowed)))
    after["irq"]["default_smp_affinity"] = desired["irq"]["default_smp_affinity"]
    for entry in after["irq"]["irqs"].values():
        is_queue = "Tx-Rx" in entry["name"] or "TxRx" in entry["name"]
        entry["effective_affinity_list"] = (
            str(min(parse_cpulist(desired["irq"]["nic_queue_cpus"]))) if is_queue else first
        )
    for node, sizes in desired["hugepages"]["per_node"].items():
        for size, n in sizes.items():
            after["numa"]["nodes"][node]["hugepages"][size]["nr"] = n
    after["sysctls"].update(desired["sysctls"])
    after["thp"] = desired["thp"]
    for nic in desired["nics"]:
        info = after["nics"][nic["interface"]]
        for group in ("channels", "rings"):
            info[group]["current"].update(nic[group])
        info["coalesce"].update(nic["coalesce"])
    for pf in desired["sriov"]:
        after["nics"][pf["pf"]]["sriov"]["numvfs"] = pf["numvfs"]
    return after


@pytest.mark.parametrize("machine", MACHINES)
def test_verify_untuned_host_reports_pending_and_drift(machine):
    facts = host_facts(machine)
    desired = render(profile(machine), facts)
    report = verify(desired, facts)
    assert report["status"] == "drift"
    assert report["reboot_required"] is True
    cmdline = next(c for c in report["checks"] if c["name"] == "kernel_cmdline")
    assert cmdline["status"] == "reboot_pending"
    iso = next(c for c in report["checks"] if c["name"] == "cpu_isolated")
    assert iso["status"] == "reboot_pending"  # not booted yet: pending, not drift


@pytest.mark.parametrize("machine", MACHINES)
def test_verify_tuned_host_is_ok(machine):
    facts = host_facts(machine)
    desired = render(profile(machine), facts)
    report = verify(desired, booted(facts, desired))
    bad = [c for c in report["checks"] if c["status"] not in ("ok",)]
    assert bad == []
    assert report["status"] == "ok"
    assert report["reboot_required"] is False
    assert report["drift"] is False


def test_verify_written_not_booted_is_pending_only():
    facts = host_facts("c5n_18xlarge")
    desired = render(profile("c5n_18xlarge"), facts)
    after = booted(facts, desired)
    after["cmdline"] = copy.deepcopy(facts["cmdline"])
    after["cpu"]["isolated"] = ""
    after["cpu"]["nohz_full"] = ""
    for node in after["numa"]["nodes"].values():
        node["hugepages"]["1G"]["nr"] = 0
    report = verify(desired, after)
    assert report["status"] == "reboot_pending"
    assert report["drift"] is False


def test_verify_detects_drift_after_boot():
    facts = host_facts("c5n_18xlarge")
    desired = render(profile("c5n_18xlarge"), facts)
    after = booted(facts, desired)
    after["sysctls"]["kernel.numa_balancing"] = "1"
    after["cpu"]["isolated"] = "2-17"
    after["irq"]["irqs"]["28"]["effective_affinity_list"] = "5"
    after["nics"]["ens5"]["coalesce"]["tx_usecs"] = 64
    report = verify(desired, after)
    drift = {c["name"] for c in report["checks"] if c["status"] == "drift"}
    assert drift == {
        "sysctl kernel.numa_balancing",
        "cpu_isolated",
        "nic_irq_affinity",
        "nic ens5 coalesce.tx_usecs",
    }
    assert report["status"] == "drift"


def test_verify_stale_owned_token_is_pending():
    facts = host_facts("lab")
    desired = render(profile("lab"), facts)
    after = booted(facts, desired)
    after["cmdline"]["tokens"].append("idle=poll")
    report = verify(desired, after)
    check = next(c for c in report["checks"] if c["name"] == "kernel_cmdline")
    assert check["status"] == "reboot_pending"
    assert "still booted: idle=poll" in check["message"]


# ------------------------------------------------------------------ filters


def test_filters_wrap_module_utils():
    f = FilterModule().filters()
    assert f["cpulist"]([3, 1, 2, 0, 8]) == "0-3,8"
    assert f["cpumask"]("0-1", 64) == "00000000,00000003"
    with pytest.raises(AnsibleFilterError):
        f["cpulist"]("5-1")
    facts = host_facts("lab")
    registered = {"engine_host": facts, "changed": False}
    assert f["tuning_validate"](profile("lab"), registered) == validate(profile("lab"), facts)
    desired = f["tuning_render"](profile("lab"), registered)
    assert desired == render(profile("lab"), facts)
    assert f["tuning_verify"](desired, facts)["status"] == "drift"
    with pytest.raises(AnsibleFilterError):
        f["tuning_render"](profile("lab"), "not facts")


def test_validate_problem_shape():
    problems = validate({"name": "x", "cpu": {"housekeeping": "0"}}, host_facts("lab"))
    required = [p for p in problems if p["path"] == "cpu.isolated"]
    assert required and required[0]["severity"] == ERROR
    assert set(required[0]) == {"path", "message", "fix", "severity"}

"""The host sets recorded by tests/unit/record_host_fixture.py: this development VM
(fixtures/hosts/devvm_v1300, with a veth pair in a network namespace of its own) and a lab
engine container (fixtures/hosts/lab_container). Each recording is checked against
itself - independent sources of the same fact must agree - and the lab's own profile is
checked against the container the lab runs it in."""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.tradeops.platform.plugins.module_utils import host_parsers as hp
from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import parse_cpulist
from ansible_collections.tradeops.platform.plugins.module_utils.host_facts import gather
from ansible_collections.tradeops.platform.plugins.module_utils.tuning_profile import (
    render,
    validate,
    verify,
)

from .hosts import HOSTS, REPO, fixture_runner, no_imds, profile

RECORDED = {"devvm_v1300": ("eth0", "h6veth0", "h6veth1"), "lab_container": ("eth0",), "lab": None}


def facts(machine):
    interfaces = RECORDED[machine] or ("eth0", "veth0")
    return gather(
        root=str(HOSTS / machine / "root"),
        run=fixture_runner(machine),
        imds=no_imds,
        ec2_metadata="never",
        interfaces=interfaces,
    )


def read(machine, rel):
    return (HOSTS / machine / rel).read_text()


@pytest.mark.parametrize("machine", sorted(RECORDED))
def test_lscpu_forms_sysfs_cpuinfo_and_interrupts_agree(machine):
    human = hp.lscpu_summary(hp.parse_lscpu(read(machine, "lscpu.txt")))
    json_form = hp.lscpu_summary(hp.parse_lscpu_json(read(machine, "lscpu_J.json")))
    parsed = hp.parse_lscpu_parse(read(machine, "lscpu_p.txt"))
    extended = hp.parse_lscpu_extended(read(machine, "lscpu_e.txt"))
    online = parse_cpulist(read(machine, "root/sys/devices/system/cpu/online"))
    processors = read(machine, "root/proc/cpuinfo").count("\nprocessor\t:") + 1
    columns = read(machine, "root/proc/interrupts").splitlines()[0].split()
    host = facts(machine)
    assert human["cpus"] == json_form["cpus"] == len(online) == processors == host["cpu"]["count"]
    assert [r["cpu"] for r in parsed] == [r["cpu"] for r in extended] == sorted(online)
    assert columns == [f"CPU{n}" for n in sorted(online)]
    assert hp.topology_from_rows(parsed)["nodes"].keys() == host["numa"]["nodes"].keys()
    assert human["node_cpus"].keys() == host["numa"]["nodes"].keys()


@pytest.mark.parametrize(
    ("machine", "nic"),
    [("devvm_v1300", "h6veth0"), ("devvm_v1300", "h6veth1"), ("lab_container", "eth0")],
)
def test_a_veth_reads_as_veth_with_settable_rx_tx_and_no_rings_or_coalescing(machine, nic):
    info = facts(machine)["nics"][nic]
    assert info["driver"] == "veth" and info["bus_info"] is None
    assert info["channels"]["max"]["rx"] == info["channels"]["max"]["tx"] >= 1
    assert info["channels"]["max"]["combined"] is None
    # ethtool -g / -c fail on veth; the recording kept their exit status
    for option in ("-g", "-c"):
        assert int(read(machine, f"cmd/ethtool_{option}_{nic}.rc")) != 0
    assert info["rings"] is None and info["coalesce"] is None


def test_veth_channels_after_ethtool_L_read_back():
    before = hp.parse_ethtool_channels(read("devvm_v1300", "cmd/ethtool_-l_h6veth0.txt"))
    after = hp.parse_ethtool_channels(
        read("devvm_v1300", "cmd/ethtool_-l_h6veth0_after_-L_rx_2_tx_2.txt")
    )
    assert before["current"]["rx"] == 1 and after["current"] == {
        "rx": 2,
        "tx": 2,
        "other": None,
        "combined": None,
    }
    assert after["max"] == before["max"]


def test_the_lab_profile_is_valid_on_this_vm_too():
    """Written for the lab VM of fixtures/hosts/lab (kernel ...-v595); this VM runs another
    build of the kernel (...-v1300) and must take the same profile."""
    host = facts("devvm_v1300")
    assert host["kernel"]["release"] != facts("lab")["kernel"]["release"]
    assert [p for p in validate(profile("lab"), host) if p["severity"] == "error"] == []


def test_the_lab_inventory_profile_is_valid_in_the_lab_container():
    """What engine_tuning validates in a lab engine container: the inventory's profile
    (eth0 as a veth, rx/tx channels) has no error there, and its eth0 checks are ok."""
    inventory = yaml.safe_load(
        (REPO / "inventories" / "lab" / "group_vars" / "engines" / "tuning.yml").read_text()
    )
    host = facts("lab_container")
    prof = inventory["engine_tuning_profile"]
    assert [p for p in validate(prof, host) if p["severity"] == "error"] == []
    report = verify(render(prof, host), host)
    nic = {c["name"]: c["status"] for c in report["checks"] if c["path"].startswith("nics")}
    assert nic == {"nic eth0 channels.rx": "ok", "nic eth0 channels.tx": "ok"}
    # the kernel-wide state is the machine's, untuned: the role does not judge it there
    assert report["drift"] and report["reboot_required"]
    # a container's network namespace has none of the global net.core sysctls
    assert host["sysctls"]["net.core.busy_poll"] is None
    assert facts("devvm_v1300")["sysctls"]["net.core.busy_poll"] is not None

"""The engine_host_facts module run end to end against fixture trees via ``root=``.

No command runs and no network address is contacted: ``run_command`` answers from
recorded ethtool outputs, and the metadata fetch is replaced by a stub (or must not be
called at all).
"""

from __future__ import annotations

import json
import socket

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.tradeops.platform.plugins.module_utils import host_facts
from ansible_collections.tradeops.platform.plugins.modules import engine_host_facts

from .hosts import HOSTS, fixture_runner


class Exited(Exception):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("tests must not open network connections")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(engine_host_facts, "open_url", refuse)


def run_module(monkeypatch, machine, **args):
    runner = fixture_runner(machine)
    calls = []

    def run_command(self, argv, **_kwargs):
        calls.append(list(argv))
        return runner(argv)

    def exit_json(self, **kwargs):
        raise Exited(kwargs)

    def fail_json(self, **kwargs):
        raise AssertionError(f"module failed: {kwargs}")

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(
        basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/sbin/ethtool"
    )
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    args = {"root": str(HOSTS / machine / "root"), **args}
    with patch_module_args(args), pytest.raises(Exited) as info:
        engine_host_facts.main()
    result = info.value.args[0]
    json.dumps(result)  # everything returned must be JSON-serialisable
    return result, calls


def test_c5n_18xlarge_through_root(monkeypatch):
    result, calls = run_module(monkeypatch, "c5n_18xlarge", ec2_metadata="never")
    facts = result["engine_host"]
    assert result["changed"] is False
    assert result["ansible_facts"]["tradeops_engine_host"] == facts
    assert facts["cpu"]["count"] == 72
    assert facts["cpu"]["cores"] == 36
    assert facts["cpu"]["siblings"][0] == "0,36"
    assert facts["numa"]["nodes"]["1"]["cpus"] == "18-35,54-71"
    assert facts["hugepages"]["supports_1g"] is True
    assert facts["hugepages"]["sizes"] == ["2M", "1G"]
    nic = facts["nics"]["ens5"]
    assert (nic["driver"], nic["version"], nic["numa_node"]) == ("ena", "2.7.2g", 0)
    assert nic["channels"]["max"]["combined"] == 32
    assert nic["rings"]["max"]["rx"] == 16384
    assert nic["coalesce"]["tx_usecs"] == 64
    assert nic["stats"]["bw_in_allowance_exceeded"] == 3241329
    assert nic["sriov"] is None
    assert facts["kernel"]["flags"]["no_hz_full"] is True
    assert facts["iommu"] == {"hardware": False, "enabled": False, "groups": 0, "units": []}
    assert facts["ec2"]["detected"] is True
    assert facts["ec2"]["queried"] is False
    assert facts["ec2"]["instance_type"] == "c5n.18xlarge"  # DMI product name
    assert facts["irq"]["irqs"]["28"]["name"] == "ens5-Tx-Rx-0"
    assert facts["sysctls"]["kernel.numa_balancing"] == "1"
    assert ["/usr/sbin/ethtool", "-S", "ens5"] in calls


def test_auto_queries_imds_only_on_ec2_and_only_on_this_host(monkeypatch):
    asked = []

    def fake_imds(timeout):
        asked.append(timeout)
        return {"instance_type": "c5n.18xlarge", "placement_group": "engines-cpg"}

    # A recorded EC2 tree: its DMI says Amazon EC2, but it is not the host the module runs
    # on, so auto sends no metadata request (it would go to this machine's link-local IMDS).
    monkeypatch.setattr(engine_host_facts, "imds_query", fake_imds)
    result, _calls = run_module(monkeypatch, "c5n_18xlarge", ec2_metadata_timeout=0.5)
    assert asked == []
    assert result["engine_host"]["ec2"]["detected"] is True
    assert result["engine_host"]["ec2"]["instance_type"] == "c5n.18xlarge"  # DMI product name
    result, _calls = run_module(monkeypatch, "c5n_18xlarge", ec2_metadata="always")
    assert asked == [1.0] and result["engine_host"]["ec2"]["placement_group"] == "engines-cpg"
    # On the host itself (root /) an EC2 DMI is what auto queries on.
    ec2_dmi = {"sys_vendor": "Amazon EC2", "product_name": "c5n.18xlarge"}
    monkeypatch.setattr(host_facts, "read_dmi", lambda reader: ec2_dmi)
    facts = host_facts.gather(root="/", imds=fake_imds, ethtool=None, ec2_timeout=0.5)
    assert asked == [1.0, 0.5]
    assert facts["ec2"]["queried"] is True
    monkeypatch.setattr(host_facts, "read_dmi", lambda reader: {"sys_vendor": "HPE"})
    host_facts.gather(root="/", imds=fake_imds, ethtool=None)
    assert asked == [1.0, 0.5]


def test_imds_failure_is_reported_not_fatal(monkeypatch):
    def broken(_timeout):
        raise OSError("timed out")

    monkeypatch.setattr(engine_host_facts, "imds_query", broken)
    result, _calls = run_module(monkeypatch, "c5n_metal", ec2_metadata="always")
    ec2 = result["engine_host"]["ec2"]
    assert ec2["queried"] is False
    assert ec2["error"] == "timed out"
    assert ec2["instance_type"] == "c5n.metal"


def test_real_imds_query_is_blocked_in_tests(monkeypatch):
    # proves the guard: the real fetcher would try the network and is refused
    with pytest.raises(AssertionError, match="network"):
        engine_host_facts.imds_query(0.1)


def test_baremetal_sriov_facts(monkeypatch):
    result, _calls = run_module(monkeypatch, "baremetal_sriov")
    facts = result["engine_host"]
    nic = facts["nics"]["ens3f0"]
    assert nic["driver"] == "i40e"
    assert nic["numa_node"] == 1
    assert nic["sriov"] == {"totalvfs": 64, "numvfs": 0}
    assert nic["channels"]["current"]["combined"] == 32
    assert facts["iommu"]["hardware"] is True
    assert facts["iommu"]["enabled"] is False
    assert facts["ptp_devices"] == ["/dev/ptp0"]
    assert facts["kernel"]["config_source"].startswith("/boot/config-4.18.0")


def test_lab_recorded_from_this_vm(monkeypatch):
    result, calls = run_module(monkeypatch, "lab", interfaces=["eth0", "veth0"], nic_stats=False)
    facts = result["engine_host"]
    assert facts["cpu"]["online"] == "0-1"
    assert facts["cpu"]["threads_per_core"] == 1
    assert facts["cpu"]["nohz_full_supported"] is False
    assert facts["kernel"]["config_source"] == "/proc/config.gz"
    assert facts["kernel"]["flags"]["no_hz_full"] is False
    assert facts["nics"]["veth0"]["driver"] == "veth"
    assert facts["nics"]["veth0"]["rings"] is None  # ethtool -g: Operation not supported
    assert facts["nics"]["veth0"]["has_device"] is False
    assert facts["ec2"]["detected"] is False
    assert not any(c[1] == "-S" for c in calls)


def test_default_interfaces_skip_virtual(monkeypatch):
    result, _calls = run_module(monkeypatch, "lab")
    assert sorted(result["engine_host"]["nics"]) == ["eth0"]


def test_empty_root_gives_empty_facts(monkeypatch, tmp_path):
    monkeypatch.setattr(engine_host_facts, "imds_query", lambda t: {})
    with patch_module_args({"root": str(tmp_path), "ec2_metadata": "never"}):
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, *a, **k: None)
        monkeypatch.setattr(
            basic.AnsibleModule, "exit_json", lambda self, **kw: (_x for _x in ()).throw(Exited(kw))
        )
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: None)
        with pytest.raises(Exited) as info:
            engine_host_facts.main()
    facts = info.value.args[0]["engine_host"]
    assert facts["cpu"]["count"] == 0
    assert facts["nics"] == {}
    assert facts["kernel"]["flags"] == {}

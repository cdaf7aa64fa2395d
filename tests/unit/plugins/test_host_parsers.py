"""Every parser on every recorded fixture (tests/unit/fixtures/hosts/*)."""

from __future__ import annotations

import gzip

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils import host_parsers as hp
from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import (
    format_cpulist,
    parse_cpulist,
)

from .hosts import HOSTS, MACHINES

NICS = {"c5n_18xlarge": "ens5", "c5n_metal": "enp39s0", "baremetal_sriov": "ens3f0", "lab": "eth0"}
EXPECTED = {
    # machine: (cpus, threads/core, sockets, node cpulists)
    "c5n_18xlarge": (72, 2, 2, {"0": "0-17,36-53", "1": "18-35,54-71"}),
    "c5n_metal": (72, 2, 2, {"0": "0-17,36-53", "1": "18-35,54-71"}),
    "baremetal_sriov": (64, 2, 2, {"0": "0-15,32-47", "1": "16-31,48-63"}),
    "lab": (2, 1, 1, {"0": "0-1"}),
}


def read(machine, rel):
    return (HOSTS / machine / rel).read_text()


@pytest.mark.parametrize("machine", MACHINES)
def test_lscpu_human(machine):
    summary = hp.lscpu_summary(hp.parse_lscpu(read(machine, "lscpu.txt")))
    cpus, tpc, sockets, nodes = EXPECTED[machine]
    assert summary["cpus"] == cpus
    assert summary["threads_per_core"] == tpc
    assert summary["sockets"] == sockets
    assert summary["numa_nodes"] == len(nodes)
    assert {k: format_cpulist(parse_cpulist(v)) for k, v in summary["node_cpus"].items()} == nodes
    assert "pdpe1gb" in summary["flags"]
    assert summary["cores_per_socket"] * sockets * tpc == cpus


@pytest.mark.parametrize("machine", MACHINES)
def test_lscpu_parse_matches_sysfs(machine):
    rows = hp.parse_lscpu_parse(read(machine, "lscpu_p.txt"))
    cpus, tpc, _sockets, nodes = EXPECTED[machine]
    assert [r["cpu"] for r in rows] == list(range(cpus))
    topo = hp.topology_from_rows(rows)
    assert {k: format_cpulist(v) for k, v in topo["nodes"].items()} == nodes
    assert {len(s) for s in topo["siblings"]} == {tpc}
    # the sysfs tree of the same machine says the same
    for group in topo["siblings"]:
        text = read(
            machine, f"root/sys/devices/system/cpu/cpu{group[0]}/topology/thread_siblings_list"
        )
        assert parse_cpulist(text) == frozenset(group)


def test_lscpu_extended_and_json_lab():
    rows = hp.parse_lscpu_extended(read("lab", "lscpu_e.txt"))
    assert rows == [
        {"cpu": 0, "node": 0, "socket": 0, "core": 0, "l1d:l1i:l2:l3": "0:0:0:0", "online": True},
        {"cpu": 1, "node": 0, "socket": 0, "core": 1, "l1d:l1i:l2:l3": "1:1:1:0", "online": True},
    ]
    fields = hp.parse_lscpu_json(read("lab", "lscpu_J.json"))
    summary = hp.lscpu_summary(fields)
    assert summary["cpus"] == 2
    assert summary["node_cpus"] == {"0": "0,1"}
    assert summary["hypervisor"] == "KVM"


def test_lscpu_json_nested_children():
    text = (
        '{"lscpu": [{"field": "CPU(s):", "data": "4", "children": '
        '[{"field": "On-line CPU(s) list:", "data": "0-3"}]}, '
        '{"field": "NUMA:", "data": null, "children": '
        '[{"field": "NUMA node0 CPU(s):", "data": "0-3"}]}]}'
    )
    fields = hp.parse_lscpu_json(text)
    assert fields["On-line CPU(s) list"] == "0-3"
    assert hp.lscpu_summary(fields)["node_cpus"] == {"0": "0-3"}


@pytest.mark.parametrize(
    ("machine", "driver", "version", "bus"),
    [
        ("c5n_18xlarge", "ena", "2.7.2g", "0000:00:05.0"),
        ("c5n_metal", "ena", "6.2.0-1017-aws", "0000:27:00.0"),
        ("baremetal_sriov", "i40e", "2.8.20-k", "0000:d8:00.0"),
        ("lab", "virtio_net", "1.0.0", "0000:00:03.0"),
    ],
)
def test_ethtool_driver(machine, driver, version, bus):
    info = hp.parse_ethtool_driver(read(machine, f"cmd/ethtool_-i_{NICS[machine]}.txt"))
    assert (info["driver"], info["version"], info["bus_info"]) == (driver, version, bus)
    assert info["supports_statistics"] is True


def test_ethtool_driver_veth():
    info = hp.parse_ethtool_driver(read("lab", "cmd/ethtool_-i_veth0.txt"))
    assert info["driver"] == "veth"
    assert info["bus_info"] == ""


@pytest.mark.parametrize(
    ("machine", "max_combined", "current_combined", "other"),
    [
        ("c5n_18xlarge", 32, 32, None),
        ("c5n_metal", 32, 32, None),
        ("baremetal_sriov", 64, 32, 1),
        ("lab", 1, 1, None),
    ],
)
def test_ethtool_channels(machine, max_combined, current_combined, other):
    ch = hp.parse_ethtool_channels(read(machine, f"cmd/ethtool_-l_{NICS[machine]}.txt"))
    assert ch["max"]["combined"] == max_combined
    assert ch["current"]["combined"] == current_combined
    assert ch["max"]["other"] == other
    assert ch["max"]["rx"] is None


def test_ethtool_channels_veth_and_old_ena_zeroes():
    ch = hp.parse_ethtool_channels(read("lab", "cmd/ethtool_-l_veth0.txt"))
    assert ch == {
        "max": {"rx": 2, "tx": 2, "other": None, "combined": None},
        "current": {"rx": 1, "tx": 1, "other": None, "combined": None},
    }
    # ENA driver 2.2.3 prints 0 for unsupported kinds (amzn-drivers#123)
    old = "Pre-set maximums:\nRX:\t\t0\nTX:\t\t0\nOther:\t\t0\nCombined:\t2\n"
    old += "Current hardware settings:\nRX:\t\t0\nTX:\t\t0\nOther:\t\t0\nCombined:\t1\n"
    assert hp.parse_ethtool_channels(old)["current"]["combined"] == 1
    assert hp.parse_ethtool_channels(old)["max"]["rx"] == 0


@pytest.mark.parametrize(
    ("machine", "max_rx", "max_tx", "cur_rx"),
    [
        ("c5n_18xlarge", 16384, 1024, 1024),
        ("c5n_metal", 16384, 1024, 1024),
        ("baremetal_sriov", 4096, 4096, 512),
        ("lab", 256, 256, 256),
    ],
)
def test_ethtool_rings(machine, max_rx, max_tx, cur_rx):
    rings = hp.parse_ethtool_rings(read(machine, f"cmd/ethtool_-g_{NICS[machine]}.txt"))
    assert rings["max"]["rx"] == max_rx
    assert rings["max"]["tx"] == max_tx
    assert rings["current"]["rx"] == cur_rx


def test_ethtool_rings_new_fields_lab():
    rings = hp.parse_ethtool_rings(read("lab", "cmd/ethtool_-g_eth0.txt"))
    assert rings["current"]["tx_push"] == "off"
    assert rings["max"]["rx_mini"] is None


@pytest.mark.parametrize(
    ("machine", "adaptive_rx", "adaptive_tx", "rx_usecs", "tx_usecs"),
    [
        ("c5n_18xlarge", False, None, 0, 64),
        ("c5n_metal", False, None, 0, 64),
        ("baremetal_sriov", True, True, 50, 50),
        ("lab", False, None, 0, 0),
    ],
)
def test_ethtool_coalesce(machine, adaptive_rx, adaptive_tx, rx_usecs, tx_usecs):
    co = hp.parse_ethtool_coalesce(read(machine, f"cmd/ethtool_-c_{NICS[machine]}.txt"))
    assert co["adaptive_rx"] is adaptive_rx
    assert co["adaptive_tx"] is adaptive_tx
    assert co["rx_usecs"] == rx_usecs
    assert co["tx_usecs"] == tx_usecs


def test_ethtool_coalesce_cqe_line():
    co = hp.parse_ethtool_coalesce(read("lab", "cmd/ethtool_-c_eth0.txt"))
    assert co["cqe_mode_rx"] is None
    assert co["stats_block_usecs"] is None


def test_ethtool_stats_ena_health():
    stats = hp.parse_ethtool_stats(read("c5n_18xlarge", "cmd/ethtool_-S_ens5.txt"))
    assert stats["bw_in_allowance_exceeded"] == 3241329
    assert stats["queue_0_rx_bytes"] == 64430725908
    health = hp.ena_health(stats)
    assert health["pps_allowance_exceeded"] == 784
    assert health["wd_expired"] == 0
    assert health["queue_stops"] == 0
    assert health["ena_srd_mode"] == 0


@pytest.mark.parametrize("machine", MACHINES)
def test_ethtool_stats_every_fixture(machine):
    stats = hp.parse_ethtool_stats(read(machine, f"cmd/ethtool_-S_{NICS[machine]}.txt"))
    assert stats
    assert all(isinstance(v, int) for v in stats.values())


def test_ethtool_stats_i40e_dotted_names():
    stats = hp.parse_ethtool_stats(read("baremetal_sriov", "cmd/ethtool_-S_ens3f0.txt"))
    assert stats["tx-0.packets"] == 244012
    assert stats["port.rx_dropped"] == 0


@pytest.mark.parametrize(
    ("machine", "ncpu", "queues", "first_queue_irq"),
    [
        ("c5n_18xlarge", 72, 32, 28),
        ("c5n_metal", 72, 32, 66),
        ("baremetal_sriov", 64, 32, 181),
    ],
)
def test_interrupts_nic_queues(machine, ncpu, queues, first_queue_irq):
    parsed = hp.parse_interrupts(read(machine, "root/proc/interrupts"))
    assert parsed["cpus"] == list(range(ncpu))
    irqs = hp.nic_queue_irqs(parsed, NICS[machine])
    assert len(irqs) == queues
    assert irqs[0] == first_queue_irq
    loc = next(e for e in parsed["irqs"] if e["irq"] == "LOC")
    assert len(loc["counts"]) == ncpu
    assert loc["name"] == "Local timer interrupts"
    err = next(e for e in parsed["irqs"] if e["irq"] == "ERR")
    assert err["counts"] == [0]


def test_interrupts_lab_real():
    parsed = hp.parse_interrupts(read("lab", "root/proc/interrupts"))
    assert parsed["cpus"] == [0, 1]
    by_irq = {e["irq"]: e for e in parsed["irqs"]}
    assert by_irq["38"]["name"] == "virtio2-input.0"
    assert by_irq["38"]["chip"] == "PCI-MSIX-0000:00:03.0"
    assert by_irq["38"]["hwirq"] == "1-edge"
    assert by_irq["26"]["name"] == "ttyS0"
    assert by_irq["LOC"]["numeric"] is False


def test_interrupts_published_shapes():
    # amzn-drivers#316 (ENA, chip per PCI function) and the old single-token chip column
    text = (
        "           CPU0       CPU1\n"
        " 65:       8362          0  PCI-MSIX-0000:27:00.0   0-edge   ena-mgmnt@pci:0000:27:00.0\n"
        " 66:        261          0  PCI-MSIX-0000:27:00.0   1-edge      enp39s0-Tx-Rx-0\n"
        " 90:          5          7   PCI-MSI-edge      eth0-TxRx-3\n"
        " 16:          0          0   IO-APIC  16-fasteoi   uhci_hcd:usb5, ahci[0000:02:00.0]\n"
        " 70:          1          2  IR-PCI-MSI 52955137-edge      ice-lan1-TxRx-0\n"
    )
    parsed = hp.parse_interrupts(text)
    names = {e["irq"]: e["name"] for e in parsed["irqs"]}
    assert names["65"] == "ena-mgmnt@pci:0000:27:00.0"
    assert names["90"] == "eth0-TxRx-3"
    assert names["16"] == "uhci_hcd:usb5, ahci[0000:02:00.0]"
    assert hp.nic_queue_irqs(parsed, "enp39s0") == [66]
    assert hp.nic_queue_irqs(parsed, "eth0") == [90]
    assert hp.nic_queue_irqs(parsed, "lan1") == [70]
    mlx = "  CPU0\n 99:  1  IR-PCI-MSI 1-edge  mlx5_comp0@pci:0000:af:00.0\n"
    assert hp.nic_queue_irqs(hp.parse_interrupts(mlx), "p3p1", "0000:af:00.0") == [99]


def test_cmdline():
    lab = hp.parse_cmdline(read("lab", "root/proc/cmdline"))
    assert "console=ttyS0" in lab
    assert "--firecracker-init" not in lab  # init arguments after "--"
    c5n = hp.parse_cmdline(read("c5n_18xlarge", "root/proc/cmdline"))
    assert c5n[0].startswith("BOOT_IMAGE=")
    assert "nvme_core.io_timeout=4294967295" in c5n
    assert hp.parse_cmdline('a b="x y" c') == ["a", "b=x y", "c"]
    assert hp.cmdline_key("isolcpus=managed_irq,2-5") == "isolcpus"
    assert hp.cmdline_key("quiet") == "quiet"


@pytest.mark.parametrize("machine", ["c5n_18xlarge", "c5n_metal", "baremetal_sriov"])
def test_kconfig_boot(machine):
    release = read(machine, "root/proc/sys/kernel/osrelease").strip()
    config = hp.parse_kconfig(read(machine, f"root/boot/config-{release}"))
    flags = hp.kernel_flags(config)
    assert flags["no_hz_full"] and flags["rcu_nocb_cpu"] and flags["net_rx_busy_poll"]
    assert flags["vfio_pci"] is True  # =m counts
    assert flags["preempt_rt"] is False
    assert config["CONFIG_PREEMPT_RT"] == "n"


def test_kconfig_lab_real_proc_config_gz():
    with gzip.open(HOSTS / "lab" / "root" / "proc" / "config.gz", "rt") as handle:
        config = hp.parse_kconfig(handle.read())
    flags = hp.kernel_flags(config)
    assert flags["no_hz_full"] is False  # this VM's kernel: "# CONFIG_NO_HZ_FULL is not set"
    assert flags["rcu_nocb_cpu"] is True
    assert flags["net_rx_busy_poll"] is True


@pytest.mark.parametrize("machine", MACHINES)
def test_node_meminfo(machine):
    info = hp.parse_meminfo(read(machine, "root/sys/devices/system/node/node0/meminfo"))
    assert info["MemTotal"] > info["MemFree"] > 0


def test_sizes_and_hugepage_dirs():
    assert hp.size_to_kb("2M") == 2048
    assert hp.size_to_kb("1G") == 1048576
    assert hp.size_to_kb("2048kB") == 2048
    assert hp.size_to_kb("1GB") == 1048576
    assert hp.size_to_kb(4096) == 4096
    assert hp.kb_to_size(2048) == "2M"
    assert hp.kb_to_size(1048576) == "1G"
    assert hp.kb_to_size(64) == "64K"
    assert hp.hugepage_dir_kb("hugepages-1048576kB") == 1048576
    for bad in ("2X", "", "G"):
        with pytest.raises(ValueError):
            hp.size_to_kb(bad)
    with pytest.raises(ValueError):
        hp.hugepage_dir_kb("hugepages-2M")


def test_small_files():
    assert hp.parse_thp(read("lab", "root/sys/kernel/mm/transparent_hugepage/enabled")) == "madvise"
    assert hp.parse_thp("[always] madvise never") == "always"
    assert (
        hp.parse_int_file(
            read("baremetal_sriov", "root/sys/class/net/ens3f0/device/sriov_totalvfs")
        )
        == 64
    )
    assert hp.parse_int_file("-1\n") == -1
    assert hp.parse_int_file("", None) is None
    flags = hp.cpuinfo_flags(read("c5n_18xlarge", "root/proc/cpuinfo"))
    assert "pdpe1gb" in flags and "hypervisor" in flags
    assert "hypervisor" not in hp.cpuinfo_flags(read("c5n_metal", "root/proc/cpuinfo"))

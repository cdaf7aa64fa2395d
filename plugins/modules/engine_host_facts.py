#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: engine_host_facts
short_description: Gather the CPU, memory, NIC and kernel facts that latency tuning depends on
version_added: "0.1.0"
description:
  - Reads an engine host's CPU topology (online CPUs, cores, hyperthread siblings, sockets,
    NUMA nodes with their CPUs and memory), hugepage sizes and per-node counts, 1G page
    support (the C(pdpe1gb) CPU flag), transparent hugepage mode, the kernel build options
    the tuning profile needs (C(CONFIG_NO_HZ_FULL), C(CONFIG_RCU_NOCB_CPU),
    C(CONFIG_NET_RX_BUSY_POLL), ...), IOMMU presence, the current kernel command line,
    IRQ affinities, selected sysctls, and per NIC the driver and version, NUMA node,
    channel, ring and coalescing settings (current and maximum) and SR-IOV totals.
  - On EC2 it also reads the instance type and placement group through IMDSv2 (a token
    C(PUT) to the link-local metadata address, with a short timeout). By default this
    happens only when the DMI vendor says C(Amazon EC2); see O(ec2_metadata).
  - Everything is read from files below O(root) (C(/sys), C(/proc), C(/boot)) and from
    C(ethtool); the module never changes the host.
  - The result is returned as C(engine_host) (and as the fact C(tradeops_engine_host));
    it is the input of the C(tradeops.platform.tuning_validate),
    C(tradeops.platform.tuning_render) and C(tradeops.platform.tuning_verify) filters.
author:
  - tradeops engineers (@tradeops)
requirements:
  - ethtool on the managed host (NIC facts are left empty without it).
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode behaves the same.
  diff_mode:
    support: none
    description: Nothing to diff.
  facts:
    support: full
    description: Returns C(tradeops_engine_host) in C(ansible_facts).
  platform:
    support: full
    platforms: posix
    description: Linux hosts (reads sysfs and procfs).
options:
  root:
    description:
      - Directory that every C(/sys), C(/proc) and C(/boot) path is taken below.
      - Meant for tests against a recorded fixture tree; leave it at C(/) on real hosts.
    type: path
    default: /
  interfaces:
    description:
      - Network interfaces to report.
      - When empty, every interface in C(/sys/class/net) that has a C(device) link
        (a physical or virtual PCI function, not a bridge, veth or loopback).
    type: list
    elements: str
    default: []
  nic_stats:
    description:
      - Also run C(ethtool -S); for ENA the allowance, reset and queue-stop counters are
        returned, for other drivers only the number of counters.
    type: bool
    default: true
  sysctls:
    description:
      - Dotted sysctl names to read from C(/proc/sys). Defaults to the ones the tuning
        profile manages.
    type: list
    elements: str
  ec2_metadata:
    description:
      - Whether to query the EC2 instance metadata service (IMDSv2).
      - C(auto) queries only when C(/sys/devices/virtual/dmi/id/sys_vendor) or
        C(board_vendor) is C(Amazon EC2) and O(root) is C(/) (a recorded host tree is not
        the host the module runs on, whose metadata service would answer); C(always)
        queries regardless; C(never) does not.
      - Without a query the instance type falls back to the DMI product name, which
        Nitro instances set to the instance type.
    type: str
    choices: [auto, always, never]
    default: auto
  ec2_metadata_timeout:
    description: Seconds to wait for each metadata request.
    type: float
    default: 1.0
"""

EXAMPLES = r"""
- name: Read the host facts that the tuning profile is validated against
  tradeops.platform.engine_host_facts:
  register: __engine_tuning_host
  check_mode: false
  changed_when: false

- name: Only the engine NIC, no metadata service
  tradeops.platform.engine_host_facts:
    interfaces: [ens5]
    ec2_metadata: never

- name: Run against a recorded fixture tree (unit tests, offline review)
  tradeops.platform.engine_host_facts:
    root: "{{ playbook_dir }}/../tests/unit/fixtures/hosts/c5n_18xlarge/root"
    ec2_metadata: never
  delegate_to: localhost
"""

RETURN = r"""
engine_host:
  description: Everything gathered; the same value is set as the fact C(tradeops_engine_host).
  returned: always
  type: dict
  contains:
    cpu:
      description: >-
        Online CPUs (cpulist), count, cores, threads_per_core, sockets, siblings (one
        cpulist per core), isolated and nohz_full CPUs as the running kernel reports
        them, model_name, vendor, flags.
      type: dict
      sample: {online: "0-71", count: 72, cores: 36, threads_per_core: 2, sockets: 2,
               siblings: ["0,36", "1,37"], isolated: "", nohz_full: ""}
    numa:
      description: NUMA nodes keyed by node number, each with cpus, mem_total_kb, mem_free_kb
        and hugepages (per size C(nr) and C(free)).
      type: dict
    hugepages:
      description: Supported sizes (C(2M), C(1G)), default_size, global counts, supports_1g,
        mem_total_kb.
      type: dict
    thp:
      description: Transparent hugepage mode (C(always), C(madvise) or C(never)).
      type: str
    nics:
      description: Per interface name, driver, version, firmware_version, bus_info,
        numa_node (-1 when the platform does not say), local_cpus, channels/rings (each
        C(max) and C(current)), coalesce, sriov (totalvfs, numvfs, or null) and stats.
      type: dict
    kernel:
      description: Release, where the build configuration was read, the relevant
        CONFIG_ values and boolean flags (no_hz_full, rcu_nocb_cpu, net_rx_busy_poll, ...).
      type: dict
    iommu:
      description: C(hardware) (DMAR/IVRS table or IOMMU units present), C(enabled) (IOMMU
        groups exist), group count and unit names.
      type: dict
    cmdline:
      description: The running kernel command line, raw and as tokens (init arguments
        after C(--) dropped).
      type: dict
    irq:
      description: C(default_smp_affinity) and per IRQ number its name,
        smp_affinity_list, effective_affinity_list and total count.
      type: dict
    sysctls:
      description: Value of each requested sysctl (whitespace normalised), null if absent.
      type: dict
    dmi:
      description: sys_vendor, board_vendor, product_name, board_asset_tag.
      type: dict
    ec2:
      description: C(detected) (DMI says EC2), C(queried) (IMDSv2 answered),
        instance_type, availability_zone, placement_group, error.
      type: dict
"""

import json  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.urls import open_url  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.host_facts import (  # noqa: E402
    DEFAULT_SYSCTLS,
    gather,
)

IMDS_BASE = "http://169.254.169.254/latest"


def imds_query(timeout):
    """IMDSv2: one token PUT, then a few GETs. Raises on any failure."""
    token = (
        open_url(
            IMDS_BASE + "/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
            timeout=timeout,
        )
        .read()
        .decode("utf-8")
    )
    headers = {"X-aws-ec2-metadata-token": token}

    def get(path, optional=False):
        try:
            return open_url(IMDS_BASE + path, headers=headers, timeout=timeout).read().decode()
        except Exception:
            if optional:
                return None
            raise

    doc = json.loads(get("/dynamic/instance-identity/document"))
    return {
        "instance_type": doc.get("instanceType"),
        "availability_zone": doc.get("availabilityZone"),
        "region": doc.get("region"),
        "instance_id": doc.get("instanceId"),
        # 404 when the instance is not in a placement group
        "placement_group": get("/meta-data/placement/group-name", optional=True),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", default="/"),
            interfaces=dict(type="list", elements="str", default=[]),
            nic_stats=dict(type="bool", default=True),
            sysctls=dict(type="list", elements="str"),
            ec2_metadata=dict(type="str", choices=["auto", "always", "never"], default="auto"),
            ec2_metadata_timeout=dict(type="float", default=1.0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    ethtool = module.get_bin_path("ethtool")

    def run(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"})

    facts = gather(
        root=p["root"],
        run=run,
        imds=imds_query,
        ethtool=ethtool,
        interfaces=p["interfaces"],
        ec2_metadata=p["ec2_metadata"],
        ec2_timeout=p["ec2_metadata_timeout"],
        sysctls=p["sysctls"] if p["sysctls"] is not None else list(DEFAULT_SYSCTLS),
        with_stats=p["nic_stats"],
    )
    warnings = []
    if not ethtool:
        warnings.append("ethtool not found: NIC driver, queue, ring and coalescing facts are empty")
    for warning in warnings:
        module.warn(warning)
    module.exit_json(
        changed=False,
        engine_host=facts,
        ansible_facts={"tradeops_engine_host": facts},
    )


if __name__ == "__main__":
    main()

"""The engine's placement (module_utils/engine_placement.py, filter engine_placement), as
roles/engine_deploy/tasks/preflight.yml decides it: the tuning profile's request narrowed to
what the host grants, with the reason for every refusal.

The expected values are the ones the preflight's Jinja produced before the rules moved to
Python (issue #20), word for word: left_out is the preflight's message, the unit's LEFT OUT
comments and placement.json's left_out.
"""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.tradeops.platform.plugins.filter.engine import (
    FilterModule,
    engine_placement,
)
from ansible_collections.tradeops.platform.plugins.module_utils.engine_placement import (
    bounding_set,
    nic_numa_node,
    placement,
    probe_values,
)
from ansible_collections.tradeops.platform.plugins.module_utils.plain import as_int
from ansible_collections.tradeops.platform.plugins.module_utils.tuning_profile import render

from .aws_specs import ROOT, register_collection_filters
from .hosts import host_facts, profile

CAP_BITS = yaml.safe_load((ROOT / "roles/engine_deploy/vars/main.yml").read_text())[
    "__engine_deploy_cap_bits"
]
# PID 1's CapBnd: a privileged host (every capability of a 6.x kernel) and a podman
# container with the default capabilities (no IPC_LOCK, SYS_ADMIN, SYS_NICE, SYS_RESOURCE).
PRIVILEGED = "000001ffffffffff"
CONTAINER = "00000000800405fb"
CHRT_DENIED = "chrt: failed to set pid 0's policy: Operation not permitted"
TUNING = {
    "name": "c5n_metal",
    "cpu": {"isolated": "2-17,38-53"},
    "hugepages": {"default_size": "1G"},
    "nics": [{"interface": "ens5"}],
}
HOST = {"nics": {"ens5": {"numa_node": 1}}}
ASK = {
    "cap_bits": CAP_BITS,
    "sched_policy": "fifo",
    "sched_priority": 50,
    "capabilities": ["CAP_IPC_LOCK"],
    "mlockall": True,
}


def _probe(capbnd=PRIVILEGED, rt="ok", hugepages="4"):
    return [f"capbnd={capbnd}", f"rt={rt}", f"hugepages={hugepages}"]


def _place(lines=None, tuning=None, host=None, **ask):
    return placement(
        _probe() if lines is None else lines,
        TUNING if tuning is None else tuning,
        HOST if host is None else host,
        **{**ASK, **ask},
    )


def test_a_host_that_grants_everything_runs_the_engine_as_the_profile_says():
    assert _place() == {
        "cpu_affinity": "2-17,38-53",
        "numa_node": 1,
        "profile": "c5n_metal",
        "sched_policy": "fifo",
        "sched_priority": 50,
        "capabilities": ["CAP_IPC_LOCK"],
        "memlock": True,
        "hugepages": True,
        "hugepage_size": "1G",
        "left_out": [],
    }


def test_an_unprivileged_container_leaves_out_what_it_cannot_grant_and_says_why():
    got = _place(_probe(CONTAINER, CHRT_DENIED, "0"), capabilities=["CAP_IPC_LOCK", "CAP_SYS_NICE"])
    assert got == {
        "cpu_affinity": "2-17,38-53",
        "numa_node": 1,
        "profile": "c5n_metal",
        "sched_policy": "other",
        "sched_priority": 0,
        "capabilities": [],
        "memlock": False,
        "hugepages": False,
        "hugepage_size": "1G",
        "left_out": [
            f"real-time scheduling (fifo): {CHRT_DENIED} - running SCHED_OTHER",
            "capability CAP_IPC_LOCK: not in the bounding set of PID 1 (unprivileged container?)",
            "capability CAP_SYS_NICE: not in the bounding set of PID 1 (unprivileged container?)",
            "memory locking: neither CAP_IPC_LOCK nor CAP_SYS_RESOURCE can be granted: "
            "mlockall is bound by the host RLIMIT_MEMLOCK",
            "hugepages: 0 x 1G pages reserved, CAP_SYS_ADMIN (to mount hugetlbfs) absent "
            "- no hugetlbfs buffer",
        ],
    }


@pytest.mark.parametrize(
    ("policy", "rt", "want"),
    [
        ("fifo", "ok", ("fifo", 50, [])),
        ("rr", "ok", ("rr", 50, [])),
        ("rr", "denied", ("other", 0, ["real-time scheduling (rr): denied - running SCHED_OTHER"])),
        # Not real-time: nothing to grant, the policy is kept and the priority is 0.
        ("other", "denied", ("other", 0, [])),
        ("batch", "denied", ("batch", 0, [])),
        ("batch", "ok", ("batch", 0, [])),
    ],
)
def test_scheduling(policy, rt, want):
    got = _place(_probe(rt=rt), sched_policy=policy)
    assert (got["sched_policy"], got["sched_priority"], got["left_out"]) == want


def test_a_probe_without_an_rt_line_reads_not_permitted():
    got = _place([f"capbnd={PRIVILEGED}", "hugepages=4"])
    assert got["left_out"] == ["real-time scheduling (fifo): not permitted - running SCHED_OTHER"]
    assert got["sched_policy"] == "other"


@pytest.mark.parametrize(
    ("caps", "memlock", "left_out"),
    [
        ({"CAP_IPC_LOCK"}, True, []),
        ({"CAP_SYS_RESOURCE"}, True, []),
        (
            {"CAP_SYS_NICE", "CAP_SYS_ADMIN"},
            False,
            [
                "memory locking: neither CAP_IPC_LOCK nor CAP_SYS_RESOURCE can be granted: "
                "mlockall is bound by the host RLIMIT_MEMLOCK"
            ],
        ),
    ],
)
def test_memory_locking_needs_ipc_lock_or_sys_resource(caps, memlock, left_out):
    mask = sum(CAP_BITS[c] for c in caps | {"CAP_SYS_ADMIN"})
    got = _place(_probe(f"{mask:016x}"), capabilities=[])
    assert (got["memlock"], got["left_out"]) == (memlock, left_out)
    # Not asked for: never refused.
    got = _place(_probe(f"{mask:016x}"), capabilities=[], mlockall=False)
    assert (got["memlock"], got["left_out"]) == (False, [])


@pytest.mark.parametrize(
    ("size", "pages", "admin", "hugepages", "left_out"),
    [
        ("1G", "4", True, True, []),
        (
            "2M",
            "512",
            False,
            False,
            [
                "hugepages: 512 x 2M pages reserved, CAP_SYS_ADMIN (to mount hugetlbfs) "
                "absent - no hugetlbfs buffer"
            ],
        ),
        (
            "1G",
            "0",
            True,
            False,
            [
                "hugepages: 0 x 1G pages reserved, CAP_SYS_ADMIN (to mount hugetlbfs) "
                "present - no hugetlbfs buffer"
            ],
        ),
        (
            "1G",
            "unreadable",
            True,
            False,
            [
                "hugepages: 0 x 1G pages reserved, CAP_SYS_ADMIN (to mount hugetlbfs) "
                "present - no hugetlbfs buffer"
            ],
        ),
        # A profile without hugepages asks for none.
        (None, "4", True, False, []),
        ("", "4", False, False, []),
    ],
)
def test_hugepages_need_reserved_pages_and_sys_admin(size, pages, admin, hugepages, left_out):
    mask = CAP_BITS["CAP_IPC_LOCK"] + (CAP_BITS["CAP_SYS_ADMIN"] if admin else 0)
    tuning = {**TUNING, "hugepages": {"default_size": size}}
    got = _place(_probe(f"{mask:x}", hugepages=pages), tuning)
    assert (got["hugepages"], got["hugepage_size"], got["left_out"]) == (hugepages, size, left_out)


@pytest.mark.parametrize(
    ("nics", "host", "node"),
    [
        (["ens5"], {"ens5": {"numa_node": 1}}, 1),
        (["ens5", "ens6"], {"ens5": {"numa_node": 1}, "ens6": {"numa_node": 1}}, 1),
        (["ens5", "ens6"], {"ens5": {"numa_node": 1}, "ens6": {"numa_node": 2}}, None),
        (["ens5", "ens6"], {"ens5": {"numa_node": 1}, "ens6": {"numa_node": -1}}, 1),
        (["ens5"], {"ens5": {"numa_node": -1}}, None),
        (["ens5"], {"ens5": {}}, None),
        (["ens5"], {"ens5": {"numa_node": None}}, None),
        (["ens5"], {}, None),
        ([], {"ens5": {"numa_node": 1}}, None),
        # Node 0 reads as "no node", as the role's Jinja read it (default(-1, true)).
        (["ens5"], {"ens5": {"numa_node": 0}}, None),
        (["ens5", "ens6"], {"ens5": {"numa_node": 0}, "ens6": {"numa_node": 1}}, 1),
    ],
)
def test_the_numa_node_is_the_nics_one_node(nics, host, node):
    tuning = {**TUNING, "nics": [{"interface": n} for n in nics]}
    assert nic_numa_node(tuning, {"nics": host}) == node
    assert nic_numa_node(tuning, {}) is None


def test_probe_lines():
    assert probe_values(["capbnd=00ff", "rt=chrt: a=b", "odd", "rt=ok"]) == {
        "capbnd": "00ff",
        "rt": "ok",
        "odd": "odd",
    }
    assert probe_values([]) == {}


@pytest.mark.parametrize(
    ("capbnd", "granted"),
    [
        (PRIVILEGED, set(CAP_BITS)),
        (CONTAINER, set()),
        ("4000", {"CAP_IPC_LOCK"}),
        ("0x1000000", {"CAP_SYS_RESOURCE"}),
        ("zz", set()),
        ("", set()),
    ],
)
def test_the_bounding_set_is_read_as_hex(capbnd, granted):
    assert {c for c, present in bounding_set(capbnd, CAP_BITS).items() if present} == granted


def test_int_as_jinja_reads_it():
    assert as_int("ff", base=16) == 255
    assert as_int("12") == 12
    assert as_int("1.5") == 1
    assert as_int("inf") == 0
    assert as_int(None) == 0


def test_the_shipped_profiles_on_their_recorded_hosts(machine):
    facts = host_facts(machine)
    tuning = render(profile(machine), facts)
    got = placement(_probe(), tuning, facts, **ASK)
    assert got["cpu_affinity"] == tuning["cpu"]["isolated"]
    assert got["profile"] == tuning["name"]
    assert got["left_out"] == []
    assert got["hugepages"] is bool(tuning["hugepages"]["default_size"])
    json.dumps(got)  # placement.json


def test_the_filter_and_its_documentation():
    assert engine_placement(_probe(), TUNING, HOST, **ASK) == _place()
    for name in FilterModule().filters():
        doc = yaml.safe_load((ROOT / "plugins/filter" / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name


# ---- the preflight, templated as Ansible does ---------------------------------------------
def _preflight():
    register_collection_filters()
    loader = DataLoader()
    path = ROOT / "roles/engine_deploy/tasks/preflight.yml"
    return loader, loader.load_from_file(str(path), trusted_as_template=True)


def _variables(lines, **extra):
    return {
        "__engine_deploy_probe": {"stdout_lines": lines},
        "engine_tuning_render": TUNING,
        "engine_tuning_host_facts": HOST,
        "__engine_deploy_cap_bits": CAP_BITS,
        "engine_deploy_sched_policy": "fifo",
        "engine_deploy_sched_priority": 50,
        "engine_deploy_capabilities": ["CAP_IPC_LOCK"],
        "engine_deploy_mlockall": True,
        "inventory_hostname": "engine-1",
        **extra,
    }


def test_the_preflight_decides_with_the_filter():
    loader, tasks = _preflight()
    task = next(t for t in tasks if t["name"] == "Preflight | decide the engine's placement")
    lines = _probe(CONTAINER, CHRT_DENIED, "0")
    templar = Templar(loader=loader, variables=_variables(lines))
    got = templar.template(task["ansible.builtin.set_fact"]["__engine_deploy_placement"])
    assert json.loads(json.dumps(got)) == _place(lines)


def test_the_preflight_lists_what_the_host_refused():
    loader, tasks = _preflight()
    task = next(t for t in tasks if t["name"].startswith("Preflight | stop when the host cannot"))
    refused = {"profile": "lab", "left_out": ["one - a", "two"]}
    templar = Templar(loader=loader, variables=_variables([], __engine_deploy_placement=refused))
    assert templar.template(task["ansible.builtin.assert"]["fail_msg"]) == (
        "engine-1 cannot run the engine as profile lab requires:\n"
        "- one - a\n"
        "- two\n"
        "Fix the host (engine_tuning reserves hugepages; run on a host whose systemd holds these\n"
        "capabilities) or, for a lab container only, set engine_deploy_require_placement: false."
    )

"""Boot-time tuning for real: engine_tuning on a qemu VM of Debian's own kernel.

The VM (4 vCPUs, two NUMA nodes) boots an overlay of the cached disk. The role, with the
VM's profile (vars.yml) and reboot allowed, writes GRUB's configuration, regenerates
grub.cfg, reboots through ansible.builtin.reboot and verifies against the running kernel.
This test then reads the same things itself, from the VM's /proc and /sys, and checks
that a second converge and a --check run change nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest

from ..support import ansible_env, run_playbook
from .vm import TIMINGS, VM, image

pytestmark = [
    pytest.mark.vm,
    pytest.mark.skipif(
        shutil.which("qemu-system-x86_64") is None or shutil.which("debootstrap") is None,
        reason="no qemu-system-x86_64 / debootstrap: ./dev setup installs them",
    ),
]

HERE = Path(__file__).parent
PLAYBOOK = str(HERE / "converge.yml")

# What vars.yml's profile must put on the running kernel of the 4-CPU, 2-node VM.
ISOLATED = "2-3"
HOUSEKEEPING = {0, 1}
WANTED_TOKENS = {
    "isolcpus=managed_irq,domain,2-3",
    "nohz_full=2-3",
    "rcu_nocbs=2-3",
    "irqaffinity=0-1",
    "default_hugepagesz=2M",
    "hugepagesz=2M",
    "hugepages=0:32,1:48",
    "transparent_hugepage=never",
}
PER_NODE_2M = {0: 32, 1: 48}
# The image's own arguments (lab/vm/build.sh's /etc/default/grub): the role must keep them.
IMAGE_TOKENS = {"console=ttyS0,115200", "net.ifnames=0"}


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tuning-vm")
    started = time.monotonic()
    img = image()
    machine = VM(img, workdir)
    machine.timings["image_cached"] = not img.built_now
    machine.timings["image_build_s"] = round(img.build_seconds, 1)
    machine.timings["host_load_1m_at_start"] = os.getloadavg()[0]
    try:
        machine.start()
        machine.timings["accel"] = machine.accel
        machine.timings["first_boot_s"] = round(machine.wait_for_ssh(), 1)
        yield machine
    finally:
        machine.timings["qemu_cpu_s"] = machine.cpu_seconds()
        machine.stop()
        machine.timings["total_s"] = round(time.monotonic() - started, 1)
        report = workdir / "timings.json"
        report.write_text(json.dumps(machine.timings, indent=2) + "\n")
        TIMINGS.clear()
        TIMINGS.update(machine.timings, report=str(report))
        print(f"\ntuning VM timings ({report}): {json.dumps(machine.timings)}")


def converge(vm: VM, name: str, *args: str) -> tuple[dict, float]:
    """Run converge.yml with the json callback; its parsed output and the seconds it took.

    The whole output is kept as <workdir>/<name>.json, with the slowest tasks in
    vm.timings["slowest"][name].
    """
    env = ansible_env(
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(vm.workdir / "facts"),
    )
    started = time.monotonic()
    proc = run_playbook(PLAYBOOK, "-i", str(vm.inventory()), *args, env=env)
    seconds = time.monotonic() - started
    (vm.workdir / f"{name}.json").write_text(proc.stdout)
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        out = None
    if out is not None:
        vm.timings.setdefault("slowest", {})[name] = slowest_tasks(out)
    assert proc.returncode == 0 and out is not None, (
        f"converge {args} failed ({proc.returncode}):\n{proc.stdout[-8000:]}\n"
        f"{proc.stderr[-3000:]}\n{vm.tail()}"
    )
    return out, seconds


def _seconds(task: dict) -> float:
    duration = task["task"]["duration"]  # no "end" on a task that did not finish
    if "start" not in duration or "end" not in duration:
        return 0.0
    start, end = (datetime.fromisoformat(duration[k]) for k in ("start", "end"))
    return (end - start).total_seconds()


def slowest_tasks(out: dict, count: int = 6) -> dict[str, float]:
    tasks = [t for play in out["plays"] for t in play["tasks"]]
    tasks.sort(key=_seconds, reverse=True)
    return {t["task"]["name"].split(" : ", 1)[-1]: round(_seconds(t), 1) for t in tasks[:count]}


def task_seconds(out: dict, prefix: str) -> float:
    """Seconds spent in the tasks whose name (without the role prefix) starts with prefix."""
    return round(
        sum(
            _seconds(t)
            for play in out["plays"]
            for t in play["tasks"]
            if t["task"]["name"].split(" : ", 1)[-1].startswith(prefix)
        ),
        1,
    )


def _name(task: dict) -> str:
    """A task's name without the "tradeops.platform.engine_tuning : " role prefix."""
    return task["task"]["name"].split(" : ", 1)[-1]


def task_result(out: dict, name: str) -> dict:
    for play in out["plays"]:
        for task in play["tasks"]:
            if _name(task) == name:
                return task["hosts"]["tuning-vm"]
    raise AssertionError(f"task {name!r} did not run")


def changed_tasks(out: dict) -> list[str]:
    return [
        _name(task)
        for play in out["plays"]
        for task in play["tasks"]
        if task["hosts"].get("tuning-vm", {}).get("changed")
    ]


def verify_report(out: dict) -> dict:
    """The role's verify report (the same data molecule, tradeops audit and metrics use)."""
    facts = task_result(out, "Verify | compare desired with actual")["ansible_facts"]
    return facts["engine_tuning_verify_report"]


KERNEL_VIEW = r"""
cat /proc/sys/kernel/random/boot_id
cat /proc/cmdline
echo "isolated=$(cat /sys/devices/system/cpu/isolated)"
echo "nohz_full=$(cat /sys/devices/system/cpu/nohz_full)"
echo "default_smp_affinity=$(cat /proc/irq/default_smp_affinity)"
echo "thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled)"
for f in /sys/devices/system/node/node[0-9]*/hugepages/hugepages-*/nr_hugepages; do
  echo "hugepages $f $(cat "$f")"
done
for d in /proc/irq/[0-9]*; do
  names=$(find "$d" -mindepth 1 -maxdepth 1 -type d -printf '%f,')
  [ -n "$names" ] && echo "irq ${d#/proc/irq/} $(cat "$d/smp_affinity_list") \
$(cat "$d/effective_affinity_list") ${names%,}"
done
"""


def kernel_view(vm: VM) -> dict:
    """What the running kernel says, read by the test itself (not by the role)."""
    lines = vm.ssh(KERNEL_VIEW).splitlines()
    view = {"boot_id": lines[0], "cmdline": set(lines[1].split()), "hugepages": {}, "irqs": {}}
    for line in lines[2:]:
        if line.startswith("hugepages "):
            # /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages 48
            _, path, count = line.split()
            parts = path.split("/")
            view["hugepages"][(int(parts[5][4:]), parts[7].split("-")[1])] = int(count)
        elif line.startswith("irq "):
            _, number, allowed, effective, names = line.split(" ", 4)
            view["irqs"][int(number)] = {
                "names": names,
                "allowed": parse_cpus(allowed),
                "effective": parse_cpus(effective),
            }
        else:
            key, _, value = line.partition("=")
            view[key] = value.strip()
    return view


def parse_cpus(text: str) -> set[int]:
    cpus: set[int] = set()
    for part in filter(None, text.strip().split(",")):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def test_boot_time_tuning_takes_effect_after_the_role_reboots(vm: VM):
    before = kernel_view(vm)
    assert not before["cmdline"] & WANTED_TOKENS, "the fresh image is already tuned"
    assert before["isolated"] == ""
    assert before["nohz_full"] in ("", "(null)")
    assert before["cmdline"] >= IMAGE_TOKENS
    assert all(count == 0 for count in before["hugepages"].values()), before["hugepages"]

    out, seconds = converge(vm, "converge-1")
    vm.timings["converge_with_reboot_s"] = round(seconds, 1)
    vm.timings["reboot_s"] = task_seconds(out, "Reboot | reboot into")
    vm.timings["role_verify_s"] = task_seconds(out, "Verify |")

    kargs = task_result(
        out, "Kernel args | write the profile's command line (owner of its keys, others untouched)"
    )
    assert kargs["changed"] and kargs["reboot_required"], kargs
    assert kargs["backend"] == "grub" and kargs["bootloader_updated"], kargs
    reboot = task_result(out, "Reboot | reboot into the tuned kernel command line")
    assert reboot["changed"] and reboot.get("rebooted"), reboot

    # The role's own verify read the running kernel after the reboot: no drift, and
    # nothing left pending.
    report = verify_report(out)
    assert report["status"] == "ok", report
    assert not report["drift"] and not report["reboot_required"], report
    checked = {c["name"]: c for c in report["checks"]}
    pending = [c for c in checked.values() if c["status"] == "reboot_pending"]
    assert not pending, pending
    for name in (
        "kernel_cmdline",
        "cpu_isolated",
        "cpu_nohz_full",
        "irq_default_affinity",
        "irq_affinity",
        "hugepages node0 2M",
        "hugepages node1 2M",
        "thp",
    ):
        assert checked.get(name, {}).get("status") == "ok", (
            name,
            checked.get(name),
            sorted(checked),
        )

    # The test's own reading of the running kernel.
    started = time.monotonic()
    after = kernel_view(vm)
    assert after["boot_id"] != before["boot_id"], "the VM did not reboot"
    assert after["cmdline"] >= WANTED_TOKENS, after["cmdline"]
    assert after["cmdline"] >= IMAGE_TOKENS, "the role dropped the image's own arguments"
    assert after["isolated"] == ISOLATED
    assert after["nohz_full"] == ISOLATED
    assert {k: v for k, v in after["hugepages"].items() if k[1] == "2048kB"} == {
        (node, "2048kB"): count for node, count in PER_NODE_2M.items()
    }, after["hugepages"]
    assert "[never]" in after["thp"]
    # irqaffinity=0-1: new IRQs default to CPUs 0-1, and every IRQ runs there, but
    # virtio-blk's per-CPU request queues (managed IRQs, each bound to its own CPU).
    assert int(after["default_smp_affinity"], 16) == 0b0011, after["default_smp_affinity"]
    for number, irq in after["irqs"].items():
        if re.fullmatch(r"virtio\d+-req\.\d+", irq["names"]):
            assert len(irq["allowed"]) == 1, (number, irq)
        elif irq["effective"]:
            assert irq["effective"] <= HOUSEKEEPING, (number, irq)
    grub_cfg = vm.ssh("cat /boot/grub/grub.cfg")
    assert "nohz_full=2-3" in grub_cfg and "### BEGIN /etc/grub.d/10_linux ###" in grub_cfg
    vm.timings["test_verify_s"] = round(time.monotonic() - started, 1)
    vm.timings["tuned_boot_id"] = after["boot_id"]


def test_second_converge_changes_nothing_and_does_not_reboot(vm: VM):
    boot_id = vm.timings.get("tuned_boot_id")
    if boot_id is None:
        pytest.skip("the first converge did not complete")
    out, seconds = converge(vm, "converge-2")
    vm.timings["second_converge_s"] = round(seconds, 1)
    assert out["stats"]["tuning-vm"]["changed"] == 0, changed_tasks(out)
    assert verify_report(out)["status"] == "ok", verify_report(out)
    assert kernel_view(vm)["boot_id"] == boot_id


def test_check_mode_on_the_tuned_vm_changes_nothing(vm: VM):
    boot_id = vm.timings.get("tuned_boot_id")
    if boot_id is None:
        pytest.skip("the first converge did not complete")
    before = vm.ssh(FINGERPRINT)
    out, seconds = converge(vm, "check", "--check", "--diff")
    vm.timings["check_s"] = round(seconds, 1)
    assert out["stats"]["tuning-vm"]["changed"] == 0, changed_tasks(out)
    assert out["stats"]["tuning-vm"]["failures"] == 0
    assert kernel_view(vm)["boot_id"] == boot_id
    assert vm.ssh(FINGERPRINT) == before, "--check changed files the role writes"


# What the role writes, hashed: --check must leave it as it is.
FINGERPRINT = (
    "cat /proc/cmdline; find /etc/default /boot/grub/grub.cfg /etc/sysctl.d /etc/systemd"
    " /etc/modprobe.d /etc/chrony -type f -newer /etc/hostname -print0 2>/dev/null"
    " | sort -z | xargs -0 sha256sum"
)

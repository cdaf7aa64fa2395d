"""A role's host_state watch list covers everything its converge writes, enables and installs.

The host_state check (module tradeops.platform.host_state) lets a role skip its converge
when nothing it manages moved since its last converge. That is only sound if the watch list
names every path, unit and package the converge tasks touch: this test renders both, the
tasks' own `dest:`/`path:`/`name:` and the role's watch variable, through the same role
variables, and fails on anything a task manages that the watch list does not name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]

FILE_MODULES = {
    "ansible.builtin.template",
    "ansible.builtin.copy",
    "ansible.builtin.file",
    "ansible.builtin.lineinfile",
    "ansible.posix.mount",
}

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


def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def role_templar(role: Path, **facts) -> Templar:
    variables = {}
    for name in ("defaults/main.yml", "vars/main.yml"):
        variables.update(yaml.safe_load((role / name).read_text()) or {})
    variables = trusted(variables)
    variables.update(role_path=str(role), **facts)
    return Templar(loader=DataLoader(), variables=variables)


def tasks(role: Path, skip: set[str]):
    for path in sorted((role / "tasks").glob("*.yml")):
        if path.name in skip:
            continue
        for task in yaml.safe_load(path.read_text()) or []:
            yield from task.get("block", [task]) if "block" in task else [task]


def managed(role: Path, templar: Templar, skip: set[str]):
    """What the converge tasks write (paths), enable or start (units) and install (packages)."""
    paths, units, packages, modules = set(), set(), set(), set()

    def render(value, item=None):
        if item is not None:
            templar.available_variables = {**templar.available_variables, "item": item}
        return templar.template(trusted(value))

    for task in tasks(role, skip):
        module = next(
            (k for k in task if "." in k and k.startswith(("ansible.", "tradeops."))), None
        )
        if module is None:
            continue
        modules.add(module)
        args = task[module] or {}
        loop = render(task["loop"]) if "loop" in task else [None]
        for item in loop:
            if module in FILE_MODULES:
                paths.add(render(args.get("dest") or args.get("path"), item))
            elif module == "ansible.builtin.systemd_service" and "name" in args:
                units.add(render(args["name"], item))
            elif module == "ansible.builtin.package":
                packages.update(render(args["name"], item))
    return paths, units, packages, modules


CASES = {
    # role: (watch variable, task files that are not the converge: the check itself, and
    # verify, which runs on settled hosts too and rewrites its metrics file every run)
    "engine_tuning": (
        "__engine_tuning_watch",
        {
            "state.yml",
            "record.yml",
            "verify.yml",
            "latency_gate.yml",
            "preflight.yml",
            "render.yml",
        },
        dict(
            engine_tuning_render=RENDER,
            __engine_tuning_profile={"latency_gate": {"enabled": True}},
            __engine_tuning_live=True,
            ansible_facts={"os_family": "Debian"},
        ),
    ),
}


@pytest.mark.parametrize("role_name", sorted(CASES))
def test_the_watch_list_names_everything_the_converge_manages(role_name):
    role = ROOT / "roles" / role_name
    watch_var, skip, facts = CASES[role_name]
    templar = role_templar(role, **facts)
    watch = templar.template(trusted("{{ " + watch_var + " }}"))
    paths, units, packages, modules = managed(role, templar, skip)

    assert paths, "no file task found: the test would pass on anything"
    assert paths <= set(watch["files"]), (
        f"written but not watched: {sorted(paths - set(watch['files']))}"
    )
    assert units <= set(watch["units"]), (
        f"managed but not watched: {sorted(units - set(watch['units']))}"
    )
    assert set(packages) == set(watch["packages"])
    if "tradeops.platform.kernel_args" in modules:
        assert {"/etc/default/grub", "/etc/default/grub.d/*.cfg", "/boot/grub/grub.cfg"} <= set(
            watch["files"]
        )
    # live runs watch what they set in /proc and the mounts
    assert set(watch["sysctls"]) == set(RENDER["sysctls"])
    assert watch["mounts"] == [RENDER["hugepages"]["mount"]]


def test_the_test_sees_a_path_missing_from_the_watch_list(tmp_path):
    """The comparison fails when a converge task writes a path the watch list lacks."""
    role = tmp_path / "r"
    for d in ("tasks", "defaults", "vars"):
        (role / d).mkdir(parents=True)
    (role / "defaults/main.yml").write_text("r_dir: /etc/r\n")
    (role / "vars/main.yml").write_text(
        "__r_watch: {files: ['{{ r_dir }}/a.conf'], units: [], packages: []}\n"
    )
    (role / "tasks/main.yml").write_text(
        "- name: A\n  ansible.builtin.copy: {dest: '{{ r_dir }}/a.conf', content: x}\n"
        "- name: B\n  ansible.builtin.template: {dest: '{{ r_dir }}/b.conf', src: b.j2}\n"
    )
    templar = role_templar(role)
    watch = templar.template(trusted("{{ __r_watch }}"))
    paths = managed(role, templar, set())[0]
    assert paths - set(watch["files"]) == {"/etc/r/b.conf"}

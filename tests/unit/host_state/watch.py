"""A role's host_state watch list covers everything its converge writes, enables and installs.

The host_state check (module tradeops.platform.host_state) lets a role skip its converge
when nothing it manages moved since its last converge. That is only sound if the watch list
names every path, unit and package the converge tasks touch: `uncovered` renders both, the
tasks' own `dest:`/`path:`/`name:` and the role's watch variable, through the same role
variables, and returns what a task manages that the watch list does not name. One test file
per role (test_<role>.py) gives it the role's facts and the task files that are not its
converge.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[3]

FILE_MODULES = {
    "ansible.builtin.template",
    "ansible.builtin.copy",
    "ansible.builtin.file",
    "ansible.builtin.lineinfile",
    "ansible.posix.mount",
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
            elif module in ("ansible.builtin.package", "ansible.builtin.apt"):
                names = render(args["name"], item)
                packages.update([names] if isinstance(names, str) else names)
    return paths, units, packages, modules


def uncovered(role_name: str, skip: set[str], imported: frozenset[str] = frozenset(), **facts):
    """(watch, what the converge manages that the watch list does not name)."""
    role = ROOT / "roles" / role_name
    templar = role_templar(role, **facts)
    watch = templar.template(trusted("{{ __" + role_name + "_watch }}"))
    paths, units, packages, modules = managed(role, templar, skip)
    assert paths, "no file task found: the comparison would pass on anything"
    paths |= set(imported)
    missing = {
        "files": sorted(paths - set(watch.get("files") or [])),
        "units": sorted(units - set(watch.get("units") or [])),
        "packages": sorted(set(packages) - set(watch.get("packages") or [])),
    }
    if "tradeops.platform.kernel_args" in modules:
        grub = {"/etc/default/grub", "/etc/default/grub.d/*.cfg", "/boot/grub/grub.cfg"}
        missing["files"] += sorted(grub - set(watch["files"]))
    return watch, {kind: items for kind, items in missing.items() if items}

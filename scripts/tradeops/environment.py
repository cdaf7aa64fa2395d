"""Which environment an inventory is, and whether it is protected: one answer.

The inventory says both, one variable each, in its `group_vars/all` (the YAML files there,
read as literal values by history.inventory_vars, never templated):

- `tradeops_environment`: the environment's name. It tags every AWS resource, and the CLI
  uses it for `--confirm <name>`, `--confirm <name>:<region>` (dr, as the DR runbooks
  check `dr_confirm`), the run history's `env:` label, the fact cache and the compliance
  bucket. Without it (or when it is a template the CLI cannot evaluate): the inventory
  directory's name.
- `tradeops_protected`: true for an environment that only changes with `--confirm <name>`
  (`tradeops run`, non-check), whose run records are shipped to its compliance bucket,
  and which the teardown (roles aws_teardown, aws_backup) and the DR drill refuse.

When `tradeops_protected` is not there (or is not a literal true/false), the answer is
fail-safe: protected, as the roles answer (`tradeops_protected | default(true)`), for any
inventory that names its environment (`tradeops_environment`). An inventory with neither
variable is not one of the platform's environments (an ad-hoc inventory, such as one
listing only the controller): it is not protected, unless a file of its group_vars/all
cannot be read here (vault-encrypted, not YAML) and might say otherwise. The reason of
each answer is kept (`name_reason`, `protection_reason`) so that a refusal can say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .history import inventory_vars

NAME_VAR = "tradeops_environment"
PROTECTED_VAR = "tradeops_protected"
# What Ansible's `bool` filter reads as true / false (lower-cased strings).
TRUE_WORDS = frozenset({"true", "yes", "on", "1", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "off", "0", "n", "f"})


@dataclass(frozen=True)
class Environment:
    name: str
    protected: bool
    name_reason: str
    protection_reason: str


def vars_dir(inventory: Path) -> Path:
    """The group_vars/all directory inventory_vars reads (for messages)."""
    base = inventory if inventory.is_dir() else inventory.parent
    return base / "group_vars" / "all"


def directory_name(inventory: Path) -> str:
    """The inventory directory's name (of a file's directory for a file)."""
    return inventory.name if inventory.is_dir() else inventory.parent.name


def literal_bool(value: Any) -> bool | None:
    """true/false as Ansible's `bool` filter reads a literal value; None otherwise (a
    template, a list, a word it does not know)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def of(inventory: Path) -> Environment:
    """The environment of an inventory (a directory, or a file in one)."""
    values = inventory_vars(inventory)
    where = vars_dir(inventory)
    fallback = directory_name(inventory)

    given = values.get(NAME_VAR)
    if isinstance(given, str) and given.strip() and "{{" not in given and "{%" not in given:
        name = given.strip()
        name_reason = f"{NAME_VAR}: {name} in {where}"
    elif NAME_VAR in values:
        name = fallback
        name_reason = (
            f"{NAME_VAR} in {where} is {given!r}, not a literal name: the inventory "
            f"directory's name, {fallback}"
        )
    else:
        name = fallback
        name_reason = f"no {NAME_VAR} in {where}: the inventory directory's name, {fallback}"

    if PROTECTED_VAR in values:
        flag = literal_bool(values[PROTECTED_VAR])
        if flag is None:
            protected = True
            protection_reason = (
                f"{PROTECTED_VAR} in {where} is {values[PROTECTED_VAR]!r}, not a literal "
                "true/false: treated as protected"
            )
        else:
            protected = flag
            protection_reason = f"{PROTECTED_VAR}: {str(flag).lower()} in {where}"
    elif NAME_VAR in values:
        protected = True
        protection_reason = (
            f"{where} names the environment but has no {PROTECTED_VAR}: treated as "
            f"protected until it says {PROTECTED_VAR}: false"
        )
    elif hidden := unreadable_vars_files(inventory):
        protected = True
        protection_reason = (
            f"no {NAME_VAR} or {PROTECTED_VAR} readable in {where}, and "
            f"{', '.join(p.name for p in hidden)} cannot be read here (vault-encrypted or "
            "not YAML): treated as protected"
        )
    else:
        protected = False
        protection_reason = (
            f"no {NAME_VAR} and no {PROTECTED_VAR} in {where}: not one of the platform's "
            "environments, not protected"
        )
    return Environment(name, protected, name_reason, protection_reason)


def unreadable_vars_files(inventory: Path) -> list[Path]:
    """The group_vars/all files inventory_vars skips (vault-encrypted, not YAML, not
    readable): they may say what the CLI cannot see."""
    base = inventory if inventory.is_dir() else inventory.parent
    directory = base / "group_vars" / "all"
    candidates = sorted(directory.glob("*.y*ml")) if directory.is_dir() else []
    candidates += [p for p in (base / "group_vars" / "all.yml",) if p.is_file()]
    hidden = []
    for path in candidates:
        try:
            text = path.read_text()
            if text.lstrip().startswith("$ANSIBLE_VAULT"):
                hidden.append(path)
                continue
            yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            hidden.append(path)
    return hidden


def name_of(inventory: Path) -> str:
    return of(inventory).name

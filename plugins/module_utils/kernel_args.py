# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel command line as a set of arguments with one owner.

The owner (a role, through the ``tradeops.platform.kernel_args`` module) says which
argument *keys* it owns (``isolcpus``, ``hugepages``, ...) and which tokens it wants, in
order. Tokens whose key is owned but which are not wanted are removed; every other
argument on the line is left alone. The owned tokens are kept as one ordered block,
because some of them are order-sensitive (``hugepagesz=2M hugepages=64 hugepagesz=1G
hugepages=16``): when the owned tokens of a line are not exactly the wanted list, all of
them are removed and the wanted list is appended.

Backends:

- ``grub`` (Debian/Ubuntu): a drop-in ``/etc/default/grub.d/<name>.cfg`` that appends the
  wanted tokens to ``GRUB_CMDLINE_LINUX`` (sourced after ``/etc/default/grub``), plus
  removal of owned tokens from the ``GRUB_CMDLINE_LINUX[_DEFAULT]`` assignments of
  ``/etc/default/grub`` and the other drop-ins; or (``dropin=False``) the same edit made
  in ``GRUB_CMDLINE_LINUX`` of ``/etc/default/grub`` itself. Then ``update-grub``.
- ``grubby`` (RHEL family, Amazon Linux, BLS): ``grubby --update-kernel=ALL`` with
  ``--remove-args`` / ``--args``, and the same edit in ``/etc/default/grub`` (no drop-in
  directory there) so kernels installed later inherit the arguments.

Everything here is pure text handling plus an injected ``run`` callable, so it is tested
on fixture files without touching a bootloader.
"""

from __future__ import annotations

import os
import re
import shlex

CMDLINE_VARS = ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")
ASSIGN_RE = re.compile(
    r"^(?P<lead>\s*(?:export\s+)?)(?P<var>GRUB_CMDLINE_LINUX(?:_DEFAULT)?)="
    r"(?P<q>[\"']?)(?P<val>.*?)(?P=q)(?P<trail>\s*(?:#.*)?)$"
)
LINUX_LINE_RE = re.compile(r"^\s*linux(?:efi|16)?\s+\S+\s*(?P<args>.*)$")


class KernelArgsError(Exception):
    pass


def arg_key(token):
    """``"isolcpus=domain,2-5"`` -> ``"isolcpus"``; ``"nosoftlockup"`` -> itself."""
    return token.split("=", 1)[0]


def owned_set(owned_keys, desired):
    return set(owned_keys or ()) | {arg_key(t) for t in desired}


def owned_tokens(tokens, owned):
    return [t for t in tokens if arg_key(t) in owned]


def compare(tokens, desired, owned):
    """-> ``(missing, stale)``: wanted tokens not on ``tokens``; owned tokens not wanted."""
    tokens = list(tokens)
    want = set(desired)
    missing = [t for t in desired if t not in tokens]
    stale = [t for t in tokens if arg_key(t) in owned and t not in want]
    return missing, stale


def in_effect(tokens, desired, owned):
    """True when the owned tokens of ``tokens`` are exactly ``desired``, in order."""
    return owned_tokens(tokens, owned) == list(desired)


def rewrite_tokens(tokens, desired, owned, append=True):
    """Tokens with the owned block replaced by ``desired`` (or only stripped)."""
    tokens = list(tokens)
    if append and in_effect(tokens, desired, owned):
        return tokens
    kept = [t for t in tokens if arg_key(t) not in owned]
    return kept + list(desired) if append else kept


def split_value(value):
    return value.split()


def edit_defaults_text(text, desired, owned, append_var=None):
    """Edit the ``GRUB_CMDLINE_LINUX[_DEFAULT]`` assignments of a grub defaults file.

    Owned tokens are removed from every assignment; when ``append_var`` is given, its
    (last) assignment gets the ``desired`` block, and the assignment is added at the end
    of the file when there is none. Lines that only reference another variable keep it.
    """
    lines = text.splitlines()
    targets = [i for i, line in enumerate(lines) if ASSIGN_RE.match(line)]
    last_append = None
    if append_var:
        hits = [i for i in targets if ASSIGN_RE.match(lines[i]).group("var") == append_var]
        last_append = hits[-1] if hits else None
    for i in targets:
        m = ASSIGN_RE.match(lines[i])
        tokens = split_value(m.group("val"))
        new = rewrite_tokens(tokens, desired, owned, append=(i == last_append))
        if new != tokens:
            quote = m.group("q") or '"'
            lines[i] = f"{m.group('lead')}{m.group('var')}={quote}{' '.join(new)}{quote}" + (
                m.group("trail") or ""
            )
    if append_var and last_append is None and desired:
        lines.append(f'{append_var}="{" ".join(desired)}"')
    out = "\n".join(lines)
    return out + "\n" if lines else out


def dropin_text(desired, owner, owned):
    if not desired:
        return None
    return (
        f"# Managed by Ansible: tradeops.platform.kernel_args (owner: {owner}). Do not edit;\n"
        f"# change the owner's profile instead. Keys owned: {' '.join(sorted(owned))}\n"
        f'GRUB_CMDLINE_LINUX="${{GRUB_CMDLINE_LINUX}} {" ".join(desired)}"\n'
    )


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def grub_plan(desired, owned, owner, defaults_file, dropin_dir, dropin_name, dropin=True):
    """-> list of ``{path, before, after}`` file changes (``after`` None = delete)."""
    changes = []
    dropin_path = os.path.join(dropin_dir, dropin_name)
    main = read(defaults_file)
    if main is None and not dropin:
        raise KernelArgsError(
            f"{defaults_file} does not exist: is GRUB installed? (or use the drop-in mode)"
        )
    if main is not None:
        after = edit_defaults_text(
            main, desired, owned, append_var=None if dropin else "GRUB_CMDLINE_LINUX"
        )
        if after != main:
            changes.append({"path": defaults_file, "before": main, "after": after})
    if os.path.isdir(dropin_dir):
        for name in sorted(os.listdir(dropin_dir)):
            path = os.path.join(dropin_dir, name)
            if name == dropin_name or not name.endswith(".cfg") or not os.path.isfile(path):
                continue
            text = read(path)
            after = edit_defaults_text(text, desired, owned)
            if after != text:
                changes.append({"path": path, "before": text, "after": after})
    current = read(dropin_path)
    wanted = dropin_text(desired, owner, owned) if dropin else None
    if current != wanted:
        changes.append({"path": dropin_path, "before": current, "after": wanted})
    return changes


def grub_cfg_tokens(text):
    """Arguments of the first ``linux`` line of a generated grub.cfg (the default entry
    on a stock configuration), or None when there is none."""
    for line in (text or "").splitlines():
        m = LINUX_LINE_RE.match(line)
        if m:
            return shlex.split(m.group("args"), posix=False)
    return None


def parse_grubby_info(text):
    """``grubby --info=ALL`` -> list of ``{index, kernel, args}`` (args as tokens)."""
    entries = []
    current = None
    for line in (text or "").splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key == "index":
            current = {"index": int(value) if value.isdigit() else value}
            entries.append(current)
        elif current is not None and key in ("kernel", "args", "title"):
            current[key] = value.split() if key == "args" else value
    return [e for e in entries if "args" in e]


def apply_changes(changes):
    for change in changes:
        path = change["path"]
        if change["after"] is None:
            if os.path.exists(path):
                os.unlink(path)
            continue
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = path + ".tradeops.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(change["after"])
        mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host role left on a host, and whether all of it is still there.

A role that converged a host records, at its end, a *fingerprint* of everything it manages
there (the files and directories it writes, the units it enables or starts, the packages it
installs, the live sysctls and mounts it sets) together with a digest of its *inputs* (its
options, its own source, its rendered desired state). On the next run one call compares the
host with that record: when the inputs are the same and no watched item differs, nothing
the role would do can change anything, and the role skips its converge tasks. Any
difference (a hand edit, a stopped service, a removed package, a new option value, a new
collection version) sends the role through its normal converge, which repairs it and
records again. The check never decides what the desired state is: it only proves that
nothing moved since the role last converged and verified the host.

Item keys are ``kind:name`` (``file:/etc/x``, ``glob:/etc/grub.d/*.cfg``, ``unit:x.service``,
``package:chrony``, ``sysctl:vm.swappiness``, ``mount:/mnt/huge``, ``user:engine``,
``group:engine``); values are short strings.
Everything here is pure apart from the file reads, with commands run by an injected
``run(argv) -> (rc, stdout, stderr)``, so it is tested on temporary trees.
"""

from __future__ import annotations

import glob
import grp
import hashlib
import json
import os
import pwd
import stat

ABSENT = "absent"
GLOB_CHARS = frozenset("*?[")
RECORD_VERSION = 1
UNIT_PROPERTIES = ("LoadState", "UnitFileState", "ActiveState")


def file_print(path):
    """A file's identity: type, mode, owner and (regular files) a digest of the content."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ABSENT
    meta = f"{stat.S_IMODE(st.st_mode):04o} {st.st_uid}:{st.st_gid}"
    if stat.S_ISLNK(st.st_mode):
        return f"link {os.readlink(path)}"
    if stat.S_ISDIR(st.st_mode):
        return f"directory {meta}"
    if not stat.S_ISREG(st.st_mode):
        return f"special {meta}"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return f"file {meta} sha256:{digest.hexdigest()}"


def files_print(paths):
    """Files and globs; a glob records which names it matches and each match."""
    items = {}
    for path in paths:
        if GLOB_CHARS.intersection(path):
            matches = sorted(glob.glob(path))
            items[f"glob:{path}"] = " ".join(matches) or ABSENT
            for match in matches:
                items[f"file:{match}"] = file_print(match)
        else:
            items[f"file:{path}"] = file_print(path)
    return items


def sysctls_print(keys, proc="/proc"):
    items = {}
    for key in keys:
        path = os.path.join(proc, "sys", *key.split("."))
        try:
            with open(path, encoding="utf-8") as handle:
                items[f"sysctl:{key}"] = " ".join(handle.read().split())
        except OSError:
            items[f"sysctl:{key}"] = ABSENT
    return items


def mounts_print(paths, mounts_text):
    """What is mounted at each path (source, type, options), from /proc/self/mounts."""
    mounted = {}
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            mounted[fields[1]] = " ".join(fields[0:1] + fields[2:4])
    return {f"mount:{path}": mounted.get(path.rstrip("/") or "/", ABSENT) for path in paths}


def accounts_print(users, groups):
    """System users (uid, primary gid, home, shell) and groups (gid, members)."""
    items = {}
    for name in users:
        try:
            entry = pwd.getpwnam(name)
            items[f"user:{name}"] = f"{entry.pw_uid} {entry.pw_gid} {entry.pw_dir} {entry.pw_shell}"
        except KeyError:
            items[f"user:{name}"] = ABSENT
    for name in groups:
        try:
            entry = grp.getgrnam(name)
            items[f"group:{name}"] = f"{entry.gr_gid} {','.join(sorted(entry.gr_mem))}".strip()
        except KeyError:
            items[f"group:{name}"] = ABSENT
    return items


def parse_systemctl_show(text, names):
    """``systemctl show -p ... a b c``: one block per unit, in the order asked."""
    blocks = text.strip("\n").split("\n\n") if text.strip() else []
    if len(blocks) != len(names):
        raise ValueError(f"systemctl show gave {len(blocks)} blocks for {len(names)} units")
    items = {}
    for name, block in zip(names, blocks, strict=True):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        items[f"unit:{name}"] = " ".join(props.get(p, "") or "-" for p in UNIT_PROPERTIES)
    return items


def units_print(names, run):
    if not names:
        return {}
    argv = ["systemctl", "show", "--no-pager", "-p", ",".join(UNIT_PROPERTIES), "--", *names]
    rc, out, err = run(argv)
    if rc != 0:
        raise RuntimeError(f"{' '.join(argv)} failed (rc {rc}): {err.strip()}")
    return parse_systemctl_show(out, names)


def parse_package_list(text, names):
    """Tab-separated ``name, version, status`` lines; a package not listed is absent."""
    found = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[2].strip() == "installed":
            found[fields[0].split(":")[0]] = fields[1]
    return {f"package:{name}": found.get(name, ABSENT) for name in names}


def packages_print(names, run, which):
    if not names:
        return {}
    if which("dpkg-query"):
        argv = [
            "dpkg-query",
            "-W",
            "-f=${Package}\t${Version}\t${db:Status-Status}\n",
            "--",
            *names,
        ]
    elif which("rpm"):
        argv = ["rpm", "-q", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\tinstalled\n", "--", *names]
    else:
        raise RuntimeError("neither dpkg-query nor rpm is installed: cannot read packages")
    # Both exit non-zero when a package is missing; the listing still holds the others.
    out = run(argv)[1]
    return parse_package_list(out, names)


def fingerprint(watch, run, which, proc="/proc"):
    """Every watched item's current value (see the module's ``watch`` option)."""
    items = files_print(watch.get("files") or [])
    items.update(units_print(watch.get("units") or [], run))
    items.update(packages_print(watch.get("packages") or [], run, which))
    items.update(sysctls_print(watch.get("sysctls") or [], proc))
    items.update(accounts_print(watch.get("users") or [], watch.get("groups") or []))
    if watch.get("mounts"):
        with open(os.path.join(proc, "self", "mounts"), encoding="utf-8") as handle:
            items.update(mounts_print(watch["mounts"], handle.read()))
    return items


def differences(record, inputs, items):
    """Why the host is not as the role left it ([] when it is)."""
    if not record:
        return ["no record of an earlier converge on this host"]
    if record.get("version") != RECORD_VERSION:
        return ["the record is of another version of the check"]
    if record.get("inputs") != inputs:
        return ["the role's inputs changed (options, profile, or the collection's role files)"]
    before = record.get("items") or {}
    reasons = []
    for key in sorted(set(before) | set(items)):
        old, new = before.get(key), items.get(key)
        if key not in before:
            reasons.append(f"{key} is watched now but was not at the last converge")
        elif key not in items:
            reasons.append(f"{key} is no longer watched")
        elif old != new:
            reasons.append(f"{key} changed since the last converge: {old} -> {new}")
    return reasons


def record_path(directory, name):
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"not a record name: {name!r}")
    return os.path.join(directory, f"{name}.json")


def read_record(path):
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def record_text(inputs, items):
    return (
        json.dumps(
            {"version": RECORD_VERSION, "inputs": inputs, "items": items}, indent=1, sort_keys=True
        )
        + "\n"
    )


def write_record(path, text):
    """Atomically, readable by root only (it names the role's files, not their content)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)

# Copyright: tradeops engineers
# Apache License 2.0 (see galaxy.yml)
"""CPU list arithmetic for host tuning.

Kernel cpulist syntax (``0-3,8,10-11``, with the ``a-b:used/group`` stride form of
``Documentation/admin-guide/kernel-parameters.rst``), hex affinity masks as written in
``/proc/irq/*/smp_affinity`` (comma-separated 32-bit words, most significant first),
and the hyperthread-sibling checks the tuning preflight needs.

CPU sets are plain ``frozenset`` objects of ints; every function here is pure.
"""

from __future__ import annotations

import re


class CpuSetError(ValueError):
    """A cpulist or mask string that cannot be parsed."""


_RANGE_RE = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+)/(\d+))?)?$")
_HEX_RE = re.compile(r"^[0-9a-f]+$")
_HEX_WORD_RE = re.compile(r"^[0-9a-f]{1,8}$")


def parse_cpulist(text):
    """Parse a kernel cpulist (``"0-3,8,10-11"``) into a frozenset of ints.

    Accepts surrounding whitespace, a trailing newline, an empty string (empty set),
    ints and iterables of ints (returned as a frozenset after checks). Raises
    CpuSetError on anything else.
    """
    if text is None:
        return frozenset()
    if isinstance(text, bool):
        raise CpuSetError("a CPU list cannot be a boolean")
    if isinstance(text, int):
        if text < 0:
            raise CpuSetError(f"negative CPU number: {text}")
        return frozenset([text])
    if isinstance(text, (list, tuple, set, frozenset)):
        out = set()
        for item in text:
            out |= parse_cpulist(item)
        return frozenset(out)
    if not isinstance(text, str):
        raise CpuSetError(f"cannot parse a CPU list from {text!r}")
    text = text.strip()
    if not text:
        return frozenset()
    cpus = set()
    for part in text.split(","):
        part = part.strip()
        match = _RANGE_RE.match(part)
        if not match:
            raise CpuSetError(f"bad CPU list element {part!r} in {text!r}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise CpuSetError(f"descending CPU range {part!r} in {text!r}")
        if match.group(3) is not None:
            used, group = int(match.group(3)), int(match.group(4))
            if used == 0 or group == 0 or used > group:
                raise CpuSetError(f"bad stride {part!r} in {text!r}")
            for cpu in range(first, last + 1):
                if (cpu - first) % group < used:
                    cpus.add(cpu)
        else:
            cpus.update(range(first, last + 1))
    return frozenset(cpus)


def format_cpulist(cpus):
    """Format CPUs as the shortest kernel cpulist (``{0,1,2,5}`` -> ``"0-2,5"``)."""
    cpus = sorted(parse_cpulist(cpus) if not isinstance(cpus, frozenset) else cpus)
    parts = []
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        if j == i:
            parts.append(str(cpus[i]))
        else:
            parts.append(f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(parts)


def parse_mask(text):
    """Parse a hex affinity mask (``"00000000,0000000f"`` or ``"f"``) into CPUs."""
    if not isinstance(text, str):
        raise CpuSetError(f"a mask must be a string, got {text!r}")
    clean = text.strip().lower()
    if clean.startswith("0x"):
        clean = clean[2:]
    if not clean:
        raise CpuSetError("empty mask")
    words = clean.split(",")
    # One bare word may be any length ("ffff0000ffff"); grouped words are 1-8 digits.
    word_re = _HEX_WORD_RE if len(words) > 1 else _HEX_RE
    value = 0
    for word in words:
        if not word_re.match(word):
            raise CpuSetError(f"bad mask word {word!r} in {text!r}")
        value = (value << 32) | int(word, 16) if len(words) > 1 else int(word, 16)
    cpus = set()
    bit = 0
    while value:
        if value & 1:
            cpus.add(bit)
        value >>= 1
        bit += 1
    return frozenset(cpus)


def format_mask(cpus, nr_cpus=None):
    """Format CPUs as a kernel hex mask: 32-bit words, 8 digits each, comma-separated.

    ``nr_cpus`` (e.g. the number of possible CPUs) sets how many words are printed,
    as the kernel does for ``/proc/irq/*/smp_affinity``; by default just enough words
    for the highest CPU.
    """
    cpus = parse_cpulist(cpus)
    highest = max(cpus) if cpus else 0
    width = max(highest + 1, nr_cpus or 1)
    nwords = (width + 31) // 32
    value = 0
    for cpu in cpus:
        value |= 1 << cpu
    words = []
    for i in reversed(range(nwords)):
        words.append("%08x" % ((value >> (32 * i)) & 0xFFFFFFFF))
    return ",".join(words)


def union(*sets):
    out = set()
    for s in sets:
        out |= parse_cpulist(s)
    return frozenset(out)


def difference(a, b):
    return parse_cpulist(a) - parse_cpulist(b)


def intersection(a, b):
    return parse_cpulist(a) & parse_cpulist(b)


def overlaps(a, b):
    return bool(parse_cpulist(a) & parse_cpulist(b))


def sibling_groups(thread_siblings):
    """Distinct sibling groups from ``{cpu: thread_siblings_list}`` (strings or sets).

    Returns a sorted list of frozensets (each group once).
    """
    groups = set()
    for cpu, siblings in thread_siblings.items():
        group = parse_cpulist(siblings) | {int(cpu)}
        groups.add(frozenset(group))
    return sorted(groups, key=lambda g: (min(g), len(g)))


def split_sibling_groups(cpus, groups):
    """The sibling groups that ``cpus`` covers only partly (a split core).

    ``groups`` is the output of :func:`sibling_groups` (or any iterable of sets).
    """
    cpus = parse_cpulist(cpus)
    out = []
    for group in groups:
        group = frozenset(group)
        inside = group & cpus
        if inside and inside != group:
            out.append(group)
    return sorted(out, key=min)


def complete_cores(cpus, groups):
    """Expand ``cpus`` to whole cores: add every sibling of every CPU given."""
    cpus = set(parse_cpulist(cpus))
    for group in groups:
        if cpus & set(group):
            cpus |= set(group)
    return frozenset(cpus)

"""Where and how this process runs, as seen from inside it (Linux only).

The engine does not pin itself: CPU affinity, scheduling policy, memory limits and NUMA
binding come from whoever started it (the systemd unit). It only locks its memory and
maps a hugepage buffer when its configuration asks, and it reports what took effect so a
deploy can prove the unit's settings did.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

MCL_CURRENT = 1
MCL_FUTURE = 2
M_ARENA_MAX = -8  # glibc mallopt(): one malloc arena instead of one per thread
POLICIES = {
    getattr(os, name): name
    for name in ("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_IDLE")
    if hasattr(os, name)
}


def cpu_list(cpus: set[int] | list[int]) -> str:
    """{0, 1, 2, 5} -> "0-2,5" (the kernel's cpulist format)."""
    ordered = sorted(cpus)
    ranges: list[str] = []
    start = prev = None
    for cpu in [*ordered, None]:
        if start is not None and (cpu is None or cpu != prev + 1):
            ranges.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if cpu is not None and start is None:
            start = cpu
        prev = cpu
    return ",".join(ranges)


def read_status(path: str = "/proc/self/status") -> dict[str, str]:
    fields = {}
    with open(path, encoding="ascii", errors="replace") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields


def _kb(value: str | None) -> int:
    if not value:
        return 0
    return int(value.split()[0])


def parse_smaps(text: str) -> dict:
    """Sum hugepage use from /proc/<pid>/smaps text.

    hugetlb_kb: hugetlbfs pages mapped (Shared_Hugetlb + Private_Hugetlb);
    anon_huge_kb: transparent hugepages (AnonHugePages);
    mappings: the mappings whose kernel page size is larger than the base page.
    """
    hugetlb_kb = anon_huge_kb = 0
    mappings: list[dict] = []
    current: dict | None = None
    for line in text.splitlines():
        head = line.split(None, 5)
        if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            current = {"range": head[0], "path": head[5].strip() if len(head) > 5 else ""}
            continue
        key, _, value = line.partition(":")
        if current is None or not value:
            continue
        key = key.strip()
        if key in ("Shared_Hugetlb", "Private_Hugetlb"):
            hugetlb_kb += _kb(value)
        elif key == "AnonHugePages":
            anon_huge_kb += _kb(value)
        elif key == "KernelPageSize" and _kb(value) > 4:
            start, end = (int(x, 16) for x in current["range"].split("-"))
            mappings.append(
                {
                    "path": current["path"],
                    "size_kb": (end - start) // 1024,
                    "page_size_kb": _kb(value),
                }
            )
    return {"hugetlb_kb": hugetlb_kb, "anon_huge_kb": anon_huge_kb, "mappings": mappings}


def mount_of(path: str, mountinfo: str = "/proc/self/mountinfo") -> dict | None:
    """The mount (point, fstype, options) that contains ``path``."""
    target = os.path.realpath(path)
    best = None
    with open(mountinfo, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) < 5:
                continue
            point = fields[4].replace("\\040", " ")
            fstype, _, options = [*right.split(), "", ""][:3]
            inside = target == point or target.startswith(point.rstrip("/") + "/")
            if inside and (best is None or len(point) >= len(best["point"])):
                best = {"point": point, "fstype": fstype, "options": options}
    return best


def _huge_page_size(mount: dict) -> int:
    for option in mount["options"].split(","):
        if option.startswith("pagesize="):
            text = option.split("=", 1)[1].upper()
            units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
            return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    meminfo = read_status("/proc/meminfo")
    return _kb(meminfo.get("Hugepagesize")) * 1024 or 2 << 20


@dataclass
class Placement:
    """Memory locking and the hugepage buffer, set up once at start."""

    mlock_requested: bool = False
    mlock_ok: bool | None = None
    mlock_error: str | None = None
    buffer: dict = field(default_factory=lambda: {"requested": False})
    _map: mmap.mmap | None = None

    def lock_memory(self) -> None:
        self.mlock_requested = True
        libc = ctypes.CDLL(None, use_errno=True)
        # Every thread's 64 MiB malloc arena would be locked too (VmLck ~ 230 MB instead
        # of ~ 30 MB): keep one arena. Call before the feed and HTTP threads start.
        if hasattr(libc, "mallopt"):
            libc.mallopt(M_ARENA_MAX, 1)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE) == 0:
            self.mlock_ok, self.mlock_error = True, None
            return
        err = ctypes.get_errno()
        soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        self.mlock_ok = False
        self.mlock_error = (
            f"mlockall failed: {errno.errorcode.get(err, err)} ({os.strerror(err)}); "
            f"RLIMIT_MEMLOCK soft={soft} hard={hard} - raise LimitMEMLOCK or grant CAP_IPC_LOCK"
        )

    def map_hugepages(self, mount_point: str, size_mb: int) -> None:
        """mmap a buffer from a file on a hugetlbfs mount and touch every page."""
        self.buffer = {"requested": True, "mount": mount_point, "ok": False, "error": None}
        try:
            mount = mount_of(mount_point)
            if mount is None or mount["fstype"] != "hugetlbfs":
                found = mount["fstype"] if mount else "nothing"
                raise OSError(f"{mount_point} is not a hugetlbfs mount (found {found})")
            page = _huge_page_size(mount)
            size = max(page, -(-size_mb * (1 << 20) // page) * page)
            path = Path(mount_point) / f"refengine-{os.getpid()}.buf"
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            try:
                os.ftruncate(fd, size)
                buf = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
                path.unlink(missing_ok=True)  # the mapping keeps the pages; nothing left
            for offset in range(0, size, page):
                buf[offset] = 1  # fault every huge page in now, not on the hot path
            self._map = buf
            self.buffer.update(ok=True, size_bytes=size, page_size_bytes=page)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            if exc.errno == errno.ENOMEM:
                detail += " (no free huge pages: raise vm.nr_hugepages)"
            self.buffer["error"] = f"hugepage buffer: {detail}"
        except (ValueError, IndexError, KeyError) as exc:  # unexpected /proc contents
            self.buffer["error"] = f"hugepage buffer: {type(exc).__name__}: {exc}"

    def problems(self) -> list[str]:
        """What was asked for and did not take effect."""
        out = []
        if self.mlock_requested and not self.mlock_ok:
            out.append(self.mlock_error or "mlockall failed")
        if self.buffer.get("requested") and not self.buffer.get("ok"):
            out.append(self.buffer.get("error") or "hugepage buffer failed")
        return out

    def report(self) -> dict:
        """Placement as the kernel reports it right now, for /health."""
        pid = os.getpid()  # the main thread: what the unit configured for the process
        affinity = sorted(os.sched_getaffinity(pid))
        policy = os.sched_getscheduler(pid)
        status = read_status()
        try:
            with open("/proc/self/smaps", encoding="utf-8", errors="replace") as fh:
                huge = parse_smaps(fh.read())
        except OSError:
            huge = {"hugetlb_kb": 0, "anon_huge_kb": 0, "mappings": []}
        soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        return {
            "cpu_affinity": affinity,
            "cpu_affinity_list": cpu_list(affinity),
            "sched_policy": POLICIES.get(policy, str(policy)),
            "sched_priority": os.sched_getparam(pid).sched_priority,
            "mems_allowed_list": status.get("Mems_allowed_list"),
            "mlockall": {
                "requested": self.mlock_requested,
                "ok": self.mlock_ok,
                "error": self.mlock_error,
            },
            "locked_memory_kb": _kb(status.get("VmLck")),
            "memlock_limit": {"soft": _limit(soft), "hard": _limit(hard)},
            "hugepages": {
                "backed": huge["hugetlb_kb"] > 0,
                "hugetlb_kb": huge["hugetlb_kb"],
                "anon_huge_kb": huge["anon_huge_kb"],
                "mappings": huge["mappings"],
                "buffer": dict(self.buffer),
            },
        }


def _limit(value: int) -> int | str:
    return "unlimited" if value == resource.RLIM_INFINITY else value

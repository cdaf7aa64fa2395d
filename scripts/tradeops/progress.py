"""Turn ansible-runner events into live progress and a final summary.

`RunTracker` is pure bookkeeping (fed event dicts, unit-tested on recorded events);
`ProgressDisplay` draws it: one rewritten status line on a terminal, one line per task
elsewhere (CI logs).
"""

from __future__ import annotations

import shutil
import sys
import textwrap
import time
from dataclasses import dataclass, field
from typing import IO, Any

from . import exitcodes

COUNTERS = ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")
# playbook_on_stats uses these keys; map them to the words operators read.
STATS_KEYS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


@dataclass
class Failure:
    host: str
    task: str
    message: str
    unreachable: bool = False


@dataclass
class RunTracker:
    """Accumulates what a run did, event by event."""

    play: str = ""
    task: str = ""
    plays_started: int = 0
    tasks_started: int = 0
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    stats_seen: bool = False
    started: float = field(default_factory=time.monotonic)

    def _count(self, host: str, key: str) -> None:
        counters = self.hosts.setdefault(host, dict.fromkeys(COUNTERS, 0))
        counters[key] += 1

    def feed(self, event: dict[str, Any]) -> str | None:
        """Record one event; return its kind when it changes what is shown."""
        kind = event.get("event", "")
        data = event.get("event_data", {}) or {}
        host = data.get("host") or data.get("remote_addr") or ""
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "") or data.get("name", "")
            self.plays_started += 1
        elif kind == "playbook_on_task_start":
            self.task = data.get("task", "") or data.get("name", "")
            self.tasks_started += 1
        elif kind == "runner_on_ok":
            res = data.get("res", {}) or {}
            self._count(host, "changed" if res.get("changed") else "ok")
        elif kind == "runner_on_skipped":
            self._count(host, "skipped")
        elif kind == "runner_on_failed":
            if data.get("ignore_errors"):
                self._count(host, "ignored")
            else:
                self._count(host, "failed")
                self.failures.append(Failure(host, data.get("task", self.task), _message(data)))
        elif kind == "runner_on_unreachable":
            self._count(host, "unreachable")
            self.failures.append(
                Failure(host, data.get("task", self.task), _message(data), unreachable=True)
            )
        elif kind == "playbook_on_stats":
            self._take_stats(data)
        else:
            return None
        return kind

    def _take_stats(self, data: dict[str, Any]) -> None:
        """The final recap is authoritative: it counts per host exactly as Ansible does."""
        self.stats_seen = True
        hosts: dict[str, dict[str, int]] = {}
        for stats_key, word in STATS_KEYS.items():
            for host, n in (data.get(stats_key) or {}).items():
                hosts.setdefault(host, dict.fromkeys(COUNTERS, 0))[word] = n
        # Ansible counts a changed task under "ok" too; show ok as "ok, unchanged".
        for counters in hosts.values():
            counters["ok"] = max(0, counters["ok"] - counters["changed"])
        self.hosts = hosts
        artifact = data.get("artifact_data") or {}
        self.summary = dict(artifact.get("tradeops_summary") or {})

    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys(COUNTERS, 0)
        for counters in self.hosts.values():
            for key in COUNTERS:
                totals[key] += counters[key]
        return totals

    def exit_code(self) -> int:
        totals = self.totals()
        if totals["failed"]:
            return exitcodes.FAILED
        if totals["unreachable"]:
            return exitcodes.UNREACHABLE
        return exitcodes.OK

    def elapsed(self) -> float:
        return time.monotonic() - self.started


# A failure's message is shown whole, wrapped to the width of the output: multi-line
# reasons (a tuning profile's list of problems) are the point of the message. Only a
# message beyond this many characters (a module's whole stderr) is shortened, and the
# summary says where the rest is (the run's artifacts).
MESSAGE_LIMIT = 20000
WRAP_WIDTH = 100  # when the output is not a terminal (CI logs)


def _message(data: dict[str, Any]) -> str:
    res = data.get("res", {}) or {}
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    if not msg and res.get("results"):
        msgs = [r.get("msg", "") for r in res["results"] if isinstance(r, dict) and r.get("failed")]
        msg = "; ".join(str(m) for m in msgs if m)
    msg = str(msg).strip() or "failed (no message)"
    if len(msg) > MESSAGE_LIMIT:
        rest = len(msg) - MESSAGE_LIMIT
        msg = msg[:MESSAGE_LIMIT] + f"\n... ({rest} more characters: see the run's job_events)"
    return msg


def format_failure(head: str, message: str, indent: str = "  ", width: int = WRAP_WIDTH) -> str:
    """`head: message`, every line of the message kept and wrapped, continuation lines
    indented under the head. Nothing is cut."""
    lines = message.splitlines() or [""]
    first = f"{indent}{head}: {lines[0]}"
    body = indent + "    "
    out: list[str] = []
    wrap = textwrap.TextWrapper(
        width=max(width, 40),
        subsequent_indent=body,
        break_long_words=True,
        break_on_hyphens=False,
        replace_whitespace=False,
        drop_whitespace=True,
    )
    out.extend(wrap.wrap(first) or [first])
    for line in lines[1:]:
        if not line.strip():
            continue
        stripped = line.rstrip()
        lead = len(stripped) - len(stripped.lstrip())
        wrap.initial_indent = body + " " * lead
        wrap.subsequent_indent = body + " " * (lead + 2)
        out.extend(wrap.wrap(stripped.lstrip()))
    return "\n".join(out)


def output_width(stream: IO[str]) -> int:
    try:
        if stream.isatty():
            return shutil.get_terminal_size((WRAP_WIDTH, 24)).columns
    except (AttributeError, ValueError, OSError):
        pass
    return WRAP_WIDTH


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class ProgressDisplay:
    """Draws a RunTracker while events arrive."""

    def __init__(
        self, tracker: RunTracker, stream: IO[str] | None = None, live: bool | None = None
    ):
        self.tracker = tracker
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.width = output_width(self.stream)
        self._width = 0

    def status_line(self) -> str:
        t = self.tracker
        totals = t.totals()
        return (
            f"[{_clock(t.elapsed())}] play {t.plays_started}: {t.play or '-'} | "
            f"task {t.tasks_started}: {t.task or '-'} | hosts {len(t.hosts)} | "
            f"ok {totals['ok']} changed {totals['changed']} "
            f"failed {totals['failed']} unreachable {totals['unreachable']}"
        )

    def handle(self, event: dict[str, Any]) -> bool:
        kind = self.tracker.feed(event)
        if kind is None:
            return True
        if kind in ("runner_on_failed", "runner_on_unreachable") and self.tracker.failures:
            last = self.tracker.failures[-1]
            if event.get("event_data", {}).get("ignore_errors"):
                return True
            self._clear()
            word = "UNREACHABLE" if last.unreachable else "FAILED"
            head = f"{word} {last.host}: {last.task}"
            print(format_failure(head, last.message, width=self.width), file=self.stream)
        if self.live:
            line = self.status_line()
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
            self.stream.flush()
        elif kind == "playbook_on_play_start":
            print(f"PLAY {self.tracker.play}", file=self.stream, flush=True)
        elif kind == "playbook_on_task_start":
            print(
                f"  [{_clock(self.tracker.elapsed())}] {self.tracker.task}",
                file=self.stream,
                flush=True,
            )
        return True

    def _clear(self) -> None:
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0

    def finish(self) -> None:
        self._clear()


def render_summary(
    tracker: RunTracker,
    title: str,
    artifacts: str | None = None,
    status: str | None = None,
    width: int = WRAP_WIDTH,
) -> str:
    """The readable end-of-run report: per-host table, failures, published summary.

    `status` "interrupted" (the run was stopped by a signal) overrides the verdict."""
    verdict = "INTERRUPTED" if status == "interrupted" else _verdict(tracker)
    lines = [f"== {title}: {verdict} in {_clock(tracker.elapsed())} =="]
    if tracker.hosts:
        column = max(len("host"), *(len(h) for h in tracker.hosts))
        cols = ("ok", "changed", "failed", "unreachable", "skipped")
        lines.append(f"  {'host':<{column}}  " + "  ".join(f"{c:>11}" for c in cols))
        for host in sorted(tracker.hosts):
            counters = tracker.hosts[host]
            lines.append(f"  {host:<{column}}  " + "  ".join(f"{counters[c]:>11}" for c in cols))
    else:
        lines.append("  no host ran a task (check --limit and the inventory)")
    if tracker.failures:
        lines.append("  failures:")
        for failure in tracker.failures:
            word = "unreachable" if failure.unreachable else "failed"
            head = f"{failure.host} [{word}] {failure.task}"
            lines.append(format_failure(head, failure.message, indent="    ", width=width))
    if tracker.summary:
        lines.append("  platform:")
        column = max(len(k) for k in tracker.summary)
        for key in sorted(tracker.summary):
            lines.append(f"    {key:<{column}}  {_fmt(tracker.summary[key])}")
    if artifacts:
        lines.append(f"  artifacts: {artifacts}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def _verdict(tracker: RunTracker) -> str:
    code = tracker.exit_code()
    if code == exitcodes.FAILED:
        return "FAILED"
    if code == exitcodes.UNREACHABLE:
        return "UNREACHABLE HOSTS"
    if not tracker.stats_seen:
        return "INCOMPLETE"
    return "OK"

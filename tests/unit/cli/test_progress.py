"""RunTracker and the summary, fed with events recorded from real runs of site.yml on the lab."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tradeops import exitcodes
from tradeops.progress import (
    MESSAGE_LIMIT,
    WRAP_WIDTH,
    ProgressDisplay,
    RunTracker,
    render_summary,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner"


def replay(name: str, live: bool = False) -> tuple[RunTracker, str]:
    tracker = RunTracker()
    stream = io.StringIO()
    display = ProgressDisplay(tracker, stream=stream, live=live)
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        display.handle(json.loads(line))
    display.finish()
    return tracker, stream.getvalue()


def test_successful_create_run_counts_changes_per_host():
    tracker, _ = replay("site_create")
    assert tracker.exit_code() == exitcodes.OK
    assert tracker.stats_seen
    assert set(tracker.hosts) == {
        "localhost",
        "engine-c5n-1",
        "engine-c5n-2",
        "engine-metal-1",
        "engine-bm-1",
        "mon-1",
    }
    # localhost launched the fleet (one changed task); each host changed two files.
    assert tracker.hosts["localhost"]["changed"] == 1
    assert all(tracker.hosts[h]["changed"] == 2 for h in tracker.hosts if h != "localhost")
    assert tracker.failures == []


def test_summary_published_by_roles_reaches_the_report():
    tracker, _ = replay("site_create")
    assert tracker.summary["engine fleet"] == ["engine-c5n-1", "engine-c5n-2", "engine-metal-1"]
    text = render_summary(tracker, "site.yml on lab")
    assert "OK" in text.splitlines()[0]
    assert "engine-c5n-1, engine-c5n-2, engine-metal-1" in text
    assert "aws account" in text


def test_failed_preflight_gives_exit_code_and_messages():
    tracker, log = replay("preflight_failed")
    assert tracker.exit_code() == exitcodes.FAILED
    assert len(tracker.failures) == 5
    assert all("Mars/Olympus is not a time zone" in f.message for f in tracker.failures)
    assert "FAILED mon-1" in log
    assert "FAILED" in render_summary(tracker, "t").splitlines()[0]


def test_unreachable_host_is_not_a_task_failure():
    tracker, _ = replay("host_unreachable")
    assert tracker.exit_code() == exitcodes.UNREACHABLE
    assert tracker.hosts["mon-1"]["unreachable"] == 1
    assert [f.host for f in tracker.failures] == ["mon-1"]
    assert tracker.failures[0].unreachable


def test_non_terminal_output_prints_one_line_per_task():
    tracker, log = replay("site_create")
    task_lines = [line for line in log.splitlines() if line.startswith("  [")]
    assert len(task_lines) == tracker.tasks_started
    assert sum(line.startswith("PLAY ") for line in log.splitlines()) == tracker.plays_started


def test_terminal_output_rewrites_one_status_line():
    _, log = replay("site_create", live=True)
    assert "\n" not in log.strip("\r ").replace("\r", "")
    assert "task" in log and "changed" in log


def test_ignored_errors_are_counted_but_not_failures():
    tracker = RunTracker()
    tracker.feed(
        {
            "event": "runner_on_failed",
            "event_data": {"host": "h", "task": "t", "ignore_errors": True, "res": {}},
        }
    )
    assert tracker.hosts["h"]["ignored"] == 1
    assert tracker.failures == []
    assert tracker.exit_code() == exitcodes.OK


def test_incomplete_run_is_not_reported_ok():
    tracker = RunTracker()
    tracker.feed({"event": "playbook_on_play_start", "event_data": {"play": "p"}})
    assert "INCOMPLETE" in render_summary(tracker, "t").splitlines()[0]


# What engine_tuning / engine_deploy's profile check says about a profile that does not fit
# its host: the verdict, then one problem a line (the reasons are the lines).
PROFILE_PROBLEMS = (
    "Tuning profile c5n-18xlarge does not fit engine-bm-1 (3 errors):\n"
    "- cpu.isolated: CPUs 40-71 are not on this host (it has 0-3) (fix: isolate CPUs the "
    "host has, e.g. 2-3)\n"
    "- hugepages.count: 8 x 1G pages need 8 GiB, the host has 3.8 GiB of memory (fix: lower "
    "hugepages.count)\n"
    "- cpu.housekeeping: the housekeeping set is empty once 0-3 are isolated (fix: keep at "
    "least one CPU for the kernel)"
)


def fail(message: str) -> tuple[RunTracker, str]:
    tracker = RunTracker()
    stream = io.StringIO()
    display = ProgressDisplay(tracker, stream=stream, live=False)
    display.handle(
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "engine-bm-1",
                "task": "Profile | valid",
                "res": {"msg": message},
            },
        }
    )
    return tracker, stream.getvalue()


def test_a_multi_line_failure_reason_is_shown_whole_live_and_in_the_summary():
    tracker, live = fail(PROFILE_PROBLEMS)
    assert tracker.failures[0].message == PROFILE_PROBLEMS
    summary = render_summary(tracker, "t")
    for shown in (live, summary):
        words = " ".join(shown.split())
        for reason in PROFILE_PROBLEMS.splitlines():
            # every problem, whole (wrapping only moves words to the next line)
            assert " ".join(reason.split()) in words, (reason, shown)
        assert all(len(line) <= WRAP_WIDTH for line in shown.splitlines()), shown
    assert "FAILED engine-bm-1: Profile | valid: Tuning profile" in live


def test_the_summary_wraps_at_the_output_width_whatever_the_host_names():
    tracker, _ = fail("Refusing: " + " ".join(f"word{i}" for i in range(100)))
    tracker.hosts["engine-bm-1"] = {
        key: 0
        for key in ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")
    }
    lines = render_summary(tracker, "t", width=WRAP_WIDTH).splitlines()
    failure = [line for line in lines if line.startswith("        ") or "[failed]" in line]
    assert max(len(line) for line in failure) > WRAP_WIDTH - 15, failure


def test_a_long_one_line_message_is_wrapped_not_cut():
    message = "Refusing to install 9.9.9: " + " ".join(f"word{i}" for i in range(300))
    tracker, live = fail(message)
    assert tracker.failures[0].message == message
    lines = live.splitlines()
    assert len(lines) > 5 and all(len(line) <= WRAP_WIDTH for line in lines)
    assert "word299" in lines[-1]
    assert " ".join(live.split()).endswith(" ".join(message.split()))


def test_only_a_huge_message_is_shortened_and_says_where_the_rest_is():
    tracker, _ = fail("x" * (MESSAGE_LIMIT + 500))
    message = tracker.failures[0].message
    assert message.startswith("x" * MESSAGE_LIMIT)
    assert "500 more characters" in message


def test_an_interrupted_run_says_so_in_the_summary():
    tracker, _ = replay("site_create")
    assert render_summary(tracker, "t", status="interrupted").startswith("== t: INTERRUPTED")

"""Unit tests for the change-freeze logic (module_utils/freeze.py) and its module."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import redirect_stdout

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.tradeops.platform.plugins.module_utils.freeze import (
    FreezeError,
    decide,
    parse_config,
)
from ansible_collections.tradeops.platform.plugins.modules import change_freeze

NYSE = {
    "timezone": "America/New_York",
    "windows": [{"days": ["mon-fri"], "start": "09:30", "end": "16:00"}],
}


def cfg(**overrides):
    base = dict(NYSE)
    base.update(overrides)
    return base


def frozen_at(config, now):
    return decide(config, now).frozen


# ------------------------------------------------------------------ regular hours, edges


def test_inside_trading_hours_is_frozen_with_a_human_reason():
    d = decide(NYSE, "2025-03-10T14:30:00Z")  # Mon 10:30 EDT
    assert d.frozen is True
    assert d.allowed is False
    assert d.reason == "inside trading hours 09:30-16:00 America/New_York (Mon 2025-03-10)"
    assert d.window["open"] == "2025-03-10T13:30:00Z"
    assert d.window["close"] == "2025-03-10T20:00:00Z"
    assert d.audit["decision"] == "refused"


def test_outside_hours_is_allowed_and_names_the_next_freeze():
    d = decide(NYSE, "2025-03-08T15:00:00Z")  # Saturday
    assert d.frozen is False
    assert d.allowed is True
    assert d.window is None
    assert "next freeze starts Mon 2025-03-10 09:30 EDT" in d.reason
    assert d.audit["decision"] == "allowed"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2025-03-10T13:29:59.999999Z", False),  # just before the open
        ("2025-03-10T13:30:00Z", True),  # exactly at the open: inclusive
        ("2025-03-10T19:59:59.999999Z", True),  # just before the close
        ("2025-03-10T20:00:00Z", False),  # exactly at the close: exclusive
    ],
)
def test_edges_open_inclusive_close_exclusive(now, expected):
    assert frozen_at(NYSE, now) is expected


def test_now_with_other_offset_is_the_same_instant():
    assert frozen_at(NYSE, "2025-03-10T15:30:00+02:00") is True  # 13:30Z
    assert frozen_at(NYSE, dt.datetime(2025, 3, 10, 13, 29, tzinfo=dt.UTC)) is False


# ------------------------------------------------------------------ time zones and DST


def test_same_local_hours_map_to_different_utc_in_winter_and_summer():
    # 09:30 EST = 14:30Z in January; 09:30 EDT = 13:30Z in July.
    assert frozen_at(NYSE, "2025-01-06T14:00:00Z") is False
    assert frozen_at(NYSE, "2025-01-06T14:30:00Z") is True
    assert frozen_at(NYSE, "2025-07-07T13:30:00Z") is True
    assert frozen_at(NYSE, "2025-07-07T20:00:00Z") is False


def test_other_zone_tokyo():
    tse = {
        "timezone": "Asia/Tokyo",
        "windows": [{"days": "mon-fri", "start": "09:00", "end": "15:30"}],
    }
    assert frozen_at(tse, "2025-03-10T00:00:00Z") is True  # 09:00 JST
    assert frozen_at(tse, "2025-03-09T23:59:00Z") is False  # 08:59 JST
    assert frozen_at(tse, "2025-03-10T06:30:00Z") is False  # 15:30 JST


def test_spring_forward_day_window_across_the_gap():
    # 2025-03-09 (Sun) New York jumps 02:00 EST -> 03:00 EDT. 01:00 EST = 06:00Z,
    # 04:00 EDT = 08:00Z: the window lasts two real hours.
    conf = cfg(windows=[{"days": ["sun"], "start": "01:00", "end": "04:00"}])
    assert frozen_at(conf, "2025-03-09T05:59:59Z") is False
    assert frozen_at(conf, "2025-03-09T06:00:00Z") is True
    assert frozen_at(conf, "2025-03-09T07:59:59Z") is True
    assert frozen_at(conf, "2025-03-09T08:00:00Z") is False


def test_spring_forward_nonexistent_start_takes_the_earlier_reading():
    # 02:30 does not exist on 2025-03-09; its readings are 06:30Z (EDT) and 07:30Z (EST).
    conf = cfg(windows=[{"days": ["sun"], "start": "02:30", "end": "05:00"}])
    assert frozen_at(conf, "2025-03-09T06:29:59Z") is False
    assert frozen_at(conf, "2025-03-09T06:30:00Z") is True
    assert frozen_at(conf, "2025-03-09T08:59:59Z") is True  # 04:59:59 EDT
    assert frozen_at(conf, "2025-03-09T09:00:00Z") is False


def test_fall_back_ambiguous_end_takes_the_later_reading():
    # 2025-11-02 (Sun) 01:00-02:00 happens twice (EDT then EST). 01:30 ends at 01:30 EST.
    conf = cfg(windows=[{"days": ["sun"], "start": "00:30", "end": "01:30"}])
    assert frozen_at(conf, "2025-11-02T04:29:59Z") is False  # 00:29:59 EDT
    assert frozen_at(conf, "2025-11-02T04:30:00Z") is True  # 00:30 EDT
    assert frozen_at(conf, "2025-11-02T05:45:00Z") is True  # 01:45 EDT (first pass)
    assert frozen_at(conf, "2025-11-02T06:29:59Z") is True  # 01:29:59 EST (second pass)
    assert frozen_at(conf, "2025-11-02T06:30:00Z") is False  # 01:30 EST


def test_fall_back_ambiguous_start_takes_the_earlier_reading():
    conf = cfg(windows=[{"days": ["sun"], "start": "01:30", "end": "03:00"}])
    assert frozen_at(conf, "2025-11-02T05:29:59Z") is False
    assert frozen_at(conf, "2025-11-02T05:30:00Z") is True  # 01:30 EDT, first reading


def test_dst_change_inside_an_overnight_session():
    # London 2025-03-30 (Sun) jumps 01:00 GMT -> 02:00 BST. A Sat 22:00 -> Sun 06:00
    # session opens at 22:00Z and closes at 05:00Z: seven real hours, not eight.
    conf = {
        "timezone": "Europe/London",
        "windows": [{"days": ["sat"], "start": "22:00", "end": "06:00"}],
    }
    assert frozen_at(conf, "2025-03-29T21:59:59Z") is False
    assert frozen_at(conf, "2025-03-29T22:00:00Z") is True
    assert frozen_at(conf, "2025-03-30T04:59:59Z") is True
    assert frozen_at(conf, "2025-03-30T05:00:00Z") is False


def test_overnight_futures_session_across_the_weekend():
    # CME-like Sun-Thu 17:00 -> next day 16:00 Chicago (CDT = UTC-5 in March).
    conf = {
        "timezone": "America/Chicago",
        "windows": [{"days": ["sun-thu"], "start": "17:00", "end": "16:00"}],
    }
    assert frozen_at(conf, "2025-03-14T20:59:59Z") is True  # Fri 15:59 CDT, Thu's session
    assert frozen_at(conf, "2025-03-14T21:00:00Z") is False  # Fri 16:00 CDT
    assert frozen_at(conf, "2025-03-15T18:00:00Z") is False  # Saturday
    assert frozen_at(conf, "2025-03-16T21:59:59Z") is False  # Sun 16:59 CDT
    assert frozen_at(conf, "2025-03-16T22:00:00Z") is True  # Sun 17:00 CDT


# ------------------------------------------------------------------ midnight crossing


def test_window_crossing_midnight_belongs_to_its_opening_day():
    conf = {"timezone": "UTC", "windows": [{"days": ["mon"], "start": "22:00", "end": "02:00"}]}
    assert frozen_at(conf, "2025-03-10T21:59:59Z") is False  # Mon
    assert frozen_at(conf, "2025-03-10T22:00:00Z") is True
    assert frozen_at(conf, "2025-03-11T01:59:59Z") is True  # Tue, still Monday's session
    assert frozen_at(conf, "2025-03-11T02:00:00Z") is False
    assert frozen_at(conf, "2025-03-11T22:30:00Z") is False  # Tue evening: no session
    d = decide(conf, "2025-03-11T01:00:00Z")
    assert d.window["date"] == "2025-03-10"
    assert "(Mon 2025-03-10)" in d.reason


def test_end_24_00_runs_to_midnight():
    conf = {"timezone": "UTC", "windows": [{"days": ["fri"], "start": "18:00", "end": "24:00"}]}
    assert frozen_at(conf, "2025-03-14T23:59:59Z") is True
    assert frozen_at(conf, "2025-03-15T00:00:00Z") is False
    assert decide(conf, "2025-03-14T20:00:00Z").window["hours"] == "18:00-24:00"


def test_weekday_range_wraps_around_the_week():
    conf = {"timezone": "UTC", "windows": [{"days": ["fri-mon"], "start": "10:00", "end": "11:00"}]}
    frozen_days = [day for day in range(10, 17) if frozen_at(conf, f"2025-03-{day:02d}T10:30:00Z")]
    assert frozen_days == [10, 14, 15, 16]  # Mon, Fri, Sat, Sun


# ------------------------------------------------------------------ holidays, specials


def test_holiday_means_no_freeze():
    conf = cfg(holidays=["2025-12-25"])
    d = decide(conf, "2025-12-25T16:00:00Z")  # Thu 11:00 EST
    assert d.frozen is False
    assert "market holiday" in d.reason
    assert frozen_at(NYSE, "2025-12-25T16:00:00Z") is True  # without the holiday: frozen


def test_overnight_session_opened_before_a_holiday_still_runs_into_it():
    conf = {
        "timezone": "UTC",
        "windows": [{"days": ["mon-fri"], "start": "22:00", "end": "02:00"}],
        "holidays": ["2025-12-25"],
    }
    assert frozen_at(conf, "2025-12-25T01:00:00Z") is True  # Wednesday's session
    assert frozen_at(conf, "2025-12-25T22:30:00Z") is False  # Thursday's: holiday
    assert frozen_at(conf, "2025-12-26T01:00:00Z") is False


def test_special_session_replaces_regular_hours():
    conf = cfg(special_sessions=[{"date": "2025-11-28", "start": "09:30", "end": "13:00"}])
    d = decide(conf, "2025-11-28T17:00:00Z")  # 12:00 EST
    assert d.frozen is True
    assert d.reason.startswith("inside special session 09:30-13:00 America/New_York (Fri")
    assert frozen_at(conf, "2025-11-28T18:30:00Z") is False  # 13:30 EST: closed early
    assert frozen_at(NYSE, "2025-11-28T18:30:00Z") is True


def test_special_session_on_a_weekend():
    conf = cfg(special_sessions=[{"date": "2025-03-08", "start": "10:00", "end": "12:00"}])
    assert frozen_at(conf, "2025-03-08T15:30:00Z") is True  # Sat 10:30 EST
    assert frozen_at(NYSE, "2025-03-08T15:30:00Z") is False


# ------------------------------------------------------------------ buffers


def test_pre_and_post_buffers_extend_the_freeze():
    conf = cfg(pre_buffer_minutes=15, post_buffer_minutes=30)
    assert frozen_at(conf, "2025-03-10T13:14:59Z") is False
    d = decide(conf, "2025-03-10T13:15:00Z")
    assert d.frozen is True
    assert d.reason.startswith("inside the 15 min pre-open buffer of trading hours")
    d = decide(conf, "2025-03-10T20:29:59Z")
    assert d.reason.startswith("inside the 30 min post-close buffer")
    assert frozen_at(conf, "2025-03-10T20:30:00Z") is False
    assert d.window["freeze_start"] == "2025-03-10T13:15:00Z"
    assert d.window["freeze_end"] == "2025-03-10T20:30:00Z"


def test_pre_buffer_reaching_into_the_previous_day():
    conf = {
        "timezone": "UTC",
        "windows": [{"days": ["tue"], "start": "00:30", "end": "01:00"}],
        "pre_buffer_minutes": 60,
    }
    assert frozen_at(conf, "2025-03-10T23:29:59Z") is False  # Mon
    assert frozen_at(conf, "2025-03-10T23:30:00Z") is True


# ------------------------------------------------------------------ override and audit


def test_override_with_reason_is_allowed_and_audited():
    d = decide(NYSE, "2025-03-10T14:30:00Z", override_reason="  CHG-42 hotfix  ", actor="alice")
    assert d.frozen is True
    assert d.allowed is True
    assert d.override_used is True
    assert d.reason.endswith("; overridden: CHG-42 hotfix")
    assert d.audit == {
        "timestamp": "2025-03-10T14:30:00Z",
        "local_time": "2025-03-10T10:30:00-04:00",
        "timezone": "America/New_York",
        "decision": "overridden",
        "frozen": True,
        "override_used": True,
        "override_reason": "CHG-42 hotfix",
        "actor": "alice",
        "reason": d.reason,
    }


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_override_without_reason_is_an_error(reason):
    with pytest.raises(FreezeError, match="non-empty reason"):
        decide(NYSE, "2025-03-10T14:30:00Z", override_reason=reason)


def test_override_outside_the_window_is_not_used():
    d = decide(NYSE, "2025-03-08T14:30:00Z", override_reason="not needed")
    assert (d.frozen, d.allowed, d.override_used) == (False, True, False)
    assert d.audit["decision"] == "allowed"


# ------------------------------------------------------------------ invalid input


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (cfg(timezone="Mars/Olympus_Mons"), "unknown time zone 'Mars/Olympus_Mons'"),
        (cfg(timezone=""), "time zone name"),
        (cfg(windows=[]), "at least one trading window"),
        (
            cfg(windows=[{"days": ["mon"], "start": "25:00", "end": "16:00"}]),
            r"windows\[0\].start: '25:00' is not a valid time",
        ),
        (cfg(windows=[{"days": ["mon"], "start": "9.30", "end": "16:00"}]), "HH:MM"),
        (cfg(windows=[{"days": ["mon"], "start": "24:00", "end": "16:00"}]), "not a valid"),
        (cfg(windows=[{"days": ["mon"], "start": "09:30", "end": "09:30"}]), "needs a length"),
        (
            cfg(windows=[{"days": ["funday"], "start": "09:30", "end": "16:00"}]),
            "unknown weekday 'funday'",
        ),
        (cfg(windows=[{"days": [], "start": "09:30", "end": "16:00"}]), "non-empty list"),
        (cfg(windows=[{"days": ["mon"], "start": "09:30"}]), "'end' is required"),
        (cfg(holidays=["2025-13-01"]), r"holidays\[0\]: expected a date"),
        (
            cfg(
                holidays=["2025-12-25"],
                special_sessions=[{"date": "2025-12-25", "start": "09:30", "end": "13:00"}],
            ),
            "either closed",
        ),
        (cfg(pre_buffer_minutes=-5), "outside 0..720"),
        (cfg(post_buffer_minutes=721), "outside 0..720"),
        (cfg(post_buffer_minutes="ten"), "whole minutes"),
    ],
)
def test_invalid_config_is_rejected_clearly(config, message):
    with pytest.raises(FreezeError, match=message):
        parse_config(config)


@pytest.mark.parametrize(
    ("now", "message"),
    [
        ("2025-03-10T14:30:00", "has no UTC offset"),
        (dt.datetime(2025, 3, 10, 14, 30), "has no UTC offset"),
        ("yesterday", "ISO 8601"),
        (12345, "expected a timestamp"),
    ],
)
def test_invalid_now_is_rejected(now, message):
    with pytest.raises(FreezeError, match=message):
        decide(NYSE, now)


def test_full_day_names_and_case_are_accepted():
    conf = parse_config(cfg(windows=[{"days": ["Monday", "FRI"], "start": "9:30", "end": "16:00"}]))
    assert conf.windows[0].days == (0, 4)


# ------------------------------------------------------------------ the module


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        change_freeze.main()
    return exc.value.code, json.loads(out.getvalue())


MODULE_ARGS = {
    "timezone": "America/New_York",
    "windows": [{"days": ["mon-fri"], "start": "09:30", "end": "16:00"}],
    "holidays": ["2025-12-25"],
}


@pytest.mark.parametrize("check_mode", [False, True])
def test_module_fails_when_frozen_without_override(check_mode):
    rc, result = run_module(dict(MODULE_ARGS, now="2025-03-10T14:30:00Z"), check_mode)
    assert rc == 1
    assert result["failed"] is True
    assert result["frozen"] is True
    assert result["allowed"] is False
    assert result["msg"].startswith("change freeze in force: inside trading hours 09:30-16:00")
    assert "override_reason" in result["msg"]


def test_module_allows_override_and_returns_the_audit_record():
    rc, result = run_module(
        dict(MODULE_ARGS, now="2025-03-10T14:30:00Z", override_reason="CHG-7", actor="bob")
    )
    assert rc == 0
    assert result["changed"] is False
    assert (result["frozen"], result["allowed"], result["override_used"]) == (True, True, True)
    assert result["audit"]["actor"] == "bob"
    assert result["audit"]["override_reason"] == "CHG-7"
    assert result["summary"].startswith("overridden: ")


def test_module_outside_window_and_query_only_mode():
    rc, result = run_module(dict(MODULE_ARGS, now="2025-12-25T15:00:00Z"))
    assert rc == 0
    assert result["frozen"] is False
    assert result["summary"] == f"allowed: {result['reason']}"
    rc, result = run_module(
        dict(MODULE_ARGS, now="2025-03-10T14:30:00Z", fail_when_frozen=False), check_mode=True
    )
    assert rc == 0
    assert (result["frozen"], result["allowed"]) == (True, False)
    assert result["summary"].startswith("not enforced here, would be refused: ")


def test_module_reports_invalid_config():
    rc, result = run_module(dict(MODULE_ARGS, timezone="Nowhere/Town", now="2025-03-10T14:30:00Z"))
    assert rc == 1
    assert "unknown time zone 'Nowhere/Town'" in result["msg"]


def _doc_view(options):
    view = {}
    for name, spec in options.items():
        view[name] = {
            "type": spec.get("type", "str"),
            "elements": spec.get("elements"),
            "required": bool(spec.get("required", False)),
            "default": spec.get("default"),
            "sub": _doc_view(spec.get("suboptions") or spec.get("options") or {}),
        }
    return view


def test_module_documentation_matches_its_argument_spec():
    doc = yaml.safe_load(change_freeze.DOCUMENTATION)
    assert isinstance(yaml.safe_load(change_freeze.EXAMPLES), list)
    assert set(yaml.safe_load(change_freeze.RETURN)) >= {
        "frozen",
        "allowed",
        "reason",
        "audit",
        "summary",
    }
    assert doc["module"] == "change_freeze"
    assert _doc_view(doc["options"]) == _doc_view(change_freeze.ARGUMENT_SPEC)

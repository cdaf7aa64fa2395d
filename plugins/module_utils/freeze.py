# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change-freeze decisions: is a deploy allowed at a given instant?

A freeze configuration describes the trading sessions of one market in its own time zone:

    {
        "timezone": "America/New_York",
        "windows": [{"days": ["mon-fri"], "start": "09:30", "end": "16:00"}],
        "holidays": ["2025-12-25"],
        "special_sessions": [{"date": "2025-11-28", "start": "09:30", "end": "13:00"}],
        "pre_buffer_minutes": 15,
        "post_buffer_minutes": 15,
    }

Rules (they are the contract the unit tests pin down):

* A window belongs to the local date on which it *opens*. ``end`` earlier than ``start``
  means the window crosses midnight and closes on the next day. ``end == start`` is an
  error (zero or 24 hours would be a guess); ``"24:00"`` is accepted as an end meaning
  midnight at the end of the day.
* The frozen interval of a session is ``[open - pre_buffer, close + post_buffer)``:
  inclusive at the start, exclusive at the end. With no buffers, exactly at the open is
  frozen and exactly at the close is not.
* ``holidays`` are local dates on which the market is closed: windows that would *open*
  on that date do not apply (a midnight-crossing session that opened the evening before
  still runs to its close). ``special_sessions`` replace the regular windows of their
  date (half days, e.g.); a date may not be both a holiday and a special session.
* Daylight-saving transitions: wall-clock times are resolved in the zone of the market.
  Where a wall-clock time is ambiguous (fall back) or does not exist (spring forward),
  both readings are computed and the freeze takes the earlier one for the start and the
  later one for the end, so it covers every instant the configured time could mean.
* ``now`` must be timezone-aware; it is compared in UTC.

An override lets a frozen deploy proceed; it needs a non-empty reason, and every decision
yields an audit record (who, when, what, why) for the caller to store.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    HAS_ZONEINFO = True
except ImportError:  # Python < 3.9 on a managed node
    HAS_ZONEINFO = False

UTC = _dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; targets may run 3.9)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
MAX_BUFFER_MINUTES = 720
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


class FreezeError(ValueError):
    """Invalid freeze configuration or invalid input to a decision."""


@dataclass(frozen=True)
class Window:
    """A regular weekly window: opens at ``start`` on each of ``days`` (0 = Monday)."""

    days: tuple[int, ...]
    start: _dt.time
    end: _dt.time  # _dt.time(0, 0) together with end_is_midnight means "24:00"
    end_is_midnight: bool = False

    @property
    def crosses_midnight(self) -> bool:
        return self.end_is_midnight or self.end < self.start

    def label(self) -> str:
        end = "24:00" if self.end_is_midnight else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True)
class SpecialSession:
    date: _dt.date
    window: Window


@dataclass(frozen=True)
class FreezeConfig:
    tz_name: str
    tz: Any
    windows: tuple[Window, ...]
    holidays: frozenset[_dt.date]
    special_sessions: dict[_dt.date, tuple[Window, ...]]
    pre_buffer: _dt.timedelta
    post_buffer: _dt.timedelta


@dataclass
class Session:
    """One concrete trading session with its frozen interval in UTC."""

    date: _dt.date
    window: Window
    special: bool
    open_utc: _dt.datetime
    close_utc: _dt.datetime
    freeze_start_utc: _dt.datetime
    freeze_end_utc: _dt.datetime

    def as_dict(self, tz_name: str) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "weekday": DAY_NAMES[self.date.weekday()],
            "hours": self.window.label(),
            "timezone": tz_name,
            "special_session": self.special,
            "open": _iso(self.open_utc),
            "close": _iso(self.close_utc),
            "freeze_start": _iso(self.freeze_start_utc),
            "freeze_end": _iso(self.freeze_end_utc),
        }


@dataclass
class FreezeDecision:
    frozen: bool
    allowed: bool
    reason: str
    override_used: bool
    window: dict[str, Any] | None
    audit: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "frozen": self.frozen,
            "allowed": self.allowed,
            "reason": self.reason,
            "override_used": self.override_used,
            "window": self.window,
            "audit": self.audit,
        }


def _iso(value: _dt.datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- parsing


def _parse_time(value: Any, what: str, allow_24: bool = False) -> tuple[_dt.time, bool]:
    if not isinstance(value, str):
        raise FreezeError(f"{what}: expected a time as 'HH:MM', got {value!r}")
    match = _TIME_RE.match(value.strip())
    if not match:
        raise FreezeError(f"{what}: expected a time as 'HH:MM', got {value!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if allow_24 and hour == 24 and minute == 0:
        return _dt.time(0, 0), True
    if hour > 23 or minute > 59:
        raise FreezeError(f"{what}: {value!r} is not a valid time of day (00:00-23:59)")
    return _dt.time(hour, minute), False


def _parse_days(value: Any, what: str) -> tuple[int, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise FreezeError(f"{what}: expected a non-empty list of weekdays like ['mon-fri']")
    days: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            raise FreezeError(f"{what}: weekday {item!r} is not a string")
        for part in item.split(","):
            bounds = [_day_index(b, what) for b in part.split("-")]
            if len(bounds) == 1:
                days.add(bounds[0])
            elif len(bounds) == 2:
                first, last = bounds
                span = (last - first) % 7
                days.update((first + i) % 7 for i in range(span + 1))
            else:
                raise FreezeError(f"{what}: cannot read the weekday range {part!r}")
    return tuple(sorted(days))


def _day_index(name: str, what: str) -> int:
    key = name.strip().lower()
    key = _FULL_DAY_NAMES.get(key, key)
    if key not in DAY_NAMES:
        raise FreezeError(
            f"{what}: unknown weekday {name!r} (use mon, tue, wed, thu, fri, sat, sun)"
        )
    return DAY_NAMES.index(key)


def _parse_date(value: Any, what: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        raise FreezeError(f"{what}: expected a date 'YYYY-MM-DD', got a datetime {value!r}")
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise FreezeError(f"{what}: expected a date 'YYYY-MM-DD', got {value!r}") from None


def _parse_window(raw: Any, what: str, days: tuple[int, ...] | None = None) -> Window:
    if not isinstance(raw, dict):
        raise FreezeError(f"{what}: expected a mapping with start and end, got {raw!r}")
    for key in ("start", "end"):
        if key not in raw or raw[key] in (None, ""):
            raise FreezeError(f"{what}: '{key}' is required")
    start = _parse_time(raw["start"], f"{what}.start")[0]
    end, end_24 = _parse_time(raw["end"], f"{what}.end", allow_24=True)
    if not end_24 and end == start:
        raise FreezeError(
            f"{what}: start and end are both {raw['start']!r}; a window needs a length "
            "(use end '24:00' for a window that runs to midnight)"
        )
    if days is None:
        days = _parse_days(raw.get("days"), f"{what}.days")
    return Window(days=days, start=start, end=end, end_is_midnight=end_24)


def _parse_buffer(value: Any, what: str) -> _dt.timedelta:
    if value is None:
        return _dt.timedelta(0)
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise FreezeError(f"{what}: expected whole minutes, got {value!r}") from None
    if not 0 <= value <= MAX_BUFFER_MINUTES:
        raise FreezeError(f"{what}: {value} is outside 0..{MAX_BUFFER_MINUTES} minutes")
    return _dt.timedelta(minutes=value)


def load_timezone(name: Any) -> Any:
    if not HAS_ZONEINFO:
        raise FreezeError("the change freeze needs Python 3.9+ (zoneinfo)")
    if not isinstance(name, str) or not name.strip():
        raise FreezeError("timezone: a time zone name such as 'America/New_York' is required")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FreezeError(
            f"timezone: unknown time zone {name!r} (use an IANA name such as "
            "'America/New_York'; the host needs its tz database, Debian package tzdata)"
        ) from None


def parse_config(raw: dict[str, Any]) -> FreezeConfig:
    """Validate a freeze configuration mapping; raise FreezeError saying what is wrong."""
    if not isinstance(raw, dict):
        raise FreezeError("the freeze configuration must be a mapping")
    tz = load_timezone(raw.get("timezone"))
    raw_windows = raw.get("windows")
    if not isinstance(raw_windows, (list, tuple)) or not raw_windows:
        raise FreezeError("windows: at least one trading window is required")
    windows = tuple(_parse_window(w, f"windows[{i}]") for i, w in enumerate(raw_windows))

    holidays = frozenset(
        _parse_date(d, f"holidays[{i}]") for i, d in enumerate(raw.get("holidays") or [])
    )
    specials: dict[_dt.date, list[Window]] = {}
    for i, item in enumerate(raw.get("special_sessions") or []):
        what = f"special_sessions[{i}]"
        if not isinstance(item, dict):
            raise FreezeError(f"{what}: expected a mapping with date, start and end")
        day = _parse_date(item.get("date"), f"{what}.date")
        if day in holidays:
            raise FreezeError(
                f"{what}: {day.isoformat()} is also listed as a holiday; a date is either "
                "closed (holidays) or has a special session, not both"
            )
        specials.setdefault(day, []).append(_parse_window(item, what, days=(day.weekday(),)))
    return FreezeConfig(
        tz_name=raw["timezone"].strip(),
        tz=tz,
        windows=windows,
        holidays=holidays,
        special_sessions={d: tuple(w) for d, w in specials.items()},
        pre_buffer=_parse_buffer(raw.get("pre_buffer_minutes"), "pre_buffer_minutes"),
        post_buffer=_parse_buffer(raw.get("post_buffer_minutes"), "post_buffer_minutes"),
    )


def parse_now(value: Any) -> _dt.datetime:
    """Accept an aware datetime or an ISO 8601 string with an offset (or 'Z')."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise FreezeError(
                f"now: expected an ISO 8601 timestamp such as 2025-03-10T14:30:00Z, got {value!r}"
            ) from None
    if not isinstance(value, _dt.datetime):
        raise FreezeError(f"now: expected a timestamp, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise FreezeError(f"now: {value.isoformat()} has no UTC offset; give one (e.g. 'Z')")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- sessions


def _wall_to_utc(day: _dt.date, at: _dt.time, tz: Any, earliest: bool) -> _dt.datetime:
    """Resolve a local wall-clock time; for gaps/overlaps take the earliest or latest."""
    readings = [
        _dt.datetime.combine(day, at, tzinfo=tz).replace(fold=f).astimezone(UTC) for f in (0, 1)
    ]
    return min(readings) if earliest else max(readings)


def _sessions_on(cfg: FreezeConfig, day: _dt.date) -> list[Session]:
    if day in cfg.holidays:
        return []
    special = day in cfg.special_sessions
    windows = (
        cfg.special_sessions[day]
        if special
        else tuple(w for w in cfg.windows if day.weekday() in w.days)
    )
    sessions = []
    for w in windows:
        open_utc = _wall_to_utc(day, w.start, cfg.tz, earliest=True)
        end_day = day + _dt.timedelta(days=1) if w.crosses_midnight else day
        close_utc = _wall_to_utc(end_day, w.end, cfg.tz, earliest=False)
        sessions.append(
            Session(
                date=day,
                window=w,
                special=special,
                open_utc=open_utc,
                close_utc=close_utc,
                freeze_start_utc=open_utc - cfg.pre_buffer,
                freeze_end_utc=close_utc + cfg.post_buffer,
            )
        )
    return sessions


def _describe(cfg: FreezeConfig, session: Session, now: _dt.datetime) -> str:
    day = DAY_NAMES[session.date.weekday()].capitalize()
    kind = "special session" if session.special else "trading hours"
    what = f"{kind} {session.window.label()} {cfg.tz_name} ({day} {session.date.isoformat()})"
    if now < session.open_utc:
        minutes = int(cfg.pre_buffer.total_seconds() // 60)
        return f"inside the {minutes} min pre-open buffer of {what}"
    if now >= session.close_utc:
        minutes = int(cfg.post_buffer.total_seconds() // 60)
        return f"inside the {minutes} min post-close buffer of {what}"
    return f"inside {what}"


def find_session(cfg: FreezeConfig, now: _dt.datetime) -> Session | None:
    """The session whose frozen interval contains ``now``, if any."""
    local_day = now.astimezone(cfg.tz).date()
    # Buffers are at most 12 h and windows at most 24 h, so two days either side suffice.
    for offset in range(-2, 3):
        for session in _sessions_on(cfg, local_day + _dt.timedelta(days=offset)):
            if session.freeze_start_utc <= now < session.freeze_end_utc:
                return session
    return None


def next_session(cfg: FreezeConfig, now: _dt.datetime, days: int = 15) -> Session | None:
    """The next session whose freeze starts after ``now`` (looking ``days`` ahead)."""
    local_day = now.astimezone(cfg.tz).date()
    upcoming = [
        s
        for offset in range(-1, days)
        for s in _sessions_on(cfg, local_day + _dt.timedelta(days=offset))
        if s.freeze_start_utc > now
    ]
    return min(upcoming, key=lambda s: s.freeze_start_utc) if upcoming else None


# --------------------------------------------------------------------------- decision


def decide(
    raw_config: dict[str, Any] | FreezeConfig,
    now: Any,
    override_reason: str | None = None,
    actor: str | None = None,
) -> FreezeDecision:
    """Decide whether a change may run at ``now``.

    ``override_reason`` None means "no override requested"; a string must be non-empty
    (an empty or blank reason is an error, not a silent refusal).
    """
    cfg = raw_config if isinstance(raw_config, FreezeConfig) else parse_config(raw_config)
    now_utc = parse_now(now)
    if override_reason is not None:
        if not isinstance(override_reason, str) or not override_reason.strip():
            raise FreezeError("override_reason: an override needs a non-empty reason")
        override_reason = override_reason.strip()

    session = find_session(cfg, now_utc)
    local_now = now_utc.astimezone(cfg.tz)
    if session is not None:
        frozen = True
        reason = _describe(cfg, session, now_utc)
    else:
        frozen = False
        local_day = local_now.date()
        closed = " (market holiday)" if local_day in cfg.holidays else ""
        upcoming = next_session(cfg, now_utc)
        if upcoming is None:
            reason = f"outside trading hours{closed}; no session in the next 15 days"
        else:
            start = upcoming.freeze_start_utc.astimezone(cfg.tz)
            reason = (
                f"outside trading hours{closed}; next freeze starts "
                f"{start.strftime('%a %Y-%m-%d %H:%M %Z')}"
            )

    override_used = frozen and override_reason is not None
    allowed = not frozen or override_used
    if override_used:
        reason = f"{reason}; overridden: {override_reason}"
    if not frozen:
        decision = "allowed"
    elif override_used:
        decision = "overridden"
    else:
        decision = "refused"
    audit = {
        "timestamp": _iso(now_utc),
        "local_time": local_now.isoformat(),
        "timezone": cfg.tz_name,
        "decision": decision,
        "frozen": frozen,
        "override_used": override_used,
        "override_reason": override_reason,
        "actor": actor,
        "reason": reason,
    }
    return FreezeDecision(
        frozen=frozen,
        allowed=allowed,
        reason=reason,
        override_used=override_used,
        window=session.as_dict(cfg.tz_name) if session else None,
        audit=audit,
    )

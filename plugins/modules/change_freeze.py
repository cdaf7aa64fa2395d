#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: change_freeze
short_description: Refuse changes inside trading hours unless overridden with a reason
version_added: "0.1.0"
description:
  - Decides whether a change (typically an engine deploy) may run now, from a change-freeze
    configuration of trading-hours windows in the market's time zone, a holidays list,
    special sessions and pre/post buffers.
  - Inside a freeze window the module fails with a message that says which window is in
    force, unless O(override_reason) is given; an override is allowed and returned as an
    audit record for the caller to store.
  - Windows belong to the local date on which they open; an O(windows[].end) earlier than
    O(windows[].start) crosses midnight. A freeze runs from the opening minus
    O(pre_buffer_minutes), inclusive, to the close plus O(post_buffer_minutes), exclusive.
  - Around daylight-saving transitions, a wall-clock time that is ambiguous or does not
    exist is resolved conservatively (earliest reading for a start, latest for an end).
  - The decision is pure computation and never changes the host, so it behaves the same
    in check mode. Run it once, on the controller (delegate it to localhost and run it
    once per play).
author:
  - tradeops engineers (@tradeops)
requirements:
  - Python 3.9 or later (zoneinfo) and the IANA time zone database (Debian package tzdata).
attributes:
  check_mode:
    support: full
    description: The module only computes a decision; check mode behaves the same.
  diff_mode:
    support: none
    description: Nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs wherever Python 3.9+ with a time zone database runs.
options:
  timezone:
    description:
      - IANA time zone name of the market, for example C(America/New_York).
    type: str
    required: true
  windows:
    description:
      - Regular weekly trading windows.
    type: list
    elements: dict
    required: true
    suboptions:
      days:
        description:
          - Weekdays on which the window opens. Names C(mon) ... C(sun) (or full names),
            and ranges such as C(mon-fri).
        type: list
        elements: str
        required: true
      start: &opening_time
        description:
          - Opening time, C(HH:MM) local time.
        type: str
        required: true
      end:
        description:
          - Closing time, C(HH:MM) local time; C(24:00) means midnight at the end of the
            day. Earlier than O(windows[].start) means the window closes the next day.
            Equal to O(windows[].start) is an error.
        type: str
        required: true
  holidays:
    description:
      - Local dates (C(YYYY-MM-DD)) on which the market is closed; windows that would open
        on these dates do not apply, so there is no freeze.
    type: list
    elements: str
    default: []
  special_sessions:
    description:
      - Dates with other hours than the regular windows (for example half days). A special
        session replaces the regular windows of its date. A date may not be both a holiday
        and a special session.
    type: list
    elements: dict
    default: []
    suboptions:
      date:
        description:
          - Local date, C(YYYY-MM-DD).
        type: str
        required: true
      start: *opening_time
      end:
        description:
          - Closing time, C(HH:MM) local time (C(24:00) allowed; earlier than start crosses
            midnight).
        type: str
        required: true
  pre_buffer_minutes:
    description:
      - Minutes before each opening during which changes are already frozen (0 to 720).
    type: int
    default: 0
  post_buffer_minutes:
    description:
      - Minutes after each close during which changes are still frozen (0 to 720).
    type: int
    default: 0
  override_reason:
    description:
      - Run despite a freeze, for this reason. Must not be empty or blank. The reason is
        returned in RV(audit) for the caller to record.
    type: str
  actor:
    description:
      - Who asks for the change, recorded in RV(audit).
    type: str
  fail_when_frozen:
    description:
      - Fail the task when the change is frozen and not overridden. Set to V(false) to only
        query the decision (RV(allowed) tells the outcome).
    type: bool
    default: true
  now:
    description:
      - The instant to decide for, ISO 8601 with an offset (for example
        C(2025-03-10T14:30:00Z)). Defaults to the current time. Meant for tests and for
        previewing a planned change.
    type: str
notes:
  - Exactly at the opening of a window (plus buffer) is frozen; exactly at its close (plus
    buffer) is not.
"""

EXAMPLES = r"""
- name: Refuse engine deploys during NYSE trading hours
  tradeops.platform.change_freeze:
    timezone: America/New_York
    windows:
      - days: [mon-fri]
        start: "09:30"
        end: "16:00"
    holidays: ["2025-12-25", "2026-01-01"]
    special_sessions:
      - date: "2025-11-28"
        start: "09:30"
        end: "13:00"
    pre_buffer_minutes: 15
    post_buffer_minutes: 15
  delegate_to: localhost
  run_once: true

- name: Deploy a hotfix inside the freeze, with a recorded reason
  tradeops.platform.change_freeze:
    timezone: Asia/Tokyo
    windows:
      - days: [mon-fri]
        start: "09:00"
        end: "15:30"
    override_reason: "CHG-1234: venue certificate expires at 14:00"
    actor: "{{ lookup('ansible.builtin.env', 'USER') }}"
  delegate_to: localhost
  run_once: true
  register: freeze

- name: Only ask (an overnight futures session that crosses midnight)
  tradeops.platform.change_freeze:
    timezone: America/Chicago
    windows:
      - days: [sun-thu]
        start: "17:00"
        end: "16:00"
    fail_when_frozen: false
  delegate_to: localhost
  run_once: true
  register: freeze_status
"""

RETURN = r"""
summary:
  description:
    - "The decision and its reason in one line, for run summaries. A refusal under
      I(fail_when_frozen=false) reads C(not enforced here, would be refused: ...)."
  returned: success
  type: str
  sample: "allowed: outside trading hours; next freeze starts 2025-03-11T09:30:00-04:00"
frozen:
  description: Whether the instant lies inside a freeze window (including buffers).
  returned: success
  type: bool
  sample: true
allowed:
  description: Whether the change may run (not frozen, or frozen and overridden).
  returned: success
  type: bool
  sample: true
override_used:
  description: Whether an override was needed and applied.
  returned: success
  type: bool
  sample: true
reason:
  description: Human-readable explanation of the decision.
  returned: always
  type: str
  sample: "inside trading hours 09:30-16:00 America/New_York (Mon 2025-03-10)"
window:
  description: The session in force when frozen, with its UTC open/close and freeze bounds.
  returned: success
  type: dict
  sample:
    date: "2025-03-10"
    weekday: mon
    hours: "09:30-16:00"
    timezone: America/New_York
    special_session: false
    open: "2025-03-10T13:30:00Z"
    close: "2025-03-10T20:00:00Z"
    freeze_start: "2025-03-10T13:15:00Z"
    freeze_end: "2025-03-10T20:15:00Z"
audit:
  description: Record of the decision for the caller to store (who, when, what, why).
  returned: success
  type: dict
  sample:
    timestamp: "2025-03-10T14:30:00Z"
    local_time: "2025-03-10T10:30:00-04:00"
    timezone: America/New_York
    decision: overridden
    frozen: true
    override_used: true
    override_reason: "CHG-1234: venue certificate expires"
    actor: alice
    reason: "inside trading hours 09:30-16:00 America/New_York (Mon 2025-03-10); overridden: ..."
"""

import datetime  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.freeze import (  # noqa: E402
    HAS_ZONEINFO,
    FreezeError,
    decide,
)

_WINDOW_SPEC = {
    "days": {"type": "list", "elements": "str", "required": True},
    "start": {"type": "str", "required": True},
    "end": {"type": "str", "required": True},
}
_SPECIAL_SPEC = {
    "date": {"type": "str", "required": True},
    "start": {"type": "str", "required": True},
    "end": {"type": "str", "required": True},
}


ARGUMENT_SPEC = {
    "timezone": {"type": "str", "required": True},
    "windows": {"type": "list", "elements": "dict", "required": True, "options": _WINDOW_SPEC},
    "holidays": {"type": "list", "elements": "str", "default": []},
    "special_sessions": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": _SPECIAL_SPEC,
    },
    "pre_buffer_minutes": {"type": "int", "default": 0},
    "post_buffer_minutes": {"type": "int", "default": 0},
    "override_reason": {"type": "str"},
    "actor": {"type": "str"},
    "fail_when_frozen": {"type": "bool", "default": True},
    "now": {"type": "str"},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_ZONEINFO:
        module.fail_json(msg="change_freeze needs Python 3.9 or later (zoneinfo) on the host")
    p = module.params
    config = {
        k: p[k]
        for k in (
            "timezone",
            "windows",
            "holidays",
            "special_sessions",
            "pre_buffer_minutes",
            "post_buffer_minutes",
        )
    }
    now = p["now"] or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 (py3.9 targets)
    try:
        decision = decide(config, now, override_reason=p["override_reason"], actor=p["actor"])
    except FreezeError as exc:
        module.fail_json(msg=f"change freeze: {exc}")

    result = dict(changed=False, **decision.as_dict())
    # One line for run summaries; a refusal that is not enforced says so.
    unenforced = "" if decision.allowed else "not enforced here, would be "
    result["summary"] = f"{unenforced}{result['audit']['decision']}: {decision.reason}"
    if not decision.allowed and p["fail_when_frozen"]:
        module.fail_json(
            msg=f"change freeze in force: {decision.reason}. Retry outside the window, or "
            "give override_reason to proceed (it is recorded).",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()

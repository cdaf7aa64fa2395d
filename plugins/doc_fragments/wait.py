# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for a change to take effect: O(wait), and O(wait_delay) for modules that poll.

- ``tradeops.platform.wait``: O(wait). Every module that takes it also documents its own
  O(wait_timeout): how long is reasonable, and for which state, differs per resource.
- ``tradeops.platform.wait.delay``: O(wait_delay), for modules that probe at an interval
  of their own (instead of a botocore waiter).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - After a change, wait until the resource has reached the state the change asks for
        (O(wait_timeout) names it, and how long at most).
      - V(false) returns as soon as the change is requested.
    type: bool
    default: true
"""

    DELAY = r"""
options:
  wait_delay:
    description: Seconds between two probes while waiting.
    type: int
    default: 15
"""

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values as the collection's filters receive them, made plain for the Python behind them.

Ansible hands a filter lazy, tagged containers; the rules in module_utils want plain dicts,
lists and ints, read as Jinja would read them.
"""

from __future__ import annotations

from collections.abc import Mapping


def plain(value):
    """Variables as plain dicts and lists (reading each item renders what it templates)."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def as_int(value, default=0, base=10):
    """An integer as Jinja's int filter reads one: a string in `base`, "42.7" is 42,
    anything unreadable is `default`."""
    try:
        if isinstance(value, str):
            return int(value, base)
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default

# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The O(state) option of the modules that manage one AWS resource, present or absent.

Used as ``extends_documentation_fragment: [tradeops.platform.state]``. A module whose
``state`` means something else (more choices, another default, a configuration rather
than a resource) documents its own.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state:
    description:
      - Whether the resource the module manages exists.
      - V(present) creates it, or brings an existing one to the options given;
        V(absent) deletes it.
    type: str
    default: present
    choices: [present, absent]
"""

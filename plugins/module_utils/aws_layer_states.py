# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every layer's describe function, by its aws_layer_state `layer` name: the one table
of aws_layer_state (one layer) and aws_layers_state (several at once)."""

from __future__ import annotations

from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import alarms_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import audit_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import backup_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_edge import edge_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import LAYERS

# aws_state's layers, plus the ones whose describe lives in a module_utils of its own.
STATES = {
    **LAYERS,
    "audit": audit_state,
    "backup": backup_state,
    "edge": edge_state,
    "alarms": alarms_state,
}

"""moto_server, plus the four AWS Backup selection calls moto 5.2.5 lacks.

moto has no backup selection API (ListBackupSelections answers 500, "not implemented"), so
amazon.aws.backup_selection cannot run against it. This script starts moto's own server
after adding CreateBackupSelection, GetBackupSelection, ListBackupSelections and
DeleteBackupSelection to moto's backup backend, answering in AWS's documented shapes
(GetBackupSelection returns ListOfTags, NotResources and all four condition lists, empty
when not given), and makes DeleteBackupPlan refuse a plan that still has selections, as
AWS does. Everything else is stock moto. Used only by tests/integration/aws_backup; what it
proves is that the role drives the selection API correctly, not AWS's own behaviour.

    python moto_selections.py -H 127.0.0.1 -p <port>     (moto_server's arguments)
"""

from __future__ import annotations

import json
import sys

from moto.backup.exceptions import (
    AlreadyExistsException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random
from moto.server import main

_CONDITIONS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")


def _store(backend: BackupBackend) -> dict[str, dict[str, dict]]:
    """plan id -> selection id -> the GetBackupSelection answer."""
    return backend.__dict__.setdefault("tradeops_selections", {})


def _live_plan(backend: BackupBackend, plan_id: str):
    plan = backend.plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise ResourceNotFoundException(msg=f"Failed reading Backup plan {plan_id}")
    return plan


def create_backup_selection(self, plan_id, selection, creator_request_id=None):
    _live_plan(self, plan_id)
    selections = _store(self).setdefault(plan_id, {})
    name = selection.get("SelectionName")
    if any(s["BackupSelection"]["SelectionName"] == name for s in selections.values()):
        raise AlreadyExistsException(msg=f"Backup selection {name} already exists")
    conditions = selection.get("Conditions") or {}
    stored = {
        "BackupSelection": {
            "SelectionName": name,
            "IamRoleArn": selection.get("IamRoleArn"),
            "Resources": list(selection.get("Resources") or []),
            "ListOfTags": list(selection.get("ListOfTags") or []),
            "NotResources": list(selection.get("NotResources") or []),
            "Conditions": {key: list(conditions.get(key) or []) for key in _CONDITIONS},
        },
        "SelectionId": str(mock_random.uuid4()),
        "BackupPlanId": plan_id,
        "CreationDate": unix_time(),
    }
    if creator_request_id:
        stored["CreatorRequestId"] = creator_request_id
    selections[stored["SelectionId"]] = stored
    return stored


def get_backup_selection(self, plan_id, selection_id):
    _live_plan(self, plan_id)
    found = _store(self).get(plan_id, {}).get(selection_id)
    if found is None:
        raise ResourceNotFoundException(msg=f"Failed reading Backup selection {selection_id}")
    return found


def delete_backup_selection(self, plan_id, selection_id):
    self.get_backup_selection(plan_id, selection_id)
    del _store(self)[plan_id][selection_id]


_stock_delete_backup_plan = BackupBackend.delete_backup_plan


def delete_backup_plan(self, backup_plan_id):
    if _store(self).get(backup_plan_id):
        raise InvalidRequestException(
            msg="Related backup plan selections must be deleted prior to backup plan deletion"
        )
    return _stock_delete_backup_plan(self, backup_plan_id)


def _ids(response: BackupResponse) -> tuple[str, str]:
    """(plan id, selection id) of /backup/plans/<plan>/selections/[<selection>]."""
    parts = response.path.split("?")[0].strip("/").split("/")
    return parts[2], (parts[4] if len(parts) > 4 else "")


def r_create_backup_selection(self):
    plan_id, _ = _ids(self)
    body = json.loads(self.body or "{}")
    stored = self.backup_backend.create_backup_selection(
        plan_id, body.get("BackupSelection") or {}, body.get("CreatorRequestId")
    )
    return json.dumps({k: stored[k] for k in ("SelectionId", "BackupPlanId", "CreationDate")})


def r_get_backup_selection(self):
    return json.dumps(self.backup_backend.get_backup_selection(*_ids(self)))


def r_list_backup_selections(self):
    plan_id, _ = _ids(self)
    _live_plan(self.backup_backend, plan_id)
    listed = [
        {
            "SelectionId": s["SelectionId"],
            "SelectionName": s["BackupSelection"]["SelectionName"],
            "BackupPlanId": plan_id,
            "CreationDate": s["CreationDate"],
            "IamRoleArn": s["BackupSelection"]["IamRoleArn"],
        }
        for s in _store(self.backup_backend).get(plan_id, {}).values()
    ]
    return json.dumps({"BackupSelectionsList": listed})


def r_delete_backup_selection(self):
    self.backup_backend.delete_backup_selection(*_ids(self))
    return "{}"


BackupBackend.create_backup_selection = create_backup_selection
BackupBackend.get_backup_selection = get_backup_selection
BackupBackend.delete_backup_selection = delete_backup_selection
BackupBackend.delete_backup_plan = delete_backup_plan
BackupResponse.create_backup_selection = r_create_backup_selection
BackupResponse.get_backup_selection = r_get_backup_selection
BackupResponse.list_backup_selections = r_list_backup_selections
BackupResponse.delete_backup_selection = r_delete_backup_selection

if __name__ == "__main__":
    main(sys.argv[1:])

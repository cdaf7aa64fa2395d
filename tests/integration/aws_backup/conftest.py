"""Fixtures of the backup layer tests: a moto of their own (with the backup selection
calls moto lacks, moto_selections.py), behind the recording proxy."""

from __future__ import annotations

import re
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ..aws import apilog
from ..aws.apilog import ApiLog
from ..support import ROOT, MotoServer

SHIM = Path(__file__).with_name("moto_selections.py")

# AWS Backup is a REST service and CloudWatch an RPC v2 one: apilog names their calls
# "<METHOD> s3" (its fallback). Name them as the API does, for these tests' assertions;
# anything else is apilog's own naming.
_BACKUP_ROUTES = (
    ("PUT", r"^/backup-vaults/[^/]+/?$", "CreateBackupVault"),
    ("DELETE", r"^/backup-vaults/[^/]+/?$", "DeleteBackupVault"),
    ("PUT", r"^/backup/plans/?$", "CreateBackupPlan"),
    ("POST", r"^/backup/plans/[^/]+/?$", "UpdateBackupPlan"),
    ("DELETE", r"^/backup/plans/[^/]+/?$", "DeleteBackupPlan"),
    ("PUT", r"^/backup/plans/[^/]+/selections/?$", "CreateBackupSelection"),
    ("DELETE", r"^/backup/plans/[^/]+/selections/[^/]+/?$", "DeleteBackupSelection"),
    ("POST", r"^/tags/.+$", "TagResource"),
    ("POST", r"^/untag/.+$", "UntagResource"),
    ("GET", r"^/(backup-vaults|backup/plans|tags)(/.*)?$", "ListOrGetBackup"),
)


def moto_with_selections(tmp_path_factory, name: str) -> Iterator[MotoServer]:
    """Stock moto plus the selection calls it lacks (moto_selections.py), stopped after."""
    server = MotoServer(
        tmp_path_factory.mktemp(name) / "moto.log", command=[sys.executable, str(SHIM)]
    )
    yield server
    server.stop()


def api_log(moto: MotoServer) -> Iterator[ApiLog]:
    """The logging proxy in front of `moto`, with the backup calls' names (_operation)."""
    saved = apilog.operation
    apilog.operation = _operation
    log = ApiLog(moto.port)
    yield log
    log.stop()
    apilog.operation = saved


def _operation(method, path, headers, body, _inner=apilog.operation):
    route = urllib.parse.urlparse(path).path
    # CloudWatch speaks Smithy RPC v2 (CBOR): POST /service/<service>/operation/<Operation>.
    rpc = re.match(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$", route)
    if rpc:
        return rpc.group(1)
    for verb, pattern, name in _BACKUP_ROUTES:
        if method == verb and re.match(pattern, route):
            return name
    return _inner(method, path, headers, body)


@pytest.fixture(scope="package")
def backup_moto(tmp_path_factory) -> Iterator[MotoServer]:
    """Not the session's moto: these tests build and tear down an account of their own."""
    yield from moto_with_selections(tmp_path_factory, "backup-moto")


@pytest.fixture(scope="package")
def backup_api(backup_moto) -> Iterator[ApiLog]:
    """Every call of the playbooks goes through this proxy (the lab inventory's moto port)."""
    yield from api_log(backup_moto)


@pytest.fixture(scope="package")
def backup_outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("backup-outputs")


# Only what the security layer must give the backup layer: keys in both regions and the
# backup role (no secrets, no other roles: a third of the time of the full layer).
SECURITY_INPUTS = {
    "aws_security_secrets": [],
    "aws_security_iam_roles": [
        {
            "key": "backup",
            "service": "backup.amazonaws.com",
            "managed_policies": [
                "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
            ],
            "inline_policies": [],
        }
    ],
}


def plan_rules(rules: list[dict]) -> dict[str, tuple]:
    """A backup plan's rules as the tests compare them: {name: (vault, schedule, start and
    completion windows, lifecycle, copy actions)}."""
    return {
        r["RuleName"]: (
            r["TargetBackupVaultName"],
            r["ScheduleExpression"],
            r["StartWindowMinutes"],
            r["CompletionWindowMinutes"],
            r["Lifecycle"],  # no cold storage
            r["CopyActions"],
        )
        for r in rules
    }


def wanted_rules(vault: str, copy_to: str) -> dict[str, tuple]:
    """The rules of the role's defaults (windows 60/480), read as plan_rules reads a plan
    that backs up into `vault` and copies to the vault ARN `copy_to`."""
    defaults = yaml.safe_load((ROOT / "roles/aws_backup/defaults/main.yml").read_text())
    return {
        r["name"]: (
            vault,
            r["schedule"],
            60,
            480,
            {"DeleteAfterDays": r["retention_days"]},
            [
                {
                    "DestinationBackupVaultArn": copy_to,
                    "Lifecycle": {"DeleteAfterDays": r["dr_retention_days"]},
                }
            ],
        )
        for r in defaults["aws_backup_rules"]
    }

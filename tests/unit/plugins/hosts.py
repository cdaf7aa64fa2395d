"""Fixture helpers: recorded host trees and the shipped profiles."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml
from ansible_collections.tradeops.platform.plugins.module_utils.host_facts import gather

REPO = Path(__file__).resolve().parents[3]
HOSTS = REPO / "tests" / "unit" / "fixtures" / "hosts"
PROFILES = REPO / "roles" / "engine_tuning" / "files" / "profiles"
MACHINES = ("c5n_18xlarge", "c5n_metal", "baremetal_sriov", "lab")


def fixture_runner(machine):
    """Answer ``ethtool -X <if>`` from tests/unit/fixtures/hosts/<machine>/cmd/."""

    def run(argv):
        assert Path(argv[0]).name == "ethtool", argv
        path = HOSTS / machine / "cmd" / f"ethtool_{argv[1]}_{argv[2]}.txt"
        if not path.exists():
            return 1, "", "no such device"
        rc = 1 if path.with_suffix(".rc").exists() else 0
        return rc, path.read_text(), ""

    return run


def no_imds(_timeout):
    raise AssertionError("the metadata service must never be contacted in tests")


@functools.cache
def _facts(machine):
    return gather(
        root=str(HOSTS / machine / "root"),
        run=fixture_runner(machine),
        imds=no_imds,
        ethtool="ethtool",
        ec2_metadata="never",
        interfaces=("eth0", "veth0") if machine == "lab" else None,
    )


def host_facts(machine):
    return copy.deepcopy(_facts(machine))


def profile(machine):
    return yaml.safe_load((PROFILES / f"{machine}.yml").read_text())

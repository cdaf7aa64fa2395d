"""Lab configuration: the network rule, names, image caching by recipe."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tradeops.lab import Lab, LabError, lab_subnet

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("subnet", ["198.18.0.0/24", "198.19.255.0/24", "198.18.0.0/16"])
def test_lab_subnets_inside_the_benchmarking_range_are_accepted(subnet):
    assert str(lab_subnet(subnet)) == subnet


@pytest.mark.parametrize(
    ("subnet", "why"),
    [
        ("10.0.0.0/24", "must lie inside 198.18.0.0/15"),
        ("192.168.1.0/24", "must lie inside"),
        ("198.20.0.0/24", "must lie inside"),
        ("198.18.0.0/28", "too small"),
        ("not-a-net", "not a network"),
    ],
)
def test_other_subnets_are_refused(subnet, why):
    with pytest.raises(LabError, match=why):
        lab_subnet(subnet)


def test_every_host_address_is_inside_the_lab_subnet(monkeypatch):
    monkeypatch.delenv("TRADEOPS_LAB_SUBNET", raising=False)
    lab = Lab(root=ROOT)
    addresses = [lab.ip(h) for h in lab.hosts]
    assert len(set(addresses)) == len(addresses)
    assert all(a.startswith("198.18.0.") for a in addresses)
    assert str(lab.subnet[1]) not in addresses  # .1 is the gateway


def test_names_carry_the_lab_name(monkeypatch):
    monkeypatch.setenv("TRADEOPS_LAB_NAME", "ci")
    monkeypatch.setenv("TRADEOPS_MOTO_PORT", "5123")
    lab = Lab(root=ROOT)
    assert lab.network == "ci-net"
    assert lab.container("mon-1") == "ci-mon-1"
    assert lab.moto_url == "http://127.0.0.1:5123"


def test_image_tag_changes_with_its_recipe(tmp_path):
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "lab", copy / "lab")
    (copy / "site.yml").write_text("---\n")
    before = Lab(root=copy).image_ref()
    assert before == Lab(root=copy).image_ref()
    packages = copy / "lab" / "image" / "packages.txt"
    packages.write_text(packages.read_text() + "chrony\n")
    assert Lab(root=copy).image_ref() != before


def test_moto_pid_is_only_trusted_for_a_moto_process(tmp_path):
    import os

    lab = Lab(root=ROOT)
    lab.state = tmp_path
    (tmp_path / "moto.pid").write_text(f"{os.getpid()}\n")  # pytest, not moto
    assert lab.moto_pid() is None
    (tmp_path / "moto.pid").write_text("garbage\n")
    assert lab.moto_pid() is None

"""The set-up's guard for a user who is not root."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .support import ROOT


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root + setpriv")
def test_non_root_user_is_told_what_to_do():
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(ROOT / "dev"), "setup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"},
    )
    assert proc.returncode == 3
    assert "must run as root" in proc.stderr
    assert "./dev setup" in proc.stderr


def test_image_mirror_comes_from_the_machines_apt_sources():
    """build.sh takes the Debian archive from apt's own view of its sources."""
    if not shutil.which("apt-get"):
        pytest.skip("not a Debian machine")
    mirror, suite = subprocess.run(
        ["bash", str(ROOT / "lab" / "image" / "build.sh"), "--mirror"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    sources = subprocess.run(
        ["apt-get", "indextargets", "--format", "$(REPO_URI) $(CODENAME)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert f"{mirror} {suite}" in sources
    assert "security" not in mirror

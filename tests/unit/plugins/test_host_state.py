"""host_state: the fingerprint of what a role left on a host, field by field, and the module."""

from __future__ import annotations

import os
import pwd
import stat

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils import host_state as hs
from ansible_collections.tradeops.platform.plugins.modules import host_state as mod

from .module_run import run_main

# ------------------------------------------------------------------ files


def test_a_file_is_its_type_mode_owner_and_content(tmp_path):
    path = tmp_path / "sysctl.conf"
    path.write_text("vm.swappiness = 10\n")
    path.chmod(0o644)
    before = hs.file_print(str(path))
    st = path.stat()
    assert before.startswith(f"file 0644 {st.st_uid}:{st.st_gid} sha256:")
    path.write_text("vm.swappiness = 60\n")
    assert hs.file_print(str(path)) != before
    path.write_text("vm.swappiness = 10\n")
    assert hs.file_print(str(path)) == before
    path.chmod(0o600)
    assert hs.file_print(str(path)).startswith("file 0600 ")


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_file_given_to_another_owner_differs(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    before = hs.file_print(str(path))
    os.chown(path, 1, 1)
    assert hs.file_print(str(path)) != before
    assert " 1:1 " in hs.file_print(str(path))


def test_directories_links_and_missing_paths(tmp_path):
    (tmp_path / "d").mkdir(mode=0o755)
    (tmp_path / "d").chmod(0o755)
    (tmp_path / "l").symlink_to("d")
    assert hs.file_print(str(tmp_path / "d")).startswith("directory 0755 ")
    assert hs.file_print(str(tmp_path / "l")) == "link d"
    assert hs.file_print(str(tmp_path / "nope")) == hs.ABSENT
    # a directory's fingerprint does not change with what is in it
    before = hs.file_print(str(tmp_path / "d"))
    (tmp_path / "d" / "metrics.prom").write_text("x 1\n")
    assert hs.file_print(str(tmp_path / "d")) == before


def test_a_glob_records_the_names_it_matches_and_each_match(tmp_path):
    (tmp_path / "a.cfg").write_text("A")
    pattern = str(tmp_path / "*.cfg")
    first = hs.files_print([pattern])
    assert first[f"glob:{pattern}"] == str(tmp_path / "a.cfg")
    assert first[f"file:{tmp_path / 'a.cfg'}"].startswith("file ")
    (tmp_path / "b.cfg").write_text("B")
    second = hs.files_print([pattern])
    assert second[f"glob:{pattern}"] != first[f"glob:{pattern}"]
    assert f"file:{tmp_path / 'b.cfg'}" in second
    assert hs.files_print([str(tmp_path / "*.none")]) == {f"glob:{tmp_path / '*.none'}": hs.ABSENT}


# ------------------------------------------------------------------ sysctls, mounts


def test_sysctls_are_read_live_whitespace_normalised(tmp_path):
    (tmp_path / "sys" / "net" / "ipv4").mkdir(parents=True)
    (tmp_path / "sys" / "net" / "ipv4" / "tcp_rmem").write_text("4096\t131072  6291456\n")
    items = hs.sysctls_print(["net.ipv4.tcp_rmem", "kernel.nope"], proc=str(tmp_path))
    assert items == {
        "sysctl:net.ipv4.tcp_rmem": "4096 131072 6291456",
        "sysctl:kernel.nope": hs.ABSENT,
    }


def test_mounts_are_source_type_and_options():
    text = (
        "proc /proc proc rw,nosuid 0 0\n"
        "hugetlbfs /mnt/huge hugetlbfs rw,relatime,pagesize=2M,mode=1770 0 0\n"
    )
    assert hs.mounts_print(["/mnt/huge", "/mnt/huge/", "/mnt/none"], text) == {
        "mount:/mnt/huge": "hugetlbfs hugetlbfs rw,relatime,pagesize=2M,mode=1770",
        "mount:/mnt/huge/": "hugetlbfs hugetlbfs rw,relatime,pagesize=2M,mode=1770",
        "mount:/mnt/none": hs.ABSENT,
    }


def test_users_and_groups_are_their_ids_home_shell_and_members():
    items = hs.accounts_print(["root", "no-such-user-x"], ["root", "no-such-group-x"])
    assert items["user:root"] == "0 0 /root " + pwd.getpwnam("root").pw_shell
    assert items["user:no-such-user-x"] == hs.ABSENT
    assert items["group:root"].split()[0] == "0"
    assert items["group:no-such-group-x"] == hs.ABSENT


# ------------------------------------------------------------------ units, packages

SHOW = (
    "LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
    "LoadState=not-found\nActiveState=inactive\nUnitFileState=\n\n"
    "LoadState=loaded\nActiveState=failed\nUnitFileState=disabled\n"
)


def test_units_are_load_enablement_and_activity_in_the_order_asked():
    items = hs.parse_systemctl_show(SHOW, ["chrony.service", "irqbalance.service", "x.service"])
    assert items == {
        "unit:chrony.service": "loaded enabled active",
        "unit:irqbalance.service": "not-found - inactive",
        "unit:x.service": "loaded disabled failed",
    }


def test_a_systemctl_answer_that_does_not_match_the_units_asked_is_an_error():
    with pytest.raises(ValueError, match="2 blocks for 3 units"):
        hs.parse_systemctl_show(SHOW.rsplit("\n\n", 1)[0], ["a", "b", "c"])


def test_units_print_asks_systemctl_once_for_every_unit():
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, SHOW, ""

    hs.units_print(["chrony.service", "irqbalance.service", "x.service"], run)
    assert len(calls) == 1
    assert calls[0][-3:] == ["chrony.service", "irqbalance.service", "x.service"]
    assert hs.units_print([], run) == {} and len(calls) == 1


def test_packages_installed_version_or_absent():
    out = (
        "chrony\t4.3-2\tinstalled\nethtool\t1:6.1-1\tinstalled\nirqbalance\t1.9.2-1\tconfig-files\n"
    )
    items = hs.parse_package_list(out, ["chrony", "ethtool", "irqbalance", "linuxptp"])
    assert items == {
        "package:chrony": "4.3-2",
        "package:ethtool": "1:6.1-1",
        "package:irqbalance": hs.ABSENT,  # removed, only its configuration left
        "package:linuxptp": hs.ABSENT,
    }


def test_packages_use_rpm_where_there_is_no_dpkg():
    seen = []

    def run(argv):
        seen.append(argv[0])
        return 1, "chrony\t4.5-1.el9\tinstalled\npackage ethtool is not installed\n", ""

    items = hs.packages_print(["chrony", "ethtool"], run, which=lambda name: name == "rpm")
    assert seen == ["rpm"]
    assert items == {"package:chrony": "4.5-1.el9", "package:ethtool": hs.ABSENT}


# ------------------------------------------------------------------ differences, record


def test_no_record_other_version_other_inputs():
    assert hs.differences(None, "i", {}) == ["no record of an earlier converge on this host"]
    assert "another version" in hs.differences({"version": 0}, "i", {})[0]
    assert (
        "inputs changed" in hs.differences({"version": 1, "inputs": "j", "items": {}}, "i", {})[0]
    )


def test_each_item_that_moved_is_named():
    record = {
        "version": 1,
        "inputs": "i",
        "items": {"file:/a": "file 1", "unit:u": "loaded enabled active", "file:/old": "x"},
    }
    now = {"file:/a": "file 2", "unit:u": "loaded enabled active", "file:/new": "y"}
    reasons = hs.differences(record, "i", now)
    assert reasons == [
        "file:/a changed since the last converge: file 1 -> file 2",
        "file:/new is watched now but was not at the last converge",
        "file:/old is no longer watched",
    ]
    assert hs.differences(record, "i", dict(record["items"])) == []


def test_the_record_is_root_only_and_reads_back(tmp_path):
    path = hs.record_path(str(tmp_path / "state"), "engine_tuning")
    hs.write_record(path, hs.record_text("i", {"file:/a": "file 1"}))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700
    assert hs.differences(hs.read_record(path), "i", {"file:/a": "file 1"}) == []
    (tmp_path / "state" / "engine_tuning.json").write_text("{not json")
    assert hs.read_record(path) == {}
    with pytest.raises(ValueError):
        hs.record_path(str(tmp_path), "../etc/passwd")


# ------------------------------------------------------------------ the module


def run_module(args, check_mode=False):
    return run_main(mod.main, args, check_mode)


@pytest.fixture
def host(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "a.conf").write_text("a = 1\n")
    (etc / "drop.d").mkdir()
    return {
        "name": "role_x",
        "inputs": "digest-1",
        "dir": str(tmp_path / "records"),
        "watch": {
            "files": [str(etc / "a.conf"), str(etc / "drop.d"), str(etc / "drop.d" / "*.cfg")]
        },
    }


def test_record_then_check_is_settled_until_something_moves(host, tmp_path):
    rc, out = run_module(host)
    assert rc == 0 and out["settled"] is False
    assert out["reasons"] == ["no record of an earlier converge on this host"]

    rc, out = run_module(dict(host, state="record"), check_mode=True)
    assert rc == 0 and out["changed"] is False
    assert not (tmp_path / "records").exists()  # check mode writes no record

    rc, out = run_module(dict(host, state="record"))
    assert rc == 0 and out["changed"] is False and out["watched"] == 3
    rc, out = run_module(host)
    assert (out["settled"], out["reasons"]) == (True, [])
    rc, out = run_module(host, check_mode=True)
    assert out["settled"] is True

    (tmp_path / "etc" / "drop.d" / "other.cfg").write_text("b\n")  # another file in a watched glob
    rc, out = run_module(host)
    assert out["settled"] is False
    assert any(r.startswith(f"glob:{tmp_path}/etc/drop.d/*.cfg changed") for r in out["reasons"])
    os.remove(tmp_path / "etc" / "drop.d" / "other.cfg")
    assert run_module(host)[1]["settled"] is True

    (tmp_path / "etc" / "a.conf").write_text("a = 2\n")  # a hand edit
    assert run_module(host)[1]["reasons"][0].startswith(
        f"file:{tmp_path}/etc/a.conf changed since the last converge"
    )
    (tmp_path / "etc" / "a.conf").write_text("a = 1\n")
    # new options or role files
    assert run_module(dict(host, inputs="digest-2"))[1]["settled"] is False


def test_a_pending_reboot_is_never_settled(host, monkeypatch):
    run_module(dict(host, state="record"))
    isolated = dict(
        host, booted_args=["isolcpus=2-3", "nohz_full=2-3"], owned_keys=["isolcpus", "nohz_full"]
    )
    monkeypatch.setattr(mod.ka, "read", lambda path: "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet\n")
    out = run_module(isolated)[1]
    assert out["settled"] is False
    assert out["reasons"] == [
        "the running kernel's command line lacks what was written (a reboot is pending)"
    ]
    monkeypatch.setattr(mod.ka, "read", lambda path: "root=/dev/sda1 isolcpus=2-3 nohz_full=2-3\n")
    assert run_module(isolated)[1]["settled"] is True


def test_a_unit_read_failure_stops_the_check_with_the_command(host, monkeypatch):
    monkeypatch.setattr(
        mod.AnsibleModule,
        "run_command",
        lambda self, argv, **kw: (1, "", "Failed to connect to bus"),
    )
    rc, out = run_module(dict(host, watch={"units": ["chrony.service"]}))
    assert rc == 1
    assert "systemctl show" in out["msg"] and "Failed to connect to bus" in out["msg"]


# ------------------------------------------------------------------ the inputs digest (controller)


def test_the_inputs_digest_follows_role_files_options_and_derived_values(tmp_path):
    from ansible_collections.tradeops.platform.plugins.plugin_utils import host_state_inputs as hsi

    role = tmp_path / "role_x"
    (role / "meta").mkdir(parents=True)
    (role / "templates").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n"
        "      x_port: {type: int}\n      x_user: {type: str}\n"
    )
    (role / "templates" / "a.j2").write_text("port={{ x_port }}\n")
    assert hsi.option_names(str(role)) == ["x_port", "x_user"]
    with pytest.raises(ValueError, match="no entry point 'other'"):
        hsi.option_names(str(role), "other")

    def digest(options, extra=None):
        hsi._TREES.clear()
        return hsi.inputs_digest(str(role), options, extra)

    base = digest({"x_port": 1, "x_user": "u"}, {"render": {"a": [1, 2]}})
    assert base == digest({"x_user": "u", "x_port": 1}, {"render": {"a": [1, 2]}})  # order-free
    assert base != digest({"x_port": 2, "x_user": "u"}, {"render": {"a": [1, 2]}})
    assert base != digest({"x_port": 1, "x_user": "u"}, {"render": {"a": [2, 1]}})
    (role / "templates" / "a.j2").write_text("port = {{ x_port }}\n")  # a new collection version
    assert base != digest({"x_port": 1, "x_user": "u"}, {"render": {"a": [1, 2]}})

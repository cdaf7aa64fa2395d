"""The kernel_args module on fixture bootloader trees (copied to tmp_path).

No bootloader tool runs: ``run_command`` is answered by fakes (``update-grub`` writes a
grub.cfg from the defaults files it is given; ``grubby`` keeps boot entries in memory with
grubby's one-token-per-key behaviour).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.tradeops.platform.plugins.module_utils import kernel_args as ka
from ansible_collections.tradeops.platform.plugins.modules import kernel_args

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kernel_args"

LAB_ARGS = [
    "isolcpus=managed_irq,domain,1",
    "rcu_nocbs=1",
    "irqaffinity=0",
    "skew_tick=1",
    "nosoftlockup",
    "default_hugepagesz=2M",
    "hugepagesz=2M",
    "hugepages=64",
    "transparent_hugepage=never",
]
OWNED = [
    "isolcpus",
    "nohz_full",
    "rcu_nocbs",
    "irqaffinity",
    "skew_tick",
    "nosoftlockup",
    "intel_idle.max_cstate",
    "processor.max_cstate",
    "default_hugepagesz",
    "hugepagesz",
    "hugepages",
    "transparent_hugepage",
    "audit",
]


class Exited(Exception):
    pass


class Failed(Exception):
    pass


def grub_cfg_from(tree: Path) -> str:
    """What update-grub would generate: defaults + drop-ins sourced in order."""
    values = {"GRUB_CMDLINE_LINUX": "", "GRUB_CMDLINE_LINUX_DEFAULT": ""}
    files = [tree / "etc/default/grub"]
    dropins = tree / "etc/default/grub.d"
    if dropins.is_dir():
        files += sorted(dropins.glob("*.cfg"))
    for path in files:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            m = ka.ASSIGN_RE.match(line)
            if m:
                val = m.group("val")
                for var, cur in values.items():
                    val = val.replace("${" + var + "}", cur).replace("$" + var, cur)
                values[m.group("var")] = val.strip()
    args = f"{values['GRUB_CMDLINE_LINUX']} {values['GRUB_CMDLINE_LINUX_DEFAULT']}".split()
    return f"menuentry 'Debian' {{\n\tlinux\t/boot/vmlinuz root=/dev/vda1 ro {' '.join(args)}\n}}\n"


class FakeGrubby:
    def __init__(self, text):
        self.entries = ka.parse_grubby_info(text)
        self.calls = []

    def info(self):
        out = []
        for e in self.entries:
            out += [
                f"index={e['index']}",
                f'kernel="{e["kernel"]}"',
                f'args="{" ".join(e["args"])}"',
            ]
        return "\n".join(out) + "\n"

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[1] == "--info=ALL":
            return 0, self.info(), ""
        flag, value = argv[2].split("=", 1)
        for e in self.entries:
            for token in value.split():
                if flag == "--remove-args":
                    e["args"] = [t for t in e["args"] if t != token and t != ka.arg_key(token)]
                else:  # grubby replaces a token with the same key
                    keys = [ka.arg_key(t) for t in e["args"]]
                    if ka.arg_key(token) in keys:
                        e["args"][keys.index(ka.arg_key(token))] = token
                    else:
                        e["args"].append(token)
        return 0, "", ""


@pytest.fixture
def tree(tmp_path, request):
    src = FIXTURES / request.param
    dst = tmp_path / request.param
    shutil.copytree(src, dst)
    return dst


def run(monkeypatch, tree, bins=("update-grub",), grubby=None, check=False, diff=True, **args):
    calls = []

    def run_command(self, argv, **_kwargs):
        calls.append(list(argv))
        name = Path(argv[0]).name
        if name == "grubby":
            return grubby(argv)
        if name in ("update-grub", "grub-mkconfig"):
            (tree / "boot/grub").mkdir(parents=True, exist_ok=True)
            (tree / "boot/grub/grub.cfg").write_text(grub_cfg_from(tree))
            return 0, "", ""
        raise AssertionError(f"unexpected command {argv}")

    def get_bin_path(self, name, required=False, *_a, **_k):
        if name in bins:
            return f"/usr/sbin/{name}"
        if required:
            raise Failed({"msg": f"{name} not found"})
        return None

    def exit_json(self, **kwargs):
        raise Exited(kwargs)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    params = {
        "owner": "engine_tuning",
        "grub_defaults": str(tree / "etc/default/grub"),
        "grub_dropin_dir": str(tree / "etc/default/grub.d"),
        "grub_cfg": str(tree / "boot/grub/grub.cfg"),
        "proc_cmdline": str(tree / "proc_cmdline"),
        "_ansible_check_mode": check,
        "_ansible_diff": diff,
        **args,
    }
    with patch_module_args(params), pytest.raises(Exited) as info:
        kernel_args.main()
    result = info.value.args[0]
    json.dumps(result)
    return result, calls


def snapshot(tree: Path) -> dict:
    return {str(p.relative_to(tree)): p.read_text() for p in sorted(tree.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ pure helpers


def test_rewrite_keeps_other_args_and_order_of_owned_block():
    tokens = ["ro", "quiet", "hugepagesz=2M", "hugepages=16", "console=ttyS0"]
    want = ["hugepagesz=2M", "hugepages=64", "hugepagesz=1G", "hugepages=4"]
    out = ka.rewrite_tokens(tokens, want, ka.owned_set(["hugepages"], want))
    assert out == ["ro", "quiet", "console=ttyS0", *want]
    assert ka.rewrite_tokens(out, want, ka.owned_set([], want)) == out


def test_edit_defaults_text_strips_and_appends():
    text = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet isolcpus=3"\nGRUB_CMDLINE_LINUX=""\n'
    out = ka.edit_defaults_text(text, ["isolcpus=1"], {"isolcpus"}, "GRUB_CMDLINE_LINUX")
    assert out == 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="isolcpus=1"\n'


def test_parse_grubby_info_fixture():
    entries = ka.parse_grubby_info((FIXTURES / "rhel9/grubby_info_all.txt").read_text())
    assert [e["index"] for e in entries] == [0, 1]
    assert "nohz_full=2-5" in entries[0]["args"]


def test_grub_cfg_tokens_reads_first_linux_line():
    text = (FIXTURES / "debian/boot/grub/grub.cfg").read_text()
    assert ka.grub_cfg_tokens(text)[-1] == "quiet"


# ------------------------------------------------------------------- grub backend


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_grub_dropin_converges_and_is_idempotent(monkeypatch, tree):
    main_before = (tree / "etc/default/grub").read_text()
    result, calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED)
    assert result["changed"] and result["backend"] == "grub"
    dropin = tree / "etc/default/grub.d/99-engine_tuning-kernel-args.cfg"
    assert " ".join(LAB_ARGS) in dropin.read_text()
    assert (tree / "etc/default/grub").read_text() == main_before  # nothing owned there
    assert calls == [["/usr/sbin/update-grub"]]
    assert result["bootloader_updated"] and result["bootloader_current"] is True
    assert result["reboot_required"] and result["missing"] == LAB_ARGS
    assert result["diff"][0]["after_header"] == str(dropin)
    before = snapshot(tree)
    again, calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED)
    assert not again["changed"] and calls == [] and snapshot(tree) == before
    assert again["reboot_required"]  # still not booted


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_grub_check_mode_writes_nothing(monkeypatch, tree):
    before = snapshot(tree)
    result, calls = run(monkeypatch, tree, check=True, args=LAB_ARGS, owned_keys=OWNED)
    assert result["changed"] and result["files"] and result["diff"]
    assert calls == [] and snapshot(tree) == before


@pytest.mark.parametrize("tree", ["ubuntu_cloud"], indirect=True)
def test_grub_removes_owned_tokens_everywhere_and_leaves_the_rest(monkeypatch, tree):
    result, _calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED)
    main = (tree / "etc/default/grub").read_text()
    cloud = (tree / "etc/default/grub.d/50-cloudimg-settings.cfg").read_text()
    assert 'GRUB_CMDLINE_LINUX="crashkernel=auto"' in main
    assert 'GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"' in main
    assert "intel_idle" not in cloud and "nvme_core.io_timeout=4294967295" in cloud
    assert "# CLOUD_IMG: This file was created" in cloud  # comments stay
    generated = ka.grub_cfg_tokens((tree / "boot/grub/grub.cfg").read_text())
    assert ka.in_effect(generated, LAB_ARGS, ka.owned_set(OWNED, LAB_ARGS))
    assert "console=ttyS0" in generated and "crashkernel=auto" in generated
    assert set(result["stale"]) == {"isolcpus=3-5", "audit=1", "intel_idle.max_cstate=1"}


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_grub_without_dropin_edits_grub_cmdline_linux(monkeypatch, tree):
    run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED)
    result, _calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED, grub_dropin=False)
    assert result["changed"]
    assert not (tree / "etc/default/grub.d/99-engine_tuning-kernel-args.cfg").exists()
    main = (tree / "etc/default/grub").read_text()
    assert f'GRUB_CMDLINE_LINUX="{" ".join(LAB_ARGS)}"' in main
    again, _calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED, grub_dropin=False)
    assert not again["changed"]


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_grub_stale_generated_config_is_regenerated(monkeypatch, tree):
    """Files written by an earlier run whose update-grub never happened."""
    run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED, update_bootloader=False)
    assert "hugepages" not in (tree / "boot/grub/grub.cfg").read_text()
    result, calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED)
    assert calls == [["/usr/sbin/update-grub"]] and result["bootloader_updated"]
    assert result["bootloader_current"] is True


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_grub_without_bootloader_tool(monkeypatch, tree):
    shutil.rmtree(tree / "boot")
    with pytest.raises(Failed, match="update-grub"):
        run(monkeypatch, tree, bins=(), args=LAB_ARGS, owned_keys=OWNED)
    result, calls = run(
        monkeypatch, tree, bins=(), args=LAB_ARGS, owned_keys=OWNED, update_bootloader=False
    )
    assert calls == [] and result["bootloader_current"] is None


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_grub_reboot_not_required_once_booted(monkeypatch, tree):
    line = (tree / "proc_cmdline").read_text().strip()
    (tree / "proc_cmdline").write_text(line + " " + " ".join(LAB_ARGS) + "\n")
    result, _calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED)
    assert not result["reboot_required"] and result["missing"] == [] and result["stale"] == []


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_absent_removes_the_dropin(monkeypatch, tree):
    run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED)
    result, _calls = run(monkeypatch, tree, args=LAB_ARGS, owned_keys=OWNED, state="absent")
    assert result["changed"] and result["args"] == []
    assert not (tree / "etc/default/grub.d/99-engine_tuning-kernel-args.cfg").exists()
    assert "hugepages" not in (tree / "boot/grub/grub.cfg").read_text()


@pytest.mark.parametrize("tree", ["debian"], indirect=True)
def test_rejects_tokens_with_whitespace(monkeypatch, tree):
    with pytest.raises(Failed, match="single tokens"):
        run(monkeypatch, tree, args=["isolcpus=1 nohz_full=1"])


# ----------------------------------------------------------------- grubby backend


@pytest.mark.parametrize("tree", ["rhel9"], indirect=True)
def test_grubby_replaces_owned_args_on_all_entries(monkeypatch, tree):
    grubby = FakeGrubby((tree / "grubby_info_all.txt").read_text())
    want = [a for a in LAB_ARGS if not a.startswith("hugepage")]
    result, _calls = run(
        monkeypatch, tree, bins=("grubby",), grubby=grubby, args=want, owned_keys=OWNED
    )
    assert result["backend"] == "grubby" and result["changed"] and result["bootloader_updated"]
    for entry in grubby.entries:
        assert ka.in_effect(entry["args"], want, ka.owned_set(OWNED, want))
        assert "nohz_full=2-5" not in entry["args"] and "net.ifnames=0" in entry["args"]
    main = (tree / "etc/default/grub").read_text()
    assert re.search(r'GRUB_CMDLINE_LINUX=".*net\.ifnames=0.*isolcpus=managed_irq', main)
    assert result["stale"] == ["nohz_full=2-5"] and result["reboot_required"]
    n_calls = len(grubby.calls)
    again, _calls = run(
        monkeypatch, tree, bins=("grubby",), grubby=grubby, args=want, owned_keys=OWNED
    )
    assert not again["changed"] and len(grubby.calls) == n_calls + 1  # one --info=ALL


@pytest.mark.parametrize("tree", ["rhel9"], indirect=True)
def test_grubby_check_mode(monkeypatch, tree):
    grubby = FakeGrubby((tree / "grubby_info_all.txt").read_text())
    before = snapshot(tree)
    result, _calls = run(
        monkeypatch,
        tree,
        bins=("grubby",),
        grubby=grubby,
        check=True,
        args=LAB_ARGS,
        owned_keys=OWNED,
    )
    assert result["changed"] and len(result["diff"]) == 3  # grub defaults + 2 entries
    assert [c[1] for c in grubby.calls] == ["--info=ALL"] and snapshot(tree) == before


@pytest.mark.parametrize("tree", ["rhel9"], indirect=True)
def test_grubby_two_hugepage_sizes_fail_loudly(monkeypatch, tree):
    grubby = FakeGrubby((tree / "grubby_info_all.txt").read_text())
    want = ["hugepagesz=2M", "hugepages=64", "hugepagesz=1G", "hugepages=4"]
    with pytest.raises(Failed, match="one token per key"):
        run(monkeypatch, tree, bins=("grubby",), grubby=grubby, args=want, owned_keys=OWNED)

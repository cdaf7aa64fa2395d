"""The tuning verify report as node_exporter textfile metrics (module_utils.tuning_metrics,
filter tuning_textfile): the series the alerts and the fleet_tuning dashboard read, the
container rule (kernel-wide checks are not the container's), the change rule (the verify
timestamp alone is no change), and the text format, checked by promtool and by the
rules that consume it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.tuning import FilterModule
from ansible_collections.tradeops.platform.plugins.module_utils import tuning_metrics as tm
from ansible_collections.tradeops.platform.plugins.module_utils.tuning_profile import (
    render,
    verify,
)

from .hosts import MACHINES, REPO, host_facts, profile
from .test_recorded_hosts import facts as container_facts
from .test_tuning_profile import booted

RULES = REPO / "roles" / "monitoring_assets" / "files" / "rules"
DASHBOARD = REPO / "roles" / "monitoring_assets" / "files" / "dashboards" / "fleet_tuning.yml"
SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$')


def parse(text: str) -> dict[str, dict[tuple, float]]:
    """A strict reader of the text format as node_exporter's textfile collector needs it:
    HELP and TYPE before a family's samples, families contiguous, no repeated series."""
    families: dict[str, dict[tuple, float]] = {}
    current = None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in families, f"family {name} repeated"
            families[name] = {}
            current = name
            continue
        if line.startswith("# TYPE "):
            assert line.split()[2:] == [current, "gauge"], line
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        assert name == current, f"{name} outside its family"
        key = tuple(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', labels or ""))
        assert key not in families[name], f"repeated series {line}"
        families[name][key] = float(value)
    return families


def checks(families) -> dict[str, float]:
    return {dict(k)["check"]: v for k, v in families.get("tradeops_tuning_check_ok", {}).items()}


def one(families, name, labels=()) -> float:
    return families[name][tuple(labels)]


def tuned(machine):
    facts = host_facts(machine)
    desired = render(profile(machine), facts)
    return desired, booted(facts, desired)


# ------------------------------------------------------------------ labels and scope


@pytest.mark.parametrize(
    ("check", "label", "scope"),
    [
        ({"name": "kernel_cmdline", "path": "kernel_args"}, "kernel.cmdline", "kernel"),
        ({"name": "cpu_isolated", "path": "cpu.isolated"}, "cpu.isolated", "kernel"),
        ({"name": "cpu_nohz_full", "path": "cpu.nohz_full"}, "cpu.nohz_full", "kernel"),
        ({"name": "irq_affinity", "path": "irq"}, "irq.affinity", "kernel"),
        ({"name": "nic_irq_affinity", "path": "cpu.nic_irq"}, "irq.nic_queues", "kernel"),
        ({"name": "hugepages node1 1G", "path": "hugepages.pages"}, "hugepages.node1.1G", "kernel"),
        (
            {"name": "sysctl net.core.busy_poll", "path": "sysctls.net.core.busy_poll"},
            "sysctl.net.core.busy_poll",
            "kernel",
        ),
        ({"name": "thp", "path": "transparent_hugepages"}, "thp", "kernel"),
        (
            {"name": "nic ens5 channels.combined", "path": "nics.channels.combined"},
            "nic.ens5.channels.combined",
            "netns",
        ),
        ({"name": "nic eth1", "path": "nics"}, "nic.eth1", "netns"),
        ({"name": "sriov ens3f0", "path": "sriov"}, "sriov.ens3f0", "kernel"),
    ],
)
def test_check_label_and_scope(check, label, scope):
    assert tm.check_label(check) == label
    assert tm.check_scope(check) == scope


@pytest.mark.parametrize("machine", MACHINES)
def test_every_check_of_every_shipped_profile_has_its_own_label(machine):
    facts = host_facts(machine)
    report = verify(render(profile(machine), facts), facts)
    labels = [tm.check_label(c) for c in report["checks"]]
    assert len(labels) == len(set(labels)) > 5
    assert all(" " not in label for label in labels)


def test_a_repeated_label_is_made_unique_and_label_values_are_escaped():
    report = {
        "profile": 'odd "name"\\',
        "checks": [
            {"name": "nic a b", "path": "nics", "status": "ok"},
            {"name": "nic a  b", "path": "nics", "status": "drift"},
        ],
    }
    families = parse(tm.render(report, timestamp=1))
    assert checks(families) == {"nic.a.b": 1.0, "nic.a.b.2": 0.0}
    assert one(families, "tradeops_tuning_profile_info", [("profile", 'odd \\"name\\"\\\\')]) == 1


# ------------------------------------------------------------------ what the file says


@pytest.mark.parametrize("machine", MACHINES)
def test_tuned_host_every_check_ok_nothing_pending(machine):
    desired, after = tuned(machine)
    report = verify(desired, after)
    families = parse(tm.render(report, desired, timestamp=1_800_000_000))
    ok = checks(families)
    assert set(ok.values()) == {1.0}
    assert len(ok) == len(report["checks"])
    assert {"kernel.cmdline", "cpu.isolated", "thp"} <= set(ok)
    assert one(families, "tradeops_tuning_reboot_pending") == 0
    assert one(families, "tradeops_tuning_kernel_judged") == 1
    assert one(families, "tradeops_tuning_checks", [("status", "ok")]) == len(ok)
    assert one(families, "tradeops_tuning_checks", [("status", "drift")]) == 0
    assert one(families, "tradeops_tuning_last_verify_timestamp_seconds") == 1_800_000_000
    assert one(families, "tradeops_tuning_profile_info", [("profile", desired["name"])]) == 1
    isolated = {dict(k)["cpu"] for k in families["tradeops_tuning_isolated_cpu"]}
    from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import parse_cpulist

    assert isolated == {str(c) for c in parse_cpulist(desired["cpu"]["isolated"])}


@pytest.mark.parametrize("machine", MACHINES)
def test_untuned_host_drift_is_zero_pending_is_counted_not_zeroed(machine):
    facts = host_facts(machine)
    desired = render(profile(machine), facts)
    report = verify(desired, facts)
    families = parse(tm.render(report, desired, timestamp=1))
    ok = checks(families)
    drift = {tm.check_label(c) for c in report["checks"] if c["status"] == "drift"}
    pending = {tm.check_label(c) for c in report["checks"] if c["status"] == "reboot_pending"}
    assert drift and {k for k, v in ok.items() if v == 0} == drift
    # reboot_pending is not drift: TuningRebootPending says it, not TuningDrift
    assert "kernel.cmdline" in pending and not pending & set(ok)
    assert one(families, "tradeops_tuning_reboot_pending") == 1
    for status in ("ok", "drift", "reboot_pending", "unknown"):
        want = report["counts"].get(status, 0)
        assert one(families, "tradeops_tuning_checks", [("status", status)]) == want


def test_one_sysctl_drifts_on_a_tuned_host():
    desired, after = tuned("c5n_18xlarge")
    after["sysctls"]["net.core.busy_poll"] = "0"
    families = parse(tm.render(verify(desired, after), desired, timestamp=1))
    assert {k for k, v in checks(families).items() if v == 0} == {"sysctl.net.core.busy_poll"}
    assert one(families, "tradeops_tuning_checks", [("status", "drift")]) == 1


def test_container_judges_only_its_own_interfaces():
    """A lab engine container, as recorded (fixtures/hosts/lab_container) with the lab
    inventory's profile: its kernel-wide state is the machine's, so only the ethtool
    read-back of its own eth0 counts; drift there is what TuningDrift sees."""
    inventory = yaml.safe_load((REPO / "inventories/lab/group_vars/engines/tuning.yml").read_text())
    facts = container_facts("lab_container")
    desired = render(inventory["engine_tuning_profile"], facts)
    report = verify(desired, facts)  # the untuned VM kernel: drift and pending galore
    assert report["drift"] and report["reboot_required"]
    families = parse(tm.render(report, desired, kernel_judged=False, timestamp=1))
    assert checks(families) == {"nic.eth0.channels.rx": 1.0, "nic.eth0.channels.tx": 1.0}
    kernel_checks = sum(1 for c in report["checks"] if tm.check_scope(c) == "kernel")
    assert kernel_checks > 10
    assert one(families, "tradeops_tuning_checks", [("status", "not_judged")]) == kernel_checks
    assert one(families, "tradeops_tuning_checks", [("status", "drift")]) == 0
    assert one(families, "tradeops_tuning_kernel_judged") == 0
    assert "tradeops_tuning_reboot_pending" not in families
    assert "tradeops_tuning_isolated_cpu" not in families
    # what the monitoring lab test does to the container: ethtool -L eth0 rx 2 tx 2
    facts["nics"]["eth0"]["channels"]["current"].update(rx=2, tx=2)
    families = parse(tm.render(verify(desired, facts), desired, kernel_judged=False, timestamp=1))
    assert checks(families) == {"nic.eth0.channels.rx": 0.0, "nic.eth0.channels.tx": 0.0}
    # the same report on a host that owns its kernel judges everything
    families = parse(tm.render(report, desired, kernel_judged=True, timestamp=1))
    assert len(checks(families)) == report["counts"]["ok"] + report["counts"]["drift"]
    assert one(families, "tradeops_tuning_reboot_pending") == 1


def test_not_a_report_is_refused():
    with pytest.raises(tm.MetricsError):
        tm.render({"status": "ok"})
    with pytest.raises(tm.MetricsError, match="unknown status"):
        tm.render({"checks": [{"name": "x", "path": "x", "status": "fine"}]})
    with pytest.raises(AnsibleFilterError, match="tuning_textfile"):
        FilterModule().filters()["tuning_textfile"]("not a report")


# ------------------------------------------------------------------ change rule


def test_timestamp_alone_is_no_change_anything_else_is():
    desired, after = tuned("lab")
    report = verify(desired, after)
    first = tm.render(report, desired, timestamp=1_000)
    assert tm.changed(None, first) and tm.changed("", first)
    assert not tm.changed(first, tm.render(report, desired, timestamp=2_000))
    after["thp"] = "always"
    drifted = tm.render(verify(desired, after), desired, timestamp=2_000)
    assert tm.changed(first, drifted)
    result = FilterModule().filters()["tuning_textfile"](
        verify(desired, after), desired, timestamp=3_000, previous=first
    )
    assert result["differs"] is True
    assert result["text"] == tm.render(verify(desired, after), desired, timestamp=3_000)
    assert 'tradeops_tuning_check_ok{check="thp"} 0' in result["added"]
    assert 'tradeops_tuning_check_ok{check="thp"} 1' in result["removed"]
    assert not any("timestamp" in line for line in result["added"] + result["removed"])
    again = FilterModule().filters()["tuning_textfile"](
        verify(desired, after), desired, timestamp=4_000, previous=result["text"]
    )
    assert again["differs"] is False and again["added"] == again["removed"] == []


# ------------------------------------------------------------------ the consumers


def _promtool():
    # Not a skip: `./dev setup` installs it (Debian package prometheus, lab/debian-packages.txt).
    path = shutil.which("promtool")
    assert path, "promtool missing: install the Debian package prometheus (./dev setup)"
    return path


def test_promtool_accepts_the_file():
    desired, after = tuned("c5n_metal")
    text = tm.render(verify(desired, after), desired, timestamp=1_800_000_000)
    proc = subprocess.run(
        [_promtool(), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_tuning_series_the_rules_and_dashboard_read_is_written():
    desired, after = tuned("c5n_18xlarge")
    written = set(parse(tm.render(verify(desired, after), desired, timestamp=1)))
    read = set()
    for path in [*RULES.glob("*.yml"), DASHBOARD]:
        read |= set(re.findall(r"tradeops_tuning_[a-z_]+", path.read_text()))
    assert read and read <= written, read - written


def test_tuning_drift_fires_on_what_the_role_writes(tmp_path: Path):
    """promtool evaluates the real TuningDrift rule on series parsed from a rendered file
    (one check drifted): the alert fires for that check, not for the others."""
    desired, after = tuned("lab")
    after["sysctls"]["vm.swappiness"] = "60"
    families = parse(tm.render(verify(desired, after), desired, timestamp=1))
    series = []
    for name in ("tradeops_tuning_check_ok", "tradeops_tuning_reboot_pending"):
        for key, value in families[name].items():
            labels = ",".join(f'{k}="{v}"' for k, v in (*key, ("instance", "eng-1")))
            series.append({"series": f"{name}{{{labels}}}", "values": f"{value:g}x15"})
    rule = next(
        r
        for g in yaml.safe_load((RULES / "tuning.yml").read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "TuningDrift"
    )
    annotations = {
        k: v.replace("{{ $labels.instance }}", "eng-1").replace(
            "{{ $labels.check }}", "sysctl.vm.swappiness"
        )
        for k, v in rule["annotations"].items()
    }
    case = {
        "rule_files": [str(RULES / "tuning.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "TuningDrift",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "area": "tuning",
                                    "instance": "eng-1",
                                    "check": "sysctl.vm.swappiness",
                                },
                                "exp_annotations": annotations,
                            }
                        ],
                    },
                    {"eval_time": "15m", "alertname": "TuningRebootPending", "exp_alerts": []},
                ],
            }
        ],
    }
    path = tmp_path / "tuning_metrics_test.yml"
    path.write_text(yaml.safe_dump(case))
    proc = subprocess.run(
        [_promtool(), "test", "rules", path.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

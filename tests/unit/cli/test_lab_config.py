"""Lab configuration: the network rule, names, image caching by recipe, regions (the
topology, the inventory, failing and restoring a region against a podman double), and
the region gate's lifecycle."""

from __future__ import annotations

import datetime
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tradeops import cli
from tradeops.lab import Lab, LabError, fleet_hosts, free_port, lab_subnet

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
    lab = Lab(root=ROOT)
    lab.state = tmp_path
    (tmp_path / "moto.pid").write_text(f"{os.getpid()}\n")  # pytest, not moto
    assert lab.moto_pid() is None
    (tmp_path / "moto.pid").write_text("garbage\n")
    assert lab.moto_pid() is None


# ---- regions -------------------------------------------------------------------------
def test_every_host_has_a_region_of_the_lab(monkeypatch):
    monkeypatch.delenv("TRADEOPS_LAB_SUBNET", raising=False)
    lab = Lab(root=ROOT)
    assert lab.regions == ["us-east-1", "us-west-2"]
    regions = {h.name: (h.address, h.region) for h in lab.hosts}
    # The DR region's stand-ins; everything else is in us-east-1.
    assert regions["engine-west-1"] == (41, "us-west-2")
    assert regions["db-east-1"] == (51, "us-east-1")
    assert regions["db-west-1"] == (52, "us-west-2")
    others = set(regions) - {"engine-west-1", "db-east-1", "db-west-1"}
    assert others == {"engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1", "mon-1"}
    assert {regions[h][1] for h in others} == {"us-east-1"}
    assert lab.hosts_in_region("us-west-2") == ["engine-west-1", "db-west-1"]
    assert len(lab.hosts_in_region("us-east-1")) == 6


def lab_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "lab", copy / "lab")
    (copy / "site.yml").write_text("---\n")
    return copy


def test_a_host_in_a_region_the_lab_does_not_have_is_refused(tmp_path):
    copy = lab_copy(tmp_path)
    topology = copy / "lab" / "topology.yml"
    topology.write_text(topology.read_text().replace("region: us-west-2", "region: eu-west-9", 1))
    with pytest.raises(LabError, match="engine-west-1 is in region eu-west-9"):
        Lab(root=copy)


def static_inventory() -> dict[str, dict]:
    """{host: {"groups": [...], "vars": {...}}} of inventories/lab/hosts.yml."""
    found: dict[str, dict] = {}

    def walk(group: str, node: dict) -> None:
        for host, host_vars in (node.get("hosts") or {}).items():
            entry = found.setdefault(host, {"groups": [], "vars": host_vars or {}})
            entry["groups"].append(group)
        for child, child_node in (node.get("children") or {}).items():
            walk(child, child_node or {})

    walk("all", yaml.safe_load((ROOT / "inventories/lab/hosts.yml").read_text())["all"])
    return found


def test_the_static_inventory_places_hosts_in_the_topologys_regions(monkeypatch):
    monkeypatch.delenv("TRADEOPS_LAB_SUBNET", raising=False)
    topology = {h.name: h.region for h in Lab(root=ROOT).hosts}
    inventory = static_inventory()
    assert set(inventory) == {"engine-bm-1", "mon-1", "db-east-1", "db-west-1"}
    for host, entry in inventory.items():
        assert entry["vars"]["tradeops_region"] == topology[host], host
    databases = {h for h, e in inventory.items() if "databases" in e["groups"]}
    assert databases == {"db-east-1", "db-west-1"}
    # The database hosts join no engine or monitoring play.
    assert inventory["db-east-1"]["groups"] == inventory["db-west-1"]["groups"] == ["databases"]


def lab_vars(env: dict[str, str]) -> list[str]:
    """The lab inventory's gateway and host-side AWS endpoint, as Ansible renders them."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible"),
            "db-west-1",
            "-i",
            "inventories/lab/hosts.yml",
            "-m",
            "ansible.builtin.debug",
            "-a",
            json.dumps(
                {
                    "msg": "{{ tradeops_lab_gateway }} {{ tradeops_lab_aws_endpoint_for_hosts }} "
                    "{{ tradeops_region }}"
                }
            ),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return re.search(r'"msg": "([^"]*)"', proc.stdout).group(1).split()


def test_the_lab_inventory_knows_the_gateway_and_the_hosts_aws_endpoint(monkeypatch):
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")}
    base.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    monkeypatch.delenv("TRADEOPS_LAB_SUBNET", raising=False)
    monkeypatch.delenv("TRADEOPS_MOTO_PORT", raising=False)
    default = Lab(root=ROOT)
    assert lab_vars(base) == [default.gateway, default.aws_endpoint_for_hosts, "us-west-2"]
    assert default.aws_endpoint_for_hosts == "http://198.18.0.1:5000"
    env = dict(base, TRADEOPS_LAB_SUBNET="198.19.71.0/24", TRADEOPS_MOTO_PORT="5123")
    assert lab_vars(env) == ["198.19.71.1", "http://198.19.71.1:5123", "us-west-2"]


# ---- fail / restore a region, against a podman double ---------------------------------
FAKE_PODMAN = """#!{python}
# A podman double: containers and their states in state.json, every call in calls.
import json, sys
from pathlib import Path
here = Path(__file__).parent
state = json.loads((here / "state.json").read_text())
args = sys.argv[1:]
with open(here / "calls", "a") as calls:
    calls.write(" ".join(args) + "\\n")
def save():
    (here / "state.json").write_text(json.dumps(state))
if args[:2] == ["ps", "-a"]:
    print(json.dumps([{{"Names": [n], "State": s, "Image": "img"}} for n, s in state.items()]))
elif args[0] == "pause":
    if state.get(args[1]) != "running":
        sys.exit("Error: " + args[1] + " is not running, can't pause: container state improper")
    state[args[1]] = "paused"; save()
elif args[0] == "unpause":
    if state.get(args[1]) != "paused":
        sys.exit("Error: " + args[1] + " is not paused, can't unpause: container state improper")
    state[args[1]] = "running"; save()
elif args[0] == "rm":
    if state.get(args[-1]) == "paused":
        sys.exit("Error: cannot remove a paused container")
    state.pop(args[-1]); save()
elif args[:2] == ["network", "ls"]:
    print("t-net" if state else "")
elif args[:2] == ["network", "rm"]:
    pass
else:
    sys.exit("fake podman: unexpected " + " ".join(args))
"""


class PodmanDouble:
    def __init__(self, tmp_path: Path, states: dict[str, str]):
        self.dir = tmp_path / "bin"
        self.dir.mkdir()
        (self.dir / "state.json").write_text(json.dumps(states))
        (self.dir / "calls").write_text("")
        script = self.dir / "podman"
        script.write_text(FAKE_PODMAN.format(python=sys.executable))
        script.chmod(0o755)

    def states(self) -> dict[str, str]:
        return json.loads((self.dir / "state.json").read_text())

    def calls(self, verb: str) -> list[str]:
        lines = (self.dir / "calls").read_text().splitlines()
        return [line.split()[-1] for line in lines if line.split()[0] == verb]


@pytest.fixture
def lab_with_podman(tmp_path, monkeypatch):
    """Lab "t" in a copy of the checkout, its containers in a podman double: all running
    except db-east-1, which does not exist."""
    for key in ("TRADEOPS_LAB_SUBNET", "TRADEOPS_MOTO_PORT", "TRADEOPS_LAB_NAME"):
        monkeypatch.delenv(key, raising=False)
    lab = Lab(root=lab_copy(tmp_path), name="t")
    states = {f"t-{h.name}": "running" for h in lab.hosts if h.name != "db-east-1"}
    podman = PodmanDouble(tmp_path, states)
    lab.env["PATH"] = f"{podman.dir}{os.pathsep}{lab.env.get('PATH', '')}"
    return lab, podman


def test_failing_a_region_refuses_it_and_pauses_exactly_its_hosts(lab_with_podman):
    lab, podman = lab_with_podman
    result = lab.fail_region("us-west-2")
    assert result["hosts"] == {"engine-west-1": "paused", "db-west-1": "paused"}
    assert result["failed_regions"] == lab.failed_regions() == ["us-west-2"]
    assert "us-west-2" in lab.failed_regions_file.read_text().split()
    paused = {c for c, s in podman.states().items() if s == "paused"}
    assert paused == {"t-engine-west-1", "t-db-west-1"}
    # Again: nothing more to do.
    again = lab.fail_region("us-west-2")
    assert again["hosts"] == {"engine-west-1": "already paused", "db-west-1": "already paused"}
    assert len(podman.calls("pause")) == 2
    # A second region joins the first; a missing container is reported, not an error.
    east = lab.fail_region("us-east-1")
    assert east["failed_regions"] == ["us-east-1", "us-west-2"]
    assert east["hosts"]["db-east-1"] == "absent"
    assert east["hosts"]["mon-1"] == "paused"


def test_restoring_a_region_unpauses_its_hosts_and_lets_it_through(lab_with_podman):
    lab, podman = lab_with_podman
    lab.fail_region("us-east-1")
    lab.fail_region("us-west-2")
    result = lab.restore_region("us-west-2")
    assert result["hosts"] == {"engine-west-1": "unpaused", "db-west-1": "unpaused"}
    assert lab.failed_regions() == ["us-east-1"]
    assert podman.states()["t-engine-west-1"] == "running"
    assert podman.states()["t-mon-1"] == "paused"  # the other region stays failed
    again = lab.restore_region("us-west-2")
    assert again["hosts"] == {"engine-west-1": "running", "db-west-1": "running"}
    assert sorted(podman.calls("unpause")) == ["t-db-west-1", "t-engine-west-1"]
    lab.restore_region("us-east-1")
    assert lab.failed_regions() == [] and not lab.failed_regions_file.exists()


def test_an_unknown_region_is_refused_before_anything_changes(lab_with_podman):
    lab, podman = lab_with_podman
    with pytest.raises(LabError, match="'us-east1' is not a region of the lab"):
        lab.fail_region("us-east1")
    with pytest.raises(LabError, match="not a region"):
        lab.restore_region("eu-west-1")
    assert lab.failed_regions() == [] and podman.calls("pause") == []


def test_status_shows_regions_and_counts_a_failed_regions_paused_hosts_as_up(
    lab_with_podman, monkeypatch
):
    lab, podman = lab_with_podman
    (podman.dir / "state.json").write_text(
        json.dumps({f"t-{h.name}": "running" for h in lab.hosts})
    )
    monkeypatch.setattr(Lab, "moto_healthy", lambda self: True)
    monkeypatch.setattr(Lab, "gate_healthy", lambda self: True)
    monkeypatch.setattr(Lab, "image_ref", lambda self: "img")
    assert lab.is_up()
    lab.fail_region("us-west-2")
    status = lab.status()
    assert status["failed_regions"] == ["us-west-2"]
    assert status["regions"]["us-west-2"] == {
        "failed": True,
        "hosts": ["engine-west-1", "db-west-1"],
    }
    assert status["hosts"]["db-west-1"] == "paused (region us-west-2 failed)"
    assert status["hosts"]["db-east-1"] == "running"
    assert status["aws_endpoint_for_hosts"] == "http://198.18.0.1:5000"
    assert lab.is_up()  # a failed region is the lab working as asked
    # A host paused outside a failed region is not up.
    lab.restore_region("us-west-2")
    (podman.dir / "state.json").write_text(json.dumps({**podman.states(), "t-mon-1": "paused"}))
    assert lab.status()["hosts"]["mon-1"] == "paused"
    assert not lab.is_up()
    text = cli._format_lab("status", lab.status())
    assert "db-west-1        us-west-2" in text and "failed   no region" in text


def test_down_removes_paused_containers_and_forgets_failed_regions(lab_with_podman):
    lab, podman = lab_with_podman
    lab.fail_region("us-west-2")
    removed = lab.down()
    assert podman.states() == {}
    assert len(removed["containers"]) == len(lab.hosts) - 1  # db-east-1 never existed
    assert sorted(podman.calls("unpause")) == ["t-db-west-1", "t-engine-west-1"]
    assert lab.failed_regions() == []


def test_the_gate_log_parsed_and_since(tmp_path):
    lab = Lab(root=lab_copy(tmp_path), name="t")
    assert lab.gate_log() == []
    lab.state.mkdir(parents=True)
    lines = [
        {"time": "2026-01-01T10:00:00.000+00:00", "region": "us-east-1", "refused": True},
        {"time": "2026-01-01T10:00:05.500+00:00", "region": "us-west-2", "refused": False},
    ]
    lab.gate_requests_file.write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert lab.gate_log() == lines
    since = datetime.datetime(2026, 1, 1, 10, 0, 1, tzinfo=datetime.UTC)
    assert lab.gate_log(since=since) == lines[1:]
    assert lab.gate_log(since=since.timestamp()) == lines[1:]


# ---- the gate process, started and stopped by the lab ----------------------------------
class FakeMoto(http.server.ThreadingHTTPServer):
    """Answers every POST like STS GetCallerIdentity."""

    daemon_threads = True

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b"<GetCallerIdentityResponse><Account>123456789012</Account>"
                body += b"</GetCallerIdentityResponse>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()


def test_the_lab_starts_checks_and_stops_its_gate(tmp_path, monkeypatch):
    # The gateway listener binds 198.19.71.1 (this helper's test subnet) without traffic.
    monkeypatch.setenv("TRADEOPS_LAB_SUBNET", "198.19.71.0/24")
    moto = FakeMoto()
    lab = Lab(root=lab_copy(tmp_path), name="t", port=free_port())
    try:
        lab.state.mkdir(parents=True)
        lab.moto_portfile.write_text(f"{moto.server_address[1]}\n")
        assert lab.moto_healthy()
        assert not lab.gate_healthy() and lab.gate_pid() is None
        lab.ensure_gate(log=lambda msg: None)
        pid = lab.gate_pid()
        assert pid and lab.gate_healthy() and lab._gate_is_current(pid)
        assert lab.gate_listen == [f"127.0.0.1:{lab.moto_port}", f"198.19.71.1:{lab.moto_port}"]
        lab.ensure_gate(log=lambda msg: None)  # already right: the same process
        assert lab.gate_pid() == pid
        # With every region failed, the gate's own refusal is its healthy answer.
        with lab._regions_locked():
            lab._write_failed_regions({"us-east-1", "us-west-2"})
        assert lab.gate_healthy()
        assert [e["refused"] for e in lab.gate_log()][-1] is True
        # moto moved to another port: the gate is no longer current (ensure_gate restarts it).
        lab.moto_portfile.write_text("1\n")
        assert not lab._gate_is_current(pid)
    finally:
        assert lab.stop_gate()
        moto.shutdown()
        moto.server_close()
    assert not Path(f"/proc/{pid}").exists() and lab.gate_pid() is None


def test_cli_region_verbs(capsys, monkeypatch):
    for verb in ("fail-region", "restore-region"):
        with pytest.raises(SystemExit) as stop:
            cli.main(["lab", verb, "--help"])
        assert stop.value.code == 0
        assert "REGION" in capsys.readouterr().out
    assert cli.main(["lab", "fail-region", "mars-north-1"]) == 3
    assert "'mars-north-1' is not a region of the lab" in capsys.readouterr().err
    text = cli._format_lab(
        "fail-region",
        {
            "lab": "t",
            "region": "us-west-2",
            "failed_regions": ["us-west-2"],
            "hosts": {"engine-west-1": "paused", "db-west-1": "absent"},
        },
    )
    assert text == (
        "lab t: region us-west-2 failed; hosts: engine-west-1 paused, db-west-1 absent; "
        "failed regions now: us-west-2"
    )


# ---------------------------------------------------------------- a larger fleet
def test_the_lab_adds_bare_metal_engines_up_to_the_number_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("TRADEOPS_LAB_ENGINES", "8")
    lab = Lab(ROOT, name="fleettest")
    monkeypatch.setattr(lab, "state", tmp_path)
    engines = [h for h in lab.hosts if h.name.startswith("engine-")]
    assert len(engines) == 8
    assert [h.name for h in lab.extra_hosts] == ["engine-bm-2", "engine-bm-3", "engine-bm-4"]
    assert [h.address for h in lab.extra_hosts] == [100, 101, 102]
    assert {h.region for h in lab.extra_hosts} == {lab.regions[0]}
    addresses = [h.address for h in lab.hosts]
    assert len(addresses) == len(set(addresses))
    lab.write_fleet_inventory()
    inventory = yaml.safe_load(lab.fleet_inventory.read_text())
    hosts = inventory["all"]["children"]["engines"]["children"]["engines_baremetal"]["hosts"]
    assert hosts["engine-bm-3"] == {
        "tradeops_region": lab.regions[0],
        "ansible_host": "fleettest-engine-bm-3",
    }


def test_the_lab_keeps_its_own_hosts_and_refuses_fewer_or_too_many_engines(monkeypatch):
    monkeypatch.delenv("TRADEOPS_LAB_ENGINES", raising=False)
    lab = Lab(ROOT, name="fleettest")
    own = len([h for h in lab.hosts if h.name.startswith("engine-")])
    assert lab.extra_hosts == []
    assert fleet_hosts(lab.hosts, own, "us-east-1") == lab.hosts
    with pytest.raises(LabError, match="can add engine hosts, not remove them"):
        fleet_hosts(lab.hosts, own - 1, "us-east-1")
    with pytest.raises(LabError, match="fit in the lab's /24"):
        fleet_hosts(lab.hosts, own + 200, "us-east-1")

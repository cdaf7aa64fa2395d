"""Every shipped inventory passes the preflight of every play (issue 19): lab, staging and
production, so that an inventory a team starts from cannot rot.

One real run per inventory, as an operator checks inputs: ``ansible-playbook site.yml -i
<inventory> --tags preflight`` (the AWS layers' preflight, Kubernetes, engine tuning,
databases, engine rollout and deploy, monitoring, backup), with only what a test machine
cannot have replaced:

* AWS is a private moto on 127.0.0.1 (``aws_connection`` given with -e): the account guard,
  the layers' read calls and the inventories' Secrets Manager lookups go there. The secrets
  an inventory names are created in it first, with throw-away values, as an operator creates
  them before the first run. The account guard compares with moto's account, so the
  inventory's own ``aws_account_id`` is checked for its form here.
* The cloud sources (``cloud-*.aws_ec2.yml``) are left out: production's and staging's read
  real AWS. Their engine instances come instead from the inventory's own fleet
  (``aws_fleet_instances``, ``aws_fleet_dr_instances``) in the groups the sources would put
  them in (``engines_ec2``, the source's keyed group ``type_<instance type>``) with
  ``tradeops_region``.
* The hosts do not exist here: the run connects to the controller in their place (connection
  local), with the facts a Debian 12 host run by systemd reports seeded into the run's own
  fact cache (never the checkout's), so no play gathers the controller's. Engine tuning reads
  the host tree of its profile's shape (``engine_tuning_facts_root``:
  tests/unit/fixtures/hosts/<set>/root; ethtool answered from the set's outputs, as the unit
  tests do), and its metadata request (the EC2 trees' DMI says Amazon EC2) goes to a proxy on
  127.0.0.1 where nothing listens. What a host can grant the engine (hugepages already
  reserved, real-time scheduling) is the host's, not the inventory's: the run keeps
  ``engine_deploy_require_placement`` off (strict placement is
  tests/integration/production_defaults'). Hosts of the same groups and region get the same
  variables: one engine host of each shape and region is checked (--limit), and every
  monitoring host; not the lab's database hosts (their preflight reads the host's
  PostgreSQL and Redis: the site lab's converge runs it there).
* The layers' earlier outputs that Kubernetes' preflight reads (network, security) are the
  shapes tests/unit/plugins/aws_specs.py renders for every layer spec test.
* The change freeze is asked about a Saturday (production enforces its trading hours).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sys
import time
from pathlib import Path

import pytest
import yaml

from ...unit import inventories
from ...unit.inventories import INVENTORIES, cloud_instances, group_vars, sources
from ...unit.plugins.aws_specs import earlier_outputs
from ..support import AWS_LAYERS, ROOT, VENV_BIN, MotoServer, ansible_env, run_playbook

# About 2 minutes and as much CPU per inventory on 2 cores (the tuning render of each engine
# host, Kubernetes' schema validation, the 18 layer hosts): beyond CI's budget, so
# `./dev test-full` runs it; tests/unit/test_shipped_inventories.py checks the inventories'
# side of it in seconds on every run.
pytestmark = [pytest.mark.moto, pytest.mark.full]

FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "hosts"
# A profile's name -> the host tree it is valid against (its file says so).
FACTS_SET = {
    "c5n_18xlarge": "c5n_18xlarge",
    "c5n_metal": "c5n_metal",
    "baremetal_sriov": "baremetal_sriov",
    "lab": "lab_container",
}
# The host trees have no NICs on this machine: ethtool is answered from the sets' recorded
# (or derived) outputs, as tests/unit/plugins/hosts.py's fixture_runner does.
ETHTOOL = f"""#!{sys.executable}
import sys
from pathlib import Path
option, name = sys.argv[1], sys.argv[2]
for machine in {sorted(set(FACTS_SET.values()))!r}:
    path = Path({str(FIXTURES)!r}) / machine / "cmd" / f"ethtool_{{option}}_{{name}}.txt"
    if path.exists():
        sys.stdout.write(path.read_text())
        sys.exit(1 if path.with_suffix(".rc").exists() else 0)
sys.stderr.write("no such device\\n")
sys.exit(1)
"""
SATURDAY = "2026-03-14T15:00:00Z"
MOTO_ACCOUNT = "123456789012"
# Secret names in an inventory: lookup('amazon.aws.secretsmanager_secret', '<name>', ...),
# and those the security layer generates (<project>-<environment>/<key>).
SECRET_LOOKUP = re.compile(r"secretsmanager_secret',\s*'([^']+)'")
TIMINGS: dict[str, float] = {}
ROLE_NETWORK = yaml.safe_load((ROOT / "roles/aws_network/defaults/main.yml").read_text())


def _secret_names(inventory: str) -> set[str]:
    text = "\n".join(p.read_text() for p in (inventories.INVENTORY_DIR / inventory).rglob("*.yml"))
    values = group_vars(inventory)
    generated = {f"{values['tradeops_project']}-{values['tradeops_environment']}/redis-auth"}
    return set(SECRET_LOOKUP.findall(text)) | generated


def _outputs(inventory: str) -> dict[str, dict]:
    """The earlier layers' outputs the preflight reads, shaped as tests/unit/plugins/aws_specs.py
    renders them, with the inventory's own address plan (its values, else the network role's
    defaults) where Kubernetes' network policies need it."""
    values = {**ROLE_NETWORK, **group_vars(inventory)}
    out = earlier_outputs(values["aws_region"], values["aws_dr_region"])
    for layer, prefix in (("network", "aws_network_"), ("network-dr", "aws_network_dr_")):
        out[layer]["vpc_cidr"] = values[f"{prefix}vpc_cidr"]
        for tier, subnets in out[layer]["subnets"].items():
            for subnet, cidr in zip(subnets, values[f"{prefix}subnets"][tier], strict=False):
                subnet["cidr"] = cidr
    return out


@pytest.fixture(scope="module")
def private_moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("inventories-moto") / "moto.log")
    yield server
    server.stop()
    print(f"\ninventory preflight timings (s): {json.dumps(TIMINGS)}")


def _standin_facts(host: str) -> dict:
    """What a Debian 12 host run by systemd reports (setup's keys): the stand-in for every
    platform host, seeded into the run's fact cache so that no play gathers facts from the
    controller (a --tags preflight run of site.yml on real hosts gathers theirs)."""
    python = sys.version_info
    return {
        "ansible_system": "Linux",
        "ansible_os_family": "Debian",
        "ansible_distribution": "Debian",
        "ansible_distribution_release": "bookworm",
        "ansible_distribution_major_version": "12",
        "ansible_distribution_version": "12.8",
        "ansible_pkg_mgr": "apt",
        "ansible_service_mgr": "systemd",
        "ansible_architecture": "x86_64",
        "ansible_machine": "x86_64",
        "ansible_virtualization_type": "kvm",
        "ansible_virtualization_role": "guest",
        "ansible_python": {
            "executable": sys.executable,
            "version": {"major": python.major, "minor": python.minor, "micro": python.micro},
            "type": "cpython",
        },
        "ansible_python_version": f"{python.major}.{python.minor}.{python.micro}",
        "ansible_hostname": host,
        "ansible_nodename": host,
        "ansible_fqdn": host,
        "ansible_default_ipv4": {"address": "127.0.0.1", "interface": "lo"},
        "gather_subset": ["all"],
        "module_setup": True,
        "_ansible_facts_gathered": True,
    }


def _representatives(inventory: str) -> list[str]:
    """One engine host per shape and region (hosts of the same groups and region get the same
    variables: one of each is checked), and every other platform host."""
    listed = yaml.safe_load((inventories.INVENTORY_DIR / inventory / "hosts.yml").read_text())
    out, seen = [], set()
    children = listed["all"]["children"]
    static = children["engines"]["children"].get("engines_baremetal", {}).get("hosts") or {}
    for name, host in static.items():
        key = ("engines_baremetal", (host or {}).get("tradeops_region"))
        if key not in seen:
            seen.add(key)
            out.append(name)
    for name, host in cloud_instances(inventory).items():
        key = (host["group"], host["tradeops_region"])
        if key not in seen:
            seen.add(key)
            out.append(name)
    out.extend(_others(inventory))
    return out


def _others(inventory: str) -> list[str]:
    """The platform's hosts that are not engines: the monitoring hosts. Not the database
    hosts (the lab's): their preflight reads what the host's PostgreSQL and Redis hold (a
    standby's data directory, the server's role), which the controller cannot stand in for;
    the site lab's converge runs it on the lab's own database hosts."""
    listed = yaml.safe_load((inventories.INVENTORY_DIR / inventory / "hosts.yml").read_text())
    return list((listed["all"]["children"].get("monitoring") or {}).get("hosts") or {})


def preflight(inventory: str, moto: MotoServer, where: Path, *args: str) -> tuple[int, str]:
    """site.yml --tags preflight on one shipped inventory: (exit code, output)."""
    values = group_vars(inventory)
    sm = moto.client("secretsmanager", values["aws_region"])
    for name in sorted(_secret_names(inventory)):
        value = secrets.token_hex(24)
        # One value for every use: a plain string (>= 16 characters) and the JSON fields the
        # inventories read (from_json).
        document = json.dumps(
            {"token": value, "access_key_id": "AKIA" + value[:16], "secret_access_key": value}
        )
        with contextlib.suppress(sm.exceptions.ResourceExistsException):
            sm.create_secret(Name=name, SecretString=document)
    outputs = where / f"{inventory}-outputs"
    outputs.mkdir(exist_ok=True)
    for layer, data in _outputs(inventory).items():
        (outputs / f"{layer}.json").write_text(json.dumps(data))
    extra = {
        "aws_connection": {
            "region": "{{ aws_region }}",
            "endpoint_url": moto.url,
            "access_key": "testing",
            "secret_key": "testing",
        },
        "aws_account_id": MOTO_ACCOUNT,
        "ansible_connection": "local",
        "ansible_python_interpreter": str(VENV_BIN / "python"),
        "engine_tuning_facts_root": (
            f"{FIXTURES}/{{{{ {json.dumps(FACTS_SET)}[engine_tuning_profile.name"
            " | default(engine_tuning_profile_name)] }}/root"
        ),
        "engine_deploy_require_placement": False,
        "engine_rollout_freeze_now": SATURDAY,
    }
    shims = where / "bin"
    shims.mkdir(exist_ok=True)
    (shims / "ethtool").write_text(ETHTOOL)
    (shims / "ethtool").chmod(0o755)
    env = ansible_env(
        # A host tree of an EC2 shape makes engine_host_facts ask the instance metadata
        # service (its DMI says Amazon EC2): that request goes to a proxy on 127.0.0.1 where
        # nothing listens, never to the link-local address; moto is reached directly.
        http_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        no_proxy="127.0.0.1,localhost",
        NO_PROXY="127.0.0.1,localhost",
        TRADEOPS_MOTO_PORT=str(moto.port),
        TRADEOPS_AWS_OUTPUTS_DIR=str(outputs),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        # No credential lookup ever asks the instance metadata service.
        AWS_EC2_METADATA_DISABLED="true",
    )
    env["PATH"] = f"{shims}:{env['PATH']}"
    hosts = _representatives(inventory)
    cache = where / f"{inventory}-facts"
    cache.mkdir(exist_ok=True)
    for host in hosts:  # the jsonfile cache's file name (its schema version is s1)
        (cache / f"standin_s1_{host}").write_text(
            json.dumps({"__payload__": json.dumps(_standin_facts(host))})
        )
    env.update(
        ANSIBLE_CACHE_PLUGIN="jsonfile",
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache),
        ANSIBLE_CACHE_PLUGIN_PREFIX="standin_",
    )
    started = time.monotonic()
    proc = run_playbook(
        "site.yml",
        *sources(inventory, where),
        "--tags",
        "preflight",
        "--limit",
        ":".join(["localhost", "aws_layers", *hosts]),
        "-e",
        json.dumps(extra),
        *args,
        env=env,
    )
    TIMINGS[inventory] = round(time.monotonic() - started, 1)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_play_passes_its_preflight_on_the_shipped_inventory(
    inventory, private_moto, tmp_path
):
    values = group_vars(inventory)
    assert re.fullmatch(r"[0-9]{12}", str(values["aws_account_id"])), values["aws_account_id"]
    code, out = preflight(inventory, private_moto, tmp_path)
    failed = re.findall(r"^(?:fatal|failed): \[([^\]]+)\]", out, re.MULTILINE)
    assert code == 0 and not failed, f"{inventory}: {sorted(set(failed))}\n{out[-8000:]}"
    recap = out.split("PLAY RECAP")[-1]
    # Every host the run checked is in the recap; every AWS layer checked its inputs; every
    # engine host rendered its tuning profile.
    for host in _representatives(inventory):
        assert re.search(rf"^{re.escape(host)}\s+: ok=\d+", recap, re.MULTILINE), (host, recap)
    for layer in AWS_LAYERS:
        assert re.search(rf"^aws-{layer}\s+: ok=\d+", recap, re.MULTILINE), (layer, recap)
    rendered = re.findall(
        r"^TASK \[tradeops\.platform\.engine_tuning : Render \| stop on profile errors.*?\n\n",
        out,
        re.MULTILINE | re.DOTALL,
    )
    engines = [h for h in _representatives(inventory) if h not in _others(inventory)]
    assert all(f"ok: [{h}]" in "".join(rendered) for h in engines), (engines, rendered)

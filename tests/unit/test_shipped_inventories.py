"""The shipped inventories (lab, staging, production) carry what the plays' preflights ask
of an inventory (issue 19), checked in seconds on every test run; the preflight of every
play itself runs in tests/integration/aws/test_inventories_preflight.py.

Ansible reads each inventory (ansible-inventory --list, real group_vars precedence; the
cloud sources replaced by the inventory's own fleet in the groups they would put it in), and
for every host:

* an engine host selects a tuning profile (engine_tuning's render: a profile dict or a
  shipped name; the README's `--tags kernel_tuning --limit engines` stopped at "No tuning
  profile" on production) and that profile is valid, with the same validation
  (module_utils/tuning_profile.py), on the host tree of the host's shape: the instance type
  of a cloud engine, the SR-IOV server of a bare-metal one, a lab container in the lab;
* the environment's identity is the CLI's answer (scripts/tradeops/environment.py): the
  directory's name, production protected, staging and the lab not (the DR drill runs there);
* tradeops_tags carries exactly the tag set the AWS layers' preflight requires
  (roles/aws_layer/tasks/preflight.yml), each set;
* every static host names its region, one of the environment's two (the DR fence, the DR
  runbooks);
* outside the lab every secret is a Secrets Manager lookup, never a value;
* the monitoring hosts' receivers cover the alert routes; the engine hosts have a change
  freeze, enforced where the environment is protected.
"""

from __future__ import annotations

import copy
import functools
import re

import pytest
import yaml
from ansible_collections.tradeops.platform.plugins.module_utils.freeze import decide
from ansible_collections.tradeops.platform.plugins.module_utils.host_facts import gather
from ansible_collections.tradeops.platform.plugins.module_utils.tuning_profile import (
    errors,
    validate,
)

from tradeops import environment

from . import inventories
from .inventories import INVENTORIES, ROOT, cloud_instances, group_vars, listed
from .plugins.hosts import HOSTS, PROFILES, fixture_runner, no_imds

# The host tree each kind of engine host is checked on.
SHAPES = {"c5n.18xlarge": "c5n_18xlarge", "c5n.metal": "c5n_metal"}
BAREMETAL = "baremetal_sriov"
LAB = "lab_container"
PROTECTED = {"lab": False, "staging": False, "production": True}
# Variables (or keys inside them) that hold a secret.
SECRET_KEYS = re.compile(
    r"^(backup_restic_password|backup_restic_aws_secret_access_key|backup_pgbackrest_cipher_pass"
    r"|password|auth_password|auth_token|routing_key|api_url|service_key|db_postgresql_.*password"
    r"|db_redis_password)$"
)
SECRET_SOURCE = re.compile(r"lookup\('amazon\.aws\.secretsmanager_secret'|\bvault_[a-z0-9_]+")


@pytest.fixture(scope="module", params=INVENTORIES)
def inventory(request, tmp_path_factory):
    name = request.param
    return name, listed(name, tmp_path_factory.mktemp(name))


def _hosts(data: dict, group: str) -> set[str]:
    """Every host of a group, its children's included."""
    entry = data.get(group) or {}
    out = set(entry.get("hosts") or [])
    for child in entry.get("children") or []:
        out |= _hosts(data, child)
    return out


def _profile(hostvars: dict) -> dict:
    given = hostvars.get("engine_tuning_profile") or {}
    if given:
        return given
    name = hostvars.get("engine_tuning_profile_name") or ""
    path = PROFILES / f"{name}.yml"
    assert name and path.exists(), (
        f"no tuning profile: engine_tuning_profile_name {name!r} is not one of "
        f"{sorted(p.stem for p in PROFILES.glob('*.yml'))}"
    )
    return yaml.safe_load(path.read_text())


@functools.cache
def _gathered(machine: str, interfaces: tuple[str, ...] | None) -> dict:
    return gather(
        root=str(HOSTS / machine / "root"),
        run=fixture_runner(machine),
        imds=no_imds,
        ethtool="ethtool",
        ec2_metadata="never",
        interfaces=interfaces,
    )


def _facts(machine: str, profile: dict) -> dict:
    """The host tree's facts as engine_tuning's render gathers them: the interfaces its
    profile names, when it names them all (roles/engine_tuning/tasks/render.yml)."""
    nics = profile.get("nics") or []
    named = [n["match"]["name"] for n in nics if "name" in n.get("match", {})]
    facts = _gathered(machine, tuple(named) if named and len(named) == len(nics) else None)
    return copy.deepcopy(facts)


def test_every_engine_host_has_a_tuning_profile_that_fits_its_shape(inventory):
    name, data = inventory
    hostvars = data["_meta"]["hostvars"]
    cloud = cloud_instances(name)
    engines = _hosts(data, "engines")
    assert engines >= set(cloud), (name, sorted(engines))
    problems = {}
    for host in sorted(engines):
        try:
            profile = _profile(hostvars[host])
        except AssertionError as err:
            problems[host] = str(err)
            continue
        if name == "lab":
            machine = LAB
        elif host in cloud:
            machine = SHAPES[cloud[host]["instance_type"]]
        else:
            machine = BAREMETAL
        found = errors(validate(profile, _facts(machine, profile)))
        if found:
            problems[host] = f"profile {profile.get('name')} on {machine}: {found}"
    assert not problems, (name, problems)


def test_the_environment_is_the_directory_and_protected_as_it_should_be(inventory):
    name, _data = inventory
    env = environment.of(inventories.INVENTORY_DIR / name)
    assert (env.name, env.protected) == (name, PROTECTED[name]), env


def test_the_tags_are_the_set_the_aws_layers_require(inventory):
    name, _data = inventory
    tasks = yaml.safe_load((ROOT / "roles/aws_layer/tasks/preflight.yml").read_text())
    required = tasks[0]["vars"]["__aws_layer_standard_tags"]
    assert required == ["Environment", "Project", "ManagedBy", "CostCenter", "Team", "Compliance"]
    tags = group_vars(name)["tradeops_tags"]
    assert list(tags) == required, (name, tags)
    assert all(isinstance(v, str) and v for v in tags.values()), (name, tags)
    values = group_vars(name)
    for var in ("tradeops_environment", "tradeops_project", "tradeops_cost_center"):
        assert values[var], (name, var)
    for var in ("tradeops_team", "tradeops_compliance"):
        assert values[var], (name, var)


def test_every_host_names_its_region(inventory):
    name, data = inventory
    values = group_vars(name)
    regions = {values["aws_region"], values["aws_dr_region"]}
    hostvars = data["_meta"]["hostvars"]
    platform = _hosts(data, "engines") | _hosts(data, "monitoring") | _hosts(data, "databases")
    missing = {h: hostvars[h].get("tradeops_region") for h in platform}
    assert all(region in regions for region in missing.values()), (name, missing)


def _secret_values(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_values(item, (*path, str(key)))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _secret_values(item, (*path, str(n)))
    elif path and SECRET_KEYS.match(path[-1]):
        yield ".".join(path), value


def test_outside_the_lab_every_secret_is_a_lookup(inventory):
    """The lab generates its secrets per checkout (.cache/); a real environment reads them
    from Secrets Manager (or a vault variable), never keeps a value. A secret may name
    another variable of the host that holds the lookup."""
    name, data = inventory
    if name == "lab":
        pytest.skip("the lab generates its secrets per checkout (.cache/lab)")
    hostvars = data["_meta"]["hostvars"]
    seen, literal = {}, []
    for host, variables in hostvars.items():
        for where, value in _secret_values(variables):
            seen[f"{host}: {where}"] = value
            text = str(value)
            named = re.fullmatch(r"\{\{\s*([a-z_][a-z0-9_]*)\b[^{}]*\}\}", text.strip())
            if named and named.group(1) in variables:
                text = str(variables[named.group(1)])
            if not SECRET_SOURCE.search(text):
                literal.append(f"{host}: {where}")
    assert seen, name  # the environment has secrets: the database's, the receivers', ...
    assert not literal, (name, sorted(literal))


def test_receivers_cover_the_routes_and_engines_have_a_freeze(inventory):
    name, data = inventory
    hostvars = data["_meta"]["hostvars"]
    defaults = yaml.safe_load((ROOT / "roles/alertmanager/defaults/main.yml").read_text())
    routed = {r["receiver"] for r in defaults["alertmanager_severity_routes"].values()}
    routed.add(defaults["alertmanager_default_receiver"])
    for host in _hosts(data, "monitoring"):
        receivers = hostvars[host].get("alertmanager_receivers", defaults["alertmanager_receivers"])
        assert routed <= {r["name"] for r in receivers}, (name, host)
        if PROTECTED[name]:  # a protected environment's receivers deliver somewhere
            assert all(len(r) > 1 for r in receivers), (name, receivers)
    for host in _hosts(data, "engines"):
        freeze = hostvars[host].get("engine_rollout_freeze") or {}
        assert freeze.get("windows"), (name, host)
        decide(freeze, "2026-03-10T15:00:00Z")  # a freeze the rollout can decide on
        if PROTECTED[name]:
            assert hostvars[host].get("engine_rollout_freeze_enforce") is True, (name, host)

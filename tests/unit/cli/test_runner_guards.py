"""The runner's guard rails before anything runs, and how it stops a run.

Inventory files that do not parse (file:line), inventories anywhere, tags and limits that
match nothing, and the processes of an interrupted run (found by their environment marker,
wherever they were reparented).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tradeops import paths, runner
from tradeops.runner import (
    PlayListing,
    Refused,
    RunRequest,
    UsageError,
    check_inventory_files,
    check_selection,
    check_tags_and_limit,
    parse_listing,
    resolve_inventory,
    run_processes,
    shown_path,
    stop_run_processes,
    yaml_problems,
)

ROOT = Path(__file__).resolve().parents[3]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# ---------------------------------------------------------------------------- inventory paths


def test_an_inventory_outside_the_checkout_is_found_and_shown_absolute(tmp_path):
    inventory = tmp_path / "elsewhere" / "lab"
    inventory.mkdir(parents=True)
    assert resolve_inventory(ROOT, str(inventory)) == inventory
    assert shown_path(ROOT, inventory) == str(inventory)  # no relative_to crash
    assert shown_path(ROOT, ROOT / "inventories" / "lab") == "inventories/lab"


def test_a_relative_inventory_is_read_from_the_current_directory_first(tmp_path, monkeypatch):
    (tmp_path / "inventories" / "lab").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert resolve_inventory(ROOT, "inventories/lab") == tmp_path / "inventories" / "lab"
    monkeypatch.chdir("/")
    assert resolve_inventory(ROOT, "inventories/lab") == ROOT / "inventories" / "lab"
    with pytest.raises(Refused, match="inventory nowhere/lab does not exist"):
        resolve_inventory(ROOT, "nowhere/lab")


# ---------------------------------------------------------------------------- inventory files


def test_a_malformed_group_vars_file_is_named_with_its_line(tmp_path):
    broken = write(
        tmp_path / "lab" / "group_vars" / "monitoring" / "broken.yml", "foo: [1, 2\nbar: 3\n"
    )
    write(tmp_path / "lab" / "hosts.yml", "all:\n  hosts:\n    mon-1:\n")
    with pytest.raises(Refused) as refused:
        check_inventory_files([tmp_path / "lab"])
    message = str(refused.value)
    assert f"{broken}:2:4: YAML syntax error" in message
    assert "while parsing a flow sequence at line 1" in message
    assert "nothing was run" in message


def test_inventory_structure_errors_name_file_and_line(tmp_path):
    hosts = write(
        tmp_path / "hosts.yml",
        """\
        all:
          children:
            engines:
              hosts: [engine-1, engine-2]
            monitoring:
              host:
                mon-1:
            databases:
              hosts:
                db-1: [a]
        """,
    )
    problems = yaml_problems(hosts, "inventory")
    assert problems == [
        f"{hosts}:4:14: the hosts of group engines must be a mapping, not a list",
        f"{hosts}:6:7: group monitoring has a key 'host'; a group has only hosts, vars, "
        "children (Ansible would skip it: a misspelling?)",
        f"{hosts}:10:15: the variables of host db-1 must be a mapping, not a list",
    ]


def test_a_vars_file_must_be_a_mapping(tmp_path):
    listed = write(tmp_path / "group_vars" / "all.yml", "- a\n- b\n")
    assert yaml_problems(listed, "vars") == [
        f"{listed}:1:1: a vars file must be a mapping of variable names to values, "
        "this one is a list"
    ]


def test_what_ansible_accepts_passes(tmp_path):
    vaulted = write(
        tmp_path / "group_vars" / "all" / "vault.yml", "$ANSIBLE_VAULT;1.1;AES256\n3132\n"
    )
    tagged = write(
        tmp_path / "group_vars" / "all" / "tagged.yml",
        "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\nraw: !unsafe '{{ x }}'\n",
    )
    plugin = write(tmp_path / "cloud.aws_ec2.yml", "plugin: amazon.aws.aws_ec2\nregions: [r]\n")
    empty = write(tmp_path / "host_vars" / "h.yml", "# nothing yet\n")
    for path, kind in ((vaulted, "vars"), (tagged, "vars"), (plugin, "inventory"), (empty, "vars")):
        assert yaml_problems(path, kind) == [], path
    check_inventory_files([tmp_path])
    # The project's own inventories, and a failover's list of sources.
    check_inventory_files([ROOT / "inventories" / "lab"])
    check_inventory_files([ROOT / "inventories" / "production"])
    check_inventory_files([ROOT / "inventories" / "lab" / "hosts.yml"])


def test_non_yaml_files_and_ignored_ones_are_left_to_ansible(tmp_path):
    write(tmp_path / "hosts.ini", "[engines]\nengine-1\n")
    write(tmp_path / "README.md", "# notes: [ not yaml\n")
    write(tmp_path / "group_vars" / ".hidden.yml", "[\n")
    files = dict(runner.inventory_files([tmp_path]))
    assert files == {}
    check_inventory_files([tmp_path])


# ---------------------------------------------------------------------------- tags and limits

# `ansible-playbook playbooks/hosts/engine.yml --list-hosts --list-tags --limit
# engine-bm-1,localhost` on the lab (ansible-core 2.19), two plays of four.
LISTING = (
    "\nplaybook: playbooks/hosts/engine.yml\n\n"
    "  play #1 (localhost): DR state | who is active\tTAGS: [always]\n"
    "    pattern: ['localhost']\n"
    "    hosts (1):\n"
    "      localhost\n"
    "      TASK TAGS: [always]\n\n"
    "  play #3 (engines[0]): Engine | canary\tTAGS: [engine]\n"
    "    pattern: ['engines[0]']\n"
    "    hosts (0):\n"
    "      TASK TAGS: [always, configure, engine, install, preflight, verify]\n\n"
    "  play #4 (engines[1:]): Engine | rolling batches\tTAGS: [engine,rollout]\n"
    "    pattern: ['engines[1:]']\n"
    "    hosts (1):\n"
    "      engine-bm-1\n"
    "      TASK TAGS: [always, configure, engine, install, preflight, verify]\n"
)


def test_the_listing_is_parsed_into_plays_hosts_and_tags():
    plays = parse_listing("\x1b[0;32m" + LISTING + "\x1b[0m")
    assert [(p.pattern, p.hosts) for p in plays] == [
        ("localhost", ["localhost"]),
        ("engines[0]", []),
        ("engines[1:]", ["engine-bm-1"]),
    ]
    assert plays[0].name == "DR state | who is active"
    assert plays[2].tags == {
        "engine",
        "rollout",
        "always",
        "configure",
        "install",
        "preflight",
        "verify",
    }


def test_a_misspelt_tag_is_a_usage_error_listing_the_known_tags():
    plays = parse_listing(LISTING)
    with pytest.raises(UsageError) as error:
        check_selection(RunRequest("p", tags=["engnie"]), plays, "engine.yml", "inventories/lab")
    message = str(error.value)
    assert message.startswith("--tags engnie: no play or task of engine.yml has this tag")
    assert "nothing would run" in message and "did you mean 'engine'?" in message
    assert (
        "The tags of engine.yml: configure, engine, install, preflight, rollout, verify" in message
    )


def test_a_misspelt_skip_tag_is_refused_too():
    plays = parse_listing(LISTING)
    with pytest.raises(UsageError, match=r"--skip-tags verfiy: .*nothing would be skipped"):
        check_selection(RunRequest("p", skip_tags=["verfiy"]), plays, "e.yml", "i")


def test_known_and_special_tags_pass():
    plays = parse_listing(LISTING)
    request = RunRequest("p", tags=["engine", "preflight", "always"], skip_tags=["never", "verify"])
    check_selection(request, plays, "e.yml", "i")


def test_a_limit_that_leaves_no_play_a_host_is_a_usage_error():
    plays = [PlayListing("p", "engines", []), PlayListing("q", "localhost", [])]
    with pytest.raises(UsageError, match=r"--limit mon-1 matches no host that a play of e\.yml"):
        check_selection(RunRequest("p", limit="mon-1"), plays, "e.yml", "inventories/lab")
    check_selection(RunRequest("p", limit="mon-1"), parse_listing(LISTING), "e.yml", "i")


@pytest.fixture
def static_inventory(tmp_path) -> Path:
    """The lab's static hosts, no cloud source (no moto needed to list)."""
    inventory = tmp_path / "inv"
    write(inventory / "hosts.yml", (ROOT / "inventories" / "lab" / "hosts.yml").read_text())
    return inventory


def listing_check(request: RunRequest, inventory: Path, tmp_path: Path) -> None:
    env = runner.run_environment(ROOT, "unit-listing", tmp_path)
    check_tags_and_limit(
        ROOT, ROOT / "site.yml", [str(inventory)], request, env, tmp_path / "private"
    )


def test_the_real_listing_of_site_yml_catches_a_misspelt_tag(static_inventory, tmp_path):
    with pytest.raises(UsageError) as error:
        listing_check(RunRequest("site", tags=["netwrok"]), static_inventory, tmp_path)
    message = str(error.value)
    assert "did you mean 'network'" in message
    for tag in ("kernel_tuning", "engine", "monitoring", "preflight", "network-dr"):
        assert tag in message
    listing_check(RunRequest("site", tags=["kernel_tuning"]), static_inventory, tmp_path)


def test_the_real_listing_catches_a_limit_matching_no_host(static_inventory, tmp_path):
    with pytest.raises(UsageError, match="--limit nosuchhost matches no host of inventory"):
        listing_check(RunRequest("site", limit="nosuchhost"), static_inventory, tmp_path)
    listing_check(RunRequest("site", limit="engine-bm-1"), static_inventory, tmp_path)


# ---------------------------------------------------------------------------- interrupts

# A process tree as a run leaves it: a child in a session of its own (Ansible's workers
# call setsid) and a daemon that double-forked away from it (async_wrapper), all sleeping.
# The daemon, the last one made, says ready: then every process exists (the parent said it
# before, and the test could count the short-lived middle process instead of the daemon).
TREE = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            print("ready", flush=True)
            time.sleep(300)
        os._exit(0)
    time.sleep(300)
    os._exit(0)
time.sleep(300)
"""


def test_every_process_of_a_run_is_found_and_stopped():
    marker = f"unit-{os.getpid()}-{time.monotonic_ns()}"
    env = dict(os.environ, **{runner.RUN_MARKER: marker})
    proc = subprocess.Popen(
        [sys.executable, "-c", TREE], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        # the parent, its child in a session of its own, the daemon (the middle process
        # exits at once: a zombie until reaped, which does not count)
        while len(found := run_processes(marker)) != 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.pid in found and len(found) == 3, found
        stopped = stop_run_processes(marker, grace=1.0)
        assert set(found) <= set(stopped)
        assert run_processes(marker) == []
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    other = run_processes(f"{marker}-nothing")
    assert other == []


def test_a_signal_during_a_run_is_remembered_not_raised_and_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with runner.Interrupts() as interrupts:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert interrupts.requested and interrupts.name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_run_environment_marks_the_run_and_gives_it_its_own_temp(tmp_path):
    env = runner.run_environment(paths.project_root(), "20260101T000000-1", tmp_path)
    assert env[runner.RUN_MARKER] == "20260101T000000-1"
    assert env["TMPDIR"] == str(tmp_path)
    assert env["ANSIBLE_LOCAL_TEMP"].startswith(str(tmp_path))


def test_facts_are_cached_per_environment_and_per_lab(tmp_path, monkeypatch):
    root = paths.project_root()
    monkeypatch.delenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", raising=False)
    monkeypatch.setenv("TRADEOPS_LAB_NAME", "lab-a")
    lab = (root / "inventories" / "lab").resolve()
    production = (root / "inventories" / "production").resolve()
    env = runner.run_environment(root, "r1", tmp_path, lab)
    assert env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] == str(root / ".cache" / "facts" / "lab-lab-a")
    monkeypatch.setenv("TRADEOPS_LAB_NAME", "lab-b")
    other = runner.run_environment(root, "r2", tmp_path, lab)["ANSIBLE_CACHE_PLUGIN_CONNECTION"]
    assert other != env["ANSIBLE_CACHE_PLUGIN_CONNECTION"]
    prod = runner.run_environment(root, "r3", tmp_path, production)
    assert prod["ANSIBLE_CACHE_PLUGIN_CONNECTION"] == str(root / ".cache" / "facts" / "production")
    # An operator's own setting wins.
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(tmp_path / "mine"))
    mine = runner.run_environment(root, "r4", tmp_path, production)
    assert mine["ANSIBLE_CACHE_PLUGIN_CONNECTION"] == str(tmp_path / "mine")


def test_ansible_runner_leaves_the_fact_cache_directory_to_tradeops(tmp_path):
    """ansible-runner's default ("jsonfile") puts a cache in each run's artifacts, over
    run_environment's: hosts outside a --limit then had no facts at all."""
    from ansible_runner.config.runner import RunnerConfig

    mine = str(tmp_path / "facts")
    seen = {}
    for kind in (runner.FACT_CACHE_FROM_ENV, "jsonfile"):
        (tmp_path / kind / "project").mkdir(parents=True)
        (tmp_path / kind / "project" / "site.yml").write_text("[]\n")
        config = RunnerConfig(
            private_data_dir=str(tmp_path / kind),
            playbook="site.yml",
            envvars={"ANSIBLE_CACHE_PLUGIN_CONNECTION": mine},
            fact_cache_type=kind,
            suppress_env_files=True,
        )
        config.prepare()
        seen[kind] = config.env["ANSIBLE_CACHE_PLUGIN_CONNECTION"]
    assert seen[runner.FACT_CACHE_FROM_ENV] == mine
    assert seen["jsonfile"] != mine  # what the runner did before

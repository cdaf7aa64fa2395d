"""`--list-hosts` / `--list-tags` of `tradeops run` and `tradeops plan`: Ansible's own listing,
passed through (ansible-playbook through ansible-runner, nothing runs on any host)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from . import exitcodes, paths
from .lab import Lab
from .runner import (
    Refused,
    ansible_errors,
    check_inventory_files,
    is_lab_inventory,
    resolve_inventory,
    resolve_playbook,
    run_environment,
)


def wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "list_hosts", False) or getattr(args, "list_tags", False))


def cmdline(args: argparse.Namespace, playbook: Path, inventory: Path) -> list[str]:
    line = [str(playbook), "-i", str(inventory)]
    if args.limit:
        line += ["--limit", args.limit]
    if args.tags:
        line += ["--tags", ",".join(args.tags)]
    if args.skip_tags:
        line += ["--skip-tags", ",".join(args.skip_tags)]
    for extra in args.extra_vars:
        line += ["-e", extra]
    if args.list_hosts:
        line.append("--list-hosts")
    if args.list_tags:
        line.append("--list-tags")
    return line


def cmd_list(args: argparse.Namespace, stream=None) -> int:
    import ansible_runner

    stream = stream or sys.stdout
    root = paths.project_root()
    playbook = resolve_playbook(root, args.playbook)
    inventory = resolve_inventory(root, args.inventory)
    check_inventory_files([inventory])
    if is_lab_inventory(root, inventory):
        Lab().require_up()  # the lab's cloud hosts come from its moto
    private = Path(tempfile.mkdtemp(prefix="tradeops-list-"))
    try:
        env = run_environment(root, "list-" + private.name, private, inventory)
        env["ANSIBLE_NOCOLOR"] = "1"
        out, err, rc = ansible_runner.run_command(
            executable_cmd="ansible-playbook",
            cmdline_args=cmdline(args, playbook, inventory),
            host_cwd=str(root),
            envvars=env,
            runner_mode="subprocess",
            quiet=True,
            private_data_dir=str(private / "runner"),
            suppress_env_files=True,
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if rc != 0:
        raise Refused(
            f"ansible-playbook could not list {args.playbook} with inventory {args.inventory}:\n"
            + ansible_errors((out or "") + "\n" + (err or ""))
        )
    print((out or "").rstrip(), file=stream)
    return exitcodes.OK

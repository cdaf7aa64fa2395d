"""Run one backup job and record its outcome as node_exporter textfile metrics.

    tradeops-backup-job --job NAME --textfile-dir DIR [--max-age SECONDS] -- COMMAND...

Runs COMMAND, then writes DIR/tradeops_backup_<NAME>.prom atomically (tmp + rename):

    tradeops_backup_last_success_timestamp_seconds{job}  last successful run (0: never)
    tradeops_backup_last_run_timestamp_seconds{job}      end of the last run
    tradeops_backup_last_run_success{job}                1 ok, 0 failed
    tradeops_backup_last_run_exit_code{job}              COMMAND's exit code
    tradeops_backup_last_run_duration_seconds{job}       how long it took
    tradeops_backup_max_age_seconds{job}                 how old is too old (BackupTooOld)

The file is written on success and on failure; a failure keeps the previous success time
(read back from the file) and exits with COMMAND's non-zero code, so systemd marks the
unit failed and the journal has the command's own error. Installed by the internal role
backup_common, which both backup_restic and backup_pgbackrest import: this is the one copy.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HELP = {
    "last_success_timestamp_seconds": "Unix time of the last successful run of the job (0: never).",
    "last_run_timestamp_seconds": "Unix time at which the last run of the backup job ended.",
    "last_run_success": "1 if the last run of the backup job succeeded, 0 if it failed.",
    "last_run_exit_code": "Exit code of the last run of the backup job.",
    "last_run_duration_seconds": "Duration of the last run of the backup job.",
    "max_age_seconds": "Age beyond which the backup job counts as stale (BackupTooOld).",
}


def previous_success(path: str, job: str) -> float:
    pattern = re.compile(
        r'^tradeops_backup_last_success_timestamp_seconds\{job="' + re.escape(job) + r'"\} (\S+)$'
    )
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                match = pattern.match(line.strip())
                if match:
                    return float(match.group(1))
    except (OSError, ValueError):
        pass
    return 0.0


def render(job: str, values: dict[str, float]) -> str:
    lines = []
    for name, value in values.items():
        metric = f"tradeops_backup_{name}"
        lines += [
            f"# HELP {metric} {HELP[name]}",
            f"# TYPE {metric} gauge",
            f'{metric}{{job="{job}"}} {value:.3f}',
        ]
    return "\n".join(lines) + "\n"


def write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tradeops_backup_", suffix=".prom.tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--job", required=True, help="job label, e.g. restic, pgbackrest-full")
    parser.add_argument("--textfile-dir", required=True, help="node_exporter textfile directory")
    parser.add_argument("--max-age", type=int, default=0, help="stale after this many seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not re.fullmatch(r"[A-Za-z0-9_.-]+", args.job):
        parser.error("give a job name of letters, digits, '_.-' and a command after --")

    path = os.path.join(args.textfile_dir, f"tradeops_backup_{args.job}.prom")
    started = time.time()
    print(f"tradeops-backup-job: {args.job}: running {' '.join(command)}", flush=True)
    try:
        code = subprocess.call(command)
    except OSError as err:
        print(f"tradeops-backup-job: {args.job}: cannot run {command[0]}: {err}", file=sys.stderr)
        code = 127
    ended = time.time()
    values = {
        "last_success_timestamp_seconds": ended if code == 0 else previous_success(path, args.job),
        "last_run_timestamp_seconds": ended,
        "last_run_success": 1.0 if code == 0 else 0.0,
        "last_run_exit_code": float(code),
        "last_run_duration_seconds": ended - started,
    }
    if args.max_age > 0:
        values["max_age_seconds"] = float(args.max_age)
    write_atomically(path, render(args.job, values))
    if code != 0:
        print(
            f"tradeops-backup-job: {args.job}: FAILED with exit code {code}; "
            f"{path} records the failure (last success kept)",
            file=sys.stderr,
            flush=True,
        )
        return code if 0 < code < 256 else 1
    print(f"tradeops-backup-job: {args.job}: ok in {ended - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

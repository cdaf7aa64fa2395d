"""Exit codes scripts can rely on (also listed in `tradeops --help`)."""

OK = 0
ERROR = 1  # unexpected error inside tradeops itself (the message says where the details are)
USAGE = 2  # bad command line: argparse's errors, tags or a --limit that match nothing
PRECONDITION = 3  # refused before anything ran: lab down, malformed inventory, unconfirmed env
FAILED = 4  # the play ran and at least one host failed a task
UNREACHABLE = 5  # the play ran and at least one host was unreachable (and none failed)
INTERRUPTED = 130  # SIGINT (Ctrl-C) or SIGTERM: the run was stopped, all of it
# `tradeops plan` and `tradeops drift` only (as `terraform plan -detailed-exitcode`): 2 says
# something would change / drifted, so their bad command lines exit PLAN_USAGE instead.
CHANGES = 2
PLAN_USAGE = 64

TABLE = (
    (OK, "success"),
    (ERROR, "unexpected error in tradeops (a bug: the message says where the details are)"),
    (USAGE, "bad command line (also: --tags, --skip-tags or --limit that match nothing)"),
    (
        PRECONDITION,
        "refused before anything ran (lab not up, malformed inventory or vars file, "
        "protected env not confirmed, ...)",
    ),
    (FAILED, "a task failed on at least one host"),
    (UNREACHABLE, "at least one host was unreachable (none failed)"),
    (INTERRUPTED, "interrupted (Ctrl-C or SIGTERM): every process of the run stopped"),
    (CHANGES, "plan, drift only: something would change (plan) or drifted (drift); 0: nothing"),
    (PLAN_USAGE, "plan, drift only: bad command line (their 2 means changes)"),
)

# The word the run report (`--report`, tradeops-report.json) gives each code as "status".
STATUS = {
    OK: "ok",
    ERROR: "error",
    USAGE: "usage",
    PRECONDITION: "refused",
    FAILED: "failed",
    UNREACHABLE: "unreachable",
    INTERRUPTED: "interrupted",
    PLAN_USAGE: "usage",
}


def status(code: int) -> str:
    return STATUS.get(code, "failed")

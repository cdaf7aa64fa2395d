"""Exit codes scripts can rely on (also listed in `tradeops --help`)."""

OK = 0
ERROR = 1  # unexpected error inside tradeops itself
USAGE = 2  # bad command line (argparse uses 2 as well)
PRECONDITION = 3  # refused before anything ran: lab down, unconfirmed protected env, ...
FAILED = 4  # the play ran and at least one host failed a task
UNREACHABLE = 5  # the play ran and at least one host was unreachable (and none failed)
INTERRUPTED = 130

TABLE = (
    (OK, "success"),
    (ERROR, "unexpected error in tradeops"),
    (USAGE, "bad command line"),
    (PRECONDITION, "refused before anything ran (lab not up, protected env not confirmed, ...)"),
    (FAILED, "a task failed on at least one host"),
    (UNREACHABLE, "at least one host was unreachable (none failed)"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)

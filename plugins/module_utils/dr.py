# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disaster recovery: the DR state in SSM, the run lock, and the AWS-tier DR steps.

Shared by the modules ``dr_state``, ``rds_replica_promote``, ``elasticache_global_failover``
and ``arc_routing_control`` (docs/dr.md). Everything here works on boto3 clients handed in
by the module (so tests hand in moto or botocore Stubber clients) and raises ``DrError``
with a message for the operator and the partial result; botocore errors other than "this
region/endpoint did not answer" propagate, for ``fail_json_aws``.

The fence *decision* (may an engine start?) is not here: it lives in one place, the host
script roles/dr_fence/files/tradeops_dr_fence.py. This file only finds the authoritative
record (the highest epoch among the regions that answered), which both must agree on
(tests/unit/plugins/test_dr_fence.py checks that they do).
"""

from __future__ import annotations

import datetime
import json
import re
import time

try:
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        ReadTimeoutError,
    )

    UNREACHABLE_ERRORS = (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        ReadTimeoutError,
    )
except ImportError:  # pragma: no cover - reported by AnsibleAWSModule
    ClientError = Exception
    UNREACHABLE_ERRORS = ()

UTC = datetime.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; targets may run 3.9)
PREFIX_RE = re.compile(r"^(/[A-Za-z0-9_.\-]+)+$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
RECORD_KEYS = ("active_region", "epoch", "changed_at", "run_id", "verb", "reason")
LOCK_KEYS = ("owner", "run_id", "verb", "acquired_at", "expires_at")
# Error codes of a service that is there but cannot serve now: the caller treats the
# region (or endpoint) as unreachable, like a connection that failed.
UNAVAILABLE_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "EndpointTemporarilyUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class DrError(Exception):
    """A DR step cannot go on; ``msg`` says why and what to do, ``result`` what was seen."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result

    def __str__(self):
        return self.msg  # callers append to msg (what was undone) after raising


# ------------------------------------------------------------------ common helpers


def utc_now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


def format_time(moment):
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text):
    """``2026-01-02T03:04:05Z`` (what this file writes) to an aware datetime; ValueError else."""
    return datetime.datetime.strptime(str(text), TIME_FORMAT).replace(tzinfo=UTC)


def error_code(err):
    if isinstance(err, ClientError) and hasattr(err, "response"):
        return err.response.get("Error", {}).get("Code", "")
    return ""


def is_unreachable(err):
    """True when ``err`` means "no usable answer from this region/endpoint".

    Connection errors and timeouts (after botocore's bounded retries), HTTP 5xx and the
    "try again elsewhere" codes. Access denied, validation errors and the like are *not*
    unreachable: a region that answers "no" must not be skipped silently.
    """
    if UNREACHABLE_ERRORS and isinstance(err, UNREACHABLE_ERRORS):
        return True
    if isinstance(err, ClientError) and hasattr(err, "response"):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or error_code(err) in UNAVAILABLE_CODES
    return False


def describe_error(err):
    """One line: the error's class (or AWS code) and message."""
    code = error_code(err)
    text = str(err).strip().replace("\n", " ")
    return f"{code or type(err).__name__}: {text}"


def botocore_config(connect_timeout, read_timeout, max_attempts):
    """Client configuration that bounds what one unreachable region can cost.

    ``max_attempts`` is the total number of attempts (the first one included), in
    botocore's ``standard`` retry mode: measured on botocore 1.44, a connection refused costs
    milliseconds, a silent endpoint ``max_attempts * read_timeout`` (plus under a second of
    backoff), a black-holed one ``max_attempts * connect_timeout`` (tests/unit/plugins/
    test_dr_state.py measures both).
    """
    return {
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        "retries": {"mode": "standard", "total_max_attempts": max_attempts},
    }


def connection_errors(params):
    errors = []
    if params.get("connect_timeout") is not None and not 0 < params["connect_timeout"] <= 60:
        errors.append("connect_timeout must be 1 to 60 seconds")
    if params.get("read_timeout") is not None and not 0 < params["read_timeout"] <= 300:
        errors.append("read_timeout must be 1 to 300 seconds")
    if params.get("max_attempts") is not None and not 1 <= params["max_attempts"] <= 10:
        errors.append("max_attempts must be 1 to 10 (the first attempt included)")
    return errors


def validate_region(name, what="region"):
    if not isinstance(name, str) or not REGION_RE.match(name):
        return [f"{what} {name!r} is not an AWS region name (like us-east-1)"]
    return []


def wait_until(probe, done, timeout, delay, what, sleep=time.sleep, clock=time.monotonic):
    """Call ``probe()`` until ``done(value)``; return the value. DrError after ``timeout`` s."""
    deadline = clock() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if clock() >= deadline:
            err = DrError(f"timed out after {timeout} s waiting for {what}")
            err.last = value  # the caller summarises it (raw API data is not a result)
            raise err
        sleep(max(0, min(delay, deadline - clock())))


# ------------------------------------------------------------------ the DR state in SSM


def validate_prefix(prefix):
    if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
        return [
            f"prefix {prefix!r} must be an SSM path like /tradeops/lab/dr: a leading /, "
            "letters, digits, _ . - between slashes, no trailing /"
        ]
    first = prefix.split("/")[1].lower()
    if first.startswith("aws") or first.startswith("ssm"):
        return [f"prefix {prefix!r}: SSM reserves names that start with aws or ssm"]
    return []


def active_name(prefix):
    return f"{prefix}/active"


def epoch_name(prefix, epoch):
    return f"{prefix}/epochs/{int(epoch):08d}"


def lock_name(prefix):
    return f"{prefix}/lock"


def parse_record(text):
    """The JSON of an ``active`` or ``epochs/N`` parameter; ValueError when it is not one."""
    try:
        record = json.loads(text)
    except (TypeError, ValueError) as err:
        raise ValueError(f"not JSON ({err})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    region = record.get("active_region")
    if not isinstance(region, str) or not REGION_RE.match(region):
        raise ValueError(f"active_region {region!r} is not a region name")
    epoch = record.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"epoch {epoch!r} is not a positive integer")
    return record


def make_record(active_region, epoch, run_id, verb, reason, now=None):
    return {
        "active_region": active_region,
        "epoch": int(epoch),
        "changed_at": format_time(now or utc_now()),
        "run_id": run_id or "",
        "verb": verb or "",
        "reason": reason or "",
    }


def record_json(record):
    """The parameter value: compact, keys in the documented order."""
    ordered = {k: record[k] for k in RECORD_KEYS if k in record}
    ordered.update({k: v for k, v in record.items() if k not in ordered})
    return json.dumps(ordered, separators=(",", ":"))


def who(record):
    """A record's holder, for messages: region, run, verb, time, reason."""
    if not record:
        return "nobody"
    parts = []
    if "active_region" in record:
        parts.append(f"names {record.get('active_region')} at epoch {record.get('epoch')}")
    for key in ("run_id", "verb", "changed_at", "reason", "owner", "acquired_at", "expires_at"):
        if record.get(key):
            parts.append(f"{key} {record[key]}")
    return ", ".join(parts)


def authoritative(records):
    """The authoritative record among ``{region: record | None}`` of the regions that answered.

    Returns ``(record, regions, conflict)``: the record with the highest epoch (None when no
    region has one), the regions holding that epoch, and a message when those regions name
    different active regions at that epoch (None when they agree).
    """
    present = {r: rec for r, rec in records.items() if rec}
    if not present:
        return None, [], None
    top = max(rec["epoch"] for rec in present.values())
    regions = sorted(r for r, rec in present.items() if rec["epoch"] == top)
    named = sorted({present[r]["active_region"] for r in regions})
    conflict = None
    if len(named) > 1:
        conflict = f"conflicting records at epoch {top}: " + "; ".join(
            f"{r} names {present[r]['active_region']}" for r in regions
        )
    return present[regions[0]], regions, conflict


def get_parameter(client, name):
    """``(value, version)`` of a parameter, ``(None, None)`` when it does not exist."""
    try:
        param = client.get_parameter(Name=name)["Parameter"]
    except ClientError as err:
        if error_code(err) == "ParameterNotFound":
            return None, None
        raise
    return param["Value"], param.get("Version")


class Snapshot:
    """What the regions said: records, parameter versions, the unreachable and the invalid."""

    def __init__(self):
        self.records = {}
        self.versions = {}
        self.unreachable = {}
        self.invalid = {}

    @property
    def top(self):
        return authoritative(self.records)

    def result(self):
        record, regions, conflict = self.top
        return {
            "records": dict(self.records),
            "unreachable": dict(self.unreachable),
            "invalid": dict(self.invalid),
            "authoritative": record,
            "authoritative_regions": regions,
            "conflict": conflict,
            "active_region": None if conflict or not record else record["active_region"],
            "epoch": record["epoch"] if record else None,
        }


class DrStateStore:
    """The DR state of ``prefix`` in SSM Parameter Store of several regions.

    ``client_for(region)`` returns the SSM client of a region. Reads never write; writes
    follow docs/dr.md: claim ``epochs/N`` without overwrite, then ``active`` in every region
    reached; a region's ``active`` is only ever replaced by a record of a higher epoch, or
    completed with the same decision.
    """

    def __init__(self, prefix, client_for, check_mode=False, now=utc_now):
        self.prefix = prefix
        self.client_for = client_for
        self.check_mode = check_mode
        self.now = now
        self.changes = []

    # ---- reading

    def read(self, regions):
        snap = Snapshot()
        name = active_name(self.prefix)
        for region in regions:
            try:
                value, version = get_parameter(self.client_for(region), name)
            except Exception as err:  # botocore errors: unreachable is reported, others raise
                if not is_unreachable(err):
                    raise
                snap.unreachable[region] = describe_error(err)
                continue
            snap.versions[region] = version
            if value is None:
                snap.records[region] = None
                continue
            try:
                snap.records[region] = parse_record(value)
            except ValueError as err:
                snap.invalid[region] = f"{name} in {region}: {err}"
        return snap

    @staticmethod
    def require_reachable(snap, regions, allow_unreachable, what):
        if not snap.unreachable:
            return
        listed = "; ".join(f"{r}: {e}" for r, e in sorted(snap.unreachable.items()))
        if not allow_unreachable:
            raise DrError(
                f"cannot {what}: region(s) did not answer ({listed}). Run again when they "
                "answer, or set allow_unreachable=true to act on the regions that answer "
                "(the unplanned failover)",
                **snap.result(),
            )
        if len(snap.unreachable) == len(regions):
            raise DrError(f"cannot {what}: no region answered ({listed})", **snap.result())

    @staticmethod
    def require_valid(snap, what):
        if snap.invalid:
            listed = "; ".join(snap.invalid[r] for r in sorted(snap.invalid))
            raise DrError(
                f"cannot {what}: unreadable DR record(s): {listed}. Nothing was written. "
                "Repair by hand (aws ssm put-parameter --overwrite with the authoritative "
                "record's JSON, or delete the parameter) after checking who wrote it",
                **snap.result(),
            )

    # ---- writing

    def _put(self, region, name, value, overwrite, description):
        client = self.client_for(region)
        return client.put_parameter(
            Name=name,
            Value=value,
            Type="String",
            Overwrite=overwrite,
            Description=description,
        ).get("Version")

    def ensure_claim(self, region, record, same_holder):
        """Create ``epochs/<epoch>`` in ``region`` without overwrite. True when created.

        An existing claim is accepted when ``same_holder(held)`` (our own, or the same
        decision); otherwise DrError names who holds the epoch.
        """
        name = epoch_name(self.prefix, record["epoch"])
        client = self.client_for(region)
        for attempt in (1, 2):
            value, _version = get_parameter(client, name)
            if value is not None:
                try:
                    held = parse_record(value)
                except ValueError as err:
                    raise DrError(
                        f"epoch {record['epoch']} is already claimed in {region} by an "
                        f"unreadable record ({name}: {err}); claim a higher epoch"
                    ) from None
                if same_holder(held):
                    return False
                raise DrError(
                    f"epoch {record['epoch']} is already claimed in {region}: {name} "
                    f"{who(held)}. Another DR run holds it: read the state again and claim "
                    "the next epoch, or let that run finish",
                    holder=held,
                )
            if self.check_mode:
                return True
            try:
                self._put(region, name, record_json(record), False, "tradeops DR epoch claim")
                return True
            except ClientError as err:
                if error_code(err) != "ParameterAlreadyExists" or attempt == 2:
                    raise
                # Someone created it between our read and our write: read it, judge it.
        return False  # pragma: no cover - the loop returns or raises

    def write_active(self, region, record, seen_version, seen_record):
        """Write ``active`` in ``region`` (created without overwrite when missing).

        ``seen_*`` is what the read of this run found there: if the parameter's version moved
        since, another writer was active at the same time, and this run stops.
        """
        name = active_name(self.prefix)
        if self.check_mode:
            return
        if seen_record is None and seen_version is None:
            try:
                self._put(region, name, record_json(record), False, "tradeops DR state")
                return
            except ClientError as err:
                if error_code(err) != "ParameterAlreadyExists":
                    raise
                value, _version = get_parameter(self.client_for(region), name)
                raise DrError(
                    f"{name} in {region} was created by another writer during this run "
                    f"({value}); read the state again",
                ) from None
        version = self._put(region, name, record_json(record), True, "tradeops DR state")
        if seen_version is not None and version is not None and version != seen_version + 1:
            value, _version = get_parameter(self.client_for(region), name)
            raise DrError(
                f"{name} in {region} changed while this run wrote it (version {seen_version} "
                f"read, {version} written): another DR writer is active; it now says {value}. "
                "Read the state again before going on",
            )

    def present(
        self,
        regions,
        active_region,
        epoch,
        expected_epoch,
        run_id,
        verb,
        reason,
        allow_unreachable=False,
    ):
        """Make ``active_region`` at ``epoch`` the DR state in every region that answers."""
        snap = self.read(regions)
        self.require_reachable(snap, regions, allow_unreachable, "write the DR state")
        self.require_valid(snap, "write the DR state")
        if active_region in snap.unreachable:
            raise DrError(
                f"cannot make {active_region} active: its own region did not answer "
                f"({snap.unreachable[active_region]}); its hosts would refuse to start anyway "
                "(they must read their own region's record)",
                **snap.result(),
            )
        top, top_regions, conflict = snap.top
        top_epoch = top["epoch"] if top else 0
        if epoch == top_epoch and not conflict and top["active_region"] == active_region:
            # The decision exists already: complete it where it is missing (a resumed run,
            # reprotect updating the old region). The record is copied as it is.
            record = dict(top)

            def same_holder(held):
                return held.get("active_region") == active_region

        elif epoch <= top_epoch:
            raise DrError(
                f"epoch {epoch} for {active_region} is not newer than the authoritative epoch "
                f"{top_epoch} ({', '.join(top_regions)}: {who(top)})"
                + (f"; {conflict}" if conflict else "")
                + ". Read the state again: the platform moved since",
                **snap.result(),
            )
        else:
            if expected_epoch != top_epoch:
                raise DrError(
                    f"compare-and-set failed: expected authoritative epoch {expected_epoch}, "
                    f"found {top_epoch}"
                    + (f" ({', '.join(top_regions)}: {who(top)})" if top else "")
                    + ". Another run moved the platform: read the state again and decide anew",
                    **snap.result(),
                )
            record = make_record(active_region, epoch, run_id, verb, reason, self.now())

            def same_holder(held):
                return (
                    held.get("active_region") == active_region
                    and held.get("run_id") == run_id
                    and bool(run_id)
                )

        targets = [r for r in regions if r not in snap.unreachable]
        claimed = []
        try:
            for region in targets:
                if self.ensure_claim(region, record, same_holder):
                    claimed.append(region)
                    self.changes.append(
                        f"claim {epoch_name(self.prefix, epoch)} in {region} for {active_region}"
                    )
        except DrError as err:
            undone = self._release_claims(claimed, record)
            err.msg += undone
            err.result.update(snap.result())
            raise
        written = []
        for region in targets:
            have = snap.records.get(region)
            if (
                have
                and have["epoch"] == record["epoch"]
                and have["active_region"] == record["active_region"]
            ):
                continue
            self.write_active(region, record, snap.versions.get(region), have)
            written.append(region)
            self.changes.append(
                f"{active_name(self.prefix)} in {region}: "
                + (f"epoch {have['epoch']} {have['active_region']}" if have else "missing")
                + f" -> epoch {record['epoch']} {record['active_region']}"
            )
        result = snap.result()
        for region in written:
            result["records"][region] = record
        result.update(self._summary(result["records"]))
        result.update(record=record, claimed=claimed, written=written)
        return result

    def init(self, regions, active_region, epoch, run_id, verb, reason, allow_unreachable=False):
        """Create the records where missing; never overwrite (site.yml's DR layer)."""
        snap = self.read(regions)
        self.require_reachable(snap, regions, allow_unreachable, "initialise the DR state")
        self.require_valid(snap, "initialise the DR state")
        top, _top_regions, conflict = snap.top
        if conflict:
            raise DrError(
                f"cannot initialise the DR state: {conflict}. Claim a new epoch with "
                "state=present to settle it",
                **snap.result(),
            )
        # A region without a record gets the authoritative one when another region has it:
        # a converge never plants an older decision next to a newer one.
        record = dict(top) if top else make_record(active_region, epoch, run_id, verb, reason)
        if top is None:
            record["changed_at"] = format_time(self.now())
        written, claimed = [], []
        for region in regions:
            if region in snap.unreachable or snap.records.get(region) is not None:
                continue
            if self.ensure_claim(
                region, record, lambda held: held.get("active_region") == record["active_region"]
            ):
                claimed.append(region)
                self.changes.append(f"claim {epoch_name(self.prefix, record['epoch'])} in {region}")
            self.write_active(region, record, None, None)
            written.append(region)
            self.changes.append(
                f"create {active_name(self.prefix)} in {region}: epoch {record['epoch']} "
                f"{record['active_region']}"
            )
        result = snap.result()
        for region in written:
            result["records"][region] = record
        result.update(self._summary(result["records"]))
        result.update(record=record, claimed=claimed, written=written)
        return result

    def _release_claims(self, regions, record):
        """Delete the claims this call created (a lost race must leave no claim behind)."""
        if not regions or self.check_mode:
            return ""
        name = epoch_name(self.prefix, record["epoch"])
        done, failed = [], []
        for region in regions:
            try:
                client = self.client_for(region)
                value, _version = get_parameter(client, name)
                if value is not None and json.loads(value).get("run_id") == record.get("run_id"):
                    client.delete_parameter(Name=name)
                done.append(region)
            except Exception as err:  # best effort: report, the original error matters more
                failed.append(f"{region} ({describe_error(err)})")
        text = f". Released this run's claim of {name} in {', '.join(done)}" if done else ""
        if failed:
            text += f". Could not release it in {', '.join(failed)}: delete it by hand"
        return text

    @staticmethod
    def _summary(records):
        record, regions, conflict = authoritative(records)
        return {
            "authoritative": record,
            "authoritative_regions": regions,
            "conflict": conflict,
            "active_region": None if conflict or not record else record["active_region"],
            "epoch": record["epoch"] if record else None,
        }

    # ---- the run lock

    def lock(self, regions, owner, run_id, verb, ttl, break_lock_reason, allow_unreachable=False):
        """Take the DR run lock in every region that answers (docs/dr.md, "Runbook steps")."""
        name = lock_name(self.prefix)
        now = self.now()
        mine = {
            "owner": owner,
            "run_id": run_id,
            "verb": verb or "",
            "acquired_at": format_time(now),
            "expires_at": format_time(now + datetime.timedelta(seconds=ttl)),
        }
        unreachable, acquired, broken, locks = {}, [], {}, {}
        try:
            for region in regions:
                try:
                    action, previous, in_place = self._lock_region(
                        region, name, mine, now, break_lock_reason
                    )
                except Exception as err:
                    if isinstance(err, DrError) or not is_unreachable(err):
                        raise
                    unreachable[region] = describe_error(err)
                    continue
                locks[region] = in_place
                if action != "kept":
                    acquired.append(region)
                    self.changes.append(f"{action} {name} in {region} for run {run_id}")
                if action == "replaced":
                    broken[region] = {
                        "previous": previous,
                        "reason": break_lock_reason or "expired",
                    }
        except DrError as err:
            err.msg += self._release_locks(acquired, run_id)
            err.result.update(unreachable=unreachable)
            raise
        if unreachable and (not allow_unreachable or len(unreachable) == len(regions)):
            listed = "; ".join(f"{r}: {e}" for r, e in sorted(unreachable.items()))
            raise DrError(
                f"cannot take the DR run lock: region(s) did not answer ({listed})"
                + self._release_locks(acquired, run_id),
                unreachable=unreachable,
            )
        return {
            "lock": next(iter(locks.values())),
            "locks": locks,
            "acquired": acquired,
            "broken": broken,
            "break_lock_reason": break_lock_reason or None,
            "unreachable": unreachable,
        }

    def _lock_region(self, region, name, mine, now, break_lock_reason):
        """``(action, previous, in_place)``; action is created, kept, refreshed or replaced."""
        client = self.client_for(region)
        for attempt in (1, 2):
            value, version = get_parameter(client, name)
            if value is None:
                if self.check_mode:
                    return "created", None, mine
                try:
                    self._put(region, name, json.dumps(mine), False, "tradeops DR run lock")
                    return "created", None, mine
                except ClientError as err:
                    if error_code(err) != "ParameterAlreadyExists" or attempt == 2:
                        raise
                    continue  # taken between our read and our write: judge the holder
            held, problem = _parse_lock(value)
            expired = problem is None and parse_time(held["expires_at"]) <= now
            if problem is None and held["run_id"] == mine["run_id"]:
                if not expired:
                    return "kept", held, held
                # Our own lock ran out while the run was away: extend it (resume).
                action, new = "refreshed", dict(mine, acquired_at=held["acquired_at"])
            elif expired or break_lock_reason:
                action, new = "replaced", mine
            elif problem:
                raise DrError(
                    f"the DR run lock {name} in {region} is unreadable ({problem}): {value!r}. "
                    "Break it with break_lock_reason once you know no run holds it"
                )
            else:
                raise DrError(
                    f"another DR run holds the lock {name} in {region}: {who(held)}. Wait for "
                    "it to finish, or, if it is dead, break the lock with break_lock_reason "
                    "(recorded in the run record)",
                    holder=held,
                )
            previous = held if problem is None else {"unreadable": value}
            if self.check_mode:
                return action, previous, new
            written = self._put(region, name, json.dumps(new), True, "tradeops DR run lock")
            if version is not None and written is not None and written != version + 1:
                raise DrError(
                    f"the DR run lock {name} in {region} changed while this run took it over "
                    f"(version {version} read, {written} written): another run is taking it "
                    "at the same time. Run again once it is clear who holds it"
                )
            return action, previous, new
        raise DrError(f"could not take the DR run lock {name} in {region}")  # pragma: no cover

    def _release_locks(self, regions, run_id):
        if not regions or self.check_mode:
            return ""
        released = []
        for region in regions:
            try:
                if self._unlock_region(region, run_id) == "deleted":
                    released.append(region)
            except Exception:  # best effort: the original error is the one to report
                continue
        return f". Released this run's lock in {', '.join(released)}" if released else ""

    def _unlock_region(self, region, run_id):
        name = lock_name(self.prefix)
        client = self.client_for(region)
        value, _version = get_parameter(client, name)
        if value is None:
            return "absent"
        held, problem = _parse_lock(value)
        if problem or held["run_id"] != run_id:
            raise DrError(
                f"the DR run lock {name} in {region} is not this run's ({run_id}): "
                + (f"unreadable ({problem})" if problem else who(held))
                + ". It was left in place",
                holder=held,
            )
        if not self.check_mode:
            try:
                client.delete_parameter(Name=name)
            except ClientError as err:
                if error_code(err) != "ParameterNotFound":
                    raise
        return "deleted"

    def unlock(self, regions, run_id, allow_unreachable=False):
        unreachable, released = {}, []
        for region in regions:
            try:
                if self._unlock_region(region, run_id) == "deleted":
                    released.append(region)
                    self.changes.append(f"delete {lock_name(self.prefix)} in {region}")
            except Exception as err:
                if isinstance(err, DrError) or not is_unreachable(err):
                    raise
                unreachable[region] = describe_error(err)
        if unreachable and (not allow_unreachable or len(unreachable) == len(regions)):
            listed = "; ".join(f"{r}: {e}" for r, e in sorted(unreachable.items()))
            raise DrError(
                f"cannot release the DR run lock: region(s) did not answer ({listed})",
                released=released,
                unreachable=unreachable,
            )
        return {"released": released, "unreachable": unreachable}


def _parse_lock(value):
    """``(lock, None)`` or ``(None, problem)``."""
    try:
        held = json.loads(value)
    except (TypeError, ValueError) as err:
        return None, f"not JSON ({err})"
    if not isinstance(held, dict) or any(not isinstance(held.get(k), str) for k in LOCK_KEYS):
        return None, f"not a lock record with {', '.join(LOCK_KEYS)}"
    try:
        parse_time(held["expires_at"])
        parse_time(held["acquired_at"])
    except ValueError:
        return None, "acquired_at/expires_at are not UTC times like 2026-01-02T03:04:05Z"
    return held, None


# ------------------------------------------------------------------ RDS read replica promotion


def rds_summary(instance):
    """The facts of a DB instance a promotion is judged by (None when absent)."""
    if not instance:
        return None
    return {
        "db_instance_identifier": instance.get("DBInstanceIdentifier"),
        "db_instance_arn": instance.get("DBInstanceArn"),
        "status": instance.get("DBInstanceStatus"),
        "read_replica_source": instance.get("ReadReplicaSourceDBInstanceIdentifier"),
        "read_replica_identifiers": instance.get("ReadReplicaDBInstanceIdentifiers") or [],
        "backup_retention_period": instance.get("BackupRetentionPeriod"),
        "preferred_backup_window": instance.get("PreferredBackupWindow"),
        "engine": instance.get("Engine"),
        "engine_version": instance.get("EngineVersion"),
        "instance_class": instance.get("DBInstanceClass"),
        "multi_az": instance.get("MultiAZ"),
        "endpoint": (instance.get("Endpoint") or {}).get("Address"),
    }


BACKUP_WINDOW_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")


def promote_errors(params):
    errors = []
    if not 1 <= params["backup_retention_period"] <= 35:
        errors.append(
            "backup_retention_period must be 1 to 35 days (0 would switch the promoted "
            "instance's backups off)"
        )
    window = params.get("preferred_backup_window")
    if window and not BACKUP_WINDOW_RE.match(window):
        errors.append(f"preferred_backup_window {window!r} must be hh24:mi-hh24:mi in UTC")
    if params["wait_timeout"] < 1 or params["wait_delay"] < 0:
        errors.append("wait_timeout must be positive and wait_delay not negative")
    return errors


def describe_db_instance(client, identifier):
    try:
        return client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except ClientError as err:
        if error_code(err) in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
            return None
        raise


def promote_replica(
    client,
    identifier,
    backup_retention_period,
    preferred_backup_window=None,
    wait=True,
    wait_timeout=3600,
    wait_delay=15,
    verify_post_state=True,
    check_mode=False,
    sleep=time.sleep,
    clock=time.monotonic,
):
    """Promote the read replica ``identifier``: probe, skip, refuse, act, wait, verify."""
    before = describe_db_instance(client, identifier)
    if before is None:
        raise DrError(f"DB instance {identifier} does not exist in this region")
    result = {"before": rds_summary(before), "after": rds_summary(before), "changes": []}

    def verify(instance, promoted):
        problems = []
        if instance.get("ReadReplicaSourceDBInstanceIdentifier"):
            problems.append(
                f"still a read replica of {instance['ReadReplicaSourceDBInstanceIdentifier']}"
            )
        if instance.get("DBInstanceStatus") != "available":
            problems.append(f"status is {instance.get('DBInstanceStatus')}, not available")
        retention = instance.get("BackupRetentionPeriod") or 0
        if promoted and retention != backup_retention_period:
            problems.append(f"backup retention is {retention} days, want {backup_retention_period}")
        elif retention < 1:
            problems.append("automated backups are off (backup retention 0)")
        return problems

    def finish(instance, promoted):
        result["after"] = rds_summary(instance)
        if not verify_post_state:
            result["post_state_verified"] = False
            result["post_state"] = (
                "not verified (verify_post_state=false): the module did not check that the "
                "instance left replication, is available and keeps backups"
            )
            return result
        problems = verify(instance, promoted)
        if problems:
            raise DrError(
                f"DB instance {identifier} is not a verified standalone instance: "
                + "; ".join(problems),
                **result,
            )
        result["post_state_verified"] = True
        result["post_state"] = (
            "verified: standalone (no ReadReplicaSourceDBInstanceIdentifier), available, "
            f"backup retention {instance.get('BackupRetentionPeriod')} days"
        )
        return result

    def probe():
        return describe_db_instance(client, identifier) or {}

    source = before.get("ReadReplicaSourceDBInstanceIdentifier")
    status = before.get("DBInstanceStatus")
    if not source:
        result["changed"] = False
        result["action"] = "none"
        result["msg"] = f"{identifier} is already a standalone instance"
        current = before
        if wait and status != "available" and not check_mode:
            current = wait_until(
                probe,
                lambda i: i.get("DBInstanceStatus") == "available",
                wait_timeout,
                wait_delay,
                f"{identifier} to be available",
                sleep,
                clock,
            )
        if check_mode and status != "available":
            result["post_state_verified"] = False
            result["post_state"] = f"not verified in check mode (status {status})"
            return result
        return finish(current, promoted=False)
    if status == "backing-up":
        raise DrError(
            f"{identifier} is backing-up: RDS cannot promote a read replica while it takes a "
            "backup. Run again when it is available; keep the replica's backup window "
            f"({before.get('PreferredBackupWindow') or 'unset'}) away from likely failover times",
            **result,
        )
    if status != "available":
        raise DrError(
            f"{identifier} is {status}, not available: RDS promotes a read replica only when "
            "it is available. Wait for it (a promotion already under way shows as modifying "
            "or rebooting) and run again",
            **result,
        )
    kwargs = {"DBInstanceIdentifier": identifier, "BackupRetentionPeriod": backup_retention_period}
    if preferred_backup_window:
        kwargs["PreferredBackupWindow"] = preferred_backup_window
    result["changes"].append(
        f"promote {identifier} (replica of {source}) with {backup_retention_period} days of backups"
    )
    result["changed"] = True
    result["action"] = "promote"
    if check_mode:
        result["post_state_verified"] = False
        result["post_state"] = "not verified in check mode"
        return result
    client.promote_read_replica(**kwargs)
    if not wait:
        result["after"] = rds_summary(probe())
        result["post_state_verified"] = False
        result["post_state"] = "not verified (wait=false): the promotion may still be running"
        return result
    started = clock()
    if verify_post_state:
        # The status only leaves "available" some seconds after the call: a waiter for
        # "available" would return at once (aws/aws-sdk#19). First the transition ...
        try:
            wait_until(
                probe,
                lambda i: (
                    i.get("DBInstanceStatus") != "available"
                    or not i.get("ReadReplicaSourceDBInstanceIdentifier")
                ),
                wait_timeout,
                wait_delay,
                f"{identifier} to leave available",
                sleep,
                clock,
            )
        except DrError:
            raise DrError(
                f"PromoteReadReplica was accepted, but {identifier} is still available and a "
                f"replica of {source} after {wait_timeout} s: the promotion never started. "
                "Check the instance's RDS events; only an API that cannot show a promotion "
                "(the lab's moto) needs verify_post_state=false",
                **result,
            ) from None
    # ... then back to available, standalone.
    remaining = max(1, wait_timeout - int(clock() - started))
    try:
        after = wait_until(
            probe,
            lambda i: (
                i.get("DBInstanceStatus") == "available"
                and (not verify_post_state or not i.get("ReadReplicaSourceDBInstanceIdentifier"))
            ),
            remaining,
            wait_delay,
            f"{identifier} to be available and standalone",
            sleep,
            clock,
        )
    except DrError as err:
        last = getattr(err, "last", None) or {}
        last_status = last.get("DBInstanceStatus")
        result["after"] = rds_summary(last)
        raise DrError(
            f"{identifier} did not become an available standalone instance within "
            f"{wait_timeout} s (last status {last_status}). "
            "Promotion takes minutes or longer on large instances: run again to keep waiting",
            **result,
        ) from None
    return finish(after, promoted=True)


# ------------------------------------------------------------------ ElastiCache Global Datastore


def describe_global_group(client, group_id):
    try:
        groups = client.describe_global_replication_groups(
            GlobalReplicationGroupId=group_id, ShowMemberInfo=True
        )["GlobalReplicationGroups"]
    except ClientError as err:
        if error_code(err).startswith("GlobalReplicationGroupNotFound"):
            return None
        raise
    return groups[0] if groups else None


def describe_replication_group(client, group_id):
    try:
        return client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][
            0
        ]
    except ClientError as err:
        if error_code(err) in ("ReplicationGroupNotFoundFault", "ReplicationGroupNotFound"):
            return None
        raise


def global_summary(group):
    if not group:
        return None
    return {
        "global_replication_group_id": group.get("GlobalReplicationGroupId"),
        "status": group.get("Status"),
        "members": [
            {
                "replication_group_id": m.get("ReplicationGroupId"),
                "region": m.get("ReplicationGroupRegion"),
                "role": (m.get("Role") or "").upper(),
                "status": m.get("Status"),
            }
            for m in group.get("Members") or []
        ],
    }


def replication_group_summary(group):
    if not group:
        return None
    info = group.get("GlobalReplicationGroupInfo") or {}
    return {
        "replication_group_id": group.get("ReplicationGroupId"),
        "status": group.get("Status"),
        "global_replication_group_id": info.get("GlobalReplicationGroupId"),
        "global_role": info.get("GlobalReplicationGroupMemberRole"),
    }


def _member(group, group_id, region):
    for member in (group or {}).get("Members") or []:
        if (member.get("ReplicationGroupId"), member.get("ReplicationGroupRegion")) == (
            group_id,
            region,
        ):
            return member
    return None


def _primary(group):
    for member in (group or {}).get("Members") or []:
        if (member.get("Role") or "").upper() == "PRIMARY":
            return member
    return None


def _stands_alone(group):
    return bool(group) and not (group.get("GlobalReplicationGroupInfo") or {}).get(
        "GlobalReplicationGroupId"
    )


def global_failover(
    client,
    probe_client_for,
    global_group_id,
    region,
    group_id,
    disassociate_if_unreachable=False,
    wait=True,
    wait_timeout=1800,
    wait_delay=15,
    check_mode=False,
    sleep=time.sleep,
    clock=time.monotonic,
):
    """Make ``group_id`` in ``region`` the Global Datastore's primary (or, unplanned, stand alone).

    ``client`` is ElastiCache in ``region`` (the target, the region that is alive);
    ``probe_client_for(region)`` gives a short-timeout client for the old primary's region.
    """
    before = describe_global_group(client, global_group_id)
    target_group = None
    result = {
        "before": global_summary(before),
        "after": global_summary(before),
        "changes": [],
        "changed": False,
        "action": "none",
        "primary_region_reachable": None,
        "probe_error": None,
    }

    def standalone_done():
        group = target_group
        if wait and group and group.get("Status") != "available" and not check_mode:
            group = wait_until(
                lambda: describe_replication_group(client, group_id) or {},
                lambda g: g.get("Status") == "available",
                wait_timeout,
                wait_delay,
                f"{group_id} to be available",
                sleep,
                clock,
            )
        result["replication_group"] = replication_group_summary(group)
        result["msg"] = (
            f"{group_id} in {region} stands alone (not a member of {global_group_id}); it is "
            "writable. Re-associate it when the old region is back"
        )
        return result

    member = _member(before, group_id, region)
    if member is None:
        target_group = describe_replication_group(client, group_id)
        if target_group is None:
            raise DrError(f"replication group {group_id} does not exist in {region}", **result)
        if _stands_alone(target_group) and disassociate_if_unreachable:
            return standalone_done()
        if before is None:
            raise DrError(
                f"global datastore {global_group_id} is not visible from {region}", **result
            )
        raise DrError(
            f"replication group {group_id} in {region} is not a member of global datastore "
            f"{global_group_id} (members: "
            + ", ".join(
                f"{m['replication_group_id']} in {m['region']}" for m in result["before"]["members"]
            )
            + "). Nothing to fail over to",
            **result,
        )

    def is_primary_here(group):
        here = _member(group, group_id, region)
        return (
            bool(here)
            and (here.get("Role") or "").upper() == "PRIMARY"
            and group.get("Status") == "available"
        )

    def wait_primary():
        return wait_until(
            lambda: describe_global_group(client, global_group_id) or {},
            is_primary_here,
            wait_timeout,
            wait_delay,
            f"{group_id} in {region} to be the primary of an available {global_group_id}",
            sleep,
            clock,
        )

    if (member.get("Role") or "").upper() == "PRIMARY":
        result["msg"] = f"{group_id} in {region} is already the primary of {global_group_id}"
        if wait and not is_primary_here(before) and not check_mode:
            result["after"] = global_summary(wait_primary())
        return result

    old = _primary(before)
    reachable, probe_error = True, None
    if old and old.get("ReplicationGroupRegion") != region:
        try:
            describe_replication_group(
                probe_client_for(old["ReplicationGroupRegion"]), old["ReplicationGroupId"]
            )
        except Exception as err:
            if not is_unreachable(err):
                raise
            reachable, probe_error = False, describe_error(err)
    result["primary_region_reachable"] = reachable
    result["probe_error"] = probe_error

    def disassociate(why):
        result["action"] = "disassociate"
        result["changed"] = True
        result["changes"].append(
            f"disassociate {group_id} in {region} from {global_group_id} ({why})"
        )
        if check_mode:
            return result
        client.disassociate_global_replication_group(
            GlobalReplicationGroupId=global_group_id,
            ReplicationGroupId=group_id,
            ReplicationGroupRegion=region,
        )
        if not wait:
            result["replication_group"] = replication_group_summary(
                describe_replication_group(client, group_id)
            )
            return result
        group = wait_until(
            lambda: describe_replication_group(client, group_id) or {},
            lambda g: _stands_alone(g) and g.get("Status") == "available",
            wait_timeout,
            wait_delay,
            f"{group_id} to stand alone and be available",
            sleep,
            clock,
        )
        result["replication_group"] = replication_group_summary(group)
        result["after"] = global_summary(describe_global_group(client, global_group_id))
        return result

    if not reachable and disassociate_if_unreachable:
        return disassociate(f"the primary's region {old['ReplicationGroupRegion']} did not answer")
    result["action"] = "failover"
    result["changed"] = True
    result["changes"].append(
        f"fail {global_group_id} over to {group_id} in {region}"
        + (f" (from {old['ReplicationGroupId']} in {old['ReplicationGroupRegion']})" if old else "")
    )
    if check_mode:
        return result
    try:
        client.failover_global_replication_group(
            GlobalReplicationGroupId=global_group_id,
            PrimaryRegion=region,
            PrimaryReplicationGroupId=group_id,
        )
    except ClientError as err:
        code = error_code(err)
        if code.startswith("InvalidGlobalReplicationGroupState") and disassociate_if_unreachable:
            result["changes"].pop()
            return disassociate(f"the failover was refused: {describe_error(err)}")
        if code.startswith("InvalidGlobalReplicationGroupState"):
            raise DrError(
                f"ElastiCache refused the failover of {global_group_id}: {describe_error(err)}. "
                + (
                    f"The primary's region did not answer ({probe_error}). "
                    if not reachable
                    else ""
                )
                + "For an unplanned failover, disassociate_if_unreachable=true makes "
                f"{group_id} stand alone instead",
                **result,
            ) from None
        raise
    if wait:
        try:
            result["after"] = global_summary(wait_primary())
        except DrError as err:
            result["after"] = global_summary(getattr(err, "last", None))
            raise DrError(
                err.msg + " (the failover was requested; run again to keep waiting)", **result
            ) from None
    else:
        result["after"] = global_summary(describe_global_group(client, global_group_id))
    return result


# ------------------------------------------------------------------ ARC routing controls


def normalise_control_state(value):
    """``On``/``Off`` from what a playbook may pass (YAML reads a bare On as true)."""
    if isinstance(value, bool):
        return "On" if value else "Off"
    text = str(value).strip().lower()
    if text in ("on", "true", "yes"):
        return "On"
    if text in ("off", "false", "no"):
        return "Off"
    raise ValueError(f"routing control state {value!r} must be On or Off")


class ArcCluster:
    """The data plane of an ARC cluster: one client per regional endpoint, rotated on failure.

    ``client_for(endpoint, region)`` builds the route53-recovery-cluster client of one
    endpoint. ARC keeps at least three of the five endpoints answering; a call that fails
    to connect, times out or gets a 5xx / "endpoint temporarily unavailable" moves on to the
    next endpoint, and sticks to the one that answered.
    """

    def __init__(self, endpoints, client_for):
        self.endpoints = list(endpoints)
        self.client_for = client_for
        self.clients = {}
        self.current = 0
        self.failures = []

    def call(self, operation, **kwargs):
        errors = []
        count = len(self.endpoints)
        for step in range(count):
            index = (self.current + step) % count
            endpoint = self.endpoints[index]
            key = endpoint["endpoint"]
            try:
                if key not in self.clients:
                    self.clients[key] = self.client_for(endpoint["endpoint"], endpoint["region"])
                response = getattr(self.clients[key], operation)(**kwargs)
            except Exception as err:
                if not is_unreachable(err):
                    raise
                text = f"{key} ({endpoint['region']}): {describe_error(err)}"
                errors.append(text)
                self.failures.append(f"{operation} {text}")
                continue
            self.current = index
            return response, key
        raise DrError(
            f"no ARC cluster endpoint answered {operation} ({count} tried): " + "; ".join(errors)
        )


def set_routing_controls(cluster, wanted, safety_rules_to_override=None, check_mode=False):
    """Put every routing control of ``wanted`` {arn: On|Off} in its state with ONE update."""

    def states():
        out = {}
        for arn in wanted:
            response, _endpoint = cluster.call("get_routing_control_state", RoutingControlArn=arn)
            out[arn] = response["RoutingControlState"]
        return out

    before = states()
    result = {
        "before": before,
        "after": before,
        "changes": [
            f"{arn}: {before[arn]} -> {state}"
            for arn, state in wanted.items()
            if before[arn] != state
        ],
        "endpoint": None,
    }
    result["changed"] = bool(result["changes"])
    if not result["changed"] or check_mode:
        result["endpoint_failures"] = cluster.failures
        return result
    kwargs = {
        "UpdateRoutingControlStateEntries": [
            {"RoutingControlArn": arn, "RoutingControlState": state}
            for arn, state in wanted.items()
        ]
    }
    if safety_rules_to_override:
        kwargs["SafetyRulesToOverride"] = list(safety_rules_to_override)
    _response, result["endpoint"] = cluster.call("update_routing_control_states", **kwargs)
    after = states()
    result["after"] = after
    result["endpoint_failures"] = cluster.failures
    wrong = [
        f"{arn} is {after[arn]}, want {state}"
        for arn, state in wanted.items()
        if after[arn] != state
    ]
    if wrong:
        raise DrError(
            "UpdateRoutingControlStates was accepted but the controls read back differently: "
            + "; ".join(wrong),
            **result,
        )
    return result

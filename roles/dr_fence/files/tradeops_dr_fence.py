# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tradeops-dr-fence: may this host's writers (the engine) start? (docs/dr.md, "Fencing")

Reads the DR record ``<prefix>/active`` from SSM Parameter Store of every configured
region, all at once, and applies the rule of docs/dr.md:

1. the host's own region's record can be read (it must exist and be a DR record), and
2. the authoritative record - the highest epoch among the regions that answered - names
   the host's own region.

Other regions that do not answer are tolerated and reported. Any record that cannot be
read as a DR record, or two regions naming different active regions at the highest epoch,
refuse (the authoritative record is not known). Everything fails closed.

Prints ONE line of JSON: {allowed, reason, own_region, authoritative, records,
unreachable, invalid}; exits 0 when allowed, 1 when fenced, 2 on a configuration error.
A dead region costs at most ``deadline`` seconds (default 2.5): each region is asked in a
thread with short time-outs and bounded retries, and another region that has not answered
by the deadline counts as unreachable. The own region is waited for until its time-outs
(default at most 2 x (1 + 2) s and a second of backoff): without it, the answer is no.

Configuration (JSON, default /etc/tradeops/dr-fence.json, written by the role dr_fence):
  prefix          SSM path of the DR state, e.g. /tradeops/production/dr   (required)
  regions         regions whose records count, e.g. ["us-east-1", "us-west-2"] (required)
  region          this host's own region; one of ``regions``               (required)
  endpoint_url    SSM endpoint for every region (the lab's moto); empty = AWS
  endpoint_urls   {region: endpoint} overriding endpoint_url per region (the lab)
  access_key, secret_key   static credentials (the lab only; AWS hosts use their role)
  connect_timeout (1), read_timeout (2), max_attempts (2), deadline (2.5)  seconds/count

This file is the only implementation of the rule: the role installs it as
/usr/local/libexec/tradeops/tradeops-dr-fence (with a "#!/usr/bin/python3 -I" line on top)
and the unit tests import it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time

DEFAULT_CONFIG = "/etc/tradeops/dr-fence.json"
EXIT_ALLOWED = 0
EXIT_FENCED = 1
EXIT_CONFIG = 2
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
PREFIX_RE = re.compile(r"^(/[A-Za-z0-9_.\-]+)+$")
DEFAULTS = {"connect_timeout": 1, "read_timeout": 2, "max_attempts": 2, "deadline": 2.5}
# AWS error codes that mean "the region is there but cannot answer now": unreachable.
UNAVAILABLE_CODES = {
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "ThrottlingException",
}


class ConfigError(Exception):
    pass


# ------------------------------------------------------------------ configuration


def load_config(path):
    try:
        with open(path, encoding="utf-8") as handle:
            raw = handle.read()
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        config = json.loads(raw)
    except ValueError as err:
        raise ConfigError(f"{path} is not JSON: {err}") from None
    return check_config(config, path)


def check_config(config, path="config"):
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the configuration must be a JSON object")
    problems = []
    prefix = config.get("prefix")
    if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
        problems.append(f"prefix {prefix!r} is not an SSM path like /tradeops/production/dr")
    regions = config.get("regions")
    if not isinstance(regions, list) or not regions:
        problems.append("regions must be a non-empty list of region names")
        regions = []
    for region in regions:
        if not isinstance(region, str) or not REGION_RE.match(region):
            problems.append(f"region {region!r} is not a region name like us-east-1")
    own = config.get("region")
    if own not in regions:
        problems.append(f"region (this host's own) {own!r} must be one of regions {regions}")
    for key in ("endpoint_url", "access_key", "secret_key"):
        if config.get(key) is not None and not isinstance(config[key], str):
            problems.append(f"{key} must be a string")
    if bool(config.get("access_key")) != bool(config.get("secret_key")):
        problems.append("access_key and secret_key go together")
    urls = config.get("endpoint_urls") or {}
    if not isinstance(urls, dict) or any(not isinstance(v, str) for v in urls.values()):
        problems.append("endpoint_urls must map region names to URLs")
    merged = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        value = config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            problems.append(f"{key} must be a positive number")
        else:
            merged[key] = value
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    merged.update({k: v for k, v in config.items() if k not in DEFAULTS})
    merged["max_attempts"] = int(merged["max_attempts"])
    merged["endpoint_urls"] = dict(urls)
    return merged


# ------------------------------------------------------------------ the rule


def parse_record(text):
    """A DR record from the parameter's JSON; ValueError saying why it is not one."""
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


def decide(own_region, answers):
    """The fence decision.

    ``answers`` maps every configured region to what it said, one of:
    ``{"value": "<parameter JSON>"}``, ``{"missing": True}`` (the region answered, no
    parameter), ``{"refused": "<text>"}`` (the region answered with an error such as access
    denied: its record is unknown, so it counts as unreadable) or ``{"error": "<text>"}``
    (the region did not answer).

    Returns the decision document {allowed, reason, own_region, authoritative, records,
    unreachable, invalid}.
    """
    records, unreachable, invalid = {}, {}, {}
    for region, answer in answers.items():
        if "error" in answer:
            unreachable[region] = answer["error"]
        elif "refused" in answer:
            invalid[region] = f"answered with an error: {answer['refused']}"
        elif answer.get("missing"):
            records[region] = None
        else:
            try:
                records[region] = parse_record(answer.get("value"))
            except ValueError as err:
                invalid[region] = str(err)
    decision = {
        "allowed": False,
        # True only on positive evidence: a readable record of a higher (or equal) epoch
        # names another region. The watchdog stops running writers on that alone, never
        # because a region could not be read (an API blip must not stop trading).
        "superseded": False,
        "reason": "",
        "own_region": own_region,
        "authoritative": None,
        "records": records,
        "unreachable": unreachable,
        "invalid": invalid,
    }

    def refuse(reason):
        decision["reason"] = reason
        return decision

    if own_region in unreachable:
        return refuse(
            f"own region {own_region} did not answer ({unreachable[own_region]}): fail closed"
        )
    if own_region in invalid:
        return refuse(f"own region {own_region}'s DR record is unreadable: {invalid[own_region]}")
    if records.get(own_region) is None:
        return refuse(f"own region {own_region} has no DR record")
    if invalid:
        return refuse(
            "unreadable DR record(s), so the authoritative epoch is unknown: "
            + "; ".join(f"{r}: {e}" for r, e in sorted(invalid.items()))
        )
    present = {r: rec for r, rec in records.items() if rec}
    top = max(rec["epoch"] for rec in present.values())
    holders = sorted(r for r, rec in present.items() if rec["epoch"] == top)
    named = sorted({present[r]["active_region"] for r in holders})
    decision["authoritative"] = present[holders[0]]
    others = f"; did not answer: {', '.join(sorted(unreachable))}" if unreachable else ""
    if len(named) > 1:
        decision["authoritative"] = None
        return refuse(
            f"conflicting records at epoch {top}: "
            + ", ".join(f"{r} names {present[r]['active_region']}" for r in holders)
            + others
        )
    if named[0] != own_region:
        decision["superseded"] = True
        return refuse(
            f"epoch {top} ({', '.join(holders)}) names {named[0]}, not {own_region}: fenced"
            + others
        )
    decision["allowed"] = True
    decision["reason"] = f"epoch {top} ({', '.join(holders)}) names {own_region}" + others
    return decision


# ------------------------------------------------------------------ reading SSM


def describe_error(err):
    response = getattr(err, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return f"{code or type(err).__name__}: {str(err).strip()}"


def make_clients(config):
    """One SSM client per region, made up front (client creation is not thread-safe)."""
    # Imported here: a configuration error is reported without boto3.
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=config.get("access_key") or None,
        aws_secret_access_key=config.get("secret_key") or None,
    )
    botocore_config = Config(
        connect_timeout=config["connect_timeout"],
        read_timeout=config["read_timeout"],
        retries={"mode": "standard", "total_max_attempts": config["max_attempts"]},
    )
    clients = {}
    for region in config["regions"]:
        endpoint = config["endpoint_urls"].get(region) or config.get("endpoint_url") or None
        clients[region] = session.client(
            "ssm", region_name=region, endpoint_url=endpoint, config=botocore_config
        )
    return clients


def ask(client, name):
    """One region's answer (see ``decide``)."""
    try:
        value = client.get_parameter(Name=name)["Parameter"]["Value"]
    except Exception as err:  # botocore: ClientError, connection errors, time-outs
        response = getattr(err, "response", None) or {}
        code = response.get("Error", {}).get("Code")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code == "ParameterNotFound":
            return {"missing": True}
        if code and code not in UNAVAILABLE_CODES and status < 500:
            # The region answered "no" (access denied, ...): not an outage, but its record
            # is unknown - and could be the highest epoch.
            return {"refused": describe_error(err)}
        return {"error": describe_error(err)}
    return {"value": value}


def read_answers(config, clients, asker=ask):
    """Ask every region at once.

    The own region is waited for until its client gives up (its time-outs and attempts
    bound that); every other region only until ``deadline`` seconds after the start - or
    until the own region answered, if that took longer. A region without an answer by then
    counts as unreachable: a dead other region costs the engine's start ``deadline`` at most.
    """
    name = f"{config['prefix']}/active"
    answers = {}
    threads = {}
    started = time.monotonic()
    for region in config["regions"]:

        def work(region=region):
            answers[region] = asker(clients[region], name)

        threads[region] = threading.Thread(target=work, name=f"dr-fence-{region}", daemon=True)
        threads[region].start()
    threads[config["region"]].join()
    end = max(started + config["deadline"], time.monotonic())
    for thread in threads.values():
        thread.join(max(0.0, end - time.monotonic()))
    return {
        region: answers.get(region) or {"error": f"no answer within {config['deadline']} s"}
        for region in threads
    }


def fence(config, clients=None, asker=ask):
    """Read every region and decide (``clients``: {region: SSM client}, made when None)."""
    clients = clients if clients is not None else make_clients(config)
    return decide(config["region"], read_answers(config, clients, asker))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tradeops-dr-fence",
        description="May this host's engine start? Exit 0 allowed, 1 fenced, 2 config error.",
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}")
    parser.add_argument(
        "--enforce",
        metavar="UNIT",
        action="append",
        default=[],
        help="watchdog: stop these running units when another region's epoch supersedes this one",
    )
    parser.add_argument(
        "--textfile",
        metavar="PATH",
        help="also write the decision as node_exporter textfile metrics to PATH",
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(json.dumps({"allowed": False, "reason": f"configuration error: {err}"}))
        return EXIT_CONFIG
    try:
        decision = fence(config)
    except ImportError as err:
        reason = f"configuration error: {err} (install python3-boto3)"
        print(json.dumps({"allowed": False, "reason": reason}))
        return EXIT_CONFIG
    except Exception as err:  # anything unforeseen refuses: fail closed, say why
        reason = f"fence check failed: {describe_error(err)}"
        print(json.dumps({"allowed": False, "reason": reason}))
        return EXIT_FENCED
    if args.enforce and decision.get("superseded"):
        decision["stopped"] = enforce(args.enforce)
    if args.textfile:
        write_textfile(args.textfile, decision)
    print(json.dumps(decision, sort_keys=True))
    return EXIT_ALLOWED if decision["allowed"] else EXIT_FENCED


def textfile_metrics(decision):
    """The decision as Prometheus text: EngineDown spares a host whose writers are fenced."""
    region = str(decision.get("own_region") or "")
    authoritative = decision.get("authoritative") or {}
    allowed = 1 if decision.get("allowed") else 0
    superseded = 1 if decision.get("superseded") else 0
    lines = [
        "# HELP tradeops_dr_fence_allowed 1 when the DR fence lets this host's writers run.",
        "# TYPE tradeops_dr_fence_allowed gauge",
        f'tradeops_dr_fence_allowed{{region="{region}"}} {allowed}',
        "# HELP tradeops_dr_fence_superseded 1 when a newer epoch names another region.",
        "# TYPE tradeops_dr_fence_superseded gauge",
        f'tradeops_dr_fence_superseded{{region="{region}"}} {superseded}',
    ]
    if authoritative.get("epoch") is not None:
        lines += [
            "# HELP tradeops_dr_fence_epoch The authoritative DR epoch this host read.",
            "# TYPE tradeops_dr_fence_epoch gauge",
            f'tradeops_dr_fence_epoch{{region="{region}",active="'
            f'{authoritative.get("active_region", "")}"}} {int(authoritative["epoch"])}',
        ]
    return "\n".join(lines) + "\n"


def write_textfile(path, decision):
    """Atomically (temp file + rename); a missing directory only loses the metrics."""
    import os

    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(textfile_metrics(decision))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as err:
        decision["textfile_error"] = str(err)


def enforce(units, run=None):
    """Stop the units that are running (a writer left over in a superseded region)."""
    import subprocess

    run = run or subprocess.run
    stopped = []
    for unit in units:
        active = run(["systemctl", "is-active", "--quiet", unit], check=False)
        if active.returncode == 0:
            run(["systemctl", "stop", unit], check=False)
            stopped.append(unit)
    return stopped


if __name__ == "__main__":
    sys.exit(main())

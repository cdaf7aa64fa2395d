"""A DR lab and what a drill needs around it: the DR test and `./dev bench dr` use it.

A lab of its own (name, /24, moto port) converged by site.yml, the DR runbooks run through
`tradeops dr` as an operator runs them, a load generator (lab/loadgen/orders.py) placing
sequence-numbered orders through every region's engines, and readers of what the lab
holds: the orders in a database host, the DR state in SSM, an engine's unit state.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ..support import ROOT, VENV_BIN, lab_environment, tradeops

PREFIX = "/tradeops/lab/dr"
EAST, WEST = "us-east-1", "us-west-2"
EAST_ENGINES = ["engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1"]
WEST_ENGINES = ["engine-west-1"]
TOPOLOGY = yaml.safe_load((ROOT / "lab" / "topology.yml").read_text())


class DrLab:
    """One lab for a DR day: its environment, its hosts, the runbooks."""

    def __init__(self, name: str, subnet: str, directory: Path, env: dict[str, str] | None = None):
        """A new lab's environment, or `env` of a lab that exists (the lab tests')."""
        self.name = name
        self.subnet = subnet
        self.directory = directory
        self.env = env or lab_environment(
            name, subnet, TRADEOPS_AWS_OUTPUTS_DIR=str(directory / "outputs")
        )
        self.timings: dict[str, float] = {}
        self._lab = None

    # ---- the lab ------------------------------------------------------------------------
    def address(self, host: str) -> str:
        number = next(h["address"] for h in TOPOLOGY["hosts"] if h["name"] == host)
        return self.subnet.rsplit(".", 1)[0] + f".{number}"

    @property
    def lab(self):
        """scripts/tradeops' Lab for this lab (fail/restore a region, the gate's log)."""
        if self._lab is None:
            sys.path.insert(0, str(ROOT / "scripts"))
            from tradeops.lab import Lab

            self._lab = Lab(name=self.name, port=int(self.env["TRADEOPS_MOTO_PORT"]))
            self._lab.subnet = __import__("ipaddress").ip_network(self.subnet)
        return self._lab

    def up_and_converged(self) -> None:
        started = time.monotonic()
        up = tradeops("lab", "up", "--json", env=self.env)
        assert up.returncode == 0, up.stderr
        site = tradeops("run", "site", "-i", "inventories/lab", env=self.env, timeout=3600)
        assert site.returncode == 0, site.stderr[-6000:]
        self.timings["lab up + site"] = round(time.monotonic() - started, 1)

    def down(self) -> None:
        for region in (EAST, WEST):
            tradeops("lab", "restore-region", region, env=self.env)
        down = tradeops("lab", "down", env=self.env)
        assert down.returncode == 0, down.stderr

    # ---- the runbooks --------------------------------------------------------------------
    def dr(self, verb: str, *args: str, label: str | None = None, timeout: int = 1800):
        """`tradeops dr VERB -i inventories/lab ARGS`: (process, report with the record)."""
        report = self.directory / f"{verb}-{time.monotonic_ns()}.json"
        started = time.monotonic()
        proc = tradeops(
            "dr", verb, "-i", "inventories/lab", "--report", str(report), *args,
            env=self.env, timeout=timeout,
        )  # fmt: skip
        if label:
            self.timings[label] = round(time.monotonic() - started, 1)
        data = json.loads(report.read_text()) if report.is_file() else {}
        return proc, data

    # ---- what the lab holds --------------------------------------------------------------
    def sh(self, host: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["podman", "exec", f"{self.name}-{host}", "sh", "-c", script],
            env=self.env, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{host}: {script!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def psql(self, host: str, sql: str) -> str:
        command = f'runuser -u postgres -- psql -XAtq -d trading -c "{sql}"'
        return self.sh(host, command).stdout.strip()

    def seqs(self, host: str) -> set[int]:
        return {int(x) for x in self.psql(host, "SELECT seq FROM orders").split() if x}

    def in_recovery(self, host: str) -> bool:
        return self.psql(host, "SELECT pg_is_in_recovery()") == "t"

    def engine_active(self, host: str) -> str:
        return self.sh(host, "systemctl is-active refengine", check=False).stdout.strip()

    def ssm(self, region: str):
        return self.aws("ssm", region)

    def aws(self, service: str, region: str):
        """A boto3 client of the lab's moto (through the region gate)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.lab.moto_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def replicated_copies(self) -> list[str]:
        """The DR region's bucket copies the s3 layer replicates to (its outputs)."""
        outputs = Path(self.env["TRADEOPS_AWS_OUTPUTS_DIR"]) / "s3.json"
        home = json.loads(outputs.read_text())["buckets"].values()
        return sorted(b["replicate_to"] for b in home if b.get("replicate_to"))

    def s3_replication(self, region: str, *buckets: str) -> dict[str, dict[str, str]]:
        """{bucket: {rule id: destination bucket}} as S3 (moto) answers, for the DR copies
        by default."""
        s3 = self.aws("s3", region)
        found = {}
        for bucket in buckets or self.replicated_copies():
            try:
                config = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
            except s3.exceptions.ClientError as err:
                assert "ReplicationConfigurationNotFound" in str(err), err
                config = {"Rules": []}
            found[bucket] = {
                r["ID"]: r["Destination"]["Bucket"].removeprefix("arn:aws:s3:::")
                for r in config["Rules"]
            }
        return found

    def dr_state_of(self, region: str) -> dict:
        """The DR state record kept in one region (SSM)."""
        value = self.ssm(region).get_parameter(Name=f"{PREFIX}/active")["Parameter"]["Value"]
        return json.loads(value)

    def dr_state(self) -> dict[str, dict]:
        return {region: self.dr_state_of(region) for region in (EAST, WEST)}

    def entry(self, host: str, role: str, name: str, *extra: str) -> subprocess.CompletedProcess:
        """One entry point of a database role on one host, as a runbook calls it
        (tests/integration/lab/entry.yml), with the static hosts only."""
        args = ["-e", f"target={host}", "-e", f"role={role}", "-e", f"entry={name}"]
        for item in extra:
            args += ["-e", item]
        return subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "-i", "inventories/lab/hosts.yml",
             "-i", "inventories/lab/lab.constructed.yml",
             str(ROOT / "tests/integration/lab/entry.yml"), *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip

    def load(self, rate: int, start_seq: int = 1) -> Load:
        engines = [f"http://{self.address(h)}:8080" for h in (*EAST_ENGINES, *WEST_ENGINES)]
        return Load(self.directory, engines, rate, start_seq)


class Load:
    """lab/loadgen/orders.py in the background: every acknowledged order, in a file."""

    def __init__(self, directory: Path, engines: list[str], rate: int, start_seq: int):
        self.rate = rate
        self.acks = directory / f"acks-{start_seq}.jsonl"
        self.status = directory / f"status-{start_seq}.json"
        argv = [
            sys.executable, str(ROOT / "lab/loadgen/orders.py"), "--rate", str(rate),
            "--duration", "7200", "--start-seq", str(start_seq), "--acks", str(self.acks),
            "--status", str(self.status),
        ]  # fmt: skip
        for url in engines:
            argv += ["--engine", url]
        self._log = open(directory / f"loadgen-{start_seq}.log", "w")  # noqa: SIM115 - stop()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self._log)

    def acked(self) -> list[dict]:
        if not self.acks.is_file():
            return []
        return [json.loads(line) for line in self.acks.read_text().splitlines() if line.strip()]

    def last_seq(self) -> int:
        return max((a["seq"] for a in self.acked()), default=0)

    def wait_for_acks_from(self, region: str, after: int, timeout: float = 90) -> list[dict]:
        """The first second's worth of orders acknowledged in `region` after seq `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [a for a in self.acked() if a["seq"] > after and a.get("region") == region]
            if len(fresh) >= self.rate:
                return fresh
            time.sleep(0.5)
        raise AssertionError(
            f"no orders acknowledged in {region} after {after}: {self.acked()[-3:]}"
        )

    def lost(self, present: set[int], upto: int) -> list[int]:
        """Acknowledged orders up to seq `upto` that the database does not hold."""
        return sorted({a["seq"] for a in self.acked() if a["seq"] <= upto} - present)

    def outage_after(self, after_seq: int) -> float:
        """The longest gap between two consecutive acknowledgements from the ack of
        `after_seq` on: the client-observed outage of a move that started after it."""
        from datetime import datetime

        parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
        times = sorted(parse(a["acked_at"]) for a in self.acked() if a["seq"] >= after_seq)
        if len(times) < 2:
            return float("nan")
        return round(max((b - a).total_seconds() for a, b in itertools.pairwise(times)), 2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        finally:
            self._log.close()

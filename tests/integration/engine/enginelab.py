"""A lab with engines, as the engine and fault suites use it: the lab up, the cloud
engines in its moto as the fleet layer tags them, the DR state at epoch 1; down after."""

from __future__ import annotations

import contextlib
import json
import time

import boto3
import yaml

from ..support import ROOT, tradeops


@contextlib.contextmanager
def engine_lab(lab_env, timings: dict[str, float], label: str):
    """The lab up (its `tradeops lab up --json` answer), engines and DR state in place;
    `timings[label]` is how long that took. The lab is brought down on the way out, even
    after a failure, and must come down cleanly."""
    started = time.monotonic()
    up = tradeops("lab", "up", "--json", env=lab_env)
    try:
        assert up.returncode == 0, up.stderr
        launch_engine_instances(lab_env)
        seed_dr_state(lab_env)
        timings[label] = round(time.monotonic() - started, 1)
        yield json.loads(up.stdout)
    finally:
        down = tradeops("lab", "down", env=lab_env)
        assert down.returncode == 0, down.stderr


def aws(lab_env, service: str, region: str = "us-east-1"):
    """A client of the lab's moto (its port in the lab's environment)."""
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{lab_env['TRADEOPS_MOTO_PORT']}",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def launch_engine_instances(lab_env) -> None:
    """Put the cloud engines in the lab's moto as the fleet layer tags them.

    The hosts then come through the real inventory path (amazon.aws.aws_ec2 -> engines_ec2
    -> the lab's container bodies). Provisioning itself is the fleet layer's, tested with
    it; it is not run here because it needs the network and security layers, whose
    outputs live in one .cache/aws/lab/ shared by every lab of the checkout.
    """
    ec2 = aws(lab_env, "ec2")
    fleet = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/fleet.yml").read_text())
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for instance in fleet["aws_fleet_instances"]:
        tags = {
            "Name": instance["name"],
            "Project": "tradeops",
            "Environment": "lab",
            "tradeops:role": "engine",
        }
        ec2.run_instances(
            ImageId=image,
            InstanceType=instance["instance_type"],
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        )


def seed_dr_state(lab_env) -> None:
    """The DR state the dr-state layer creates at epoch 1 (us-east-1 active), in both regions.

    The engine play fences its hosts on it (roles/dr_fence): us-east-1's engines deploy and
    start; a host of another region would get its release installed but stay stopped."""
    record = json.dumps(
        {
            "active_region": "us-east-1",
            "epoch": 1,
            "changed_at": "2026-12-06T00:00:00.000Z",
            "run_id": "",
            "verb": "init",
            "reason": "test seed",
        }
    )
    for region in ("us-east-1", "us-west-2"):
        ssm = aws(lab_env, "ssm", region)
        for name in ("/tradeops/lab/dr/active", "/tradeops/lab/dr/epochs/00000001"):
            ssm.put_parameter(Name=name, Value=record, Type="String", Overwrite=True)

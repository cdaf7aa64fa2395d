#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dr_aws_facts
short_description: Describe what the DR runbooks need to know about both regions, read-only
version_added: "0.2.0"
description:
  - Read-only. Describes, in the regions given and only there, the RDS primary and its
    cross-region replica, the DR region's capacity (instance types offered, engine hosts,
    launch template, EKS node groups, Kinesis streams), the security groups of each
    region's VPC (for parity) and the primary's latest restorable time.
  - A region that does not answer is reported in I(unreachable) and the others are still
    described, so an unplanned failover can run it with the failed region left out of
    I(regions) - it then makes no call there at all.
  - The result feeds the C(tradeops.platform.dr_readiness) filter.
author:
  - tradeops engineers (@tradeops)
options:
  regions:
    description: The regions this call may contact. Nothing outside them is called.
    type: list
    elements: str
    required: true
  target_region:
    description: The region that would take over (capacity is described there).
    type: str
    required: true
  rds_instances:
    description:
      - The RDS instance of each region, a dictionary from region name to DB instance
        identifier. The one without a replication source is the primary.
    type: dict
    default: {}
  engine_instance_types:
    description: Instance types the DR engines need in I(target_region).
    type: list
    elements: str
    default: []
  tag_filters:
    description:
      - Tags that identify this environment's resources (VPCs, engine instances), for
        example C(Project=tradeops) and C(Environment=lab).
    type: dict
    default: {}
  launch_template_name:
    description: The DR engines' launch template in I(target_region); empty for none.
    type: str
    default: ""
  eks_cluster:
    description: The EKS cluster in I(target_region); empty when the environment has none.
    type: str
    default: ""
  eks_nodegroups:
    description: The DR node groups, each C({name, failover_min_size}).
    type: list
    elements: dict
    default: []
  kinesis_streams:
    description: Stream names expected in I(target_region).
    type: list
    elements: str
    default: []
  ssm_parameters:
    description: SSM parameters to read in I(target_region) (missing ones read as null).
    type: list
    elements: str
    default: []
  rds_lag_metric:
    description: Read the replica's C(ReplicaLag) from CloudWatch (last 10 minutes).
    type: bool
    default: true
  max_attempts:
    description:
      - Attempts per call (botocore standard retries); a dead region costs at most this many.
    type: int
    default: 2
  connect_timeout:
    description: Seconds to wait for a connection.
    type: int
    default: 3
extends_documentation_fragment:
  - tradeops.platform.aws
"""

EXAMPLES = r"""
- name: What the standby region has, and how the primary is doing
  tradeops.platform.dr_aws_facts:
    regions: [us-east-1, us-west-2]
    target_region: us-west-2
    rds_instances: {us-east-1: tradeops-lab-pg, us-west-2: tradeops-lab-pg-dr}
    engine_instance_types: [c5n.18xlarge]
    tag_filters: {Project: tradeops, Environment: lab}
  register: dr_facts
"""

RETURN = r"""
rds:
  description:
    - C(primary) and C(replica) summaries (id, region, arn, source, status,
      backup_retention, instance_class, engine, engine_major, parameter_group_family,
      storage_type, missing_subnets, replica_lag_seconds).
  returned: always
  type: dict
capacity:
  description:
    - C(offered_instance_types), C(required_instance_types), C(engines),
      C(launch_template), C(nodegroups), C(streams).
  returned: always
  type: dict
parity:
  description:
    - Region-neutral security-group flows of each region's VPC, C({primary, dr}) (null
      where not described).
  returned: always
  type: dict
backups:
  description: C(age_minutes) of the primary's latest restorable time, or C(why) it is unknown.
  returned: always
  type: dict
ssm:
  description: The values of O(ssm_parameters), by name (null when missing).
  returned: always
  type: dict
unreachable:
  description: Regions that did not answer, with the error.
  returned: always
  type: dict
"""

import datetime  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.dr_readiness import sg_flows  # noqa: E402

UTC = datetime.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; controllers may run 3.9)


class Unreachable(Exception):
    """A region did not answer."""


def _rds_summary(client, region, identifier, cloudwatch, lag_metric, ec2):
    try:
        db = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except client.exceptions.DBInstanceNotFoundFault:
        return None
    # The subnet group as the instance's own region knows it (a cross-region replica's
    # embedded copy can describe the source region's group of the same name).
    group = db.get("DBSubnetGroup") or {}
    if group.get("DBSubnetGroupName"):
        try:
            group = client.describe_db_subnet_groups(DBSubnetGroupName=group["DBSubnetGroupName"])[
                "DBSubnetGroups"
            ][0]
        except client.exceptions.DBSubnetGroupNotFoundFault:
            group = {}
    subnet_ids = [s["SubnetIdentifier"] for s in group.get("Subnets") or []]
    missing = []
    if subnet_ids:
        found = {
            s["SubnetId"]
            for s in ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": subnet_ids}])[
                "Subnets"
            ]
        }
        missing = sorted(set(subnet_ids) - found)
    params = db.get("DBParameterGroups") or [{}]
    version = str(db.get("EngineVersion", ""))
    summary = {
        "id": identifier,
        "region": region,
        "arn": db.get("DBInstanceArn"),
        "source": db.get("ReadReplicaSourceDBInstanceIdentifier"),
        "replicas": db.get("ReadReplicaDBInstanceIdentifiers") or [],
        "status": db.get("DBInstanceStatus"),
        "backup_retention": db.get("BackupRetentionPeriod", 0),
        "instance_class": db.get("DBInstanceClass"),
        "engine": db.get("Engine"),
        "engine_major": version.split(".", maxsplit=1)[0] if version else None,
        "parameter_group_family": (params[0].get("DBParameterGroupName") or "").split("-")[-1]
        or None,
        "storage_type": db.get("StorageType"),
        "latest_restorable_time": db.get("LatestRestorableTime"),
        "missing_subnets": missing,
        "replica_lag_seconds": None,
    }
    if summary["source"] and lag_metric:
        now = datetime.datetime.now(UTC)
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="ReplicaLag",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
            StartTime=now - datetime.timedelta(minutes=10),
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        if points:
            summary["replica_lag_seconds"] = max(p["Maximum"] for p in points)
    return summary


def _tag_filters(tags):
    return [{"Name": f"tag:{k}", "Values": [str(v)]} for k, v in sorted(tags.items())]


def _vpc_flows(ec2, tags):
    vpcs = ec2.describe_vpcs(Filters=_tag_filters(tags))["Vpcs"]
    if len(vpcs) != 1:
        return None
    vpc = vpcs[0]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "SecurityGroups"
    ]
    return sg_flows(groups, vpc["CidrBlock"])


def _capacity(params, client):
    region = params["target_region"]
    ec2 = client("ec2", region)
    required = sorted(set(params["engine_instance_types"]))
    offered = []
    if required:
        offers = ec2.describe_instance_type_offerings(
            LocationType="region", Filters=[{"Name": "instance-type", "Values": required}]
        )["InstanceTypeOfferings"]
        offered = sorted({o["InstanceType"] for o in offers})
    filters = [
        *_tag_filters(params["tag_filters"]),
        {"Name": "tag:tradeops:role", "Values": ["engine"]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ]
    engines = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags") or []}
                engines.append(tags.get("Name", instance["InstanceId"]))
    template = None
    if params["launch_template_name"]:
        try:
            found = ec2.describe_launch_templates(
                LaunchTemplateNames=[params["launch_template_name"]]
            )["LaunchTemplates"]
            template = found[0]["LaunchTemplateName"] if found else None
        except ec2.exceptions.ClientError as err:
            if "NotFound" not in err.response["Error"]["Code"]:
                raise
    nodegroups = None
    if params["eks_cluster"]:
        eks = client("eks", region)
        nodegroups = []
        for wanted in params["eks_nodegroups"]:
            entry = {
                "name": wanted["name"],
                "failover_min_size": int(wanted.get("failover_min_size", 0)),
            }
            try:
                group = eks.describe_nodegroup(
                    clusterName=params["eks_cluster"], nodegroupName=wanted["name"]
                )["nodegroup"]
                scaling = group.get("scalingConfig") or {}
                entry.update(
                    status=group.get("status"),
                    min_size=scaling.get("minSize"),
                    max_size=scaling.get("maxSize"),
                    desired_size=scaling.get("desiredSize"),
                )
            except eks.exceptions.ResourceNotFoundException:
                entry["status"] = "missing"
            nodegroups.append(entry)
    streams = None
    if params["kinesis_streams"]:
        kinesis = client("kinesis", region)
        streams = {}
        for name in params["kinesis_streams"]:
            try:
                streams[name] = kinesis.describe_stream_summary(StreamName=name)[
                    "StreamDescriptionSummary"
                ]["StreamStatus"]
            except kinesis.exceptions.ResourceNotFoundException:
                streams[name] = "missing"
    return {
        "required_instance_types": required,
        "offered_instance_types": offered,
        "engines": sorted(engines),
        "engines_wanted": 1,
        "launch_template": template,
        "nodegroups": nodegroups,
        "streams": streams,
    }


def describe(params, client):
    """Everything the readiness checks need, from the regions given only."""
    regions = list(dict.fromkeys(params["regions"]))
    unreachable = {}
    rds = {"primary": None, "replica": None}
    flows = {}

    def guarded(region, fn):
        if region in unreachable:
            return None
        try:
            return fn()
        except Unreachable as err:
            unreachable[region] = str(err)
        except Exception as err:  # botocore connection errors, 5xx after retries
            code = (
                getattr(err, "response", {}).get("Error", {}).get("Code")
                if hasattr(err, "response")
                else None
            )
            if code in (
                None,
                "ServiceUnavailable",
                "InternalError",
                "RequestTimeout",
                "Throttling",
                "503",
            ):
                unreachable[region] = f"{type(err).__name__}: {err}"
            else:
                raise
        return None

    for region in regions:
        identifier = params["rds_instances"].get(region)
        if identifier:
            summary = guarded(
                region,
                lambda r=region, i=identifier: _rds_summary(
                    client("rds", r),
                    r,
                    i,
                    client("cloudwatch", r),
                    params["rds_lag_metric"],
                    client("ec2", r),
                ),
            )
            if summary:
                rds["replica" if summary["source"] else "primary"] = summary
        if params["tag_filters"]:
            flows[region] = guarded(
                region, lambda r=region: _vpc_flows(client("ec2", r), params["tag_filters"])
            )
    capacity = None
    if params["target_region"] in regions:
        capacity = guarded(params["target_region"], lambda: _capacity(params, client))
    backups = {"age_minutes": None, "why": "the primary was not described"}
    primary = rds["primary"]
    if primary and primary.get("latest_restorable_time"):
        stamp = primary["latest_restorable_time"]
        age = datetime.datetime.now(UTC) - stamp
        backups = {"age_minutes": round(age.total_seconds() / 60, 1)}
    elif primary:
        backups = {"age_minutes": None, "why": "the primary reports no latest restorable time"}
    if primary:
        primary = dict(primary, latest_restorable_time=str(primary["latest_restorable_time"] or ""))
    replica = rds["replica"]
    if replica:
        replica = dict(replica, latest_restorable_time=str(replica["latest_restorable_time"] or ""))
    target = params["target_region"]
    ssm = {}
    if params.get("ssm_parameters") and target in regions:

        def read_ssm():
            client_ = client("ssm", target)
            for name in params["ssm_parameters"]:
                try:
                    ssm[name] = client_.get_parameter(Name=name)["Parameter"]["Value"]
                except client_.exceptions.ParameterNotFound:
                    ssm[name] = None

        guarded(target, read_ssm)
    others = [r for r in regions if r != target]
    parity = {
        "primary": flows.get(others[0]) if others else None,
        "dr": flows.get(target),
    }
    return {
        "rds": {"primary": primary, "replica": replica} if params["rds_instances"] else None,
        "capacity": capacity,
        "parity": parity,
        "backups": backups,
        "ssm": ssm,
        "unreachable": unreachable,
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            regions=dict(type="list", elements="str", required=True),
            target_region=dict(type="str", required=True),
            rds_instances=dict(type="dict", default={}),
            engine_instance_types=dict(type="list", elements="str", default=[]),
            tag_filters=dict(type="dict", default={}),
            launch_template_name=dict(type="str", default=""),
            eks_cluster=dict(type="str", default=""),
            eks_nodegroups=dict(type="list", elements="dict", default=[]),
            kinesis_streams=dict(type="list", elements="str", default=[]),
            ssm_parameters=dict(type="list", elements="str", default=[]),
            rds_lag_metric=dict(type="bool", default=True),
            max_attempts=dict(type="int", default=2),
            connect_timeout=dict(type="int", default=3),
        ),
        supports_check_mode=True,
    )
    params = module.params
    config = {
        "retries": {"mode": "standard", "max_attempts": params["max_attempts"]},
        "connect_timeout": params["connect_timeout"],
        "read_timeout": 10,
    }
    cache = {}

    def client(service, region):
        if region not in params["regions"]:
            raise Unreachable(f"{region} is not in the regions this run may contact")
        key = (service, region)
        if key not in cache:
            cache[key] = module.client(service, region=region, config=config)
        return cache[key]

    try:
        result = describe(params, client)
    except Exception as err:
        module.fail_json_aws(err, msg="Could not describe the DR regions")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

"""aws_network's effect in the scenario's moto: the VPC and what it is made of, as the
lab's network plan says (inventories/lab/group_vars/all/aws_network.yml)."""

from __future__ import annotations

TIERS = {
    "public": ["10.0.101.0/24", "10.0.102.0/24", "10.0.103.0/24"],
    "private": ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
    "database": ["10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24"],
}


def _vpc(aws, outputs):
    return aws("ec2").describe_vpcs(VpcIds=[outputs("network")["vpc_id"]])["Vpcs"][0]


def test_one_vpc_with_the_planned_cidr_and_the_standard_tags(aws, outputs, tags, standard_tags):
    vpcs = aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["tradeops-lab"]}])
    assert len(vpcs["Vpcs"]) == 1
    vpc = _vpc(aws, outputs)
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert set(tags(vpc)) >= standard_tags
    assert tags(vpc)["Environment"] == "lab"


def test_a_subnet_per_tier_and_zone_in_the_vpc(aws, outputs, tags):
    vpc_id = outputs("network")["vpc_id"]
    subnets = aws("ec2").describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    by_name = {tags(s)["Name"]: s for s in subnets["Subnets"]}
    for tier, cidrs in TIERS.items():
        for zone, cidr in zip("abc", cidrs, strict=True):
            subnet = by_name[f"tradeops-lab-{tier}-{zone}"]
            assert subnet["CidrBlock"] == cidr
            assert subnet["AvailabilityZone"] == f"us-east-1{zone}"
    assert len(by_name) == 9


def test_private_subnets_route_out_through_a_nat_gateway_of_their_zone(aws, outputs):
    network = outputs("network")
    ec2 = aws("ec2")
    for zone in "abc":
        table = ec2.describe_route_tables(
            RouteTableIds=[network["route_tables"][f"tradeops-lab-private-{zone}"]]
        )["RouteTables"][0]
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert [r.get("NatGatewayId") for r in default] == [
            network["nat_gateway_ids"][f"tradeops-lab-nat-{zone}"]
        ]


def test_public_subnets_route_out_through_the_internet_gateway(aws, outputs):
    network = outputs("network")
    table = aws("ec2").describe_route_tables(
        RouteTableIds=[network["route_tables"]["tradeops-lab-public"]]
    )["RouteTables"][0]
    default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert [r.get("GatewayId") for r in default] == [network["internet_gateway_id"]]


def test_the_database_tier_has_no_route_out(aws, outputs):
    table = aws("ec2").describe_route_tables(
        RouteTableIds=[outputs("network")["route_tables"]["tradeops-lab-database"]]
    )["RouteTables"][0]
    assert not [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


def test_flow_logs_go_to_their_log_group(aws, outputs):
    network = outputs("network")
    logs = aws("ec2").describe_flow_logs(FlowLogIds=[network["flow_log_id"]])["FlowLogs"]
    assert [f["ResourceId"] for f in logs] == [network["vpc_id"]]
    assert logs[0]["LogGroupName"] == network["flow_log_group"]

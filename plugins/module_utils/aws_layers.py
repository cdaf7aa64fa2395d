# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS layers of the platform: the one registry.

Every place that needs to know which layers exist reads this list: site.yml's scheduler
(through the lookup tradeops.platform.aws_layers), the sequential baseline, the
preflight play, the teardown (the reverse order), the module aws_layer_state (its
choices) and the tests. Adding a layer: one entry here, one role aws_<role> (docs/aws.md,
"Adding a layer").

A layer is built by the role aws_<role>; `dr` marks the DR region's copy of a role (the
same role run with tradeops_aws_dr, in aws_dr_region). `needs` are the layers whose
outputs it reads: the scheduler starts it when they are done, the teardown removes it
before them. `state` is the key of its describe function in aws_layer_state (None: the
layer has no single describe call of its own).
"""

from __future__ import annotations

from collections import namedtuple

Layer = namedtuple("Layer", "name role dr needs")


def layer(name, role=None, dr=False, needs=()):
    """One registry entry; the role defaults to the layer's name ('-' becomes '_')."""
    return Layer(name, role or name.replace("-", "_"), dr, tuple(needs))


# In creation order: each layer after every layer it needs (a unit test holds this).
LAYERS = (
    layer("network"),
    layer("network-dr", role="network", dr=True),
    layer("security"),
    layer("dr-state"),
    layer("kinesis", needs=["security"]),
    layer("s3", needs=["security"]),
    # The front door of each region: a load balancer in the public subnets of the network
    # (network-dr), its access logs into the S3 layer's logs bucket (its DR copy).
    layer("edge", needs=["network", "s3"]),
    layer("edge-dr", role="edge", dr=True, needs=["network-dr", "s3"]),
    # The failover pairs alias both regions' load balancers.
    layer("dns", needs=["edge", "edge-dr"]),
    # The trail delivers into the S3 layer's compliance bucket, encrypted with the data key.
    layer("audit", needs=["security", "s3"]),
    layer("fleet", needs=["network", "security"]),
    layer("fleet-dr", role="fleet", dr=True, needs=["network-dr", "security"]),
    # eks-dr reads the DR state: a converge never shrinks the DR cluster once the DR
    # region is active.
    layer("eks-dr", role="eks", dr=True, needs=["network-dr", "security", "dr-state"]),
    # eks builds its cluster beside eks-dr's, then waits for eks-dr before the IRSA roles,
    # which trust both clusters' OIDC providers (roles/aws_eks/tasks/converge.yml); so
    # eks-dr comes first here (sequential.yml's order) and must never need eks.
    layer("eks", needs=["network", "security"]),
    # RDS builds its cross-region replica in the DR network.
    layer("rds", needs=["network", "network-dr", "security"]),
    layer("elasticache", needs=["network", "security"]),
    # CloudWatch alarms on what the layers above built, to SNS topics per severity.
    layer(
        "alarms",
        needs=["security", "kinesis", "fleet", "fleet-dr", "rds", "elasticache", "edge", "edge-dr"],
    ),
    # AWS Backup's alarms notify the alarms layer's topics (its outputs).
    layer("backup", needs=["security", "alarms"]),
)

BY_NAME = {entry.name: entry for entry in LAYERS}


def names():
    """Every layer's name, in creation order."""
    return [entry.name for entry in LAYERS]


def roles():
    """The layer roles' names (aws_<role>), each once, in creation order."""
    seen = []
    for entry in LAYERS:
        if entry.role not in seen:
            seen.append(entry.role)
    return seen


def state_keys():
    """The values of aws_layer_state's `layer` option: one per role, as the layers name
    their describe call (dr_state's is dr-state)."""
    return [role.replace("_", "-") for role in roles()]


def plan(enabled=None):
    """The scheduler's plan: the enabled layers (default all) in creation order, each
    with the enabled layers it needs.

    Raises ValueError for a name that is not a layer."""
    wanted = names() if enabled is None else list(enabled)
    unknown = [name for name in wanted if name not in BY_NAME]
    if unknown:
        raise ValueError(f"not a layer: {', '.join(unknown)} (the layers: {', '.join(names())})")
    return [
        {
            "layer": entry.name,
            "role": entry.role,
            "dr": entry.dr,
            "needs": [need for need in entry.needs if need in wanted],
        }
        for entry in LAYERS
        if entry.name in wanted
    ]


def teardown_order():
    """The layers in the order a teardown removes them: the reverse of creation, so every
    layer goes before the layers it needs."""
    return [entry.name for entry in reversed(LAYERS)]


def problems():
    """What is wrong with the registry itself (empty when it is sound)."""
    out = []
    seen = set()
    for entry in LAYERS:
        if entry.name in seen:
            out.append(f"{entry.name} is listed twice")
        for need in entry.needs:
            if need not in BY_NAME:
                out.append(f"{entry.name} needs {need}, which is not a layer")
            elif need not in seen:
                out.append(f"{entry.name} needs {need}, listed after it")
        if entry.dr and entry.name != entry.role.replace("_", "-") + "-dr":
            out.append(f"{entry.name} is a DR copy: name it {entry.role}-dr")
        seen.add(entry.name)
    return out

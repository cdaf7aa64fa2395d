"""Unit tests for arc_routing_control (module_utils/dr ArcCluster, set_routing_controls).

Response shapes written from the ARC data plane API reference (fixtures/dr/arc.json,
SOURCES.md), played with botocore Stubber; a dead cluster endpoint is a real client of a
closed 127.0.0.1 port, or a stubbed EndpointTemporarilyUnavailableException.
"""

from __future__ import annotations

import copy
import io
import json
import socket
from contextlib import redirect_stdout
from pathlib import Path

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (
    ArcCluster,
    DrError,
    botocore_config,
    normalise_control_state,
    set_routing_controls,
)
from ansible_collections.tradeops.platform.plugins.modules import arc_routing_control
from botocore.config import Config
from botocore.stub import Stubber

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "dr" / "arc.json").read_text())
EAST_ARN = FIXTURES["east_on"]["RoutingControlArn"]
WEST_ARN = FIXTURES["west_on"]["RoutingControlArn"]
ENDPOINTS = [
    {"endpoint": "https://host-aaaaaa.us-east-1.example.invalid/v1", "region": "us-east-1"},
    {
        "endpoint": "https://host-bbbbbb.ap-southeast-2.example.invalid/v1",
        "region": "ap-southeast-2",
    },
    {"endpoint": "https://host-cccccc.us-west-2.example.invalid/v1", "region": "us-west-2"},
]
TO_WEST = {EAST_ARN: "Off", WEST_ARN: "On"}


def response(name):
    return copy.deepcopy(FIXTURES[name])


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def arc_client(region, endpoint_url=None, **config):
    return boto3.client(
        "route53-recovery-cluster",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(**(config or botocore_config(1, 1, 1))),
    )


@pytest.fixture
def stubs():
    """A stubbed client per endpoint, keyed by endpoint URL."""
    clients, stubbers = {}, {}
    for endpoint in ENDPOINTS:
        client = arc_client(endpoint["region"], endpoint["endpoint"])
        clients[endpoint["endpoint"]] = client
        stubbers[endpoint["endpoint"]] = Stubber(client)
        stubbers[endpoint["endpoint"]].activate()
    yield clients, stubbers
    for stub in stubbers.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def get(stub, name):
    state = response(name)
    stub.add_response(
        "get_routing_control_state", state, {"RoutingControlArn": state["RoutingControlArn"]}
    )


@pytest.mark.parametrize(
    ("given", "state"),
    [(True, "On"), (False, "Off"), ("On", "On"), ("off", "Off"), ("YES", "On"), (" no ", "Off")],
)
def test_control_states_are_normalised(given, state):
    assert normalise_control_state(given) == state


def test_an_unknown_control_state_is_refused():
    with pytest.raises(ValueError, match="must be On or Off"):
        normalise_control_state("maybe")


def test_both_controls_change_in_one_update(stubs):
    clients, stubbers = stubs
    first = stubbers[ENDPOINTS[0]["endpoint"]]
    get(first, "east_on")
    get(first, "west_off")
    first.add_response(
        "update_routing_control_states",
        response("update_response"),
        {
            "UpdateRoutingControlStateEntries": [
                {"RoutingControlArn": EAST_ARN, "RoutingControlState": "Off"},
                {"RoutingControlArn": WEST_ARN, "RoutingControlState": "On"},
            ],
            "SafetyRulesToOverride": ["arn:aws:route53-recovery-control::123456789012:rule/x"],
        },
    )
    get(first, "east_off")
    get(first, "west_on")
    cluster = ArcCluster(ENDPOINTS, lambda endpoint, region: clients[endpoint])
    result = set_routing_controls(
        cluster, TO_WEST, ["arn:aws:route53-recovery-control::123456789012:rule/x"]
    )
    assert result["changed"] is True
    assert result["before"] == {EAST_ARN: "On", WEST_ARN: "Off"}
    assert result["after"] == {EAST_ARN: "Off", WEST_ARN: "On"}
    assert result["endpoint"] == ENDPOINTS[0]["endpoint"]
    assert result["changes"] == [f"{EAST_ARN}: On -> Off", f"{WEST_ARN}: Off -> On"]


def test_controls_already_in_place_are_no_change(stubs):
    clients, stubbers = stubs
    first = stubbers[ENDPOINTS[0]["endpoint"]]
    get(first, "east_off")
    get(first, "west_on")
    cluster = ArcCluster(ENDPOINTS, lambda endpoint, region: clients[endpoint])
    result = set_routing_controls(cluster, TO_WEST)
    assert (result["changed"], result["changes"], result["endpoint"]) == (False, [], None)


def test_check_mode_probes_only(stubs):
    clients, stubbers = stubs
    first = stubbers[ENDPOINTS[0]["endpoint"]]
    get(first, "east_on")
    get(first, "west_off")
    cluster = ArcCluster(ENDPOINTS, lambda endpoint, region: clients[endpoint])
    result = set_routing_controls(cluster, TO_WEST, check_mode=True)
    assert result["changed"] is True and result["after"] == result["before"]


def test_failed_endpoints_are_rotated_through_and_the_answering_one_sticks(stubs):
    clients, stubbers = stubs
    dead = arc_client("us-east-1", f"http://127.0.0.1:{closed_port()}")
    second = stubbers[ENDPOINTS[1]["endpoint"]]
    third = stubbers[ENDPOINTS[2]["endpoint"]]
    # Endpoint 1 refuses connections; endpoint 2 is "temporarily unavailable"; endpoint 3
    # answers and is used for the rest of the run.
    second.add_client_error(
        "get_routing_control_state",
        "EndpointTemporarilyUnavailableException",
        "try another cluster endpoint",
        503,
    )
    get(third, "east_on")
    get(third, "west_off")
    third.add_response("update_routing_control_states", response("update_response"))
    get(third, "east_off")
    get(third, "west_on")

    def client_for(endpoint, region):
        return dead if endpoint == ENDPOINTS[0]["endpoint"] else clients[endpoint]

    result = set_routing_controls(ArcCluster(ENDPOINTS, client_for), TO_WEST)
    assert result["endpoint"] == ENDPOINTS[2]["endpoint"]
    failures = result["endpoint_failures"]
    assert len(failures) == 2
    assert failures[0].startswith(f"get_routing_control_state {ENDPOINTS[0]['endpoint']}")
    assert "EndpointConnectionError" in failures[0]
    assert "EndpointTemporarilyUnavailableException" in failures[1]


def test_no_endpoint_answering_fails_with_every_error(stubs):
    _clients, _stubbers = stubs
    cluster = ArcCluster(
        ENDPOINTS, lambda endpoint, region: arc_client(region, f"http://127.0.0.1:{closed_port()}")
    )
    with pytest.raises(DrError) as info:
        set_routing_controls(cluster, TO_WEST)
    message = str(info.value)
    assert message.startswith(
        "no ARC cluster endpoint answered get_routing_control_state (3 tried)"
    )
    assert message.count("EndpointConnectionError") == 3


def test_a_refusal_is_not_rotated(stubs):
    clients, stubbers = stubs
    first = stubbers[ENDPOINTS[0]["endpoint"]]
    get(first, "east_on")
    get(first, "west_off")
    first.add_client_error(
        "update_routing_control_states", "ConflictException", "safety rule violated", 409
    )
    cluster = ArcCluster(ENDPOINTS, lambda endpoint, region: clients[endpoint])
    with pytest.raises(Exception, match="ConflictException"):
        set_routing_controls(cluster, TO_WEST)
    assert cluster.failures == []


def test_a_change_that_does_not_read_back_fails(stubs):
    clients, stubbers = stubs
    first = stubbers[ENDPOINTS[0]["endpoint"]]
    get(first, "east_on")
    get(first, "west_off")
    first.add_response("update_routing_control_states", response("update_response"))
    get(first, "east_on")
    get(first, "west_on")
    cluster = ArcCluster(ENDPOINTS, lambda endpoint, region: clients[endpoint])
    with pytest.raises(DrError, match=f"{EAST_ARN} is On, want Off"):
        set_routing_controls(cluster, TO_WEST)


# ------------------------------------------------------------------ the module


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        arc_routing_control.main()
    return exc.value.code, json.loads(out.getvalue())


def test_module_uses_the_cluster_endpoints_and_accepts_yaml_booleans(monkeypatch, stubs):
    clients, stubbers = stubs
    calls = []

    def fake_client(self, service, **kwargs):
        calls.append((service, kwargs["endpoint"], kwargs["region"], kwargs["config"]))
        return clients[kwargs["endpoint"]]

    monkeypatch.setattr(AnsibleAWSModule, "client", fake_client)
    first = stubbers[ENDPOINTS[0]["endpoint"]]
    get(first, "east_on")
    get(first, "west_off")
    rc, result = run_module(
        {
            "cluster_endpoints": ENDPOINTS,
            "routing_controls": [
                {"arn": EAST_ARN, "state": False},  # what YAML makes of a bare Off
                {"arn": WEST_ARN, "state": "On"},
            ],
        },
        check_mode=True,
    )
    assert (rc, result["changed"]) == (0, True)
    assert calls == [
        (
            "route53-recovery-cluster",
            ENDPOINTS[0]["endpoint"],
            "us-east-1",
            botocore_config(2, 5, 1),
        )
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"routing_controls": [{"arn": EAST_ARN, "state": "sideways"}]}, "must be On or Off"),
        (
            {
                "routing_controls": [
                    {"arn": EAST_ARN, "state": "On"},
                    {"arn": EAST_ARN, "state": "Off"},
                ]
            },
            "listed as both On and Off",
        ),
        ({"cluster_endpoints": []}, "cluster_endpoints must list"),
        (
            {"cluster_endpoints": [{"endpoint": "host-a.example.invalid", "region": "us-east-1"}]},
            "must be a URL",
        ),
    ],
)
def test_module_rejects_bad_arguments(args, message):
    base = {"cluster_endpoints": ENDPOINTS, "routing_controls": [{"arn": EAST_ARN, "state": "On"}]}
    rc, result = run_module(dict(base, **args))
    assert rc == 1 and message in result["msg"]


def test_module_documentation():
    doc = yaml.safe_load(arc_routing_control.DOCUMENTATION)
    assert isinstance(yaml.safe_load(arc_routing_control.EXAMPLES), list)
    assert set(doc["options"]) == {
        "cluster_endpoints",
        "routing_controls",
        "safety_rules_to_override",
        "connect_timeout",
        "read_timeout",
        "max_attempts",
    }
    assert "ONE UpdateRoutingControlStates call" in " ".join(doc["description"])

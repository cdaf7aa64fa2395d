#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: arc_routing_control
short_description: Set ARC routing control states through the cluster's data-plane endpoints
version_added: "0.2.0"
description:
  - Route 53 Application Recovery Controller routing controls move traffic by health-check
    state, without the Route 53 control plane (hosted in us-east-1). This module uses only
    the data plane, the cluster's regional endpoints (route53-recovery-cluster).
  - "Probe: GetRoutingControlState of every control. When all are already in the wanted
    state nothing changes."
  - "Act: ONE UpdateRoutingControlStates call with every control of I(routing_controls), so
    that the safety rules (assertion and gating rules) judge the change as one transaction
    (for example both regions' controls flipped together). I(safety_rules_to_override) is
    passed through."
  - "Verify: the states are read back."
  - "A call that cannot connect, times out, or gets a 5xx or
    C(EndpointTemporarilyUnavailableException) is tried on the next endpoint of
    I(cluster_endpoints) (ARC keeps at least three of the five answering); the endpoint
    that answered is used for the next calls. Endpoints that failed are returned."
  - "Tested on response shapes written from the AWS API reference (botocore Stubber): moto
    does not implement ARC."
author:
  - tradeops engineers (@tradeops)
options:
  cluster_endpoints:
    description:
      - The cluster's regional endpoints, as DescribeCluster lists them (read them ahead of
        time, into the inventory - the configuration API is itself in one region).
    type: list
    elements: dict
    required: true
    suboptions:
      endpoint:
        description: Endpoint URL, for example C(https://host-xxxx.us-west-2.example.invalid/v1).
        type: str
        required: true
      region:
        description: The endpoint's region (requests are signed for it).
        type: str
        required: true
  routing_controls:
    description: Every routing control of the change and its wanted state.
    type: list
    elements: dict
    required: true
    suboptions:
      arn:
        description: The routing control's ARN.
        type: str
        required: true
      state:
        description:
          - C(On) or C(Off). YAML reads a bare C(On) as true; true/false are accepted
            and mean On/Off.
        type: raw
        required: true
  safety_rules_to_override:
    description: ARNs of safety rules to bypass (break-glass; recorded by the runbook).
    type: list
    elements: str
    default: []
  connect_timeout:
    description: Seconds to wait for a connection to an endpoint.
    type: int
    default: 2
  read_timeout:
    description: Seconds to wait for an endpoint's answer.
    type: int
    default: 5
  max_attempts:
    description: Attempts on one endpoint (the first included) before the next endpoint is tried.
    type: int
    default: 1
extends_documentation_fragment:
  - tradeops.platform.aws
notes:
  - I(endpoint_url) and I(region) are not used; the endpoints are I(cluster_endpoints).
  - Check mode probes and reports what would change.
"""

EXAMPLES = r"""
- name: Traffic to us-west-2 - both regions' controls in one transaction
  tradeops.platform.arc_routing_control:
    cluster_endpoints: "{{ dr_arc_cluster_endpoints }}"
    routing_controls:
      - arn: "{{ dr_arc_controls['us-east-1'] }}"
        state: "Off"
      - arn: "{{ dr_arc_controls['us-west-2'] }}"
        state: "On"
"""

RETURN = r"""
before:
  description: State of every control before, by ARN.
  returned: always
  type: dict
  sample:
    "arn:aws:route53-recovery-control::123456789012:controlpanel/abc/routingcontrol/east": "On"
after:
  description: State of every control after (read back), by ARN.
  returned: always
  type: dict
endpoint:
  description: The endpoint that accepted the update (null when there was none).
  returned: always
  type: str
endpoint_failures:
  description: Endpoints that failed during this run, with the operation and the error.
  returned: always
  type: list
  elements: str
changes:
  description: Controls that change (or in check mode would), C(arn - old -> new).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (  # noqa: E402
    ArcCluster,
    DrError,
    botocore_config,
    connection_errors,
    normalise_control_state,
    set_routing_controls,
    validate_region,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster_endpoints=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    endpoint=dict(type="str", required=True),
                    region=dict(type="str", required=True),
                ),
            ),
            routing_controls=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    arn=dict(type="str", required=True),
                    state=dict(type="raw", required=True),
                ),
            ),
            safety_rules_to_override=dict(type="list", elements="str", default=[]),
            connect_timeout=dict(type="int", default=2),
            read_timeout=dict(type="int", default=5),
            max_attempts=dict(type="int", default=1),
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = connection_errors(p)
    if not p["cluster_endpoints"]:
        errors.append("cluster_endpoints must list the cluster's endpoints")
    for endpoint in p["cluster_endpoints"]:
        errors += validate_region(endpoint["region"], f"region of {endpoint['endpoint']}")
        if not endpoint["endpoint"].startswith(("https://", "http://")):
            errors.append(f"endpoint {endpoint['endpoint']!r} must be a URL")
    wanted = {}
    if not p["routing_controls"]:
        errors.append("routing_controls must name at least one control")
    for control in p["routing_controls"]:
        try:
            state = normalise_control_state(control["state"])
        except ValueError as err:
            errors.append(f"{control['arn']}: {err}")
            continue
        if wanted.get(control["arn"], state) != state:
            errors.append(f"{control['arn']} is listed as both On and Off")
        wanted[control["arn"]] = state
    if errors:
        module.fail_json(msg="arc_routing_control: " + "; ".join(errors))
    config = botocore_config(p["connect_timeout"], p["read_timeout"], p["max_attempts"])

    def client_for(endpoint, region):
        return module.client(
            "route53-recovery-cluster", region=region, endpoint=endpoint, config=config
        )

    cluster = ArcCluster(p["cluster_endpoints"], client_for)
    try:
        result = set_routing_controls(
            cluster, wanted, p["safety_rules_to_override"], check_mode=module.check_mode
        )
    except DrError as err:
        module.fail_json(msg=err.msg, **dict(err.result, endpoint_failures=cluster.failures))
    except Exception as err:  # botocore ClientError other than "try another endpoint"
        module.fail_json_aws(
            err,
            msg="ARC refused the routing control change",
            endpoint_failures=cluster.failures,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()

"""changes.py: the changed things of a run, from its events (the shapes ansible-runner emits).

The events below are authored in the shape of real runner events (event, event_data with
host, task, task_action/resolved_action, role, res); the lab test
(tests/integration/dayto) runs the same code on a real plan of the lab.
"""

from __future__ import annotations

from tradeops.changes import (
    ChangeCollector,
    describe_rule,
    parse_sentence,
)


def ok(host, task, action, res, role="", uuid=""):
    return {
        "event": "runner_on_ok",
        "event_data": {
            "host": host,
            "task": task,
            "task_action": action,
            "resolved_action": action,
            "role": role,
            "task_uuid": uuid,
            "res": res,
        },
    }


SG_SENTENCE = (
    "security group lab-engines: rules to add [], to remove "
    "[('ingress', 'tcp', 2222, 2222, 'cidr:198.18.0.0/24', 'by hand')]"
)


def test_parse_sentence_security_group_rules_current_and_wanted():
    parts = parse_sentence(SG_SENTENCE)
    assert parts["what"] == "security group lab-engines"
    assert parts["attribute"] == "rules"
    assert parts["current"] == ["ingress tcp 2222 from 198.18.0.0/24 (by hand)"]
    assert parts["wanted"] == []


def test_parse_sentence_shapes_of_aws_state():
    missing = parse_sentence("subnet lab-private-a (10.0.1.0/24) does not exist")
    assert (missing["what"], missing["current"], missing["wanted"]) == (
        "subnet lab-private-a (10.0.1.0/24)",
        "absent",
        "present",
    )
    shards = parse_sentence("stream lab-ticks (us-east-1): 2 shards, want 10")
    assert (shards["what"], shards["current"], shards["wanted"]) == (
        "stream lab-ticks (us-east-1)",
        "2 shards",
        "10",
    )
    attr = parse_sentence("instance engine-c5n-1: instance type is c5n.large, want c5n.18xlarge")
    assert (attr["attribute"], attr["current"], attr["wanted"]) == (
        "instance type",
        "c5n.large",
        "c5n.18xlarge",
    )
    tags = parse_sentence("VPC lab: tags differ (to set {'Owner': 'x'}, to remove ['Tmp'])")
    assert (tags["attribute"], tags["current"], tags["wanted"]) == (
        "tags",
        "['Tmp']",
        "{'Owner': 'x'}",
    )
    routes = parse_sentence("route table lab-public: routes [('0.0.0.0/0', 'igw')] != []")
    assert routes["attribute"] == "routes" and routes["wanted"] == "[]"
    status = parse_sentence("KMS key alias/lab-data (us-east-1) is PendingDeletion")
    assert (status["what"], status["current"]) == (
        "KMS key alias/lab-data (us-east-1)",
        "PendingDeletion",
    )
    rotation = parse_sentence("KMS key alias/lab-data (us-east-1): rotation is off")
    assert rotation["what"] == "KMS key alias/lab-data (us-east-1)"
    assert rotation["attribute"] == "rotation is off"
    odd = parse_sentence("internet gateway is missing")
    assert (odd["what"], odd["current"], odd["wanted"]) == ("internet gateway", "absent", "present")


def test_describe_rule_all_traffic_and_group_peer():
    assert describe_rule(("egress", "-1", None, None, "cidr:0.0.0.0/0", None)) == (
        "egress all traffic to 0.0.0.0/0"
    )
    assert describe_rule(("ingress", "tcp", 9100, 9101, "sg:lab-mon", None)) == (
        "ingress tcp 9100-9101 from group lab-mon"
    )


def test_aws_layer_differences_are_the_changes_and_its_tasks_only_notes():
    c = ChangeCollector(check=True)
    c.feed(ok("aws-network", "Describe", "tradeops.platform.aws_layer_state",
              {"changed": False, "differences": [SG_SENTENCE]}, role="aws_network"))  # fmt: skip
    c.feed(ok("aws-network", "Security group rules", "amazon.aws.ec2_security_group",
              {"changed": True}, role="aws_network"))  # fmt: skip
    # The verify call after converging (not in check mode) must not add anything.
    c.feed(ok("aws-network", "Verify", "tradeops.platform.aws_layer_state",
              {"changed": False, "differences": []}))  # fmt: skip
    c.feed(ok("aws-security", "Describe", "tradeops.platform.aws_layer_state",
              {"changed": False, "differences": []}))  # fmt: skip
    changes = c.changes()
    assert len(changes) == 1
    change = changes[0]
    assert (change.scope, change.target, change.what) == (
        "aws",
        "network",
        "security group lab-engines",
    )
    assert change.notes == ["tasks: Security group rules"]


def test_a_layer_task_changing_without_a_difference_is_shown():
    c = ChangeCollector(check=True)
    c.feed(ok("aws-backup", "Describe", "tradeops.platform.aws_layer_state", {"differences": []}))
    c.feed(ok("aws-backup", "Backup plan", "amazon.aws.backup_plan", {"changed": True}))
    assert [(x.target, x.kind, x.what) for x in c.changes()] == [("backup", "task", "Backup plan")]


def tuning_report(rx_actual):
    return {
        "profile": "lab",
        "checks": [
            {"name": "nic eth0 channels.rx", "status": "drift" if rx_actual != 1 else "ok",
             "desired": 1, "actual": rx_actual, "path": "nics.channels.rx", "message": ""},
            {"name": "nic eth0 channels.tx", "status": "ok", "desired": 1, "actual": 1,
             "path": "nics.channels.tx"},
            {"name": "irq_default_affinity", "status": "drift", "desired": "0",
             "actual": "0-1", "path": "cpu.housekeeping"},
        ],
    }  # fmt: skip


def test_tuning_drift_in_check_mode_is_one_change_and_folds_the_metrics_file():
    c = ChangeCollector(check=True)
    c.feed(ok("engine-c5n-2", "Preflight", "ansible.builtin.set_fact",
              {"ansible_facts": {"__engine_tuning_is_container": True}}))  # fmt: skip
    c.feed(ok("engine-c5n-2", "Verify | compare", "ansible.builtin.set_fact",
              {"ansible_facts": {"engine_tuning_verify_report": tuning_report(2)}},
              role="engine_tuning"))  # fmt: skip
    c.feed(ok("engine-c5n-2", "Verify | what the metrics say", "ansible.builtin.debug",
              {"changed": True, "msg": {
                  "file": "/var/lib/prometheus/node-exporter/tradeops_tuning.prom",
                  "removed": ['tradeops_tuning_check_ok{check="nic.eth0.channels.rx"} 1'],
                  "added": ['tradeops_tuning_check_ok{check="nic.eth0.channels.rx"} 0'],
              }}))  # fmt: skip
    changes = c.changes()
    assert len(changes) == 1
    change = changes[0]
    assert (change.target, change.kind, change.what) == (
        "engine-c5n-2", "tuning", "tuning check nic.eth0.channels.rx",
    )  # fmt: skip
    assert (change.current, change.wanted) == (2, 1)
    assert any("tradeops_tuning.prom" in note for note in change.notes)


def test_tuning_drift_after_a_real_run_is_not_a_change():
    c = ChangeCollector(check=False)
    c.feed(ok("engine-c5n-2", "Verify | compare", "ansible.builtin.set_fact",
              {"ansible_facts": {"engine_tuning_verify_report": tuning_report(2)}}))  # fmt: skip
    assert c.changes() == []
    assert c.tuning["engine-c5n-2"]["profile"] == "lab"


def test_file_diff_gives_current_and_wanted_lines():
    c = ChangeCollector(check=True)
    path = "/etc/sysctl.d/90-tradeops.conf"
    before = "net.core.busy_poll = 0\nnet.core.busy_read = 50\n"
    after = "net.core.busy_poll = 50\nnet.core.busy_read = 50\n"
    diff = {"before": before, "after": after, "before_header": path, "after_header": path}
    c.feed(ok("engine-bm-1", "Sysctl | persist", "ansible.builtin.template",
              {"changed": True, "diff": [diff]}))  # fmt: skip
    [change] = c.changes()
    assert change.kind == "file" and change.what == "/etc/sysctl.d/90-tradeops.conf"
    assert change.current == "net.core.busy_poll = 0"
    assert change.wanted == "net.core.busy_poll = 50"
    assert (
        "-net.core.busy_poll = 0" in change.detail and "+net.core.busy_poll = 50" in change.detail
    )


def test_file_attributes_diff_and_loops_and_services_and_handlers():
    c = ChangeCollector(check=True)
    c.feed(ok("mon-1", "Dirs", "ansible.builtin.file", {"changed": True, "results": [
        {"changed": False, "item": "/a"},
        {"changed": True, "item": "/etc/x", "diff": {"before": {"path": "/etc/x", "mode": "0700"},
                                                     "after": {"path": "/etc/x", "mode": "0755"}}},
    ]}))  # fmt: skip
    c.feed(ok("engine-c5n-1", "Engine running", "ansible.builtin.systemd_service",
              {"changed": True, "name": "refengine",
               "status": {"ActiveState": "inactive"},
               "invocation": {"module_args": {"name": "refengine", "state": "started"}},
              }))  # fmt: skip
    c.feed({"event": "playbook_on_handler_task_start", "event_data": {"task_uuid": "h1"}})
    c.feed(ok("mon-1", "Restart prometheus", "ansible.builtin.systemd_service",
              {"changed": True}, uuid="h1"))  # fmt: skip
    changes = {(x.target, x.what): x for x in c.changes()}
    mode = changes[("mon-1", "/etc/x")]
    assert (mode.current, mode.wanted) == ({"mode": "0700"}, {"mode": "0755"})
    assert "then: Restart prometheus" in mode.notes
    engine = changes[("engine-c5n-1", "service refengine")]
    assert (engine.current, engine.wanted) == ({"state": "inactive"}, {"state": "started"})
    assert len(changes) == 2  # the handler is a note, not a change


def test_unchanged_results_and_failures_are_not_changes_but_count_as_seen_hosts():
    c = ChangeCollector(check=True)
    c.feed(ok("db-east-1", "Config", "ansible.builtin.template", {"changed": False, "diff": {}}))
    c.feed(
        {"event": "runner_on_failed", "event_data": {"host": "db-west-1", "res": {"changed": True}}}
    )
    assert c.changes() == []
    assert c.hosts == {"db-east-1", "db-west-1"}


def test_aws_caller_identity_is_taken_from_the_account_guard():
    c = ChangeCollector()
    c.feed(ok("localhost", "Identity", "amazon.aws.aws_caller_info",
              {"account": "123456789012", "arn": "arn:aws:sts::123456789012:user/ops",
               "user_id": "AIDA"}))  # fmt: skip
    assert c.aws_caller == {
        "account": "123456789012",
        "arn": "arn:aws:sts::123456789012:user/ops",
        "user_id": "AIDA",
    }


def test_container_hosts_judge_only_their_own_interfaces():
    c = ChangeCollector(check=True)
    c.feed(ok("engine-c5n-2", "Preflight", "ansible.builtin.set_fact",
              {"ansible_facts": {"__engine_tuning_is_container": True}}))  # fmt: skip
    c.feed(ok("engine-c5n-2", "Verify | compare", "ansible.builtin.set_fact",
              {"ansible_facts": {"engine_tuning_verify_report": tuning_report(2)}}))  # fmt: skip
    c.feed(ok("engine-bm-9", "Verify | compare", "ansible.builtin.set_fact",
              {"ansible_facts": {"engine_tuning_verify_report": tuning_report(1)}}))  # fmt: skip
    found = sorted((x.target, x.what) for x in c.changes())
    assert found == [
        ("engine-bm-9", "tuning check irq.default_affinity"),  # a real host: judged
        ("engine-c5n-2", "tuning check nic.eth0.channels.rx"),  # the container's own NIC
    ]


def test_check_labels_are_the_metrics_labels():
    """The plan names a check as engine_tuning's metrics (and TuningDrift) do."""
    import importlib.util
    from pathlib import Path

    from tradeops import changes

    source = Path(__file__).resolve().parents[3] / "plugins/module_utils/tuning_metrics.py"
    spec = importlib.util.spec_from_file_location("tuning_metrics_copy", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("nic eth0 channels.rx", "sysctl vm.swappiness", "irq_affinity"):
        assert changes.check_label({"name": name}) == module.check_label({"name": name})

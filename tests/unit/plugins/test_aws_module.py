"""Unit tests for the steps the AWS modules share (module_utils/aws_module.py)."""

from __future__ import annotations

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import (
    converge_arn_tags,
    converge_tags,
    delete_if_exists,
)


class Exited(Exception):
    """exit_json / fail_json_aws of the fake module (AnsibleModule's exit the process)."""


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = params
        self.result = None

    def exit_json(self, **result):
        self.result = result
        raise Exited

    def fail_json_aws(self, err, msg):
        self.result = {"failed": True, "msg": msg, "error": err}
        raise Exited


class Calls:
    """Records the AWS calls a step makes."""

    def __init__(self, error=None):
        self.made = []
        self.error = error

    def call(self, name):
        def record(*args):
            self.made.append((name, *args))
            if self.error:
                raise self.error

        return record


class Boom(Exception):
    pass


def test_delete_if_exists_leaves_a_missing_resource_alone():
    module, calls = FakeModule(), Calls()
    with pytest.raises(Exited):
        delete_if_exists(module, False, calls.call("delete"), "no", recording=False)
    assert module.result == {"changed": False, "recording": False}
    assert calls.made == []


def test_delete_if_exists_deletes_an_existing_one():
    module, calls = FakeModule(), Calls()
    with pytest.raises(Exited):
        delete_if_exists(module, True, calls.call("delete"), "no", differences=[])
    assert module.result == {"changed": True, "differences": []}
    assert calls.made == [("delete",)]


def test_delete_if_exists_in_check_mode_only_reports():
    module, calls = FakeModule(check_mode=True), Calls()
    with pytest.raises(Exited):
        delete_if_exists(module, True, calls.call("delete"), "no")
    assert module.result == {"changed": True}
    assert calls.made == []


def test_delete_if_exists_fails_on_the_errors_it_is_given():
    module, calls = FakeModule(), Calls(error=Boom("denied"))
    with pytest.raises(Exited):
        delete_if_exists(module, True, calls.call("delete"), "Could not delete x", errors=Boom)
    assert module.result["failed"] is True
    assert module.result["msg"] == "Could not delete x"
    assert str(module.result["error"]) == "denied"


def test_delete_if_exists_lets_other_errors_through():
    module, calls = FakeModule(), Calls(error=KeyError("bug"))
    with pytest.raises(KeyError):
        delete_if_exists(module, True, calls.call("delete"), "no", errors=Boom)
    assert module.result is None


def test_converge_tags_without_the_tags_option_changes_nothing():
    module, calls = FakeModule(tags=None, purge_tags=True), Calls()
    assert converge_tags(module, {"a": "1"}, calls.call("tag"), calls.call("untag")) == ""
    assert calls.made == []


def test_converge_tags_when_converged_makes_no_call():
    module, calls = FakeModule(tags={"a": "1"}, purge_tags=True), Calls()
    assert converge_tags(module, {"a": "1"}, calls.call("tag"), calls.call("untag")) == ""
    assert calls.made == []


def test_converge_tags_removes_then_sets():
    module, calls = FakeModule(tags={"a": "2", "c": "3"}, purge_tags=True), Calls()
    current = {"a": "1", "b": "x"}
    message = converge_tags(module, current, calls.call("tag"), calls.call("untag"))
    assert message == "tags: set ['a', 'c'], remove ['b']"
    assert calls.made == [("untag", ["b"]), ("tag", {"a": "2", "c": "3"})]


def test_converge_tags_without_purge_keeps_the_others():
    module, calls = FakeModule(tags={"c": "3"}, purge_tags=False), Calls()
    message = converge_tags(module, {"b": "x"}, calls.call("tag"), calls.call("untag"))
    assert message == "tags: set ['c'], remove []"
    assert calls.made == [("tag", {"c": "3"})]


def test_converge_tags_only_removing():
    module, calls = FakeModule(tags={}, purge_tags=True), Calls()
    message = converge_tags(module, {"b": "x"}, calls.call("tag"), calls.call("untag"))
    assert message == "tags: set [], remove ['b']"
    assert calls.made == [("untag", ["b"])]


def test_converge_tags_in_check_mode_only_reports():
    module = FakeModule(check_mode=True, tags={"a": "2"}, purge_tags=True)
    calls = Calls()
    message = converge_tags(module, {"a": "1", "b": "x"}, calls.call("tag"), calls.call("untag"))
    assert message == "tags: set ['a'], remove ['b']"
    assert calls.made == []


def test_converge_arn_tags_calls_the_arn_tagging_api():
    """EKS' tagging: untag_resource(resourceArn, tagKeys), then tag_resource(resourceArn, tags)."""
    made = []

    class Client:
        def tag_resource(self, **kwargs):
            made.append(("tag_resource", kwargs))

        def untag_resource(self, **kwargs):
            made.append(("untag_resource", kwargs))

    module = FakeModule(tags={"a": "2"}, purge_tags=True)
    message = converge_arn_tags(module, Client(), "arn:aws:eks:x", {"a": "1", "b": "x"})
    assert message == "tags: set ['a'], remove ['b']"
    assert made == [
        ("untag_resource", {"resourceArn": "arn:aws:eks:x", "tagKeys": ["b"]}),
        ("tag_resource", {"resourceArn": "arn:aws:eks:x", "tags": {"a": "2"}}),
    ]
    assert converge_arn_tags(FakeModule(tags={"a": "2"}, purge_tags=True), Client(), "x", None)


def test_session_clients_share_one_session_and_keep_one_client_per_service_and_region(
    monkeypatch,
):
    from ansible_collections.tradeops.platform.plugins.module_utils import aws_module

    made = []
    real_session = aws_module.boto3.session.Session

    def counting_session(*args, **kwargs):
        made.append(kwargs)
        return real_session(*args, **kwargs)

    monkeypatch.setattr(aws_module.boto3.session, "Session", counting_session)
    monkeypatch.setattr(
        aws_module,
        "get_aws_connection_info",
        lambda module: (
            "us-east-1",
            "http://127.0.0.1:5",
            {"aws_access_key_id": "a", "aws_secret_access_key": "b", "profile_name": None},
        ),
    )
    clients = aws_module.session_clients(object())
    ec2 = clients("ec2")
    assert clients("ec2") is ec2 and clients("ec2", "us-east-1") is ec2
    west = clients("ec2", "us-west-2")
    s3 = clients("s3")
    assert west is not ec2 and west.meta.region_name == "us-west-2"
    assert ec2.meta.region_name == "us-east-1" and ec2.meta.endpoint_url == "http://127.0.0.1:5"
    assert s3.meta.service_model.service_name == "s3"
    assert len(made) == 1  # one session for every client

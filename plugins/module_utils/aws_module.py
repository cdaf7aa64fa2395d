# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Steps several AWS modules' ``main()`` share, on an ``AnsibleAWSModule``.

- ``delete_if_exists``: ``state=absent`` of the one resource (or configuration) a module
  manages - the counterpart of the ``tradeops.platform.state`` doc fragment.
- ``converge_tags``: the options of the ``amazon.aws.tags`` doc fragment (``tags``,
  ``purge_tags``) applied to one resource, with that service's tag calls.
- ``session_clients``: the clients of a module that reads many services, from one session.

The AWS calls themselves are the caller's (a callable each): the services name their tag
and delete calls and parameters differently.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    _get_user_agent_string,
    _merge_botocore_config,
    get_aws_connection_info,
)
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

try:
    import boto3
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK


def delete_if_exists(module, exists, delete, msg, errors=Exception, **result):
    """Make the resource absent, then exit the module (never returns).

    Exits unchanged when it does not exist; otherwise calls ``delete()`` (not in check mode)
    and exits changed. An exception of the ``errors`` types raised by ``delete`` fails the
    module with ``msg``. ``result`` is what the module returns either way.
    """
    if not exists:
        module.exit_json(changed=False, **result)
    if not module.check_mode:
        try:
            delete()
        except errors as err:
            module.fail_json_aws(err, msg=msg)
    module.exit_json(changed=True, **result)


def converge_tags(module, current, tag, untag):
    """Bring a resource's tags from ``current`` (a dict) to the module's ``tags`` option.

    ``tags`` unset (None) leaves them alone; ``purge_tags`` removes the tags not in ``tags``.
    Unless in check mode, ``untag(keys)`` removes tags (a list of keys), then ``tag(tags)``
    sets them (a dict). Returns what changed (``"tags: set [...], remove [...]"``), or ``""``.
    """
    desired = module.params["tags"]
    if desired is None:
        return ""
    to_set, to_unset = compare_aws_tags(current, desired, module.params["purge_tags"])
    if not (to_set or to_unset):
        return ""
    if not module.check_mode:
        if to_unset:
            untag(to_unset)
        if to_set:
            tag(to_set)
    return f"tags: set {sorted(to_set)}, remove {sorted(to_unset)}"


def converge_arn_tags(module, client, arn, current):
    """converge_tags for the APIs that tag by ARN with a dict of tags (EKS: clusters, node
    groups, add-ons): ``tag_resource(resourceArn, tags)``, ``untag_resource(resourceArn,
    tagKeys)``."""
    return converge_tags(
        module,
        current or {},
        tag=lambda tags: client.tag_resource(resourceArn=arn, tags=tags),
        untag=lambda keys: client.untag_resource(resourceArn=arn, tagKeys=keys),
    )


def session_clients(module):
    """``clients(service, region=None)``: every client of the module from one boto3 session,
    made once per service and region, with the module's connection settings.

    ``module.client()`` (amazon.aws) builds a new session per client, and each new session
    loads the service's model again: 38 clients took 4.2 s of CPU that way here, 0.6 s from
    one session. For the modules that describe many services in one run."""
    default_region, endpoint, params = get_aws_connection_info(module)
    params = dict(params)
    session = boto3.session.Session(profile_name=params.pop("profile_name", None))
    config = botocore.config.Config(user_agent=_get_user_agent_string())
    for name in ("config", "aws_config"):
        config = _merge_botocore_config(config, params.pop(name, None))
    cache = {}

    def clients(service, region=None):
        key = (service, region or default_region)
        if key not in cache:
            try:
                cache[key] = session.client(
                    service, config=config, region_name=key[1], endpoint_url=endpoint, **params
                )
            except (ValueError, botocore.exceptions.BotoCoreError) as err:
                module.fail_json_aws(err, msg="Couldn't connect to AWS")
        return cache[key]

    return clients

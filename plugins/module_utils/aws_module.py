# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Steps several AWS modules' ``main()`` share, on an ``AnsibleAWSModule``.

- ``delete_if_exists``: ``state=absent`` of the one resource (or configuration) a module
  manages - the counterpart of the ``tradeops.platform.state`` doc fragment.
- ``converge_tags``: the options of the ``amazon.aws.tags`` doc fragment (``tags``,
  ``purge_tags``) applied to one resource, with that service's tag calls.

The AWS calls themselves are the caller's (a callable each): the services name their tag
and delete calls and parameters differently.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags


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

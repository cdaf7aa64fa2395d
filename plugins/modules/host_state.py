#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_state
short_description: Whether a host is still exactly as a role left it (one call per host and role)
version_added: "0.4.0"
description:
  - A host role records, after it converged and verified a host (O(state=record)), the digest
    of its inputs and a fingerprint of every item it manages there. On the next run
    O(state=check) compares the host with that record in one module run and returns
    RV(settled) true when the inputs are the same and no watched item differs; the role then
    skips its converge tasks. Anything else (no record, other inputs, a hand-edited file, a
    stopped or disabled unit, a removed package, a live sysctl or mount changed) returns
    RV(settled) false with the RV(reasons), and the role converges as usual.
  - The check never computes the desired state; it proves only that nothing moved since the
    role's last converge. What the role writes and what it watches come from the same role
    variables.
  - Files are compared by type, mode, owner and a SHA-256 of the content; directories by
    type, mode and owner; globs by the names they match and each match; units by
    C(LoadState), C(UnitFileState) and C(ActiveState); packages by installed version (dpkg or
    rpm); sysctls by their live value; mounts by source, type and options; users by uid,
    primary gid, home and shell; groups by gid and members.
  - With the variable C(tradeops_skip_settled) false, O(state=check) returns RV(settled) false
    without reading the host (every role converges).
  - The record (C(<dir>/<name>.json), mode 0600) names paths and holds digests, never
    content. Writing it is the role's bookkeeping, not a change of the host's configuration,
    so it is never reported as a change.
author:
  - tradeops engineers (@tradeops)
attributes:
  action:
    support: full
    description: The inputs digest is made on the controller.
  check_mode:
    support: full
    description: O(state=check) only reads; O(state=record) writes nothing in check mode.
  diff_mode:
    support: none
    description: It changes nothing on the host to show.
options:
  name:
    description: The record's name; in a role, the role's name by default (C(engine_tuning)).
    type: str
  inputs:
    description:
      - Digest of everything the role's converge depends on. In a role the action makes it
        on the controller when this is not given, from the role's own files, the value of
        every option of its C(main) entry point (C(meta/argument_specs.yml)) and
        O(extra_inputs).
    type: str
  extra_inputs:
    description:
      - Values the role derives in the run that its converge depends on (a rendered profile,
        whether settings are applied live ...). Only digested on the controller, never sent
        to the host.
    type: raw
  extra_roles:
    description:
      - Other roles of this collection whose files the role puts on the host (an imported
        internal role). Their files are digested with the role's own, on the controller only.
    type: list
    elements: str
    default: []
  watch:
    description: What the role manages on the host.
    type: dict
    default: {}
    suboptions:
      files:
        description: Paths of files and directories (shell globs allowed).
        type: list
        elements: path
      units:
        description: systemd unit names.
        type: list
        elements: str
      packages:
        description: Package names.
        type: list
        elements: str
      sysctls:
        description: Dotted sysctl names, read live from C(/proc/sys).
        type: list
        elements: str
      mounts:
        description: Mount points, read from C(/proc/self/mounts).
        type: list
        elements: path
      users:
        description: System users (uid, primary group, home, shell).
        type: list
        elements: str
      groups:
        description: System groups (gid, members).
        type: list
        elements: str
  booted_args:
    description:
      - Kernel command-line arguments that must be in effect (C(/proc/cmdline)) for the host
        to count as settled, so a pending reboot is never skipped. Leave empty where the
        kernel is not the host's own (a container).
    type: list
    elements: str
    default: []
  owned_keys:
    description: The argument keys O(booted_args) owns (as for M(tradeops.platform.kernel_args)).
    type: list
    elements: str
    default: []
  state:
    description: C(check) compares; C(record) writes the record of the host as it is now.
    type: str
    choices: [check, record]
    default: check
  dir:
    description: Where the records are kept.
    type: path
    default: /var/lib/tradeops/host-state
"""

EXAMPLES = r"""
- name: Is the host as the role left it?
  tradeops.platform.host_state:
    name: engine_tuning
    extra_inputs: {render: "{{ engine_tuning_render }}"}
    watch:
      files: [/etc/sysctl.d/60-tradeops-engine-tuning.conf, /etc/default/grub.d/*.cfg]
      units: [chrony.service]
      packages: [chrony]
  register: tuning_state

- name: Converge only when something moved
  ansible.builtin.include_tasks: converge.yml
  when: not tuning_state.settled
"""

RETURN = r"""
settled:
  description: The inputs are the recorded ones and no watched item differs (O(state=check)).
  returned: always
  type: bool
reasons:
  description: Why the host is not settled, one line per difference.
  returned: always
  type: list
  elements: str
  sample:
    - "file:/etc/chrony/chrony.conf changed since the last converge: file 0644 0:0 sha256:ab..
      -> file 0644 0:0 sha256:cd.."
watched:
  description: How many items were fingerprinted.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils import host_state as hs  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils import kernel_args as ka  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            inputs=dict(type="str"),
            extra_inputs=dict(type="raw"),
            extra_roles=dict(type="list", elements="str", default=[]),
            watch=dict(
                type="dict",
                default={},
                options=dict(
                    files=dict(type="list", elements="path"),
                    units=dict(type="list", elements="str"),
                    packages=dict(type="list", elements="str"),
                    sysctls=dict(type="list", elements="str"),
                    mounts=dict(type="list", elements="path"),
                    users=dict(type="list", elements="str"),
                    groups=dict(type="list", elements="str"),
                ),
            ),
            booted_args=dict(type="list", elements="str", default=[]),
            owned_keys=dict(type="list", elements="str", default=[], no_log=False),
            state=dict(type="str", choices=["check", "record"], default="check"),
            dir=dict(type="path", default="/var/lib/tradeops/host-state"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p["name"] or not p["inputs"]:
        module.fail_json(msg="host_state needs name and inputs (given by its action inside a role)")
    try:
        path = hs.record_path(p["dir"], p["name"])
        items = hs.fingerprint(
            p["watch"] or {},
            run=lambda argv: module.run_command(
                argv, environ_update={"LC_ALL": "C", "SYSTEMD_PAGER": ""}
            ),
            which=module.get_bin_path,
        )
    except (OSError, RuntimeError, ValueError) as err:
        module.fail_json(msg=f"cannot read the state of the host: {err}")
    result = dict(changed=False, watched=len(items))
    if p["state"] == "record":
        if not module.check_mode:
            hs.write_record(path, hs.record_text(p["inputs"], items))
        module.exit_json(settled=True, reasons=[], **result)
    reasons = hs.differences(hs.read_record(path), p["inputs"], items)
    if p["booted_args"]:
        running = (ka.read("/proc/cmdline") or "").split()
        owned = ka.owned_set(p["owned_keys"], p["booted_args"])
        if not ka.in_effect(running, p["booted_args"], owned):
            reasons.append(
                "the running kernel's command line lacks what was written (a reboot is pending)"
            )
    module.exit_json(settled=not reasons, reasons=reasons, **result)


if __name__ == "__main__":
    main()

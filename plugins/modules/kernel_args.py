#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kernel_args
short_description: Manage a set of kernel command-line arguments as their one owner
version_added: "0.1.0"
description:
  - Writes the kernel command-line arguments an owner (such as the C(engine_tuning) role)
    wants into the bootloader configuration, as a set with one owner. The owner names the
    argument keys it owns (O(owned_keys)); tokens with an owned key that are not in
    O(args) are removed, every other argument on the line is left alone.
  - The owned tokens are kept as one ordered block (hugepage size/count pairs are
    order-sensitive); when they differ from O(args) in any way, all of them are replaced.
  - "C(grub) backend (Debian, Ubuntu): a drop-in C(<grub_dropin_dir>/<owner drop-in>.cfg)
    appends O(args) to C(GRUB_CMDLINE_LINUX); owned tokens are removed from the
    C(GRUB_CMDLINE_LINUX) and C(GRUB_CMDLINE_LINUX_DEFAULT) assignments of O(grub_defaults)
    and of the other drop-ins. With O(grub_dropin=false) the arguments are written into
    C(GRUB_CMDLINE_LINUX) of O(grub_defaults) instead. Then C(update-grub) (or
    C(grub-mkconfig)) regenerates the configuration, also when an earlier run wrote the
    files but the generated C(grub.cfg) does not carry them yet."
  - "C(grubby) backend (RHEL family, Amazon Linux; BLS entries): C(grubby
    --update-kernel=ALL --remove-args/--args), read back afterwards; plus the same edit in
    O(grub_defaults) when it exists, so kernels installed later inherit the arguments."
  - The new command line takes effect at the next boot. RV(reboot_required) says whether
    the running kernel (C(/proc/cmdline)) differs from what is configured; the module never
    reboots.
author:
  - tradeops engineers (@tradeops)
attributes:
  check_mode:
    support: full
    description: Reports what would change and the diff, writes nothing, runs no bootloader tool.
  diff_mode:
    support: full
    description: Before/after of every file edited, or of each boot entry's arguments (grubby).
  platform:
    support: full
    platforms: posix
    description: Linux hosts booting with GRUB 2 (Debian family) or BLS/grubby (RHEL family).
options:
  args:
    description:
      - The wanted arguments, in order, each one token (C(isolcpus=managed_irq,domain,2-5),
        C(nosoftlockup)).
    type: list
    elements: str
    default: []
  owned_keys:
    description:
      - Argument keys (the part before C(=)) this owner manages. The keys of O(args) are
        always owned too.
    type: list
    elements: str
    default: []
  state:
    description:
      - C(present) writes O(args); C(absent) removes every token with an owned key.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description:
      - Name of the owner, used in the drop-in file name and its header.
    type: str
    default: tradeops
  backend:
    description:
      - C(auto) uses C(grubby) when the command exists (RHEL family, Amazon Linux), else C(grub).
    type: str
    choices: [auto, grub, grubby]
    default: auto
  grub_dropin:
    description:
      - With the C(grub) backend, write the arguments to a drop-in in O(grub_dropin_dir)
        (true) or into C(GRUB_CMDLINE_LINUX) of O(grub_defaults) (false; removes the drop-in).
    type: bool
    default: true
  grub_defaults:
    description: The GRUB defaults file.
    type: path
    default: /etc/default/grub
  grub_dropin_dir:
    description:
      - Directory of GRUB defaults drop-ins (sourced after O(grub_defaults) by Debian's
        grub-mkconfig).
    type: path
    default: /etc/default/grub.d
  grub_cfg:
    description:
      - The generated GRUB configuration, read to tell whether it is current and written by
        C(grub-mkconfig) when C(update-grub) is absent. Default the first that exists of
        C(/boot/grub/grub.cfg) and C(/boot/grub2/grub.cfg).
    type: path
  update_bootloader:
    description:
      - Regenerate the bootloader configuration after a change (C(grub) backend). Set it to
        false where no bootloader is installed (containers); the files are still written
        and RV(bootloader_current) says the generated configuration was not refreshed.
    type: bool
    default: true
  proc_cmdline:
    description: Where the running kernel's command line is read (tests point it at a fixture).
    type: path
    default: /proc/cmdline
notes:
  - The C(grubby) backend cannot keep a key twice on one line (it replaces an existing
    key); a profile with two hugepage sizes fails the read-back there with a message
    naming the lost tokens.
"""

EXAMPLES = r"""
- name: Write the tuning profile's kernel arguments
  tradeops.platform.kernel_args:
    owner: engine_tuning
    args: "{{ engine_tuning_render.kernel_args }}"
    owned_keys: "{{ engine_tuning_render.kernel_arg_keys }}"
  register: __engine_tuning_kargs

- name: Remove every argument the owner ever set
  tradeops.platform.kernel_args:
    owner: engine_tuning
    owned_keys: [isolcpus, nohz_full, rcu_nocbs, irqaffinity]
    state: absent

- name: Debian host without drop-in support, edit /etc/default/grub itself
  tradeops.platform.kernel_args:
    args: [nosoftlockup, skew_tick=1]
    backend: grub
    grub_dropin: false
"""

RETURN = r"""
backend:
  description: The backend used.
  returned: always
  type: str
  sample: grub
args:
  description: The wanted arguments (empty for O(state=absent)).
  returned: always
  type: list
  elements: str
owned_keys:
  description: Every key owned (O(owned_keys) plus the keys of O(args)), sorted.
  returned: always
  type: list
  elements: str
files:
  description: Files written (or, in check mode, that would be) and removed.
  returned: always
  type: list
  elements: str
bootloader_updated:
  description: Whether the bootloader configuration was regenerated (C(update-grub), grubby).
  returned: always
  type: bool
bootloader_current:
  description: >-
    Whether the generated bootloader configuration carries the arguments (null when it
    cannot be read, e.g. no grub.cfg in a container).
  returned: always
  type: bool
running:
  description: The running kernel's command line, as tokens.
  returned: always
  type: list
  elements: str
missing:
  description: Wanted arguments the running kernel was not booted with.
  returned: always
  type: list
  elements: str
stale:
  description: Owned arguments the running kernel was booted with that are no longer wanted.
  returned: always
  type: list
  elements: str
reboot_required:
  description: The running command line's owned arguments differ from the wanted ones.
  returned: always
  type: bool
"""

import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils import (  # noqa: E402
    kernel_args as ka,
)


def _dropin_name(owner):
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in owner)
    return f"99-{safe}-kernel-args.cfg"


def _grub_cfg(path):
    if path:
        return path
    for candidate in ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"):
        if os.path.exists(candidate):
            return candidate
    return "/boot/grub/grub.cfg"


def _file_diffs(changes):
    return [
        {
            "before_header": c["path"],
            "after_header": c["path"],
            "before": c["before"] or "",
            "after": c["after"] or "",
        }
        for c in changes
    ]


def run_grub(module, desired, owned, result):
    p = module.params
    try:
        changes = ka.grub_plan(
            desired,
            owned,
            p["owner"],
            p["grub_defaults"],
            p["grub_dropin_dir"],
            _dropin_name(p["owner"]),
            dropin=p["grub_dropin"],
        )
    except ka.KernelArgsError as exc:
        module.fail_json(msg=str(exc), **result)
    result["files"] = [c["path"] for c in changes]
    result["diff"] = _file_diffs(changes)
    result["changed"] = bool(changes)
    cfg_path = _grub_cfg(p["grub_cfg"])
    cfg_tokens = ka.grub_cfg_tokens(ka.read(cfg_path))
    current = None if cfg_tokens is None else ka.in_effect(cfg_tokens, desired, owned)
    needs_update = bool(changes) or current is False
    if module.check_mode:
        result["bootloader_current"] = current if not changes else False
        return
    ka.apply_changes(changes)
    if needs_update and p["update_bootloader"]:
        update = module.get_bin_path("update-grub")
        if update:
            argv = [update]
        else:
            mkconfig = module.get_bin_path("grub-mkconfig") or module.get_bin_path("grub2-mkconfig")
            if not mkconfig:
                module.fail_json(
                    msg="neither update-grub nor grub-mkconfig found: install GRUB, or set "
                    "update_bootloader: false where no bootloader runs (containers)",
                    **result,
                )
            argv = [mkconfig, "-o", cfg_path]
        rc, out, err = module.run_command(argv)
        if rc != 0:
            module.fail_json(msg=f"{' '.join(argv)} failed (rc {rc})", stdout=out, stderr=err)
        result["bootloader_updated"] = True
        result["changed"] = True
        cfg_tokens = ka.grub_cfg_tokens(ka.read(cfg_path))
        current = None if cfg_tokens is None else ka.in_effect(cfg_tokens, desired, owned)
    elif needs_update:
        current = None if cfg_tokens is None else False
    result["bootloader_current"] = current


def _grubby_entries(module, grubby):
    rc, out, err = module.run_command([grubby, "--info=ALL"])
    if rc != 0:
        module.fail_json(msg=f"grubby --info=ALL failed (rc {rc})", stderr=err)
    return ka.parse_grubby_info(out)


def run_grubby(module, desired, owned, result):
    p = module.params
    grubby = module.get_bin_path("grubby", required=True)
    entries = _grubby_entries(module, grubby)
    todo = [e for e in entries if not ka.in_effect(e["args"], desired, owned)]
    changes = []
    if os.path.exists(p["grub_defaults"]):
        text = ka.read(p["grub_defaults"])
        after = ka.edit_defaults_text(text, desired, owned, append_var="GRUB_CMDLINE_LINUX")
        if after != text:
            changes.append({"path": p["grub_defaults"], "before": text, "after": after})
    result["files"] = [c["path"] for c in changes]
    diff = _file_diffs(changes)
    for entry in todo:
        header = f"{entry.get('kernel', entry['index'])} (grubby args)"
        diff.append(
            {
                "before_header": header,
                "after_header": header,
                "before": " ".join(entry["args"]) + "\n",
                "after": " ".join(ka.rewrite_tokens(entry["args"], desired, owned)) + "\n",
            }
        )
    result["diff"] = diff
    result["changed"] = bool(todo or changes)
    if module.check_mode:
        result["bootloader_current"] = not todo
        return
    ka.apply_changes(changes)
    if todo:
        remove = sorted({t for e in todo for t in ka.owned_tokens(e["args"], owned)})
        if remove:
            _grubby(module, grubby, "--remove-args=" + " ".join(remove))
        if desired:
            _grubby(module, grubby, "--args=" + " ".join(desired))
        result["bootloader_updated"] = True
        lost = [
            e
            for e in _grubby_entries(module, grubby)
            if not ka.in_effect(e["args"], desired, owned)
        ]
        if lost:
            module.fail_json(
                msg="grubby did not keep the arguments as written (it keeps one token per key; "
                "a profile with two hugepage sizes cannot be expressed through grubby): "
                + "; ".join(
                    f"{e.get('kernel', e['index'])}: {' '.join(ka.owned_tokens(e['args'], owned))}"
                    for e in lost
                ),
                **result,
            )
    result["bootloader_current"] = True


def _grubby(module, grubby, arg):
    argv = [grubby, "--update-kernel=ALL", arg]
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=f"{' '.join(argv)} failed (rc {rc})", stdout=out, stderr=err)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            args=dict(type="list", elements="str", default=[]),
            owned_keys=dict(type="list", elements="str", default=[], no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            owner=dict(type="str", default="tradeops"),
            backend=dict(type="str", choices=["auto", "grub", "grubby"], default="auto"),
            grub_dropin=dict(type="bool", default=True),
            grub_defaults=dict(type="path", default="/etc/default/grub"),
            grub_dropin_dir=dict(type="path", default="/etc/default/grub.d"),
            grub_cfg=dict(type="path"),
            update_bootloader=dict(type="bool", default=True),
            proc_cmdline=dict(type="path", default="/proc/cmdline"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    bad = [a for a in p["args"] if not a or any(c.isspace() for c in a)]
    if bad:
        module.fail_json(msg=f"args must be single tokens without whitespace: {bad!r}")
    desired = list(p["args"]) if p["state"] == "present" else []
    owned = ka.owned_set(p["owned_keys"], p["args"])
    backend = p["backend"]
    if backend == "auto":
        backend = "grubby" if module.get_bin_path("grubby") else "grub"
    result = {
        "changed": False,
        "backend": backend,
        "args": desired,
        "owned_keys": sorted(owned),
        "files": [],
        "bootloader_updated": False,
        "bootloader_current": None,
    }
    if backend == "grubby":
        run_grubby(module, desired, owned, result)
    else:
        run_grub(module, desired, owned, result)
    running = (ka.read(p["proc_cmdline"]) or "").split()
    missing, stale = ka.compare(running, desired, owned)
    result.update(
        running=running,
        missing=missing,
        stale=stale,
        reboot_required=not ka.in_effect(running, desired, owned),
    )
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

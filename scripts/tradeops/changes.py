"""What a run changed, or would change: the changed things of a run, from its events.

`ChangeCollector` is fed the ansible-runner events of a run (the same stream the progress
line reads) and turns them into `Change`s, one per thing: a resource of an AWS layer, a
file, a setting, a service of a host. Three sources, each the most precise one for its
kind of thing:

- the AWS layers' `tradeops.platform.aws_layer_state` call, made before a layer converges:
  its `differences` are sentences that name the resource, and often the current and the
  wanted value (`parse_sentence` splits them). The layer's own module tasks (which make
  or, in check mode, would make those changes) are the mechanics of those sentences and
  are kept as the layer's `actions`, not as more changes;
- engine_tuning's verify report (`engine_tuning_verify_report`): every check whose status
  is `drift` is a setting, with the desired and the actual value;
- every other changed task result: its `--diff` (file contents, file attributes, ...), or
  for results without one what the module says (a service's state, a package).

Handlers (restarts a change would trigger) are noted per host, not counted.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from . import paths

AWS_LAYER_STATE = ("tradeops.platform.aws_layer_state", "aws_layer_state")
TUNING_REPORT_FACT = "engine_tuning_verify_report"
TUNING_METRICS_FILE = "tradeops_tuning.prom"
# engine_tuning's preflight fact: the host is a container, whose kernel is the machine's
# under it, so only the checks of its own network interfaces are judged there (as
# plugins/module_utils/tuning_metrics.py: check_scope, via own_interface_check below).
CONTAINER_FACT = "__engine_tuning_is_container"
# A file diff shown in full up to this many lines (the JSON always has all of it).
DIFF_LINES = 12
VALUE_CHARS = 200


@dataclass
class Change:
    """One thing that changed (a run) or would change (a plan)."""

    scope: str  # "aws" (an AWS layer), "host", or "controller" (localhost)
    target: str  # the layer ("network") or the host ("engine-c5n-2")
    kind: str  # resource, tuning, file, service, package, setting, task
    what: str  # e.g. "security group lab-engines", "/etc/sysctl.d/90-tradeops.conf"
    attribute: str | None = None  # e.g. "rules", "channels.rx"
    current: Any = None
    wanted: Any = None
    detail: str = ""  # the sentence, or the diff
    task: str = ""
    role: str = ""
    notes: list[str] = field(default_factory=list)

    def key(self) -> tuple[str, str, str, str]:
        return (self.scope, self.target, self.what, self.attribute or "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def layer_of(host: str) -> str | None:
    """aws-network -> network: the pseudo-hosts of playbooks/aws/site.yml."""
    return host[4:] if host.startswith("aws-") else None


# ---------------------------------------------------------------------------- AWS sentences

_RULE_LISTS = re.compile(r"^rules to add (?P<add>\[.*\]), to remove (?P<remove>\[.*\])$")
_TAGS = re.compile(r"^tags differ \(to set (?P<set>\{.*\}), to remove (?P<remove>\[.*\])\)$")
_IS_WANT = re.compile(r"^(?P<attr>.+?) is (?P<current>.+), want (?P<wanted>.+)$")
_WANT = re.compile(r"^(?P<current>.+), want (?P<wanted>.+)$")
_NOT_EQUAL = re.compile(r"^(?P<attr>\S+) (?P<current>.+) != (?P<wanted>.+)$")
_DIFFERS = re.compile(r"^(?P<attr>.+?) differs?(?: \((?P<current>.*)\))?$")
_NOT = re.compile(r"^(?P<attr>.+?) is not (?P<wanted>.+)$")
_MISSING = re.compile(r"^(?P<what>.+?) (?:does not exist|is missing)$")
_STATUS = re.compile(r"^(?P<what>.+?) is (?P<current>[A-Za-z_-]+)$")


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def describe_rule(rule: Any) -> str:
    """('ingress', 'tcp', 22, 22, 'cidr:198.18.0.0/24', 'ssh') -> readable text."""
    if not isinstance(rule, list | tuple) or len(rule) < 5:
        return str(rule)
    direction, proto, low, high, peer = rule[:5]
    description = rule[5] if len(rule) > 5 else None
    ports = "all" if proto == "-1" else (f"{low}" if low == high else f"{low}-{high}")
    proto = "all traffic" if proto == "-1" else f"{proto} {ports}"
    kind, _sep, name = str(peer).partition(":")
    where = {"cidr": name, "cidr6": name, "sg": f"group {name}"}.get(kind, str(peer))
    word = "from" if direction == "ingress" else "to"
    text = f"{direction} {proto} {word} {where}"
    return text + (f" ({description})" if description else "")


def parse_sentence(sentence: str) -> dict[str, Any]:
    """Split one aws_layer_state difference into what / attribute / current / wanted.

    The sentences come from plugins/module_utils/aws_state.py; a sentence of a shape this
    does not know keeps its words in `detail` (and `what` up to its first colon)."""
    text = sentence.strip()
    out: dict[str, Any] = {"what": text, "attribute": None, "current": None, "wanted": None}
    if (match := _MISSING.match(text)) and ":" not in match["what"]:
        out.update(what=match["what"], current="absent", wanted="present")
        return out
    head, sep, rest = text.partition(": ")
    if not sep:
        if match := _STATUS.match(text):
            out.update(what=match["what"], attribute="status", current=match["current"])
        return out
    out["what"] = head
    if match := _RULE_LISTS.match(rest):
        add = _literal(match["add"])
        remove = _literal(match["remove"])
        out.update(
            attribute="rules",
            current=[describe_rule(r) for r in remove] if isinstance(remove, list) else remove,
            wanted=[describe_rule(r) for r in add] if isinstance(add, list) else add,
        )
        out["rules_to_add"] = out["wanted"]
        out["rules_to_remove"] = out["current"]
        # current: the rules there that should not be; wanted: the rules missing.
        return out
    if match := _TAGS.match(rest):
        out.update(attribute="tags", current=match["remove"], wanted=match["set"])
        return out
    for pattern in (_IS_WANT, _NOT_EQUAL):
        if match := pattern.match(rest):
            out.update(attribute=match["attr"], current=match["current"], wanted=match["wanted"])
            return out
    if match := _WANT.match(rest):
        out.update(current=match["current"], wanted=match["wanted"])
        return out
    if match := _NOT.match(rest):
        out.update(attribute=match["attr"], wanted=match["wanted"])
        return out
    if match := _DIFFERS.match(rest):
        out.update(attribute=match["attr"], current=match["current"])
        return out
    out["attribute"] = rest
    return out


def aws_change(layer: str, sentence: str, task: str = "", role: str = "") -> Change:
    parts = parse_sentence(sentence)
    return Change(
        scope="aws",
        target=layer,
        kind="resource",
        what=parts["what"],
        attribute=parts["attribute"],
        current=parts["current"],
        wanted=parts["wanted"],
        detail=sentence,
        task=task,
        role=role,
    )


# ---------------------------------------------------------------------------- host results


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > VALUE_CHARS:
        return value[:VALUE_CHARS] + "..."
    return value


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()
    return str(value).splitlines()


def diff_text(before: Any, after: Any, before_header: str = "", after_header: str = "") -> str:
    return "\n".join(
        difflib.unified_diff(
            _lines(before),
            _lines(after),
            fromfile=before_header or "current",
            tofile=after_header or "wanted",
            lineterm="",
            n=1,
        )
    )


def _changed_lines(before: Any, after: Any) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(_lines(before), _lines(after)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def _dict_changes(before: dict, after: dict) -> tuple[dict, dict]:
    keys = sorted(set(before) | set(after))
    current = {k: before.get(k) for k in keys if before.get(k) != after.get(k)}
    wanted = {k: after.get(k) for k in keys if before.get(k) != after.get(k)}
    return current, wanted


def changes_from_diff(
    host: str, diffs: Any, task: str, role: str, fallback: str, scope: str = "host"
) -> list[Change]:
    """One change per --diff entry of a result (a file's content, its attributes)."""
    out: list[Change] = []
    for diff in diffs if isinstance(diffs, list) else [diffs]:
        if not isinstance(diff, dict):
            continue
        if "prepared" in diff and "before" not in diff:
            text = str(diff["prepared"])
            out.append(Change(scope, host, "setting", fallback, detail=text, task=task, role=role))
            continue
        before, after = diff.get("before"), diff.get("after")
        what = diff.get("after_header") or diff.get("before_header") or fallback
        if isinstance(before, dict) and isinstance(after, dict):
            what = str(after.get("path") or before.get("path") or what)
            current, wanted = _dict_changes(before, after)
            if not current and not wanted:
                continue
            kind = "file" if str(what).startswith("/") else "setting"
            out.append(
                Change(
                    scope,
                    host,
                    kind,
                    str(what),
                    attribute=", ".join(sorted(set(current) | set(wanted))) or None,
                    current=current,
                    wanted=wanted,
                    detail=diff_text(before, after, "current", "wanted"),
                    task=task,
                    role=role,
                )
            )
            continue
        if before == after:
            continue
        removed, added = _changed_lines(before, after)
        kind = "file" if str(what).startswith("/") else "setting"
        text = diff_text(before, after, f"{what} (current)", f"{what} (wanted)")
        out.append(
            Change(
                scope,
                host,
                kind,
                str(what),
                attribute="content",
                current="absent" if before in (None, "") else _short("\n".join(removed)),
                wanted="absent" if after in (None, "") else _short("\n".join(added)),
                detail=text,
                task=task,
                role=role,
            )
        )
    return out


SERVICE_ACTIONS = ("systemd", "systemd_service", "service", "sysvinit")
PACKAGE_ACTIONS = ("apt", "package", "dnf", "yum", "pip")


def _short_action(action: str) -> str:
    return action.rsplit(".", 1)[-1]


def change_from_result(host: str, data: dict[str, Any], scope: str = "host") -> list[Change]:
    """The changes of one changed result that has no (usable) --diff."""
    res = data.get("res") or {}
    task = str(data.get("task") or "")
    role = str(data.get("role") or "")
    action = _short_action(str(data.get("resolved_action") or data.get("task_action") or ""))
    args = (res.get("invocation") or {}).get("module_args") or data.get("task_args") or {}
    if not isinstance(args, dict):
        args = {}
    if action in SERVICE_ACTIONS:
        name = res.get("name") or args.get("name") or task
        status = res.get("status") or {}
        current = {
            "state": status.get("ActiveState") or res.get("state"),
            "enabled": status.get("UnitFileState"),
        }
        wanted = {"state": args.get("state"), "enabled": args.get("enabled")}
        current = {k: v for k, v in current.items() if wanted.get(k) is not None}
        wanted = {k: v for k, v in wanted.items() if v is not None}
        return [
            Change(scope, host, "service", f"service {name}", current=current or None,
                   wanted=wanted or None, detail=task, task=task, role=role)
        ]  # fmt: skip
    if action in PACKAGE_ACTIONS:
        name = args.get("name") or args.get("pkg") or task
        return [
            Change(scope, host, "package", f"package {name}", current=None,
                   wanted=args.get("state") or "present", detail=task, task=task, role=role)
        ]  # fmt: skip
    msg = res.get("msg")
    if action == "debug" and isinstance(msg, dict) and "file" in msg:
        what = str(msg.get("file"))
        removed, added = msg.get("removed"), msg.get("added")
        return [
            Change(scope, host, "file", what, attribute="lines", current=removed, wanted=added,
                   detail=task, task=task, role=role)
        ]  # fmt: skip
    what = str(res.get("path") or res.get("dest") or args.get("path") or args.get("dest") or task)
    detail = msg if isinstance(msg, str) else (str(msg) if msg else task)
    kind = "file" if what.startswith("/") else "task"
    return [Change(scope, host, kind, what, detail=_short(detail), task=task, role=role)]


def _tuning_metrics():
    """engine_tuning's metrics module (plugins/module_utils/tuning_metrics.py): the one
    definition of a verify check's label and scope, so that the plan and TuningDrift name
    checks alike. The CLI runs from the checkout, whose collections/ holds the collection."""
    collections = str(paths.project_root() / "collections")
    if collections not in sys.path:
        sys.path.append(collections)
    from ansible_collections.tradeops.platform.plugins.module_utils import tuning_metrics

    return tuning_metrics


def check_label(check: dict[str, Any]) -> str:
    """The `check` label of a verify check, as engine_tuning's metrics name it."""
    return _tuning_metrics().check_label(check) if str(check.get("name") or "").strip() else ""


def own_interface_check(check: dict[str, Any]) -> bool:
    """A check of the host's own network interfaces (judged in a container too)."""
    metrics = _tuning_metrics()
    return metrics.check_scope(check) == metrics.NETNS


def tuning_changes(
    host: str, report: dict[str, Any], task: str, role: str, container: bool = False
) -> list[Change]:
    """engine_tuning's verify report: one change per judged check in drift."""
    out = []
    for check in report.get("checks") or []:
        if check.get("status") != "drift":
            continue
        if container and not own_interface_check(check):
            continue  # the machine's kernel, not this host's: not judged (docs/monitoring.md)
        out.append(
            Change(
                "host",
                host,
                "tuning",
                f"tuning check {check_label(check)}",
                attribute=check.get("path") or None,
                current=check.get("actual"),
                wanted=check.get("desired"),
                detail=str(check.get("message") or ""),
                task=task,
                role=role,
            )
        )
    return out


# ---------------------------------------------------------------------------- the collector


@dataclass
class LayerState:
    differences: list[str] = field(default_factory=list)
    seen: bool = False
    actions: list[str] = field(default_factory=list)
    task: str = ""
    role: str = ""


class ChangeCollector:
    """Feed it every event of a run; `changes()` gives what changed (or would)."""

    def __init__(self, check: bool = False) -> None:
        # In check mode a tuning check in drift is a setting the run would change; in a
        # real run it is what the run did not fix (the verify fails), not a change.
        self.check = check
        self.layers: dict[str, LayerState] = {}
        self.host_changes: list[Change] = []
        self.tuning: dict[str, dict[str, Any]] = {}
        self.handlers: dict[str, list[str]] = {}
        self.aws_caller: dict[str, Any] | None = None
        self.hosts: set[str] = set()
        self.containers: set[str] = set()
        self._handler_tasks: set[str] = set()

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_handler_task_start":
            self._handler_tasks.add(str(data.get("task_uuid") or data.get("uuid") or ""))
            return
        if kind not in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            return
        host = str(data.get("host") or "")
        if not host:
            return
        self.hosts.add(host)
        if kind != "runner_on_ok":
            return
        res = data.get("res") or {}
        action = str(data.get("resolved_action") or data.get("task_action") or "")
        layer = layer_of(host)
        if action in AWS_LAYER_STATE and layer:
            state = self.layers.setdefault(layer, LayerState())
            if not state.seen:
                state.seen = True
                state.differences = [str(d) for d in res.get("differences") or []]
                state.task = str(data.get("task") or "")
                state.role = str(data.get("role") or "")
            return
        if _short_action(action) == "aws_caller_info" and res.get("arn"):
            self.aws_caller = {k: res.get(k) for k in ("account", "arn", "user_id")}
        facts = res.get("ansible_facts") or {}
        if CONTAINER_FACT in facts and str(facts[CONTAINER_FACT]).lower() == "true":
            self.containers.add(host)
        if isinstance(facts.get(TUNING_REPORT_FACT), dict):
            report = facts[TUNING_REPORT_FACT]
            self.tuning[host] = report
            if self.check:
                task, role = str(data.get("task") or ""), str(data.get("role") or "")
                container = host in self.containers
                self.host_changes += tuning_changes(host, report, task, role, container)
        if not res.get("changed"):
            return
        task = str(data.get("task") or "")
        if str(data.get("task_uuid") or "") in self._handler_tasks:
            self.handlers.setdefault(host, []).append(task)
            return
        if layer:
            self.layers.setdefault(layer, LayerState()).actions.append(task)
            return
        scope = "controller" if host in ("localhost", "127.0.0.1") else "host"
        self.host_changes += self._result_changes(host, data, res, scope)

    def _result_changes(
        self, host: str, data: dict[str, Any], res: dict[str, Any], scope: str
    ) -> list[Change]:
        task = str(data.get("task") or "")
        role = str(data.get("role") or "")
        results = res.get("results") if isinstance(res.get("results"), list) else None
        items = (
            [r for r in results if isinstance(r, dict) and r.get("changed")] if results else [res]
        )
        out: list[Change] = []
        for item in items:
            label = task
            if results is not None:
                loop_label = item.get("_ansible_item_label", item.get("item"))
                label = f"{task} ({_short(str(loop_label))})"
            found = []
            if item.get("diff"):
                found = changes_from_diff(host, item["diff"], task, role, label, scope)
            if not found:
                found = change_from_result(host, dict(data, res=item, task=label), scope)
            out += found
        return out

    def changes(self) -> list[Change]:
        out: list[Change] = []
        for layer in sorted(self.layers):
            state = self.layers[layer]
            if state.differences:
                for sentence in dict.fromkeys(state.differences):
                    change = aws_change(layer, sentence, state.task, state.role)
                    if state.actions:
                        change.notes.append("tasks: " + ", ".join(dict.fromkeys(state.actions)))
                    out.append(change)
            else:
                # A layer task that changed although its state call saw no difference.
                for task in dict.fromkeys(state.actions):
                    out.append(Change("aws", layer, "task", task, task=task, role=state.role))
        seen: dict[tuple, Change] = {}
        for change in self.host_changes:
            seen.setdefault(change.key(), change)
        host_changes = list(seen.values())
        # engine_tuning's metrics file follows its verify report: fold it into the drift.
        drifted = {c.target for c in host_changes if c.kind == "tuning"}
        kept = []
        for change in host_changes:
            if change.what.endswith(TUNING_METRICS_FILE) and change.target in drifted:
                for other in host_changes:
                    if other.kind == "tuning" and other.target == change.target:
                        other.notes.append(f"{change.what} would say so (TuningDrift)")
                continue
            kept.append(change)
        for host, handlers in self.handlers.items():
            for change in kept:
                if change.target == host:
                    change.notes.append("then: " + ", ".join(dict.fromkeys(handlers)))
                    break
        order = {"controller": 0, "aws": 1, "host": 2}
        return out + sorted(kept, key=lambda c: (order.get(c.scope, 3), c.target))


def summarize(changes: list[Change]) -> dict[str, Any]:
    """Counts for a headline: changes, AWS layers, hosts."""
    layers = sorted({c.target for c in changes if c.scope == "aws"})
    hosts = sorted({c.target for c in changes if c.scope != "aws"})
    return {"changes": len(changes), "aws_layers": layers, "hosts": hosts}

"""Checks the schema cannot express: references between sections, unique names,
known event types and CEL expressions that compile.

Every check reads the document defensively, so it also runs on documents that broke
the schema and all problems are reported together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ledgerbridge import errors
from ledgerbridge.blueprints import _cel, _problems, _yaml
from ledgerbridge.model import EVENT_TYPES

__all__ = ["OBJECT_TYPES", "Checked", "check"]

#: object types, the part of an event type before the dot
OBJECT_TYPES = frozenset(event.split(".")[0] for event in EVENT_TYPES)


@dataclass(slots=True)
class Checked:
    """What the checks found: problems, and each compiled CEL expression by its path."""

    problems: list[_problems.Problem] = field(default_factory=list)
    expressions: dict[_problems.Path, _cel.Expression] = field(default_factory=dict)


def check(data: dict[str, Any], positions: _yaml.Positions, *, source: str) -> Checked:
    """Check the references, names and expressions of a document."""
    checker = _Checker(data, positions, source)
    checker.run()
    return checker.result


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _keys(section: Any) -> set[Any] | None:
    if section is None:
        return set()
    return set(section) if isinstance(section, dict) else None


def _names(section: Any) -> set[str] | None:
    if section is None:
        return set()
    if not isinstance(section, list):
        return None
    # a name that is not text is reported by the schema; it cannot be referred to
    return {n for _, item in _items(section) if isinstance(n := item.get("name"), str)}


class _Checker:
    def __init__(self, data: dict[str, Any], positions: _yaml.Positions, source: str) -> None:
        self.data = data
        self.positions = positions
        self.source = source
        self.result = Checked()
        # a section of the wrong type is reported by the schema; references into it are not
        self.connections = _keys(data.get("connections"))
        self.mappings = _keys(data.get("mappings"))
        self.lookups = _keys(data.get("lookups"))
        self.rules = _names(data.get("data_quality"))
        self.approvals = _names(data.get("approvals"))

    def add(
        self, path: _problems.Path, message: str, hint: str | None = None, *, line_offset: int = 0
    ) -> None:
        line, column = self.positions.locate(path)
        self.result.problems.append(
            _problems.Problem(
                source=self.source,
                line=line + line_offset if line else line,
                column=column,
                path=_problems.dotted(path),
                message=message,
                hint=hint,
            )
        )

    def run(self) -> None:
        self.unique_names("flows", "flow")
        self.unique_names("data_quality", "data-quality rule")
        self.unique_names("approvals", "approval")
        self.system_of_record()
        self.mapping_fields()
        for index, rule in _items(self.data.get("data_quality")):
            self.expression(("data_quality", index, "rule"), rule.get("rule"))
            self.object_type(("data_quality", index, "applies_to"), rule.get("applies_to"))
        for index, approval in _items(self.data.get("approvals")):
            self.expression(("approvals", index, "when"), approval.get("when"))
        for index, flow in _items(self.data.get("flows")):
            self.flow(("flows", index), flow)

    def unique_names(self, section: str, what: str) -> None:
        seen: dict[Any, int] = {}
        for index, item in _items(self.data.get(section)):
            self._unique(seen, (section, index), item, what)

    def _unique(
        self, seen: dict[Any, int], path: _problems.Path, item: dict[str, Any], what: str
    ) -> None:
        name = item.get("name")
        if not isinstance(name, str):
            return
        if name in seen:
            first = self.positions.locate((*path[:-1], seen[name], "name"))[0]
            self.add(
                (*path, "name"), f"duplicate {what} name {name!r} (first used on line {first})"
            )
        else:
            seen[name] = int(path[-1])

    def system_of_record(self) -> None:
        roles = {
            c.get("role")
            for c in _mapping(self.data.get("connections")).values()
            if isinstance(c, dict)
        }
        owners = (self.connections or set()) | {r for r in roles if isinstance(r, str)}
        for object_type, owner in _mapping(self.data.get("system_of_record")).items():
            self.object_type(("system_of_record", object_type), object_type)
            if isinstance(owner, str) and owner not in owners:
                hint = _problems.did_you_mean(owner, owners) or "declare it under connections"
                self.add(("system_of_record", object_type), f"unknown connection {owner!r}", hint)

    def object_type(self, path: _problems.Path, value: Any) -> None:
        if isinstance(value, str) and value not in OBJECT_TYPES:
            hint = _problems.did_you_mean(value, OBJECT_TYPES) or "known: " + ", ".join(
                sorted(OBJECT_TYPES)
            )
            self.add(path, f"unknown object type {value!r}", hint)

    def mapping_fields(self) -> None:
        for name, mapping in _mapping(self.data.get("mappings")).items():
            for target, spec in _mapping(_mapping(mapping).get("fields")).items():
                if not isinstance(spec, dict):
                    continue
                path = ("mappings", name, "fields", target)
                self.expression((*path, "expr"), spec.get("expr"))
                self.reference((*path, "lookup"), spec.get("lookup"), self.lookups, "lookup")

    def reference(self, path: _problems.Path, name: Any, known: set[Any] | None, what: str) -> None:
        if known is None or not isinstance(name, str) or name in known:
            return
        names = [k for k in known if isinstance(k, str)]
        hint = _problems.did_you_mean(name, names) or (
            f"declared: {', '.join(sorted(names))}" if names else f"no {what} is declared"
        )
        self.add(path, f"unknown {what} {name!r}", hint)

    def expression(self, path: _problems.Path, source: Any) -> None:
        if not isinstance(source, str) or not source.strip():
            return
        try:
            self.result.expressions[path] = _cel.compile_expression(source)
        except errors.ConfigError as exc:
            offset = 0
            if exc.field:
                offset = int(exc.field.split(":")[0]) - (
                    0 if path in self.positions.literal_blocks else 1
                )
            self.add(path, exc.message, exc.hint, line_offset=offset)

    def flow(self, path: _problems.Path, flow: dict[str, Any]) -> None:
        trigger = flow.get("trigger")
        if isinstance(trigger, dict):
            event = trigger.get("event")
            if isinstance(event, str) and event not in EVENT_TYPES:
                hint = _problems.did_you_mean(event, EVENT_TYPES) or "known events: " + ", ".join(
                    sorted(EVENT_TYPES)
                )
                self.add((*path, "trigger", "event"), f"unknown event type {event!r}", hint)
            self.expression((*path, "trigger", "when"), trigger.get("when"))
        self.flow_modes(path, flow)
        quality = flow.get("quality")
        for index, rule in enumerate(quality if isinstance(quality, list) else ()):
            self.reference((*path, "quality", index), rule, self.rules, "data-quality rule")
        self.reference((*path, "approval"), flow.get("approval"), self.approvals, "approval")
        seen: dict[Any, int] = {}
        for index, step in _items(flow.get("steps")):
            step_path = (*path, "steps", index)
            self._unique(seen, step_path, step, "step")
            self.reference(
                (*step_path, "connection"), step.get("connection"), self.connections, "connection"
            )
            self.reference((*step_path, "map"), step.get("map"), self.mappings, "mapping")

    def flow_modes(self, path: _problems.Path, flow: dict[str, Any]) -> None:
        allowed = flow.get("modes_allowed")
        mode = flow.get("mode", "realtime")
        kind = "batch" if isinstance(mode, dict) else mode
        if isinstance(allowed, list) and isinstance(kind, str) and kind not in allowed:
            message = f"mode {kind!r} is not in modes_allowed ({', '.join(map(str, allowed))})"
            self.add((*path, "modes_allowed"), message)

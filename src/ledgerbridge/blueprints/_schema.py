"""Validate a document against ``blueprint.schema.json`` and word each error for people."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import jsonschema

from ledgerbridge.blueprints import _problems, _yaml

__all__ = ["check", "schema"]

_NAME_HINT = "use lowercase letters, digits and _, starting with a letter"
_PATTERN_HINTS = {
    "^[a-z][a-z0-9_]*$": _NAME_HINT,
    "^[a-z0-9-]+$": "use lowercase letters, digits and -",
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": 'write the time as "HH:MM" (24-hour clock), quoted',
    "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$": "use a dotted lowercase name such as erp.post_time",
}
_LABELS = {"blueprint": "blueprint name", "at": "time of day", "kind": "step kind"}
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


@functools.cache
def schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a blueprint document."""
    text = resources.files("ledgerbridge.blueprints").joinpath("blueprint.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def check(data: Any, positions: _yaml.Positions, *, source: str) -> list[_problems.Problem]:
    """Return one problem for each way ``data`` breaks the schema."""
    words = _Words(positions, source)
    found: list[_problems.Problem] = []
    for error in _validator().iter_errors(data):
        found.extend(words.translate(error))
    return found


def kind_of(value: Any) -> str:
    """Name the YAML kind of ``value`` for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, str):
        return "a string"
    return "a number"


class _Words:
    def __init__(self, positions: _yaml.Positions, source: str) -> None:
        self.positions = positions
        self.source = source
        self._by_keyword: dict[str, Callable[[Any], Iterator[_problems.Problem]]] = {
            "additionalProperties": self._unknown_keys,
            "required": self._required,
            "oneOf": self._one_of,
            "anyOf": self._one_of,
        }

    def problem(
        self, path: _problems.Path, message: str, hint: str | None = None, *, at_key: bool = False
    ) -> _problems.Problem:
        line, column = self.positions.locate(path, at_key=at_key)
        return _problems.Problem(
            source=self.source,
            line=line,
            column=column,
            path=_problems.dotted(path),
            message=message,
            hint=hint,
        )

    def translate(self, error: Any) -> Iterator[_problems.Problem]:
        handler = self._by_keyword.get(error.validator)
        if handler is not None:
            yield from handler(error)
            return
        path = tuple(error.absolute_path)
        if "propertyNames" in error.relative_schema_path:
            name = error.instance
            yield self.problem(
                (*path, name), f"{name!r} is not a valid name", _NAME_HINT, at_key=True
            )
            return
        message, hint = self._simple(error)
        is_collection = isinstance(error.instance, dict | list)
        yield self.problem(path, message, hint, at_key=is_collection)

    def _simple(self, error: Any) -> tuple[str, str | None]:
        keyword, expected, value = error.validator, error.validator_value, error.instance
        if keyword == "type":
            return f"expected {_TYPE_WORDS.get(expected, expected)}, got {kind_of(value)}", None
        if keyword == "pattern":
            last = error.absolute_path[-1] if error.absolute_path else ""
            label = _LABELS.get(str(last), "name" if isinstance(last, int) else str(last))
            return f"invalid {label} {value!r}", _PATTERN_HINTS.get(expected, f"match {expected}")
        if keyword == "enum":
            choices = ", ".join(str(c) for c in expected)
            hint = _problems.did_you_mean(str(value), [str(c) for c in expected])
            return f"{value!r} is not one of {choices}", hint
        if keyword == "minimum":
            return f"must be at least {expected}, got {value}", None
        if keyword in ("minItems", "minProperties", "minLength"):
            return "must not be empty", None
        if keyword == "uniqueItems":
            return "lists the same item twice", None
        if keyword == "dependentRequired":
            return error.message.replace("dependency", "key"), None
        return error.message, None

    def _unknown_keys(self, error: Any) -> Iterator[_problems.Problem]:
        path = tuple(error.absolute_path)
        allowed = sorted(error.schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            hint = _problems.did_you_mean(key, allowed) or "allowed keys: " + ", ".join(allowed)
            yield self.problem((*path, key), f"unknown key {key!r}", hint, at_key=True)

    def _required(self, error: Any) -> Iterator[_problems.Problem]:
        path = tuple(error.absolute_path)
        for key in error.validator_value:
            if key not in error.instance:
                where = f" in {_problems.dotted(path)}" if path else ""
                yield self.problem(path, f"missing required key {key!r}{where}", at_key=True)

    def _one_of(self, error: Any) -> Iterator[_problems.Problem]:
        """Report the errors of the one branch that fits the value's type, if there is one."""
        path = tuple(error.absolute_path)
        branches: dict[int, list[Any]] = {}
        for sub in error.context or ():
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [
            subs
            for subs in branches.values()
            if not any(s.validator == "type" and not s.relative_path for s in subs)
        ]
        if len(fitting) == 1 and isinstance(error.instance, dict):
            for sub in fitting[0]:
                yield from self.translate(sub)
            return
        message = error.schema.get("x-message", "does not match any allowed form")
        yield self.problem(path, message, at_key=isinstance(error.instance, dict | list))

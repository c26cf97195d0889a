"""Mappings: turn an activation (record, event, context) into the fields a step sends."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledgerbridge import errors
from ledgerbridge.blueprints import _cel

__all__ = ["MISSING", "FieldSpec", "MappingSpec", "plain", "resolve"]

#: returned by :func:`resolve` when a path does not exist
MISSING: Any = object()
#: the key of a lookup table's fallback entry
DEFAULT_KEY = "_default"


@dataclass(frozen=True, kw_only=True, slots=True)
class FieldSpec:
    """How one output field is computed: exactly one of path, lookup, expr or value."""

    target: str
    path: str | None = None
    lookup: str | None = None
    key: str | None = None
    expr: _cel.Expression | None = None
    value: Any = None
    default: Any = None
    has_default: bool = False

    def compute(
        self, activation: Mapping[str, Any], lookups: Mapping[str, Mapping[str, Any]]
    ) -> Any:
        """Return the field's value for ``activation``.

        Args:
            activation: ``{"record": ..., "event": ..., "context": ...}``.
            lookups: the blueprint's lookup tables.

        Returns:
            The value, with floats turned into Decimals.

        Raises:
            RecordError: the source is missing and there is no default.
        """
        if self.expr is not None:
            try:
                return plain(self.expr.evaluate(activation))
            except errors.RecordError:
                if self.has_default:
                    return plain(self.default)
                raise
        if self.lookup is not None and self.key is not None:
            return plain(self._lookup(activation, lookups[self.lookup]))
        if self.path is not None:
            return plain(self._path(activation, self.path))
        return plain(self.value)

    def _path(self, activation: Mapping[str, Any], path: str) -> Any:
        found = resolve(activation, path)
        if (found is MISSING or found is None) and self.has_default:
            return self.default
        if found is MISSING:
            message = f"field {self.target!r} reads {path}, which the record does not have"
            raise errors.RecordError(
                message, field=path, hint="add a default: to the mapping field"
            )
        return found

    def _lookup(self, activation: Mapping[str, Any], table: Mapping[str, Any]) -> Any:
        assert self.key is not None
        found = resolve(activation, self.key)
        if found is not MISSING and found is not None:
            for candidate in (found, str(found)):
                if isinstance(candidate, str) and candidate in table:
                    return table[candidate]
        if self.has_default:
            return self.default
        if DEFAULT_KEY in table:
            return table[DEFAULT_KEY]
        shown = "nothing" if found is MISSING or found is None else repr(found)
        message = (
            f"field {self.target!r}: lookup {self.lookup!r} has no entry for {shown} ({self.key})"
        )
        raise errors.RecordError(message, field=self.key, hint=f"add {DEFAULT_KEY} to the table")


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingSpec:
    """A named mapping: an ordered tuple of output fields."""

    name: str
    fields: tuple[FieldSpec, ...]


def resolve(activation: Any, path: str) -> Any:
    """Follow a dotted ``path`` through mappings, lists and dataclasses.

    Returns:
        The value, or :data:`MISSING` when a part of the path does not exist.
    """
    current = activation
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part, MISSING)
        elif isinstance(current, list | tuple) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else MISSING
        elif dataclasses.is_dataclass(current) and not isinstance(current, type):
            names = {f.name for f in dataclasses.fields(current)}
            current = getattr(current, part) if part in names else MISSING
        else:
            return MISSING
        if current is MISSING:
            return MISSING
    return current


def plain(value: Any) -> Any:
    """Return a copy of ``value`` in which every float is a Decimal."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value

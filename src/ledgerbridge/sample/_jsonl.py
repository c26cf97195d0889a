"""Saving and loading operations as JSON Lines, one operation a line."""

from __future__ import annotations

import pathlib
from collections.abc import Iterable
from typing import Any

import msgspec

from ledgerbridge import errors
from ledgerbridge.sample import _generate

_KEYS = ("seq", "at", "op", "resource", "id", "fields")
_OPS = frozenset({"create", "update", "delete"})
_decoder = msgspec.json.Decoder()


def write_jsonl(
    dataset: _generate.SampleDataset | Iterable[dict[str, Any]], path: str | pathlib.Path
) -> int:
    """Write the operations of ``dataset`` (or any operations) to ``path``.

    Args:
        dataset: a generated sample, or an iterable of operations.
        path: the file to write; it is replaced.

    Returns:
        The number of operations written.
    """
    ops = dataset.ops if isinstance(dataset, _generate.SampleDataset) else dataset
    encoder = msgspec.json.Encoder()
    count = 0
    with pathlib.Path(path).open("wb") as out:
        for op in ops:
            out.write(encoder.encode(op))
            out.write(b"\n")
            count += 1
    return count


def read_jsonl(path: str | pathlib.Path) -> list[dict[str, Any]]:
    """Read operations written by :func:`write_jsonl`.

    Args:
        path: the file to read; blank lines are skipped.

    Returns:
        The operations in file order.

    Raises:
        RecordError: a line is not JSON or not an operation; the message names the line.
    """
    ops = []
    with pathlib.Path(path).open("rb") as source:
        for number, line in enumerate(source, start=1):
            if line.strip():
                ops.append(_parse(line, f"{path}:{number}"))
    return ops


def _parse(line: bytes, where: str) -> dict[str, Any]:
    try:
        op = _decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise errors.RecordError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(op, dict):
        raise errors.RecordError(f"{where}: expected an object, got {type(op).__name__}")
    for key in _KEYS:
        if key not in op:
            raise errors.RecordError(f"{where}: the operation has no {key!r}", field=key)
    if op["op"] not in _OPS:
        raise errors.RecordError(f"{where}: unknown op {op['op']!r}", field="op")
    if not isinstance(op["fields"], dict):
        raise errors.RecordError(f"{where}: 'fields' must be an object", field="fields")
    return op

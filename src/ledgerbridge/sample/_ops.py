"""Collects activity operations and puts them in time order with sequence numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Op = dict[str, Any]


class OpLog:
    """Operations in the order they are generated, stamped with a time in epoch seconds.

    Generation order breaks ties between operations at the same second, so a record is
    always created before it is updated.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[int, int, str, str, str, dict[str, Any]]] = []

    def add(self, at: int, op: str, resource: str, id_: str, fields: dict[str, Any]) -> None:
        """Record one operation at ``at`` (epoch seconds)."""
        self._rows.append((at, len(self._rows), op, resource, id_, fields))

    def __len__(self) -> int:
        return len(self._rows)

    def finish(self) -> list[Op]:
        """Return the operations sorted by time, with ``seq`` from 1 and ISO ``at``."""
        # (at, generation index) is unique, so the sort never compares the field dicts.
        self._rows.sort()
        stamps: dict[int, str] = {}
        ops: list[Op] = []
        for seq, (at, _, op, resource, id_, fields) in enumerate(self._rows, start=1):
            stamp = stamps.get(at)
            if stamp is None:
                stamp = (_EPOCH + dt.timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%SZ")
                stamps[at] = stamp
            ops.append(
                {
                    "seq": seq,
                    "at": stamp,
                    "op": op,
                    "resource": resource,
                    "id": id_,
                    "fields": fields,
                }
            )
        self._rows = []
        return ops


class Ids:
    """Sequential ids, as strings of digits, unique per resource."""

    _BASES = {
        "organizations": 1_000,
        "users": 20_000,
        "workspaces": 300_000,
        "stories": 4_000_000,
        "time_entries": 50_000_000,
        "expenses": 7_000_000,
    }

    def __init__(self) -> None:
        self._next = dict(self._BASES)

    def new(self, resource: str) -> str:
        """Return the next id of ``resource``."""
        value = self._next[resource] + 1
        self._next[resource] = value
        return str(value)


def by_hour(ops: list[Op]) -> Iterator[list[Op]]:
    """Group ops by hour, closing a group after each milestone completion.

    A replay lets the pipeline catch up after every group, as it would in real time, so a
    completed milestone is invoiced before anything that happens after it in the PSA.
    """
    group: list[Op] = []
    for op in ops:
        if group and str(op["at"])[:13] != str(group[-1]["at"])[:13]:
            yield group
            group = []
        group.append(op)
        if op["resource"] == "stories" and (op.get("fields") or {}).get("state") == "completed":
            yield group
            group = []
    if group:
        yield group

"""Composite-key filters that both databases answer from an index.

``(tenant_id, id) IN (VALUES …)`` reads naturally but SQLite plans it as a scan of the
whole table, so every batch query would cost time proportional to the queue. Grouping
the keys by their leading columns gives ``(tenant_id = ? AND id IN (…)) OR …``, which
SQLite searches with its multi-index OR plan and PostgreSQL with a bitmap OR.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa


def key_in(
    columns: Sequence[sa.ColumnElement[Any]], keys: Iterable[Sequence[Any]]
) -> sa.ColumnElement[bool]:
    """``tuple(columns) IN keys``, with the keys grouped by all but their last column."""
    *leading, last = columns
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for key in keys:
        groups.setdefault(tuple(key[:-1]), []).append(key[-1])
    clauses = [
        sa.and_(*(c == v for c, v in zip(leading, prefix, strict=True)), last.in_(values))
        for prefix, values in groups.items()
    ]
    if not clauses:
        return sa.false()
    return clauses[0] if len(clauses) == 1 else sa.or_(*clauses)

"""Cross-references read for a whole batch of runs in one query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store._keys import key_in
from ledgerbridge.store._tables import xrefs


def load_for_objects(
    conn: sa.Connection, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str, str], sa.Row[Any]]:
    """Fetch every system's xref of the given (tenant id, object type, canonical id) objects."""
    keys = list(set(keys))
    if not keys:
        return {}
    query = sa.select(xrefs).where(
        key_in((xrefs.c.tenant_id, xrefs.c.object_type, xrefs.c.canonical_id), keys)
    )
    return {(r.tenant_id, r.object_type, r.canonical_id, r.system): r for r in conn.execute(query)}

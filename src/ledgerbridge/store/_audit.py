"""The audit trail: append-only and hash-chained per tenant.

Each row's hash covers the previous row's hash and every stored column of the row, so
altering a row breaks its own hash, deleting one breaks the link of the next, and deleting
the newest is caught against the per-tenant head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledgerbridge.store import _upsert
from ledgerbridge.store._json import dumps_sorted
from ledgerbridge.store._tables import audit_heads, audit_log

GENESIS = "0" * 64


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditEntry:
    """One action to record."""

    tenant_id: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainReport:
    """Result of verifying one tenant's chain."""

    tenant_id: str
    rows: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str | None = None


def row_hash(
    prev_hash: str,
    *,
    tenant_id: str,
    seq: int,
    at: float,
    actor: str,
    action: str,
    subject: str,
    detail: str,
) -> str:
    """Hash of one audit row chained to ``prev_hash``."""
    body = dumps_sorted([tenant_id, seq, repr(float(at)), actor, action, subject, detail])
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def append(conn: sa.Connection, entries: list[AuditEntry]) -> None:
    """Append entries to their tenants' chains (in the caller's transaction)."""
    by_tenant: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        by_tenant.setdefault(entry.tenant_id, []).append(entry)
    for tenant_id in sorted(by_tenant):  # one lock order for every writer: no deadlocks
        _append_tenant(conn, tenant_id, by_tenant[tenant_id])


def _append_tenant(conn: sa.Connection, tenant_id: str, items: list[AuditEntry]) -> None:
    head_query = sa.select(audit_heads.c.seq, audit_heads.c.hash).where(
        audit_heads.c.tenant_id == tenant_id
    )
    if conn.dialect.name == "postgresql":
        _upsert.insert_ignore(
            conn, audit_heads, [{"tenant_id": tenant_id, "seq": 0, "hash": GENESIS}]
        )
        head_query = head_query.with_for_update()
    head = conn.execute(head_query).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    rows = []
    for item in items:
        seq += 1
        detail = dumps_sorted(item.detail)
        digest = row_hash(
            prev,
            tenant_id=tenant_id,
            seq=seq,
            at=item.at,
            actor=item.actor,
            action=item.action,
            subject=item.subject,
            detail=detail,
        )
        rows.append(
            {
                "tenant_id": tenant_id,
                "seq": seq,
                "at": item.at,
                "actor": item.actor,
                "action": item.action,
                "subject": item.subject,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    conn.execute(sa.insert(audit_log), rows)
    _upsert.upsert(
        conn,
        audit_heads,
        [{"tenant_id": tenant_id, "seq": seq, "hash": prev}],
        keys=["tenant_id"],
        update=["seq", "hash"],
    )


def verify(conn: sa.Connection, tenant_id: str) -> ChainReport:
    """Walk one tenant's chain and report the first altered, missing or extra row."""
    head = conn.execute(
        sa.select(audit_heads.c.seq, audit_heads.c.hash).where(audit_heads.c.tenant_id == tenant_id)
    ).first()
    expected_seq, prev, count = 0, GENESIS, 0
    for row in _rows(conn, tenant_id):
        count += 1
        expected_seq += 1
        if row.seq != expected_seq:
            return ChainReport(
                tenant_id=tenant_id,
                rows=count,
                ok=False,
                first_bad_seq=expected_seq,
                problem=f"row {expected_seq} is missing (next row is {row.seq})",
            )
        if row.prev_hash != prev:
            return ChainReport(
                tenant_id=tenant_id,
                rows=count,
                ok=False,
                first_bad_seq=row.seq,
                problem=f"row {row.seq} does not link to row {row.seq - 1}",
            )
        digest = row_hash(
            prev,
            tenant_id=tenant_id,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            detail=row.detail,
        )
        if digest != row.hash:
            return ChainReport(
                tenant_id=tenant_id,
                rows=count,
                ok=False,
                first_bad_seq=row.seq,
                problem=f"row {row.seq} was altered (its hash does not match its content)",
            )
        prev = digest
    head_seq = head.seq if head else 0
    if head_seq != expected_seq or (head and head.hash != prev):
        return ChainReport(
            tenant_id=tenant_id,
            rows=count,
            ok=False,
            first_bad_seq=expected_seq + 1,
            problem=f"rows after {expected_seq} are missing (the chain head is at {head_seq})",
        )
    return ChainReport(tenant_id=tenant_id, rows=count, ok=True)


def _rows(conn: sa.Connection, tenant_id: str) -> Iterator[Any]:
    query = (
        sa.select(audit_log)
        .where(audit_log.c.tenant_id == tenant_id)
        .order_by(audit_log.c.seq)
        .execution_options(yield_per=1000)
    )
    yield from conn.execute(query)


def tenants_with_audit(conn: sa.Connection) -> list[str]:
    """Return every tenant that has an audit chain."""
    return list(conn.scalars(sa.select(audit_heads.c.tenant_id).order_by(audit_heads.c.tenant_id)))


def list_entries(
    conn: sa.Connection, tenant_id: str, *, limit: int = 50, action: str | None = None
) -> list[sa.Row[Any]]:
    """Return the newest audit rows of a tenant."""
    query = (
        sa.select(audit_log)
        .where(audit_log.c.tenant_id == tenant_id)
        .order_by(audit_log.c.seq.desc())
        .limit(limit)
    )
    if action:
        query = query.where(audit_log.c.action == action)
    return list(conn.execute(query))

"""What a chaos run must prove for each tenant, read from both systems and the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledgerbridge import store
from ledgerbridge.chaos import _rig
from ledgerbridge.connectors.quickbooks import _mapping as qbo_mapping
from ledgerbridge.engine import Client
from ledgerbridge.operations import reconcile as reconcile_ops

__all__ = ["TenantVerdict", "count_duplicates", "verify_tenant"]

_OBJECT_TYPES = {"time_entries": "time_entry", "expenses": "expense"}
_CHARGES = (("TimeActivity", "Description"), ("Purchase", "PrivateNote"))
_PSA_WRITES = ("invoices", "external_payments")


@dataclass(kw_only=True)
class TenantVerdict:
    """The findings for one tenant; :attr:`problems` is empty when everything holds."""

    tenant_id: str
    runs: dict[str, int]
    duplicates: int = 0
    missing: int = 0
    amount_difference: Decimal = Decimal(0)
    differences: list[dict[str, Any]] = field(default_factory=list)
    unexplained_exceptions: list[str] = field(default_factory=list)
    unreported_problems: list[str] = field(default_factory=list)
    parked_without_exception: list[str] = field(default_factory=list)
    exceptions_without_reason: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    orphan_invoices: list[str] = field(default_factory=list)
    audit_ok: bool = True
    audit_problem: str | None = None

    @property
    def is_lossless(self) -> bool:
        """No charge lost or doubled and no money difference."""
        return not (
            self.duplicates or self.missing or self.amount_difference or self.orphan_invoices
        )

    @property
    def problems(self) -> list[str]:
        """Every finding that breaks a promise, in words."""
        found = [f"{d['kind']} {d['object_type']} {d['source_id']}" for d in self.differences]
        if self.amount_difference:
            found.append(f"ERP and PSA totals differ by {self.amount_difference}")
        if self.duplicates:
            found.append(f"{self.duplicates} duplicate write(s) found in the ERP or PSA")
        found += [f"exception not caused by the sample: {e}" for e in self.unexplained_exceptions]
        found += [
            f"seeded problem not in the exception queue: {p}" for p in self.unreported_problems
        ]
        found += [
            f"parked run without an open exception: {r}" for r in self.parked_without_exception
        ]
        found += [f"exception without a reason: {e}" for e in self.exceptions_without_reason]
        found += [f"stuck run: {s}" for s in self.stuck]
        found += [f"ERP invoice the store does not know: {o}" for o in self.orphan_invoices]
        if not self.audit_ok:
            found.append(f"audit chain broken: {self.audit_problem}")
        return found


def _erp_marker_counts(rig: _rig.TenantRig) -> Counter[str]:
    """Count ERP charges per PSA source id, read straight from the sandbox state."""
    counts: Counter[str] = Counter()
    for entity, note in _CHARGES:
        start = 1
        while True:
            statement = f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000"
            found = rig.erp.state.query(rig.realm, statement).get(entity, [])
            for raw in found:
                marker = qbo_mapping.parse_marker(raw.get(note))
                if marker is not None:
                    counts[f"{entity}:{marker[0]}"] += 1
            if len(found) < 1000:
                break
            start += 1000
    return counts


def _psa_reference_counts(rig: _rig.TenantRig) -> Counter[str]:
    """Count PSA invoices and payments written back per idempotency reference."""
    counts: Counter[str] = Counter()
    with rig.psa.state.lock:
        for resource in _PSA_WRITES:
            for obj in rig.psa.state.tables.get(resource, {}).values():
                ref = obj.get("external_reference")
                if isinstance(ref, dict) and ref.get("service_model_ref"):
                    counts[f"{resource}:{ref['service_model_ref']}"] += 1
    return counts


def count_duplicates(rig: _rig.TenantRig) -> int:
    """Writes made more than once for one source: ERP charges and PSA write-backs."""
    counts = _erp_marker_counts(rig) + _psa_reference_counts(rig)
    return sum(n - 1 for n in counts.values() if n > 1)


async def verify_tenant(
    db: store.Database, rig: _rig.TenantRig, services: Any, *, stuck_after_s: float
) -> TenantVerdict:
    """Reconcile the tenant and check duplicates, exceptions, stuck runs and the audit chain."""
    client = Client(db)
    verdict = TenantVerdict(tenant_id=rig.tenant_id, runs=client.counts(rig.tenant_id))
    report = await reconcile_ops.reconcile_tenant(db, rig.tenant_id, services)
    verdict.differences = [d.to_dict() for d in report.differences]
    verdict.missing = sum(1 for d in report.differences if d.kind == "missing")
    verdict.amount_difference = sum((d.value for d in report.differences), Decimal(0))
    verdict.duplicates = count_duplicates(rig)
    _check_exceptions(db, rig, verdict)
    verdict.orphan_invoices = _orphan_invoices(db, rig)
    _check_runs(client, rig, verdict, stuck_after_s=stuck_after_s)
    chain = client.verify_audit(rig.tenant_id)
    verdict.audit_ok = all(c.ok for c in chain) and bool(chain)
    verdict.audit_problem = next((c.problem for c in chain if not c.ok), None)
    return verdict


def _orphan_invoices(db: store.Database, rig: _rig.TenantRig) -> list[str]:
    """ERP invoices that no invoice cross-reference points at (drafted twice, or lost)."""
    with db.read() as conn:
        rows = store.xrefs.list_(conn, rig.tenant_id, object_type="invoice", system="erp")
    known = {row.external_id for row in rows}
    found = rig.erp.state.query(rig.realm, "SELECT * FROM Invoice MAXRESULTS 1000").get(
        "Invoice", []
    )
    return [
        f"{raw.get('Id')} total {raw.get('TotalAmt')} note {str(raw.get('PrivateNote'))[:90]}"
        for raw in found
        if str(raw.get("Id")) not in known
    ]


def _check_exceptions(db: store.Database, rig: _rig.TenantRig, verdict: TenantVerdict) -> None:
    with db.read() as conn:
        rows = store.exceptions.list_(conn, tenant_id=rig.tenant_id, status="open", limit=100_000)
    seeded = {(_OBJECT_TYPES[p.resource], p.id) for p in rig.dataset.problems}
    held = set()
    for row in rows:
        entity = str((store.loads(row.detail) or {}).get("entity_key", "::"))
        _connection, object_type, external_id = [*entity.split(":", 2), "", ""][:3]
        held.add((object_type, external_id))
        if not (row.reason or "").strip():
            verdict.exceptions_without_reason.append(row.id)
        if (object_type, external_id) not in seeded:
            verdict.unexplained_exceptions.append(f"{entity}: {row.reason}")
    verdict.unreported_problems = [f"{t} {i}" for t, i in sorted(seeded - held)]


def _check_runs(
    client: Client, rig: _rig.TenantRig, verdict: TenantVerdict, *, stuck_after_s: float
) -> None:
    open_runs = {
        e["run_id"] for e in client.list_exceptions(tenant_id=rig.tenant_id, limit=100_000)
    }
    for run in client.list_runs(tenant_id=rig.tenant_id, status="parked", limit=100_000):
        if run["id"] not in open_runs:
            verdict.parked_without_exception.append(run["id"])
    for status in ("queued", "running"):
        for run in client.list_runs(tenant_id=rig.tenant_id, status=status, limit=100_000):
            age = client.clock() - float(run["created_at"] or 0)
            if age > stuck_after_s:
                reason = (run["error"] or {}).get("message", "no reason recorded")
                verdict.stuck.append(f"{run['id']} {status} {run['entity_key']}: {reason}")

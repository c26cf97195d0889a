"""Reconciliation: the PSA's approved billable work against the ERP's charges.

For every project and period (month of the work date), each approved billable time entry
and expense in the PSA should appear as exactly one ERP charge of the same amount. What
does not is listed as a difference with its money value: ``missing`` (not in the ERP),
``duplicated`` (more than one charge), ``amount_mismatch`` and ``unexpected`` (an ERP
charge whose source is no longer approved billable work). Records parked in the exception
queue are reported apart as ``held``: they are known, explained, and waiting for a person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["Difference", "ReconReport", "SourceItem", "TargetCharge", "compare"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceItem:
    """Approved billable work in the PSA."""

    project_id: str
    period: str  # YYYY-MM
    object_type: str  # time_entry | expense
    source_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetCharge:
    """A charge in the ERP, traced to its PSA source."""

    project_id: str
    object_type: str
    source_id: str
    erp_id: str
    amount: Decimal
    currency: str
    billed: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Difference:
    """One way the two sides disagree, with its money value."""

    kind: str
    project_id: str
    period: str
    object_type: str
    source_id: str
    currency: str
    expected: Decimal | None
    actual: Decimal | None

    @property
    def value(self) -> Decimal:
        """The absolute amount by which the sides differ."""
        return abs((self.expected or Decimal(0)) - (self.actual or Decimal(0)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "project_id": self.project_id,
            "period": self.period,
            "object_type": self.object_type,
            "source_id": self.source_id,
            "currency": self.currency,
            "expected": _s(self.expected),
            "actual": _s(self.actual),
            "value": str(self.value),
        }


@dataclass(kw_only=True)
class ReconReport:
    """The outcome of one reconciliation."""

    differences: list[Difference] = field(default_factory=list)
    held: list[SourceItem] = field(default_factory=list)
    totals: dict[tuple[str, str, str], dict[str, Decimal]] = field(default_factory=dict)
    invoices: dict[str, Any] = field(default_factory=dict)

    @property
    def difference_count(self) -> int:
        """How many differences there are; 0 means every project matches."""
        return len(self.differences)

    @property
    def difference_by_currency(self) -> dict[str, str]:
        """Total money value of the differences per currency."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for d in self.differences:
            out[d.currency] += d.value
        return {k: str(v) for k, v in sorted(out.items())}

    def totals_by_currency(self) -> dict[str, dict[str, str]]:
        """Approved, posted and invoiced amounts per currency."""
        out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for (_project, _period, currency), values in self.totals.items():
            for name, amount in values.items():
                out[currency][name] += amount
        return {c: {k: str(v) for k, v in sorted(vals.items())} for c, vals in sorted(out.items())}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "difference_count": self.difference_count,
            "difference_by_currency": self.difference_by_currency,
            "differences": [d.to_dict() for d in self.differences],
            "held_count": len(self.held),
            "held_by_currency": _sum_by_currency(self.held),
            "totals_by_currency": self.totals_by_currency(),
        }


def compare(
    source: Iterable[SourceItem],
    target: Iterable[TargetCharge],
    *,
    held: set[tuple[str, str]] | None = None,
) -> ReconReport:
    """Compare PSA work with ERP charges; ``held`` lists (object type, source id) in the exception queue."""
    held = held or set()
    report = ReconReport()
    charges: dict[tuple[str, str], list[TargetCharge]] = defaultdict(list)
    for charge in target:
        charges[(charge.object_type, charge.source_id)].append(charge)
    seen: set[tuple[str, str]] = set()
    for item in source:
        key = (item.object_type, item.source_id)
        seen.add(key)
        found = charges.get(key, [])
        totals = report.totals.setdefault(
            (item.project_id, item.period, item.currency), defaultdict(Decimal)
        )
        totals["approved"] += item.amount
        for charge in found:
            totals["posted"] += charge.amount
            if charge.billed:
                totals["invoiced"] += charge.amount
        if key in held:
            # An open exception explains this record; it is listed with it, not as a difference.
            report.held.append(item)
            continue
        report.differences.extend(_differences(item, found))
    for key, found in charges.items():
        if key not in seen:
            for charge in found:
                report.differences.append(
                    Difference(
                        kind="unexpected",
                        project_id=charge.project_id,
                        period="",
                        object_type=charge.object_type,
                        source_id=charge.source_id,
                        currency=charge.currency,
                        expected=None,
                        actual=charge.amount,
                    )
                )
    report.differences.sort(key=lambda d: (d.project_id, d.period, d.object_type, d.source_id))
    return report


def _differences(item: SourceItem, found: list[TargetCharge]) -> list[Difference]:
    def diff(kind: str, actual: Decimal | None) -> Difference:
        return Difference(
            kind=kind,
            project_id=item.project_id,
            period=item.period,
            object_type=item.object_type,
            source_id=item.source_id,
            currency=item.currency,
            expected=item.amount,
            actual=actual,
        )

    if not found:
        return [diff("missing", None)]
    if len(found) > 1:
        return [diff("duplicated", sum((c.amount for c in found), Decimal(0)))]
    if found[0].amount != item.amount or found[0].currency != item.currency:
        return [diff("amount_mismatch", found[0].amount)]
    return []


def _sum_by_currency(items: list[SourceItem]) -> dict[str, str]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        out[item.currency] += item.amount
    return {k: str(v) for k, v in sorted(out.items())}


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)

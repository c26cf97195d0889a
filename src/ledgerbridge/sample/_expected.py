"""Expected totals, computed from the generator's own records rather than from the ops."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ledgerbridge.sample import _master, _records

_CENT = Decimal("0.01")
_END_OF_TIME = 2**62

ProjectKey = tuple[str, str]


def time_amount(minutes: int, rate_in_cents: int) -> Decimal:
    """Return hours x hourly rate in currency units, rounded half-up to the cent."""
    return (Decimal(minutes * rate_in_cents) / 6000).quantize(_CENT, rounding=ROUND_HALF_UP)


def cents(amount_in_cents: int) -> Decimal:
    """Return an amount in cents as currency units."""
    return Decimal(amount_in_cents).scaleb(-2)


@dataclass(frozen=True, kw_only=True, slots=True)
class MilestoneInvoice:
    """What completing one billing milestone should invoice.

    Attributes:
        story_id: the milestone.
        workspace_id: its project.
        billing_type: the project's billing type.
        currency: the project's currency.
        fee: the milestone fee (fixed fee or monthly retainer); zero for time and materials.
        time: unbilled approved billable time at completion (time and materials).
        expenses: unbilled approved billable expenses at completion (time and materials).
    """

    story_id: str
    workspace_id: str
    billing_type: str
    currency: str
    fee: Decimal
    time: Decimal
    expenses: Decimal

    @property
    def total(self) -> Decimal:
        """Fee plus time plus expenses."""
        return self.fee + self.time + self.expenses


@dataclass(frozen=True, kw_only=True, slots=True)
class ExpectedTotals:
    """What a correct integration ends up with, per project and currency.

    Approved totals are the final state after every edit and un-approval and leave out
    every record listed in the dataset's problems. Invoices are taken when each billing
    milestone completes: they leave out records with data problems but include entries
    that are changed only later (with their values at invoicing time). Counts cover all
    records, problems included, in their final state.

    Attributes:
        approved_time: approved billable time by (workspace id, currency).
        approved_expenses: approved billable expenses by (workspace id, currency).
        invoices: what each completed milestone invoices, by story id.
        counts: ``time_entries``, ``expenses``, ``approved_time_entries``,
            ``approved_expenses``, ``billable_time_entries``, ``billable_expenses``.
    """

    approved_time: dict[ProjectKey, Decimal]
    approved_expenses: dict[ProjectKey, Decimal]
    invoices: dict[str, MilestoneInvoice]
    counts: dict[str, int]

    def invoiced(self) -> dict[ProjectKey, Decimal]:
        """Return the invoiced total by (workspace id, currency)."""
        totals: dict[ProjectKey, Decimal] = collections.defaultdict(Decimal)
        for invoice in self.invoices.values():
            totals[invoice.workspace_id, invoice.currency] += invoice.total
        return dict(totals)

    def by_currency(self) -> dict[str, dict[str, Decimal]]:
        """Return approved time, approved expenses and invoiced totals by currency."""
        result: dict[str, dict[str, Decimal]] = {}
        parts = {
            "approved_billable_time": self.approved_time,
            "approved_billable_expenses": self.approved_expenses,
            "invoiced": self.invoiced(),
        }
        for name, amounts in parts.items():
            for (_, currency), amount in amounts.items():
                row = result.setdefault(currency, dict.fromkeys(parts, Decimal("0.00")))
                row[name] += amount
        return result


def compute(
    firm: _master.Firm,
    times: list[_records.TimeRecord],
    expenses: list[_records.ExpenseRecord],
) -> ExpectedTotals:
    """Return the expected totals of a generated sample."""
    return ExpectedTotals(
        approved_time=_approved_time(times),
        approved_expenses=_approved_expenses(expenses),
        invoices=_invoices(firm, times, expenses),
        counts=_counts(times, expenses),
    )


def _approved_time(times: list[_records.TimeRecord]) -> dict[ProjectKey, Decimal]:
    totals: dict[ProjectKey, Decimal] = collections.defaultdict(Decimal)
    for r in times:
        if r.problem is None and r.billable and r.is_approved_at(_END_OF_TIME):
            assert r.rate is not None
            totals[r.project.id, r.currency] += time_amount(r.minutes_at(_END_OF_TIME), r.rate)
    return dict(totals)


def _approved_expenses(expenses: list[_records.ExpenseRecord]) -> dict[ProjectKey, Decimal]:
    totals: dict[ProjectKey, Decimal] = collections.defaultdict(Decimal)
    for r in expenses:
        if r.problem is None and r.billable:
            totals[r.project.id, r.currency] += cents(r.amount)
    return dict(totals)


def _invoices(
    firm: _master.Firm,
    times: list[_records.TimeRecord],
    expenses: list[_records.ExpenseRecord],
) -> dict[str, MilestoneInvoice]:
    unbilled = _Unbilled(times, expenses)
    invoices = {}
    for project in firm.projects:
        for milestone in sorted(project.milestones, key=lambda m: m.completed_at):
            time_total, expense_total = unbilled.bill(project.id, milestone.completed_at)
            invoices[milestone.id] = MilestoneInvoice(
                story_id=milestone.id,
                workspace_id=project.id,
                billing_type=project.billing_type,
                currency=project.currency,
                fee=cents(milestone.price),
                time=time_total,
                expenses=expense_total,
            )
    return invoices


class _Unbilled:
    """Approved billable work not yet invoiced, by project."""

    def __init__(
        self, times: list[_records.TimeRecord], expenses: list[_records.ExpenseRecord]
    ) -> None:
        self._times: dict[str, list[_records.TimeRecord]] = collections.defaultdict(list)
        self._expenses: dict[str, list[_records.ExpenseRecord]] = collections.defaultdict(list)
        for t in times:
            # Entries changed after invoicing were clean when they were invoiced.
            if t.billable and t.problem not in _records.DATA_PROBLEMS:
                self._times[t.project.id].append(t)
        for e in expenses:
            if e.billable and e.problem is None:
                self._expenses[e.project.id].append(e)

    def bill(self, project_id: str, at: int) -> tuple[Decimal, Decimal]:
        """Invoice the project's work approved before ``at``; return (time, expenses)."""
        time_total = Decimal("0.00")
        pending_times = []
        for t in self._times[project_id]:
            if t.is_approved_at(at):
                assert t.rate is not None
                time_total += time_amount(t.minutes_at(at), t.rate)
            else:
                pending_times.append(t)
        self._times[project_id] = pending_times
        expense_total = Decimal("0.00")
        pending_expenses = []
        for e in self._expenses[project_id]:
            if e.approved_at < at:
                expense_total += cents(e.amount)
            else:
                pending_expenses.append(e)
        self._expenses[project_id] = pending_expenses
        return time_total, expense_total


def _counts(
    times: list[_records.TimeRecord], expenses: list[_records.ExpenseRecord]
) -> dict[str, int]:
    return {
        "time_entries": len(times),
        "expenses": len(expenses),
        "approved_time_entries": sum(t.is_approved_at(_END_OF_TIME) for t in times),
        "approved_expenses": len(expenses),
        "billable_time_entries": sum(t.billable for t in times),
        "billable_expenses": sum(e.billable for e in expenses),
    }

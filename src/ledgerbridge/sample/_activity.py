"""Monthly activity: time entries and expenses, their approvals and later changes."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass
from typing import Any

from ledgerbridge.sample import _calendar, _catalog, _master, _ops, _problems, _records

HOUR = _calendar.HOUR
#: Share of clean time entries edited after approval, and un-approved, before billing.
EDIT_RATE = 0.005
UNAPPROVE_RATE = 0.002

_QUARTERS = tuple(range(1, 41))
# Whole hours and typical day parts (2-8 h) are far more common than odd quarters.
_QUARTER_CUM_WEIGHTS = tuple(
    itertools.accumulate((4 if q % 4 == 0 else 1) * (3 if 8 <= q <= 32 else 1) for q in _QUARTERS)
)
_CATEGORY_NAMES = tuple(c[0] for c in _catalog.EXPENSE_CATEGORIES)
_CATEGORY_WEIGHTS = tuple(c[1] for c in _catalog.EXPENSE_CATEGORIES)
_CATEGORY_RANGES = {c[0]: (c[2], c[3]) for c in _catalog.EXPENSE_CATEGORIES}


@dataclass(frozen=True, kw_only=True, slots=True)
class MonthPlan:
    """Volumes of one month."""

    entries: int
    expenses: int
    problem_rate: float
    invoiced_edits: int


@dataclass(frozen=True, kw_only=True, slots=True)
class _Context:
    rng: random.Random
    plan: MonthPlan
    firm: _master.Firm
    month: _calendar.Month
    ids: _ops.Ids
    log: _ops.OpLog


def generate_month(
    rng: random.Random,
    plan: MonthPlan,
    *,
    firm: _master.Firm,
    month: _calendar.Month,
    ids: _ops.Ids,
    log: _ops.OpLog,
) -> tuple[list[_records.TimeRecord], list[_records.ExpenseRecord]]:
    """Create one month of time entries and expenses with their approvals and edits.

    Returns:
        The time entries and expenses created, with their histories.
    """
    ctx = _Context(rng=rng, plan=plan, firm=firm, month=month, ids=ids, log=log)
    days = month.weekdays
    approvals = _calendar.WeeklyApprovals(rng, month)
    times: list[_records.TimeRecord] = []
    for day, count in zip(days, _calendar.spread(rng, plan.entries, len(days)), strict=True):
        times.extend(_time_entry(ctx, day, approvals) for _ in range(count))
    _edit_invoiced(ctx, times)
    approvals = _calendar.WeeklyApprovals(rng, month)
    expenses: list[_records.ExpenseRecord] = []
    for day, count in zip(days, _calendar.spread(rng, plan.expenses, len(days)), strict=True):
        expenses.extend(_expense(ctx, day, approvals) for _ in range(count))
    return times, expenses


def _staffing(rng: random.Random, firm: _master.Firm) -> tuple[_master.User, _master.Project]:
    user = rng.choice(firm.users)
    if len(user.projects) == 1 or rng.random() < 0.75:
        return user, user.projects[0]
    return user, user.projects[1]


def _time_entry(
    ctx: _Context, day: dt.date, approvals: _calendar.WeeklyApprovals
) -> _records.TimeRecord:
    rng = ctx.rng
    user, project = _staffing(rng, ctx.firm)
    billable = project.billing_type == "time_and_materials"
    fields: dict[str, Any] = {
        "workspace_id": project.id,
        "user_id": user.id,
        "story_id": rng.choice(project.tasks) if rng.random() < 0.85 else None,
        "date_performed": day.isoformat(),
        "time_in_minutes": 15 * rng.choices(_QUARTERS, cum_weights=_QUARTER_CUM_WEIGHTS)[0],
        "billable": billable,
        "rate_in_cents": _catalog.RATE_CARDS[project.currency][user.role],
        "currency": project.currency,
        "notes": rng.choice(_catalog.TIME_NOTES),
        "approved": False,
        "is_invoiced": False,
    }
    kind = _problems.pick_kind(
        rng, ctx.plan.problem_rate, resource="time_entries", billable=billable
    )
    if kind is not None:
        _problems.spoil(rng, kind, fields)
    record = _records.TimeRecord(
        id=ctx.ids.new("time_entries"),
        project=project,
        billable=billable,
        currency=fields["currency"],
        rate=fields["rate_in_cents"],
        minutes=fields["time_in_minutes"],
        approved_at=approvals.at(user.id, day),
        problem=kind,
    )
    created_at = _calendar.day_start(day) + 17 * HOUR + rng.randrange(3 * HOUR)
    ctx.log.add(created_at, "create", "time_entries", record.id, fields)
    ctx.log.add(record.approved_at, "update", "time_entries", record.id, {"approved": True})
    if kind is None:
        _revise(ctx, record, fields)
    return record


def _revise(ctx: _Context, record: _records.TimeRecord, fields: dict[str, Any]) -> None:
    """Edit or un-approve a few approved entries before the month's billing."""
    rng = ctx.rng
    draw = rng.random()
    if draw >= EDIT_RATE + UNAPPROVE_RATE:
        return
    earliest = record.approved_at + 600
    at = earliest + rng.randrange(max(1, ctx.month.edit_cutoff - earliest))
    if draw < EDIT_RATE:
        record.edit_at = at
        change = _change(rng, record.minutes, str(fields["notes"]))
        record.edit_minutes = change.get("time_in_minutes")
        ctx.log.add(at, "update", "time_entries", record.id, change)
    else:
        record.unapproved_at = at
        ctx.log.add(at, "update", "time_entries", record.id, {"approved": False})


def _change(rng: random.Random, minutes: int, notes: str) -> dict[str, Any]:
    """Return an edit: new minutes (a different quarter hour) or amended notes."""
    if rng.random() < 0.6:
        new = 15 * rng.randint(1, 39)
        return {"time_in_minutes": new if new != minutes else new + 15}
    return {"notes": f"{notes} (corrected)"}


def _edit_invoiced(ctx: _Context, times: list[_records.TimeRecord]) -> None:
    """Edit a few invoiced entries after the month's billing milestones completed."""
    eligible = [
        r
        for r in times
        if r.billable and r.problem is None and r.edit_at is None and r.unapproved_at is None
    ]
    chosen = ctx.rng.sample(eligible, min(ctx.plan.invoiced_edits, len(eligible)))
    for record in chosen:
        at = ctx.month.after_billing_at + ctx.rng.randrange(40 * 60)
        change = _change(ctx.rng, record.minutes, ctx.rng.choice(_catalog.TIME_NOTES))
        record.late_edit_at = at
        record.late_minutes = change.get("time_in_minutes")
        record.problem = "changed_after_invoiced"
        record.problem_field = next(iter(change))
        ctx.log.add(at, "update", "time_entries", record.id, change)


def _expense(
    ctx: _Context, day: dt.date, approvals: _calendar.WeeklyApprovals
) -> _records.ExpenseRecord:
    rng = ctx.rng
    user, project = _staffing(rng, ctx.firm)
    category = rng.choices(_CATEGORY_NAMES, weights=_CATEGORY_WEIGHTS)[0]
    low, high = _CATEGORY_RANGES[category]
    fields: dict[str, Any] = {
        "workspace_id": project.id,
        "user_id": user.id,
        "date": day.isoformat(),
        "category": category,
        "amount_in_cents": rng.randint(low, high),
        "currency": project.currency,
        "billable": project.billing_type == "time_and_materials",
        "approved": False,
        "is_invoiced": False,
        "notes": rng.choice(_catalog.EXPENSE_NOTES[category]),
    }
    kind = _problems.pick_kind(
        rng, ctx.plan.problem_rate, resource="expenses", billable=bool(fields["billable"])
    )
    if kind is not None:
        _problems.spoil(rng, kind, fields)
    record = _records.ExpenseRecord(
        id=ctx.ids.new("expenses"),
        project=project,
        billable=fields["billable"],
        currency=fields["currency"],
        amount=fields["amount_in_cents"],
        approved_at=approvals.at(user.id, day),
        problem=kind,
    )
    created_at = _calendar.day_start(day) + 12 * HOUR + rng.randrange(8 * HOUR)
    ctx.log.add(created_at, "create", "expenses", record.id, fields)
    ctx.log.add(record.approved_at, "update", "expenses", record.id, {"approved": True})
    return record

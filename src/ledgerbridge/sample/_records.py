"""What the generator remembers about each time entry and expense it creates."""

from __future__ import annotations

from dataclasses import dataclass

from ledgerbridge.sample import _master

#: Problems that make a record fail validation (as opposed to a later, invoiced edit).
DATA_PROBLEMS = frozenset(
    {"hours_out_of_range", "unknown_currency", "currency_mismatch", "missing_rate"}
)


@dataclass(slots=True, kw_only=True)
class TimeRecord:
    """A time entry and its history: creation, approval and any later change."""

    id: str
    project: _master.Project
    billable: bool
    currency: str
    rate: int | None
    minutes: int
    approved_at: int
    problem: str | None = None
    problem_field: str = ""
    edit_at: int | None = None
    edit_minutes: int | None = None
    unapproved_at: int | None = None
    late_edit_at: int | None = None
    late_minutes: int | None = None

    def minutes_at(self, at: int) -> int:
        """Return the entry's minutes as they stood just before ``at``."""
        minutes = self.minutes
        if self.edit_at is not None and self.edit_at < at and self.edit_minutes is not None:
            minutes = self.edit_minutes
        if self.late_edit_at is not None and self.late_edit_at < at and self.late_minutes:
            minutes = self.late_minutes
        return minutes

    def is_approved_at(self, at: int) -> bool:
        """Return whether the entry was approved just before ``at``."""
        if self.unapproved_at is not None and self.unapproved_at < at:
            return False
        return self.approved_at < at


@dataclass(slots=True, kw_only=True)
class ExpenseRecord:
    """An expense and its approval."""

    id: str
    project: _master.Project
    billable: bool
    currency: str
    amount: int
    approved_at: int
    problem: str | None = None

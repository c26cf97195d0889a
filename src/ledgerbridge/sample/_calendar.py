"""The sample period: months, working days, timestamps and weekly approval times."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass

HOUR = 3600
DAY = 24 * HOUR
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def day_start(day: dt.date) -> int:
    """Return midnight UTC of ``day`` in seconds since the epoch."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY


@dataclass(frozen=True, kw_only=True, slots=True)
class Month:
    """One calendar month of activity and the fixed times of its month-end close."""

    index: int
    first: dt.date
    last: dt.date
    weekdays: tuple[dt.date, ...]

    @property
    def label(self) -> str:
        """The month as people write it, e.g. ``October 2026``."""
        return f"{calendar.month_name[self.first.month]} {self.first.year}"

    @property
    def close_approvals_at(self) -> int:
        """When the last week's timesheets are approved (the last evening of the month)."""
        return day_start(self.last) + 20 * HOUR

    @property
    def edit_cutoff(self) -> int:
        """The latest time of an ordinary edit, before the billing milestones complete."""
        return day_start(self.last) + 22 * HOUR + 30 * 60

    @property
    def billing_at(self) -> int:
        """When retainer and time-and-materials billing milestones complete."""
        return day_start(self.last) + 23 * HOUR

    @property
    def after_billing_at(self) -> int:
        """The earliest time of an edit to already invoiced work."""
        return day_start(self.last) + 23 * HOUR + 15 * 60


def months(start: dt.date, count: int) -> list[Month]:
    """Return ``count`` consecutive calendar months starting with the month of ``start``."""
    result = []
    year, month = start.year, start.month
    for index in range(count):
        days = calendar.monthrange(year, month)[1]
        first = dt.date(year, month, 1)
        every = [first + dt.timedelta(days=n) for n in range(days)]
        weekdays = tuple(d for d in every if d.weekday() < 5)
        result.append(Month(index=index, first=first, last=every[-1], weekdays=weekdays))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def spread(rng: random.Random, total: int, slots: int) -> list[int]:
    """Split ``total`` into ``slots`` near-equal whole counts, the remainder on random slots."""
    base, extra = divmod(total, slots)
    counts = [base] * slots
    for slot in rng.sample(range(slots), extra):
        counts[slot] += 1
    return counts


class WeeklyApprovals:
    """Approval times of weekly timesheets: one per person and week.

    A week's work is approved the following Monday or Tuesday during office hours; when
    that Monday falls after the month end, it is approved on the last evening of the month
    so that month-end billing sees it.
    """

    def __init__(self, rng: random.Random, month: Month) -> None:
        self._rng = rng
        self._month = month
        self._times: dict[tuple[str, dt.date], int] = {}

    def at(self, user_id: str, day: dt.date) -> int:
        """Return when ``user_id``'s work of ``day`` is approved."""
        monday = day - dt.timedelta(days=day.weekday())
        key = (user_id, monday)
        found = self._times.get(key)
        if found is None:
            found = self._pick(monday + dt.timedelta(days=7))
            self._times[key] = found
        return found

    def _pick(self, next_monday: dt.date) -> int:
        if next_monday > self._month.last:
            return self._month.close_approvals_at + self._rng.randrange(2 * HOUR)
        day = next_monday + dt.timedelta(days=self._rng.randrange(2))
        if day > self._month.last:
            day = next_monday
        return day_start(day) + 9 * HOUR + self._rng.randrange(9 * HOUR)

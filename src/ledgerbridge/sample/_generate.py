"""The generator's entry point and the dataset it returns."""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass
from typing import Any

from ledgerbridge.sample import (
    _activity,
    _calendar,
    _config,
    _expected,
    _master,
    _ops,
    _problems,
    _records,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class SampleDataset:
    """A generated sample: PSA operations in order, seeded problems and expected totals.

    Attributes:
        config: the settings it was generated from.
        ops: the operations, sorted by ``at`` then ``seq``.
        problems: the records seeded with a problem, in id order per resource.
        expected: the totals a correct integration ends up with.
    """

    config: _config.SampleConfig
    ops: list[_ops.Op]
    problems: list[_problems.SeededProblem]
    expected: _expected.ExpectedTotals

    def summary(self) -> dict[str, Any]:
        """Return counts of operations by resource and op, problems by kind, and totals.

        Money totals are strings (``"1234.50"``) by currency.
        """
        by_resource: dict[str, dict[str, int]] = {}
        for op in self.ops:
            row = by_resource.setdefault(op["resource"], {})
            row[op["op"]] = row.get(op["op"], 0) + 1
        kinds = collections.Counter(p.kind for p in self.problems)
        totals = {
            currency: {name: str(amount) for name, amount in row.items()}
            for currency, row in sorted(self.expected.by_currency().items())
        }
        return {
            "ops": len(self.ops),
            "first_at": self.ops[0]["at"] if self.ops else None,
            "last_at": self.ops[-1]["at"] if self.ops else None,
            "by_resource": dict(sorted(by_resource.items())),
            "problems": dict(sorted(kinds.items())),
            "counts": dict(self.expected.counts),
            "totals": totals,
        }


def generate(config: _config.SampleConfig) -> SampleDataset:
    """Generate the activity of a consulting firm over ``config.months`` months.

    The same config always gives the same operations.

    Args:
        config: the size of the firm and its activity, and the seed.

    Returns:
        The operations, the seeded problems and the expected totals.
    """
    rng = random.Random(config.seed)
    months = _calendar.months(config.start, config.months)
    ids, log = _ops.Ids(), _ops.OpLog()
    firm = _master.build_firm(
        rng,
        counts=(config.clients, config.people, config.projects),
        months=months,
        ids=ids,
        log=log,
        currencies=config.client_currencies,
    )
    plan = _month_plan(config)
    times: list[_records.TimeRecord] = []
    expenses: list[_records.ExpenseRecord] = []
    for month in months:
        month_times, month_expenses = _activity.generate_month(
            rng, plan, firm=firm, month=month, ids=ids, log=log
        )
        times.extend(month_times)
        expenses.extend(month_expenses)
    return SampleDataset(
        config=config,
        ops=log.finish(),
        problems=_problem_list(times, expenses),
        expected=_expected.compute(firm, times, expenses),
    )


def _month_plan(config: _config.SampleConfig) -> _activity.MonthPlan:
    return _activity.MonthPlan(
        entries=config.entries_per_month,
        expenses=config.expenses_per_month,
        problem_rate=config.problem_rate,
        invoiced_edits=config.invoiced_edits_per_month,
    )


def _problem_list(
    times: list[_records.TimeRecord], expenses: list[_records.ExpenseRecord]
) -> list[_problems.SeededProblem]:
    found = [
        _problems.problem_for("time_entries", t.id, t.problem, field=t.problem_field)
        for t in times
        if t.problem is not None
    ]
    found.extend(_problems.problem_for("expenses", e.id, e.problem) for e in expenses if e.problem)
    return found

"""Settings of the sample generator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class SampleConfig:
    """What to generate: the size of the firm and of its monthly activity.

    Attributes:
        seed: the random seed; the same config always yields the same operations.
        months: number of calendar months of activity.
        start: the first day of the first month.
        people: number of users (consultants).
        clients: number of client organizations.
        projects: number of workspaces (at least ``clients``, so every client has one).
        entries_per_month: time entries created per month.
        expenses_per_month: expenses created per month.
        problem_rate: share of time entries and expenses seeded with a data problem.
        invoiced_edits_per_month: edits made to already invoiced time entries per month.
        client_currencies: client currencies with their weights; None keeps the catalog's
            USD/EUR/GBP mix. ``(("USD", 1),)`` makes a single-currency firm (an ERP that
            bills only in its company currency). The random draws are the same either way.
    """

    seed: int = 42
    months: int = 1
    start: dt.date = dt.date(2026, 10, 1)
    people: int = 600
    clients: int = 120
    projects: int = 250
    entries_per_month: int = 25_000
    expenses_per_month: int = 3_000
    problem_rate: float = 0.01
    invoiced_edits_per_month: int = 5
    client_currencies: tuple[tuple[str, int], ...] | None = None

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ValueError(f"months must be at least 1, got {self.months}")
        if self.start.day != 1:
            raise ValueError(f"start must be the first day of a month, got {self.start}")
        for name in ("people", "clients"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.projects < self.clients:
            raise ValueError(
                f"projects ({self.projects}) must be at least clients ({self.clients})"
            )
        for name in ("entries_per_month", "expenses_per_month", "invoiced_edits_per_month"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.client_currencies is not None and not any(
            weight > 0 for _code, weight in self.client_currencies
        ):
            raise ValueError("client_currencies needs at least one positive weight")
        if not 0 <= self.problem_rate <= 0.5:
            raise ValueError(f"problem_rate must be between 0 and 0.5, got {self.problem_rate}")

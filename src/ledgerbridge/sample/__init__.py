"""Deterministic sample data: a month (or more) of a consulting firm's PSA activity.

:func:`generate` returns the operations that a Kantata-compatible PSA sandbox applies in
order, the records seeded with data problems, and the totals a correct integration
reaches::

    dataset = generate(SampleConfig(seed=7, months=1))
    write_jsonl(dataset, "october.jsonl")
"""

from __future__ import annotations

from ledgerbridge.sample._config import SampleConfig
from ledgerbridge.sample._expected import ExpectedTotals, MilestoneInvoice, time_amount
from ledgerbridge.sample._generate import SampleDataset, generate
from ledgerbridge.sample._jsonl import read_jsonl, write_jsonl
from ledgerbridge.sample._ops import by_hour
from ledgerbridge.sample._problems import SeededProblem

__all__ = [
    "ExpectedTotals",
    "MilestoneInvoice",
    "SampleConfig",
    "SampleDataset",
    "SeededProblem",
    "by_hour",
    "generate",
    "read_jsonl",
    "time_amount",
    "write_jsonl",
]

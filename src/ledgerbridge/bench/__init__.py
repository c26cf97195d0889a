"""The benchmark: time entries delivered end to end, measured (``ledgerbridge bench``)."""

from __future__ import annotations

from ledgerbridge.bench._measure import BenchOptions, BenchResult, run_bench
from ledgerbridge.bench._postgres import LocalPostgres

__all__ = ["BenchOptions", "BenchResult", "LocalPostgres", "run_bench"]

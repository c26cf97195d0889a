"""The delivery-to-cash month end to end over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from ledgerbridge import cli, sample
from ledgerbridge.demo import DemoOptions, run_demo

OBJECT_TYPES = {"time_entries": "time_entry", "expenses": "expense"}

# A smaller firm than the demo's, so the suite stays quick; same generator, same blueprint.
SMALL_FIRM = sample.SampleConfig(
    seed=11, people=80, clients=16, projects=30, entries_per_month=3000, expenses_per_month=360
)


def _check_exceptions_are_exactly_the_seeded_problems(summary, dataset):
    parked = summary["exception_records"]
    expected = {(OBJECT_TYPES[p.resource], p.id): p for p in dataset.problems}
    found = {(e["object_type"], e["external_id"]): e for e in parked}
    assert set(found) == set(expected), (
        f"unexpected: {sorted(set(found) - set(expected))[:5]}, "
        f"missing: {sorted(set(expected) - set(found))[:5]}"
    )
    for key, problem in expected.items():
        assert problem.reason_contains in found[key]["reason"].lower(), (
            problem,
            found[key]["reason"],
        )


@pytest.mark.slow
def test_demo_month_reconciles_and_parks_exactly_the_seeded_problems(tmp_path):
    """Zero reconciliation difference; the exception queue holds every seeded problem and nothing else."""
    options = DemoOptions(database=tmp_path / "demo.db", config=SMALL_FIRM)
    summary = asyncio.run(run_demo(options))
    assert summary["reconciliation"]["difference_count"] == 0, summary["reconciliation"][
        "differences"
    ][:5]
    _check_exceptions_are_exactly_the_seeded_problems(summary, sample.generate(SMALL_FIRM))
    assert summary["invoices"]["counts"]["drafted"] > 0
    assert summary["invoices"]["counts"]["paid"] > 0


@pytest.mark.slow
def test_demo_month_with_faults_has_no_difference_and_no_duplicate(tmp_path):
    """10% 5xx, 429 bursts and 2% ambiguous writes: still zero difference and no duplicate charge."""
    options = DemoOptions(database=tmp_path / "demo.db", config=SMALL_FIRM, fault_rate=0.1)
    summary = asyncio.run(run_demo(options))
    recon = summary["reconciliation"]
    assert recon["difference_count"] == 0, recon["differences"][:5]
    assert not [d for d in recon["differences"] if d["kind"] == "duplicated"]
    assert summary["faults_injected"]["total"] > 100
    _check_exceptions_are_exactly_the_seeded_problems(summary, sample.generate(SMALL_FIRM))


def test_demo_cli_prints_json_summary(tmp_path):
    """`ledgerbridge demo --json` prints the summary with the reconciliation result."""
    cli._mount_optional()
    result = CliRunner().invoke(
        cli.app,
        ["demo", "--json", "--no-serve", "--entries", "150", "--database", str(tmp_path / "d.db")],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["reconciliation"]["difference_count"] == 0
    assert "difference_by_currency" in summary["reconciliation"]

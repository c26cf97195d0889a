"""A bounded chaos run: two tenants, injected faults, redelivered events and killed workers."""

from __future__ import annotations

import pytest

from ledgerbridge.chaos import ChaosOptions, run_chaos_sync


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_chaos_run_loses_nothing_and_doubles_nothing(tmp_path):
    """Under 5xx, 429 bursts, drops, ambiguous writes, redelivery and SIGKILLs, every tenant reconciles."""
    options = ChaosOptions(
        tenants=2, entries=150, kills=4, min_faults=150, workdir=tmp_path, stuck_after_s=120
    )
    report = run_chaos_sync(options)
    assert report.kills == 4
    assert report.faults_total >= 150, report.faults
    assert report.faults.get("ambiguous", 0) + report.faults.get("drop_connection", 0) > 0
    assert report.events_redelivered > 0
    assert report.redelivered_stored == 0
    for verdict in report.tenants:
        assert verdict.duplicates == 0, verdict.tenant_id
        assert verdict.missing == 0, verdict.differences[:5]
        assert verdict.amount_difference == 0
        assert verdict.stuck == []
        assert verdict.audit_ok, verdict.audit_problem
        assert sum(verdict.runs.values()) > 0
    assert report.problems == []
    assert report.ok, report.summary_line()

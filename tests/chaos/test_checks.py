"""The chaos checks see a doubled write and turn it into a failed run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerbridge import demo, sample, sandboxes
from ledgerbridge.chaos import ChaosReport
from ledgerbridge.chaos._checks import TenantVerdict, count_duplicates
from ledgerbridge.chaos._rig import TenantRig


@pytest.fixture
def rig():
    psa, erp = sandboxes.start_psa(), sandboxes.start_erp()
    dataset = sample.generate(demo.scaled_config(entries=50))
    rig = TenantRig(index=0, tenant_id="tnt_x", realm="1", psa=psa, erp=erp, dataset=dataset)
    yield rig
    rig.stop()


def _purchase(rig: TenantRig, marker: str) -> None:
    line = {
        "Amount": 5,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "1"}},
    }
    body = {"PaymentType": "Cash", "AccountRef": {"value": "2"}, "PrivateNote": marker}
    rig.erp.state.create(rig.realm, "Purchase", {**body, "Line": [line]})


def test_count_duplicates_finds_an_erp_charge_posted_twice(rig):
    """Two ERP charges carrying the same source id count as one duplicate; distinct ones do not."""
    _purchase(rig, "[lb:e-1|key-a]")
    _purchase(rig, "[lb:e-2|key-b]")
    assert count_duplicates(rig) == 0
    _purchase(rig, "[lb:e-1|key-c]")
    assert count_duplicates(rig) == 1


def test_report_with_a_duplicate_fails_and_says_so():
    """A report holding a duplicate is not ok and its summary line says FAIL with the count."""
    verdict = TenantVerdict(tenant_id="tnt_x", runs={"succeeded": 3}, duplicates=1)
    report = ChaosReport(
        tenants=[verdict],
        faults={"error_5xx": 5000},
        kills=20,
        crashes=[],
        events_redelivered=10,
        redelivered_stored=0,
        elapsed_s=1.0,
        peak_rss_mb={"suite": 1.0, "workers": 1.0},
        min_faults=1000,
    )
    assert not report.ok
    assert not report.is_lossless
    assert "chaos FAIL" in report.summary_line()
    assert "duplicates=1" in report.summary_line()
    assert report.problems == ["tnt_x: 1 duplicate write(s) found in the ERP or PSA"]
    verdict.duplicates, verdict.amount_difference = 0, Decimal("0.01")
    assert not report.ok and "amount_difference=0.01" in report.summary_line()

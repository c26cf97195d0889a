"""The fault plan value."""

from __future__ import annotations

import pytest

from ledgerbridge.sandboxes import FaultPlan


def test_fault_plan_round_trips_through_dict():
    """to_dict and from_dict give back an equal plan."""
    plan = FaultPlan(error_5xx=0.1, throttle_429=0.2, throttle_burst=3, latency_ms=5, seed=9)
    assert FaultPlan.from_dict(plan.to_dict()) == plan


@pytest.mark.parametrize(
    "bad",
    [
        {"error_5xx": 1.5},
        {"ambiguous": -0.1},
        {"throttle_burst": 0},
        {"latency_ms": -1},
        {"ambiguous_mode": "x"},
        {"drop_connection": True},
        {"nope": 1},
    ],
)
def test_fault_plan_refuses_bad_values(bad):
    """Rates outside 0..1, bad counts, unknown modes and unknown fields raise ValueError."""
    with pytest.raises(ValueError, match="fault plan"):
        FaultPlan.from_dict(bad)


def test_fault_plan_default_is_quiet():
    """The default plan injects nothing; any rate or latency makes it noisy."""
    assert FaultPlan().is_quiet
    assert not FaultPlan(latency_ms=1).is_quiet
    assert not FaultPlan(ambiguous=0.01).is_quiet

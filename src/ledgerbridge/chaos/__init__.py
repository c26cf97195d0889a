"""Chaos, fault and bad-input tooling: a fault proxy and the chaos run of the month.

``proxy`` forwards HTTP to any service through a :class:`~ledgerbridge.sandboxes.FaultPlan`;
``suite`` runs the delivery-to-cash month for several tenants under injected faults,
redelivered and reordered events and killed worker processes, and proves that nothing was
lost or doubled; ``cli`` is the ``ledgerbridge chaos`` command group.
"""

from __future__ import annotations

from ledgerbridge.chaos.proxy import FaultProxy, create_app
from ledgerbridge.chaos.suite import ChaosOptions, ChaosReport, run_chaos, run_chaos_sync

__all__ = ["ChaosOptions", "ChaosReport", "FaultProxy", "create_app", "run_chaos", "run_chaos_sync"]

"""Operations: reconciliation between the connected systems."""

from __future__ import annotations

from ledgerbridge.operations._reconcile import (
    Difference,
    ReconReport,
    SourceItem,
    TargetCharge,
    compare,
)

__all__ = ["Difference", "ReconReport", "SourceItem", "TargetCharge", "compare"]

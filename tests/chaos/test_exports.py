"""The chaos package exports exactly its public API, sorted."""

from __future__ import annotations

import ledgerbridge.chaos as chaos


def test_chaos_all_is_sorted_and_matches_public_names():
    """`__all__` is sorted and lists every public name the package holds, modules aside."""
    public = {
        n for n, v in vars(chaos).items() if not n.startswith("_") and not hasattr(v, "__path__")
    }
    modules = {"cli", "proxy", "suite"}
    assert chaos.__all__ == sorted(chaos.__all__)
    assert set(chaos.__all__) == public - modules - {"annotations"}

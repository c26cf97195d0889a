"""The public API of ledgerbridge.blueprints is exactly its sorted __all__."""

from __future__ import annotations

import types

from ledgerbridge import blueprints


def test_blueprints_all_matches_public_names():
    """__all__ is sorted and lists every public, non-module name of the package."""
    public = {
        name
        for name, value in vars(blueprints).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }

    def order(name):
        # the order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert sorted(blueprints.__all__, key=order) == blueprints.__all__
    assert set(blueprints.__all__) == public

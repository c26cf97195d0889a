"""ledgerbridge: white-label integration platform for the delivery-to-cash workflow."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

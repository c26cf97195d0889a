"""``python -m ledgerbridge`` runs the command-line interface."""

from __future__ import annotations

from ledgerbridge.cli import main

main()

"""The ``sandbox`` Typer app."""

from __future__ import annotations

from typer.testing import CliRunner

from ledgerbridge import sandboxes
from ledgerbridge.sandboxes.cli import app


def test_sandbox_cli_lists_both_commands():
    """The help names the psa and erp commands."""
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "psa" in result.output
    assert "erp" in result.output


def test_sandbox_cli_refuses_a_rate_above_one():
    """A fault rate above 1 is refused before anything is served."""
    result = CliRunner().invoke(app, ["erp", "--error-5xx", "1.5"])
    assert result.exit_code != 0


def test_sandbox_cli_refuses_an_unknown_webhook_format():
    """An unknown webhook format is refused before anything is served."""
    result = CliRunner().invoke(app, ["erp", "--webhook-format", "xml"])
    assert result.exit_code != 0


def test_sandboxes_all_matches_exports():
    """__all__ lists exactly the public names the package exposes."""
    public = {n for n in dir(sandboxes) if not n.startswith("_")} - {
        "annotations",
        "erp",
        "psa",
        "cli",
    }
    public -= {
        n
        for n in public
        if n.islower() and n not in sandboxes.__all__ and not callable(getattr(sandboxes, n))
    }
    assert sorted(sandboxes.__all__) == sandboxes.__all__
    assert set(sandboxes.__all__) <= public

"""The audit chain detects tampering; the CLI exposes the engine's operations."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from typer.testing import CliRunner

from ledgerbridge import cli, store
from tests.conftest import ENGINE_BLUEPRINT
from tests.engine_support import make_setup

runner = CliRunner()


@pytest.fixture
def populated(db, db_path):
    setup = make_setup(db, ENGINE_BLUEPRINT)
    setup.client().ingest([setup.event(f"te-{i}", 1, hours=0 if i == 0 else 2) for i in range(5)])
    setup.drain()
    return setup, f"sqlite:///{db_path}"


def _invoke(*args):
    cli._mount_optional()
    return runner.invoke(cli.app, list(args))


def test_audit_verify_passes_on_an_untouched_chain(populated):
    """`audit verify` reports every tenant's chain as ok and exits 0."""
    setup, url = populated
    result = _invoke("audit", "verify", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert f"{setup.tenant_id}: ok" in result.output


def test_audit_verify_reports_an_altered_row(populated):
    """Changing one row's detail is reported at that row, and the command exits 1."""
    setup, url = populated
    audit = store.tables.audit_log
    with setup.db.write() as conn:
        conn.execute(
            sa.update(audit)
            .where(audit.c.tenant_id == setup.tenant_id, audit.c.seq == 4)
            .values(detail='{"forged": true}')
        )
    result = _invoke("audit", "verify", "--database-url", url, "--json")
    assert result.exit_code == 1
    [report] = [r for r in json.loads(result.output) if r["tenant_id"] == setup.tenant_id]
    assert report["first_bad_seq"] == 4 and "altered" in report["problem"]


@pytest.mark.parametrize("seq", [3, "last"])
def test_audit_verify_reports_a_deleted_row(populated, seq):
    """Deleting a row in the middle, or the newest row, is detected."""
    setup, _url = populated
    audit = store.tables.audit_log
    with setup.db.write() as conn:
        last = conn.execute(
            sa.select(sa.func.max(audit.c.seq)).where(audit.c.tenant_id == setup.tenant_id)
        ).scalar()
        target = last if seq == "last" else seq
        conn.execute(
            sa.delete(audit).where(audit.c.tenant_id == setup.tenant_id, audit.c.seq == target)
        )
    with setup.db.read() as conn:
        report = store.audit.verify(conn, setup.tenant_id)
    assert not report.ok and report.first_bad_seq == target
    assert "missing" in report.problem


def test_cli_help_lists_the_commands():
    """`ledgerbridge --help` names every operator command."""
    result = _invoke("--help")
    assert result.exit_code == 0
    for command in (
        "init",
        "worker",
        "runs",
        "exceptions",
        "replay",
        "audit",
        "blueprint",
        "sandbox",
    ):
        assert command in result.output


def test_cli_exceptions_list_show_retry_skip(populated):
    """An operator lists the parked run, reads its reason, skips it with a reason; the run is skipped."""
    setup, url = populated
    listed = _invoke("exceptions", "list", "--database-url", url, "--json")
    [exc] = json.loads(listed.output)
    assert exc["reason"] == "hours: hours must be more than 0 and at most 24"
    shown = json.loads(
        _invoke("exceptions", "show", exc["id"], "--database-url", url, "--json").output
    )
    assert shown["detail"]["record"]["hours"] == 0
    no_reason = _invoke("exceptions", "skip", exc["id"], "--database-url", url)
    assert no_reason.exit_code != 0
    skipped = _invoke(
        "exceptions",
        "skip",
        exc["id"],
        "--reason",
        "test entry",
        "--database-url",
        url,
        "--actor",
        "ops@partner",
    )
    assert skipped.exit_code == 0, skipped.output
    assert setup.client().show_run(exc["run_id"])["status"] == "skipped"
    again = _invoke("exceptions", "retry", exc["id"], "--database-url", url)
    assert again.exit_code == 1 or "already" in str(again.exception)


def test_cli_runs_list_and_show(populated):
    """`runs list` shows every run; `runs show` shows its steps."""
    _setup, url = populated
    runs = json.loads(_invoke("runs", "list", "--database-url", url, "--json").output)
    assert len(runs) == 5
    done = next(r for r in runs if r["status"] == "succeeded")
    shown = _invoke("runs", "show", done["id"], "--database-url", url)
    assert "step first" in shown.output and "step second" in shown.output


def test_cli_blueprint_validate_reports_lines(tmp_path):
    """`blueprint validate` exits 1 and prints each problem with its line."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(ENGINE_BLUEPRINT.replace("time_entry.approved", "time_entry.aproved"))
    result = _invoke("blueprint", "validate", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:" in result.output and "aproved" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(ENGINE_BLUEPRINT)
    assert _invoke("blueprint", "validate", str(good)).exit_code == 0


def test_migrations_match_the_table_definitions(db):
    """The migrated schema equals the SQLAlchemy metadata (no drift between them)."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), store.tables.metadata)
    assert diff == []


def test_init_creates_the_database(tmp_path):
    """`ledgerbridge init` creates and migrates a fresh SQLite file."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = _invoke("init", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "schema 0001" in result.output or "schema 0" in result.output

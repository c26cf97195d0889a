"""Shared fixtures: a clean environment and a fresh migrated database per test.

``db`` is SQLite unless a test asks for PostgreSQL with
``@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)`` (or
``pytestmark``). The PostgreSQL lane starts one private server per session from the
machine's binaries (``/usr/lib/postgresql/*/bin``), builds a template database migrated
once, and clones it per test with ``CREATE DATABASE ... TEMPLATE``. When the binaries are
missing the lane fails with a message that says what to install; it never skips. As root,
the server runs as the ``postgres`` account (or ``nobody``), see
``ledgerbridge.bench._postgres``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from ledgerbridge import errors, store

# `make test` (and so CI) runs the property tests derandomized, so whether a change lands
# never depends on which examples a run happens to draw; `make fuzz` draws fresh ones.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ENGINE_BLUEPRINT = """
blueprint: engine-test
version: 1
schema_version: 1
connections:
  target: {role: erp}
  source: {role: psa}
data_quality:
  - name: hours_range
    applies_to: time_entry
    rule: "record.hours > 0.0 && record.hours <= 24.0"
    field: hours
    message: "hours must be more than 0 and at most 24"
flows:
  - name: post_time
    trigger: {event: time_entry.approved}
    mode: realtime
    quality: [hours_range]
    steps:
      - {name: first, kind: memory.apply, connection: target}
      - {name: second, kind: memory.apply, connection: target}
"""

#: the database backends the engine suite runs on
BACKENDS = ["sqlite", "postgres"]
TEMPLATE_NAME = "lb_template"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's ledgerbridge settings."""
    for name in list(os.environ):
        if name.startswith("LEDGERBRIDGE_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, built once and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = store.Database(f"sqlite:///{path}")
    store.migrate(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A private PostgreSQL server with a migrated template database, for the session."""
    from ledgerbridge.bench._postgres import LocalPostgres

    try:
        server = LocalPostgres(durable=False).start()
    except errors.ConfigError as exc:
        pytest.fail(f"the postgres lane needs a PostgreSQL server: {exc.message} ({exc.hint})")
    try:
        template = store.Database(server.create_database(TEMPLATE_NAME), pool_size=1)
        store.migrate(template)
        template.dispose()
        yield server
    finally:
        server.stop()


def fresh_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    """URL of a new migrated database of ``kind`` (``sqlite`` or ``postgres``)."""
    if kind == "postgres":
        server = request.getfixturevalue("postgres_server")
        return str(server.create_database(template=TEMPLATE_NAME))  # type: ignore[attr-defined]
    if kind != "sqlite":
        raise ValueError(f"unknown database backend {kind!r}")
    path = tmp_path / "ledgerbridge.db"
    shutil.copy(request.getfixturevalue("template_db"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """Path of a fresh migrated database file for this test."""
    path = tmp_path / "ledgerbridge.db"
    shutil.copy(template_db, path)
    return path


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[store.Database]:
    """A fresh migrated database: SQLite, or PostgreSQL when parametrised so."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        path = request.getfixturevalue("db_path")
        url = f"sqlite:///{path}"
    else:
        url = fresh_url(request, kind, tmp_path)
    database = store.Database(url)
    yield database
    database.dispose()

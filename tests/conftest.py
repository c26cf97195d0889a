"""Shared fixtures: a clean environment and a migrated SQLite database per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerbridge import store

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


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """Path of a fresh migrated database file for this test."""
    path = tmp_path / "ledgerbridge.db"
    shutil.copy(template_db, path)
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[store.Database]:
    """A fresh migrated SQLite database."""
    database = store.Database(f"sqlite:///{db_path}")
    yield database
    database.dispose()

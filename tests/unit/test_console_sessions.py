"""Console sessions and sign-in throttling, on both databases, with a clock moved by hand."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledgerbridge import store
from ledgerbridge.console._session import ACCOUNT_LIMIT, LIFETIME_S, WINDOW_S, Sessions
from tests.conftest import BACKENDS
from tests.engine_support import FakeClock

pytestmark = pytest.mark.parametrize("db", BACKENDS, indirect=True)


def test_a_session_opens_until_it_ends_or_expires(db: store.Database) -> None:
    clock = FakeClock()
    sessions = Sessions(db, clock=clock)
    session, cookie = sessions.issue("usr_1")
    assert sessions.open(cookie) == session
    assert sessions.open(cookie + "x") is None and sessions.open(None) is None
    sessions.end(cookie)
    assert sessions.open(cookie) is None
    _, other = sessions.issue("usr_1")
    clock.advance(LIFETIME_S + 1)
    assert sessions.open(other) is None


def test_failed_sign_ins_lock_an_account_and_address_for_one_window(db: store.Database) -> None:
    clock = FakeClock()
    sessions = Sessions(db, clock=clock)
    for _ in range(ACCOUNT_LIMIT - 1):
        sessions.failed("Ops@Example.com", "10.0.0.1")
    assert sessions.refused_for("ops@example.com", "10.0.0.1") is None
    sessions.failed("ops@example.com", "10.0.0.1")
    wait = sessions.refused_for("ops@example.com", "10.0.0.1")
    assert wait is not None and 0 < wait <= WINDOW_S
    assert sessions.refused_for("ops@example.com", "10.0.0.2") is None  # another address
    assert sessions.refused_for("finance@example.com", "10.0.0.1") is None  # another account
    clock.advance(WINDOW_S + 1)
    assert sessions.refused_for("ops@example.com", "10.0.0.1") is None


def test_counts_of_ended_windows_are_dropped(db: store.Database) -> None:
    clock = FakeClock()
    sessions = Sessions(db, clock=clock)
    for n in range(20):
        sessions.failed(f"guess-{n}@example.com", "10.0.0.9")
    clock.advance(WINDOW_S + 1)
    sessions.failed("ops@example.com", "10.0.0.1")
    with db.read() as conn:
        keys = set(conn.scalars(sa.select(store.tables.sign_in_failures.c.key)))
    assert keys == {"account:ops@example.com|10.0.0.1", "address:10.0.0.1"}

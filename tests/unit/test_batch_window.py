"""Deployments choose realtime or a batch window per flow."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ledgerbridge import errors, tenancy
from tests.engine_support import make_setup

BATCHABLE = """
blueprint: batch-test
version: 1
schema_version: 1
connections:
  target: {role: erp}
  source: {role: psa}
flows:
  - name: post_time
    trigger: {event: time_entry.approved}
    mode: realtime
    modes_allowed: [realtime, batch]
    steps:
      - {name: post, kind: memory.apply, connection: target}
  - name: note_customer
    trigger: {event: customer.upserted}
    mode: realtime
    steps:
      - {name: post, kind: memory.apply, connection: target}
"""


def _deploy_batch(setup, settings):
    tenancy.deploy_blueprint(
        setup.db,
        tenant_id=setup.tenant_id,
        document=BATCHABLE,
        bindings={"target": "erp", "source": "psa"},
        settings=settings,
    )


def test_batch_window_holds_postings_until_the_window_opens(db):
    """With a daily 18:00 window, approved time waits until 18:00 UTC, then posts."""
    setup = make_setup(db, BATCHABLE)
    with setup.db.write() as conn:
        conn.exec_driver_sql("UPDATE deployments SET is_active = 0")
    _deploy_batch(
        setup, {"modes": {"default": "batch"}, "batch_window": {"every": "day", "at": "18:00"}}
    )
    setup.clock.now = dt.datetime(2026, 10, 5, 9, 30, tzinfo=dt.UTC).timestamp()
    setup.client().ingest([setup.event("te-1", 1)])
    asyncio.run(setup.worker().run(once=True))
    assert setup.target.effects == []
    setup.clock.now = dt.datetime(2026, 10, 5, 18, 0, 1, tzinfo=dt.UTC).timestamp()
    asyncio.run(setup.worker().run(once=True))
    assert len(setup.target.effects) == 1


def test_batch_default_leaves_realtime_only_flows_realtime(db):
    """A default of batch applies only to flows that allow it; others stay realtime."""
    setup = make_setup(db, BATCHABLE)
    with setup.db.write() as conn:
        conn.exec_driver_sql("UPDATE deployments SET is_active = 0")
    _deploy_batch(setup, {"modes": {"default": "batch"}})
    event = setup.event("c-1", 1)
    customer = type(event)(
        tenant_id=event.tenant_id,
        connection_id="psa",
        event_type="customer.upserted",
        object_type="customer",
        external_id="c-1",
        source_version=1,
        payload={"record": {"id": "c-1"}},
    )
    setup.client().ingest([customer])
    asyncio.run(setup.worker().run(once=True))
    assert len(setup.target.effects) == 1


def test_deploying_a_mode_a_flow_does_not_allow_is_refused(db):
    """Asking for batch on a realtime-only flow fails at deploy time with the allowed modes."""
    setup = make_setup(db, BATCHABLE)
    with pytest.raises(errors.ConfigError, match="note_customer"):
        _deploy_batch(setup, {"modes": {"note_customer": "batch"}})

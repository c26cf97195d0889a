"""The durable engine over SQLite and PostgreSQL and an in-memory recording target."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from ledgerbridge import errors, store
from tests.conftest import BACKENDS, ENGINE_BLUEPRINT
from tests.engine_support import make_setup

pytestmark = pytest.mark.parametrize("db", BACKENDS, indirect=True)


@pytest.fixture
def setup(db):
    return make_setup(
        db, ENGINE_BLUEPRINT, retry={"max_attempts": 3, "base_delay": 1, "max_delay": 5}
    )


def test_inbox_stores_each_event_once(setup):
    """Delivering the same event three times stores it once and queues one run."""
    client = setup.client()
    first = client.ingest([setup.event("te-1", 1)])
    again = client.ingest([setup.event("te-1", 1), setup.event("te-1", 1)])
    assert (first.stored, first.runs) == (1, 1)
    assert (again.stored, again.duplicates, again.runs) == (0, 2, 0)


def test_worker_runs_every_step_and_records_results(setup):
    """A run executes its steps in order; each step's result and idempotency key are recorded."""
    client = setup.client()
    client.ingest([setup.event("te-1", 1, hours=3)])
    setup.drain()
    [run] = client.list_runs(tenant_id=setup.tenant_id)
    shown = client.show_run(run["id"])
    assert run["status"] == "succeeded"
    assert [s["name"] for s in shown["steps"]] == ["first", "second"]
    assert all(
        s["status"] == "succeeded" and s["idempotency_key"].startswith("lb-")
        for s in shown["steps"]
    )
    assert len(setup.target.effects) == 2
    assert setup.target.state["psa:time_entry:te-1"]["hours"] == 3


def test_stale_version_never_overwrites_newer(setup):
    """Version 3 applied first; versions 1 and 2 arriving later are skipped, not applied."""
    client = setup.client()
    client.ingest([setup.event("te-1", 3, hours=3)])
    setup.drain()
    client.ingest([setup.event("te-1", 1, hours=1), setup.event("te-1", 2, hours=2)])
    setup.drain()
    assert setup.target.state["psa:time_entry:te-1"]["hours"] == 3
    statuses = sorted(r["status"] for r in client.list_runs(tenant_id=setup.tenant_id))
    assert statuses == ["skipped", "skipped", "succeeded"]


def test_versions_pending_together_apply_in_order(setup):
    """Versions queued out of order are applied lowest first."""
    client = setup.client()
    client.ingest([setup.event("te-1", 2, hours=2)])
    client.ingest([setup.event("te-1", 1, hours=1)])
    setup.drain()
    applied = [entity for _key, entity in setup.target.effects]
    assert len(applied) == 4
    assert setup.target.state["psa:time_entry:te-1"]["version"] == 2
    assert {r["status"] for r in client.list_runs(tenant_id=setup.tenant_id)} == {"succeeded"}


def test_transient_errors_retry_then_succeed(setup):
    """Two timeouts are retried with backoff; the third attempt succeeds, with no duplicate."""
    setup.target.fail_plan = [errors.TransientError("timeout"), errors.TransientError("timeout")]
    client = setup.client()
    client.ingest([setup.event("te-1", 1)])
    asyncio.run(setup.worker().run(once=True))
    [run] = client.list_runs(tenant_id=setup.tenant_id)
    assert run["status"] == "queued" and run["attempts"] == 1
    setup.drain()
    [run] = client.list_runs(tenant_id=setup.tenant_id)
    assert run["status"] == "succeeded" and run["attempts"] == 3
    assert len(setup.target.effects) == 2


def test_transient_errors_park_after_the_connection_limit(setup):
    """After max_attempts transient failures the run is parked with a reason that says so."""
    setup.target.fail_plan = [errors.TransientError("ERP answered 503")] * 3
    client = setup.client()
    client.ingest([setup.event("te-1", 1)])
    setup.drain()
    [exc] = client.list_exceptions(tenant_id=setup.tenant_id)
    assert exc["reason"] == "gave up after 3 attempts: ERP answered 503"
    assert exc["kind"] == "transient"


def test_retry_after_is_honoured(setup):
    """A Retry-After longer than the backoff decides when the run is due again."""
    setup.target.fail_plan = [errors.TransientError("throttled", retry_after=90)]
    setup.client().ingest([setup.event("te-1", 1)])
    asyncio.run(setup.worker().run(once=True))
    with setup.db.read() as conn:
        due = conn.execute(sa.select(store.tables.runs.c.available_at)).scalar_one()
    assert due >= setup.clock.now + 90


def test_permanent_error_parks_then_retry_completes_without_repeating_steps(setup):
    """A refused second step parks the run; retry runs only that step again."""
    setup.target.fail_plan = []
    client = setup.client()
    client.ingest([setup.event("te-1", 1)])
    target = setup.target
    original = target.apply
    calls = {"n": 0}

    def refuse_second(entity, version, record, key):
        calls["n"] += 1
        if calls["n"] == 2:
            raise errors.PermanentError(
                "customer has no billing address", hint="add a billing address in the ERP"
            )
        return original(entity, version, record, key)

    target.apply = refuse_second  # type: ignore[method-assign]
    setup.drain()
    [exc] = client.list_exceptions(tenant_id=setup.tenant_id)
    assert exc["reason"] == "customer has no billing address"
    assert exc["hint"] == "add a billing address in the ERP"
    detail = client.show_exception(exc["id"])["detail"]
    assert detail["step"] == "second" and detail["record"]["hours"] == 1
    client.retry(exc["id"], actor="op@partner")
    setup.drain()
    [run] = client.list_runs(tenant_id=setup.tenant_id)
    assert run["status"] == "succeeded"
    assert calls["n"] == 3  # first step once, second step twice
    assert len(target.effects) == 2


def test_data_quality_violation_parks_with_field_and_message(setup):
    """Hours of 25 are refused by the blueprint's rule; nothing is written to the target."""
    client = setup.client()
    client.ingest([setup.event("te-1", 1, hours=25), setup.event("te-2", 1, hours=2)])
    setup.drain()
    [exc] = client.list_exceptions(tenant_id=setup.tenant_id)
    assert exc["kind"] == "data_quality"
    assert exc["reason"] == "hours: hours must be more than 0 and at most 24"
    assert [entity for _k, entity in setup.target.effects] == ["psa:time_entry:te-2"] * 2


def test_skip_requires_reason_and_is_audited(setup):
    """Skipping closes the exception, marks the run skipped, and writes the actor to the audit trail."""
    client = setup.client()
    client.ingest([setup.event("te-1", 1, hours=0)])
    setup.drain()
    [exc] = client.list_exceptions(tenant_id=setup.tenant_id)
    with pytest.raises(ValueError):
        client.skip(exc["id"], actor="op", reason=" ")
    client.skip(exc["id"], actor="op@partner", reason="entry deleted in the PSA")
    [run] = client.list_runs(tenant_id=setup.tenant_id)
    assert run["status"] == "skipped"
    assert client.list_exceptions(tenant_id=setup.tenant_id) == []
    with setup.db.read() as conn:
        [row] = store.audit.list_entries(conn, setup.tenant_id, action="exception.skipped")
    assert row.actor == "op@partner"
    with pytest.raises(errors.PermanentError):
        client.skip(exc["id"], actor="op", reason="again")


def test_replay_repeats_no_side_effect(setup):
    """Replaying a finished run queues a new run whose steps are all found finished."""
    client = setup.client()
    client.ingest([setup.event("te-1", 1)])
    setup.drain()
    [run] = client.list_runs(tenant_id=setup.tenant_id)
    replay = client.replay(run["id"], actor="op")
    setup.drain()
    assert client.show_run(replay["run_id"])["status"] == "succeeded"
    assert len(setup.target.effects) == 2


def test_unknown_step_kind_parks_as_config_error(db):
    """A blueprint naming a step kind nobody registered parks runs with the known kinds as hint."""
    setup = make_setup(
        db,
        ENGINE_BLUEPRINT.replace(
            "kind: memory.apply, connection: target}\n      - {name: second",
            "kind: nowhere.apply, connection: target}\n      - {name: second",
        ),
    )
    setup.client().ingest([setup.event("te-1", 1)])
    setup.drain()
    [exc] = setup.client().list_exceptions(tenant_id=setup.tenant_id)
    assert exc["kind"] == "config" and "nowhere.apply" in exc["reason"]
    assert "memory.apply" in exc["hint"]


def test_expired_lease_is_claimed_by_another_worker(setup):
    """A worker that claimed runs and vanished loses them once the lease expires."""
    setup.client().ingest([setup.event("te-1", 1)])
    with setup.db.write() as conn:
        claimed = store.runs.claim_runs(
            conn, owner="dead-worker", now=setup.clock.now, lease_seconds=30, limit=10
        )
    assert len(claimed) == 1
    assert asyncio.run(setup.worker().run(once=True)) == 0
    setup.clock.advance(31)
    assert asyncio.run(setup.worker().run(once=True)) == 1
    assert len(setup.target.effects) == 2

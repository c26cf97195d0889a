"""Fair claims across tenants and SLA tiers, and connection limits shared by all workers."""

from __future__ import annotations

from collections import Counter

import pytest

from ledgerbridge import store
from tests.conftest import BACKENDS, ENGINE_BLUEPRINT
from tests.engine_support import FakeClock, make_setup

pytestmark = pytest.mark.parametrize("db", BACKENDS, indirect=True)


def _claim(setup, *, limit, owner="w1", worker=None):
    with setup.db.write() as conn:
        return store.runs.claim_runs(
            conn,
            owner=owner,
            now=setup.clock.now,
            lease_seconds=30,
            limit=limit,
            limits_of=worker.limits_of if worker else None,
        )


def _backlog(setup, n, prefix="te"):
    setup.client().ingest([setup.event(f"{prefix}-{i}", 1) for i in range(n)])


def test_claim_backlog_of_one_tenant_does_not_delay_another(db):
    """A tenant with 600 queued runs does not keep another tenant's single run out of the next batch."""
    clock = FakeClock()
    busy = make_setup(db, ENGINE_BLUEPRINT, clock=clock)
    quiet = make_setup(db, ENGINE_BLUEPRINT, clock=clock)
    _backlog(busy, 600)
    clock.advance(5)
    _backlog(quiet, 1)
    claimed = _claim(busy, limit=50)
    by_tenant = Counter(r.tenant_id for r in claimed)
    assert by_tenant == {busy.tenant_id: 49, quiet.tenant_id: 1}


def test_claim_fills_the_batch_from_one_tenant_when_alone(db):
    """With one tenant due, the whole batch is that tenant's oldest runs, in order."""
    setup = make_setup(db, ENGINE_BLUEPRINT)
    _backlog(setup, 30)
    claimed = _claim(setup, limit=20)
    assert len(claimed) == 20
    with setup.db.read() as conn:
        queued = store.runs.list_runs(conn, tenant_id=setup.tenant_id, status="queued")
    assert len(queued) == 10


def test_claim_shares_a_saturated_batch_by_tier(db):
    """Gold gets more of a full batch than silver, silver more than bronze, bronze still some."""
    clock = FakeClock()
    tiers = {
        t: make_setup(db, ENGINE_BLUEPRINT, tier=t, clock=clock)
        for t in ("bronze", "silver", "gold")
    }
    for setup in tiers.values():
        _backlog(setup, 30)
    claimed = _claim(tiers["gold"], limit=7)
    by_tier = {t: sum(r.tenant_id == s.tenant_id for r in claimed) for t, s in tiers.items()}
    assert by_tier == {"gold": 4, "silver": 2, "bronze": 1}


@pytest.mark.parametrize(("gold_later_by", "first"), [(29, "gold"), (31, "bronze")])
def test_claim_ages_waiting_runs_so_no_tier_starves(db, gold_later_by, first):
    """Gold's head start is bounded: a bronze run waiting 30 s longer is served first."""
    clock = FakeClock()
    bronze = make_setup(db, ENGINE_BLUEPRINT, tier="bronze", clock=clock)
    gold = make_setup(db, ENGINE_BLUEPRINT, tier="gold", clock=clock)
    _backlog(bronze, 1)
    clock.advance(gold_later_by)
    _backlog(gold, 1)
    [claimed] = _claim(gold, limit=1)
    assert claimed.tenant_id == {"gold": gold, "bronze": bronze}[first].tenant_id


def test_connection_concurrency_limit_holds_across_workers(db):
    """With concurrency 3 on the ERP connection, two workers together lease at most 3 runs."""
    setup = make_setup(db, ENGINE_BLUEPRINT, limits={"concurrency": 3})
    _backlog(setup, 10)
    first, second = setup.worker(), setup.worker()
    assert len(_claim(setup, limit=10, owner="a", worker=first)) == 3
    assert _claim(setup, limit=10, owner="b", worker=second) == []
    setup.clock.advance(31)  # the leases expire: the slots free up
    assert len(_claim(setup, limit=10, owner="b", worker=second)) == 3


def test_connection_rate_limit_refills_with_time(db):
    """A rate of 2 runs/s with a burst of 2 admits 2 runs now and 2 more a second later."""
    setup = make_setup(db, ENGINE_BLUEPRINT, limits={"rate_per_second": 2, "burst": 2})
    _backlog(setup, 10)
    worker = setup.worker()
    assert len(_claim(setup, limit=10, owner="a", worker=worker)) == 2
    assert _claim(setup, limit=10, owner="b", worker=setup.worker()) == []
    setup.clock.advance(1)
    assert len(_claim(setup, limit=10, owner="b", worker=setup.worker())) == 2


def test_worker_finishes_everything_under_connection_limits(db):
    """Limited runs are only delayed: draining the queue applies every event once."""
    setup = make_setup(db, ENGINE_BLUEPRINT, limits={"concurrency": 2, "rate_per_second": 5})
    _backlog(setup, 12)
    setup.drain()
    assert setup.client().counts(setup.tenant_id) == {"succeeded": 12}
    assert len(setup.target.effects) == 24

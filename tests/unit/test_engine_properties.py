"""Property: duplicates, reordering and crashes never lose or double an effect."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge import store
from tests.conftest import BACKENDS, ENGINE_BLUEPRINT, fresh_url
from tests.engine_support import make_setup

#: examples per backend (PostgreSQL clones a database per example, so it runs fewer)
EXAMPLES = {"sqlite": 40, "postgres": 12}

CRASH_POINTS = ["after_claim", "after_step:first", "after_step:second", "before_complete"]


class SimulatedCrash(BaseException):
    """The worker process dies here."""


def _crash_at(point: str, nth: int):
    seen = {"n": 0}

    def hook(at: str) -> None:
        if at == point:
            seen["n"] += 1
            if seen["n"] == nth:
                raise SimulatedCrash(point)

    return hook


@st.composite
def deliveries(draw):
    entities = draw(st.integers(1, 3))
    versions = draw(st.integers(1, 3))
    pairs = [(e, v) for e in range(entities) for v in range(1, versions + 1)]
    extra = draw(st.lists(st.sampled_from(pairs), max_size=6))
    order = draw(st.permutations(pairs + extra))
    cuts = draw(st.lists(st.integers(0, len(order)), max_size=3))
    crashes = draw(
        st.lists(st.tuples(st.sampled_from(CRASH_POINTS), st.integers(1, 3)), max_size=3)
    )
    return pairs, order, sorted(set(cuts)), crashes


@pytest.mark.parametrize("backend", BACKENDS)
def test_any_delivery_order_with_crashes_gives_in_order_result(backend, request, tmp_path_factory):
    """Each effect happens at most once per key, versions never go backwards, and the final
    state equals a clean in-order delivery."""

    @settings(max_examples=EXAMPLES[backend], deadline=None)
    @given(deliveries())
    def check(case):
        url = fresh_url(request, backend, tmp_path_factory.mktemp("prop"))
        _check_delivery(store.Database(url), case)

    check()


def _check_delivery(db, case):
    pairs, order, cuts, crashes = case
    setup = make_setup(db, ENGINE_BLUEPRINT)
    client = setup.client()
    bounds = [0, *cuts, len(order)]
    crash_plan = list(crashes)
    for start, end in itertools.pairwise(bounds):
        chunk = order[start:end]
        client.ingest([setup.event(f"te-{e}", v, hours=v) for e, v in chunk])
        if crash_plan:
            point, nth = crash_plan.pop(0)
            try:
                asyncio.run(setup.worker(fault_hook=_crash_at(point, nth)).run(once=True))
            except SimulatedCrash:
                setup.clock.advance(31)  # the dead worker's leases expire
    setup.drain()

    keys = [key for key, _entity in setup.target.effects]
    assert len(keys) == len(set(keys)), "an idempotency key was applied twice"
    newest = {}
    for e, v in pairs:
        newest[f"psa:time_entry:te-{e}"] = max(v, newest.get(f"psa:time_entry:te-{e}", 0))
    assert {k: s["version"] for k, s in setup.target.state.items()} == newest
    applied_versions: dict[str, list[int]] = {}
    for entity, version in setup.target.applied:
        applied_versions.setdefault(entity, []).append(version)
    for entity, versions in applied_versions.items():
        assert versions == sorted(versions), f"{entity} went backwards: {versions}"
    runs = client.list_runs(tenant_id=setup.tenant_id, limit=1000)
    assert {r["status"] for r in runs} <= {"succeeded", "skipped"}
    # The newest version of every entity was applied by exactly one succeeded run.
    for entity, version in newest.items():
        winners = [
            r
            for r in runs
            if r["entity_key"] == entity
            and r["entity_version"] == version
            and r["status"] == "succeeded"
        ]
        assert len(winners) == 1
    assert all(r.ok for r in client.verify_audit(setup.tenant_id))
    db.dispose()

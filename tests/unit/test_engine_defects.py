"""A defect in step code parks its run; the worker and the rest of the batch go on."""

from __future__ import annotations

import asyncio

from ledgerbridge.engine import step_kind
from tests.engine_support import make_setup

BLUEPRINT = """
blueprint: defect-test
version: 1
schema_version: 1
connections:
  target: {role: erp}
  source: {role: psa}
flows:
  - name: post_time
    trigger: {event: time_entry.approved}
    mode: realtime
    steps:
      - {name: post, kind: test.sometimes_broken, connection: target}
"""


@step_kind("test.sometimes_broken")
async def _sometimes_broken(ctx):
    if ctx.record.get("hours") == 13:
        raise KeyError("unlucky")
    return dict(
        await ctx.connector().apply(
            ctx.event.entity_key, ctx.event.source_version, ctx.record, ctx.idempotency_key
        )
    )


def test_step_code_defect_parks_only_its_run(db):
    """A KeyError in step code becomes a parked run naming the step; other runs succeed."""
    setup = make_setup(db, BLUEPRINT)
    setup.client().ingest([setup.event("te-1", 1, hours=13), setup.event("te-2", 1, hours=2)])
    asyncio.run(setup.worker().run(once=True))
    [exc] = setup.client().list_exceptions(tenant_id=setup.tenant_id)
    assert exc["kind"] == "permanent"
    assert exc["reason"] == "step 'post' failed unexpectedly: KeyError: 'unlucky'"
    statuses = sorted(r["status"] for r in setup.client().list_runs(tenant_id=setup.tenant_id))
    assert statuses == ["parked", "succeeded"]
    assert len(setup.target.effects) == 1

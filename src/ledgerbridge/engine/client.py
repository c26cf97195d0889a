"""Start and inspect runs: ingest events, list and show runs, work the exception queue.

These are the operations the CLI and the API call; each operator action is written to the
audit trail with its actor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ledgerbridge import blueprints, store
from ledgerbridge.engine._deployments import Deployment, DeploymentCache
from ledgerbridge.engine._execute import APPROVAL_STEP
from ledgerbridge.engine._ids import new_id
from ledgerbridge.engine._windows import due_at
from ledgerbridge.errors import NotFoundError, PermanentError
from ledgerbridge.model import BusinessEvent
from ledgerbridge.store._audit import AuditEntry

__all__ = ["Client", "IngestResult"]


@dataclass(kw_only=True)
class IngestResult:
    """What an ingest call stored."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    runs: int = 0
    event_ids: list[str] = field(default_factory=list)


class Client:
    """The engine's front door for one database."""

    def __init__(self, db: store.Database, *, clock: Any = time.time) -> None:
        self.db = db
        self.clock = clock
        self.deployments = DeploymentCache()

    def ingest(
        self, events: list[BusinessEvent], *, mode_override: str | None = None
    ) -> IngestResult:
        """Store events once (deduplicated) and queue a run for every flow they trigger.

        Everything happens in one transaction: an event is never stored without its runs.
        """
        result = IngestResult(received=len(events))
        if not events:
            return result
        now = self.clock()
        rows = [_event_row(e, now) for e in events]
        with self.db.write() as conn:
            stored = store.runs.insert_events(conn, rows)
            run_rows: list[dict[str, Any]] = []
            active: dict[str, list[Deployment]] = {}
            for row, event in zip(rows, events, strict=True):
                if row["id"] in stored:
                    if event.tenant_id not in active:
                        active[event.tenant_id] = self.deployments.active(conn, event.tenant_id)
                    run_rows.extend(
                        self._runs_for(
                            row["id"], event, now, mode_override, active[event.tenant_id]
                        )
                    )
            store.runs.insert_runs(conn, run_rows)
        result.stored = len(stored)
        result.duplicates = len(events) - len(stored)
        result.runs = len(run_rows)
        result.event_ids = [r["id"] for r in rows if r["id"] in stored]
        return result

    def _runs_for(
        self,
        event_id: str,
        event: BusinessEvent,
        now: float,
        mode_override: str | None,
        deployments: list[Deployment],
    ) -> list[dict[str, Any]]:
        rows = []
        record = event.payload.get("record") or {}
        for deployment in deployments:
            if event.connection_id not in deployment.bound_connections:
                continue
            for flow in _matching_flows(deployment.blueprint, event, record):
                mode = effective_mode(flow, deployment.settings, mode_override)
                rows.append(
                    {
                        "tenant_id": event.tenant_id,
                        "id": new_id("run"),
                        "event_id": event_id,
                        "deployment_id": deployment.id,
                        "flow": flow.name,
                        "entity_key": event.entity_key,
                        "entity_version": event.source_version,
                        "status": "queued",
                        "priority": 0,
                        "attempts": 0,
                        "available_at": due_at(mode, now),
                        "created_at": now,
                    }
                )
        return rows

    # runs -------------------------------------------------------------------------------
    def list_runs(
        self,
        *,
        tenant_id: str | None = None,
        status: str | None = None,
        flow: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """List runs, newest first."""
        with self.db.read() as conn:
            rows = store.runs.list_runs(
                conn, tenant_id=tenant_id, status=status, flow=flow, limit=limit
            )
        return [_run_dict(r) for r in rows]

    def show_run(self, run_id: str, *, tenant_id: str | None = None) -> dict[str, Any]:
        """Return a run with its steps and its event."""
        with self.db.read() as conn:
            run = _run(conn, run_id, tenant_id)
            if run is None:
                raise NotFoundError(f"run {run_id} does not exist")
            tenant_id = run.tenant_id
            steps = store.runs.run_steps(conn, tenant_id, run_id)
            event = store.runs.get_event(conn, tenant_id, run.event_id) if run.event_id else None
        out = _run_dict(run)
        out["steps"] = [
            {
                "name": s.name,
                "status": s.status,
                "attempts": s.attempts,
                "idempotency_key": s.idempotency_key,
                "result": store.loads(s.result),
                "error": store.loads(s.error),
                "started_at": s.started_at,
                "finished_at": s.finished_at,
            }
            for s in steps
        ]
        if event is not None:
            out["event"] = {
                "id": event.id,
                "type": event.event_type,
                "object_type": event.object_type,
                "external_id": event.external_id,
                "source_version": event.source_version,
                "payload": store.loads(event.payload),
            }
        return out

    def counts(self, tenant_id: str | None = None) -> dict[str, int]:
        """Count runs per status."""
        with self.db.read() as conn:
            return store.runs.count_runs_by_status(conn, tenant_id)

    # exceptions -------------------------------------------------------------------------
    def list_exceptions(
        self,
        *,
        tenant_id: str | None = None,
        status: str | None = "open",
        error_kind: str | None = None,
        flow: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """List exception-queue entries, newest first."""
        with self.db.read() as conn:
            rows = store.exceptions.list_(
                conn,
                tenant_id=tenant_id,
                status=status,
                error_kind=error_kind,
                flow=flow,
                limit=limit,
            )
        return [_exception_dict(r) for r in rows]

    def show_exception(self, exception_id: str, *, tenant_id: str | None = None) -> dict[str, Any]:
        """Return one exception with everything needed to act on it."""
        with self.db.read() as conn:
            row = _exception(conn, exception_id, tenant_id)
        if row is None:
            raise NotFoundError(f"exception {exception_id} does not exist")
        return _exception_dict(row, full=True)

    def retry(
        self, exception_id: str, *, actor: str, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Put the exception's run back in the queue; finished steps stay finished."""
        return self._resolve(exception_id, actor=actor, tenant_id=tenant_id, resolution="retried")

    def approve(
        self, exception_id: str, *, actor: str, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Approve a run held by an approval policy and put it back in the queue."""
        return self._resolve(exception_id, actor=actor, tenant_id=tenant_id, resolution="approved")

    def skip(
        self, exception_id: str, *, actor: str, reason: str, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Close the exception without running its run again; ``reason`` is required."""
        if not reason.strip():
            raise ValueError("a reason is required to skip an exception")
        return self._resolve(
            exception_id, actor=actor, tenant_id=tenant_id, resolution="skipped", note=reason
        )

    def _resolve(
        self,
        exception_id: str,
        *,
        actor: str,
        tenant_id: str | None,
        resolution: str,
        note: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        with self.db.write() as conn:
            row = _exception(conn, exception_id, tenant_id)
            if row is None:
                raise NotFoundError(f"exception {exception_id} does not exist")
            if row.status != "open":
                raise PermanentError(
                    f"exception {exception_id} is already {row.resolution}",
                    hint="only open exceptions can be acted on",
                )
            store.exceptions.resolve(
                conn, row.tenant_id, row.id, resolution=resolution, actor=actor, now=now, note=note
            )
            if resolution == "skipped":
                store.runs.set_run_status(
                    conn, row.tenant_id, row.run_id, status="skipped", now=now
                )
            else:
                if resolution == "approved":
                    _record_approval(conn, row.tenant_id, row.run_id, actor, now)
                store.runs.requeue_run(conn, row.tenant_id, row.run_id, now=now)
            store.audit.append(
                conn,
                [
                    AuditEntry(
                        tenant_id=row.tenant_id,
                        actor=actor,
                        action=f"exception.{resolution}",
                        subject=f"exception:{row.id}",
                        detail={"run_id": row.run_id, "note": note},
                        at=now,
                    )
                ],
            )
        return {
            "id": exception_id,
            "run_id": row.run_id,
            "tenant_id": row.tenant_id,
            "resolution": resolution,
        }

    def replay(self, run_id: str, *, actor: str, tenant_id: str | None = None) -> dict[str, Any]:
        """Queue a new run of the same event and flow.

        Steps that already succeeded for the same blueprint version are found by their
        idempotency key and not repeated, so a replay redoes only what is unfinished.
        """
        now = self.clock()
        with self.db.write() as conn:
            run = _run(conn, run_id, tenant_id)
            if run is None:
                raise NotFoundError(f"run {run_id} does not exist")
            tenant_id = run.tenant_id
            new = {
                "tenant_id": tenant_id,
                "id": new_id("run"),
                "event_id": run.event_id,
                "deployment_id": run.deployment_id,
                "flow": run.flow,
                "entity_key": run.entity_key,
                "entity_version": run.entity_version,
                "status": "queued",
                "priority": 0,
                "attempts": 0,
                "available_at": now,
                "created_at": now,
            }
            store.runs.insert_runs(conn, [new])
            store.exceptions.resolve_for_run(
                conn, tenant_id, run_id, resolution="replayed", actor=actor, now=now
            )
            store.audit.append(
                conn,
                [
                    AuditEntry(
                        tenant_id=tenant_id,
                        actor=actor,
                        action="run.replayed",
                        subject=f"run:{run_id}",
                        detail={"new_run_id": new["id"]},
                        at=now,
                    )
                ],
            )
        return {"run_id": new["id"], "replay_of": run_id}

    def verify_audit(self, tenant_id: str | None = None) -> list[store.audit.ChainReport]:
        """Verify the audit chain of one tenant, or of every tenant."""
        with self.db.read() as conn:
            tenants = [tenant_id] if tenant_id else store.audit.tenants_with_audit(conn)
            return [store.audit.verify(conn, t) for t in tenants]


def effective_mode(flow: Any, settings: dict[str, Any], override: str | None = None) -> Any:
    """The mode a flow runs in under a deployment's settings.

    ``settings["modes"]`` may name a mode per flow, or a ``default`` that applies to every
    flow that allows it; ``settings["batch_window"]`` (``{every, at}``) sets the window
    of flows switched to batch. A flow that does not allow the default keeps its own mode.
    """
    modes = settings.get("modes", {})
    choice = modes.get(flow.name)
    default = override or modes.get("default")
    if choice is None and default in flow.modes_allowed:
        choice = default
    mode = flow.effective_mode(choice)
    window = settings.get("batch_window")
    if mode.kind == "batch" and not mode.every and window:
        mode = blueprints.Mode(kind="batch", every=window.get("every"), at=window.get("at"))
    return mode


def _run(conn: Any, run_id: str, tenant_id: str | None) -> Any:
    """A run by id, within a tenant when one is given."""
    if tenant_id:
        return store.runs.get_run(conn, tenant_id, run_id)
    return store.runs.find_run(conn, run_id)


def _exception(conn: Any, exception_id: str, tenant_id: str | None) -> Any:
    """An exception by id, within a tenant when one is given."""
    if tenant_id:
        return store.exceptions.get(conn, tenant_id, exception_id)
    return store.exceptions.find(conn, exception_id)


def _matching_flows(blueprint: Any, event: BusinessEvent, record: dict[str, Any]) -> list[Any]:
    try:
        return list(blueprint.flows_for(event.event_type, record))
    except Exception:
        # A condition that cannot be evaluated on a bad record must not lose the event: queue
        # every flow of that event type so the run parks with the record's problem.
        return [f for f in blueprint.flows if f.trigger.event == event.event_type]


def _record_approval(conn: Any, tenant_id: str, run_id: str, actor: str, now: float) -> None:
    store.runs.save_steps(
        conn,
        [
            {
                "tenant_id": tenant_id,
                "run_id": run_id,
                "name": APPROVAL_STEP,
                "seq": -1,
                "status": "succeeded",
                "result": store.dumps({"approved_by": actor}),
                "idempotency_key": None,
                "attempts": 1,
                "started_at": now,
                "finished_at": now,
                "error": None,
            }
        ],
    )


def _event_row(event: BusinessEvent, now: float) -> dict[str, Any]:
    return {
        "tenant_id": event.tenant_id,
        "id": new_id("evt"),
        "connection_id": event.connection_id,
        "event_type": event.event_type,
        "object_type": event.object_type,
        "external_id": event.external_id,
        "source_version": event.source_version,
        "payload": store.dumps(event.payload),
        "received_at": now,
    }


def _run_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "flow": row.flow,
        "status": row.status,
        "entity_key": row.entity_key,
        "entity_version": row.entity_version,
        "attempts": row.attempts,
        "event_id": row.event_id,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "error": store.loads(row.error),
    }


def _exception_dict(row: Any, *, full: bool = False) -> dict[str, Any]:
    out = {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "run_id": row.run_id,
        "flow": row.flow,
        "status": row.status,
        "kind": row.error_kind,
        "reason": row.reason,
        "hint": row.hint,
        "created_at": row.created_at,
        "resolution": row.resolution,
        "resolved_by": row.resolved_by,
    }
    if full:
        out["detail"] = store.loads(row.detail)
        out["note"] = row.note
    return out

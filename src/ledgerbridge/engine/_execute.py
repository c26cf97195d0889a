"""Execute one claimed run: checks, then its steps in order, skipping finished ones."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ledgerbridge import errors, store
from ledgerbridge.engine import step as step_api
from ledgerbridge.engine._deployments import Deployment
from ledgerbridge.engine._ids import idempotency_key, new_id
from ledgerbridge.engine._retry import RetryPolicy
from ledgerbridge.model import BusinessEvent
from ledgerbridge.store._audit import AuditEntry

APPROVAL_STEP = "__approval"


@dataclass(kw_only=True)
class Outcome:
    """What a run attempt produced, written back in one transaction with its batch."""

    tenant_id: str
    run_id: str
    status: str  # succeeded | queued (retry) | parked | skipped
    available_at: float
    error: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    xrefs: list[dict[str, Any]] = field(default_factory=list)
    audits: list[AuditEntry] = field(default_factory=list)
    exception: dict[str, Any] | None = None
    entity_key: str = ""
    entity_version: int = 0


@dataclass(kw_only=True)
class RunInput:
    """Everything loaded for one claimed run before it executes."""

    claim: Any
    event: Any
    deployment: Deployment
    run_steps: dict[str, Any]
    finished_by_key: dict[tuple[str, str], Any]
    applied_version: int | None
    started_version: int | None = None


def event_from_row(row: Any) -> BusinessEvent:
    """Rebuild a BusinessEvent from its inbox row."""
    return BusinessEvent(
        tenant_id=row.tenant_id,
        connection_id=row.connection_id,
        event_type=row.event_type,
        object_type=row.object_type,
        external_id=row.external_id,
        source_version=row.source_version,
        payload=store.loads(row.payload) or {},
    )


class RunExecutor:
    """Runs the steps of one run against the worker's services."""

    def __init__(
        self, services: Any, *, policy_for: Any, clock: Any = time.time, fault_hook: Any = None
    ) -> None:
        self.services = services
        self.policy_for = policy_for
        self.clock = clock
        self.fault_hook = fault_hook

    async def execute(self, item: RunInput) -> Outcome:
        """Execute the run and return its outcome (never raises LedgerbridgeError)."""
        claim = item.claim
        base = Outcome(
            tenant_id=claim.tenant_id,
            run_id=claim.id,
            status="succeeded",
            available_at=self.clock(),
            entity_key=claim.entity_key,
            entity_version=claim.entity_version,
        )
        newer = max(item.applied_version or -1, item.started_version or -1)
        if newer > claim.entity_version:
            base.status = "skipped"
            base.error = {
                "kind": "stale",
                "message": f"superseded: version {newer} of this record was already applied",
            }
            return base
        event = event_from_row(item.event)
        blueprint = item.deployment.blueprint
        flow = blueprint.flow(claim.flow)
        record = event.payload.get("record") or {}
        started = self.clock()
        try:
            self._check(event, blueprint, flow, record, item)
        except errors.LedgerbridgeError as exc:
            return self._fail(
                base,
                exc,
                step_name=None,
                attempt=claim.attempts,
                record=record,
                about=None,
                connection=None,
                item=item,
            )
        results: dict[str, dict[str, Any]] = {}
        for seq, spec in enumerate(flow.steps):
            key = idempotency_key(
                tenant_id=claim.tenant_id,
                blueprint=blueprint.name,
                version=blueprint.version,
                flow=flow.name,
                step=spec.name,
                entity_key=claim.entity_key,
                source_version=claim.entity_version,
            )
            prior = item.finished_by_key.get((claim.tenant_id, key))
            own = item.run_steps.get(spec.name)
            if prior is None and own is not None and own.status == "succeeded":
                prior = own
            if prior is not None:
                results[spec.name] = store.loads(prior.result) or {}
                continue
            ctx = self._context(item, event, record, spec, key, results, started, blueprint)
            step_started = self.clock()
            try:
                result = await self._call(spec, ctx)
            except errors.LedgerbridgeError as exc:
                base.steps.append(
                    self._step_row(
                        claim,
                        spec,
                        seq,
                        key,
                        step_started,
                        status=_failed_status(exc),
                        error=exc.to_dict(),
                    )
                )
                return self._fail(
                    base,
                    exc,
                    step_name=spec.name,
                    attempt=claim.attempts,
                    record=record,
                    about=ctx.about_to_write,
                    connection=self._bound(item, spec),
                    item=item,
                )
            results[spec.name] = result
            base.steps.append(
                self._step_row(
                    claim, spec, seq, key, step_started, status="succeeded", result=result
                )
            )
            base.xrefs.extend(_xref_rows(claim.tenant_id, ctx.xref_writes, self.clock()))
            if self.fault_hook:
                self.fault_hook(f"after_step:{spec.name}")
        base.audits.append(
            AuditEntry(
                tenant_id=claim.tenant_id,
                actor="engine",
                action="run.succeeded",
                subject=f"{flow.name}:{claim.entity_key}@{claim.entity_version}",
                detail={"run_id": claim.id, "results": results},
                at=self.clock(),
            )
        )
        return base

    def internal_failure(self, item: RunInput, exc: Exception) -> Outcome:
        """Park a run whose execution failed inside the engine itself."""
        claim = item.claim
        base = Outcome(
            tenant_id=claim.tenant_id,
            run_id=claim.id,
            status="parked",
            available_at=self.clock(),
            entity_key=claim.entity_key,
            entity_version=claim.entity_version,
        )
        wrapped = errors.PermanentError(
            f"the engine failed on this run: {type(exc).__name__}: {exc}",
            hint="this is a defect; report it, then retry or skip the run",
        )
        return self._fail(
            base,
            wrapped,
            step_name=None,
            attempt=claim.attempts,
            record={},
            about=None,
            connection=None,
            item=item,
        )

    def _check(
        self,
        event: BusinessEvent,
        blueprint: Any,
        flow: Any,
        record: dict[str, Any],
        item: RunInput,
    ) -> None:
        mapping_error = event.payload.get("mapping_error")
        if mapping_error:
            raise errors.RecordError(
                mapping_error.get("message", "the source record could not be read"),
                field=mapping_error.get("field"),
                hint=mapping_error.get("hint") or "correct the record in the source system",
            )
        violations = blueprint.check_quality(flow, record)
        if violations:
            first = violations[0]
            message = "; ".join(
                f"{v.field}: {v.message}" if v.field else v.message for v in violations
            )
            raise errors.DataQualityError(
                message,
                rule=first.rule,
                field=first.field,
                hint="correct the record in the source system; the change re-sends it",
            )
        policy = blueprint.approval_for(flow, record)
        approved = item.run_steps.get(APPROVAL_STEP)
        if policy is not None and (approved is None or approved.status != "succeeded"):
            raise _ApprovalRequired(
                f"held for approval by policy {policy.name!r}",
                hint=f"a {getattr(policy, 'role', 'partner_operator')} approves it to post",
            )

    def _context(
        self,
        item: RunInput,
        event: BusinessEvent,
        record: dict[str, Any],
        spec: Any,
        key: str,
        results: dict[str, dict[str, Any]],
        started: float,
        blueprint: Any,
    ) -> step_api.StepContext:
        claim = item.claim
        own = item.run_steps.get(spec.name)
        activation = {
            "record": record,
            "event": {"type": event.event_type, "id": event.external_id},
        }
        return step_api.StepContext(
            tenant_id=claim.tenant_id,
            run_id=claim.id,
            flow=claim.flow,
            step=spec.name,
            kind=spec.kind,
            params=dict(spec.params or {}),
            event=event,
            record=record,
            idempotency_key=key,
            attempt=claim.attempts,
            previous_attempt_ambiguous=own is not None and own.status in ("ambiguous", "retrying"),
            results=results,
            bindings=item.deployment.bindings,
            settings=item.deployment.settings,
            started_at=started,
            mapping=lambda name: blueprint.apply_mapping(name, activation),
            services=self.services,
            blueprint=blueprint,
            step_connection=spec.connection,
        )

    async def _call(self, spec: Any, ctx: step_api.StepContext) -> dict[str, Any]:
        fn = step_api.lookup(spec.kind)
        if fn is None:
            raise errors.ConfigError(
                f"step {spec.name!r} uses unknown kind {spec.kind!r}",
                hint=f"known kinds: {', '.join(step_api.kinds())}",
            )
        try:
            return await fn(ctx)
        except errors.LedgerbridgeError:
            raise
        except Exception as exc:  # a bug in step code parks the run instead of killing the worker
            raise errors.PermanentError(
                f"step {spec.name!r} failed unexpectedly: {type(exc).__name__}: {exc}",
                hint="this is a defect in the step code; report it, then retry or skip the run",
            ) from exc

    def _bound(self, item: RunInput, spec: Any) -> str | None:
        return item.deployment.bindings.get(spec.connection) if spec.connection else None

    def _fail(
        self,
        base: Outcome,
        exc: errors.LedgerbridgeError,
        *,
        step_name: str | None,
        attempt: int,
        record: dict[str, Any],
        about: dict[str, Any] | None,
        connection: str | None,
        item: RunInput,
    ) -> Outcome:
        now = self.clock()
        error = exc.to_dict() | {"step": step_name, "attempt": attempt}
        base.error = error
        if isinstance(exc, errors.TransientError):
            policy: RetryPolicy = self.policy_for(base.tenant_id, connection)
            if policy.should_retry(attempt):
                base.status = "queued"
                base.available_at = now + policy.delay(attempt, retry_after=exc.retry_after)
                return base
            reason = f"gave up after {attempt} attempts: {exc.message}"
            hint: str | None = exc.hint or "check the target system is reachable, then retry"
        else:
            reason, hint = exc.message, exc.hint
        base.status = "parked"
        base.exception = {
            "tenant_id": base.tenant_id,
            "id": new_id("exc"),
            "run_id": base.run_id,
            "flow": item.claim.flow,
            "status": "open",
            "error_kind": exc.kind,
            "reason": reason,
            "hint": hint,
            "created_at": now,
            "detail": store.dumps(
                {
                    "step": step_name,
                    "error": error,
                    "record": record,
                    "about_to_write": about,
                    "event_id": item.claim.event_id,
                    "entity_key": item.claim.entity_key,
                    "entity_version": item.claim.entity_version,
                }
            ),
        }
        base.audits.append(
            AuditEntry(
                tenant_id=base.tenant_id,
                actor="engine",
                action="run.parked",
                subject=f"{item.claim.flow}:{item.claim.entity_key}@{item.claim.entity_version}",
                detail={"run_id": base.run_id, "reason": reason},
                at=now,
            )
        )
        return base

    def _step_row(
        self,
        claim: Any,
        spec: Any,
        seq: int,
        key: str,
        started: float,
        *,
        status: str,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "tenant_id": claim.tenant_id,
            "run_id": claim.id,
            "name": spec.name,
            "seq": seq,
            "status": status,
            "result": store.dumps(result) if result is not None else None,
            "idempotency_key": key,
            "attempts": claim.attempts,
            "started_at": started,
            "finished_at": self.clock(),
            "error": store.dumps(error) if error else None,
        }


class _ApprovalRequired(errors.PermanentError):
    """The run waits for a person's approval."""

    kind = "approval"


def _failed_status(exc: errors.LedgerbridgeError) -> str:
    if isinstance(exc, errors.AmbiguousError):
        return "ambiguous"
    if isinstance(exc, errors.TransientError):
        return "retrying"
    return "failed"


def _xref_rows(
    tenant_id: str, writes: list[step_api.XrefWrite], now: float
) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant_id,
            "object_type": w.object_type,
            "canonical_id": w.canonical_id,
            "system": w.system,
            "external_id": w.external_id,
            "data": store.dumps(w.data),
            "updated_at": now,
        }
        for w in writes
    ]

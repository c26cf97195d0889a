"""The worker: claims batches of runs, executes them concurrently, records outcomes.

One batch is three transactions whatever its size: a claim (one UPDATE ... RETURNING that
leases up to ``batch_size`` runs), a load (events, steps, applied versions), and one
completion (steps, run states, xrefs, exceptions, audit rows). A worker that dies loses
nothing: its leases expire and another worker claims the runs again; finished steps are
found by their idempotency key and not repeated, and unfinished external writes carry the
same key, so the target deduplicates them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import sqlalchemy as sa
import structlog

from ledgerbridge import connectors, errors, store
from ledgerbridge.engine import _completion
from ledgerbridge.engine._deployments import DeploymentCache
from ledgerbridge.engine._execute import Outcome, RunExecutor, RunInput
from ledgerbridge.engine._retry import RetryPolicy
from ledgerbridge.store import _claims, _xref_batch

__all__ = ["Worker", "WorkerSettings"]

log = structlog.get_logger("ledgerbridge.worker")


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkerSettings:
    """How a worker claims and runs work."""

    batch_size: int = 100  #: runs claimed per transaction
    concurrency: int = 32  #: runs executing at once (external calls in flight)
    lease_seconds: float = 30.0  #: how long a claim lasts without renewal
    idle_sleep: float = 0.2  #: pause when the queue is empty

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.concurrency < 1:
            raise ValueError("batch_size and concurrency must be at least 1")
        if self.lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")


class Worker:
    """Runs the job loop against one database."""

    def __init__(
        self,
        db: store.Database,
        *,
        settings: WorkerSettings | None = None,
        clock: Callable[[], float] = time.time,
        fault_hook: Callable[[str], None] | None = None,
        connector_kwargs: dict[str, Any] | None = None,
        settings_loader: Callable[[str, str], dict[str, Any]] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings or WorkerSettings()
        self.clock = clock
        self.fault_hook = fault_hook
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self.deployments = DeploymentCache()
        self._connectors: dict[tuple[str, str], Any] = {}
        self._policies: dict[tuple[str, str], RetryPolicy] = {}
        self._limits: dict[tuple[str, str], _claims.ConnectionLimit | None] = {}
        self._flow_limits: dict[tuple[str, str, str], list[_claims.ConnectionLimit]] = {}
        self._xrefs: dict[tuple[str, str, str, str], str] = {}
        # xrefs of the objects the current batch is about, read with the batch
        self._batch_objects: set[tuple[str, str, str]] = set()
        self._batch_xrefs: dict[tuple[str, str, str, str], Any] = {}
        self._connector_kwargs = connector_kwargs or {}
        self._settings_loader = settings_loader or self._plain_settings
        self._http: aiohttp.ClientSession | None = None
        self._stop = asyncio.Event()
        self.executor = RunExecutor(
            self, policy_for=self.policy_for, clock=clock, fault_hook=fault_hook
        )
        connectors.load_builtin()

    # services for step contexts -------------------------------------------------------
    def connector(self, tenant_id: str, connection_id: str) -> Any:
        """Return (and cache) the connector instance of a tenant's connection."""
        key = (tenant_id, connection_id)
        found = self._connectors.get(key)
        if found is None:
            with self.db.read() as conn:
                row = store.tenancy.get_connection(conn, tenant_id, connection_id)
            if row is None:
                raise errors.ConfigError(f"connection {connection_id} does not exist")
            if row.secret and self._settings_loader == self._plain_settings:
                raise errors.ConfigError(
                    f"connection {connection_id} has encrypted credentials and this worker has no key",
                    hint="start the worker with LEDGERBRIDGE_SECRET_KEY set",
                )
            settings = self._settings_loader(tenant_id, connection_id)
            found = connectors.create(
                row.kind,
                settings,
                session=self.http,
                tenant_id=tenant_id,
                connection_id=connection_id,
                **self._connector_kwargs,
            )
            self._connectors[key] = found
        return found

    def _plain_settings(self, tenant_id: str, connection_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            row = store.tenancy.get_connection(conn, tenant_id, connection_id)
        return (store.loads(row.settings) or {}) if row else {}

    def xref(self, tenant_id: str, object_type: str, canonical_id: str, system: str) -> str | None:
        """Return a recorded cross-reference (cached; xrefs only ever gain ids)."""
        key = (tenant_id, object_type, canonical_id, system)
        found = self._xrefs.get(key)
        if found is None:
            with self.db.read() as conn:
                row = store.xrefs.get(conn, tenant_id, object_type, canonical_id, system)
            if row is None:
                return None
            found = self._xrefs[key] = row.external_id
        return found

    def xref_record(
        self, tenant_id: str, object_type: str, canonical_id: str, system: str
    ) -> tuple[str, dict[str, Any]] | None:
        """Return a cross-reference's external id and data, read fresh from the database.

        The xrefs of the objects a batch is about are read with the batch (its runs are the
        only writers of them while it executes); others are read when asked for.
        """
        if (tenant_id, object_type, canonical_id) in self._batch_objects:
            found = self._batch_xrefs.get((tenant_id, object_type, canonical_id, system))
            return (found.external_id, store.loads(found.data) or {}) if found else None
        with self.db.read() as conn:
            row = store.xrefs.get(conn, tenant_id, object_type, canonical_id, system)
        if row is None:
            return None
        return row.external_id, store.loads(row.data) or {}

    def policy_for(self, tenant_id: str, connection_id: str | None) -> RetryPolicy:
        """Return the retry policy of a connection (its ``retry`` settings) or the default."""
        if connection_id is None:
            return RetryPolicy()
        key = (tenant_id, connection_id)
        if key not in self._policies:
            with self.db.read() as conn:
                row = store.tenancy.get_connection(conn, tenant_id, connection_id)
            settings = (store.loads(row.settings) or {}) if row else {}
            self._policies[key] = RetryPolicy.from_settings(settings.get("retry"))
        return self._policies[key]

    def limits_of(self, conn: Any, run: Any) -> list[_claims.ConnectionLimit]:
        """Return the limits of the connections a claimed run's flow writes through.

        A connection's ``limits`` settings (``rate_per_second``, ``burst``, ``concurrency``)
        are read once per worker process.
        """
        key = (run.tenant_id, run.deployment_id, run.flow)
        found = self._flow_limits.get(key)
        if found is None:
            deployment = self.deployments.get(conn, run.tenant_id, run.deployment_id)
            bound = {
                deployment.bindings.get(spec.connection)
                for spec in deployment.blueprint.flow(run.flow).steps
                if spec.connection
            }
            found = []
            for connection_id in sorted(c for c in bound if c):
                limit = self._connection_limit(conn, run.tenant_id, connection_id)
                if limit is not None:
                    found.append(limit)
            self._flow_limits[key] = found
        return found

    def _connection_limit(
        self, conn: Any, tenant_id: str, connection_id: str
    ) -> _claims.ConnectionLimit | None:
        key = (tenant_id, connection_id)
        if key not in self._limits:
            row = store.tenancy.get_connection(conn, tenant_id, connection_id)
            wanted = ((store.loads(row.settings) or {}) if row else {}).get("limits") or {}
            self._limits[key] = (
                _claims.ConnectionLimit(
                    tenant_id=tenant_id,
                    connection_id=connection_id,
                    rate_per_second=wanted.get("rate_per_second"),
                    burst=wanted.get("burst"),
                    concurrency=wanted.get("concurrency"),
                )
                if wanted
                else None
            )
        return self._limits[key]

    @property
    def http(self) -> aiohttp.ClientSession:
        """The worker's shared HTTP session (connections are reused across runs)."""
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=self.settings.concurrency * 2, limit_per_host=0)
            self._http = aiohttp.ClientSession(connector=connector)
        return self._http

    # the loop ----------------------------------------------------------------------------
    async def run(
        self, *, once: bool = False, max_batches: int | None = None, handle_signals: bool = False
    ) -> int:
        """Process batches until stopped; with ``once``, until the queue has nothing due.

        With ``handle_signals``, SIGTERM and SIGINT stop the loop gracefully: the batch in
        flight completes and is recorded, nothing new is claimed.

        Returns:
            The number of runs processed.
        """
        total, batches = 0, 0
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stop)
        outage = 0
        try:
            while not self._stop.is_set():
                try:
                    done = await self.run_batch()
                    outage = 0
                except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                    # The database is restarting or unreachable: nothing was committed for
                    # this batch, its leases expire, and the loop waits and tries again.
                    outage += 1
                    wait = min(5.0, 0.2 * 2**outage)
                    log.warning("database unavailable", error=str(exc.orig)[:200], retry_in=wait)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), wait)
                    continue
                total += done
                batches += 1
                if max_batches is not None and batches >= max_batches:
                    break
                if done == 0:
                    if once:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.settings.idle_sleep)
        finally:
            await self.aclose()
        return total

    def stop(self) -> None:
        """Ask the loop to finish its current batch and return."""
        self._stop.set()

    async def aclose(self) -> None:
        """Close connectors and the HTTP session."""
        for instance in self._connectors.values():
            with contextlib.suppress(Exception):
                await instance.aclose()
        self._connectors.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def run_batch(self) -> int:
        """Claim, execute and complete one batch; return how many runs it held."""
        now = self.clock()
        with self.db.write() as conn:
            claims = store.runs.claim_runs(
                conn,
                owner=self.owner,
                now=now,
                lease_seconds=self.settings.lease_seconds,
                limit=self.settings.batch_size,
                limits_of=self.limits_of,
            )
        if not claims:
            return 0
        if self.fault_hook:
            self.fault_hook("after_claim")
        inputs = self._load(claims)
        heartbeat = asyncio.create_task(self._heartbeat([(c.tenant_id, c.id) for c in claims]))
        try:
            outcomes = await self._execute_all(inputs)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if self.fault_hook:
            self.fault_hook("before_complete")
        try:
            self._complete(outcomes)
        finally:
            self._batch_objects, self._batch_xrefs = set(), {}
        return len(claims)

    def _load(self, claims: list[Any]) -> list[RunInput]:
        run_keys = [(c.tenant_id, c.id) for c in claims]
        with self.db.read() as conn:
            events = store.runs.load_events(conn, [(c.tenant_id, c.event_id) for c in claims])
            step_rows = store.runs.load_steps(conn, run_keys)
            keys = {(s.tenant_id, s.idempotency_key) for s in step_rows if s.idempotency_key}
            entities = [(c.tenant_id, c.entity_key) for c in claims]
            applied = store.runs.applied_versions(conn, entities)
            started = store.runs.started_versions(conn, entities)
            deployments = {
                (c.tenant_id, c.deployment_id): self.deployments.get(
                    conn, c.tenant_id, c.deployment_id
                )
                for c in claims
            }
            finished = self._finished_steps(conn, claims, deployments, keys)
            objects = {(e.tenant_id, e.object_type, e.external_id) for e in events.values()}
            self._batch_xrefs = _xref_batch.load_for_objects(conn, objects)
            self._batch_objects = objects
        by_run: dict[tuple[str, str], dict[str, Any]] = {}
        for row in step_rows:
            by_run.setdefault((row.tenant_id, row.run_id), {})[row.name] = row
        return [
            RunInput(
                claim=c,
                event=events.get((c.tenant_id, c.event_id)),
                deployment=deployments[(c.tenant_id, c.deployment_id)],
                run_steps=by_run.get((c.tenant_id, c.id), {}),
                finished_by_key=finished,
                applied_version=applied.get((c.tenant_id, c.entity_key)),
                started_version=started.get((c.tenant_id, c.entity_key)),
            )
            for c in claims
        ]

    def _finished_steps(
        self, conn: Any, claims: list[Any], deployments: dict[Any, Any], keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        from ledgerbridge.engine._ids import idempotency_key

        for c in claims:
            blueprint = deployments[(c.tenant_id, c.deployment_id)].blueprint
            for spec in blueprint.flow(c.flow).steps:
                keys.add(
                    (
                        c.tenant_id,
                        idempotency_key(
                            tenant_id=c.tenant_id,
                            blueprint=blueprint.name,
                            version=blueprint.version,
                            flow=c.flow,
                            step=spec.name,
                            entity_key=c.entity_key,
                            source_version=c.entity_version,
                        ),
                    )
                )
        return store.runs.load_finished_steps_by_key(conn, keys)

    async def _execute_all(self, inputs: list[RunInput]) -> list[Outcome]:
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(item: RunInput) -> Outcome:
            async with gate:
                try:
                    return await self.executor.execute(item)
                except Exception as exc:  # never let one run take the batch down
                    log.exception("run failed inside the engine", run_id=item.claim.id)
                    return self.executor.internal_failure(item, exc)

        return list(await asyncio.gather(*(one(i) for i in inputs)))

    async def _heartbeat(self, keys: list[tuple[str, str]]) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            with self.db.write() as conn:
                store.runs.extend_leases(
                    conn,
                    owner=self.owner,
                    keys=keys,
                    expires=self.clock() + self.settings.lease_seconds,
                )

    def _complete(self, outcomes: list[Outcome]) -> None:
        saved = _completion.complete(self.db, owner=self.owner, outcomes=outcomes, clock=self.clock)
        for x in saved:
            key = (x["tenant_id"], x["object_type"], x["canonical_id"], x["system"])
            self._xrefs[key] = x["external_id"]

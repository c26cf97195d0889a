"""The chaos run: the delivery-to-cash month for several tenants under faults and kills.

Each tenant gets its own PSA and ERP sandbox with the same fault plan (5xx, 429 bursts,
dropped connections, ambiguous writes) and a PSA feed that delivers events out of order. This
process replays the sample months into the PSAs hour by hour and polls the feeds; worker
processes run the flows and are killed with SIGKILL at random moments and started again. About
one event in ten is ingested a second time, later, as a webhook sender would redeliver it.
At the end every tenant is reconciled and checked: nothing lost, nothing doubled, every
failure explained, nothing stuck, the audit chain intact.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import random
import resource
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from ledgerbridge import demo, errors, sample, sandboxes, store, tenancy
from ledgerbridge.chaos import _checks, _rig, _workers
from ledgerbridge.engine import Client, Worker
from ledgerbridge.engine.poller import Poller
from ledgerbridge.model import BusinessEvent

__all__ = ["ChaosOptions", "ChaosReport", "run_chaos", "run_chaos_sync"]

log = structlog.get_logger("ledgerbridge.chaos")


@dataclass(frozen=True, kw_only=True, slots=True)
class ChaosOptions:
    """What a chaos run does.

    Attributes:
        tenants: tenants run at once, each with its own sandbox pair.
        kills: worker processes killed with SIGKILL over the run (spread over the month).
        min_faults: fewest faults the sandboxes must inject for the run to count.
        entries: time entries per tenant and month (see ``demo.scaled_config``).
        workers: worker processes alive at any time.
        database_url: the store; None makes a SQLite file under ``workdir``.
        workdir: where the database and worker logs go; None makes a temporary directory.
        plan: the fault plan of every sandbox.
        duplicate_rate: share of events ingested a second time, one round later.
        shuffle_window: the PSA feed shuffles events within windows of this size.
        lease_seconds: worker lease, so a killed worker's runs come back this fast.
        catch_up_s: longest wait for the pipeline to drain after one hour of PSA activity.
        stuck_after_s: a run still queued or running this long after it was created is stuck.
        seed: seed of the samples, the faults, the kills and the duplicates.
        restart_database: called once mid-run to restart the database server, if given.
    """

    tenants: int = 3
    kills: int = 20
    min_faults: int = 1000
    entries: int = 1000
    workers: int = 2
    database_url: str | None = None
    workdir: Path | None = None
    plan: sandboxes.FaultPlan = _rig.FAULTS
    duplicate_rate: float = 0.10
    shuffle_window: int = 8
    lease_seconds: float = 3.0
    catch_up_s: float = 180.0
    stuck_after_s: float = 60.0
    seed: int = 7
    restart_database: Any = None

    def __post_init__(self) -> None:
        if self.tenants < 1 or self.workers < 1:
            raise ValueError("chaos run: tenants and workers must be at least 1")
        if self.kills < 0 or self.min_faults < 0:
            raise ValueError("chaos run: kills and min_faults must be >= 0")
        if not 0.0 <= self.duplicate_rate <= 1.0:
            raise ValueError("chaos run: duplicate_rate must be between 0 and 1")


@dataclass(kw_only=True)
class ChaosReport:
    """What a chaos run did and found."""

    tenants: list[_checks.TenantVerdict]
    faults: dict[str, int]
    kills: int
    crashes: list[str]
    events_redelivered: int
    redelivered_stored: int
    elapsed_s: float
    peak_rss_mb: dict[str, float]
    min_faults: int
    notes: list[str] = field(default_factory=list)

    @property
    def faults_total(self) -> int:
        """Faults injected by every sandbox, latency included."""
        return sum(self.faults.values())

    @property
    def problems(self) -> list[str]:
        """Every broken promise, per tenant, plus run-level ones."""
        found = [f"{v.tenant_id}: {p}" for v in self.tenants for p in v.problems]
        found += [f"worker crashed: {c}" for c in self.crashes]
        if self.redelivered_stored:
            found.append(f"{self.redelivered_stored} redelivered event(s) stored twice")
        return found

    @property
    def is_lossless(self) -> bool:
        """Nothing lost or doubled in any tenant."""
        return all(v.is_lossless for v in self.tenants) and not self.redelivered_stored

    @property
    def ok(self) -> bool:
        """No problem at all and at least the required number of faults."""
        return not self.problems and self.faults_total >= self.min_faults

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with every tenant's findings."""
        return {
            "ok": self.ok,
            "summary": self.summary_line(),
            "faults": self.faults,
            "kills": self.kills,
            "crashes": self.crashes,
            "events_redelivered": self.events_redelivered,
            "redelivered_stored": self.redelivered_stored,
            "elapsed_s": round(self.elapsed_s, 1),
            "peak_rss_mb": self.peak_rss_mb,
            "problems": self.problems,
            "notes": self.notes,
            "tenants": [dataclasses.asdict(v) for v in self.tenants],
        }

    def summary_line(self) -> str:
        """One line: faults, kills, runs, duplicates, amount difference, verdict."""
        runs = sum(sum(v.runs.values()) for v in self.tenants)
        kinds = " ".join(f"{k}={n}" for k, n in sorted(self.faults.items()) if n)
        return (
            f"chaos {'PASS' if self.ok else 'FAIL'}: tenants={len(self.tenants)} "
            f"faults={self.faults_total} ({kinds}) kills={self.kills} runs={runs} "
            f"redelivered={self.events_redelivered} "
            f"duplicates={sum(v.duplicates for v in self.tenants)} "
            f"missing={sum(v.missing for v in self.tenants)} "
            f"amount_difference={sum((v.amount_difference for v in self.tenants), Decimal(0))} "
            f"stuck={sum(len(v.stuck) for v in self.tenants)} "
            f"unexplained_exceptions={sum(len(v.unexplained_exceptions) for v in self.tenants)} "
            f"audit={'ok' if all(v.audit_ok for v in self.tenants) else 'BROKEN'} "
            f"crashes={len(self.crashes)} elapsed={self.elapsed_s:.0f}s "
            f"peak_rss_mb=suite:{self.peak_rss_mb['suite']:.0f},"
            f"worker:{self.peak_rss_mb['workers']:.0f}"
        )


class RedeliveringClient(Client):
    """An engine client that ingests a share of events a second time, one round later."""

    def __init__(self, db: store.Database, *, rate: float, rng: random.Random) -> None:
        super().__init__(db)
        self.rate = rate
        self.rng = rng
        self.pending: list[BusinessEvent] = []
        self.redelivered = 0
        self.redelivered_stored = 0

    def ingest(self, events: list[BusinessEvent], *, mode_override: str | None = None) -> Any:
        """Ingest ``events`` and keep about ``rate`` of them to deliver again later."""
        result = super().ingest(events, mode_override=mode_override)
        self.pending += [e for e in events if self.rng.random() < self.rate]
        return result

    def redeliver(self) -> None:
        """Deliver the kept events again, shuffled; the inbox must store none of them."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        self.rng.shuffle(batch)
        result = super().ingest(batch)
        self.redelivered += len(batch)
        self.redelivered_stored += result.stored


@dataclass(kw_only=True)
class _Chaos:
    """The running pieces of one chaos run."""

    options: ChaosOptions
    db: store.Database
    rigs: list[_rig.TenantRig]
    pool: _workers.WorkerPool
    services: Worker
    client: RedeliveringClient
    poller: Poller
    rng: random.Random
    notes: list[str] = field(default_factory=list)


def _database_url(options: ChaosOptions, workdir: Path) -> str:
    return options.database_url or f"sqlite:///{workdir / 'chaos.db'}"


def _start(options: ChaosOptions, workdir: Path) -> _Chaos:
    url = _database_url(options, workdir)
    db = store.Database(url)
    store.migrate(db)
    with db.read() as conn:
        if store.tenancy.list_tenants(conn):
            raise errors.ConfigError(
                "the chaos run needs a database of its own; this one already has tenants",
                hint="point LEDGERBRIDGE_DATABASE_URL at an empty database",
            )
    key, keyring = _rig.new_keyring()
    rigs = []
    for index in range(options.tenants):
        config = demo.scaled_config(entries=options.entries, seed=options.seed + index)
        rigs.append(
            _rig.start_tenant(
                db,
                keyring,
                index=index,
                dataset=sample.generate(config),
                plan=sandboxes.FaultPlan.from_dict(
                    {**options.plan.to_dict(), "seed": options.seed}
                ),
                shuffle_window=options.shuffle_window,
            )
        )
    rng = random.Random(options.seed)
    spec = _workers.WorkerSpec(
        database_url=url,
        secret_key=key,
        log_dir=workdir / "workers",
        lease_seconds=options.lease_seconds,
    )
    # This process only polls feeds and reconciles; its Worker lends its connectors.
    loader = functools.partial(tenancy.connection_settings, db, secret_key=keyring)
    services = Worker(db, settings_loader=loader)
    client = RedeliveringClient(db, rate=options.duplicate_rate, rng=rng)
    return _Chaos(
        options=options,
        db=db,
        rigs=rigs,
        pool=_workers.WorkerPool(spec=spec, size=options.workers, rng=rng),
        services=services,
        client=client,
        poller=Poller(db, services, client=client),
        rng=rng,
    )


async def _catch_up(chaos: _Chaos) -> bool:
    """Poll, redeliver and wait until no run is queued or running; False past the deadline."""
    end = time.monotonic() + chaos.options.catch_up_s
    while True:
        chaos.client.redeliver()
        await chaos.poller.poll()
        chaos.pool.replace_crashed()
        counts = chaos.client.counts()
        if not counts.get("queued") and not counts.get("running") and not chaos.poller.failures:
            return True
        if time.monotonic() > end:
            log.warning("chaos catch-up deadline passed", counts=counts)
            chaos.notes.append(f"catch-up deadline passed with {counts}")
            return False
        await asyncio.sleep(0.1)


async def _kill_later(chaos: _Chaos, delay: float) -> None:
    await asyncio.sleep(delay)
    pid = chaos.pool.kill_one()
    log.info("worker killed", pid=pid, kills=chaos.pool.kills)


async def _replay(chaos: _Chaos) -> None:
    """Replay every tenant's month hour by hour, killing workers at the planned rounds."""
    schedules = [list(sample.by_hour(rig.dataset.ops)) for rig in chaos.rigs]
    rounds = max(len(s) for s in schedules)
    kill_rounds = Counter(chaos.rng.choices(range(rounds), k=chaos.options.kills))
    for index in range(rounds):
        for rig, groups in zip(chaos.rigs, schedules, strict=True):
            if index < len(groups):
                rig.psa.state.apply_many(groups[index])
        kills = [
            asyncio.create_task(_kill_later(chaos, chaos.rng.uniform(0.05, 1.5)))
            for _ in range(kill_rounds[index])
        ]
        if index == rounds // 2 and chaos.options.restart_database is not None:
            await asyncio.to_thread(chaos.options.restart_database)
            chaos.notes.append("database server restarted mid-run")
        await _catch_up(chaos)
        await asyncio.gather(*kills)
    for rig in chaos.rigs:
        _rig.pay_invoices(rig)
    await _catch_up(chaos)


async def _fault_stats(rigs: list[_rig.TenantRig], *, quiet: bool) -> dict[str, int]:
    """Sum the faults every sandbox injected; with ``quiet``, switch their faults off."""
    totals: Counter[str] = Counter()
    async with aiohttp.ClientSession() as http:
        for server in [s for rig in rigs for s in (rig.psa, rig.erp)]:
            async with http.get(f"{server.url}/_admin/stats") as response:
                stats = await response.json()
            totals.update({k: int(n) for k, n in (stats.get("faults") or {}).items()})
            if quiet:
                async with http.put(f"{server.url}/_admin/faults", json={}) as response:
                    response.raise_for_status()
    return dict(totals)


async def run_chaos(options: ChaosOptions) -> ChaosReport:
    """Run the chaos month and return what it found."""
    started = time.monotonic()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="ledgerbridge-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    chaos = _start(options, workdir)
    try:
        chaos.pool.start()
        await _replay(chaos)
        faults = await _fault_stats(chaos.rigs, quiet=True)
        chaos.pool.stop()
        verdicts = [
            await _checks.verify_tenant(
                chaos.db, rig, chaos.services, stuck_after_s=options.stuck_after_s
            )
            for rig in chaos.rigs
        ]
    finally:
        chaos.pool.stop()
        await chaos.services.aclose()
        for rig in chaos.rigs:
            rig.stop()
        chaos.db.dispose()
    return ChaosReport(
        tenants=verdicts,
        faults=faults,
        kills=chaos.pool.kills,
        crashes=list(chaos.pool.crashes),
        events_redelivered=chaos.client.redelivered,
        redelivered_stored=chaos.client.redelivered_stored,
        elapsed_s=time.monotonic() - started,
        peak_rss_mb={
            "suite": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "workers": chaos.pool.peak_rss_mb(),
        },
        min_faults=options.min_faults,
        notes=[*chaos.notes, f"work directory: {workdir}"],
    )


def run_chaos_sync(options: ChaosOptions) -> ChaosReport:
    """Blocking twin of :func:`run_chaos`."""
    return asyncio.run(run_chaos(options))

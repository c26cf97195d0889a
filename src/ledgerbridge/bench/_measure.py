"""Run a benchmark: inject time entries, let worker processes deliver them, measure."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from ledgerbridge import store
from ledgerbridge.bench import _fixture
from ledgerbridge.bench._usage import count_commits
from ledgerbridge.engine import Client
from ledgerbridge.store._tables import events, runs

INGEST_CHUNK = 500
#: how often the driver checks whether the workers are done; the figures come from the
#: runs' own timestamps, so this only bounds how soon the benchmark notices the end
POLL_S = 0.25


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchOptions:
    """What a benchmark runs."""

    db: str = "sqlite"  #: sqlite | postgres
    workers: int = 1  #: worker processes
    tenants: int = 1
    events: int = 10_000
    offered_rate: float | None = None  #: events/s injected; None: the whole backlog at once
    target: str = "erp"  #: erp (the ERP sandbox over HTTP) | memory (the engine alone)
    batch_size: int = 200
    concurrency: int = 32
    #: while the backlog drains, one more (bronze) tenant sends an event a second
    probe: bool = False
    timeout: float = 600.0

    def __post_init__(self) -> None:
        if self.db not in ("sqlite", "postgres"):
            raise ValueError("db must be sqlite or postgres")
        if self.target not in ("erp", "memory"):
            raise ValueError("target must be erp or memory")
        if min(self.workers, self.tenants, self.events) < 1:
            raise ValueError("workers, tenants and events must be at least 1")
        if self.offered_rate is not None and self.offered_rate <= 0:
            raise ValueError("offered_rate must be positive")


@dataclass(kw_only=True)
class BenchResult:
    """What a benchmark measured."""

    options: dict[str, Any]
    events: int
    succeeded: int
    seconds: float
    events_per_second: float
    latency_ms: dict[str, float | None]
    commits_per_event: float
    peak_rss_mb: float
    cpu_seconds_per_1000: float
    ingest_events_per_second: float
    #: with ``probe``: the probe tenant's waits from arrival to posting
    probe_wait_ms: dict[str, float | None] | None = None
    workers: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data."""
        return asdict(self)


def _start_workers(url: str, options: BenchOptions) -> list[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERBRIDGE_")}
    cmd = [sys.executable, "-m", "ledgerbridge.bench._worker", url,
           str(options.batch_size), str(options.concurrency)]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(options.workers)
    ]
    for proc in procs:  # each says it is ready once its imports and setup are done
        assert proc.stdout is not None
        proc.stdout.readline()
    return procs


def _stop_workers(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    figures = []
    for proc in procs:
        out, _err = proc.communicate(timeout=60)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        figures.append(json.loads(lines[-1]) if lines else {})
    return figures


def _pending(db: store.Database) -> int:
    """Runs still queued or running (an index range, not a scan of every run)."""
    with db.read() as conn:
        return store.runs.count_pending(conn)


def _inject(client: Client, tenant_ids: list[str], options: BenchOptions) -> float:
    """Ingest every event (paced when an offered rate is set); return the seconds it took."""
    started = time.monotonic()
    chunk = INGEST_CHUNK
    if options.offered_rate:
        chunk = max(1, int(options.offered_rate / 20))  # 20 ingests per second
    sent = 0
    while sent < options.events:
        batch = [
            _fixture.time_entry_event(tenant_ids[n % len(tenant_ids)], n)
            for n in range(sent, min(options.events, sent + chunk))
        ]
        client.ingest(batch)
        sent += len(batch)
        if options.offered_rate:
            due = started + sent / options.offered_rate
            time.sleep(max(0.0, due - time.monotonic()))
    return time.monotonic() - started


def _latencies(db: store.Database, tenant_ids: list[str]) -> list[float]:
    query = (
        sa.select((runs.c.finished_at - events.c.received_at) * 1000)
        .join(
            events, sa.and_(events.c.tenant_id == runs.c.tenant_id, events.c.id == runs.c.event_id)
        )
        .where(runs.c.status == "succeeded", runs.c.tenant_id.in_(tenant_ids))
    )
    with db.read() as conn:
        return sorted(float(v) for v in conn.scalars(query))


def _busy_seconds(db: store.Database, tenant_ids: list[str], *, paced: bool) -> float:
    """From the first claim (or, when paced, the first arrival) to the last completion."""
    with db.read() as conn:
        first_claim, first_arrival, last = conn.execute(
            sa.select(
                sa.func.min(runs.c.started_at),
                sa.func.min(runs.c.created_at),
                sa.func.max(runs.c.finished_at),
            ).where(runs.c.tenant_id.in_(tenant_ids))
        ).one()
    if last is None or first_claim is None:
        return 0.0
    return float(last) - float(first_arrival if paced else first_claim)


@dataclass
class _Probe:
    """One more tenant, bronze, that sends an event a second while another's backlog drains."""

    tenant_id: str
    sent: int = 0
    last: float = 0.0

    @classmethod
    def create(cls, db: store.Database, options: BenchOptions, erp_url: str | None) -> _Probe:
        n = options.tenants
        [tenant] = _fixture.create_tenants(
            db, tenants=1, target=options.target, erp_url=erp_url, tier="bronze", first=n
        )
        if erp_url is not None:
            _fixture.run_seed(db, [tenant], erp_url, first=n)
        return cls(tenant)

    def send(self, client: Client) -> None:
        """Send the next event if a second has passed since the last."""
        if time.monotonic() - self.last >= 1.0:
            self.last = time.monotonic()
            client.ingest([_fixture.time_entry_event(self.tenant_id, self.sent)])
            self.sent += 1

    def waits(self, db: store.Database) -> dict[str, float | None]:
        """Median and longest wait of the probe's events, and how many were posted."""
        waits = _latencies(db, [self.tenant_id])
        return {
            "sent": float(self.sent),
            "posted": float(len(waits)),
            "p50": _percentile(waits, 0.50),
            "max": round(waits[-1], 1) if waits else None,
        }


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * share))], 1)


def run_bench(options: BenchOptions) -> BenchResult:
    """Set up, run and measure one benchmark; everything it started is stopped after."""
    workdir = _fixture.workdir()
    database = _fixture.Database.start(options.db, workdir)
    erp = _fixture.ErpProcess() if options.target == "erp" else None
    db = store.Database(database.url)
    procs: list[subprocess.Popen[str]] = []
    try:
        tenant_ids = _fixture.create_tenants(
            db, tenants=options.tenants, target=options.target, erp_url=erp.url if erp else None
        )
        if erp is not None:
            _fixture.run_seed(db, tenant_ids, erp.url)
        probe = _Probe.create(db, options, erp.url if erp else None) if options.probe else None
        client = Client(db)
        commits = count_commits(db)
        if options.offered_rate:
            procs = _start_workers(database.url, options)
        started = time.monotonic()
        ingest_seconds = _inject(client, tenant_ids, options)
        ingest_commits = commits[0]
        if not options.offered_rate:
            started = time.monotonic()
            procs = _start_workers(database.url, options)
        deadline = started + options.timeout
        while _pending(db) and time.monotonic() < deadline:
            if probe is not None:
                probe.send(client)
            time.sleep(POLL_S)
        paced = bool(options.offered_rate)
        seconds = _busy_seconds(db, tenant_ids, paced=paced) or time.monotonic() - started
        figures = _stop_workers(procs)
        procs = []
        result = _result(options, db, tenant_ids, seconds, ingest_seconds, ingest_commits, figures)
        if probe is not None:
            result.probe_wait_ms = probe.waits(db)
        return result
    finally:
        if procs:
            _stop_workers(procs)
        db.dispose()
        if erp is not None:
            erp.stop()
        database.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _result(
    options: BenchOptions,
    db: store.Database,
    tenant_ids: list[str],
    seconds: float,
    ingest_seconds: float,
    ingest_commits: int,
    figures: list[dict[str, Any]],
) -> BenchResult:
    with db.read() as conn:
        succeeded = sum(
            store.runs.count_runs_by_status(conn, tenant).get("succeeded", 0)
            for tenant in tenant_ids
        )
    latencies = _latencies(db, tenant_ids) if options.offered_rate else []
    cpu = sum(f.get("cpu_seconds", 0.0) for f in figures)
    commits = ingest_commits + sum(f.get("commits", 0) for f in figures)
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return BenchResult(
        options=asdict(options),
        events=options.events,
        succeeded=succeeded,
        seconds=round(seconds, 2),
        events_per_second=round(succeeded / seconds, 1) if seconds else 0.0,
        latency_ms={
            "p50": _percentile(latencies, 0.50),
            "p95": _percentile(latencies, 0.95),
            "p99": _percentile(latencies, 0.99),
        },
        commits_per_event=round(commits / options.events, 3),
        peak_rss_mb=round(max([own_rss, *(f.get("peak_rss_mb", 0.0) for f in figures)]), 1),
        cpu_seconds_per_1000=round(cpu / max(succeeded, 1) * 1000, 3),
        ingest_events_per_second=round(options.events / ingest_seconds, 1)
        if ingest_seconds
        else 0.0,
        workers=figures,
    )

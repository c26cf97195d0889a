"""The ``ledgerbridge bench`` command."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ledgerbridge.bench import _measure

__all__ = ["bench", "render"]


def bench(
    db: Annotated[
        str, typer.Option("--db", help="sqlite or postgres (a private server).")
    ] = "sqlite",
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    tenants: Annotated[int, typer.Option(help="Tenants the entries are spread over.")] = 1,
    events: Annotated[int, typer.Option(help="Approved time entries to deliver.")] = 10_000,
    offered_rate: Annotated[
        float | None,
        typer.Option(help="Events/s injected while workers run (latency); default: a backlog."),
    ] = None,
    target: Annotated[
        str, typer.Option(help="erp (ERP sandbox over HTTP) or memory (the engine alone).")
    ] = "erp",
    batch_size: Annotated[int, typer.Option(help="Runs claimed per transaction.")] = 200,
    concurrency: Annotated[int, typer.Option(help="Runs in flight per worker.")] = 32,
    probe: Annotated[
        bool,
        typer.Option(
            help="While the backlog drains, one more (bronze) tenant sends an event a second; "
            "report its wait (fairness)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Deliver approved time entries end to end and report throughput, latency and cost."""
    try:
        options = _measure.BenchOptions(
            db=db, workers=workers, tenants=tenants, events=events, offered_rate=offered_rate,
            target=target, batch_size=batch_size, concurrency=concurrency, probe=probe,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    result = _measure.run_bench(options).to_dict()
    typer.echo(json.dumps(result, indent=2) if as_json else render(result))


def render(result: dict[str, object]) -> str:
    """The result as a few readable lines."""
    o = result["options"]
    lat = result["latency_ms"]
    assert isinstance(o, dict) and isinstance(lat, dict)
    return "\n".join(
        [
            f"{o['db']}, {o['workers']} worker(s), {o['tenants']} tenant(s), target {o['target']}: "
            f"{result['succeeded']}/{result['events']} delivered in {result['seconds']} s",
            f"  throughput        {result['events_per_second']} events/s "
            f"(ingest {result['ingest_events_per_second']} events/s)",
            f"  latency p50/p95/p99  {lat['p50']} / {lat['p95']} / {lat['p99']} ms"
            + ("" if o["offered_rate"] else " (only with --offered-rate)"),
            f"  DB commits/event  {result['commits_per_event']}",
            f"  peak RSS          {result['peak_rss_mb']} MB",
            f"  CPU s/1000 events {result['cpu_seconds_per_1000']}",
            *_probe_line(result.get("probe_wait_ms")),
        ]
    )


def _probe_line(waits: object) -> list[str]:
    if not isinstance(waits, dict):
        return []
    return [
        f"  probe tenant      {waits['posted']:.0f}/{waits['sent']:.0f} posted, "
        f"wait p50 {waits['p50']} ms, max {waits['max']} ms"
    ]

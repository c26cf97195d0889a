"""The ``ledgerbridge chaos`` commands: ``proxy`` (a fault proxy) and ``run`` (the chaos month)."""

from __future__ import annotations

import atexit
import json
import logging
import os
import shlex
import subprocess
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
from aiohttp import web

from ledgerbridge import errors, sandboxes
from ledgerbridge.chaos import proxy as proxy_mod
from ledgerbridge.chaos import suite

__all__ = ["chaos_app"]

chaos_app = typer.Typer(
    help="Fault proxy and the chaos run (faults, kills, redelivery).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

Rate = Annotated[float, typer.Option(min=0.0, max=1.0)]


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@chaos_app.command()
def proxy(
    target: Annotated[str, typer.Option(help="Base URL requests are forwarded to.")],
    listen: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8099,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    error_5xx: Annotated[float, typer.Option("--5xx", min=0.0, max=1.0, help="503 rate.")] = 0.0,
    throttle_429: Annotated[
        float, typer.Option("--429", min=0.0, max=1.0, help="429 burst rate.")
    ] = 0.0,
    burst: Annotated[int, typer.Option(min=1, help="429 answers per burst.")] = 3,
    retry_after: Annotated[int, typer.Option(min=0, help="Retry-After seconds on 429.")] = 1,
    reset: Annotated[
        float, typer.Option("--reset", min=0.0, max=1.0, help="Connection reset rate.")
    ] = 0.0,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency (ms).")] = 0,
    jitter_ms: Annotated[int, typer.Option(min=0, help="Up to this much more latency (ms).")] = 0,
    latency_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests delayed.")
    ] = 1.0,
    ambiguous: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Writes applied by the target whose answer is lost."),
    ] = 0.0,
    ambiguous_mode: Annotated[
        str, typer.Option(help="drop (reset) or timeout (hold, then reset).")
    ] = "drop",
    ambiguous_hold: Annotated[float, typer.Option(min=0.0, help="Seconds a timeout holds.")] = 30.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the fault generator.")] = None,
) -> None:
    """Forward HTTP to TARGET, injecting faults; change them live with PUT /_admin/faults."""
    try:
        plan = sandboxes.FaultPlan(
            error_5xx=error_5xx,
            throttle_429=throttle_429,
            throttle_burst=burst,
            retry_after_s=retry_after,
            drop_connection=reset,
            latency_ms=latency_ms,
            latency_jitter_ms=jitter_ms,
            latency_rate=latency_rate,
            ambiguous=ambiguous,
            ambiguous_mode=ambiguous_mode,
            ambiguous_hold_s=ambiguous_hold,
            seed=seed,
        )
        app = proxy_mod.create_app(target, plan)
    except ValueError as exc:
        _fail(str(exc))
        return
    typer.echo(f"fault proxy http://{host}:{listen} -> {target}: {json.dumps(plan.to_dict())}")
    web.run_app(app, host=host, port=listen, print=None)


def _restart_command(command: str | None) -> Any:
    if not command:
        return None
    argv = shlex.split(command)
    return lambda: subprocess.run(argv, check=True, capture_output=True, timeout=120)


def _options(
    *,
    tenants: int,
    kills: int,
    min_faults: int,
    entries: int,
    db: str,
    workdir: Path | None,
    seed: int,
    pg_restart: str | None,
) -> suite.ChaosOptions:
    url = None
    restart = _restart_command(pg_restart)
    if db == "postgres":
        url = os.environ.get("LEDGERBRIDGE_DATABASE_URL", "")
        if not url:
            # No server given: start one of our own on a free loopback port, and restart it
            # mid-run. It is stopped when the process exits.
            from ledgerbridge.bench import LocalPostgres

            server = LocalPostgres().start()
            atexit.register(server.stop)
            url = server.create_database("chaos")
            restart = restart or server.restart
        elif not url.startswith("postgresql"):
            raise errors.ConfigError(
                "--db postgres needs LEDGERBRIDGE_DATABASE_URL=postgresql+psycopg://... "
                "of an empty database, or none to start a server of its own",
                hint="set --pg-restart 'pg_ctl -D DATADIR restart -m fast' to restart it mid-run",
            )
    elif db != "sqlite":
        raise errors.ConfigError(f"--db must be sqlite or postgres, not {db!r}")
    return suite.ChaosOptions(
        tenants=tenants,
        kills=kills,
        min_faults=min_faults,
        entries=entries,
        database_url=url,
        workdir=workdir,
        seed=seed,
        restart_database=restart,
    )


@chaos_app.command()
def run(
    tenants: Annotated[int, typer.Option(min=1, help="Tenants at once.")] = 3,
    kills: Annotated[int, typer.Option(min=0, help="Worker SIGKILLs over the run.")] = 20,
    min_faults: Annotated[int, typer.Option(min=0, help="Fewest injected faults to pass.")] = 1000,
    entries: Annotated[int, typer.Option(min=50, help="Time entries per tenant and month.")] = 1000,
    db: Annotated[
        str,
        typer.Option(
            help="sqlite, or postgres (LEDGERBRIDGE_DATABASE_URL, or a server of its own "
            "that is restarted mid-run)."
        ),
    ] = "sqlite",
    workdir: Annotated[Path | None, typer.Option(help="Database and worker logs.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of samples, faults and kills.")] = 7,
    pg_restart: Annotated[
        str | None, typer.Option(help="Command that restarts PostgreSQL, run once mid-run.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Run the month for several tenants under faults and kills; exit 1 on any loss or duplicate."""
    # Injected faults make every feed read warn; the summary counts them instead.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    try:
        options = _options(
            tenants=tenants,
            kills=kills,
            min_faults=min_faults,
            entries=entries,
            db=db,
            workdir=workdir,
            seed=seed,
            pg_restart=pg_restart,
        )
        report = suite.run_chaos_sync(options)
    except errors.LedgerbridgeError as exc:
        _fail(exc.message)
        return
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
    for problem in report.problems[:50]:
        typer.secho(problem, fg=typer.colors.RED, err=True)
    for note in report.notes:
        typer.echo(note, err=True)
    typer.echo(report.summary_line())
    if not report.ok:
        raise typer.Exit(1)

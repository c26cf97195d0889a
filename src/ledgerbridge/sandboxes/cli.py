"""The ``sandbox`` command: serve the PSA or the ERP sandbox until interrupted."""

from __future__ import annotations

from typing import Annotated

import typer
from aiohttp import web

from ledgerbridge.sandboxes import _faults, erp, psa

app = typer.Typer(name="sandbox", help="Run a local sandbox of a SaaS API.", no_args_is_help=True)

Host = Annotated[str, typer.Option(help="Address to bind.", envvar="SANDBOX_HOST")]
Port = Annotated[
    int, typer.Option(help="Port to bind (0 picks a free one).", envvar="SANDBOX_PORT")
]
Token = Annotated[
    list[str], typer.Option(help="Accepted bearer token (repeatable).", envvar="SANDBOX_TOKEN")
]
Rate = Annotated[float, typer.Option(min=0.0, max=1.0, help="Fault rate between 0 and 1.")]
Seed = Annotated[int | None, typer.Option(help="Seed of the fault generator.")]


def _plan(
    error_5xx: float,
    throttle_429: float,
    drop: float,
    ambiguous: float,
    latency_ms: int,
    seed: int | None,
) -> _faults.FaultPlan:
    try:
        return _faults.FaultPlan(
            error_5xx=error_5xx,
            throttle_429=throttle_429,
            drop_connection=drop,
            ambiguous=ambiguous,
            latency_ms=latency_ms,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _serve(application: web.Application, host: str, port: int, name: str) -> None:
    typer.echo(f"{name} sandbox on http://{host}:{port} (Ctrl+C stops it)")
    web.run_app(application, host=host, port=port, access_log=None, print=None)


@app.command("erp")
def erp_command(
    host: Host = "127.0.0.1",
    port: Port = 8702,
    token: Token = ["sandbox-token"],  # noqa: B006
    realm: Annotated[
        list[str] | None, typer.Option(help="Company id to accept (repeatable; default: any).")
    ] = None,
    throttle: Annotated[bool, typer.Option(help="Apply the per-company request limits.")] = True,
    per_second: Annotated[int, typer.Option(min=1, help="Requests per second per company.")] = 10,
    per_minute: Annotated[int, typer.Option(min=1, help="Requests per minute per company.")] = 500,
    webhook_url: Annotated[
        list[str] | None, typer.Option(help="Webhook receiver URL (repeatable).")
    ] = None,
    webhook_verifier: Annotated[
        str, typer.Option(help="Verifier token that signs webhooks.")
    ] = "sandbox-verifier",
    webhook_format: Annotated[str, typer.Option(help="legacy or cloudevents.")] = "legacy",
    webhook_batch_ms: Annotated[int, typer.Option(min=1, help="Webhook batching interval.")] = 200,
    error_5xx: Rate = 0.0,
    throttle_429: Rate = 0.0,
    drop_connection: Rate = 0.0,
    ambiguous: Rate = 0.0,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency per request.")] = 0,
    seed: Seed = None,
) -> None:
    """Serve the QuickBooks Online v3 sandbox."""
    if webhook_format not in ("legacy", "cloudevents"):
        raise typer.BadParameter("--webhook-format must be legacy or cloudevents")
    config = erp.ErpConfig(
        tokens=erp.tokens_from(token),
        realms=tuple(realm) if realm else None,
        throttle=throttle,
        per_second=per_second,
        per_minute=per_minute,
        webhook_urls=tuple(webhook_url or ()),
        webhook_verifier=webhook_verifier,
        webhook_format=webhook_format,
        webhook_batch_ms=webhook_batch_ms,
    )
    plan = _plan(error_5xx, throttle_429, drop_connection, ambiguous, latency_ms, seed)
    _serve(erp.create_app(config, faults=plan), host, port, "ERP (QuickBooks Online v3)")


@app.command("psa")
def psa_command(
    host: Host = "127.0.0.1",
    port: Port = 8701,
    token: Token = ["sandbox-token"],  # noqa: B006
    throttle: Annotated[bool, typer.Option(help="Apply the per-token rate limit.")] = True,
    rate_limit: Annotated[int, typer.Option(min=1, help="Requests per window per token.")] = 100,
    rate_window_s: Annotated[
        float, typer.Option(min=0.001, help="Rate-limit window in seconds.")
    ] = 10.0,
    shuffle_window: Annotated[
        int, typer.Option(min=0, help="Shuffle events within windows of this size.")
    ] = 0,
    error_5xx: Rate = 0.0,
    throttle_429: Rate = 0.0,
    drop_connection: Rate = 0.0,
    ambiguous: Rate = 0.0,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency per request.")] = 0,
    seed: Seed = None,
) -> None:
    """Serve the Kantata OX v1 sandbox."""
    config = psa.PsaConfig(
        tokens=erp.tokens_from(token),
        rate_limit=rate_limit if throttle else None,
        rate_window_s=rate_window_s,
        shuffle_window=shuffle_window,
        seed=seed or 0,
    )
    plan = _plan(error_5xx, throttle_429, drop_connection, ambiguous, latency_ms, seed)
    _serve(psa.create_app(config, faults=plan), host, port, "PSA (Kantata OX v1)")

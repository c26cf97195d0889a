"""The ``ledgerbridge`` command.

Each command parses its options, calls the engine or a service, and prints; a
LedgerbridgeError becomes one red line and exit code 1. ``--json`` prints for scripts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ledgerbridge import errors, store

app = typer.Typer(
    help="ledgerbridge: delivery-to-cash integration, PSA to ERP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Inspect runs.", no_args_is_help=True)
exceptions_app = typer.Typer(help="Work the exception queue.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
blueprint_app = typer.Typer(help="Blueprints.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(audit_app, name="audit")
app.add_typer(blueprint_app, name="blueprint")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="LEDGERBRIDGE_DATABASE_URL",
        help="SQLAlchemy URL; default: SQLite under ./.ledgerbridge/",
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Tenant = Annotated[str | None, typer.Option("--tenant", help="Tenant id.")]
Actor = Annotated[
    str, typer.Option("--actor", envvar="LEDGERBRIDGE_ACTOR", help="Who acts (audited).")
]


def _db(url: str | None) -> store.Database:
    return store.Database(url or store.default_url())


def _client(url: str | None) -> Any:
    from ledgerbridge.engine import Client

    return Client(_db(url))


def _print(data: Any, as_json: bool, human: Any = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    elif human is not None:
        human(data)
    else:
        typer.echo(json.dumps(data, indent=2, default=str))


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def init(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    db = _db(database_url)
    store.migrate(db)
    typer.echo(
        f"database ready at {db.url.render_as_string(hide_password=True)} "
        f"(schema {store.current_revision(db)})"
    )


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option("--once", help="Drain what is due, then exit.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs claimed per transaction.")] = 100,
    concurrency: Annotated[int, typer.Option(min=1, help="Runs executing at once.")] = 32,
    lease_seconds: Annotated[float, typer.Option(min=0.1, help="Lease length of a claim.")] = 30.0,
) -> None:
    """Run the job loop."""
    from ledgerbridge.engine import Worker, WorkerSettings

    settings = WorkerSettings(
        batch_size=batch_size, concurrency=concurrency, lease_seconds=lease_seconds
    )
    db = _db(database_url)
    store.migrate(db)
    worker = Worker(db, settings=settings, settings_loader=_settings_loader(db))
    done = asyncio.run(worker.run(once=once, handle_signals=True))
    typer.echo(f"processed {done} runs")


def _settings_loader(db: store.Database) -> Any:
    """Decrypt connection credentials with LEDGERBRIDGE_SECRET_KEY when it is set."""
    import os
    from functools import partial

    from ledgerbridge import tenancy

    keys = [
        k
        for k in [
            os.environ.get("LEDGERBRIDGE_SECRET_KEY"),
            *os.environ.get("LEDGERBRIDGE_OLD_SECRET_KEYS", "").split(","),
        ]
        if k
    ]
    if not keys:
        return None
    return partial(tenancy.connection_settings, db, secret_key=tenancy.Keyring(keys))


@runs_app.command("list")
def runs_list(
    database_url: DatabaseUrl = None,
    tenant: Tenant = None,
    status: Annotated[
        str | None, typer.Option(help="queued, running, succeeded, parked, skipped")
    ] = None,
    flow: Annotated[str | None, typer.Option(help="Flow name.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
    as_json: JsonOut = False,
) -> None:
    """List runs, newest first."""
    rows = _client(database_url).list_runs(tenant_id=tenant, status=status, flow=flow, limit=limit)

    def human(items: list[dict[str, Any]]) -> None:
        typer.echo(f"{'RUN':32} {'TENANT':24} {'FLOW':22} {'STATUS':10} {'TRIES':>5}  ENTITY")
        for r in items:
            typer.echo(
                f"{r['id']:32} {r['tenant_id']:24} {r['flow']:22} {r['status']:10} "
                f"{r['attempts']:>5}  {r['entity_key']}@{r['entity_version']}"
            )

    _print(rows, as_json, human)


@runs_app.command("show")
def runs_show(
    run_id: str, database_url: DatabaseUrl = None, tenant: Tenant = None, as_json: JsonOut = False
) -> None:
    """Show a run with its steps."""
    run = _client(database_url).show_run(run_id, tenant_id=tenant)

    def human(r: dict[str, Any]) -> None:
        typer.echo(
            f"run {r['id']}  tenant {r['tenant_id']}  flow {r['flow']}  status {r['status']}  "
            f"attempts {r['attempts']}"
        )
        typer.echo(f"entity {r['entity_key']} version {r['entity_version']}")
        if r.get("error"):
            typer.echo(f"error: {r['error'].get('message')}")
        for s in r["steps"]:
            typer.echo(
                f"  step {s['name']:20} {s['status']:10} attempts {s['attempts']}  "
                f"result {json.dumps(s['result'], default=str)}"
            )

    _print(run, as_json, human)


@exceptions_app.command("list")
def exceptions_list(
    database_url: DatabaseUrl = None,
    tenant: Tenant = None,
    status: Annotated[str, typer.Option(help="open, resolved or all")] = "open",
    kind: Annotated[str | None, typer.Option(help="Error class.")] = None,
    flow: Annotated[str | None, typer.Option(help="Flow name.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 100,
    as_json: JsonOut = False,
) -> None:
    """List exception-queue entries."""
    rows = _client(database_url).list_exceptions(
        tenant_id=tenant,
        status=None if status == "all" else status,
        error_kind=kind,
        flow=flow,
        limit=limit,
    )

    def human(items: list[dict[str, Any]]) -> None:
        if not items:
            typer.echo("no exceptions")
        for e in items:
            typer.echo(f"{e['id']}  {e['tenant_id']}  {e['flow']}  [{e['kind']}] {e['reason']}")
            if e.get("hint"):
                typer.echo(f"    fix: {e['hint']}")

    _print(rows, as_json, human)


@exceptions_app.command("show")
def exceptions_show(
    exception_id: str,
    database_url: DatabaseUrl = None,
    tenant: Tenant = None,
    as_json: JsonOut = False,
) -> None:
    """Show one exception with the record and what was about to be written."""
    _print(_client(database_url).show_exception(exception_id, tenant_id=tenant), as_json)


@exceptions_app.command("retry")
def exceptions_retry(
    exception_ids: list[str],
    database_url: DatabaseUrl = None,
    tenant: Tenant = None,
    actor: Actor = "cli",
) -> None:
    """Retry exceptions' runs; finished steps are not repeated."""
    client = _client(database_url)
    for exception_id in exception_ids:
        done = client.retry(exception_id, actor=actor, tenant_id=tenant)
        typer.echo(f"retrying run {done['run_id']} (exception {exception_id})")


@exceptions_app.command("approve")
def exceptions_approve(
    exception_ids: list[str],
    database_url: DatabaseUrl = None,
    tenant: Tenant = None,
    actor: Actor = "cli",
) -> None:
    """Approve runs held by an approval policy."""
    client = _client(database_url)
    for exception_id in exception_ids:
        done = client.approve(exception_id, actor=actor, tenant_id=tenant)
        typer.echo(f"approved run {done['run_id']} (exception {exception_id})")


@exceptions_app.command("skip")
def exceptions_skip(
    exception_ids: list[str],
    reason: Annotated[str, typer.Option("--reason", help="Why it is skipped (required).")],
    database_url: DatabaseUrl = None,
    tenant: Tenant = None,
    actor: Actor = "cli",
) -> None:
    """Close exceptions without running them again."""
    client = _client(database_url)
    for exception_id in exception_ids:
        done = client.skip(exception_id, actor=actor, reason=reason, tenant_id=tenant)
        typer.echo(f"skipped run {done['run_id']} (exception {exception_id})")


@app.command()
def replay(
    run_id: str, database_url: DatabaseUrl = None, tenant: Tenant = None, actor: Actor = "cli"
) -> None:
    """Queue a new run of the same event; finished steps are not repeated."""
    done = _client(database_url).replay(run_id, actor=actor, tenant_id=tenant)
    typer.echo(f"queued run {done['run_id']} replaying {run_id}")


@audit_app.command("verify")
def audit_verify(
    database_url: DatabaseUrl = None, tenant: Tenant = None, as_json: JsonOut = False
) -> None:
    """Verify the hash chain of the audit trail; exit 1 on the first altered or missing row."""
    reports = _client(database_url).verify_audit(tenant)
    data = [
        {
            "tenant_id": r.tenant_id,
            "rows": r.rows,
            "ok": r.ok,
            "first_bad_seq": r.first_bad_seq,
            "problem": r.problem,
        }
        for r in reports
    ]

    def human(items: list[dict[str, Any]]) -> None:
        for r in items:
            if r["ok"]:
                typer.echo(f"{r['tenant_id']}: ok ({r['rows']} rows)")
            else:
                typer.secho(
                    f"{r['tenant_id']}: BROKEN at row {r['first_bad_seq']}: {r['problem']}",
                    fg="red",
                )

    _print(data, as_json, human)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


@blueprint_app.command("validate")
def blueprint_validate(file: Path, as_json: JsonOut = False) -> None:
    """Validate a blueprint file; print every problem with its line; exit 1 on errors."""
    from ledgerbridge import blueprints

    problems = blueprints.validate_file(file)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "line": p.line,
                        "column": p.column,
                        "path": p.path,
                        "message": p.message,
                        "hint": p.hint,
                    }
                    for p in problems
                ],
                indent=2,
            )
        )
    elif problems:
        for p in problems:
            typer.secho(str(p), fg="red")
    else:
        typer.echo(f"{file}: ok")
    if problems:
        raise typer.Exit(1)


@app.command()
def demo(
    as_json: JsonOut = False,
    fault_rate: Annotated[
        float,
        typer.Option(
            help="Share of sandbox requests that fail (5xx; half as many 429 bursts, a fifth as many ambiguous writes)."
        ),
    ] = 0.0,
    months: Annotated[int, typer.Option(min=1, help="How many months of sample data.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the sample data and faults.")] = 42,
    erp: Annotated[
        str, typer.Option(help="sandbox (QuickBooks-compatible) or tryton (a real Tryton server).")
    ] = "sandbox",
    database: Annotated[Path, typer.Option(help="SQLite file of the demo (recreated).")] = Path(
        ".ledgerbridge/demo.db"
    ),
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep serving the console after the summary.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the console when serving.")] = 8000,
    entries: Annotated[
        int, typer.Option(help="Time entries a month (the firm is scaled to match).")
    ] = 25_000,
) -> None:
    """Run the delivery-to-cash month end to end and print what a finance lead wants to know."""
    from ledgerbridge.demo import DemoOptions, render_summary, run_demo, scaled_config

    if erp not in ("sandbox", "tryton"):
        raise errors.ConfigError(f"--erp must be sandbox or tryton, not {erp!r}")
    config = scaled_config(entries=entries, months=months, seed=seed)
    options = DemoOptions(
        months=months, fault_rate=fault_rate, seed=seed, database=database, erp=erp, config=config
    )
    summary = asyncio.run(run_demo(options))
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        typer.echo(render_summary(summary))
    if summary["reconciliation"]["difference_count"]:
        raise typer.Exit(1)
    if serve:
        from ledgerbridge.demo import serve_console

        serve_console(options, summary, port=port)


@app.command()
def reconcile(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id.")],
    database_url: DatabaseUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Compare the PSA's approved billable work with the ERP's charges; exit 1 on any difference."""
    from ledgerbridge.engine import Worker
    from ledgerbridge.operations.reconcile import reconcile_tenant

    db = _db(database_url)

    async def go() -> Any:
        worker = Worker(db, settings_loader=_settings_loader(db))
        try:
            return await reconcile_tenant(db, tenant, worker)
        finally:
            await worker.aclose()

    report = asyncio.run(go())
    data = report.to_dict()

    def human(d: dict[str, Any]) -> None:
        for diff in d["differences"]:
            typer.echo(
                f"{diff['kind']:16} project {diff['project_id']} {diff['period']} "
                f"{diff['object_type']} {diff['source_id']}: expected {diff['expected']} "
                f"got {diff['actual']} ({diff['value']} {diff['currency']})"
            )
        typer.echo(
            f"{d['difference_count']} difference(s); {d['held_count']} record(s) held in the exception queue"
        )

    _print(data, as_json, human)
    if report.difference_count:
        raise typer.Exit(1)


_MOUNTED: list[bool] = []


def _mount_optional() -> None:
    """Add the command groups of the service and the sandboxes (once)."""
    if _MOUNTED:
        return
    _MOUNTED.append(True)
    from ledgerbridge.api.cli import keys_app, secrets_app, serve
    from ledgerbridge.sandboxes.cli import app as sandbox_app

    app.command("serve")(serve)
    app.add_typer(secrets_app, name="secrets")
    app.add_typer(keys_app, name="keys")
    app.add_typer(sandbox_app, name="sandbox")
    from ledgerbridge.bench.cli import bench
    from ledgerbridge.connectors.tryton.cli import erp_app

    app.command("bench")(bench)
    app.add_typer(erp_app, name="erp")
    if importlib.util.find_spec("ledgerbridge.chaos") is not None:
        from ledgerbridge.chaos.cli import chaos_app

        app.add_typer(chaos_app, name="chaos")


def main() -> None:
    """Entry point of the ``ledgerbridge`` script."""
    _mount_optional()
    try:
        app()
    except errors.LedgerbridgeError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        if exc.hint:
            typer.secho(f"hint: {exc.hint}", err=True)
        raise SystemExit(1) from None

"""Commands of the API server: ``serve``, ``secrets rotate`` and ``keys create``.

Mount them on the ``ledgerbridge`` command: ``serve`` as a command, ``secrets_app`` as
``secrets`` and ``keys_app`` as ``keys``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from ledgerbridge import errors, store, tenancy
from ledgerbridge.api.settings import Settings

secrets_app = typer.Typer(help="Connection credentials sealed at rest.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)

Host = Annotated[str | None, typer.Option("--host", help="Interface to listen on.")]
Port = Annotated[int | None, typer.Option("--port", help="Port to listen on (0: any free port).")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="LEDGERBRIDGE_DATABASE_URL", help="SQLAlchemy URL."),
]


@secrets_app.callback()
def _secrets() -> None:
    """Connection credentials sealed at rest."""


@keys_app.callback()
def _keys() -> None:
    """API keys."""


def _settings(**overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        typer.secho(f"error: {message}", fg="red", err=True)
        raise typer.Exit(1) from None


def _fail(exc: errors.LedgerbridgeError) -> typer.Exit:
    typer.secho(f"error: {exc.message}", fg="red", err=True)
    return typer.Exit(1)


def serve(
    host: Host = None,
    port: Port = None,
    database_url: DatabaseUrl = None,
    with_worker: Annotated[
        bool,
        typer.Option("--with-worker", help="Also run a worker (and feed polling) in this process."),
    ] = False,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between reads of connected systems' change feeds.")
    ] = 5.0,
) -> None:
    """Serve the REST API and webhook receivers with uvicorn."""
    import asyncio

    import uvicorn

    from ledgerbridge.api._background import work_until
    from ledgerbridge.api.app import create_app

    settings = _settings(host=host, port=port, database_url=database_url)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info")
    )
    if not with_worker:
        server.run()
        return

    async def both() -> None:
        await asyncio.gather(
            server.serve(),
            work_until(
                app.state.db,
                app.state.keyring,
                lambda: server.should_exit,
                poll_interval=poll_interval,
            ),
        )

    asyncio.run(both())


@secrets_app.command("rotate")
def rotate(database_url: DatabaseUrl = None) -> None:
    """Re-seal every connection's credentials under LEDGERBRIDGE_SECRET_KEY.

    Put the previous key in LEDGERBRIDGE_OLD_SECRET_KEYS while this runs; afterwards it
    can be dropped.
    """
    settings = _settings(database_url=database_url)
    db = store.Database(settings.database_url)
    try:
        count = tenancy.rotate_credentials(db, keyring=settings.keyring())
    except errors.LedgerbridgeError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    typer.echo(f"re-sealed the credentials of {count} connection(s) under the current key")


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    partner: Annotated[
        str | None, typer.Option("--partner", help="Partner id; none makes a platform key.")
    ] = None,
    role: Annotated[str, typer.Option("--role", help="Role of the key.")] = "partner_admin",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key from the command line (the first key of a platform or partner)."""
    db = store.Database(database_url or store.default_url())
    try:
        if partner is None:
            role = tenancy.PLATFORM_ADMIN
        row, key = tenancy.bootstrap_api_key(db, name=name, role=role, partner_id=partner)
    except errors.LedgerbridgeError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    typer.echo(f"created {row['id']} ({row['role']}); the key is shown only now:")
    typer.echo(key)

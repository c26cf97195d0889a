"""The ``ledgerbridge erp`` commands: a real, local ERP to integrate with.

Mounted by the main command as ``ledgerbridge erp``; ``tryton-init DIR`` prepares a Tryton
database (copied from the cached template, built on first use) that the demo's blueprint
can post to.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from ledgerbridge.connectors.tryton import _harness

__all__ = ["erp", "erp_app", "tryton_init"]

erp_app = typer.Typer(help="A local ERP (Tryton) to integrate with.", no_args_is_help=True)


@erp_app.callback()
def erp() -> None:
    """A local ERP (Tryton) to integrate with."""


@erp_app.command("tryton-init")
def tryton_init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write trytond.conf, adminpass and db/.")
    ],
    port: Annotated[
        int, typer.Option("--port", help="Loopback port the server listens on.")
    ] = 8000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create a Tryton database ready for delivery-to-cash and print how to start it.

    The database has a USD company, a chart of accounts, fiscal years for this year and the
    next, a payment term, a cash payment method and the products ledgerbridge bills with.
    The first run builds the template (about a minute); later runs copy it in a moment.
    """
    if any(directory.joinpath("db").glob("*.sqlite")):
        typer.secho(f"error: {directory}/db already holds a Tryton database", fg="red", err=True)
        raise typer.Exit(1)
    if not as_json:
        typer.echo("Preparing the Tryton database (the first time builds the template)...")
    info = _harness.tryton_init(directory, port=port)
    command = shlex.join(info.command)
    summary = {
        "url": info.url,
        "database": info.database,
        "rpc_endpoint": f"{info.url}/{info.database}/rpc/",
        "admin_login": info.admin_user,
        "admin_password": info.admin_password,
        "config_file": str(info.config_file),
        "database_file": str(info.database_file),
        "start_command": command,
        "from_cache": info.from_cache,
        "seconds": round(info.seconds, 1),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    source = "copied from the cached template" if info.from_cache else "built (now cached)"
    typer.echo(
        "\n".join(
            [
                f"Tryton database {info.database!r} {source} in {info.seconds:.1f} s",
                f"  URL:       {info.url}  (JSON-RPC: {summary['rpc_endpoint']})",
                f"  database:  {info.database}",
                f"  login:     {info.admin_user} / {info.admin_password}",
                f"  config:    {info.config_file}",
                "Start the server with:",
                f"  {command}",
            ]
        )
    )

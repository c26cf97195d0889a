"""The FastAPI application: REST ``/api/v1``, webhook receivers, health checks."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge import connectors, console, engine, store
from ledgerbridge.api import _problems
from ledgerbridge.api.routers import (
    access,
    audit,
    connections,
    console_queue,
    deployments,
    events,
    exceptions,
    health,
    hooks,
    partners,
    runs,
    tenants,
    xrefs,
)
from ledgerbridge.api.routers import console as console_pages
from ledgerbridge.api.settings import Settings

PREFIX = "/api/v1"
_API_ROUTERS = (
    partners,
    tenants,
    connections,
    deployments,
    events,
    runs,
    exceptions,
    audit,
    xrefs,
    access,
)


def create_app(settings: Settings, *, db: store.Database | None = None) -> FastAPI:
    """Build the application.

    Args:
        settings: validated settings.
        db: the database to use; by default one is opened at ``settings.database_url``.

    Returns:
        The FastAPI app, with its database, keyring and engine client on ``app.state``,
        and the white-label console served at ``/``.
    """
    connectors.load_builtin()
    app = FastAPI(
        title="ledgerbridge",
        version="1",
        summary="Delivery-to-cash integration, PSA to ERP, for many tenants under one brand.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    database = db or store.Database(settings.database_url)
    app.state.settings = settings
    app.state.db = database
    app.state.keyring = settings.keyring()
    app.state.engine = engine.Client(database)
    _problems.install(app)
    app.include_router(health.router)
    app.include_router(hooks.router)
    for module in _API_ROUTERS:
        app.include_router(module.router, prefix=PREFIX)
    assert settings.secret_key is not None  # the settings validator guarantees it
    console.install(app, db=database)
    app.include_router(console_pages.router)
    app.include_router(console_queue.router)
    return app

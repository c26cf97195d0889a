"""Dependencies of the handlers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledgerbridge import engine, store, tenancy
from ledgerbridge.api import _pagination
from ledgerbridge.api.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer lbk_...`")


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> store.Database:
    """The app's database."""
    db: store.Database = request.app.state.db
    return db


def get_keyring(request: Request) -> tenancy.Keyring:
    """The keyring that seals and opens connection credentials."""
    keyring: tenancy.Keyring = request.app.state.keyring
    return keyring


def get_engine(request: Request) -> engine.Client:
    """The engine client (ingest, exceptions, replay, audit)."""
    client: engine.Client = request.app.state.engine
    return client


def get_principal(
    db: Annotated[store.Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> tenancy.Principal:
    """Authenticate the caller by its API key.

    Raises:
        ConfigError: with status 401 when no valid key was sent.
    """
    if credentials is None:
        raise tenancy.access.unauthorized("send an API key as `Authorization: Bearer <key>`")
    return tenancy.authenticate(db, credentials.credentials)


def get_page(
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=_pagination.MAX_LIMIT, description="items per page")
    ] = _pagination.DEFAULT_LIMIT,
) -> tuple[str | None, int]:
    """The cursor and page size of a list request."""
    return cursor, limit


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[store.Database, Depends(get_db)]
KeyringDep = Annotated[tenancy.Keyring, Depends(get_keyring)]
EngineDep = Annotated[engine.Client, Depends(get_engine)]
PrincipalDep = Annotated[tenancy.Principal, Depends(get_principal)]
PageDep = Annotated[tuple[str | None, int], Depends(get_page)]

"""Errors as RFC 9457 problem+json: one handler converts every LedgerbridgeError."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledgerbridge import errors

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://ledgerbridge.dev/problems/"

#: the most specific class wins: order matters
_STATUS: tuple[tuple[type[errors.LedgerbridgeError], int], ...] = (
    (errors.NotFoundError, 404),
    (errors.ConfigError, 422),
    (errors.AmbiguousError, 503),
    (errors.TransientError, 503),
    (errors.PermanentError, 409),
    (errors.RecordError, 422),
)


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="what is wrong and where")
    instance: str | None = None
    hint: str | None = None
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


def _content() -> dict[str, Any]:
    return {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {
        code: {"model": Problem, "description": HTTPStatus(code).phrase, "content": _content()}
        for code in codes
    }


def status_of(exc: errors.LedgerbridgeError) -> int:
    """The HTTP status of an error: its own for access errors, else by class."""
    if exc.status_code is not None and exc.connector is None and 400 <= exc.status_code < 500:
        return exc.status_code
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Render one problem document."""
    phrase = HTTPStatus(status).phrase
    body = Problem(
        type=TYPE_BASE + phrase.lower().replace(" ", "-"),
        title=phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        **extra,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


async def _ledgerbridge_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.LedgerbridgeError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(request, status, exc.message, hint=exc.hint, field=exc.field, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [
        {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": e.get("msg", "")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{i['loc']}: {i['msg']}" for i in items) or "the request is not valid"
    return problem(request, 422, detail, errors=items)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return problem(request, exc.status_code, str(exc.detail), headers=headers)


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(errors.LedgerbridgeError, _ledgerbridge_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

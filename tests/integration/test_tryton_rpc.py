"""Error classification of the Tryton JSON-RPC client against a scripted loopback server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ledgerbridge import errors
from ledgerbridge.connectors.tryton import TrytonClient, free_port

Reply = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]


def ok(result: Any) -> Reply:
    async def reply(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.json_response({"id": body["id"], "result": result})

    return reply


def status(code: int) -> Reply:
    async def reply(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.Response(status=code, text="no")

    return reply


def error(value: Any) -> Reply:
    async def reply(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.json_response({"id": body["id"], "error": value})

    return reply


async def drop(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()
    return web.Response()


def call_with(script: dict[str, list[Reply]], method: str, *params: Any) -> tuple[Any, list[str]]:
    """Serve ``script`` (replies per method, in order) and make one client call."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.text())
        seen.append(body["method"])
        return await script[body["method"]].pop(0)(request, body)

    async def main() -> Any:
        app = web.Application()
        app.router.add_post("/db/rpc/", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as http:
                client = TrytonClient(
                    http, url=f"http://127.0.0.1:{port}", database="db", username="u", password="p"
                )
                return await client.call(method, *params)
        finally:
            await runner.cleanup()

    return asyncio.run(main()), seen


LOGIN = {"common.db.login": [ok([1, "tok", None])], "model.res.user.get_preferences": [ok({})]}


def script(**replies: list[Reply]) -> dict[str, list[Reply]]:
    return {
        **{k: list(v) for k, v in LOGIN.items()},
        **{k.replace("__", "."): v for k, v in replies.items()},
    }


def test_rpc_user_error_is_permanent_with_tryton_message() -> None:
    """A UserError keeps Tryton's first message for the operator."""
    replies = script(
        model__x__create=[error(["UserError", ["The amount is wrong.", "Fix it.", None]])]
    )
    with pytest.raises(errors.PermanentError) as refused:
        call_with(replies, "model.x.create", [{}])
    assert refused.value.message == "The amount is wrong."
    assert type(refused.value) is errors.PermanentError


@pytest.mark.parametrize(
    "reply",
    [
        status(503),
        status(500),
        error(["database is locked", "Traceback ..."]),
        error(["ConcurrencyException", "x"]),
    ],
)
def test_rpc_busy_or_failing_server_is_transient(reply: Reply) -> None:
    """5xx answers and database lock errors are retryable, not ambiguous."""
    with pytest.raises(errors.TransientError) as caught:
        call_with(script(model__x__write=[reply]), "model.x.write", [1], {})
    assert type(caught.value) is errors.TransientError


def test_rpc_dropped_connection_after_write_is_ambiguous() -> None:
    """A write whose connection drops before the answer may have been applied."""
    with pytest.raises(errors.AmbiguousError):
        call_with(script(model__x__create=[drop]), "model.x.create", [{}])


def test_rpc_dropped_connection_on_read_is_plain_transient() -> None:
    """A read that loses its connection is simply retried."""
    with pytest.raises(errors.TransientError) as caught:
        call_with(script(model__x__read=[drop]), "model.x.read", [1], ["name"])
    assert type(caught.value) is errors.TransientError


def test_rpc_expired_session_logs_in_again() -> None:
    """A 401 on a call triggers one new login and the call succeeds."""
    replies = script(model__x__read=[status(401), ok([{"id": 1}])])
    replies["common.db.login"].append(ok([1, "tok2", None]))
    replies["model.res.user.get_preferences"].append(ok({}))
    result, seen = call_with(replies, "model.x.read", [1], ["id"])
    assert result == [{"id": 1}]
    assert seen.count("common.db.login") == 2


def test_rpc_401_after_new_login_is_config_error() -> None:
    """Credentials refused twice are a setup problem, not retried."""
    replies = script(model__x__read=[status(401), status(401)])
    replies["common.db.login"].append(ok([1, "tok2", None]))
    replies["model.res.user.get_preferences"].append(ok({}))
    with pytest.raises(errors.ConfigError):
        call_with(replies, "model.x.read", [1], ["id"])


def test_rpc_forbidden_is_config_error() -> None:
    """HTTP 403 means the user lacks access: a person has to fix it."""
    with pytest.raises(errors.ConfigError):
        call_with(script(model__x__read=[status(403)]), "model.x.read", [1], ["id"])


def test_rpc_connection_refused_is_transient() -> None:
    """Nobody listening is a transient outage, even for writes."""

    async def main() -> None:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{free_port()}"
            client = TrytonClient(http, url=url, database="db", username="u", password="p")
            await client.call("model.x.create", [{}])

    with pytest.raises(errors.TransientError) as caught:
        asyncio.run(main())
    assert type(caught.value) is errors.TransientError

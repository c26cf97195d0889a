"""Hostile PSA and ERP responses reach the connectors as clear ledgerbridge errors, never crashes.

A small aiohttp server on loopback answers every request with one canned response: malformed
JSON, non-UTF-8 bytes, missing fields, wrong types, unexpected enum values, a huge payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from ledgerbridge import connectors, errors, sandboxes

connectors.load_builtin()


@dataclass
class Canned:
    """The response the server gives to every request."""

    body: bytes = b"{}"
    status: int = 200
    content_type: str = "application/json"
    seen: list[str] = field(default_factory=list)


@pytest.fixture
def canned() -> Iterator[tuple[Canned, str]]:
    answer = Canned()

    async def handle(request: web.Request) -> web.Response:
        answer.seen.append(request.path)
        return web.Response(
            body=answer.body, status=answer.status, content_type=answer.content_type
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    with sandboxes.SandboxServer(app, state=answer) as server:
        yield answer, server.url


def _call(kind: str, url: str, method: str, *args: object) -> None:
    settings = {
        "quickbooks": {
            "base_url": url,
            "realm_id": "1",
            "access_token": "t",
            "rate_limit_per_second": 0,
            "per_minute": 0,
        },
        "kantata": {"base_url": f"{url}/api/v1", "token": "t", "rate_limit_per_second": 0},
    }[kind]

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            connector = connectors.create(kind, settings, session=session, tenant_id="tnt_x")
            try:
                await getattr(connector, method)(*args)
            finally:
                await connector.aclose()

    asyncio.run(go())


HOSTILE = [
    pytest.param(b"{not json", id="malformed-json"),
    pytest.param(b"\xff\xfe\xfa not utf-8 \x80", id="non-utf8"),
    pytest.param(b"[]", id="array-not-object"),
    pytest.param(b'{"Invoice": {}}', id="missing-fields"),
    pytest.param(b'{"Invoice": {"Id": "1", "TotalAmt": "lots", "Balance": [1]}}', id="wrong-types"),
    pytest.param(
        b'{"QueryResponse": {"TimeActivity": [{"Id": "1", "Hours": 1, "Minutes": 0, '
        b'"HourlyRate": 10, "BillableStatus": "Sometimes"}]}, "Invoice": {"Id": "1"}}',
        id="unexpected-enum",
    ),
    pytest.param(b'{"Invoice": {"Id": "' + b"9" * 5_000_000 + b'"}}', id="huge"),
]


@pytest.mark.parametrize("body", HOSTILE)
def test_quickbooks_hostile_invoice_read_is_a_ledgerbridge_error(canned, body):
    """Reading an invoice from a hostile ERP answer gives a ledgerbridge error with a message."""
    answer, url = canned
    answer.body = body
    with pytest.raises(errors.LedgerbridgeError) as caught:
        _call("quickbooks", url, "get_invoice", "1")
    assert caught.value.message.strip()
    assert answer.seen, "the connector reached the server"


@pytest.mark.parametrize("body", HOSTILE)
def test_kantata_hostile_feed_page_is_a_ledgerbridge_error_or_no_events(canned, body):
    """A hostile feed page gives a ledgerbridge error, or a page whose events all map or park."""
    answer, url = canned
    answer.body = body
    try:
        _call("kantata", url, "read_events", None)
    except errors.LedgerbridgeError as exc:
        assert exc.message.strip()
    assert answer.seen


@pytest.mark.parametrize(
    ("status", "expected"), [(500, errors.TransientError), (418, errors.PermanentError)]
)
def test_quickbooks_error_status_with_html_body_is_classified(canned, status, expected):
    """An error status with an HTML body (a proxy's error page) is still classified."""
    answer, url = canned
    answer.status, answer.body, answer.content_type = status, b"<html>oops</html>", "text/html"
    with pytest.raises(expected):
        _call("quickbooks", url, "get_invoice", "1")


def test_kantata_feed_cursor_of_a_busy_second_round_trips_through_the_store(db):
    """A cursor after a burst of 100 feed events in one second is saved and read back whole."""
    from ledgerbridge import store
    from ledgerbridge.connectors.kantata._cursor import FeedCursor

    cursor = FeedCursor(
        last_id=813,
        watermark="2026-10-31T23:00:06Z",
        recent=frozenset(str(i) for i in range(714, 814)),
    ).render()
    assert len(cursor) > 128
    with db.write() as conn:
        store.cursors.save(conn, "t1", "psa", cursor, now=1.0)
    with db.read() as conn:
        assert store.cursors.get(conn, "t1", "psa") == cursor

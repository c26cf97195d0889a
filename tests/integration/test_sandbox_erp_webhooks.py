"""QuickBooks sandbox webhooks and query-parser robustness."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge.sandboxes import (
    ChangeNotice,
    ErpConfig,
    SandboxServer,
    build_signed_payload,
    start_erp,
    verify,
)
from ledgerbridge.sandboxes import _qbo_query as qq

NOTICES = [
    ChangeNotice(
        realm_id="123",
        entity="Invoice",
        entity_id="95",
        operation="Create",
        last_updated="2026-10-03T14:05:00+00:00",
    ),
    ChangeNotice(
        realm_id="456",
        entity="Customer",
        entity_id="7",
        operation="Delete",
        last_updated="2026-10-03T14:06:00+00:00",
    ),
]


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_webhook_signature_verifies_and_tampering_fails(fmt):
    """The intuit-signature verifies the exact body and fails once a byte changes."""
    body, headers = build_signed_payload(NOTICES, fmt=fmt, verifier="verifier-token")
    signature = headers["intuit-signature"]
    assert verify(body, signature, "verifier-token")
    assert not verify(body.replace(b"95", b"96"), signature, "verifier-token")
    assert not verify(body, signature, "other-token")


def test_webhook_legacy_format_groups_by_realm():
    """The legacy payload has one eventNotifications entry per company."""
    body, _ = build_signed_payload(NOTICES, fmt="legacy", verifier="v")
    notes = json.loads(body)["eventNotifications"]
    assert [n["realmId"] for n in notes] == ["123", "456"]
    entity = notes[0]["dataChangeEvent"]["entities"][0]
    assert (entity["name"], entity["id"], entity["operation"]) == ("Invoice", "95", "Create")


def test_webhook_cloudevents_format_is_an_array_of_typed_events():
    """The CloudEvents payload is an array typed qbo.<entity>.<past tense>.v1."""
    body, _ = build_signed_payload(NOTICES, fmt="cloudevents", verifier="v")
    events = json.loads(body)
    assert [e["type"] for e in events] == ["qbo.invoice.created.v1", "qbo.customer.deleted.v1"]
    assert events[0]["specversion"] == "1.0"
    assert (events[0]["intuitentityid"], events[0]["intuitaccountid"]) == ("95", "123")


def test_webhook_delivery_after_write_is_signed():
    """A write leads to a signed POST to the configured receiver within the batch interval."""
    received: list[tuple[bytes, str]] = []
    arrived = threading.Event()

    async def receive(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers["intuit-signature"]))
        arrived.set()
        return web.Response()

    receiver_app = web.Application()
    receiver_app.router.add_post("/hook", receive)
    with SandboxServer(receiver_app, state=None) as receiver:
        config = ErpConfig(
            throttle=False,
            webhook_urls=(f"{receiver.url}/hook",),
            webhook_verifier="vt",
            webhook_batch_ms=20,
            webhook_format="cloudevents",
        )
        with start_erp(config) as srv:
            httpx.post(
                f"{srv.url}/v3/company/9/customer",
                json={"DisplayName": "Hooked"},
                headers={"Authorization": "Bearer sandbox-token"},
            )
            assert arrived.wait(5)
    body, signature = received[0]
    assert verify(body, signature, "vt")
    assert json.loads(body)[0]["type"] == "qbo.customer.created.v1"


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=120)
    | st.builds(lambda tail: "SELECT * FROM Customer " + tail, st.text(max_size=80))
)
def test_query_parser_raises_only_query_errors(statement):
    """On any text the parser returns a query or raises QueryError (which becomes Fault 4000)."""
    try:
        parsed = qq.parse(statement, entities={"Customer"})
    except qq.QueryError:
        return
    assert parsed.entity == "Customer"
    assert parsed.matches(
        {
            "Id": "1",
            "DisplayName": "x",
            "MetaData": {"LastUpdatedTime": "2026-01-01T00:00:00+00:00"},
        }
    ) in (True, False)


def test_query_parser_is_fast_enough_for_hot_paths():
    """Parsing a typical incremental-sync statement takes well under a millisecond."""
    start = time.perf_counter()
    for _ in range(1000):
        qq.parse(
            "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2026-01-01T00:00:00Z' MAXRESULTS 1000",
            entities={"Customer"},
        )
    assert time.perf_counter() - start < 1.0

"""Webhook receivers: signed deliveries are stored once; anything else is refused, unstored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ledgerbridge import sandboxes, store, tenancy
from ledgerbridge.api import create_app
from ledgerbridge.api._signatures import sign_generic, sign_xero
from ledgerbridge.store._tables import events
from tests.integration.test_api_support import http, settings_for, stored_events, webhook_tenant

GENERIC_SECRET = "whsec-generic-0123456789"
VERIFIER = "intuit-verifier-token-42"
XERO_KEY = "xero-webhook-key-abcdef"


@dataclass
class Hooks:
    client: httpx.Client
    db: store.Database
    tenant_id: str


@pytest.fixture
def hooks(db_path: Path, db: store.Database) -> Iterator[Hooks]:
    settings = settings_for(db_path)
    tenant = webhook_tenant(
        db, settings.keyring(), generic=GENERIC_SECRET, verifier=VERIFIER, xero_key=XERO_KEY
    )
    with http(create_app(settings, db=db)) as client:
        yield Hooks(client=client, db=db, tenant_id=tenant)


def _generic_body(external_id: str = "te-1") -> bytes:
    event = {
        "event_type": "time_entry.approved",
        "object_type": "time_entry",
        "external_id": external_id,
        "source_version": 3,
        "record": {"hours": "1.5"},
    }
    return json.dumps({"events": [event]}).encode()


def _post_generic(
    hooks: Hooks, body: bytes, *, at: float | None = None, secret: str = GENERIC_SECRET
) -> httpx.Response:
    stamp = int(time.time() if at is None else at)
    headers = {
        "X-Ledgerbridge-Signature": sign_generic(body, secret, timestamp=stamp),
        "Content-Type": "application/json",
    }
    return hooks.client.post("/hooks/gen", content=body, headers=headers)


def test_webhook_generic_valid_stored_once_over_three_deliveries(hooks: Hooks) -> None:
    """The same signed delivery three times answers 202 each time and stores one event."""
    body = _generic_body()
    answers = [_post_generic(hooks, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert answers[0].json() == {"received": 1, "stored": 1, "duplicates": 0}
    assert answers[2].json()["duplicates"] == 1
    assert stored_events(hooks.db) == 1


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", 401),
        ("wrong secret", 401),
        ("tampered", 401),
        ("stale", 401),
        ("future", 401),
        ("garbled header", 401),
    ],
)
def test_webhook_generic_rejects_bad_signatures(hooks: Hooks, case: str, expected: int) -> None:
    """Unsigned, mis-signed, tampered and stale deliveries are refused and store nothing."""
    body = _generic_body()
    if case == "missing":
        answer = hooks.client.post("/hooks/gen", content=body)
    elif case == "wrong secret":
        answer = _post_generic(hooks, body, secret="not-the-secret")
    elif case == "tampered":
        signed = sign_generic(body, GENERIC_SECRET, timestamp=int(time.time()))
        answer = hooks.client.post(
            "/hooks/gen",
            content=_generic_body("te-2"),
            headers={"X-Ledgerbridge-Signature": signed},
        )
    elif case == "stale":
        answer = _post_generic(hooks, body, at=time.time() - 301)
    elif case == "future":
        answer = _post_generic(hooks, body, at=time.time() + 301)
    else:
        answer = hooks.client.post(
            "/hooks/gen", content=body, headers={"X-Ledgerbridge-Signature": "v1=abc"}
        )
    assert answer.status_code == expected
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"]
    assert stored_events(hooks.db) == 0


def test_webhook_rejects_oversized_bodies(hooks: Hooks) -> None:
    """A body over 1 MiB is refused with 413, by Content-Length and when streamed."""
    big = b'{"events": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
    declared = _post_generic(hooks, big)
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    streamed = hooks.client.post(
        "/hooks/gen", content=chunks(), headers={"X-Ledgerbridge-Signature": "t=1,v1=00"}
    )
    assert streamed.status_code == 413
    assert stored_events(hooks.db) == 0


def test_webhook_quickbooks_notices_stored_once(hooks: Hooks) -> None:
    """A signed QuickBooks delivery stores one notification per entity, once."""
    notices = [
        sandboxes.ChangeNotice(
            realm_id="9130",
            entity="Invoice",
            entity_id="145",
            operation="Update",
            last_updated="2026-01-05T10:00:00+00:00",
        )
    ]
    for fmt in ("legacy", "legacy", "cloudevents"):
        body, headers = sandboxes.build_signed_payload(notices, fmt=fmt, verifier=VERIFIER)
        answer = hooks.client.post("/hooks/qbo", content=body, headers=headers)
        assert answer.status_code == 202, answer.text
    with hooks.db.read() as conn:
        rows = list(conn.execute(sa.select(events)))
    assert len(rows) == 1
    record = store.loads(rows[0].payload)["record"]
    assert (rows[0].event_type, rows[0].object_type, rows[0].external_id) == (
        "erp.notification",
        "invoice",
        "145",
    )
    assert record["operation"].lower().startswith("update")


def test_webhook_quickbooks_rejects_bad_signature(hooks: Hooks) -> None:
    """A QuickBooks delivery signed with another verifier token is refused, unstored."""
    notices = [
        sandboxes.ChangeNotice(
            realm_id="1",
            entity="Customer",
            entity_id="7",
            operation="Create",
            last_updated="2026-01-05T10:00:00+00:00",
        )
    ]
    body, headers = sandboxes.build_signed_payload(notices, fmt="legacy", verifier="other")
    assert hooks.client.post("/hooks/qbo", content=body, headers=headers).status_code == 401
    assert hooks.client.post("/hooks/qbo", content=body).status_code == 401
    assert stored_events(hooks.db) == 0


def test_webhook_xero_intent_to_receive(hooks: Hooks) -> None:
    """Xero's probe gets 200 with an empty body when signed right, 401 otherwise."""
    body = json.dumps(
        {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "S0M3R4ND0M"}
    ).encode()
    good = hooks.client.post(
        "/hooks/xero", content=body, headers={"x-xero-signature": sign_xero(body, XERO_KEY)}
    )
    assert (good.status_code, good.content) == (200, b"")
    bad = hooks.client.post(
        "/hooks/xero", content=body, headers={"x-xero-signature": sign_xero(body, "wrong")}
    )
    assert bad.status_code == 401
    assert stored_events(hooks.db) == 0


def test_webhook_unknown_connection_is_404(hooks: Hooks) -> None:
    """A delivery to a connection that does not exist is refused."""
    assert hooks.client.post("/hooks/nope", content=b"{}").status_code == 404


def test_webhook_shared_connection_id_is_delivered_by_tenant(hooks: Hooks) -> None:
    """Two tenants may both name a connection "gen": the tenant-qualified URL reaches each
    one's own inbox with its own secret; the short URL reveals nothing and stores nothing."""
    keyring = settings_for(Path(hooks.db.url.database or "")).keyring()
    partner = tenancy.create_partner(hooks.db, name="Other partner")
    other = tenancy.create_tenant(hooks.db, partner_id=partner, name="Other firm")
    other_secret = "whsec-other-tenant-9876543210"
    tenancy.add_connection(
        hooks.db,
        tenant_id=other,
        kind="memory",
        settings={},
        connection_id="gen",
        credentials={"webhook_secret": other_secret},
        keyring=keyring,
    )
    body = _generic_body("te-shared")

    def post(path: str, secret: str) -> httpx.Response:
        signature = sign_generic(body, secret, timestamp=int(time.time()))
        return hooks.client.post(
            path, content=body, headers={"X-Ledgerbridge-Signature": signature}
        )

    assert post("/hooks/gen", GENERIC_SECRET).status_code == 404
    assert post(f"/hooks/{other}/gen", GENERIC_SECRET).status_code == 401  # not its secret
    assert stored_events(hooks.db) == 0
    assert post(f"/hooks/{hooks.tenant_id}/gen", GENERIC_SECRET).status_code == 202
    assert post(f"/hooks/{other}/gen", other_secret).status_code == 202
    with hooks.db.read() as conn:
        owners = sorted(conn.scalars(sa.select(events.c.tenant_id)))
    assert owners == sorted([hooks.tenant_id, other])

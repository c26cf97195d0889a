"""Tenant isolation, generated from the route table.

For every ``/api/v1`` route with path parameters, a caller of partner A (or of tenant A1)
addresses partner B's (or tenant A2's) objects and must get 404, or 403 for a verb its
role forbids; every list must leave the other side's objects out. A new route is covered
without touching this file; one that takes a body needs an example below, or this fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from ledgerbridge import store, tenancy
from ledgerbridge.api import create_app
from ledgerbridge.store._scoped import Scope
from tests.conftest import ENGINE_BLUEPRINT
from tests.integration.test_api_support import Side, http, make_side, settings_for

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/partners"): {"name": "new"},
    ("POST", "/api/v1/tenants"): {"name": "new"},
    ("POST", "/api/v1/api-keys"): {"name": "k", "role": "tenant_viewer"},
    ("POST", "/api/v1/users"): {
        "email": "x@example.com",
        "password": "long enough pw",
        "role": "tenant_viewer",
    },
    ("POST", "/api/v1/exceptions/bulk"): {"action": "retry"},
    ("PATCH", "/api/v1/partners/{partner_id}"): {"name": "stolen"},
    ("PATCH", "/api/v1/tenants/{tenant_id}"): {"name": "stolen"},
    ("PATCH", "/api/v1/tenants/{tenant_id}/environments/{environment}"): {"label": "x"},
    ("POST", "/api/v1/tenants/{tenant_id}/connections"): {"kind": "memory"},
    ("PATCH", "/api/v1/tenants/{tenant_id}/connections/{connection_id}"): {"settings": {}},
    ("POST", "/api/v1/tenants/{tenant_id}/deployments"): {
        "document": ENGINE_BLUEPRINT,
        "bindings": {"target": "erp", "source": "psa"},
    },
    ("PATCH", "/api/v1/tenants/{tenant_id}/deployments/{deployment_id}"): {"is_active": False},
    ("POST", "/api/v1/exceptions/{exception_id}/skip"): {"reason": "not mine"},
}
LIST_PARAMS = {"limit": 500}


@dataclass
class World:
    app: FastAPI
    a: Side
    b: Side


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[World]:
    path = tmp_path_factory.mktemp("iso") / "iso.db"
    path.write_bytes(template_db.read_bytes())
    db = store.Database(f"sqlite:///{path}")
    settings = settings_for(path)
    a = make_side(db, settings.keyring(), "Alpha")
    b = make_side(db, settings.keyring(), "Bravo")
    yield World(app=create_app(settings, db=db), a=a, b=b)
    db.dispose()


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for ctx in iter_route_contexts(app.routes):
        if ctx.path.startswith("/api/v1/") and not ctx.path.endswith(("openapi.json", "/docs")):
            found.extend((m, ctx.path) for m in sorted(ctx.methods or ()) if m != "HEAD")
    return found


def _callers(world: World) -> list[tuple[str, str, dict[str, str], dict[str, str], set[str]]]:
    """(name, key, own ids, victim ids, strings that must never show) per caller."""
    a, b = world.a, world.b
    a2 = {k.split(":", 1)[1]: v for k, v in a.ids.items() if k.startswith(f"{a.other_tenant_id}:")}
    b1 = {k: v for k, v in b.ids.items() if ":" not in k}
    own_a1 = {k: v for k, v in a.ids.items() if ":" not in k}
    partner_victims = {**b1, "partner_id": b.partner_id}
    tenant_victims = {
        **a2,
        "partner_id": b.partner_id,
        "key_id": b.ids["key_id"],
        "environment": "production",
        "user_id": a.ids["user_id"],
    }
    never_partner = {v for k, v in b.ids.items() if k.endswith(("_id", "tenant_id"))} | {
        b.partner_id
    }
    never_tenant = set(a2.values()) - {"production"}
    return [
        ("partner A", a.partner_key, own_a1, partner_victims, never_partner),
        ("tenant A1", a.tenant_key, own_a1, tenant_victims, never_tenant),
    ]


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _call(client: httpx.Client, method: str, template: str, url: str) -> httpx.Response:
    body = BODIES.get((method, template))
    if (
        method in ("POST", "PATCH", "PUT")
        and body is None
        and template.count("{")
        and not template.endswith(("/retry", "/approve", "/replay", "/test"))
    ):
        raise AssertionError(f"add an example body for {method} {template} to BODIES")
    return client.request(method, url, json=body, params=LIST_PARAMS if method == "GET" else None)


def test_isolation_objects_of_others_answer_404(world: World) -> None:
    """Every route with path parameters answers 404 (or 403) on the other side's objects."""
    checked = 0
    for name, key, own, victims, _ in _callers(world):
        with http(world.app, key) as client:
            for method, template in _routes(world.app):
                params = re.findall(r"\{(\w+)\}", template)
                if not params:
                    continue
                variants = [_fill(template, victims)]
                if len(params) > 1 and params[0] == "tenant_id" and params[-1] != "environment":
                    variants.append(_fill(template, {**victims, "tenant_id": own["tenant_id"]}))
                for url in variants:
                    answer = _call(client, method, template, url)
                    assert answer.status_code in (403, 404), (name, method, url, answer.text)
                    assert answer.headers["content-type"] == "application/problem+json"
                    checked += 1
    assert checked > 40


def test_isolation_lists_leave_others_out(world: World) -> None:
    """Every list, with or without a tenant filter naming the other side, omits its objects."""
    for name, key, own, victims, never in _callers(world):
        with http(world.app, key) as client:
            for method, template in _routes(world.app):
                if method != "GET" or template.endswith("}"):
                    continue
                url = _fill(template, own)
                answers = [client.get(url, params=LIST_PARAMS)]
                answers.append(
                    client.get(url, params={**LIST_PARAMS, "tenant_id": victims["tenant_id"]})
                )
                for answer in answers:
                    assert answer.status_code in (200, 403), (name, url, answer.text)
                    if answer.status_code == 200:
                        leaked = {v for v in never if v in answer.text}
                        assert not leaked, (name, url, leaked)


def test_isolation_own_objects_are_reachable(world: World) -> None:
    """The same routes do answer the caller's own objects (the 404s above are not blanket)."""
    a = world.a
    with http(world.app, a.tenant_key) as client:
        for template in (
            "/api/v1/tenants/{tenant_id}",
            "/api/v1/runs/{run_id}",
            "/api/v1/exceptions/{exception_id}",
            "/api/v1/events/{event_id}",
            "/api/v1/tenants/{tenant_id}/connections/{connection_id}",
        ):
            assert client.get(_fill(template, a.ids)).status_code == 200, template
        listed = client.get("/api/v1/runs").json()["items"]
        assert {r["tenant_id"] for r in listed} == {a.tenant_id}
    with http(world.app, a.partner_key) as client:
        listed = client.get("/api/v1/runs").json()["items"]
        assert {r["tenant_id"] for r in listed} == {a.tenant_id, a.other_tenant_id}


def test_isolation_viewer_may_not_change_or_act(world: World) -> None:
    """A tenant viewer gets 403 from every changing route, even on its own tenant's objects."""
    a = world.a
    db = world.app.state.db
    system = tenancy.Principal(actor="test", role=tenancy.PLATFORM_ADMIN, scope=Scope())
    _, key = tenancy.access.create_api_key(
        db,
        system,
        name="viewer",
        role="tenant_viewer",
        partner_id=a.partner_id,
        tenant_id=a.tenant_id,
    )
    own = {k: v for k, v in a.ids.items() if ":" not in k}
    with http(world.app, key) as client:
        changing = [(m, t) for m, t in _routes(world.app) if m != "GET"]
        for method, template in changing:
            answer = _call(client, method, template, _fill(template, own))
            assert answer.status_code == 403, (method, template, answer.text)
        assert client.get(_fill("/api/v1/runs/{run_id}", own)).status_code == 200
    assert len(changing) > 15

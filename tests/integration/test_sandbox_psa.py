"""Fidelity of the Kantata OX sandbox, over real HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest

from ledgerbridge.sandboxes import PsaConfig, start_psa

AUTH = {"Authorization": "Bearer sandbox-token"}


def op(seq, kind, resource, oid, fields=None, at=None):
    return {
        "seq": seq,
        "at": at or f"2026-10-03T14:{seq % 60:02}:00Z",
        "op": kind,
        "resource": resource,
        "id": oid,
        "fields": fields or {},
    }


BASE = [
    op(1, "create", "organizations", "10", {"name": "Acme", "currency": "USD"}),
    op(
        2,
        "create",
        "users",
        "11",
        {"full_name": "Dev One", "email_address": "dev@example.com", "role_name": "Developer"},
    ),
    op(
        3,
        "create",
        "workspaces",
        "20",
        {"title": "Build", "organization_id": "10", "status": {"message": "Active"}},
    ),
    op(
        4,
        "create",
        "time_entries",
        "30",
        {
            "workspace_id": "20",
            "user_id": "11",
            "date_performed": "2026-10-02",
            "time_in_minutes": 90,
            "rate_in_cents": 10000,
        },
    ),
    op(
        5,
        "create",
        "time_entries",
        "31",
        {
            "workspace_id": "20",
            "user_id": "11",
            "date_performed": "2026-10-03",
            "time_in_minutes": 30,
            "rate_in_cents": 10000,
        },
    ),
    op(
        6,
        "create",
        "expenses",
        "40",
        {"workspace_id": "20", "date": "2026-10-03", "category": "Travel", "amount_in_cents": 2500},
    ),
]


@pytest.fixture
def psa():
    with (
        start_psa(PsaConfig(rate_limit=None)) as srv,
        httpx.Client(base_url=f"{srv.url}/api/v1", headers=AUTH, timeout=5) as client,
    ):
        response = httpx.post(f"{srv.url}/_admin/activity", json=BASE)
        assert response.json() == {"applied": 6, "skipped": 0}
        client.server = srv
        yield client


def test_keyed_map_shape_and_results_order(psa):
    """Lists answer count, meta, results (the order) and objects keyed by id."""
    psa.put("/time_entries/30", json={"time_entry": {"notes": "edited"}})
    body = psa.get("/time_entries", params={"order": "updated_at:desc"}).json()
    assert body["count"] == 2
    assert body["meta"] == {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20}
    assert body["results"] == [
        {"key": "time_entries", "id": "30"},
        {"key": "time_entries", "id": "31"},
    ]
    assert set(body["time_entries"]) == {"30", "31"}
    assert body["time_entries"]["30"]["notes"] == "edited"


def test_paging_allows_200_and_refuses_201(psa):
    """per_page up to 200 is served; 201 answers 400 with an errors body."""
    psa.post("/organizations", json={"organizations": [{"name": f"Org {i}"} for i in range(100)]})
    page = psa.get("/organizations", params={"per_page": 50, "page": 2}).json()
    assert page["meta"]["page_count"] == 3
    assert page["meta"]["page_number"] == 2
    assert len(page["results"]) == 50
    assert psa.get("/organizations", params={"per_page": 200}).status_code == 200
    refused = psa.get("/organizations", params={"per_page": 201})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "per_page"


def test_external_reference_filter_finds_tagged_objects(psa):
    """external_reference_service_model_ref(s) finds objects tagged on create."""
    tag = {
        "service_name": "ledgerbridge",
        "service_model": "Invoice",
        "service_model_ref": "erp-77",
    }
    created = psa.post(
        "/organizations", json={"organization": {"name": "Tagged", "external_reference": tag}}
    ).json()
    (oid,) = created["organizations"]
    found = psa.get(
        "/organizations", params={"external_reference_service_model_ref": "erp-77"}
    ).json()
    assert [r["id"] for r in found["results"]] == [oid]
    several = psa.get(
        "/organizations", params={"external_reference_service_model_refs": "erp-77,none"}
    ).json()
    assert several["count"] == 1


def test_only_and_updated_after_filters(psa):
    """only= fetches by id and updated_after keeps later changes only."""
    assert [
        r["id"] for r in psa.get("/time_entries", params={"only": "31,999"}).json()["results"]
    ] == ["31"]
    later = psa.get("/time_entries", params={"updated_after": "2026-10-03T14:04:30Z"}).json()
    assert [r["id"] for r in later["results"]] == ["31"]


def test_invoice_marks_entries_invoiced(psa):
    """Creating an invoice marks its time entries and expenses is_invoiced with invoice_id."""
    body = psa.post(
        "/invoices",
        json={
            "invoice": {
                "payment_schedule": 30,
                "workspace_id": "20",
                "time_entry_ids": ["30"],
                "expense_ids": ["40"],
            }
        },
    ).json()
    (invoice_id,) = body["invoices"]
    invoice = body["invoices"][invoice_id]
    assert (invoice["status"], invoice["balance_in_cents"], invoice["currency"]) == (
        "new",
        15000 + 2500,
        "USD",
    )
    entry = psa.get("/time_entries/30").json()["time_entries"]["30"]
    assert (entry["is_invoiced"], entry["invoice_id"]) == (True, invoice_id)
    assert psa.get("/expenses/40").json()["expenses"]["40"]["is_invoiced"] is True
    assert psa.get("/time_entries/31").json()["time_entries"]["31"]["is_invoiced"] is False
    again = psa.post(
        "/invoices",
        json={"invoice": {"payment_schedule": 30, "workspace_id": "20", "time_entry_ids": ["30"]}},
    )
    assert again.status_code == 422
    assert psa.delete("/time_entries/30").status_code == 422


def test_invoice_requires_a_line_source(psa):
    """An invoice without entries or items is refused with 422."""
    response = psa.post(
        "/invoices", json={"invoice": {"payment_schedule": 30, "workspace_id": "20"}}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "validation"


def test_external_payments_reduce_balance_and_settle(psa):
    """Payments lower balance_in_cents; at zero the status becomes 'accepted payment'."""
    body = psa.post(
        "/invoices",
        json={"invoice": {"payment_schedule": 14, "workspace_id": "20", "time_entry_ids": ["30"]}},
    ).json()
    (invoice_id,) = body["invoices"]
    psa.post(
        "/external_payments",
        json={
            "external_payment": {
                "invoice_id": invoice_id,
                "amount_in_cents": 5000,
                "currency": "USD",
                "paid_on": "2026-10-20",
            }
        },
    )
    partial = psa.get(f"/invoices/{invoice_id}").json()["invoices"][invoice_id]
    assert (partial["balance_in_cents"], partial["status"]) == (10000, "new")
    over = psa.post(
        "/external_payments",
        json={"external_payment": {"invoice_id": invoice_id, "amount_in_cents": 10001}},
    )
    assert over.status_code == 422
    psa.post(
        "/external_payments",
        json={"external_payment": {"invoice_id": invoice_id, "amount_in_cents": 10000}},
    )
    paid = psa.get(f"/invoices/{invoice_id}").json()["invoices"][invoice_id]
    assert (paid["balance_in_cents"], paid["status"]) == (0, "accepted payment")


def test_subscribed_events_carry_payload_changes(psa):
    """Activity ops and API writes both produce events with previous/current payloads and changes."""
    httpx.post(
        f"{psa.server.url}/_admin/activity",
        json=[
            op(
                7,
                "update",
                "time_entries",
                "31",
                {"approved": False, "notes": "late"},
                at="2026-10-03T15:00:00Z",
            )
        ],
    )
    psa.put("/workspaces/20", json={"workspace": {"status": "Completed"}})
    params = {
        "event_types": "time_entry:updated,workspace:updated",
        "optional_fields": "payload_changes,previous_payload,current_payload",
    }
    body = psa.get("/subscribed_events", params=params).json()
    events = [body["subscribed_events"][r["id"]] for r in body["results"]]
    assert [e["event_type"] for e in events] == ["time_entry:updated", "workspace:updated"]
    assert events[0]["payload_changes"]["notes"] == ["", "late"]
    assert events[0]["previous_payload"]["approved"] is True
    assert events[0]["current_payload"]["approved"] is False
    assert events[1]["payload_changes"]["status"][1]["message"] == "Completed"
    ids = [
        int(r["id"])
        for r in psa.get("/subscribed_events", params={"per_page": 200}).json()["results"]
    ]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids)) == 8


def test_subscribed_events_filter_by_subject_and_time(psa):
    """created_after and subject_type/subject_id narrow the feed."""
    body = psa.get("/subscribed_events", params={"created_after": "2026-10-03T14:04:30Z"}).json()
    assert body["count"] == 2
    one = psa.get(
        "/subscribed_events", params={"subject_type": "TimeEntry", "subject_id": "30"}
    ).json()
    assert [e["event_type"] for e in one["subscribed_events"].values()] == ["time_entry:created"]


def test_activity_ops_are_skipped_when_replayed(psa):
    """Ops whose seq was already applied are skipped, so a feed can be loaded twice."""
    response = httpx.post(f"{psa.server.url}/_admin/activity", json=BASE)
    assert response.json() == {"applied": 0, "skipped": 6}
    assert psa.server.state.counts()["time_entries"] == 2


def test_errors_bodies_for_401_404_422(psa):
    """Errors answer {"errors": [{type, message, field?}]} with 401, 404 and 422."""
    unauthorised = httpx.get(
        f"{psa.server.url}/api/v1/workspaces", headers={"Authorization": "Bearer bad"}
    )
    assert unauthorised.status_code == 401
    assert unauthorised.json()["errors"][0]["type"] == "authentication"
    missing = psa.get("/workspaces/999")
    assert missing.status_code == 404
    assert "not found" in missing.json()["errors"][0]["message"]
    invalid = psa.post(
        "/time_entries", json={"time_entry": {"workspace_id": "20", "date_performed": "2026-10-03"}}
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0] == {
        "type": "validation",
        "message": "time_in_minutes can't be blank",
        "field": "time_in_minutes",
    }


def test_rate_limit_answers_429_with_retry_after():
    """Past the per-token limit the sandbox answers 429 with Retry-After and an errors body."""
    with start_psa(PsaConfig(rate_limit=5, rate_window_s=30)) as srv:
        codes = [httpx.get(f"{srv.url}/api/v1/users", headers=AUTH) for _ in range(6)]
    assert [r.status_code for r in codes] == [200] * 5 + [429]
    assert 1 <= int(codes[-1].headers["Retry-After"]) <= 30
    assert codes[-1].json()["errors"][0]["type"] == "rate_limit"


def test_default_rate_limit_is_100_per_10_seconds():
    """The default limit lets 100 requests through and refuses the 101st."""
    with start_psa() as srv, httpx.Client(headers=AUTH) as client:
        codes = [client.get(f"{srv.url}/api/v1/users").status_code for _ in range(101)]
    assert codes.count(200) == 100
    assert codes[-1] == 429


def test_workspace_status_and_billing_type_are_validated(psa):
    """A workspace needs a title, a known billing_type and a known status message."""
    ok = psa.post(
        "/workspaces",
        json={
            "workspace": {
                "title": "Retainer",
                "billing_type": "retainer",
                "status": "Okay to Start",
            }
        },
    ).json()
    (wid,) = ok["workspaces"]
    assert ok["workspaces"][wid]["status"] == {
        "key": 210,
        "message": "Okay to Start",
        "color": "light-green",
    }
    bad = psa.post("/workspaces", json={"workspace": {"title": "X", "billing_type": "hourly"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "billing_type"

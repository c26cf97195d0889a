"""Pure mapping of Kantata feed events, the money arithmetic, and the feed cursor."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge.connectors.kantata import (
    FeedCursor,
    Lookups,
    _cursor,
    _fields,
    classify,
    to_business_event,
)
from ledgerbridge.model import BusinessEvent
from ledgerbridge.sample import time_amount

ORG = {"id": "1001", "name": "Acme", "currency": "EUR", "email": "ap@acme.example"}
WORKSPACE = {
    "id": "300001",
    "title": "Acme rollout",
    "organization_id": "1001",
    "currency": "USD",
    "billing_type": "fixed_fee",
    "price_in_cents": 500_000,
    "status": {"key": 300, "message": "Active", "color": "green"},
}
USER = {"id": "20001", "full_name": "Ada Lovelace", "role_name": "Consultant"}
MILESTONE = {
    "id": "4000001",
    "workspace_id": "300001",
    "title": "M1",
    "story_type": "milestone",
    "state": "completed",
    "price_in_cents": 250_000,
}
LOOKUPS = Lookups(
    workspaces={"300001": WORKSPACE}, organizations={"1001": ORG}, users={"20001": USER}
)


def entry(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "50000001",
        "workspace_id": "300001",
        "user_id": "20001",
        "date_performed": "2026-10-05",
        "time_in_minutes": 95,
        "rate_in_cents": 15_050,
        "billable": True,
        "currency": "USD",
        "notes": "Design",
        "approved": True,
        "is_invoiced": False,
    }
    return {**base, **fields}


def feed(event_type: str, before: Any, after: Any, event_id: Any = "77") -> dict[str, Any]:
    return {
        "id": event_id,
        "event_type": event_type,
        "subject_id": (after or before or {}).get("id")
        if isinstance(after or before, dict)
        else None,
        "created_at": "2026-10-06T09:00:00Z",
        "previous_payload": before,
        "current_payload": after,
    }


def mapped(event: dict[str, Any]) -> BusinessEvent | None:
    return to_business_event(event, lookups=LOOKUPS, tenant_id="t", connection_id="c")


# --- money ---------------------------------------------------------------------------------------


@given(st.integers(0, 10**7), st.integers(0, 10**8))
def test_time_amount_agrees_with_the_sample_generator(minutes, rate_in_cents):
    """Rounding of minutes x rate matches ledgerbridge.sample.time_amount exactly."""
    assert _fields.time_amount(minutes, rate_in_cents) == time_amount(minutes, rate_in_cents)


@given(st.integers(-(10**15), 10**15))
def test_hours_are_minutes_over_sixty_to_four_places(minutes):
    """Hours are Decimal(minutes)/60 quantized to 0.0001, even for huge values."""
    result = _fields.hours(minutes)
    assert result.as_tuple().exponent == -4
    assert abs(result - Decimal(minutes) / Decimal(60)) <= Decimal("0.00005")


@given(st.integers(-(10**12), 10**12))
def test_to_cents_round_trips_whole_cents(cents):
    """A Decimal amount converts back to the same whole cents; fractions are refused."""
    assert _fields.to_cents(_fields.cents(cents)) == cents
    with pytest.raises(ValueError):
        _fields.to_cents(_fields.cents(cents) + Decimal("0.001"))


# --- classification and records ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "before", "after", "expected"),
    [
        ("time_entry:created", None, entry(approved=True), "time_entry.approved"),
        ("time_entry:created", None, entry(approved=False), None),
        ("time_entry:updated", entry(approved=False), entry(approved=True), "time_entry.approved"),
        ("time_entry:updated", entry(), entry(time_in_minutes=120), "time_entry.changed"),
        ("time_entry:updated", entry(), entry(notes="Fixed"), "time_entry.changed"),
        ("time_entry:updated", entry(), entry(is_invoiced=True, invoice_id="9"), None),
        ("time_entry:updated", entry(approved=False), entry(approved=False, notes="x"), None),
        ("time_entry:updated", entry(), entry(approved=False), "time_entry.unapproved"),
        ("time_entry:deleted", entry(), None, "time_entry.unapproved"),
        ("time_entry:deleted", entry(approved=False), None, None),
        ("organization:created", None, ORG, "customer.upserted"),
        ("organization:deleted", ORG, None, None),
        (
            "workspace:updated",
            {**WORKSPACE, "status": {"message": "Not Started"}},
            WORKSPACE,
            "project.authorized",
        ),
        ("workspace:updated", WORKSPACE, {**WORKSPACE, "status": {"message": "On Hold"}}, None),
        ("invoice:created", None, {"id": "1"}, None),
    ],
)
def test_classify_follows_the_records_contract(event_type, before, after, expected):
    """Feed events map to the business events that records.md prescribes."""
    found = classify(feed(event_type, before, after))
    assert (found.event_type if found else None) == expected


def test_classify_milestone_completion_only_once():
    """A milestone reaching completed is reported; later edits of a completed one are not."""
    story = {"id": "4000001", "workspace_id": "300001", "title": "M1", "story_type": "milestone"}
    started, done = {**story, "state": "started"}, {**story, "state": "completed"}
    assert classify(feed("story:updated", started, done)).event_type == "milestone.completed"
    assert classify(feed("story:updated", done, {**done, "title": "M1b"})) is None
    task = {**done, "story_type": "task"}
    assert classify(feed("story:updated", {**task, "state": "started"}, task)) is None


def test_time_entry_record_has_exact_money_and_lookups():
    """An approved entry maps to a record with customer, currencies, resource and Decimals."""
    event = mapped(feed("time_entry:updated", entry(approved=False), entry(), event_id="501"))
    record = event.payload["record"]
    assert event.source_version == 501 and event.external_id == "50000001"
    assert record["hours"] == Decimal("1.5833") and record["minutes"] == 95
    assert record["rate"] == Decimal("150.50")
    assert record["amount"] == time_amount(95, 15_050) == Decimal("238.29")
    assert (record["customer_id"], record["customer_currency"]) == ("1001", "EUR")
    assert (record["project_currency"], record["currency"]) == ("USD", "USD")
    assert (record["resource_name"], record["role"]) == ("Ada Lovelace", "Consultant")
    assert record["date"] == "2026-10-05" and record["approved"] is True


def test_missing_rate_maps_to_no_amount_rather_than_an_error():
    """A missing rate is a data-quality matter: rate and amount are None, no mapping error."""
    record = mapped(feed("time_entry:created", None, entry(rate_in_cents=None))).payload["record"]
    assert record["rate"] is None and record["amount"] is None


def test_project_and_milestone_records_carry_fee_and_billing_type():
    """A fixed-fee workspace maps to a project with its fee; its milestone carries the price."""
    project = mapped(feed("workspace:created", None, WORKSPACE)).payload["record"]
    assert project["fee"] == Decimal("5000.00") and project["billing_type"] == "fixed_fee"
    assert project["authorized"] is True and project["customer_currency"] == "EUR"
    story = {
        "id": "4000001",
        "workspace_id": "300001",
        "title": "M1",
        "story_type": "milestone",
        "state": "completed",
        "price_in_cents": 250_000,
    }
    milestone = mapped(feed("story:created", None, story)).payload["record"]
    assert milestone["fee"] == Decimal("2500.00") and milestone["billing_type"] == "fixed_fee"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_in_minutes": "95"}, "time_in_minutes"),
        ({"time_in_minutes": 10**40}, "time_in_minutes"),
        ({"rate_in_cents": 1.5}, "rate_in_cents"),
        ({"date_performed": "05/10/2026"}, "date_performed"),
        ({"currency": 840}, "currency"),
        ({"workspace_id": "999"}, "workspace_id"),
        ({"notes": "caf\udce9"}, "notes"),
        ({"billable": "yes"}, "billable"),
    ],
)
def test_bad_time_entry_becomes_mapping_error_naming_the_field(changes, field):
    """Each kind of bad field yields a mapping_error that names it, with the raw kept."""
    event = mapped(feed("time_entry:created", None, entry(**changes)))
    assert event is not None and event.payload["record"] is None
    assert event.payload["mapping_error"]["field"] == field
    assert field in event.payload["mapping_error"]["message"]
    assert event.payload["raw"]["id"] == "50000001"


def test_unreadable_approved_flag_is_reported_as_an_approval_error():
    """When approval cannot be read, the event is kept as a time_entry.approved mapping error."""
    event = mapped(feed("time_entry:updated", entry(), entry(approved="yes")))
    assert event.event_type == "time_entry.approved"
    assert event.payload["mapping_error"]["field"] == "approved"


# --- hostile input ---------------------------------------------------------------------------

SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | SURROGATES
    | st.sampled_from(["300001", "1001", "20001", "2026-10-05", "USD", "milestone", "completed"])
)
FIELDS = st.sampled_from(
    [
        "id",
        "workspace_id",
        "user_id",
        "date_performed",
        "time_in_minutes",
        "rate_in_cents",
        "billable",
        "currency",
        "notes",
        "approved",
        "is_invoiced",
        "amount_in_cents",
        "date",
        "category",
        "story_type",
        "state",
        "title",
        "price_in_cents",
        "name",
        "email",
        "status",
        "organization_id",
        "billing_type",
        "message",
    ]
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | FIELDS, inner, max_size=3)
    ),
    max_leaves=8,
)
PAYLOAD = st.one_of(
    st.none(),
    JSON,
    st.builds(
        lambda base, extra: {**base, **extra},
        st.sampled_from([entry(), entry(approved=False), ORG, WORKSPACE, MILESTONE]),
        st.dictionaries(FIELDS, JSON, max_size=4),
    ),
)
EVENT_TYPES = (
    st.sampled_from(
        [
            f"{r}:{a}"
            for r in ("time_entry", "expense", "story", "workspace", "organization", "invoice")
            for a in ("created", "updated", "deleted")
        ]
        + ["", "time_entry", "a:b:c"]
    )
    | st.text(max_size=12)
    | SCALARS
)


@settings(max_examples=400, deadline=None)
@given(
    event=st.fixed_dictionaries(
        {
            "id": SCALARS,
            "event_type": EVENT_TYPES,
            "previous_payload": PAYLOAD,
            "current_payload": PAYLOAD,
            "payload_changes": JSON,
            "created_at": SCALARS,
        },
    )
    | JSON
)
def test_hostile_feed_events_never_raise(event):
    """Any feed event maps to None, a record, or a mapping_error naming a field."""
    result = mapped(event)
    if result is None:
        return
    assert isinstance(result, BusinessEvent) and result.external_id
    error = result.payload.get("mapping_error")
    if error is not None:
        assert result.payload["record"] is None
        assert isinstance(error["field"], str) and error["field"] and error["message"]
    else:
        assert not any(isinstance(v, float) for v in result.payload["record"].values())


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(0, 10**6),
    rate=st.none() | st.integers(0, 10**7),
    billable=st.booleans(),
)
def test_valid_time_entries_always_map(minutes, rate, billable):
    """Every well-formed entry maps without error, with amounts from the shared rounding."""
    raw = entry(time_in_minutes=minutes, rate_in_cents=rate, billable=billable)
    record = mapped(feed("time_entry:created", None, raw)).payload["record"]
    assert record["hours"] == _fields.hours(minutes)
    assert record["amount"] == (None if rate is None else time_amount(minutes, rate))


# --- the feed cursor -----------------------------------------------------------------------------


@given(
    last_id=st.integers(0, 10**12),
    watermark=st.none()
    | st.datetimes(min_value=dt.datetime(2000, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
    ),
    recent=st.frozensets(st.integers(1, 10**12).map(str), max_size=20),
    floor=st.none() | st.integers(0, 10**12),
)
def test_cursor_text_round_trips(last_id, watermark, recent, floor):
    """A cursor read back from its text is the same cursor."""
    cursor = FeedCursor(last_id=last_id, watermark=watermark, recent=recent, floor=floor)
    assert FeedCursor.parse(cursor.render()) == cursor


@pytest.mark.parametrize("text", ["abc", "1|2|3", "1|not a time||", "x|||"])
def test_cursor_refuses_foreign_text(text):
    """Text that is not a cursor of this connector is refused."""
    with pytest.raises(ValueError):
        FeedCursor.parse(text)


def make_feed(rng: random.Random, size: int) -> list[dict[str, Any]]:
    """Events with ids in order, many sharing a second, like Kantata's feed."""
    moment = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    events = []
    for n in range(1, size + 1):
        moment += dt.timedelta(seconds=rng.choice([0, 0, 0, 1, 2, 40]))
        events.append({"id": str(n), "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return events


def serve(events: list[dict[str, Any]], per_page: int, rng: random.Random):
    """A fetch function with the sandbox's semantics, shuffling within each page."""

    async def fetch(created_after, page):
        rows = [e for e in events if created_after is None or e["created_at"] > created_after]
        chunk = rows[(page - 1) * per_page : page * per_page]
        rng.shuffle(chunk)
        return chunk, max(1, -(-len(rows) // per_page))

    return fetch


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    size=st.integers(0, 300),
    per_page=st.integers(1, 60),
    limit=st.integers(1, 80),
    overlap=st.integers(0, 90),
    arrivals=st.integers(1, 4),
)
def test_feed_walk_delivers_every_event_exactly_once(
    seed, size, per_page, limit, overlap, arrivals
):
    """Reading a growing feed in pages and limited reads loses and repeats nothing."""
    rng = random.Random(seed)
    everything = make_feed(rng, size)
    cuts = [*sorted(rng.randrange(size + 1) for _ in range(arrivals - 1)), size]
    delivered: list[str] = []
    text = None
    for cut in cuts:
        fetch = serve(everything[:cut], per_page, rng)
        for _ in range(10 * size + 10):
            walk = _cursor.FeedWalk(
                FeedCursor.parse(text), overlap=dt.timedelta(seconds=overlap), limit=limit
            )
            complete = asyncio.run(_cursor.walk_feed(walk, fetch))
            delivered += [e["id"] for e in walk.taken]
            text = walk.next_cursor(complete=complete).render()
            if complete:
                break
    assert delivered == [e["id"] for e in everything]


@pytest.mark.parametrize("message", [["Active"], {"a": 1}, 7, None])
def test_workspace_with_odd_status_message_is_not_authorised(message):
    """A status message that is not text never authorises a project and never crashes."""
    workspace = {**WORKSPACE, "status": {"message": message}}
    assert mapped(feed("workspace:updated", WORKSPACE, workspace)) is None

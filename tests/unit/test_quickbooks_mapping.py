"""Pure parts of the QuickBooks connector: mapping, wire encoding, request ids and webhooks."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge import errors
from ledgerbridge.connectors import InvoiceRequest, quickbooks
from ledgerbridge.connectors.quickbooks import _client, _mapping, _webhooks
from ledgerbridge.model import Expense, Money, TimeEntry
from ledgerbridge.sandboxes import ChangeNotice, _qbo_query, build_payload, sign

CENT = Decimal("0.01")
rates = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
minutes_st = st.integers(min_value=0, max_value=72 * 60)


def floats_in(value: Any) -> list[Any]:
    """Return every float inside a decoded JSON value."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in floats_in(v)]
    if isinstance(value, list):
        return [f for v in value for f in floats_in(v)]
    return []


def wire(body: dict[str, Any]) -> Any:
    """Send ``body`` through the client's JSON encoding and back."""
    return _client.decode(_client.encode(body))


def time_entry(minutes: int, rate: Decimal, *, billable: bool = True) -> TimeEntry:
    return TimeEntry(
        id="te-1",
        project_id="p-1",
        resource_id="r-1",
        date=dt.date(2025, 3, 14),
        hours=(Decimal(minutes) / 60).quantize(Decimal("0.0001")),
        billable=billable,
        rate=Money(rate, "USD"),
        approved=True,
        notes="work",
    )


@given(minutes=minutes_st, rate=rates)
def test_time_activity_round_trip_is_exact(minutes, rate):
    """Time goes out as whole hours and minutes and comes back as rate x minutes / 60 to the cent."""
    body = _mapping.time_activity_body(
        time_entry(minutes, rate), project_erp_id="9", employee_id="7", item_id="5", key="k"
    )
    back = wire(body)
    assert floats_in(back) == []
    assert back["Hours"] * 60 + back["Minutes"] == minutes
    charge = _mapping.time_activity_charge(back, currency="USD")
    expected = (rate * minutes / 60).quantize(CENT, rounding=ROUND_HALF_UP)
    assert charge["amount"] == expected
    assert charge["minutes"] == minutes
    assert charge["source_id"] == "te-1"
    assert charge["billed"] is False


def test_time_activity_not_whole_minutes_is_record_error():
    """Hours that are not a whole number of minutes are refused, naming the field."""
    entry = time_entry(60, Decimal(100))
    odd = TimeEntry(**{**{f: getattr(entry, f) for f in entry.__slots__}, "hours": Decimal("0.01")})
    with pytest.raises(errors.RecordError) as caught:
        _mapping.entry_minutes(odd)
    assert caught.value.field == "hours"


def test_time_activity_non_billable_has_no_rate():
    """Non-billable time is posted NotBillable without an hourly rate."""
    body = _mapping.time_activity_body(
        time_entry(30, Decimal(90), billable=False),
        project_erp_id="9",
        employee_id="7",
        item_id="5",
        key="k",
    )
    assert body["BillableStatus"] == "NotBillable"
    assert "HourlyRate" not in body


@given(amount=amounts)
def test_expense_round_trip_is_exact(amount):
    """An expense goes out as one billable Purchase line and comes back with the same amount."""
    expense = Expense(
        id="ex-1",
        project_id="p-1",
        resource_id="r-1",
        date=dt.date(2025, 3, 14),
        amount=Money(amount, "USD"),
        category="travel",
        billable=True,
        approved=True,
    )
    body = _mapping.purchase_body(
        expense, project_erp_id="9", payment_account_id="2", expense_account_id="4", key="k"
    )
    back = wire(body)
    assert floats_in(back) == []
    (charge,) = _mapping.purchase_charges(back, project_erp_id="9")
    assert charge["amount"] == amount
    assert charge["source_id"] == "ex-1"
    assert back["Line"][0]["AccountBasedExpenseLineDetail"]["BillableStatus"] == "Billable"


@given(
    qty=st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
    price=rates,
)
def test_invoice_line_amount_is_qty_times_price_to_the_cent(qty, price):
    """Each invoice line's Amount is Qty x UnitPrice rounded half-up, sent as an exact number."""
    request = InvoiceRequest(
        project_erp_id="9",
        customer_erp_id="8",
        currency="USD",
        txn_date=dt.date(2025, 3, 14),
        lines=[{"description": "d", "quantity": qty, "unit_price": price, "charge_id": "3"}],
    )
    back = wire(_mapping.invoice_body(request, item_id="5", key="k"))
    line = back["Line"][0]
    assert floats_in(back) == []
    assert line["Amount"] == (qty * price).quantize(CENT, rounding=ROUND_HALF_UP)
    assert line["SalesItemLineDetail"]["Qty"] == qty
    assert line["LinkedTxn"] == [{"TxnId": "3", "TxnType": "TimeActivity"}]


def test_invoice_without_lines_is_record_error():
    """An invoice request with no lines is refused before anything is sent."""
    request = InvoiceRequest(
        project_erp_id="9", customer_erp_id="8", currency="USD", txn_date=dt.date.today(), lines=[]
    )
    with pytest.raises(errors.RecordError):
        _mapping.invoice_body(request, item_id="5", key="k")


def test_encoder_writes_decimal_text_not_float():
    """Amounts are written from the Decimal's text, so 0.1 + 0.2 stays 0.3."""
    assert _client.encode({"a": Decimal("0.1") + Decimal("0.2")}) == b'{"a":0.3}'
    assert _client.decode(b'{"a":0.30}') == {"a": Decimal("0.30")}


@pytest.mark.parametrize(
    ("total", "balance", "status"),
    [("100", "100", "open"), ("100", "40", "partially_paid"), ("100", "0", "paid")],
)
def test_erp_invoice_status_follows_balance(total, balance, status):
    """The invoice status is open, partially paid or paid according to its balance."""
    raw = {
        "Id": "5",
        "TotalAmt": Decimal(total),
        "Balance": Decimal(balance),
        "CurrencyRef": {"value": "USD"},
    }
    assert _mapping.erp_invoice(raw, []).status == status


def test_payment_without_invoice_is_record_error():
    """A payment applied to no invoice cannot become a payment.received record."""
    with pytest.raises(errors.RecordError) as caught:
        _mapping.payment_records({"Id": "1", "TotalAmt": Decimal(5), "Line": []}, {})
    assert caught.value.field == "Line.LinkedTxn"


@given(value=st.text(max_size=40))
def test_quote_round_trips_through_the_query_grammar(value):
    """Any text quoted for a query reads back unchanged in the query language."""
    parsed = _qbo_query.parse(
        f"SELECT * FROM Customer WHERE DisplayName = {_mapping.quote(value)}",
        entities={"Customer"},
    )
    assert parsed.conditions[0].values[0] == value


@given(key=st.text(min_size=1, max_size=120), purpose=st.sampled_from(["", "update", "delete"]))
def test_request_id_fits_and_is_stable(key, purpose):
    """Request ids are at most 50 characters and the same for the same key and purpose."""
    rid = _client.request_id(key, purpose)
    assert len(rid) <= _client.MAX_REQUEST_ID
    assert rid == _client.request_id(key, purpose)


def test_request_id_differs_per_purpose():
    """A create and the update made under one key never share a request id."""
    long_key = "k" * 80
    assert _client.request_id("k") != _client.request_id("k", "update")
    assert _client.request_id(long_key) != _client.request_id(long_key, "update")


# -- webhooks ----------------------------------------------------------------------------

notices_st = st.lists(
    st.builds(
        ChangeNotice,
        realm_id=st.sampled_from(["111", "222"]),
        entity=st.sampled_from(["Customer", "Invoice", "Payment", "TimeActivity"]),
        entity_id=st.integers(min_value=1, max_value=10**6).map(str),
        operation=st.sampled_from(["Create", "Update", "Delete"]),
        last_updated=st.just("2025-03-14T10:00:00+00:00"),
    ),
    max_size=6,
)


@given(notices=notices_st, fmt=st.sampled_from(["legacy", "cloudevents"]))
def test_webhook_payloads_parse_in_both_formats(notices, fmt):
    """Both payload formats yield each notice's realm, entity, id and operation."""
    parsed = _webhooks.parse_notifications(build_payload(notices, fmt=fmt))
    expected = [(n.realm_id, n.entity, n.entity_id, n.operation) for n in notices]
    assert sorted(parsed) == sorted(expected)


def test_webhook_signature_is_verified():
    """The signature of the exact body verifies; a changed body or a wrong token does not."""
    body = build_payload([], fmt="legacy")
    signature = sign(body, "verifier")
    assert quickbooks.verify_signature(body, signature, "verifier")
    assert not quickbooks.verify_signature(body + b" ", signature, "verifier")
    assert not quickbooks.verify_signature(body, signature, "other")
    assert not quickbooks.verify_signature(body, None, "verifier")


def test_webhook_malformed_names_the_field():
    """A legacy notice without realmId is refused with the field's path."""
    body = b'{"eventNotifications": [{"dataChangeEvent": {"entities": []}}]}'
    with pytest.raises(errors.RecordError) as caught:
        _webhooks.parse_notifications(body)
    assert caught.value.field == "eventNotifications[0].realmId"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
near_valid = st.one_of(
    st.fixed_dictionaries({"eventNotifications": json_values}),
    st.fixed_dictionaries(
        {"eventNotifications": st.lists(st.fixed_dictionaries({"realmId": json_values, "dataChangeEvent": json_values}), max_size=3)}
    ),
    st.lists(st.fixed_dictionaries({"type": json_values, "intuitaccountid": json_values, "intuitentityid": json_values}), max_size=3),
    st.lists(st.fixed_dictionaries({"type": st.from_regex(r"qbo\.[a-z]{1,8}\.[a-z]{1,8}\.v[0-9]", fullmatch=True), "intuitaccountid": json_values, "intuitentityid": json_values}), max_size=3),
    json_values,
)  # fmt: skip


@given(body=st.binary(max_size=200))
def test_webhook_parser_fuzz_bytes_only_record_error(body):
    """Arbitrary bytes either parse or raise RecordError, never another exception."""
    with contextlib.suppress(errors.RecordError):
        _webhooks.parse_notifications(body)


@given(doc=near_valid)
def test_webhook_parser_fuzz_json_only_record_error(doc):
    """Arbitrary JSON near both formats either parses into text notices or raises RecordError."""
    body = _client.encode(doc)
    try:
        notices = _webhooks.parse_notifications(body)
    except errors.RecordError as exc:
        assert exc.field
        return
    assert all(isinstance(part, str) and part for n in notices for part in n)


@given(signature=st.text(max_size=60), body=st.binary(max_size=60))
def test_webhook_signature_fuzz_never_raises(signature, body):
    """Any header text is simply not a valid signature."""
    assert quickbooks.verify_signature(body, signature, "verifier") is (
        signature == sign(body, "verifier")
    )


def test_quickbooks_all_matches_exports():
    """The package's __all__ lists exactly its public names, once each."""
    public = {n for n in dir(quickbooks) if not n.startswith("_")}
    assert len(set(quickbooks.__all__)) == len(quickbooks.__all__)
    assert set(quickbooks.__all__) == public - {"annotations"}

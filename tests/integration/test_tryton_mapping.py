"""Property tests of the Tryton mapping and wire encoding (pure functions, no server)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge import errors
from ledgerbridge.connectors.tryton import _mapping, _rpc
from ledgerbridge.model import Expense, Money, TimeEntry

seconds = st.integers(min_value=0, max_value=10_000 * 3600)
cents = st.integers(min_value=1, max_value=10**10).map(lambda c: Decimal(c).scaleb(-2))
hours = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)
text = st.text(
    st.characters(blacklist_characters="|]\n", blacklist_categories=("Cs",)), max_size=40
)
keys = st.text(st.characters(blacklist_characters="]\n", blacklist_categories=("Cs",)), min_size=1)
wire_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.dates()
    | st.datetimes()
    | st.binary(max_size=20)
    | seconds.map(lambda s: dt.timedelta(seconds=s)),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


def entry(hours_value: Decimal, rate: Money, notes: str = "") -> TimeEntry:
    return TimeEntry(
        id="te-1",
        project_id="p-1",
        resource_id="r-1",
        date=dt.date(2026, 3, 2),
        hours=hours_value,
        billable=True,
        rate=rate,
        approved=True,
        notes=notes,
    )


@given(wire_values)
def test_rpc_encoding_round_trips_typed_values(value: object) -> None:
    """Decimal, dates, datetimes, durations and bytes survive the wire unchanged, as their types."""
    assert _rpc.loads(_rpc.dumps(value)) == value


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_rpc_encoding_keeps_decimals_decimal(amount: Decimal) -> None:
    """A Decimal comes back as a Decimal with the same digits, never a float."""
    back = _rpc.loads(_rpc.dumps({"amount": amount}))["amount"]
    assert isinstance(back, Decimal)
    assert str(back) == str(amount)


def test_rpc_loads_untagged_fractions_as_decimal() -> None:
    """Plain JSON fractions (Float fields) are read as Decimal, so no float reaches the mapping."""
    assert _rpc.loads('{"progress": 0.1}') == {"progress": Decimal("0.1")}


@given(seconds)
def test_mapping_duration_round_trips_to_the_second(total: int) -> None:
    """A whole-second duration converted to hours and back is the same duration."""
    duration = dt.timedelta(seconds=total)
    assert _mapping.hours_to_duration(_mapping.duration_to_hours(duration)) == duration


@given(hours)
def test_mapping_hours_become_a_duration_within_half_a_second(value: Decimal) -> None:
    """Hours map to a whole-second duration no more than half a second away."""
    duration = _mapping.hours_to_duration(value)
    assert duration.microseconds == 0
    assert abs(_mapping.duration_to_hours(duration) - value) * 3600 <= Decimal("0.5")


@given(st.integers(min_value=1, max_value=100_000).map(lambda q: Decimal(q).scaleb(-2)), cents)
def test_mapping_timesheet_values_keep_rate_and_marker(value: Decimal, rate: Decimal) -> None:
    """A time entry maps to an exact duration, and its marker gives back its id and key."""
    row = _mapping.timesheet_values(
        entry(value, Money(rate, "USD"), "on site"), company=1, employee=2, work=3, key="k-1"
    )
    assert row["duration"] == dt.timedelta(seconds=int(value * 3600))
    assert _mapping.parse_marker(row["description"]) == ("te-1", "k-1")
    task = _mapping.rate_task_values(
        Money(rate, "USD"), parent=9, company=1, product=4, currency="USD"
    )
    assert task["list_price"] == rate
    assert isinstance(task["list_price"], Decimal)


@given(text, keys)
def test_mapping_marker_round_trips(source: str, key: str) -> None:
    """Any id without '|' or ']' and any key without ']' is read back from the marker."""
    assert _mapping.parse_marker("some notes " + _mapping.charge_marker(source, key)) == (
        source,
        key,
    )


@given(cents)
def test_mapping_expense_amount_is_the_exact_list_price(amount: Decimal) -> None:
    """An expense's amount becomes the work's list price to the cent, invoiced once."""
    expense = Expense(
        id="ex-1",
        project_id="p-1",
        resource_id="r-1",
        date=dt.date(2026, 3, 2),
        amount=Money(amount, "USD"),
        category="Travel",
        billable=True,
        approved=True,
    )
    row = _mapping.expense_values(
        expense, parent=1, party=2, company=3, product=4, currency="USD", key="k"
    )
    assert row["list_price"] == amount
    assert row["project_invoice_method"] == "effort"
    assert row["progress"] == 1


@pytest.mark.parametrize(
    ("hours_value", "rate", "field"),
    [
        (Decimal(0), Money.of("100", "USD"), "hours"),
        (Decimal(-1), Money.of("100", "USD"), "hours"),
        (Decimal(1), Money.of("100", "EUR"), "rate"),
        (Decimal(1), Money(Decimal("1.00001"), "USD"), "rate"),
    ],
)
def test_mapping_refuses_unmappable_time_naming_the_field(
    hours_value: Decimal, rate: Money, field: str
) -> None:
    """Zero or negative hours, a foreign currency or too many decimals raise RecordError."""
    with pytest.raises(errors.RecordError) as refused:
        _mapping.rate_task_values(rate, parent=1, company=1, product=1, currency="USD")
        _mapping.timesheet_values(entry(hours_value, rate), company=1, employee=2, work=3, key="k")
    assert refused.value.field == field


@given(cents, st.sampled_from(["draft", "validated", "posted", "paid", "cancelled"]), st.data())
def test_mapping_erp_invoice_balance_and_status(
    total: Decimal, state: str, data: st.DataObject
) -> None:
    """Totals are exact to the cent; a posted invoice with nothing to pay reads paid."""
    to_pay = data.draw(st.sampled_from([Decimal(0), total, (total / 2).quantize(Decimal("0.01"))]))
    row = {"id": 7, "state": state, "total_amount": total, "amount_to_pay": to_pay}
    inv = _mapping.erp_invoice({**row, "currency.": {"code": "USD"}}, payments=[])
    assert inv.total == Money(total, "USD")
    assert inv.total.amount.as_tuple().exponent == -2
    if state in ("draft", "validated"):
        assert inv.balance == inv.total
    if state == "posted" and to_pay == 0:
        assert inv.status == "paid"
    if state == "posted" and 0 < to_pay < total:
        assert inv.status == "partially_paid"
    assert inv.status in {"draft", "open", "partially_paid", "paid", "void"}


def test_mapping_unknown_invoice_state_is_record_error() -> None:
    """A state Tryton might add later is reported, not guessed."""
    with pytest.raises(errors.RecordError):
        _mapping.invoice_status("archived", total=Decimal(1), amount_to_pay=Decimal(0))

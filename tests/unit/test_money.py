"""Money: Decimal with a currency, rounding per currency, no cross-currency arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge.model import CURRENCY_MINOR_UNITS, CurrencyMismatchError, Money

amounts = st.decimals(
    min_value=Decimal("-1e9"),
    max_value=Decimal("1e9"),
    allow_nan=False,
    allow_infinity=False,
    places=4,
)
currencies = st.sampled_from(sorted(CURRENCY_MINOR_UNITS))


def test_money_rounds_half_up_to_the_currency():
    """Rounding follows the currency's minor unit: cents for USD, none for JPY, mils for KWD."""
    assert Money.of("10.005", "USD").amount == Decimal("10.01")
    assert Money.of("10.5", "JPY").amount == Decimal("11")
    assert Money.of("1.0005", "KWD").amount == Decimal("1.001")


def test_money_refuses_floats_and_unknown_currencies():
    """A float amount or an unknown currency code is an error, never silently accepted."""
    with pytest.raises(TypeError):
        Money.of(0.1, "USD")
    with pytest.raises(ValueError, match="unknown currency"):
        Money.of("1", "XYZ")


def test_money_cross_currency_arithmetic_is_an_error():
    """Adding or comparing USD and EUR raises CurrencyMismatchError."""
    with pytest.raises(CurrencyMismatchError):
        Money.of("1", "USD") + Money.of("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "USD") < Money.of("2", "EUR")


@given(amounts, amounts, currencies)
def test_money_addition_is_exact(a, b, currency):
    """Addition of Money equals Decimal addition: no precision is lost."""
    assert (Money(a, currency) + Money(b, currency)).amount == a + b


@given(amounts, currencies)
def test_money_rounding_is_idempotent_and_close(a, currency):
    """Rounding twice equals rounding once, and moves the amount by at most half a minor unit."""
    once = Money(a, currency).rounded()
    assert once.rounded() == once
    half = Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[currency]) / 2
    assert abs(once.amount - a) <= half


@given(amounts, currencies)
def test_money_dict_round_trip(a, currency):
    """to_dict / from_dict keeps every digit."""
    money = Money(a, currency)
    assert Money.from_dict(money.to_dict()) == money


def test_money_too_large_to_round_is_a_value_error():
    """An amount with more digits than rounding can hold says so instead of a decimal trap
    (found by fuzzing a QuickBooks TimeActivity with an absurd rate)."""
    with pytest.raises(ValueError, match="too large to round"):
        Money(Decimal("1E+26"), "USD").rounded()
    assert Money(Decimal("12345678901234567890.125"), "USD").rounded().amount == Decimal(
        "12345678901234567890.13"
    )

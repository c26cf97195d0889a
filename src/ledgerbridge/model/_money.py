"""Money: a Decimal amount with an ISO-4217 currency and explicit rounding."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

#: ISO-4217 codes the platform accepts, with their number of minor units.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "AUD": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "INR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "TND": 3,
    "USD": 2,
    "ZAR": 2,
}


class CurrencyMismatchError(ValueError):
    """Arithmetic or comparison between two different currencies."""


def is_known_currency(code: str) -> bool:
    """Return whether ``code`` is an ISO-4217 currency the platform knows."""
    return code in CURRENCY_MINOR_UNITS


def to_decimal(value: Any) -> Decimal:
    """Convert an int, str or Decimal into a Decimal; floats are refused.

    Raises:
        TypeError: for floats and other types that lose precision.
        ValueError: for strings that are not numbers.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise TypeError(f"amounts must be Decimal, int or str, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency. Arithmetic across currencies raises CurrencyMismatchError."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        if not is_known_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r}")
        if not self.amount.is_finite():
            raise ValueError("amount must be finite")

    @classmethod
    def of(cls, amount: Any, currency: str) -> Money:
        """Build Money from an int, str or Decimal amount, rounded to the currency."""
        return cls(to_decimal(amount), currency).rounded()

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in ``currency``."""
        return cls(Decimal(0), currency).rounded()

    @property
    def minor_units(self) -> int:
        """Number of decimal places of the currency."""
        return CURRENCY_MINOR_UNITS[self.currency]

    def rounded(self) -> Money:
        """Round half-up to the currency's minor unit.

        Raises:
            ValueError: the amount has more digits than a Decimal holds at that precision.
        """
        quantum = Decimal(1).scaleb(-self.minor_units)
        try:
            amount = self.amount.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise ValueError(
                f"{self.amount} {self.currency} is too large to round to the currency's minor unit"
            ) from None
        return Money(amount, self.currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float | Money):
            raise TypeError("multiply Money by a Decimal or int only")
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.rounded().amount} {self.currency}"

    def to_dict(self) -> dict[str, str]:
        """Return ``{"amount": "12.50", "currency": "USD"}``."""
        return {"amount": str(self.amount), "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Money:
        """Inverse of :meth:`to_dict`."""
        return cls(to_decimal(data["amount"]), str(data["currency"]))


def sum_money(items: list[Money], currency: str) -> Money:
    """Add up ``items`` (all in ``currency``); an empty list is zero."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total

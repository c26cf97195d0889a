"""Typed readers for Kantata's raw JSON objects: each returns a value or raises FieldError.

Kantata objects come from the wire, so every field may be missing, of the wrong type, absurdly
large, or a string that cannot be encoded. The readers turn each of those into a
:class:`FieldError` that names the field, which the mapping turns into a ``mapping_error``.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

#: the largest magnitude accepted for minutes and amounts in cents (keeps Decimal exact)
MAX_WHOLE = 10**15
#: text longer than this is refused rather than carried into records
MAX_TEXT = 10_000
_CENT = Decimal("0.01")
_HOURS_QUANTUM = Decimal("0.0001")
# Wide enough for MAX_WHOLE x MAX_WHOLE, so the arithmetic below is exact before rounding.
_EXACT = Context(prec=60)


class FieldError(Exception):
    """One field of a raw object cannot be read; ``field`` names it."""

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.hint = hint


def obj(value: Any, field: str) -> dict[str, Any]:
    """Return ``value`` when it is a JSON object, else raise FieldError."""
    if not isinstance(value, dict):
        raise FieldError(field, f"must be an object, not {type(value).__name__}")
    return value


def ident(raw: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    """Return an id (Kantata sends ids as strings of digits, sometimes as integers)."""
    value = raw.get(field)
    if value is None:
        if required:
            raise FieldError(field, "is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError(field, f"must be an id, not {type(value).__name__}")
    text = str(value).strip()
    if not text or len(text) > 64:
        raise FieldError(field, "must be an id of 1 to 64 characters")
    return _encodable(text, field)


def text(raw: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    """Return a string field (None when absent and not required)."""
    value = raw.get(field)
    if value is None:
        if required:
            raise FieldError(field, "is missing")
        return None
    if not isinstance(value, str):
        raise FieldError(field, f"must be text, not {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise FieldError(field, f"is longer than {MAX_TEXT} characters")
    if required and not value.strip():
        raise FieldError(field, "is empty")
    return _encodable(value, field)


def _encodable(value: str, field: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(
            field, "contains characters that are not valid UTF-8", hint="fix the text in Kantata"
        ) from None
    return value


def currency(raw: dict[str, Any], field: str) -> str:
    """Return a currency code as sent; data-quality rules judge unknown codes, not mapping."""
    value = text(raw, field, required=True)
    assert value is not None
    code = value.strip().upper()
    if len(code) > 8:
        raise FieldError(field, "must be a currency code such as USD")
    return code


def flag(raw: dict[str, Any], field: str, *, default: bool | None = None) -> bool:
    """Return a boolean field; ``default`` applies when it is absent."""
    value = raw.get(field)
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        shown = "missing" if value is None else f"{type(value).__name__}"
        raise FieldError(field, f"must be true or false, not {shown}")
    return value


def whole(raw: dict[str, Any], field: str, *, required: bool = True) -> int | None:
    """Return an integer field within +/- MAX_WHOLE."""
    value = raw.get(field)
    if value is None:
        if required:
            raise FieldError(field, "is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be a whole number, not {type(value).__name__}")
    if abs(value) > MAX_WHOLE:
        raise FieldError(field, f"is out of range (more than {MAX_WHOLE} in size)")
    return value


def date(raw: dict[str, Any], field: str) -> str:
    """Return a ``YYYY-MM-DD`` date field, checked."""
    value = text(raw, field, required=True)
    assert value is not None
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        raise FieldError(field, "must be a date (YYYY-MM-DD)") from None


def timestamp(value: Any) -> dt.datetime | None:
    """Return an aware datetime from an ISO 8601 text, or None when unreadable."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def cents(amount_in_cents: int) -> Decimal:
    """Return an amount in cents as currency units (exact)."""
    return Decimal(amount_in_cents).scaleb(-2)


def hours(minutes: int) -> Decimal:
    """Return minutes as hours, quantized to 0.0001."""
    return _EXACT.divide(Decimal(minutes), Decimal(60)).quantize(
        _HOURS_QUANTUM, rounding=ROUND_HALF_UP, context=_EXACT
    )


def time_amount(minutes: int, rate_in_cents: int) -> Decimal:
    """Return minutes x hourly rate (in cents) as currency units, rounded half-up to cents."""
    product = _EXACT.multiply(Decimal(minutes), Decimal(rate_in_cents))
    return _EXACT.divide(product, Decimal(6000)).quantize(
        _CENT, rounding=ROUND_HALF_UP, context=_EXACT
    )


def to_cents(amount: Decimal) -> int:
    """Return a currency amount as whole cents.

    Raises:
        ValueError: when the amount is not finite or has fractions of a cent.
    """
    try:
        scaled = amount.scaleb(2, context=_EXACT)
        if not scaled.is_finite() or scaled != scaled.to_integral_value(context=_EXACT):
            raise ValueError(f"{amount} is not a whole number of cents")
    except InvalidOperation:
        raise ValueError(f"{amount} is not an amount") from None
    return int(scaled)

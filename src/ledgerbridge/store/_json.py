"""JSON encoding for stored documents.

Decimals are written as JSON numbers with every digit of their text, and numbers with a
fraction are read back as Decimal, so amounts round-trip exactly and never pass through a
float. Dates and datetimes are written as ISO text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def dumps(value: Any) -> str:
    """Encode ``value`` as compact JSON; Decimals become exact numbers, dates ISO strings."""
    return _encoder.encode(value).decode()


def dumps_sorted(value: Any) -> str:
    """Encode ``value`` with sorted keys (for hashing)."""
    return msgspec.json.encode(value, order="sorted", enc_hook=_enc_hook).decode()


def loads(text: str | bytes | None) -> Any:
    """Decode JSON text; None and empty text decode to None."""
    if not text:
        return None
    return _decoder.decode(text)


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise NotImplementedError(f"cannot encode {type(value).__name__}")

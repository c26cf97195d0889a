"""Cursor pagination: an opaque cursor holds the sort key of the last item returned."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from pydantic import BaseModel

from ledgerbridge import errors

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` to read the next one."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PageRequest:
    """Where a page starts and how long it is."""

    after: list[Any] | None
    limit: int


def encode(key: Sequence[Any]) -> str:
    """Return the opaque cursor of a sort key."""
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def decode(cursor: str | None, *, width: int) -> list[Any] | None:
    """Return the sort key inside a cursor.

    Raises:
        ConfigError: the cursor was not made by this API for this list.
    """
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = msgspec.json.decode(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != width
        or not all(isinstance(v, str | int | float) for v in key)
    ):
        raise errors.ConfigError("the cursor is not valid for this list", field="cursor")
    return key


def paginate(
    fetch: Callable[[list[Any] | None, int], list[Any]],
    *,
    cursor: str | None,
    limit: int,
    key: Callable[[Any], Sequence[Any]],
    width: int = 1,
) -> tuple[list[Any], str | None]:
    """Fetch one page (asking for one row more to learn whether another page follows)."""
    rows = fetch(decode(cursor, width=width), limit + 1)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode(key(rows[-1]))

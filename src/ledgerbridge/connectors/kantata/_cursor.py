"""The change-feed cursor: where the next read of ``/subscribed_events`` starts.

Kantata's feed can only be filtered by ``created_after`` (whole seconds) and its events can
arrive slightly out of order. The cursor therefore keeps the newest ``created_at`` delivered
(the watermark) and re-reads an overlap before it on every read; the ids delivered inside that
overlap are kept in the cursor so that re-read events are skipped rather than delivered twice.
An event that arrives later than the overlap behind the watermark is not seen.

Text form: ``"<last id>|<watermark>|<id,id,...>|<floor>"``. A plain event id (``"1234"``) is
accepted too: it means every event up to that id was delivered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ledgerbridge.connectors.kantata import _fields

__all__ = ["FeedCursor", "FeedWalk", "feed_order", "walk_feed"]

#: fetch(created_after, page) -> (events of that page, page count)
Fetch = Callable[[str | None, int], Awaitable[tuple[list[dict[str, Any]], int]]]

_STAMP = "%Y-%m-%dT%H:%M:%SZ"
_SECOND = dt.timedelta(seconds=1)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(_STAMP)


def _normal_time(value: Any) -> str:
    """Return a feed time as ``YYYY-MM-DDTHH:MM:SSZ`` ("" when unreadable)."""
    moment = _fields.timestamp(value)
    return _stamp(moment) if moment is not None else ""


def _event_id(event: dict[str, Any]) -> str:
    value = event.get("id")
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""


def _id_number(event_id: str) -> int:
    return int(event_id) if event_id.isascii() and event_id.isdigit() and len(event_id) < 19 else 0


def feed_order(event: dict[str, Any]) -> tuple[int, str]:
    """Sort key that puts feed events in id order (unreadable ids last)."""
    event_id = _event_id(event)
    number = _id_number(event_id)
    return (number if number else 10**19, event_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedCursor:
    """Where the feed was read up to.

    Attributes:
        last_id: the largest event id delivered so far.
        watermark: the newest ``created_at`` delivered (None before the first event).
        recent: the ids delivered whose ``created_at`` lies within the overlap of the watermark.
        floor: every event id up to this one counts as delivered (from a plain-id cursor).
    """

    last_id: int = 0
    watermark: str | None = None
    recent: frozenset[str] = field(default_factory=frozenset)
    floor: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> FeedCursor:
        """Read a cursor from its text form (None or "" is the start of the feed).

        Raises:
            ValueError: the text is not a cursor of this connector.
        """
        if not text:
            return cls()
        if text.isascii() and text.isdigit():
            return cls(last_id=int(text), floor=int(text))
        parts = text.split("|")
        if len(parts) != 4 or not parts[0].isdigit() or not (parts[3] == "" or parts[3].isdigit()):
            raise ValueError(f"{text[:60]!r} is not a Kantata feed cursor")
        if parts[1] and _normal_time(parts[1]) != parts[1]:
            raise ValueError(f"{text[:60]!r} has an unreadable watermark")
        return cls(
            last_id=int(parts[0]),
            watermark=parts[1] or None,
            recent=frozenset(i for i in parts[2].split(",") if i),
            floor=int(parts[3]) if parts[3] else None,
        )

    def render(self) -> str:
        """Return the text form."""
        if self.watermark is None and not self.recent and self.floor == self.last_id:
            return str(self.last_id)
        floor = "" if self.floor is None else str(self.floor)
        ids = ",".join(sorted(self.recent, key=lambda i: (len(i), i)))
        return f"{self.last_id}|{self.watermark or ''}|{ids}|{floor}"

    def anchor(self, overlap: dt.timedelta) -> str | None:
        """Return the ``created_after`` to read from: the watermark minus the overlap.

        ``created_after`` is exclusive and counts whole seconds, so one more second is
        subtracted: events in the watermark's own second are always read again.
        """
        if self.watermark is None:
            return None
        moment = _fields.timestamp(self.watermark)
        assert moment is not None
        return _stamp(moment - overlap - _SECOND)

    def is_delivered(self, event_id: str) -> bool:
        """Whether the event with this id was delivered before."""
        if event_id in self.recent:
            return True
        return self.floor is not None and 0 < _id_number(event_id) <= self.floor


class FeedWalk:
    """Collects one read's new events and computes the cursor that follows it.

    Args:
        cursor: the cursor the read started from.
        overlap: how far behind the watermark the next read starts.
        limit: the most new events to take.
    """

    def __init__(self, cursor: FeedCursor, *, overlap: dt.timedelta, limit: int) -> None:
        self.cursor = cursor
        self.overlap = overlap
        self.limit = limit
        self.taken: list[dict[str, Any]] = []
        self._times: dict[str, str] = {}
        self._observed: set[str] = set()
        self._left_at: str | None = None
        self._left = 0

    @property
    def is_full(self) -> bool:
        """Whether the limit is reached."""
        return len(self.taken) >= self.limit

    @property
    def left_behind(self) -> bool:
        """Whether a new event was left for the next read because the limit was reached."""
        return self._left > 0

    def offer(self, event: dict[str, Any]) -> None:
        """Consider one feed event: skip it if delivered, take it if there is room."""
        event_id = _event_id(event)
        at = _normal_time(event.get("created_at"))
        if event_id and self.cursor.is_delivered(event_id):
            self._observed.add(event_id)
            self._times[event_id] = at
            return
        if self.is_full:
            self._left += 1
            if at and (self._left_at is None or at < self._left_at):
                self._left_at = at
            return
        self.taken.append(event)
        if event_id:
            self._times[event_id] = at
            self._observed.add(event_id)

    def next_cursor(self, *, complete: bool) -> FeedCursor:
        """Return the cursor after this read (``complete``: the feed's end was reached)."""
        old = self.cursor
        times = [self._times.get(_event_id(e), "") for e in self.taken]
        newest = max((t for t in times if t), default=None)
        if newest is not None and self._left_at is not None:
            newest = min(newest, self._left_at)
        candidates = [t for t in (old.watermark, newest) if t]
        watermark = max(candidates) if candidates else None
        probe = FeedCursor(watermark=watermark)
        anchor = probe.anchor(self.overlap) or ""
        recent = {i for i in self._observed if self._times.get(i, "") > anchor}
        if not complete:
            recent |= {i for i in old.recent if i not in self._observed}
        ids = [_id_number(_event_id(e)) for e in self.taken]
        return FeedCursor(
            last_id=max([old.last_id, *ids]),
            watermark=watermark,
            recent=frozenset(recent),
            floor=None if complete else old.floor,
        )


async def walk_feed(walk: FeedWalk, fetch: Fetch) -> bool:
    """Offer the feed after the cursor's anchor to ``walk``, page by page.

    Each page is put in id order first, since events may be listed out of order.

    Returns:
        Whether the end of the feed was reached (False: the limit stopped the read).
    """
    anchor = walk.cursor.anchor(walk.overlap)
    page = 1
    while True:
        events, page_count = await fetch(anchor, page)
        for event in sorted(events, key=feed_order):
            walk.offer(event)
        if walk.left_behind:
            return False
        if page >= page_count or not events:
            return True
        if walk.is_full:
            return False
        page += 1

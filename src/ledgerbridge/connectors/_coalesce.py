"""Gathering writes that runs make at about the same time into one batch call.

A worker executes many runs at once, and each posts its own charge. Where the ERP's API
takes many records per call (Tryton creates a hundred timesheet lines in about the time of
two single creates), a :class:`Coalescer` collects the calls made within a short window
and sends them together; each caller still gets its own result.

A batch is all or nothing on the ERP side, so a refusal of the whole batch (a permanent
or record error) may be caused by one bad record: the batch is then sent again one record
at a time, and only the bad record's caller sees the error. A transient error (the ERP
is down, a timeout) reaches every caller, and each run retries on its own; its write is
found again by its idempotency key, so nothing is written twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from ledgerbridge import errors

__all__ = ["Coalescer"]

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """Sends items submitted within ``window`` seconds (at most ``max_size``) in one call.

    Args:
        flush: writes a batch; returns one result per item, in order.
        max_size: the largest batch; a full batch is sent at once.
        window: how long the first item of a batch waits for others.
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_size: int = 100,
        window: float = 0.02,
    ) -> None:
        if max_size < 1 or window < 0:
            raise ValueError("max_size must be at least 1 and window not negative")
        self._flush = flush
        self.max_size = max_size
        self.window = window
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()
        #: batches sent (including one-by-one resends), for measurements
        self.calls = 0

    async def submit(self, item: T) -> R:
        """Queue ``item`` for the next batch and return its result.

        Raises:
            Exception: whatever the write raised for this item.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if len(self._waiting) >= self.max_size:
            self._send()
        elif self._timer is None:
            self._timer = loop.call_later(self.window, self._send)
        return await future

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.ensure_future(self._deliver(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _deliver(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._call([item for item, _ in batch])
        except (errors.PermanentError, errors.RecordError) as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            await asyncio.gather(*(self._deliver([one]) for one in batch))
        except BaseException as exc:  # transient, or cancelled: every caller sees it
            for _, future in batch:
                _settle(future, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _call(self, items: list[T]) -> Sequence[R]:
        self.calls += 1
        results = await self._flush(items)
        if len(results) != len(items):
            raise AssertionError(f"a batch of {len(items)} gave {len(results)} results")
        return results


def _settle(future: asyncio.Future[R], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)

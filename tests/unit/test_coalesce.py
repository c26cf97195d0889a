"""Coalesced writes: one call per batch, and each caller gets exactly its own outcome."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge import errors
from ledgerbridge.connectors._coalesce import Coalescer


class Ledger:
    """A write target that refuses a whole batch when any item in it is bad (as Tryton does)."""

    def __init__(self, bad: set[int], *, down: bool = False) -> None:
        self.bad, self.down = bad, down
        self.batches: list[list[int]] = []
        self.written: list[int] = []

    async def write(self, items: list[int]) -> list[str]:
        await asyncio.sleep(0)
        self.batches.append(items)
        if self.down:
            raise errors.TransientError("the ERP is restarting")
        refused = [i for i in items if i in self.bad]
        if refused:
            raise errors.PermanentError(f"item {refused[0]} is refused")
        self.written += items
        return [f"id-{i}" for i in items]


async def _submit_all(coalescer: Coalescer[int, str], items: list[int]) -> list[object]:
    async def one(item: int) -> object:
        try:
            return await coalescer.submit(item)
        except errors.LedgerbridgeError as exc:
            return type(exc)

    return list(await asyncio.gather(*(one(i) for i in items)))


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=60),
    max_size=st.integers(min_value=1, max_value=25),
    bad=st.sets(st.integers(min_value=0, max_value=59), max_size=4),
)
def test_each_caller_gets_its_own_outcome(count: int, max_size: int, bad: set[int]) -> None:
    """Whatever the batch size and wherever bad items sit, a good item is written once and
    returns its id, and only a bad item's caller sees the refusal."""
    ledger = Ledger(bad)
    coalescer: Coalescer[int, str] = Coalescer(ledger.write, max_size=max_size, window=0.001)
    outcomes = asyncio.run(_submit_all(coalescer, list(range(count))))
    expected = [errors.PermanentError if i in bad else f"id-{i}" for i in range(count)]
    assert outcomes == expected
    assert sorted(ledger.written) == [i for i in range(count) if i not in bad]
    assert all(len(b) <= max_size for b in ledger.batches)


def test_concurrent_calls_share_one_batch() -> None:
    """Fifty calls made together cost one call to the target."""
    ledger = Ledger(set())
    coalescer: Coalescer[int, str] = Coalescer(ledger.write, max_size=100, window=0.01)
    outcomes = asyncio.run(_submit_all(coalescer, list(range(50))))
    assert outcomes == [f"id-{i}" for i in range(50)]
    assert [len(b) for b in ledger.batches] == [50]
    assert coalescer.calls == 1


def test_a_transient_failure_reaches_every_caller_and_writes_nothing() -> None:
    """When the target is down, every caller sees a transient error to retry on its own."""
    ledger = Ledger(set(), down=True)
    coalescer: Coalescer[int, str] = Coalescer(ledger.write, max_size=100, window=0.001)
    outcomes = asyncio.run(_submit_all(coalescer, list(range(5))))
    assert outcomes == [errors.TransientError] * 5
    assert ledger.written == [] and len(ledger.batches) == 1


def test_coalescer_refuses_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="max_size"):
        Coalescer(Ledger(set()).write, max_size=0)

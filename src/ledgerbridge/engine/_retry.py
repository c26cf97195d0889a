"""Retry policy: exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ledgerbridge.errors import TransientError

T = TypeVar("T")

DEFAULT_MAX_ATTEMPTS = 8


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how fast a transient failure is retried.

    The n-th retry waits a random time in ``[0, min(max_delay, base_delay * multiplier**n)]``
    (full jitter), but never less than a server's Retry-After.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** max(attempt - 1, 0))
        wait = (rng or random).uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def should_retry(self, attempt: int) -> bool:
        """Whether a run that failed its ``attempt``-th try gets another."""
        return attempt < self.max_attempts

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> RetryPolicy:
        """Build a policy from a connection's ``retry`` settings (missing keys keep defaults)."""
        if not settings:
            return cls()
        allowed = {"max_attempts", "base_delay", "multiplier", "max_delay"}
        unknown = set(settings) - allowed
        if unknown:
            raise ValueError(f"unknown retry settings: {', '.join(sorted(unknown))}")
        try:
            values = {name: float(value) for name, value in settings.items()}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"retry settings must be numbers: {exc}") from None
        attempts = int(values.pop("max_attempts", DEFAULT_MAX_ATTEMPTS))
        return cls(max_attempts=attempts, **values)


async def call_with_retry(fn: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """Await ``fn()``, retrying TransientErrors as ``policy`` says (for reads outside runs)."""
    attempt = 1
    while True:
        try:
            return await fn()
        except TransientError as exc:
            if not policy.should_retry(attempt):
                raise
            await asyncio.sleep(policy.delay(attempt, retry_after=exc.retry_after))
            attempt += 1

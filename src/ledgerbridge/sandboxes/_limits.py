"""Request limits shared by the sandboxes."""

from __future__ import annotations

import collections


class SlidingWindow:
    """At most ``limit`` events in any ``window_s`` seconds; O(1) per check."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()

    def allow(self, now: float) -> bool:
        """Record one event at ``now`` and return True, or return False when over the limit."""
        times = self._times
        if len(times) >= self.limit:
            if now - times[0] < self.window_s:
                return False
            times.popleft()
        times.append(now)
        return True

    def wait_s(self, now: float) -> float:
        """Seconds until one more event would be allowed."""
        if len(self._times) < self.limit:
            return 0.0
        return max(0.0, self.window_s - (now - self._times[0]))

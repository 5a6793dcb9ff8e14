"""Request guards: a body-size limit (ASGI middleware, shared with the rApp: :class:`nextric.web.BodySizeLimit`)
and a per-token request rate (token bucket)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nextric.web import BodySizeLimit
from policy.problems import TooManyRequests

__all__ = ["BodySizeLimit", "RateLimiter"]


class RateLimiter:
    """Token bucket per key: ``rate`` tokens/s up to ``burst``; ``rate == 0`` disables it."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Consume one token or raise :class:`TooManyRequests`."""
        if self._rate <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise TooManyRequests("request rate exceeded", (1.0 - tokens) / self._rate)
            self._buckets[key] = (tokens - 1.0, now)

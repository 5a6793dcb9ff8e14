"""Request guards: a body-size limit (ASGI middleware) and a per-token request rate (token bucket)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policy.problems import TooManyRequests, problem


class BodySizeLimit:
    """Answer 413 when Content-Length (or the streamed body) exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    response = problem(
                        413, "Payload Too Large", f"body exceeds {self.max_bytes} bytes", scope.get("path")
                    )
                    await response(scope, receive, send)
                    return
        body = bytearray()
        more = True
        while more:  # buffer the (small) body so an oversized stream is refused before the app sees it
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # client went away: let the app see the disconnect
                return
            body.extend(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                response = problem(413, "Payload Too Large", f"body exceeds {self.max_bytes} bytes",
                                   scope.get("path"))
                await response(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


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

"""Follow SDL notifications: load once, then reload on every message of the channels, never on a timer.

``follow`` subscribes first and only then calls ``reload`` (so a change written between the two is not missed),
then calls it again for each notification. When the subscription breaks (Redis restarted, connection lost) it
subscribes again after ``retry_s`` of wall-clock back-off and reloads at once: a notification published while
nobody listened is never lost, because the reload reads the current values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from nextric.aio import raise_if_cancelling
from nextric.sdl.api import SdlBackend, SdlSubscription

log = logging.getLogger("nextric.sdl")


async def follow(sdl: SdlBackend, ns: str, channels: Sequence[str], reload: Callable[[str | None], Awaitable[None]],
                 stop: asyncio.Event, retry_s: float = 1.0) -> None:
    """Until ``stop``: ``reload(None)`` after (re)subscribing, ``reload(channel)`` per notification.

    A failing ``reload`` is logged and does not end the loop (the next notification or resubscription retries)."""
    while not stop.is_set():
        try:
            sub = await sdl.subscribe(ns, channels)
            raise_if_cancelling()
        except Exception as exc:
            log.warning("SDL subscription failed; retrying", extra={"namespace": ns, "error": str(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry_s)
            continue
        try:
            await _guarded(reload, None, ns)
            async for channel, _ in _until(sub, stop):
                await _guarded(reload, channel, ns)
        except Exception as exc:
            log.warning("SDL subscription lost; resubscribing", extra={"namespace": ns, "error": str(exc)})
        finally:
            with contextlib.suppress(Exception):
                await sub.close()


async def _guarded(reload: Callable[[str | None], Awaitable[None]], channel: str | None, ns: str) -> None:
    try:
        await reload(channel)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("reload after an SDL notification failed", extra={"namespace": ns, "error": str(exc)})


async def _until(sub: SdlSubscription, stop: asyncio.Event) -> AsyncIterator[tuple[str, bytes]]:
    """The subscription's messages until ``stop`` is set or the subscription ends."""
    stopper = asyncio.ensure_future(stop.wait())
    nxt: asyncio.Future[tuple[str, bytes]] | None = None
    try:
        while True:
            nxt = asyncio.ensure_future(sub.__anext__())
            done, _ = await asyncio.wait({nxt, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if nxt not in done:
                return
            exc = nxt.exception()
            if isinstance(exc, StopAsyncIteration):
                return
            if exc is not None:
                raise exc
            yield nxt.result()
    finally:
        stopper.cancel()
        if nxt is not None and not nxt.done():
            nxt.cancel()
            nxt.add_done_callback(_consume)


def _consume(fut: asyncio.Future[tuple[str, bytes]]) -> None:
    """Retrieve the outcome of an abandoned read (so asyncio does not report it as never retrieved)."""
    if not fut.cancelled():
        fut.exception()

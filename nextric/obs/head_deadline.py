"""A bounded time to send a request head (slowloris): uvicorn has no header-read timeout of its own.

uvicorn's ``timeout_keep_alive`` only closes a connection that sends *nothing* after a response; a client that opens
a connection and trickles its request line and headers one byte every few seconds holds the connection (and a file
descriptor, and one of ``limit_concurrency``'s slots) for as long as it likes. :class:`HeadDeadlineProtocol` is
uvicorn's h11 protocol with one more timer: from the moment a connection waits for a request head (when it opens, and
after each response on a kept-alive connection) the whole head must have arrived within ``head_timeout_s``, however
slowly its bytes come; otherwise the server answers ``408 Request Timeout`` and closes the connection. The body is not
covered (the apps bound it by size; a slow body holds one request task, which the client must first be allowed to
start with a complete head).

:func:`head_deadline_protocol` binds the timeout into a protocol class for ``uvicorn.Config(http=...)``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("nextric.obs.http")

DEFAULT_HEAD_TIMEOUT_S = 10.0
_TIMEOUT_BODY = b"request head not received in time\n"
_REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol that closes a connection whose request head is not complete ``head_timeout_s`` after
    the connection began to wait for it (408, then close)."""

    head_timeout_s: float = DEFAULT_HEAD_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_seen: object | None = None  # the cycle (request) whose head last completed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._head_done_if_new_cycle()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request's cycle
        if self.transport.is_closing():
            return
        if not self._head_done_if_new_cycle():
            self._arm()  # the next request head (kept alive): the same deadline

    def handle_websocket_upgrade(self, event: Any) -> None:
        self._disarm()  # the head is complete; the connection now belongs to the WebSocket protocol
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _head_done_if_new_cycle(self) -> bool:
        """A new request cycle means its head is complete: stop the timer. True when that happened now."""
        if self.cycle is not None and self.cycle is not self._head_seen:
            self._head_seen = self.cycle
            self._disarm()
            return True
        return False

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served (its head arrived): not ours to cut
        log.info("HTTP connection closed: no complete request head within the deadline",
                 extra={"client": self.client, "head_timeout_s": self.head_timeout_s})
        self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()


def head_deadline_protocol(head_timeout_s: float) -> type[HeadDeadlineProtocol]:
    """:class:`HeadDeadlineProtocol` with this deadline, for ``uvicorn.Config(http=...)``."""
    if not head_timeout_s > 0:
        raise ValueError(f"head_timeout_s must be > 0, not {head_timeout_s}")
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"head_timeout_s": float(head_timeout_s)})

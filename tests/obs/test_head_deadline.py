"""The request-head deadline (slowloris) over real sockets: uvicorn on 127.0.0.1, port 0, a client that trickles its
request head one header every 100 ms (so that no idle timeout applies) is answered 408 and disconnected after the
deadline, while normal clients are served meanwhile; a slow handler behind a complete head is not cut."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from nextric.obs.head_deadline import head_deadline_protocol
from nextric.obs.serve import serving

DEADLINE_S = 0.6


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """200 ``ok``; ``/slow`` answers after 2 x the deadline (a complete head, a slow handler)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(2 * DEADLINE_S)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _trickle(port: int, prefix: bytes = b"") -> tuple[float, bytes]:
    """Send ``prefix`` then an endless request head, one header line each 100 ms; seconds from the first head byte
    until the server closed the connection, and what it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = b""
    if prefix:  # a complete request first (kept alive), then the slow head
        writer.write(prefix)
        await writer.drain()
        answer += await reader.readuntil(b"ok")
    start = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n")
    for i in range(200):  # 20 s: far past the deadline
        try:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=0.1)
        except TimeoutError:
            writer.write(b"x-slow-%d: 1\r\n" % i)  # one more header line: the connection is never idle
            continue
        except ConnectionResetError:
            break
        answer += chunk
        if not chunk:  # closed by the server
            break
    elapsed = time.monotonic() - start
    writer.close()
    return elapsed, answer


async def test_slow_head_is_cut_after_the_deadline_while_others_are_served() -> None:
    async with serving(_app, head_timeout_s=DEADLINE_S) as server:
        slow = asyncio.create_task(_trickle(server.port))
        served = []
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            while not slow.done():
                served.append((await http.get("/")).status_code)
                await asyncio.sleep(0.05)
        elapsed, answer = await slow
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert DEADLINE_S <= elapsed < DEADLINE_S + 1.0, elapsed
    assert len(served) >= 5, served
    assert set(served) == {200}, served


async def test_the_next_head_on_a_kept_alive_connection_has_the_same_deadline() -> None:
    async with serving(_app, head_timeout_s=DEADLINE_S) as server:
        elapsed, answer = await _trickle(server.port, prefix=b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert b"HTTP/1.1 408 " in answer, answer
    assert DEADLINE_S <= elapsed < DEADLINE_S + 1.0, elapsed


async def test_a_slow_handler_behind_a_complete_head_is_not_cut() -> None:
    async with (
        serving(_app, head_timeout_s=DEADLINE_S) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        first = await http.get("/slow")  # longer than the deadline, on a connection opened before it
        second = await http.get("/")  # the same connection, kept alive
    assert (first.status_code, first.text, second.status_code) == (200, "ok", 200)


def test_the_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="head_timeout_s"):
        head_deadline_protocol(0)
    assert head_deadline_protocol(2.5).head_timeout_s == 2.5

"""Serve an ASGI app with uvicorn inside the current event loop and learn the bound port (port 0 works); run an
app process until SIGINT/SIGTERM with its HTTP side up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn

from nextric.errors import UnavailableError
from nextric.obs.head_deadline import DEFAULT_HEAD_TIMEOUT_S, head_deadline_protocol


@dataclass
class HttpServer:
    server: uvicorn.Server
    task: asyncio.Task[None]
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def start_http(app: Any, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 10.0,
                     head_timeout_s: float = DEFAULT_HEAD_TIMEOUT_S) -> HttpServer:
    """Start uvicorn for ``app`` as a task of the running loop; returns once it accepts connections. A connection
    whose request head is not complete ``head_timeout_s`` after it began waiting for one is answered 408 and closed
    (nextric/obs/head_deadline.py: slowloris)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning", lifespan="on",
                            access_log=False,  # no log_config: uvicorn's lines go through the process's logging
                            http=head_deadline_protocol(head_timeout_s))
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # the process owns signals
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not server.started:
        if task.done():
            task.result()
            raise UnavailableError(f"HTTP server on {host}:{port} exited during start-up")
        if loop.time() > deadline:
            server.should_exit = True
            raise UnavailableError(f"HTTP server on {host}:{port} did not start within {timeout_s}s")
        await asyncio.sleep(0.005)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return HttpServer(server=server, task=task, host=host, port=int(bound))


@contextlib.asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1", port: int = 0,
                  head_timeout_s: float = DEFAULT_HEAD_TIMEOUT_S) -> AsyncIterator[HttpServer]:
    running = await start_http(app, host, port, head_timeout_s=head_timeout_s)
    try:
        yield running
    finally:
        await running.stop()


async def run_process(run: Callable[[asyncio.Event], Awaitable[None]], web: Any, host: str, port: int,
                      announce: Mapping[str, Any], stop: asyncio.Event | None = None,
                      head_timeout_s: float = DEFAULT_HEAD_TIMEOUT_S) -> None:
    """An app process: serve ``web`` (health, metrics, API), print one JSON line ``{"http_port": ..., **announce}``
    (how supervisors and tests learn the bound port), then ``run(stop)`` until SIGINT/SIGTERM sets ``stop``."""
    stop = stop or asyncio.Event()
    http = await start_http(web, host, port, head_timeout_s=head_timeout_s)
    print(json.dumps({"http_port": http.port, **announce}), flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run(stop)
    finally:
        await http.stop()

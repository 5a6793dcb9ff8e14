"""Fixtures for E2 contract tests: a real gRPC server on 127.0.0.1 port 0 over the scripted node."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import CollectorRegistry

from nextric.e2.client import E2Client
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.testing.e2node import ScriptedNodes


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``condition`` on the event loop until it holds (fails the test at the deadline)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.002)


def client_settings(port: int) -> E2ClientSettings:
    return E2ClientSettings(target=f"127.0.0.1:{port}", backoff_initial_s=0.01, backoff_max_s=0.1, rpc_timeout_s=5.0)


@pytest.fixture
def nodes() -> ScriptedNodes:
    return ScriptedNodes(3)


@pytest.fixture
async def server(nodes: ScriptedNodes) -> AsyncIterator[RunningE2Server]:
    running = await start_e2_server(nodes, E2ServerSettings(), CollectorRegistry())
    try:
        yield running
    finally:
        await running.stop(None)


@pytest.fixture
async def client(server: RunningE2Server) -> AsyncIterator[E2Client]:
    async with E2Client(client_settings(server.port)) as c:
        yield c

"""A running intent rApp over real HTTP on a real redis-server and a real policy service (memory backend), for the
tests that take its dependencies away: probes, metrics, resilience."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr

from nextric.obs.serve import HttpServer, start_http
from nextric.sdl.api import SdlBackend
from nextric.sdl.factory import SdlSettings, open_sdl
from nextric.testing.redis_proc import RedisProcess, free_port, start_redis
from policy.app import create_app as create_policy_app
from policy.settings import PolicySettings
from rapps.intent_agent.app import build_agent, create_app, load_description
from rapps.intent_agent.service import IntentAgent
from rapps.intent_agent.settings import Grant, IntentAgentSettings, PolicyClientSettings
from testbed.core.scenario import load_scenario
from testbed.describe import cell_keys, description

TMF = "/tmf-api/intentManagement/v5"
OP = "op-token-1-" + "0123456789abcdef"  # 22+ characters: weak tokens are refused
PERIOD_S = 0.1
MAX_INTENTS = 3  #: the per-tenant cap of the running rApp


def inventory(tmp_path: Path) -> Path:
    sc = load_scenario("twm_poc")
    path = tmp_path / "network.json"
    path.write_text(json_format.MessageToJson(description(sc, "twm_poc", cell_keys(sc))), encoding="utf-8")
    return path


async def until(probe: Callable[[], Awaitable[object]], want: object, timeout_s: float = 10.0) -> None:
    """Poll ``probe`` until it returns ``want``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    got = None
    while asyncio.get_running_loop().time() < deadline:
        got = await probe()
        if got == want:
            return
        await asyncio.sleep(PERIOD_S)
    raise AssertionError(f"still {got!r}, wanted {want!r}")


async def start_policy(port: int) -> HttpServer:
    return await start_http(create_policy_app(PolicySettings(backend="memory")), "127.0.0.1", port)


@dataclass
class Rapp:
    client: httpx.AsyncClient
    redis: RedisProcess
    policy: HttpServer
    policy_port: int
    settings: IntentAgentSettings
    agent: IntentAgent
    tmp_path: Path

    def sdl(self) -> SdlBackend:
        """Another SDL client on the same Redis (what a restarted rApp would open)."""
        return open_sdl(self.settings.sdl)


@pytest.fixture
async def rapp(tmp_path: Path) -> AsyncIterator[Rapp]:
    redis = start_redis(tmp_path / "redis")
    policy_port = free_port()
    policy = await start_policy(policy_port)
    settings = IntentAgentSettings(
        audit_path=str(tmp_path / "audit.db"), ready_check_period_s=PERIOD_S,
        tokens=[Grant(name="noc", token=SecretStr(OP), roles=["operator"])],
        sdl=SdlSettings(backend="redis", redis_url=redis.url, socket_timeout_s=0.5),
        policy=PolicyClientSettings(url=f"http://127.0.0.1:{policy_port}"), max_intents_per_tenant=MAX_INTENTS)
    sdl = open_sdl(settings.sdl)
    agent = build_agent(settings, sdl, load_description(inventory(tmp_path)))
    srv = await start_http(create_app(settings, agent), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {OP}"}) as c:
            yield Rapp(c, redis, policy, policy_port, settings, agent, tmp_path)
    finally:
        await srv.stop()
        agent.audit.close()
        await sdl.close()
        await policy.stop()
        redis.stop()

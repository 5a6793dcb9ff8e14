"""The intent rApp's probes and metrics over real HTTP: alive, readiness that names the dependency that is gone
(a real redis-server killed and restarted on its port; a real policy service stopped and started again) and
recovers, Prometheus metrics that count what the API did; and a clear start-up error when the audit database
cannot be written (the read-only root filesystem of a container)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from nextric.errors import ConfigError
from nextric.obs.serve import HttpServer, start_http
from nextric.sdl.factory import SdlSettings, open_sdl
from nextric.testing.redis_proc import RedisProcess, free_port, start_redis
from policy.app import create_app as create_policy_app
from policy.settings import PolicySettings
from rapps.intent_agent.app import build_agent, create_app, load_description
from rapps.intent_agent.audit import AuditLog
from rapps.intent_agent.settings import Grant, IntentAgentSettings, PolicyClientSettings
from testbed.core.scenario import load_scenario
from testbed.describe import cell_keys, description

TMF = "/tmf-api/intentManagement/v5"
OP = "op-token-1"
PERIOD_S = 0.1


def _inventory(tmp_path: Path) -> Path:
    sc = load_scenario("twm_poc")
    path = tmp_path / "network.json"
    path.write_text(json_format.MessageToJson(description(sc, "twm_poc", cell_keys(sc))), encoding="utf-8")
    return path


async def _until(probe: Callable[[], Awaitable[object]], want: object, timeout_s: float = 10.0) -> None:
    """Poll ``probe`` until it returns ``want``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    got = None
    while asyncio.get_running_loop().time() < deadline:
        got = await probe()
        if got == want:
            return
        await asyncio.sleep(PERIOD_S)
    raise AssertionError(f"still {got!r}, wanted {want!r}")


async def _start_policy(port: int) -> HttpServer:
    return await start_http(create_policy_app(PolicySettings(backend="memory")), "127.0.0.1", port)


@dataclass
class Rapp:
    client: httpx.AsyncClient
    redis: RedisProcess
    policy: HttpServer
    policy_port: int


@pytest.fixture
async def rapp(tmp_path: Path) -> AsyncIterator[Rapp]:
    redis = start_redis(tmp_path / "redis")
    policy_port = free_port()
    policy = await _start_policy(policy_port)
    settings = IntentAgentSettings(
        audit_path=str(tmp_path / "audit.db"), ready_check_period_s=PERIOD_S,
        tokens=[Grant(name="noc", token=SecretStr(OP), roles=["operator"])],
        sdl=SdlSettings(backend="redis", redis_url=redis.url, socket_timeout_s=0.5),
        policy=PolicyClientSettings(url=f"http://127.0.0.1:{policy_port}"))
    sdl = open_sdl(settings.sdl)
    agent = build_agent(settings, sdl, load_description(_inventory(tmp_path)))
    srv = await start_http(create_app(settings, agent), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {OP}"}) as c:
            yield Rapp(c, redis, policy, policy_port)
    finally:
        await srv.stop()
        agent.audit.close()
        await sdl.close()
        await policy.stop()
        redis.stop()


async def _ready(c: httpx.AsyncClient) -> tuple[int, dict[str, bool]]:
    r = await c.get("/ric/v1/health/ready")
    return r.status_code, {k: v["ready"] for k, v in r.json()["components"].items()}


async def test_alive_ready_and_metrics(rapp: Rapp) -> None:
    c = rapp.client
    assert (await c.get("/ric/v1/health/alive")).status_code == 200
    await _until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    r = await c.post(f"{TMF}/intent", json={"name": "tight", "naturalLanguage": "Keep URLLC p99 latency below 5 ms"})
    assert r.status_code == 201
    r = await c.get("/metrics")
    assert r.status_code == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(r.text) for s in fam.samples}
    assert samples[("nextric_rapp_intents", (("lifecycle", "needsClarification"),))] == 1
    assert samples[("nextric_rapp_audit_events_total", (("kind", "compile"),))] == 1
    assert ("nextric_rapp_plan_seconds_count", ()) in samples
    assert samples[("nextric_rapp_kpm_reports_total", ())] == 0


async def test_readiness_drops_with_redis_and_recovers(
        rapp: Rapp, tmp_path: Path) -> None:
    c, redis = rapp.client, rapp.redis
    await _until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    port = redis.port
    redis.kill()
    await _until(lambda: _ready(c), (503, {"store": True, "sdl": False, "policy": True}))
    body = (await c.get("/ric/v1/health/ready")).json()
    assert "SDL" in body["components"]["sdl"]["detail"]
    again = start_redis(tmp_path / "redis", port=port)
    try:
        await _until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    finally:
        again.stop()


async def test_readiness_drops_with_the_policy_service_and_recovers(
        rapp: Rapp) -> None:
    c, policy, port = rapp.client, rapp.policy, rapp.policy_port
    await _until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    await policy.stop()
    await _until(lambda: _ready(c), (503, {"store": True, "sdl": True, "policy": False}))
    body = (await c.get("/ric/v1/health/ready")).json()
    assert "policy service unreachable" in body["components"]["policy"]["detail"]
    restarted = await _start_policy(port)
    try:
        await _until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    finally:
        await restarted.stop()


def test_unwritable_audit_path_is_a_clear_error() -> None:
    """/proc refuses new files even to root: the same refusal as a container's read-only root filesystem."""
    with pytest.raises(ConfigError, match="NEXTRIC_RAPP_AUDIT_PATH"):
        AuditLog("/proc/nextric-audit.db")


def test_audit_path_that_is_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be opened for writing"):
        AuditLog(str(tmp_path))

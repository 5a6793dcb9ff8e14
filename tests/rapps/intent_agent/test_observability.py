"""The intent rApp's probes and metrics over real HTTP: alive, readiness that names the dependency that is gone
(a real redis-server killed and restarted on its port; a real policy service stopped and started again) and
recovers, Prometheus metrics that count what the API did; and a clear start-up error when the audit database
cannot be written (the read-only root filesystem of a container)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nextric.errors import ConfigError
from nextric.testing.redis_proc import start_redis
from rapps.intent_agent.audit import AuditLog
from tests.rapps.intent_agent.conftest import TMF, Rapp, start_policy, until


async def _ready(c: httpx.AsyncClient) -> tuple[int, dict[str, bool]]:
    r = await c.get("/ric/v1/health/ready")
    return r.status_code, {k: v["ready"] for k, v in r.json()["components"].items()}


async def test_alive_ready_and_metrics(rapp: Rapp) -> None:
    c = rapp.client
    assert (await c.get("/ric/v1/health/alive")).status_code == 200
    await until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
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
        rapp: Rapp) -> None:
    c, redis = rapp.client, rapp.redis
    await until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    port = redis.port
    redis.kill()
    await until(lambda: _ready(c), (503, {"store": True, "sdl": False, "policy": True}))
    body = (await c.get("/ric/v1/health/ready")).json()
    assert "SDL" in body["components"]["sdl"]["detail"]
    again = start_redis(rapp.tmp_path / "redis", port=port)
    try:
        await until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    finally:
        again.stop()


async def test_readiness_drops_with_the_policy_service_and_recovers(
        rapp: Rapp) -> None:
    c, policy, port = rapp.client, rapp.policy, rapp.policy_port
    await until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    await policy.stop()
    await until(lambda: _ready(c), (503, {"store": True, "sdl": True, "policy": False}))
    body = (await c.get("/ric/v1/health/ready")).json()
    assert "policy service unreachable" in body["components"]["policy"]["detail"]
    restarted = await start_policy(port)
    try:
        await until(lambda: _ready(c), (200, {"store": True, "sdl": True, "policy": True}))
    finally:
        await restarted.stop()


def test_unwritable_audit_path_is_a_clear_error() -> None:
    """/proc refuses new files even to root: the same refusal as a container's read-only root filesystem."""
    with pytest.raises(ConfigError, match="NEXTRIC_RAPP_AUDIT_PATH"):
        AuditLog("/proc/nextric-audit.db")


def test_audit_path_that_is_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be opened for writing"):
        AuditLog(str(tmp_path))

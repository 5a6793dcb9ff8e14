"""The policy service's readiness follows its dependencies: with the Redis that holds its policies (and announces
A1 changes) killed, /ric/v1/health/ready answers 503 naming ``storage`` and ``sdl``; restarted on its port, 200
again. A real redis-server, the real app through its lifespan."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from nextric.testing.redis_proc import start_redis
from policy.app import create_app
from policy.settings import PolicySettings
from tests.policy.conftest import running

PERIOD_S = 0.1


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict[str, bool]]:
    r = await client.get("/ric/v1/health/ready")
    return r.status_code, {k: v["ready"] for k, v in r.json()["components"].items()}


async def _until(client: httpx.AsyncClient, want: tuple[int, dict[str, bool]], timeout_s: float = 10.0) -> None:
    got = None
    for _ in range(int(timeout_s / PERIOD_S)):
        got = await _ready(client)
        if got == want:
            return
        await asyncio.sleep(PERIOD_S)
    raise AssertionError(f"still {got}, wanted {want}")


async def test_readiness_drops_with_redis_and_recovers(tmp_path: Path) -> None:
    redis = start_redis(tmp_path / "redis")
    try:
        settings = PolicySettings(backend="redis", redis_url=redis.url, sdl_backend="redis", sdl_redis_url=redis.url,
                                  ready_check_period_s=PERIOD_S)
        async for svc in running(create_app(settings)):
            await _until(svc.client, (200, {"storage": True, "sdl": True}))
            port = redis.port
            redis.kill()
            await _until(svc.client, (503, {"storage": False, "sdl": False}))
            detail = (await svc.client.get("/ric/v1/health/ready")).json()["components"]["storage"]["detail"]
            assert "unavailable" in detail
            redis = start_redis(tmp_path / "redis", port=port)
            await _until(svc.client, (200, {"storage": True, "sdl": True}))
    finally:
        redis.stop()

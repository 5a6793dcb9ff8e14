"""What the intent rApp's readiness probe reports: each dependency it needs, checked while it runs.

* ``store``: intents and plans loaded from SDL at start-up (set by the app's lifespan);
* ``sdl``: the SDL backend answers a ping (intents, plans and the slice plan live there);
* ``policy``: the policy service (A1 + guardrail) answers its readiness probe, when one is configured;
* ``e2``: every E2 node's KPM subscription is streaming, when an E2 target is configured (set by the KPM feed).

``/ric/v1/health/ready`` re-checks ``sdl`` and ``policy`` when asked (at most once per period) and answers 503 with
the failing component and why while any of them is down, and 200 again once it is back, so an orchestrator stops
routing operators to an rApp that could not act on their intents."""

from __future__ import annotations

import asyncio
import logging

import httpx

from nextric.obs.health import READY_PATH, Health
from nextric.sdl.api import SdlBackend

log = logging.getLogger("rapp.intent_agent.readiness")


async def check_sdl(sdl: SdlBackend, timeout_s: float) -> tuple[bool, str]:
    """The backend's ping (False on a connection error or timeout of its own) within ``timeout_s``."""
    try:
        ok = await asyncio.wait_for(sdl.ping(), timeout_s)
    except TimeoutError:
        return False, f"SDL did not answer a ping within {timeout_s:g} s"
    return (True, "ok") if ok else (False, "SDL unreachable (ping failed)")


async def check_policy(client: httpx.AsyncClient, timeout_s: float) -> tuple[bool, str]:
    try:
        r = await client.get(READY_PATH, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return False, f"policy service unreachable: {type(exc).__name__}: {exc}"
    if r.status_code != 200:
        return False, f"policy service not ready (HTTP {r.status_code})"
    return True, "ok"


def install(health: Health, sdl: SdlBackend, policy: httpx.AsyncClient | None, period_s: float) -> None:
    """Register ``sdl`` (and ``policy`` when there is a policy service) and have the readiness probe re-check them,
    at most once per ``period_s`` (each check waits at most that long): the same mechanism as the policy
    service's (:meth:`nextric.obs.health.Health.check_on_probe`), no background task."""
    health.register("sdl", False, "not checked yet")
    if policy is not None:
        health.register("policy", False, "not checked yet")

    async def check() -> None:
        results = [("sdl", await check_sdl(sdl, period_s))]
        if policy is not None:
            results.append(("policy", await check_policy(policy, period_s)))
        for name, (ok, detail) in results:
            if ok != health.is_ready(name):
                log.info("readiness change", extra={"component": name, "ready": ok, "detail": detail})
            health.set(name, ok, detail)

    health.check_on_probe(check, period_s)

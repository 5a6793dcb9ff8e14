"""Wires the policy service: storage, A1, guardrail, audit, auth, limits, health and metrics into FastAPI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry

from nextric.errors import UnavailableError
from nextric.obs.health import Health
from nextric.obs.http import observability_router
from nextric.sdl.api import SdlBackend
from nextric.sdl.factory import SdlSettings, open_sdl
from policy.a1 import A1Service
from policy.announce import A1Announcer
from policy.auth import Authenticator
from policy.destination import DestinationGuard, DestinationPolicy, DnsResolver, Resolver
from policy.guard import GuardrailService
from policy.limits import BodySizeLimit, RateLimiter
from policy.metrics import PolicyMetrics
from policy.notify import HttpNotifier
from policy.openapi import install_openapi
from policy.problems import install_problem_handlers
from policy.routes_a1 import a1_router
from policy.routes_audit import audit_router
from policy.routes_guardrail import guardrail_router
from policy.settings import PolicySettings
from policy.storage import AuditWriter, Backend, open_backend
from policy.types import builtin_types


@dataclass
class PolicyService:
    """Handles to the parts (tests and the bench reach in through ``app.state.service``)."""

    backend: Backend
    writer: AuditWriter
    a1: A1Service
    guard: GuardrailService
    notifier: HttpNotifier
    health: Health
    registry: CollectorRegistry


async def check_dependencies(health: Health, store: Backend, sdl: SdlBackend | None, timeout_s: float) -> None:
    """Readiness that follows the dependencies, checked when the probe asks: ``storage`` (the policy store answers
    its ping: with its Redis or SQLite gone the service is unready, so no A1 write is routed to a store that cannot
    keep it) and ``sdl`` (where A1 changes are announced)."""
    try:
        await asyncio.wait_for(asyncio.to_thread(store.ping), timeout_s)
        health.set("storage", True, store.name)
    except (UnavailableError, TimeoutError) as exc:
        health.set("storage", False, f"{store.name} unavailable: {exc or 'no answer in time'}")
    if sdl is not None:
        try:
            ok = await asyncio.wait_for(sdl.ping(), timeout_s)
        except TimeoutError:
            ok = False
        health.set("sdl", ok, "ok" if ok else "SDL unreachable (ping failed)")


def create_app(
    settings: PolicySettings,
    *,
    backend: Backend | None = None,
    clock: Callable[[], float] = time.time,
    notify_client: httpx.AsyncClient | None = None,
    sdl: SdlBackend | None = None,
    resolver: Resolver | None = None,
) -> FastAPI:
    """Build the ASGI app; nothing starts until the lifespan runs (uvicorn or ``httpx`` + lifespan).

    ``sdl`` (or ``settings.sdl_backend``): where A1 policy changes are announced to the xApps (channel ``a1`` in
    ``settings.a1_namespace``), so they reload on the change instead of polling. ``resolver``: how
    notificationDestination hosts are resolved for the SSRF guard (default: the system resolver)."""
    if sdl is None and settings.sdl_backend != "none":
        sdl = open_sdl(SdlSettings(backend=settings.sdl_backend, redis_url=settings.sdl_redis_url))
    store = backend if backend is not None else open_backend(settings)
    registry = CollectorRegistry()
    health = Health()
    health.register("storage", False, "loading policies")
    if sdl is not None:
        health.register("sdl", False, "not checked yet")
    metrics = PolicyMetrics.create(registry)
    writer = AuditWriter(store, settings.audit_batch_max)
    destinations = DestinationGuard(
        DestinationPolicy.of(settings.notify_allow_private, settings.notify_allow_cidrs),
        resolver if resolver is not None else DnsResolver(settings.notify_timeout_s),
    )
    notifier = HttpNotifier(notify_client or httpx.AsyncClient(timeout=settings.notify_timeout_s), destinations)
    a1 = A1Service(
        builtin_types(),
        store,
        notifier=notifier,
        destinations=destinations,
        max_policies=settings.max_policies,
        clock=clock,
    )
    guard = GuardrailService(
        a1,
        writer,
        metrics,
        clock=clock,
        verdict_cache=settings.verdict_cache,
        approval_ttl_s=settings.approval_ttl_s,
        max_applied_cells=settings.max_applied_cells,
        max_applied_parameters=settings.max_applied_parameters,
    )
    announcer = A1Announcer(sdl, settings.a1_namespace)

    def changed() -> None:
        guard.refresh()
        announcer.changed()

    a1.set_on_change(changed)
    auth = Authenticator(settings.grants(), RateLimiter(settings.requests_per_s, settings.burst))
    service = PolicyService(store, writer, a1, guard, notifier, health, registry)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        writer.start()
        try:
            await a1.load()
            health.set("storage", True, store.name)
            health.check_on_probe(lambda: check_dependencies(health, store, sdl, settings.ready_check_period_s),
                                  settings.ready_check_period_s)
            yield
        finally:
            health.set("storage", False, "stopping")
            await notifier.aclose()
            await announcer.drain()
            writer.close()
            store.close()

    app = FastAPI(
        title="nextric policy service",
        version="1.0.0",
        description="O-RAN A1-P v2 policy API, guardrail checks, rollback and audit (see docs/policy.md).",
        lifespan=lifespan,
    )
    app.state.service = service
    install_problem_handlers(app)
    install_openapi(app)
    app.include_router(a1_router(a1, auth))
    app.include_router(guardrail_router(guard, auth))
    app.include_router(audit_router(store, auth))
    app.include_router(observability_router(health, registry))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app

"""HTTP face of observability: O-RAN SC health probes and the Prometheus ``/metrics`` endpoint.

``observability_router`` plugs into any FastAPI app (policy service, rApp); ``observability_app`` is a
complete ASGI app for processes that have no HTTP API of their own (xApps, testbed).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from nextric.obs.health import ALIVE_PATH, READY_PATH, Health


def observability_router(health: Health, registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["observability"])

    @router.get(ALIVE_PATH, summary="Liveness probe (O-RAN SC path)")
    async def alive() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(READY_PATH, summary="Readiness probe (O-RAN SC path): 503 until every component is ready")
    async def ready() -> JSONResponse:
        await health.refresh()
        report = health.report()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    @router.get("/metrics", summary="Prometheus metrics in text exposition format")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def observability_app(health: Health, registry: CollectorRegistry, title: str = "nextric") -> FastAPI:
    app = FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(observability_router(health, registry))
    return app

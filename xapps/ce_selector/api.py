"""Read-only HTTP view of the selector's decisions (for the rApp's ``compare_estimators`` tool and operators).

``GET /ce/v1/groups`` (optional ``?cell=<cell key>``): per cell or UE group, the chosen estimator, every
candidate's proxy NMSE, its standard error, measured latency and eligibility, the observed configuration and
the neural model's validity flags. ``GET /ce/v1/model``: the neural model serving (version, validity range).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Query

from nextric.phy.neural import OnnxCeEstimator
from xapps.ce_selector.core import CANDIDATES


def ce_router(groups: Callable[[], list[dict[str, Any]]], neural: OnnxCeEstimator | None) -> APIRouter:
    router = APIRouter(prefix="/ce/v1", tags=["channel estimation"])

    @router.get("/groups", summary="Chosen estimator, proxy NMSE per candidate and validity flags per group")
    async def list_groups(cell: str | None = Query(None, description="only this cell (key as in E2 setup)")
                          ) -> dict[str, Any]:
        rows = [g for g in groups() if cell is None or g["cell"] == cell]
        return {"candidates": list(CANDIDATES), "groups": rows}

    @router.get("/model", summary="The neural estimator serving now and its validity range")
    async def model() -> dict[str, Any]:
        if neural is None:
            return {"loaded": False}
        return {"loaded": True, "version": neural.version, "validity_range": dict(neural.card.validity_range)}

    return router


def mount(app: FastAPI, groups: Callable[[], list[dict[str, Any]]], neural: OnnxCeEstimator | None) -> FastAPI:
    app.include_router(ce_router(groups, neural))
    return app

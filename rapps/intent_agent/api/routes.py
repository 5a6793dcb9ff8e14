"""Routes: TMF921-style ``/tmf-api/intentManagement/v5/intent`` (+ ``/intentReport``), plan decisions,
tools, audit and KPI series under ``/rapp/v1``; translation only, the agent decides."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from nextric.errors import NextricError
from nextric.web import FiniteJsonRoute
from rapps.intent_agent.api.auth import Auth
from rapps.intent_agent.api.city_map import CityMap, MapArea, city_map
from rapps.intent_agent.api.expression import ExpressionIn
from rapps.intent_agent.api.plan_view import plan_view, slas_json
from rapps.intent_agent.api.problems import problem_responses
from rapps.intent_agent.network import Running, read_running
from rapps.intent_agent.plans.model import Plan
from rapps.intent_agent.service import IntentAgent, IntentRecord

TMF = "/tmf-api/intentManagement/v5"


class IntentIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    naturalLanguage: str | None = Field(None, max_length=2000)
    expression: ExpressionIn | None = None
    mode: Literal["advisory", "autonomous", "shadow"] | None = None
    type_: str | None = Field(None, alias="@type")


class Decision(BaseModel):
    comment: str = Field("", max_length=500)


class Approval(BaseModel):
    """An approval; a medium- or high-risk plan needs ``acknowledgeRisk`` equal to its risk level."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    acknowledge_risk: Literal["low", "medium", "high"] | None = Field(None, alias="acknowledgeRisk")
    comment: str = Field("", max_length=500)


def intent_json(rec: IntentRecord, base: str) -> dict[str, Any]:
    last = rec.reports[-1] if rec.reports else None
    return {"id": rec.id, "href": f"{base}{TMF}/intent/{rec.id}", "@type": "Intent", "name": rec.name,
            "description": rec.description, "naturalLanguage": rec.text, "mode": rec.mode,
            "lifecycleStatus": rec.lifecycle, "creationDate": rec.created, "lastUpdate": rec.updated,
            "expression": {"@type": "JsonLdExpression", "expressionValue": {"intentExpectations": rec.expectations}},
            "compilation": rec.compiled, "plans": rec.plans,
            "fulfilmentInfo": None if last is None else {"fulfilmentStatus": last["fulfilmentStatus"],
                                                        "notFulfilledState": last["notFulfilledState"]}}


def router(agent: IntentAgent, auth: Auth) -> APIRouter:
    r = APIRouter(route_class=FiniteJsonRoute)  # NaN, Infinity, 1e400 in a body: 400 naming the field
    op = Depends(auth.require("operator"))
    rd = Depends(auth.require("operator", "viewer"))

    def base(req: Request) -> str:
        return str(req.base_url).rstrip("/")

    def view(p: Plan) -> dict[str, Any]:  # the plan record + what the operator's card needs (api/plan_view.py)
        rec = agent.intents.get(p.intent_id)
        return plan_view(p, agent.env.topology, None if rec is None else agent.spec_of(rec))

    @r.post(f"{TMF}/intent", status_code=201, tags=["intent"],
            responses=problem_responses(400, 401, 403, 409, 413, 422, 503))
    async def create(body: IntentIn, request: Request, response: Response, who: str = op,
                     idempotency_key: str | None = Header(
                         None, min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
                         description="makes a retried POST answer the intent it created instead of a duplicate "
                                     "(same key and body; another body: 422)")) -> dict[str, Any]:
        rec, created = await agent.create(body.model_dump(exclude_none=True), who, idempotency_key)
        response.headers["Location"] = f"{TMF}/intent/{rec.id}"
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return intent_json(rec, base(request))

    @r.get(f"{TMF}/intent", tags=["intent"])
    async def list_(request: Request, _: str = rd) -> list[dict[str, Any]]:
        return [intent_json(x, base(request)) for x in agent.intents.values()]

    @r.get(f"{TMF}/intent/{{intent_id}}", tags=["intent"])
    async def get(intent_id: str, request: Request, _: str = rd) -> dict[str, Any]:
        return intent_json(agent.get(intent_id), base(request))

    @r.patch(f"{TMF}/intent/{{intent_id}}", tags=["intent"], responses=problem_responses(400, 401, 403, 404, 409, 413))
    async def patch(intent_id: str, body: IntentIn, request: Request, who: str = op) -> dict[str, Any]:
        return intent_json(await agent.patch(intent_id, body.model_dump(exclude_none=True), who), base(request))

    @r.delete(f"{TMF}/intent/{{intent_id}}", status_code=204, tags=["intent"])
    async def delete(intent_id: str, who: str = op) -> Response:
        await agent.delete(intent_id, who)
        return Response(status_code=204)

    @r.get(f"{TMF}/intent/{{intent_id}}/intentReport", tags=["intent"])
    async def reports(intent_id: str, _: str = rd) -> list[dict[str, Any]]:
        return list(reversed(agent.get(intent_id).reports))

    @r.get("/rapp/v1/plans", tags=["plans"])
    async def plans(status: str | None = None, _: str = rd) -> list[dict[str, Any]]:
        return [view(p) for p in agent.plans.values() if status is None or p.status == status]

    @r.get("/rapp/v1/plans/{plan_id}", tags=["plans"])
    async def plan(plan_id: str, _: str = rd) -> dict[str, Any]:
        return view(agent.plan(plan_id))

    @r.post("/rapp/v1/plans/{plan_id}/approve", tags=["plans"])
    async def approve(plan_id: str, body: Approval | None = None, who: str = op) -> dict[str, Any]:
        return view(await agent.approve(plan_id, who, None if body is None else body.acknowledge_risk))

    @r.post("/rapp/v1/plans/{plan_id}/reject", tags=["plans"])
    async def reject(plan_id: str, body: Decision, who: str = op) -> dict[str, Any]:
        return view(await agent.reject(plan_id, who, body.comment))

    @r.post("/rapp/v1/plans/{plan_id}/rollback", tags=["plans"])
    async def rollback(plan_id: str, body: Decision, who: str = op) -> dict[str, Any]:
        return view(await agent.rollback(plan_id, who, body.comment or "operator rollback"))

    @r.get("/rapp/v1/tools", tags=["harness"])
    async def tools(_: str = rd) -> list[dict[str, Any]]:
        return [t.describe() for t in agent.reg.tools.values()]

    @r.get("/rapp/v1/audit", tags=["audit"], responses=problem_responses(400, 401, 403))
    async def audit(subject: str | None = None,
                    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="audit id to continue after")] = 0,
                    limit: int = 100, _: str = rd) -> dict[str, Any]:
        items = agent.audit.query(subject, after, min(max(limit, 1), 1000))
        policy: list[dict[str, Any]] = []
        if agent.env.policy is not None:
            try:
                got = await agent.env.policy.get("/audit/v1/records", params={"limit": 50})
                if got.status_code == 200:
                    policy = got.json().get("items", [])[-50:]
            except Exception:  # the policy service being down must not break the operator's view
                policy = []
        return {"items": items, "policy": policy}

    @r.get("/rapp/v1/kpis", tags=["kpis"])
    async def kpis(_: str = rd) -> dict[str, Any]:
        names = [s.name for s in agent.env.topology.slices]
        series: dict[str, Any] = {
            "units": {"t_s": "s (simulated, end of each KPM period)", "loss": "fraction", "p99_ms": "ms",
                      "prb_use": "fraction", "received_unix_s": "s (wall clock, Unix time the rApp received it)"},
            "t_s": [], "received_unix_s": list(agent.env.history.received_unix_s),
            "slices": {n: {"loss": [], "p99_ms": []} for n in names}, "cells": {},
            "sla": slas_json(agent.env.topology),
            "applied": [{"planId": p.id, "intentId": p.intent_id, "t_s": p.applied_sim_s, "status": p.status}
                        for p in agent.plans.values() if p.applied_sim_s is not None]}
        for rep in agent.env.history.reports:
            series["t_s"].append(rep.t_end_s)
            for i, n in enumerate(names):
                off = sum(c.slices[i].offered_mbps for c in rep.cells)
                lost = sum(c.slices[i].offered_mbps * c.slices[i].packet_loss for c in rep.cells)
                series["slices"][n]["loss"].append(lost / off if off > 0 else 0.0)
                series["slices"][n]["p99_ms"].append(max((c.slices[i].p99_delay_ms for c in rep.cells), default=0.0))
            for c in rep.cells:
                row = series["cells"].setdefault(str(c.cell_id), {"prb_use": []})
                row["prb_use"].append(c.prb_used_dl / c.prb_avail_dl if c.prb_avail_dl > 0 else 0.0)
        return series

    @r.get("/rapp/v1/map", tags=["kpis"], response_model=CityMap, responses=problem_responses(401, 403))
    async def city(_: str = rd) -> CityMap:
        """The city as the rApp sees it (docs/rapps/intent_agent.md, "City map"): cells, zones, transport nodes and
        links at the description's positions, each cell's KPIs in the last KPM period, each link's state and
        utilisation from the transport steering's SDL record, and each intent's area."""
        env = agent.env
        running: Running | None = None
        notes: list[str] = []
        try:
            running = await read_running(env.sdl, env.topology, env.sdl_namespace, env.plan_key, env.slice_namespace,
                                         env.steering_namespace)
        except NextricError as exc:  # SDL down: the map still draws, every link "unknown"
            notes.append(f"link state not readable: {exc}")
        areas = []
        for rec in agent.intents.values():
            spec = agent.spec_of(rec)
            areas.append(MapArea(intentId=rec.id, name=rec.name, zone=None if spec is None else spec.context.zone,
                                 cellIds=[] if spec is None else list(spec.context.cells), planIds=list(rec.plans)))
        last = env.history.reports[-1] if env.history.reports else None
        return city_map(env.topology, last, running, areas, agent.s.clock_start,
                        None if last is None else agent.time_of_day(last.t_end_s),
                        f"{env.steering_namespace}/links", notes)

    return r

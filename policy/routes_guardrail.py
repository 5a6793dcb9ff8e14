"""Guardrail routes: check, applied, KPI reports, rollbacks, approvals; translation only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from nextric.guardrail import KpiSample, SNssai
from nextric.guardrail.codec import action_from_json, action_to_json, prediction_from_json, reason_to_json
from nextric.web import FiniteJsonRoute
from policy.auth import Authenticator
from policy.guard import Approval, GuardrailService, RollbackEntry
from policy.principal import Principal
from policy.problems import problem_responses
from policy.schemas import (
    AppliedRequest,
    AppliedResponse,
    ApprovalDecision,
    ApprovalModel,
    CheckRequest,
    KpiReportRequest,
    KpiReportResponse,
    ManualRollbackRequest,
    RollbackModel,
    SNssaiModel,
    VerdictModel,
)
from policy.settings import Role

PREFIX = "/guardrail/v1"
_AUTH = (401, 403, 429)


def guardrail_router(guard: GuardrailService, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["guardrail"], route_class=FiniteJsonRoute)
    xapp = Depends(auth.require(Role.XAPP))
    operator = Depends(auth.require(Role.OPERATOR))
    reader = Depends(auth.require(Role.OPERATOR, Role.VIEWER, Role.XAPP))
    viewer = Depends(auth.require(Role.OPERATOR, Role.VIEWER))

    @router.post(
        "/check",
        response_model=VerdictModel,
        summary="Guardrail verdict for an action (audited)",
        responses=problem_responses(*_AUTH, 400, 404, 409, 413, 503),
    )
    async def check(req: CheckRequest, who: Principal = xapp) -> dict[str, Any]:
        action = action_from_json(req.action.model_dump(by_alias=True))
        prediction = (
            None if req.prediction is None else prediction_from_json(req.prediction.model_dump(by_alias=True))
        )
        out = await guard.check(
            who, action, at=req.at, prediction=prediction, approval_id=req.approval_id, why=req.reason
        )
        v = out.verdict
        return {
            "verdictId": out.verdict_id,
            "decision": v.decision,
            "risk": v.risk,
            "action": action_to_json(v.action),
            "requestedAction": action_to_json(v.requested),
            "reasons": [reason_to_json(r) for r in v.reasons],
            "approvalId": out.approval_id,
            "auditId": out.audit_id,
        }

    @router.post(
        "/applied",
        response_model=AppliedResponse,
        summary="Report that an allowed action or a rollback reached the network",
        responses=problem_responses(*_AUTH, 400, 404, 409, 413, 503),
    )
    async def applied(req: AppliedRequest, who: Principal = xapp) -> dict[str, Any]:
        action = None if req.action is None else action_from_json(req.action.model_dump(by_alias=True))
        return await guard.applied(
            who,
            verdict_id=req.verdict_id,
            rollback_id=req.rollback_id,
            action=action,
            at=req.at,
            why=req.reason,
        )

    @router.post(
        "/kpi-reports",
        response_model=KpiReportResponse,
        summary="One KPI period per slice and cell; returns SLA breaches and triggered rollbacks",
        responses=problem_responses(*_AUTH, 400, 413, 503),
    )
    async def kpi_report(req: KpiReportRequest, who: Principal = xapp) -> dict[str, Any]:
        samples = [
            KpiSample(
                s.cell_id, _snssai(s.slice_id), s.packet_delay_ms, s.packet_loss_rate, s.throughput_kbps
            )
            for s in req.samples
        ]
        out = await guard.report(who, samples, req.at)
        return {
            "breaches": [
                {
                    "cellId": b.cell_id,
                    "sliceId": _snssai_json(b.member),
                    "violations": list(b.violations),
                    "policyIds": list(b.policy_ids),
                }
                for b in out.breaches
            ],
            "rollbacks": [_rollback(r) for r in out.rollbacks],
        }

    @router.get(
        "/rollbacks",
        response_model=list[RollbackModel],
        summary="Issued rollbacks (pending first)",
        responses=problem_responses(*_AUTH, 400),
    )
    async def rollbacks(
        _: Principal = reader,
        status: Annotated[Literal["pending", "applied"] | None, Query()] = None,
        cell_id: Annotated[str | None, Query(alias="cellId", max_length=256)] = None,
    ) -> list[dict[str, Any]]:
        return [_rollback(r) for r in guard.rollbacks(status, cell_id)]

    @router.post(
        "/rollbacks",
        response_model=list[RollbackModel],
        summary="Manual rollback to the last-known-good ratios of a cell (or one slice in it)",
        responses=problem_responses(*_AUTH, 400, 404, 413, 503),
    )
    async def manual_rollback(req: ManualRollbackRequest, who: Principal = operator) -> list[dict[str, Any]]:
        member = None if req.slice_id is None else _snssai(req.slice_id)
        return [_rollback(r) for r in await guard.manual_rollback(who, req.cell_id, member, req.reason)]

    @router.get(
        "/approvals",
        response_model=list[ApprovalModel],
        summary="Approval requests",
        responses=problem_responses(*_AUTH, 400),
    )
    async def approvals(
        _: Principal = viewer,
        status: Annotated[
            Literal["pending", "approved", "rejected", "used", "expired"] | None, Query()
        ] = None,
    ) -> list[dict[str, Any]]:
        return [_approval(a) for a in guard.approvals(status)]

    @router.post(
        "/approvals/{approvalId}",
        response_model=ApprovalModel,
        summary="Approve or reject a high-risk action (advisory mode)",
        responses=problem_responses(*_AUTH, 400, 404, 409, 413, 503),
    )
    async def decide(
        approval_id: Annotated[str, Path(alias="approvalId", min_length=1, max_length=256)],
        req: ApprovalDecision,
        who: Principal = operator,
    ) -> dict[str, Any]:
        return _approval(await guard.decide(who, approval_id, req.decision == "approve", req.comment))

    return router


def _snssai(m: SNssaiModel) -> SNssai:
    return SNssai(m.sst, m.sd)


def _snssai_json(s: SNssai) -> dict[str, Any]:
    return {"sst": s.sst, "sd": s.sd}


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _rollback(r: RollbackEntry) -> dict[str, Any]:
    return {
        "rollbackId": r.id,
        "action": action_to_json(r.action),
        "trigger": r.trigger,
        "reason": r.why,
        "status": r.status,
        "created": _ts(r.created),
        "violations": list(r.violations),
    }


def _approval(a: Approval) -> dict[str, Any]:
    return {
        "approvalId": a.id,
        "action": action_to_json(a.action),
        "requestedAction": action_to_json(a.requested),
        "requestedBy": a.requested_by,
        "status": a.status,
        "decidedBy": a.decided_by,
        "comment": a.comment,
        "created": _ts(a.created),
    }

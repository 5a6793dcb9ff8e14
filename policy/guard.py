"""The guardrail service: the engine behind HTTP, with the network state, approvals and rollbacks.

State lives in the event-loop thread (no awaits between reading and updating it); only the durable audit
append is awaited, before the caller gets its answer.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nextric.errors import ConflictError, NotFoundError, ValidationError
from nextric.guardrail import (
    Action,
    Breach,
    Decision,
    GuardrailPolicy,
    GuardrailState,
    KpiSample,
    Prediction,
    ReasonCode,
    RollbackDecision,
    RollbackTracker,
    SlicePrbQuotaAction,
    SliceSla,
    SNssai,
    Verdict,
    breaches_of,
    check,
    from_a1,
    merge,
    rollback_actions,
    sla_from_a1,
)
from nextric.guardrail.codec import action_to_json, prediction_to_json, snssai_to_json, verdict_to_json
from nextric.guardrail.policy import applies_to
from policy.a1 import A1Service
from policy.metrics import PolicyMetrics
from policy.principal import Principal
from policy.storage import AuditRecord, AuditWriter
from policy.types import GUARDRAIL_TYPE, SLICE_SLA_TYPE


@dataclass
class VerdictEntry:
    id: str
    verdict: Verdict
    at: float
    applied_audit_id: str | None = None
    applied: bool = False


@dataclass
class Approval:
    id: str
    action: Action
    requested: Action
    requested_by: str
    created: float
    status: Literal["pending", "approved", "rejected", "used", "expired"] = "pending"
    decided_by: str | None = None
    comment: str | None = None


@dataclass
class RollbackEntry:
    id: str
    action: SlicePrbQuotaAction
    trigger: Literal["auto", "manual"]
    why: str
    created: float
    status: Literal["pending", "applied"] = "pending"
    violations: tuple[str, ...] = ()
    applied_audit_id: str | None = None


@dataclass(frozen=True)
class CheckOutcome:
    verdict_id: str
    verdict: Verdict
    approval_id: str | None
    audit_id: str | None


@dataclass(frozen=True)
class ReportOutcome:
    breaches: list[Breach]
    rollbacks: list[RollbackEntry]


@dataclass
class _Policies:
    guardrails: list[tuple[dict[str, Any], GuardrailPolicy]] = field(default_factory=list)
    slas: list[SliceSla] = field(default_factory=list)
    per_cell: dict[str, GuardrailPolicy] = field(default_factory=dict)


class GuardrailService:
    """Checks, applied-action reports, KPI reports, approvals and rollbacks, all audited."""

    def __init__(
        self,
        a1: A1Service,
        audit: AuditWriter,
        metrics: PolicyMetrics,
        *,
        clock: Callable[[], float] = time.time,
        verdict_cache: int = 10000,
        approval_ttl_s: float = 300.0,
        max_applied_cells: int = 10_000,
        max_applied_parameters: int = 100_000,
    ) -> None:
        self._a1 = a1
        self._audit = audit
        self._metrics = metrics
        self._clock = clock
        self._cache_size = verdict_cache
        self._approval_ttl = approval_ttl_s
        self._max_cells = max_applied_cells
        self._max_parameters = max_applied_parameters
        self.state = GuardrailState()
        self.tracker = RollbackTracker()
        self._verdicts: OrderedDict[str, VerdictEntry] = OrderedDict()
        self._approvals: OrderedDict[str, Approval] = OrderedDict()
        self._rollbacks: OrderedDict[str, RollbackEntry] = OrderedDict()
        self._policies = _Policies()

    # -- policies -------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild the engine policies and SLAs from the A1 instances (called on every A1 change)."""
        guardrails = [(inst.body, from_a1(inst.body)) for inst in self._a1.instances(GUARDRAIL_TYPE).values()]
        slas = [sla_from_a1(inst.body, pid) for pid, inst in self._a1.instances(SLICE_SLA_TYPE).items()]
        self._policies = _Policies(guardrails, slas)

    def policy_for(self, cell_id: str) -> GuardrailPolicy:
        """Effective (most restrictive) guardrail policy for a cell."""
        per_cell = self._policies.per_cell
        cached = per_cell.get(cell_id)
        if cached is None:
            cached = merge(p for body, p in self._policies.guardrails if applies_to(body, cell_id))
            if len(per_cell) >= self._max_cells:  # any cell id a caller names is cached: keep it bounded
                del per_cell[next(iter(per_cell))]
            per_cell[cell_id] = cached
        return cached

    # -- checks ---------------------------------------------------------------------------------------------
    async def check(
        self,
        who: Principal,
        action: Action,
        *,
        at: float | None = None,
        prediction: Prediction | None = None,
        approval_id: str | None = None,
        why: str | None = None,
    ) -> CheckOutcome:
        now = self._clock() if at is None else at
        approval = self._usable_approval(approval_id, action) if approval_id else None
        ctx = self.state.context(now, self.policy_for(action.cell_id), approved=approval is not None)
        t0 = time.perf_counter()
        verdict = check(action, ctx, prediction)
        self._metrics.check_seconds.observe(time.perf_counter() - t0)
        self._metrics.verdicts.labels(verdict.decision.value, action.kind).inc()
        vid = uuid.uuid4().hex
        new_approval: str | None = None
        if verdict.decision is Decision.DENY and verdict.codes() == {ReasonCode.APPROVAL_REQUIRED}:
            self._remember(self._approvals, Approval(vid, verdict.action, action, who.name, self._clock()))
            new_approval = vid
        if approval is not None and verdict.allowed:
            approval.status = "used"
        entry = VerdictEntry(vid, verdict, now)
        self._remember(self._verdicts, entry)
        record = await self._append(
            AuditRecord(
                "verdict",
                who.name,
                self._clock(),
                who.role_names(),
                action.cell_id,
                verdict.decision.value,
                why,
                {
                    "verdictId": vid,
                    "at": now,
                    "verdict": verdict_to_json(verdict),
                    "prediction": None if prediction is None else prediction_to_json(prediction),
                    "approvalId": approval_id,
                    "approvalRequestId": new_approval,
                },
            )
        )
        return CheckOutcome(vid, verdict, new_approval, record.id)

    def _usable_approval(self, approval_id: str, action: Action) -> Approval | None:
        ap = self._approvals.get(approval_id)
        if ap is None:
            raise NotFoundError(f"approval {approval_id!r} not found")
        if ap.status == "pending" and self._clock() - ap.created > self._approval_ttl:
            ap.status = "expired"
        if ap.status != "approved":
            raise ConflictError(f"approval {approval_id!r} is {ap.status}")
        if action not in (ap.action, ap.requested):
            raise ConflictError(f"approval {approval_id!r} was granted for a different action")
        return ap

    # -- applied actions ------------------------------------------------------------------------------------
    async def applied(
        self,
        who: Principal,
        *,
        verdict_id: str | None = None,
        rollback_id: str | None = None,
        action: Action | None = None,
        at: float | None = None,
        why: str | None = None,
    ) -> dict[str, Any]:
        """Record that an action reached the network (after the E2 control ack). Idempotent per id."""
        if sum(x is not None for x in (verdict_id, rollback_id, action)) != 1:
            raise ValidationError("give exactly one of verdictId, rollbackId, action")
        now = self._clock() if at is None else at
        data: dict[str, Any] = {"at": now}
        if verdict_id is not None:
            entry = self._verdicts.get(verdict_id)
            if entry is None:
                raise NotFoundError(f"verdict {verdict_id!r} not found (unknown or evicted)")
            if not entry.verdict.allowed:
                raise ConflictError(f"verdict {verdict_id!r} denied the action; it must not be applied")
            if entry.applied_audit_id is not None:
                return {"auditId": entry.applied_audit_id, "duplicate": True}
            if not entry.applied:
                self._apply(entry.verdict.action, now, rollback=False)
                entry.applied = True
            applied_action: Action = entry.verdict.action
            data["verdictId"] = verdict_id
        elif rollback_id is not None:
            rb = self._rollbacks.get(rollback_id)
            if rb is None:
                raise NotFoundError(f"rollback {rollback_id!r} not found")
            if rb.applied_audit_id is not None:
                return {"auditId": rb.applied_audit_id, "duplicate": True}
            if rb.status == "pending":
                self._apply(rb.action, now, rollback=True)
                rb.status = "applied"
            applied_action = rb.action
            data["rollbackId"] = rollback_id
        else:
            assert action is not None
            recheck = check(action, self.state.context(now, self.policy_for(action.cell_id), approved=True))
            data["recheck"] = verdict_to_json(recheck)
            self._apply(action, now, rollback=False)
            applied_action = action
        data["action"] = action_to_json(applied_action)
        self._metrics.applied.labels(applied_action.kind).inc()
        record = await self._append(
            AuditRecord(
                "applied",
                who.name,
                self._clock(),
                who.role_names(),
                applied_action.cell_id,
                "applied",
                why,
                data,
            )
        )
        if verdict_id is not None:
            self._verdicts[verdict_id].applied_audit_id = record.id
        elif rollback_id is not None:
            self._rollbacks[rollback_id].applied_audit_id = record.id
        return {"auditId": record.id, "duplicate": False}

    def _apply(self, action: Action, now: float, *, rollback: bool) -> None:
        if isinstance(action, SlicePrbQuotaAction):
            before = self.state.current_prb.get(action.cell_id, {})
            self.tracker = self.tracker.applied(action, before, now, rollback=rollback)
        self.state, gone = self.state.applied(action, now).bounded(self._max_cells, self._max_parameters)
        if gone.cells:
            self.tracker = self.tracker.forget(gone.cells)
            self._metrics.evicted.labels("cell").inc(len(gone.cells))
        if gone.parameters:
            self._metrics.evicted.labels("parameter").inc(len(gone.parameters))

    # -- KPI reports and rollbacks ---------------------------------------------------------------------------
    async def report(
        self, who: Principal, samples: Sequence[KpiSample], at: float | None = None
    ) -> ReportOutcome:
        """Judge one KPI period against the SLAs; N breached periods after a change trigger a rollback."""
        now = self._clock() if at is None else at
        slas = self._policies.slas
        breaches = breaches_of(samples, slas)
        self._metrics.breaches.inc(len(breaches))
        self._update_sla_status(samples, breaches)
        self.tracker, decisions = self.tracker.observe(
            breaches, samples, lambda cell: self.policy_for(cell).breach_periods
        )
        if breaches:
            await self._append(
                AuditRecord(
                    "sla_breach",
                    who.name,
                    self._clock(),
                    who.role_names(),
                    None,
                    "breached",
                    None,
                    {"at": now, "breaches": [_breach_json(b) for b in breaches]},
                )
            )
        entries = await self._issue(
            who, decisions, "auto", "SLA breached for consecutive periods after a change"
        )
        return ReportOutcome(breaches, entries)

    async def manual_rollback(
        self, who: Principal, cell_id: str, member: SNssai | None, why: str | None
    ) -> list[RollbackEntry]:
        decisions = self.tracker.manual(cell_id, member)
        if not decisions:
            raise NotFoundError(f"nothing to roll back in cell {cell_id!r}")
        return await self._issue(who, decisions, "manual", why or "operator request")

    async def _issue(
        self, who: Principal, decisions: list[RollbackDecision], trigger: Literal["auto", "manual"], why: str
    ) -> list[RollbackEntry]:
        entries: list[RollbackEntry] = []
        for action in rollback_actions(decisions):
            related = [d for d in decisions if d.cell_id == action.cell_id]
            violations = tuple(sorted({v for d in related for v in d.violations}))
            entry = RollbackEntry(
                uuid.uuid4().hex, action, trigger, why, self._clock(), violations=violations
            )
            self._remember(self._rollbacks, entry)
            self._metrics.rollbacks.labels(trigger).inc()
            await self._append(
                AuditRecord(
                    "rollback",
                    who.name,
                    self._clock(),
                    who.role_names(),
                    action.cell_id,
                    trigger,
                    why,
                    {
                        "rollbackId": entry.id,
                        "action": action_to_json(action),
                        "violations": list(violations),
                        "breaches": max((d.breaches for d in related), default=0),
                    },
                )
            )
            entries.append(entry)
        return entries

    def _update_sla_status(self, samples: Sequence[KpiSample], breaches: list[Breach]) -> None:
        broken = {pid: b for b in breaches for pid in b.policy_ids}
        for sla in self._policies.slas:
            if sla.policy_id in broken:
                b = broken[sla.policy_id]
                status = {
                    "enforceStatus": "NOT_ENFORCED",
                    "enforceReason": "OTHER_REASON",
                    "detail": f"SLA breached in cell {b.cell_id}: {', '.join(b.violations)}",
                }
                self._a1.set_status(SLICE_SLA_TYPE, sla.policy_id, status)
            elif any(sla.applies(s.cell_id, s.member) for s in samples):
                self._a1.set_status(SLICE_SLA_TYPE, sla.policy_id, {"enforceStatus": "ENFORCED"})

    # -- approvals -------------------------------------------------------------------------------------------
    async def decide(self, who: Principal, approval_id: str, approve: bool, comment: str | None) -> Approval:
        ap = self._approvals.get(approval_id)
        if ap is None:
            raise NotFoundError(f"approval {approval_id!r} not found")
        if ap.status == "pending" and self._clock() - ap.created > self._approval_ttl:
            ap.status = "expired"
        if ap.status != "pending":
            raise ConflictError(f"approval {approval_id!r} is already {ap.status}")
        ap.status = "approved" if approve else "rejected"
        ap.decided_by, ap.comment = who.name, comment
        await self._append(
            AuditRecord(
                "approval",
                who.name,
                self._clock(),
                who.role_names(),
                ap.action.cell_id,
                ap.status,
                comment,
                {"approvalId": ap.id, "action": action_to_json(ap.action), "requestedBy": ap.requested_by},
            )
        )
        return ap

    def approvals(self, status: str | None = None) -> list[Approval]:
        now = self._clock()
        for ap in self._approvals.values():
            if ap.status == "pending" and now - ap.created > self._approval_ttl:
                ap.status = "expired"
        return [a for a in self._approvals.values() if status is None or a.status == status]

    def rollbacks(self, status: str | None = None, cell_id: str | None = None) -> list[RollbackEntry]:
        return [
            r
            for r in self._rollbacks.values()
            if (status is None or r.status == status) and (cell_id is None or r.action.cell_id == cell_id)
        ]

    # -- helpers ---------------------------------------------------------------------------------------------
    async def _append(self, record: AuditRecord) -> AuditRecord:
        t0 = time.perf_counter()
        stored = await self._audit.append(record)
        self._metrics.audit_seconds.observe(time.perf_counter() - t0)
        return stored

    def _remember(self, store: OrderedDict[str, Any], item: Any) -> None:
        store[item.id] = item
        while len(store) > self._cache_size:
            store.popitem(last=False)


def _breach_json(b: Breach) -> dict[str, Any]:
    return {
        "cellId": b.cell_id,
        "sliceId": snssai_to_json(b.member),
        "violations": list(b.violations),
        "policyIds": list(b.policy_ids),
    }

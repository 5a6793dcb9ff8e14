"""The intent agent: intents in, audited plans out. Compiles, plans through the tool harness (world models,
twin, guardrail must agree), keeps plans per mode, applies approved ones through the xApps' inputs (SDL plan,
A1 SLA policies) and updates the intent reports as KPIs arrive. State persists in SDL; decisions and their
traces land in the append-only audit."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nextric.errors import ConflictError, NextricError, NotFoundError, UnavailableError, ValidationError
from nextric.kpm import KpmReport
from nextric.obs.health import Health
from rapps.intent_agent.audit import AuditLog
from rapps.intent_agent.compiler.compile import compile_intent
from rapps.intent_agent.compiler.llm import LlmCompiler
from rapps.intent_agent.compiler.spec import Clarification, CompileResult, IntentSpec, spec_from_json
from rapps.intent_agent.harness.registry import Registry
from rapps.intent_agent.harness.tools import Env
from rapps.intent_agent.harness.trace import Trace
from rapps.intent_agent.intents.expectations import from_expectations, to_expectations
from rapps.intent_agent.metrics import RappMetrics
from rapps.intent_agent.planning import make_plan
from rapps.intent_agent.plans.model import MODES, Plan
from rapps.intent_agent.reports.fulfilment import Fulfilment, baseline_of, evaluate
from rapps.intent_agent.settings import IntentAgentSettings

log = logging.getLogger("rapp.intent_agent")
READ, PLAN, ACT = frozenset({"read"}), frozenset({"read", "plan"}), frozenset({"read", "plan", "act"})


def _iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, tz=UTC).isoformat()


@dataclass
class IntentRecord:
    id: str
    name: str
    description: str
    text: str
    mode: str
    lifecycle: str  #: acknowledged | needsClarification | planning | planned | active | refused | rejected | ...
    created: str
    updated: str
    compiled: dict[str, Any]
    expectations: list[dict[str, Any]] = field(default_factory=list)
    structured: list[dict[str, Any]] | None = None
    plans: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    owner: str = ""  #: the tenant (token name) that created it; the per-tenant cap counts these

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


class IntentAgent:
    """``metrics`` (the audit's counter already wired by the caller) and ``health`` are the agent's observability:
    the app serves them on ``/metrics`` and ``/ric/v1/health/ready``."""

    def __init__(self, settings: IntentAgentSettings, env: Env, registry: Registry, audit: AuditLog,
                 metrics: RappMetrics, llm: LlmCompiler | None = None) -> None:
        self.s, self.env, self.reg, self.audit, self.llm = settings, env, registry, audit, llm
        self.intents: dict[str, IntentRecord] = {}
        self.plans: dict[str, Plan] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Event()
        self.metrics = metrics
        self.health = Health()
        self.health.register("store", False, "loading intents and plans from SDL")
        metrics.watch_states(lambda: ([r.lifecycle for r in list(self.intents.values())],
                                      [p.status for p in list(self.plans.values())]))

    # ------------------------------------------------------------------ persistence
    async def load(self) -> None:
        ns = self.s.sdl_namespace
        for raw in (await self.env.sdl.find_and_get(ns, "intent/*")).values():
            rec = IntentRecord(**json.loads(raw))
            self.intents[rec.id] = rec
        for raw in (await self.env.sdl.find_and_get(ns, "plan/*")).values():
            p = Plan.from_json(json.loads(raw))
            self.plans[p.id] = p
        for rec in self.intents.values():  # stored while planning, then the process stopped: plan again
            if rec.lifecycle == "planning":
                self._spawn(self.plan_intent(rec.id, rec.owner or "rapp"), rec.id)

    async def _save(self, rec: IntentRecord | None = None, plan: Plan | None = None) -> None:
        data: dict[str, bytes] = {}
        if rec is not None:
            rec.updated = _iso()
            data[f"intent/{rec.id}"] = json.dumps(rec.to_json(), default=str).encode()
        if plan is not None:
            data[f"plan/{plan.id}"] = json.dumps(plan.to_json(), default=str).encode()
        await self.env.sdl.set(self.s.sdl_namespace, data)
        self.changed.set()

    # ------------------------------------------------------------------ compile
    def compile(self, text: str, structured: list[dict[str, Any]] | None) -> CompileResult:
        if structured:
            return from_expectations(text, structured, self.env.domain)
        if self.llm is not None:
            return self.llm.compile(text)
        return compile_intent(text, self.env.domain, self.env.kb)

    def spec_of(self, rec: IntentRecord) -> IntentSpec | None:
        c = rec.compiled
        if c.get("kind") != "spec":
            return None
        return _spec_back(c["spec"])

    async def create(self, body: dict[str, Any], who: str, idempotency_key: str | None = None
                     ) -> tuple[IntentRecord, bool]:
        """Compile, persist, then acknowledge: the intent exists (in SDL and here) only once it is stored, so a
        failed store (SDL down: UnavailableError, the API's 503) leaves nothing behind. With ``idempotency_key``
        a retry of the same request answers the intent it created (``created`` False) instead of a duplicate; the
        same key with another body is refused. Returns the intent and whether this call created it."""
        text = str(body.get("naturalLanguage") or "").strip()
        structured = (body.get("expression") or {}).get("expressionValue", {}).get("intentExpectations")
        if not text and not structured:
            raise ValidationError("an intent needs naturalLanguage or expression.expressionValue.intentExpectations")
        mode = body.get("mode") or self.s.default_mode
        if mode not in MODES:
            raise ValidationError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
        rid = uuid.uuid4().hex[:12]
        claim = None
        if idempotency_key is not None:
            claim = _idempotency_sdl_key(who, idempotency_key)
            known = await self._claim(claim, rid, _fingerprint(body))
            if known is not None:
                return known, False
        try:
            owned = sum(1 for r in self.intents.values() if r.owner == who)
            if owned >= self.s.max_intents_per_tenant:
                raise QuotaError(f"{who!r} holds {owned} intents, the limit (NEXTRIC_RAPP_MAX_INTENTS_PER_TENANT); "
                                 "delete some first")
            rec = IntentRecord(rid, str(body.get("name") or text[:60] or "intent"), str(body.get("description") or ""),
                               text, mode, "acknowledged", _iso(), _iso(), {}, structured=structured, owner=who)
            await self._compile_into(rec, who)
            await self._save(rec)
        except BaseException:
            if claim is not None:
                with contextlib.suppress(NextricError):
                    await self.env.sdl.delete(self.s.sdl_namespace, [claim])  # the retry may try again
            raise
        self.intents[rid] = rec
        self._audit_compile(rec, who)
        if rec.lifecycle == "planning":
            self._spawn(self.plan_intent(rid, who), rid)
        return rec, True

    async def _claim(self, key: str, rid: str, fingerprint: str) -> IntentRecord | None:
        """Take the idempotency ``key`` for intent ``rid``; when an earlier request holds it, that request's intent
        (same body), or ConflictError (in progress) / ValidationError (another body)."""
        ns = self.s.sdl_namespace
        mine = json.dumps({"intent": rid, "fingerprint": fingerprint}).encode()
        if await self.env.sdl.set_if_not_exists(ns, key, mine):
            return None
        raw = (await self.env.sdl.get(ns, [key])).get(key)
        if raw is None:  # released between the two calls: the other request failed; take it now
            if await self.env.sdl.set_if_not_exists(ns, key, mine):
                return None
            raise ConflictError("a request with this Idempotency-Key is in progress; retry it later")
        held = json.loads(raw)
        if held.get("fingerprint") != fingerprint:
            raise IdempotencyMismatch("Idempotency-Key was used before with a different request body")
        rec = self.intents.get(str(held.get("intent")))
        if rec is None:
            raise ConflictError("a request with this Idempotency-Key is in progress; retry it later")
        return rec

    async def _compile_into(self, rec: IntentRecord, who: str) -> None:
        result = await asyncio.to_thread(self.compile, rec.text, rec.structured)
        if isinstance(result, Clarification):
            rec.compiled = {"kind": "clarification", **result.to_json()}
            rec.lifecycle = "needsClarification"
            rec.expectations = []
            rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "FULFILMENTFAILED",
                                                            why="needs clarification: " + result.question)))
        else:
            rec.compiled = {"kind": "spec", "spec": result.to_json()}
            rec.lifecycle = "planning"
            rec.expectations = to_expectations(result, self.env.topology.scenario)
            rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "ACKNOWLEDGED",
                                                            why="compiled; planning")))

    def _audit_compile(self, rec: IntentRecord, who: str) -> None:
        self.audit.append("compile", who, rec.id, rec.lifecycle, {"text": rec.text, "compiled": rec.compiled})

    async def patch(self, rid: str, body: dict[str, Any], who: str) -> IntentRecord:
        rec = self.get(rid)
        if rec.lifecycle in ("terminated",):
            raise ConflictError("the intent is terminated")
        if "mode" in body and body["mode"] not in MODES:
            raise ValidationError(f"mode {body['mode']!r}: expected one of {', '.join(MODES)}")
        for k in ("name", "description", "mode"):
            if body.get(k) is not None:
                setattr(rec, k, str(body[k]))
        if body.get("naturalLanguage") is not None or body.get("expression") is not None:
            await self._withdraw(rec, who, "intent changed")
            rec.text = str(body.get("naturalLanguage") or rec.text)
            rec.structured = (body.get("expression") or {}).get("expressionValue", {}).get("intentExpectations")
            await self._compile_into(rec, who)
            self._audit_compile(rec, who)
            if rec.lifecycle == "planning":
                self._spawn(self.plan_intent(rid, who), rid)
        await self._save(rec)
        return rec

    async def delete(self, rid: str, who: str) -> None:
        rec = self.get(rid)
        await self._withdraw(rec, who, "intent deleted")
        rec.lifecycle = "terminated"
        rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "TERMINATED", why="deleted")))
        await self._save(rec)
        del self.intents[rid]
        await self.env.sdl.delete(self.s.sdl_namespace, [f"intent/{rid}"])

    async def _withdraw(self, rec: IntentRecord, who: str, why: str) -> None:
        for pid in rec.plans:
            p = self.plans.get(pid)
            if p is not None and p.status == "applied":
                await self.rollback(pid, who, why)
            elif p is not None and p.status == "awaiting_approval":
                p.status = "rejected"
                await self._save(plan=p)

    def get(self, rid: str) -> IntentRecord:
        rec = self.intents.get(rid)
        if rec is None:
            raise NotFoundError(f"no intent {rid}")
        return rec

    def plan(self, pid: str) -> Plan:
        p = self.plans.get(pid)
        if p is None:
            raise NotFoundError(f"no plan {pid}")
        return p

    def _spawn(self, coro: Any, rid: str | None = None) -> None:
        """Run ``coro`` supervised: an exception it lets out is logged and, for a planning task, turns the intent
        into ``planningFailed`` with the reason (stored as soon as SDL takes it), never a silent ``planning``."""
        t = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)

        def done(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            if task.cancelled() or task.exception() is None:
                return
            exc = task.exception()
            log.error("background task failed", exc_info=exc, extra={"intent": rid})
            rec = self.intents.get(rid) if rid is not None else None
            if rec is not None and rec.lifecycle == "planning":
                rec.lifecycle = "planningFailed"
                rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "FULFILMENTFAILED",
                                                                why=f"planning failed: {exc}")))
                self.changed.set()
                retry = asyncio.get_running_loop().create_task(self._persist_until_stored(rec))
                self.tasks.add(retry)
                retry.add_done_callback(self.tasks.discard)

        t.add_done_callback(done)

    async def _persist_until_stored(self, rec: IntentRecord, wait_s: float = 1.0) -> None:
        """Store ``rec``, retrying (backoff to 10 s) while SDL is unavailable."""
        while True:
            try:
                await self._save(rec)
                return
            except UnavailableError:
                await asyncio.sleep(wait_s)
                wait_s = min(10.0, wait_s * 2)

    # ------------------------------------------------------------------ plan
    async def plan_intent(self, rid: str, who: str) -> None:
        rec = self.get(rid)
        spec = self.spec_of(rec)
        assert spec is not None
        trace = Trace(rid)
        t0 = time.perf_counter()
        try:
            plan = await self._plan(rec, spec, trace, who)
        except Exception as exc:  # a failed tool: the intent says why, nothing is applied
            log.exception("planning failed", extra={"intent": rid})
            rec.lifecycle = "planningFailed"
            rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "FULFILMENTFAILED",
                                                            why=f"planning failed: {exc}")))
            self.audit.append("plan_failed", who, rid, str(exc)[:500], {"trace": trace.to_json()})
            await self._save(rec)
            return
        self.metrics.plan_seconds.observe(time.perf_counter() - t0)
        rec.plans.append(plan.id)
        self.plans[plan.id] = plan
        self.audit.append("plan", who, rid, f"{plan.status}: {plan.explanation[:400]}",
                          {"planId": plan.id, "status": plan.status, "trace": plan.trace})
        if plan.status == "refused":
            rec.lifecycle = "refused"
            rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "FULFILMENTFAILED",
                                                            why="refused: " + " ".join(plan.refusal))))
        elif plan.status == "shadow":
            rec.lifecycle = "planned"
            rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "SUSPENDED",
                                                            why="shadow mode: planned and logged, never applied")))
        else:
            rec.lifecycle = "planned"
        await self._save(rec, plan)
        if plan.status == "approved_autonomous":
            await self.apply(plan.id, "autonomous", trace)

    async def _plan(self, rec: IntentRecord, spec: IntentSpec, trace: Trace, who: str) -> Plan:
        return await make_plan(self.s, self.env, self.reg.call, rec.id, rec.text, rec.mode, spec, trace)

    # ------------------------------------------------------------------ decide, apply, roll back
    async def approve(self, pid: str, who: str, acknowledged_risk: str | None = None) -> Plan:
        """Apply an awaiting plan. A medium- or high-risk plan needs the operator to acknowledge that risk level
        (``acknowledged_risk``): the approval must see the risk it accepts."""
        p = self.plan(pid)
        if p.status != "awaiting_approval":
            raise ConflictError(f"plan {pid} is {p.status}, not awaiting approval")
        if p.risk in ("medium", "high") and acknowledged_risk != p.risk:
            raise ValidationError(f"plan {pid} is {p.risk} risk ({p.explanation.split('Risk: ')[-1][:240]}); "
                                  f"approving it needs acknowledgeRisk = \"{p.risk}\"")
        self.audit.append("approve", who, p.intent_id, f"approved at risk {p.risk}",
                          {"planId": pid, "acknowledgedRisk": acknowledged_risk, "prediction": p.prediction})
        return await self.apply(pid, who, Trace(p.intent_id))

    async def reject(self, pid: str, who: str, comment: str = "") -> Plan:
        p = self.plan(pid)
        if p.status != "awaiting_approval":
            raise ConflictError(f"plan {pid} is {p.status}, not awaiting approval")
        p.status, p.decided_by = "rejected", who
        rec = self.intents.get(p.intent_id)
        if rec is not None:
            rec.lifecycle = "rejected"
            rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "TERMINATED",
                                                            why=f"plan rejected by {who}: {comment}")))
        self.audit.append("reject", who, p.intent_id, comment or "rejected", {"planId": pid})
        await self._save(rec, p)
        return p

    async def apply(self, pid: str, who: str, trace: Trace) -> Plan:
        """Apply everything the twin scored: the plan's PRB bounds, SLA ceilings and transport bounds (one SDL
        write the xApps are notified of), plus the intent's SLA targets to A1."""
        p = self.plan(pid)
        rec = self.get(p.intent_id)
        spec = self.spec_of(rec)
        assert spec is not None
        slas = []
        for name in spec.objective.priority_slices:
            s = self.env.domain.slice(name)
            loss = next((t.value for t in spec.targets if t.slice == name and t.kpi == "packet_loss"
                         and t.condition == "IS_LESS_THAN"), None)
            p99 = next((t.value for t in spec.targets if t.slice == name and t.kpi == "p99_latency_ms"
                        and t.condition == "IS_LESS_THAN"), None)
            if loss is None and p99 is None:
                continue
            slas.append({"slice": name, "sst": s.sst, "sd": s.sd, "cells": sorted(self._area_keys(spec)),
                         "maxPacketLossRate": loss, "maxPacketDelayMs": p99})
        reps = list(self.env.history.reports)
        now_ms = round(1000 * reps[-1].t_end_s) if reps else 0
        out = await self.reg.call("apply_policy", {"plan_id": pid, "intent_id": rec.id, "plan": p.plan or
                                                   {"cells": p.cells}, "slas": slas, "valid_from_ms": now_ms},
                                  trace, ACT)
        for other in self.plans.values():  # one plan in force: the older applied ones are superseded
            if other.id != pid and other.status == "applied":
                other.status = "superseded"
                await self._save(plan=other)
        p.status, p.decided_by = "applied", who
        p.applied_sim_s = reps[-1].t_end_s if reps else 0.0
        p.trace.setdefault("apply", []).append(trace.to_json())
        rec.lifecycle = "active"
        rec.baseline = baseline_of(reps[-self.s.fulfil_reports:], spec, [s.name for s in self.env.topology.slices])
        rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "ACKNOWLEDGED",
                                                        why=f"applied by {who}; waiting for KPIs")))
        self.audit.append("apply", who, rec.id, f"plan {pid} applied (version {out.get('version')})",
                          {"planId": pid, "result": out, "trace": trace.to_json()})
        await self._save(rec, p)
        return p

    def _area_keys(self, spec: IntentSpec) -> list[str]:
        return [self.env.cell_key(c) for c in spec.context.cells] if spec.context.cells else self.env.cell_keys()

    async def rollback(self, pid: str, who: str, why: str) -> Plan:
        p = self.plan(pid)
        if p.status != "applied":
            raise ConflictError(f"plan {pid} is {p.status}, not applied")
        trace = Trace(p.intent_id)
        rec = self.intents.get(p.intent_id)
        spec = None if rec is None else self.spec_of(rec)
        pols = [f"rapp-{p.intent_id}-{n}" for n in (spec.objective.priority_slices if spec else ())]
        out = await self.reg.call("rollback", {"plan_id": pid, "a1_policies": pols}, trace, ACT)
        p.status = "rolled_back"
        self.audit.append("rollback", who, p.intent_id, why, {"planId": pid, "result": out, "trace": trace.to_json()})
        await self._save(rec, p)
        return p

    # ------------------------------------------------------------------ KPIs in -> reports
    async def on_kpm(self, report: KpmReport, message: Any = None) -> None:
        self.metrics.kpm_reports.inc()
        self.env.history.add(report, message)
        names = [s.name for s in self.env.topology.slices]
        for rec in list(self.intents.values()):
            if rec.lifecycle != "active":
                continue
            spec = self.spec_of(rec)
            p = next((self.plans[x] for x in reversed(rec.plans) if self.plans[x].status == "applied"), None)
            if spec is None or p is None or p.applied_sim_s is None:
                continue
            if spec.context.window and not spec.context.window.contains(self.time_of_day(report.t_end_s)):
                f = Fulfilment("NOT_FULFILLED", "SUSPENDED", why="outside the intent's time window")
            else:
                after = self.env.history.since(p.applied_sim_s)
                f = evaluate(spec, after, list(spec.context.cells), names, rec.baseline, self.s.fulfil_reports)
            last = rec.reports[-1] if rec.reports else {}
            rec.reports.append(self._report(rec, f, report.t_end_s))
            rec.reports = rec.reports[-50:]
            if last.get("fulfilmentStatus") != f.status or last.get("notFulfilledState") != f.state:
                self.audit.append("report", "rapp", rec.id, f"{f.status} {f.state or ''} {f.why}"[:500],
                                  {"targets": [t.__dict__ for t in f.targets]})
            await self._save(rec)

    def time_of_day(self, sim_s: float) -> str:
        h, m = (int(x) for x in self.s.clock_start.split(":"))
        minutes = (h * 60 + m + int(sim_s // 60)) % (24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    def _report(self, rec: IntentRecord, f: Fulfilment, sim_s: float | None = None) -> dict[str, Any]:
        return {"id": uuid.uuid4().hex[:12], "@type": "IntentReport", "intentId": rec.id, "creationDate": _iso(),
                "simTimeS": sim_s, "fulfilmentStatus": f.status, "notFulfilledState": f.state,
                "achievedValues": [t.__dict__ for t in f.targets], "reportsUsed": f.reports_used, "why": f.why}


def _spec_back(obj: dict[str, Any]) -> IntentSpec:
    """JSON of :meth:`IntentSpec.to_json` -> spec (evidence and notes kept)."""
    from rapps.intent_agent.compiler.spec import Evidence

    o = {**obj, "targets": obj["targets"]}
    w = obj["context"].get("window")
    spec = spec_from_json(obj["text"], {"objective": o["objective"], "targets": o["targets"],
                                        "context": {**obj["context"], "window": w},
                                        "actions": obj["actions"], "notes": obj.get("notes", [])},
                          obj.get("backend", "grammar"))
    return replace(spec, evidence=tuple(Evidence(**e) for e in obj.get("evidence", [])))


def _area_back(d: dict[str, Any]) -> Any:
    from rapps.intent_agent.observe import AreaKpis

    return AreaKpis(**d)


class IdempotencyMismatch(ValidationError):
    """An Idempotency-Key reused with another body (the API's 422, as the IETF idempotency-key draft says)."""


class QuotaError(ConflictError):
    """A tenant is at its cap of stored intents (the API's 409)."""


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _idempotency_sdl_key(who: str, key: str) -> str:
    """The SDL key of a tenant's idempotency key (hashed: any header value, fixed length, tenants apart)."""
    return "idempotency/" + hashlib.sha256(f"{who}\0{key}".encode()).hexdigest()[:32]

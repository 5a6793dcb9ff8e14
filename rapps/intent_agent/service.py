"""The intent agent: intents in, audited plans out. Compiles, plans through the tool harness (world models,
twin, guardrail must agree), keeps plans per mode, applies approved ones through the xApps' inputs (SDL plan,
A1 SLA policies) and updates the intent reports as KPIs arrive. State persists in SDL; decisions and their
traces land in the append-only audit."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from nextric.errors import ConflictError, NotFoundError, ValidationError
from rapps.intent_agent.audit import AuditLog
from rapps.intent_agent.compiler.compile import compile_intent
from rapps.intent_agent.compiler.llm import LlmCompiler
from rapps.intent_agent.compiler.spec import Clarification, CompileResult, IntentSpec, Target, spec_from_json
from rapps.intent_agent.harness.registry import Registry, ToolFailed
from rapps.intent_agent.harness.tools import Env
from rapps.intent_agent.harness.trace import Trace
from rapps.intent_agent.intents.expectations import from_expectations, to_expectations
from rapps.intent_agent.observe import area_kpis
from rapps.intent_agent.plans import build
from rapps.intent_agent.plans.model import MODES, Plan
from rapps.intent_agent.reports.fulfilment import Fulfilment, evaluate
from rapps.intent_agent.settings import IntentAgentSettings
from testbed.core.reports import KpmReport

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

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


class IntentAgent:
    def __init__(self, settings: IntentAgentSettings, env: Env, registry: Registry, audit: AuditLog,
                 llm: LlmCompiler | None = None) -> None:
        self.s, self.env, self.reg, self.audit, self.llm = settings, env, registry, audit, llm
        self.intents: dict[str, IntentRecord] = {}
        self.plans: dict[str, Plan] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Event()

    # ------------------------------------------------------------------ persistence
    async def load(self) -> None:
        ns = self.s.sdl_namespace
        for raw in (await self.env.sdl.find_and_get(ns, "intent/*")).values():
            rec = IntentRecord(**json.loads(raw))
            self.intents[rec.id] = rec
        for raw in (await self.env.sdl.find_and_get(ns, "plan/*")).values():
            p = Plan.from_json(json.loads(raw))
            self.plans[p.id] = p

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

    async def create(self, body: dict[str, Any], who: str) -> IntentRecord:
        text = str(body.get("naturalLanguage") or "").strip()
        structured = (body.get("expression") or {}).get("expressionValue", {}).get("intentExpectations")
        if not text and not structured:
            raise ValidationError("an intent needs naturalLanguage or expression.expressionValue.intentExpectations")
        mode = body.get("mode") or self.s.default_mode
        if mode not in MODES:
            raise ValidationError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
        rid = uuid.uuid4().hex[:12]
        rec = IntentRecord(rid, str(body.get("name") or text[:60] or "intent"), str(body.get("description") or ""),
                           text, mode, "acknowledged", _iso(), _iso(), {}, structured=structured)
        await self._compile_into(rec, who)
        self.intents[rid] = rec
        await self._save(rec)
        if rec.lifecycle == "planning":
            self._spawn(self.plan_intent(rid, who))
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
            rec.expectations = to_expectations(result, self.env.scenario_name)
            rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "ACKNOWLEDGED",
                                                            why="compiled; planning")))
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
            if rec.lifecycle == "planning":
                self._spawn(self.plan_intent(rid, who))
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

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------------ plan
    async def plan_intent(self, rid: str, who: str) -> None:
        rec = self.get(rid)
        spec = self.spec_of(rec)
        assert spec is not None
        trace = Trace(rid)
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
        env, call = self.env, self.reg.call
        names = [s.name for s in env.scenario.slices]
        area = list(spec.context.cells)
        await call("query_kpi", {"cells": area, "last": 4}, trace, READ)
        await call("get_config", {}, trace, READ)
        for ev in spec.evidence[:2]:
            await call("retrieve_3gpp_constraint", {"query": ev.title, "k": 1}, trace, READ)
        ceil = [{"slice": t.slice, "max_loss": t.value} for t in spec.targets
                if t.kpi == "packet_loss" and t.slice and t.condition == "IS_LESS_THAN"]
        for c in ceil:
            p99_ceiling = next((t.value for t in spec.targets if t.kpi == "p99_latency_ms"
                                and t.slice == c["slice"] and t.condition == "IS_LESS_THAN"), None)
            if p99_ceiling is not None:
                c["max_p99_ms"] = p99_ceiling
        o = spec.objective
        args = {"objective": {"scm": o.scm, "cost": o.cost, "risk": o.risk, "risk_quantile": o.risk_quantile},
                "ceilings": ceil, "seed": self.s.planner.seed}
        evidence: list[str] = []
        method = self.s.planner.method
        if method in ("rules", "uniform"):
            out = await call("plan_slicing", {**args, "method": method}, trace, PLAN)
            evidence.append(f"{out['method']} planner (configured)")
        else:
            try:
                out = await call("plan_slicing", {**args, "method": method}, trace, PLAN)
                evidence.append(f"world models (FWM + CDWM, {out['method']} planner)")
            except ToolFailed as exc:
                out = await call("plan_slicing", {**args, "method": self.s.planner.fallback_method}, trace, PLAN)
                evidence.append(f"{out['method']} planner (world models unusable: {str(exc)[:120]})")
        shaped = build.shape_shares(spec, env.scenario, env.drafts[out["draft"]])
        draft = uuid.uuid4().hex[:12]
        env.drafts[draft] = shaped
        env.drafts[draft + "/tn"] = env.drafts[out["draft"] + "/tn"]
        # what the world models predict for the plan as it will be applied (after shaping to the intent)
        fwm = await call("run_fwm", {"draft": draft}, trace, READ)
        cdwm = await call("run_cdwm", {"draft": draft, "samples": 8, "seed": 1}, trace, READ)
        if cdwm.get("available"):
            c = cdwm["scm"]
            evidence.append(f"CDWM forecast SCM {c['mean']:.2f} (90 % interval {c['p05']:.2f}-{c['p95']:.2f}, "
                            f"P(SCM = 0) {cdwm['violation_risk']:.2f})")
        if fwm.get("available"):
            w = fwm["worst"]["stress_urllc"]
            evidence.append(f"FWM: highest URLLC stress in cell {w['cell']} ({w['value']:.3f})")
        twin = await call("run_twin", {"draft": draft, "seeds": self.s.planner.twin_seeds, "seed": 1}, trace, READ)
        evidence.append(f"digital twin ({twin['rollouts']} rollouts)")
        loss, p99 = np.asarray(twin["loss"]), np.asarray(twin["p99_ms"])
        base = twin["baseline"]
        # the intent's targets plus every slice's SLA ceilings: no plan may quietly trade an SLA away
        slas = [t for s in env.domain.slices for t in (
            Target("packet_loss", "IS_LESS_THAN", s.sla_loss, slice=s.name, source="sla"),
            *((Target("p99_latency_ms", "IS_LESS_THAN", s.sla_p99_ms, slice=s.name, source="sla"),)
              if s.sla_p99_ms is not None else ()))]
        checked = replace(spec, targets=(*spec.targets, *slas))
        open_loop = float(build.target_violation(checked, loss, p99, names).mean())
        risk = float(build.harm(checked, loss, p99, np.asarray(base["loss"]), np.asarray(base["p99_ms"]),
                                names).mean())
        expected = build.impacts(names, loss, p99)
        await call("compare_estimators", {}, trace, READ)
        cell_keys = env.cell_keys()
        slice_keys = list(env.cmap.slice_keys)
        cells = build.sdl_plan(spec, env.scenario, shaped, cell_keys, slice_keys)
        cost_ratio = float(twin["cost"])  # control cost J of the plan (testbed.core.kpi.control_cost)
        checks = {ck: {sk: b["targetPct"] for sk, b in v.items()} for ck, v in cells.items()}
        g = await call("check_guardrail", {"cells": checks, "violation_probability": risk, "model": "twin",
                                           "reason": f"rApp intent {rec.id}: {rec.text[:200]}"}, trace, PLAN)
        evidence.append("guardrail" if g.get("available", True) else "guardrail (no policy service configured)")
        trace.evidence = evidence
        refusal, level, needs_approval = [], "low", False
        for v in g["verdicts"]:
            codes = {r["code"] for r in v["reasons"]}
            level = max(level, v.get("risk") or "low", key=["low", "medium", "high"].index)
            if v["decision"] == "deny":
                if codes <= {"approval_required"}:
                    needs_approval = True
                else:
                    refusal += [f"cell {v['cellId']}: {r['message']}" for r in v["reasons"]
                                if r["code"] != "approval_required"]
        refusal = list(dict.fromkeys(refusal))
        pid = uuid.uuid4().hex[:12]
        if refusal:
            status = "refused"
        elif rec.mode == "shadow":
            status = "shadow"
        elif rec.mode == "autonomous" and level == "low" and not needs_approval and g.get("available", True):
            status = "approved_autonomous"  # never without the guardrail's verdicts: else the operator decides
        else:
            status = "awaiting_approval"
        rollback_conditions = [f"{t.slice} {t.kpi} {t.condition} {t.value:g} broken for "
                               f"{self.s.fulfil_reports} KPM periods" for t in spec.targets if t.slice]
        rollback_conditions.append("the guardrail's consecutive-breach rollback (policy service) fires")
        assumptions = [f"shock regime {env.regime} (the twin's assumption)",
                       f"observations: the last {min(8, len(env.history.reports))} KPM periods",
                       "transport shares stay with the slice scheduler's steering"]
        if spec.context.window:
            assumptions.append(f"area local time at simulated t=0 is {self.s.clock_start}")
        plan = Plan(pid, rec.id, 1, rec.mode, status, out["method"], evidence, cells, assumptions, expected, risk,
                    cost_ratio, rollback_conditions,
                    build.explanation(spec, out["method"], evidence, expected, risk, cost_ratio, refusal, open_loop),
                    level,
                    g["verdicts"], refusal, trace.to_json(), time.time(),
                    alternatives=list(out.get("alternatives", [])))
        return plan

    # ------------------------------------------------------------------ decide, apply, roll back
    async def approve(self, pid: str, who: str) -> Plan:
        p = self.plan(pid)
        if p.status != "awaiting_approval":
            raise ConflictError(f"plan {pid} is {p.status}, not awaiting approval")
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
            slas.append({"slice": name, "sst": s.sst, "sd": s.sd, "cells": sorted(p.cells),
                         "maxPacketLossRate": loss, "maxPacketDelayMs": p99})
        out = await self.reg.call("apply_policy", {"plan_id": pid, "intent_id": rec.id, "cells": p.cells,
                                                   "slas": slas}, trace, ACT)
        for other in self.plans.values():  # one plan in force: the older applied ones are superseded
            if other.id != pid and other.status == "applied":
                other.status = "superseded"
                await self._save(plan=other)
        p.status, p.decided_by = "applied", who
        reps = list(self.env.history.reports)
        p.applied_sim_s = reps[-1].t_end_s if reps else 0.0
        p.trace.setdefault("apply", []).append(trace.to_json())
        rec.lifecycle = "active"
        base = area_kpis(reps[-4:], list(spec.context.cells), [s.name for s in self.env.scenario.slices])
        rec.baseline = None if base is None else base.__dict__
        rec.reports.append(self._report(rec, Fulfilment("NOT_FULFILLED", "ACKNOWLEDGED",
                                                        why=f"applied by {who}; waiting for KPIs")))
        self.audit.append("apply", who, rec.id, f"plan {pid} applied", {"planId": pid, "result": out,
                                                                       "trace": trace.to_json()})
        await self._save(rec, p)
        return p

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
    async def on_kpm(self, report: KpmReport) -> None:
        self.env.history.add(report)
        names = [s.name for s in self.env.scenario.slices]
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
                after = self.env.history.since(p.applied_sim_s)[-self.s.fulfil_reports:]
                base = None if rec.baseline is None else _area_back(rec.baseline)
                f = evaluate(spec, area_kpis(after, list(spec.context.cells), names), base, self.s.fulfil_reports)
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

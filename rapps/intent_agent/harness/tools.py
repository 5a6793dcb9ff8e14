"""The rApp's tools, bound to its environment (observations, SDL, policy service, twin service, CE selector,
models).

read: query_kpi, get_config, retrieve_3gpp_constraint, read_network, run_fwm, run_cdwm, run_twin,
compare_estimators; plan: plan_slicing, propose_plans, check_guardrail; act: apply_policy, rollback. The closed-loop
tools (read_network, propose_plans, run_twin) are in :mod:`rapps.intent_agent.harness.loop_tools`. Large values
stay in the environment (``drafts``, ``running``, ``candidates``, ``twin_runs``) and are referred to by id, so
traces stay readable.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import numpy as np

from nextric.arrays import FloatArray
from nextric.control.policy import PLAN_CHANNEL, decode_plan, plan_from_json
from nextric.errors import ValidationError
from nextric.sdl.api import SdlBackend
from nextric.topology import Topology
from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.spec import Target
from rapps.intent_agent.harness.registry import Registry, Tool, obj
from rapps.intent_agent.observe import History, area_kpis

A1_SLA_TYPE = "ORAN_SliceSLATarget_1.0.0"
_NUM = {"type": "number"}
_STR = {"type": "string"}
_ANY_OBJ = {"type": "object"}


@dataclass
class Env:
    topology: Topology  #: the network as the twin service (or an inventory file) describes it
    domain: Domain
    kb: KnowledgeBase
    history: History
    sdl: SdlBackend
    sdl_namespace: str
    plan_key: str
    regime: str
    policy: httpx.AsyncClient | None = None
    ce: httpx.AsyncClient | None = None
    twin: Any = None  #: nextric.twin.v1 DigitalTwinStub (async; None: no twin service)
    slice_namespace: str = "xapp.slice_scheduler"
    steering_namespace: str = "xapp.transport_steering"
    drafts: dict[str, FloatArray] = field(default_factory=dict)
    running: dict[str, Any] = field(default_factory=dict)  #: read_network results by id
    candidates: dict[str, Any] = field(default_factory=dict)  #: propose_plans results by id
    specs: dict[str, Any] = field(default_factory=dict)  #: intent id -> compiled spec being planned
    twin_runs: dict[str, Any] = field(default_factory=dict)  #: run_twin results by id
    models: Any = None  #: WorldModels once loaded (None: not tried; False: unusable)
    models_error: str = ""
    raster: Any = None  #: the world models' CityRaster of the scenario, built on first use
    planner_seed: int = 0

    def cell_keys(self) -> list[str]:
        return [c.key for c in self.topology.cells]

    def cell_key(self, cell_id: int) -> str:
        return self.topology.cell(cell_id).key

    def need_twin(self) -> Any:
        if self.twin is None:
            raise ValidationError("no twin service: the rApp cannot roll plans out (set NEXTRIC_RAPP_E2__TARGET)")
        return self.twin

    def sla_targets(self, slice_name: str) -> list[Target]:
        """A slice's SLA ceilings as targets (no plan may quietly trade an SLA away)."""
        s = self.domain.slice(slice_name)
        out = [Target("packet_loss", "IS_LESS_THAN", s.sla_loss, slice=s.name, source="sla")]
        if s.sla_p99_ms is not None:
            out.append(Target("p99_latency_ms", "IS_LESS_THAN", s.sla_p99_ms, slice=s.name, source="sla"))
        return out


def load_models(env: Env) -> Any:
    """The world models (loaded once), or False when they are missing or fail their cards (``env.models_error``
    says why)."""
    if env.models is None:
        try:
            from rapps.intent_agent.worldmodels.serving import WorldModels

            wm = WorldModels()
            wm.require_usable()  # a model that fails its own card is not evidence
            env.models = wm
        except Exception as exc:  # missing artefact, bad or failing card: the harness carries on with the twin
            env.models, env.models_error = False, f"{type(exc).__name__}: {exc}"
    return env.models


def build_registry(env: Env) -> Registry:
    reg = Registry()
    names = [s.name for s in env.topology.slices]

    async def query_kpi(a: dict[str, Any]) -> dict[str, Any]:
        reps = list(env.history.reports)[-int(a.get("last", 4)):]
        k = area_kpis(reps, a.get("cells", []), names)
        if k is None:
            return {"available": False, "reports": 0}
        return {"available": True, "reports": k.n_reports, "loss": k.loss, "p99_ms": k.p99_ms,
                "throughput_mbps": k.throughput_mbps, "prb_use": k.prb_use,
                "t_end_s": reps[-1].t_end_s if reps else 0.0}

    async def get_config(a: dict[str, Any]) -> dict[str, Any]:
        raw = (await env.sdl.get(env.sdl_namespace, [env.plan_key])).get(env.plan_key)
        return {"scenario": env.topology.scenario, "cells": list(env.domain.cells), "zones": {k: list(v) for k, v in
                env.domain.zones.items()}, "slices": [{"name": s.name, "key": s.key, "slaLoss": s.sla_loss,
                "slaP99Ms": s.sla_p99_ms} for s in env.domain.slices],
                "currentPlan": json.loads(raw) if raw else None}

    async def retrieve(a: dict[str, Any]) -> dict[str, Any]:
        hits = env.kb.search(a["query"], int(a.get("k", 3)))
        return {"hits": [{"id": h.passage.id, "source": h.passage.source, "title": h.passage.title,
                          "text": h.passage.text, "score": round(h.score, 3)} for h in hits]}

    async def run_model(a: dict[str, Any], which: str) -> dict[str, Any]:
        """FWM fields or CDWM forecast of a draft plan, conditioned on the observed KPM (not the network)."""
        m = await asyncio.to_thread(load_models, env)
        if m is False:
            return {"available": False, "reason": env.models_error}
        prb = env.drafts[a["draft"]]
        tn = env.drafts.get(a["draft"] + "/tn")
        if tn is None:
            t = env.topology
            tn = np.full((prb.shape[0], t.n_links, t.n_slices), 1.0 / t.n_slices)
        from rapps.intent_agent.planner.evidence import Observed, dynamics_evidence, field_evidence

        def predict() -> dict[str, Any]:
            if env.raster is None:
                from rapps.intent_agent.worldmodels.features import CityRaster

                env.raster = CityRaster.build(env.topology)
            obs = Observed.of(env.topology, env.raster, list(env.history.reports)[-8:], env.regime)
            if which == "fwm":
                return field_evidence(m, obs, prb, tn, int(a.get("step", 0)))
            return dynamics_evidence(m, obs, prb, tn, int(a.get("samples", 8)), int(a.get("seed", 0)))

        desc = m.describe()
        out = await asyncio.to_thread(predict)
        return {"available": True, "model": which, **out, "_versions": {which: desc[which]},
                "_cards": [f"{which}.card.json"]}

    async def compare_estimators(a: dict[str, Any]) -> dict[str, Any]:
        if env.ce is None:
            return {"available": False, "reason": "no CE selector configured"}
        try:
            r = await env.ce.get("/ce/v1/groups")
            r.raise_for_status()
            return {"available": True, "groups": r.json()}
        except (httpx.HTTPError, ValueError) as exc:
            return {"available": False, "reason": str(exc)}

    async def plan_slicing(a: dict[str, Any]) -> dict[str, Any]:
        from rapps.intent_agent.planner.api import (
            ActionBounds,
            ObjectiveWeights,
            PlanRequest,
            SliceCeiling,
            plan_slicing,
        )
        from rapps.intent_agent.planner.twin import BlockingTwin

        o = a["objective"]
        twin = BlockingTwin(env.need_twin(), asyncio.get_running_loop())
        req = PlanRequest(
            topology=env.topology, kpm_history=tuple(list(env.history.messages)[-8:]), regime=env.regime,
            objective=ObjectiveWeights(o["scm"], o["cost"], o["risk"], o["risk_quantile"]),
            ceilings=tuple(SliceCeiling(c["slice"], c["max_loss"], c.get("max_p99_ms")) for c in a["ceilings"]),
            bounds=ActionBounds(max_row_change=float(a.get("max_row_change", 2.0))),
            seed=int(a.get("seed", env.planner_seed)), method=a["method"])
        models = None
        if a["method"] not in ("rules", "uniform"):
            m = await asyncio.to_thread(load_models, env)
            if m is False:
                raise ValidationError(f"world models unusable: {env.models_error}")
            models = m
        res = await asyncio.to_thread(plan_slicing, req, twin, models)
        draft = uuid.uuid4().hex[:12]
        env.drafts[draft] = np.asarray(res.prb, dtype=np.float64)
        env.drafts[draft + "/tn"] = np.asarray(res.tn, dtype=np.float64)
        exp = res.expected
        # the runners-up the planner scored, best first: what the chosen plan was ranked against
        scored = sorted((c for c in res.trace.candidates if c.score is not None and c.verdict != "chosen"),
                        key=lambda c: -float(c.score or 0.0))
        alternatives = [{"rank": i + 2, "name": c.name, "family": c.family, "verdict": c.verdict,
                         "utility": round(float(c.score or 0.0), 4), "why": c.why} for i, c in enumerate(scored[:3])]
        chosen = next((c for c in res.trace.candidates if c.verdict == "chosen"), None)
        return {"draft": draft, "method": res.method, "fallback": bool(res.fallback), "why": res.trace.why,
                "chosen": None if chosen is None else {"name": chosen.name, "family": chosen.family,
                                                       "utility": None if chosen.score is None
                                                       else round(float(chosen.score), 4)},
                "alternatives": alternatives, "candidates_scored": len(scored) + (chosen is not None),
                "steps": list(res.trace.steps)[:20], "twin_calls": int(res.twin_calls),
                "decision_s": float(res.decision_s),
                "expected": None if exp is None else {"scm": exp.scm, "scm_lo": exp.scm_lo, "scm_hi": exp.scm_hi,
                                                      "violation_risk": exp.violation_risk,
                                                      "cost_reduction": exp.cost_reduction},
                "_versions": {"planner": res.method, **{str(k): str(v) for k, v in res.models.items()}},
                "_cards": [str(k) for k in res.models]}

    async def check_guardrail(a: dict[str, Any]) -> dict[str, Any]:
        if env.policy is None:
            return {"available": False, "verdicts": []}
        out = []
        for cell_id, ratios in a["cells"].items():
            action = {"kind": "slice_prb_quota", "cellId": cell_id, "policies": [
                {"member": _member(k), **_ratio(v)} for k, v in ratios.items()]}
            body: dict[str, Any] = {"action": action, "reason": a.get("reason", "rApp plan check")[:500]}
            if a.get("prediction") is not None:
                body["prediction"] = a["prediction"]
            r = await env.policy.post("/guardrail/v1/check", json=body)
            if r.status_code >= 400:
                raise ValidationError(f"guardrail check answered {r.status_code}: {r.text[:300]}")
            v = r.json()
            out.append({"cellId": cell_id, "decision": v["decision"], "risk": v.get("risk"),
                        "reasons": [{"code": x["code"], "message": x["message"]} for x in v.get("reasons", [])],
                        "verdictId": v.get("verdictId"), "auditId": v.get("auditId")})
        return {"available": True, "verdicts": out}

    async def apply_policy(a: dict[str, Any]) -> dict[str, Any]:
        """Write the whole plan (PRB bounds, SLA ceilings, transport bounds) and announce it: both xApps reload it
        on the notification; the intent's SLA targets also go to A1 (the record other consumers read)."""
        ns, key = env.sdl_namespace, env.plan_key
        old = (await env.sdl.get(ns, [key])).get(key)
        version = decode_plan(old).version + 1
        plan = replace(plan_from_json(a["plan"]), plan_id=a["plan_id"], intent_id=a["intent_id"], version=version,
                       valid_from_ms=a.get("valid_from_ms"))
        await env.sdl.set_and_publish(ns, {key: plan.encode(), f"previous/{a['plan_id']}": old or b"{}"},
                                      PLAN_CHANNEL, str(version).encode())
        a1 = []
        if env.policy is not None:
            for sl in a.get("slas", []):
                pid = f"rapp-{a['intent_id']}-{sl['slice']}"
                body = {"scope": {"sliceId": {"plmnId": {"mcc": "001", "mnc": "01"}, "sst": sl["sst"],
                                              **({"sd": sl["sd"]} if sl.get("sd") else {})},
                                  "cellIdList": sl["cells"]},
                        "sliceSlaObjectives": {k: v for k, v in (("maxPacketDelayMs", sl.get("maxPacketDelayMs")),
                                                                  ("maxPacketLossRate", sl.get("maxPacketLossRate")))
                                               if v is not None}}
                r = await env.policy.put(f"/A1-P/v2/policytypes/{A1_SLA_TYPE}/policies/{pid}", json=body)
                a1.append({"policyId": pid, "status": r.status_code, "detail": r.text[:300] if r.status_code >= 400
                           else ""})
        return {"sdlKey": f"{ns}/{key}", "version": version, "cells": len(plan.cells), "links": len(plan.links),
                "a1": a1}

    async def rollback(a: dict[str, Any]) -> dict[str, Any]:
        """Restore the plan in force before (PRB and transport bounds together) and remove the plan's A1 SLAs."""
        ns, key = env.sdl_namespace, env.plan_key
        prev_key = f"previous/{a['plan_id']}"
        got = await env.sdl.get(ns, [key, prev_key])
        version = decode_plan(got.get(key)).version + 1
        prev = decode_plan(got.get(prev_key))
        restored = replace(prev, version=version)
        await env.sdl.set_and_publish(ns, {key: restored.encode()}, PLAN_CHANNEL, str(version).encode())
        removed = []
        if env.policy is not None:
            for pid in a.get("a1_policies", []):
                r = await env.policy.delete(f"/A1-P/v2/policytypes/{A1_SLA_TYPE}/policies/{pid}")
                removed.append({"policyId": pid, "status": r.status_code})
        return {"restored": prev.plan_id is not None, "version": version, "a1Removed": removed}

    cells_prop = {"type": "array", "items": {"type": "integer"}}
    reg.register(Tool("query_kpi", "Per-slice KPIs (loss, p99, throughput, PRB use) of an area over the last "
                      "KPM periods", "read", obj({"cells": cells_prop, "last": {"type": "integer", "minimum": 1}}),
                      obj({"available": {"type": "boolean"}}, ("available",)), query_kpi))
    reg.register(Tool("get_config", "Scenario slices/SLAs, zones, cells and the plan in force", "read", obj({}),
                      obj({"slices": {"type": "array"}}, ("slices",)), get_config))
    reg.register(Tool("retrieve_3gpp_constraint", "BM25 retrieval over the curated standards knowledge base",
                      "read", obj({"query": _STR, "k": {"type": "integer", "minimum": 1, "maximum": 10}}, ("query",)),
                      obj({"hits": {"type": "array"}}, ("hits",)), retrieve))

    async def run_fwm(a: dict[str, Any]) -> dict[str, Any]:
        return await run_model(a, "fwm")

    async def run_cdwm(a: dict[str, Any]) -> dict[str, Any]:
        return await run_model(a, "cdwm")

    reg.register(Tool("run_fwm", "Field world model (ONNX): per-cell field features (capacity, load, stress, "
                      "transport bottleneck, PRB use, SINR) of a draft plan's action at one slow step", "read",
                      obj({"draft": _STR, "step": {"type": "integer", "minimum": 0}}, ("draft",)),
                      obj({"available": {"type": "boolean"}}, ("available",)), run_fwm))
    reg.register(Tool("run_cdwm", "Control/dynamics world model (ONNX RSSM ensemble): a draft plan's horizon "
                      "SCM and per-slice loss / p99 with 90 % intervals, violation risk, ensemble disagreement",
                      "read", obj({"draft": _STR, "samples": {"type": "integer", "minimum": 1, "maximum": 64},
                                   "seed": {"type": "integer"}}, ("draft",)),
                      obj({"available": {"type": "boolean"}}, ("available",)), run_cdwm))
    reg.register(Tool("compare_estimators", "Ask the CE selector which channel estimator each group uses", "read",
                      obj({}), obj({"available": {"type": "boolean"}}, ("available",)), compare_estimators))
    reg.register(Tool("plan_slicing", "Slicing planner (world models + twin): K-step PRB/transport shares",
                      "plan", obj({"method": _STR, "objective": _ANY_OBJ, "ceilings": {"type": "array"},
                                   "max_row_change": _NUM, "seed": {"type": "integer"}},
                                  ("method", "objective", "ceilings")),
                      obj({"draft": _STR, "method": _STR}, ("draft", "method")), plan_slicing))
    reg.register(Tool("check_guardrail", "Guardrail verdict per cell for the plan's PRB ratios (audited)", "plan",
                      obj({"cells": _ANY_OBJ, "prediction": {"type": ["object", "null"]}, "reason": _STR},
                          ("cells",)),
                      obj({"verdicts": {"type": "array"}}, ("verdicts",)), check_guardrail))
    reg.register(Tool("apply_policy", "Write the plan (PRB bounds, SLA ceilings, transport bounds) to SDL and "
                      "announce it to the xApps; the SLA targets to A1", "act",
                      obj({"plan_id": _STR, "intent_id": _STR, "plan": _ANY_OBJ, "slas": {"type": "array"},
                           "valid_from_ms": {"type": ["integer", "null"]}}, ("plan_id", "intent_id", "plan")),
                      obj({"sdlKey": _STR}, ("sdlKey",)), apply_policy))
    reg.register(Tool("rollback", "Restore the plan in force before (PRB and transport bounds together) and remove "
                      "the plan's A1 policies", "act",
                      obj({"plan_id": _STR, "a1_policies": {"type": "array", "items": _STR}}, ("plan_id",)),
                      obj({"restored": {"type": "boolean"}}, ("restored",)), rollback))
    from rapps.intent_agent.harness.loop_tools import register_loop_tools

    register_loop_tools(reg, env)
    return reg


def _ratio(v: Any) -> dict[str, int]:
    """A min ratio (work-conserving: max 100, nothing dedicated) or a full (dedicated, min, max) triple."""
    if isinstance(v, list | tuple):
        return {"dedicatedPrbRatio": int(v[0]), "minPrbRatio": int(v[1]), "maxPrbRatio": int(v[2])}
    return {"minPrbRatio": int(v), "maxPrbRatio": 100, "dedicatedPrbRatio": 0}


def _member(slice_key: str) -> dict[str, Any]:
    sst, _, sd = slice_key.partition("-")
    return {"sst": int(sst), **({"sd": sd} if sd else {})}

"""How the agent plans one intent, through its tools (each call traced and audited):

1. observe: ``query_kpi`` (the area), ``get_config``, the standards the compiler cited, ``read_network`` (what runs:
   the plan in force, the control laws as the xApps publish them, the controllers' state, transport alarms);
2. propose: the world-model planner (``plan_slicing``; its shares become one candidate) and ``propose_plans``
   (bounds for the running laws in the intent's area: SLA ceilings, transport guarantees, PRB guarantees);
3. judge: ``run_twin`` rolls the status quo and every candidate out in the closed-loop twin (the laws running
   inside each plan, from the observed state, common random numbers) and picks the candidate that most often meets
   the intent's goals without harming what the status quo keeps; ``run_fwm`` / ``run_cdwm`` say what the world
   models predict for the shares the laws committed under it (evidence, with their cards' verdicts);
4. gate: ``check_guardrail`` for the area's cells with the twin's absolute violation probability, the harm against
   the status quo and the expected effect on the goal: refused when harmful or when no measurable effect is
   expected; high risk needs an operator who sees the risk.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from nextric.control.policy import ControlPlan
from nextric.twin.codec import from_tensor
from rapps.intent_agent.compiler.spec import IntentSpec
from rapps.intent_agent.harness.loop_tools import intent_goals
from rapps.intent_agent.harness.registry import ToolFailed
from rapps.intent_agent.harness.tools import Env, load_models
from rapps.intent_agent.harness.trace import Trace
from rapps.intent_agent.plans import build
from rapps.intent_agent.plans.effect import Assessment, target_name
from rapps.intent_agent.plans.model import Plan
from rapps.intent_agent.settings import IntentAgentSettings

READ, PLAN = frozenset({"read"}), frozenset({"read", "plan"})
Call = Callable[[str, dict[str, Any], Trace, frozenset[str]], Awaitable[dict[str, Any]]]
UNITS = {"packet_loss": "fraction", "p99_latency_ms": "ms", "throughput_mbps": "Mbit/s",
         "resource_cost": "ratio to what runs now", "energy_cost": "ratio to what runs now"}


async def make_plan(s: IntentAgentSettings, env: Env, call: Call, intent_id: str, text: str, mode: str,
                    spec: IntentSpec, trace: Trace) -> Plan:
    names = [x.name for x in env.topology.slices]
    area = list(spec.context.cells)
    await call("query_kpi", {"cells": area, "last": 4}, trace, READ)
    await call("get_config", {}, trace, READ)
    for ev in spec.evidence[:2]:
        await call("retrieve_3gpp_constraint", {"query": ev.title, "k": 1}, trace, READ)
    net = await call("read_network", {}, trace, READ)
    evidence: list[str] = []
    draft, planner = await _world_model_proposal(s, env, call, spec, trace, evidence)
    env.specs[intent_id] = spec
    props = await call("propose_plans", {"intent": intent_id, "running": net["running"], "draft": draft,
                                         "planner": planner}, trace, PLAN)
    tw = await call("run_twin", {"intent": intent_id, "running": net["running"], "candidates": props["candidates"],
                                 "seeds": s.planner.twin_seeds, "seed": 1}, trace, READ)
    evidence.append(f"closed-loop digital twin ({tw['rollouts']} rollouts: status quo + {len(props['plans'])} "
                    f"candidate plans, the control laws running inside each)")
    out, ass, resp = env.twin_runs[tw["twin"]]
    best = int(tw["chosen"])
    cand = env.candidates[props["candidates"]][best - 1]
    await _world_model_evidence(env, call, resp, best, trace, evidence)
    goals = intent_goals(env, spec)
    effects = [_effect_json(target_name(g), g.kpi, ass, best) for g in goals]
    primary = effects[0] if effects else None
    running = env.running[net["running"]]
    checks = _guard_cells(env, cand.plan, running.state.ratio_pct, area)
    prediction: dict[str, Any] = {"slaViolationProbability": float(ass.violation[best]),
                                  "harmProbability": float(ass.harm[best]), "model": "closed-loop twin"}
    attainment = float(ass.hold[best])
    if primary is not None:
        prediction["expectedEffect"] = {"target": primary["target"], "mean": primary["benefit"]["mean"],
                                        "lo": primary["benefit"]["lo"], "hi": primary["benefit"]["hi"],
                                        "unit": primary["unit"]}
    g = await call("check_guardrail", {"cells": checks, "prediction": prediction,  # what the gate reads
                                       "reason": f"rApp intent {intent_id}: {text[:200]}"}, trace, PLAN)
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
                refusal += [r["message"] if r["code"] in ("no_effect_expected", "predicted_harm",
                                                          "predicted_sla_violation")
                            else f"cell {v['cellId']}: {r['message']}" for r in v["reasons"]
                            if r["code"] != "approval_required"]
    refusal = list(dict.fromkeys(refusal))
    if refusal:
        status = "refused"
    elif mode == "shadow":
        status = "shadow"
    elif mode == "autonomous" and level == "low" and not needs_approval and g.get("available", True):
        status = "approved_autonomous"  # never without the guardrail's verdicts: else the operator decides
    else:
        status = "awaiting_approval"
    impacts = build.impacts(names, out.loss[best], out.p99_ms[best])
    rollback_conditions = [f"{t.slice} {t.kpi} {t.condition} {t.value:g} broken for {s.fulfil_reports} KPM periods"
                           for t in spec.targets if t.slice]
    rollback_conditions.append("the guardrail's consecutive-breach rollback (policy service) fires")
    assumptions = [f"shock regime {env.regime} (the twin's assumption)",
                   f"observations: the last {min(8, len(env.history.reports))} KPM periods",
                   "the slice scheduler and the transport steering keep running inside the plan's bounds",
                   *running.notes]
    if spec.context.window:
        assumptions.append(f"area local time at simulated t=0 is {s.clock_start}")
    alternatives = [{"rank": i + 1, **row} for i, row in enumerate(
        sorted((r for j, r in enumerate(tw["candidates"]) if j not in (0, best)),
               key=lambda r: (-r["hold"], r["harm"], r["violation"])))][:4]
    explanation = build.explanation(spec, cand.name, cand.why, evidence, impacts, effects, tw["candidates"][0],
                                    {**prediction, "attainment": attainment}, refusal)
    return Plan(uuid.uuid4().hex[:12], intent_id, 1, mode, status, f"closed-loop twin over {cand.family} plans",
                evidence, cand.plan.to_json()["cells"], assumptions, impacts, float(ass.violation[best]),
                float(ass.cost[best]), rollback_conditions, explanation, level, g["verdicts"], refusal,
                trace.to_json(), time.time(), alternatives=alternatives, plan=cand.plan.to_json(),
                effects=effects, prediction={**prediction, "attainment": attainment}, candidate=cand.name)


async def _world_model_proposal(s: IntentAgentSettings, env: Env, call: Call, spec: IntentSpec, trace: Trace,
                                evidence: list[str]) -> tuple[str | None, str]:
    """The planner's shares, shaped to the intent (a draft id) and the method that made them: the world-model
    planner, or its fallback (the rule planner) when the world models are unusable (missing, outside their cards'
    validity range, or failing their cards' own criteria), as the evidence then says."""
    ceil = [{"slice": t.slice, "max_loss": t.value} for t in spec.targets
            if t.kpi == "packet_loss" and t.slice and t.condition == "IS_LESS_THAN"]
    o = spec.objective
    args = {"objective": {"scm": o.scm, "cost": o.cost, "risk": o.risk, "risk_quantile": o.risk_quantile},
            "ceilings": ceil, "seed": s.planner.seed}
    method = s.planner.method
    models = False if method in ("rules", "uniform") else await asyncio.to_thread(load_models, env)
    if method in ("rules", "uniform"):
        out = await call("plan_slicing", {**args, "method": method}, trace, PLAN)
        evidence.append(f"{method} planner (configured): its shares are one candidate")
    elif models is False:  # known unusable (missing, or failing its card): straight to the fallback, saying why
        out = await call("plan_slicing", {**args, "method": s.planner.fallback_method}, trace, PLAN)
        evidence.append(f"{out['method']} planner, the fallback: world models unusable ({env.models_error[:240]})")
    else:
        try:
            out = await call("plan_slicing", {**args, "method": method}, trace, PLAN)
            evidence.append(f"world-model planner ({out['method']}): its shares are one candidate")
        except ToolFailed as exc:
            out = await call("plan_slicing", {**args, "method": s.planner.fallback_method}, trace, PLAN)
            evidence.append(f"{out['method']} planner, the fallback: world models unusable ({str(exc)[:240]})")
    shaped = build.shape_shares(spec, env.topology, env.drafts[out["draft"]])
    draft = uuid.uuid4().hex[:12]
    env.drafts[draft] = shaped
    env.drafts[draft + "/tn"] = env.drafts[out["draft"] + "/tn"]
    return draft, str(out["method"])


async def _world_model_evidence(env: Env, call: Call, resp: Any, best: int, trace: Trace,
                                evidence: list[str]) -> None:
    """FWM and CDWM on the shares the laws committed under the chosen plan in the twin (mean over seeds)."""
    prb = from_tensor(resp.committed_prb, "committed_prb", 4)[best]
    tn = from_tensor(resp.committed_tn, "committed_tn", 4)[best]
    draft = uuid.uuid4().hex[:12]
    env.drafts[draft] = np.clip(prb / np.maximum(prb.sum(-1, keepdims=True), 1.0), 0.0, 1.0)
    env.drafts[draft + "/tn"] = np.clip(tn, 0.0, 1.0)
    fwm = await call("run_fwm", {"draft": draft}, trace, READ)
    cdwm = await call("run_cdwm", {"draft": draft, "samples": 8, "seed": 1}, trace, READ)
    if cdwm.get("available"):
        c = cdwm["scm"]
        evidence.append(f"CDWM on the committed shares: SCM {c['mean']:.2f} (90 % interval {c['p05']:.2f}-"
                        f"{c['p95']:.2f})")
    else:
        evidence.append(f"CDWM not used: {cdwm.get('reason', 'unusable')}")
    if fwm.get("available"):
        w = fwm["worst"]["stress_urllc"]
        evidence.append(f"FWM: highest URLLC stress in cell {w['cell']} ({w['value']:.3f})")
    else:
        evidence.append(f"FWM not used: {fwm.get('reason', 'unusable')}")


def _effect_json(name: str, kpi: str, ass: Assessment, i: int) -> dict[str, Any]:
    v = ass.values[name]
    b = ass.effects[name][i]
    return {"target": name, "unit": UNITS.get(kpi, ""), "statusQuo": float(np.mean(v[0])), "plan": float(np.mean(v[i])),
            "benefit": {"mean": b.mean, "lo": b.lo, "hi": b.hi}, "measurable": bool(b.lo > 0)}


def _guard_cells(env: Env, plan: ControlPlan, ratio_pct: Any, area: list[int]) -> dict[str, dict[str, list[int]]]:
    """Per area cell, the RRMPolicyRatio (dedicated, min, max) the plan leads to at least: today's ratios, with a min
    raised to the plan's lower bound where it sets a higher one (others scaled down if the mins would pass 100 %),
    a max lowered to the plan's cap."""
    topo = env.topology
    out: dict[str, dict[str, list[int]]] = {}
    for ci, c in enumerate(topo.cells):
        if area and c.cell_id not in area:
            continue
        bounds = plan.cells.get(c.key, {})
        now = {k: [round(float(x)) for x in ratio_pct[ci, j]] for j, k in enumerate(topo.slice_keys)}
        raised = {k for k in now if k in bounds and bounds[k].lower_pct > now[k][1]}
        for k in raised:
            now[k][1] = bounds[k].lower_pct
        rest = [k for k in now if k not in raised]
        room = 100 - sum(now[k][1] for k in raised)
        total = sum(now[k][1] for k in rest)
        scale = min(1.0, room / total) if total > 0 else 1.0
        for k in rest:
            now[k][1] = int(now[k][1] * scale)
        for k, (ded, mn, mx) in now.items():
            cap = bounds[k].max_pct if k in bounds else mx
            mn = min(mn, cap)
            now[k] = [min(ded, mn), mn, max(mn, min(mx, cap))]
        out[c.key] = now
    return out

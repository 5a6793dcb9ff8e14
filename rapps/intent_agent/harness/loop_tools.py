"""The harness tools that plan against what runs: ``read_network`` (the plan, the laws and the controllers'
state in force, from SDL), ``propose_plans`` (candidate bounds for an intent, :mod:`plans.candidates`) and
``run_twin`` (the closed-loop twin over gRPC: the status quo and the candidates under common random numbers, judged
by :mod:`plans.effect`). Large values stay in the environment and are referred to by id."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import numpy as np

from nextric.control.batch import plans_to_batch
from nextric.errors import ValidationError
from nextric.twin.codec import from_tensor, laws_to_proto, policies_to_proto, state_to_proto
from nextric.twin.v1 import twin_pb2
from rapps.intent_agent.compiler.spec import Target
from rapps.intent_agent.harness.registry import Registry, Tool, obj
from rapps.intent_agent.harness.tools import Env
from rapps.intent_agent.network import Running, read_running
from rapps.intent_agent.plans.candidates import Candidate, Observed, candidates
from rapps.intent_agent.plans.effect import TwinOutcome, assess, choose, goals_of

SIMULATOR = "nextric twin service (nextric.twin.v1 Rollout, closed loop)"
_STR = {"type": "string"}
HISTORY_REPORTS = 32  #: KPM periods the twin is built from (at most; 8 min of 15-s periods)


def _outcome(resp: twin_pb2.RolloutResponse) -> TwinOutcome:
    return TwinOutcome(from_tensor(resp.scm, "scm", 2), from_tensor(resp.loss, "loss", 3),
                       from_tensor(resp.p99_ms, "p99_ms", 3), from_tensor(resp.seed_cost, "seed_cost", 2),
                       from_tensor(resp.cell_offered_mbps, "cell_offered_mbps", 5),
                       from_tensor(resp.cell_thp_mbps, "cell_thp_mbps", 5), from_tensor(resp.cell_loss, "cell_loss", 5),
                       from_tensor(resp.cell_p99_ms, "cell_p99_ms", 5))


def register_loop_tools(reg: Registry, env: Env) -> None:
    async def read_network(a: dict[str, Any]) -> dict[str, Any]:
        topo = env.topology
        run = await read_running(env.sdl, topo, env.sdl_namespace, env.plan_key, env.slice_namespace,
                                 env.steering_namespace)
        rid = uuid.uuid4().hex[:12]
        env.running[rid] = run
        return {"running": rid, "plan": run.plan.to_json(), "linksDown": [lid for lid, up in
                                                                        zip(topo.link_ids, run.link_up, strict=True)
                                                                        if not up],
                "laws": {"slicePeriodSteps": run.laws.slice_period_steps,
                         "transportPeriodSteps": run.laws.transport_period_steps,
                         "maxStepPct": run.laws.allocator.max_step_pct},
                "notes": run.notes}

    async def propose_plans(a: dict[str, Any]) -> dict[str, Any]:
        topo = env.topology
        run: Running = env.running[a["running"]]
        spec = env.specs[a["intent"]]
        goals = intent_goals(env, spec)
        if not goals:
            raise ValidationError("the intent has no target the twin can check (a slice's loss, p99 or throughput)")
        use = _prb_use(env, topo, list(spec.context.cells))
        obs = Observed(run.link_offered, run.link_capacity, use)
        draft = a.get("draft")
        planner = None if not draft else (env.drafts[draft], env.drafts[draft + "/tn"])
        cands = candidates(goals, spec.context.cells, topo, run.plan, obs, run.laws.transport.margin, planner,
                           spec.actions, str(a.get("planner") or "world models"))
        cid = uuid.uuid4().hex[:12]
        env.candidates[cid] = cands
        return {"candidates": cid, "plans": [{"name": c.name, "family": c.family, "why": c.why} for c in cands],
                "goals": [f"{t.slice}.{t.kpi} {t.condition} {t.value:g}" for t in goals],
                "areaLinks": list(topo.area_links(spec.context.cells))}

    async def run_twin(a: dict[str, Any]) -> dict[str, Any]:
        topo = env.topology
        twin = env.need_twin()
        msgs = list(env.history.messages)[-HISTORY_REPORTS:]
        if not msgs:
            raise ValidationError("no KPM observed yet: the twin is built from observations only")
        run: Running = env.running[a["running"]]
        cands: list[Candidate] = env.candidates[a["candidates"]]
        spec = env.specs[a["intent"]]
        now_ms = round(1000 * env.history.reports[-1].t_end_s) if env.history.reports else 0
        plans = [run.plan, *(c.plan for c in cands)]
        batch = plans_to_batch(plans, topo.cell_keys, topo.link_ids, run.defaults, now_ms)
        seeds, seed = int(a.get("seeds", 8)), int(a.get("seed", 0))
        req = twin_pb2.RolloutRequest(
            kpm_history=msgs, link_up=[bool(x) for x in run.link_up], shocks=env.regime, n_seeds=seeds, seed=seed,
            policies=policies_to_proto(batch), initial=state_to_proto(run.state),
            laws=laws_to_proto(run.laws, round(topo.fast_step_s * 1000)))
        resp = await twin.Rollout(req, timeout=120.0)
        out = _outcome(resp)
        goals = intent_goals(env, spec)
        targets = list(dict.fromkeys([*spec.targets, *goals]))
        ass = await asyncio.to_thread(assess, out, topo, targets, goals, spec.context.cells)
        best = choose(ass, a.get("harm_limit", 0.2))
        tid = uuid.uuid4().hex[:12]
        env.twin_runs[tid] = (out, ass, resp)
        names = ["status quo", *(c.name for c in cands)]
        rows = []
        for i, name in enumerate(names):
            rows.append({"name": name, "scm": round(float(ass.scm[i]), 4), "hold": round(float(ass.hold[i]), 3),
                         "violation": round(float(ass.violation[i]), 3), "harm": round(float(ass.harm[i]), 3),
                         "cost": round(float(ass.cost[i]), 4),
                         "breaks": {k: round(float(v[i]), 3) for k, v in ass.breaks.items() if v[i] > 0},
                         "goals": {g: {"value": round(float(np.mean(ass.values[g][i])), 5),
                                       "benefit": {k: round(v, 5) for k, v in ass.effects[g][i].to_json().items()}}
                                   for g in ass.effects}})
        return {"twin": tid, "chosen": best, "candidates": rows, "seeds": seeds, "rollouts": int(resp.rollouts),
                "_versions": {"twin": SIMULATOR, "regime": env.regime},
                "_cards": ["nextric.twin.v1 closed-loop rollout (testbed/closed_loop.py)"]}

    reg.register(Tool("read_network", "What runs now, from SDL: the plan, the control laws' parameters, the "
                      "controllers' state and the transport alarms", "read", obj({}),
                      obj({"running": {"type": "string"}}, ("running",)), read_network))
    reg.register(Tool("propose_plans", "Candidate plans (bounds for the running control laws) for an intent",
                      "plan", obj({"intent": {"type": "string"}, "running": {"type": "string"},
                                   "draft": {"type": ["string", "null"]}, "planner": _STR}, ("intent", "running")),
                      obj({"candidates": {"type": "string"}, "plans": {"type": "array"}}, ("candidates", "plans")),
                      propose_plans))
    reg.register(Tool("run_twin", "Closed-loop digital twin: the status quo and each candidate plan with the "
                      "control laws running inside it, from the observed state, under common random numbers",
                      "read", obj({"intent": {"type": "string"}, "running": {"type": "string"},
                                   "candidates": {"type": "string"},
                                   "seeds": {"type": "integer", "minimum": 2, "maximum": 64},
                                   "seed": {"type": "integer"}, "harm_limit": {"type": "number"}},
                                  ("intent", "running", "candidates")),
                      obj({"twin": {"type": "string"}, "chosen": {"type": "integer"},
                           "candidates": {"type": "array"}}, ("twin", "chosen", "candidates")), run_twin))


def intent_goals(env: Env, spec: Any) -> list[Target]:
    """What the plan is for (:func:`plans.effect.goals_of`: the intent's own checkable targets, cost targets
    included); an intent that only asks for actions (a cap, a reservation) is judged on the SLAs of the slices it
    acts on."""
    goals = goals_of(spec.targets, spec.objective.priority_slices)
    if goals:
        return goals
    acted = [n for n, _ in (*spec.actions.slice_caps, *spec.actions.slice_floors)]
    acted += [r.slice for r in spec.actions.ratio_policies]
    return [t for n in dict.fromkeys(acted) if n in [s.name for s in env.domain.slices] for t in env.sla_targets(n)]


def _prb_use(env: Env, topo: Any, cells: list[int]) -> dict[str, dict[str, float]]:
    """Per area cell and slice, PRBs used / available over the last KPM periods."""
    reps = list(env.history.reports)[-4:]
    out: dict[str, dict[str, float]] = {}
    keys = topo.slice_keys
    for c in topo.cells:
        if cells and c.cell_id not in cells:
            continue
        used = np.zeros(len(keys))
        n = 0
        for r in reps:
            for cell in r.cells:
                if cell.cell_id == c.cell_id:
                    used += [s.prb_used_dl for s in cell.slices]
                    n += 1
        if n:
            out[c.key] = {k: float(used[j] / n / max(c.prb_count, 1)) for j, k in enumerate(keys)}
    return out

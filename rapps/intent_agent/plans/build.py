"""Pure steps of planning: spec -> planner request, planner shares -> the xApp's plan bounds, twin verdict ->
expected impact, and the plain-language explanation tied to the evidence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rapps.intent_agent.compiler.spec import IntentSpec
from rapps.intent_agent.plans.model import SliceImpact
from testbed.core.params import ScenarioParams
from testbed.core.types import FloatArray

PRIORITY_FLOOR = 0.25  #: share floor of a prioritised slice with a delay ceiling in the area's cells
PRIORITY_BOOST = 1.3  #: a prioritised slice's planned share in the area x this (then renormalised)


def slice_key(sst: int, sd: str) -> str:
    return f"{sst}-{sd.lower()}" if sd else str(sst)


def shape_shares(spec: IntentSpec, sc: ScenarioParams, prb: FloatArray) -> FloatArray:
    """Apply the intent to the planner's (K, C, S) PRB shares in the area's cells: prioritised slices get a
    boost (and a floor when latency-critical), event headroom goes to eMBB, then the intent's caps and floors;
    each row is renormalised to sum <= 1. Returns a new array."""
    out = np.array(prb, dtype=np.float64, copy=True)
    names = [s.name for s in sc.slices]
    area = [i for i, c in enumerate(sc.cells) if not spec.context.cells or c.cell_id in spec.context.cells]
    caps = dict(spec.actions.slice_caps)
    floors = dict(spec.actions.slice_floors)
    for ci in area:
        row = out[:, ci, :]
        for name in spec.objective.priority_slices:
            si = names.index(name)
            row[:, si] *= PRIORITY_BOOST
            if sc.slices[si].sla_p99_ms is not None:
                row[:, si] = np.maximum(row[:, si], PRIORITY_FLOOR)
        if spec.actions.headroom > 0 and "eMBB" in names:
            row[:, names.index("eMBB")] += spec.actions.headroom
        for name, f in floors.items():
            row[:, names.index(name)] = np.maximum(row[:, names.index(name)], f)
        total = row.sum(-1, keepdims=True)
        row /= np.maximum(total, 1.0)
        for name, cap in caps.items():  # caps last: they hold exactly, the freed share goes to the others
            si = names.index(name)
            freed = np.maximum(row[:, si] - cap, 0.0)
            row[:, si] = np.minimum(row[:, si], cap)
            others = [j for j in range(len(names)) if j != si and names[j] not in caps]
            if others:
                w = row[:, others] / np.maximum(row[:, others].sum(-1, keepdims=True), 1e-9)
                row[:, others] += w * freed[:, None]
        out[:, ci, :] = row
    return out


def sdl_plan(spec: IntentSpec, sc: ScenarioParams, prb: FloatArray, cell_keys: Sequence[str],
             slice_keys: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Bounds the slice scheduler honours (``plan_from_json``): per area cell and slice the planned share over
    the horizon as ``targetPct``; prioritised or floored slices also get ``lowerPct`` (the planned minimum),
    capped slices ``upperPct``/``maxPct``."""
    names = [s.name for s in sc.slices]
    caps = dict(spec.actions.slice_caps)
    keep_low = set(spec.objective.priority_slices) | {n for n, _ in spec.actions.slice_floors}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for ci, c in enumerate(sc.cells):
        if spec.context.cells and c.cell_id not in spec.context.cells:
            continue
        cell: dict[str, dict[str, float]] = {}
        for si, name in enumerate(names):
            b: dict[str, float] = {"targetPct": round(100 * float(prb[:, ci, si].mean()), 2)}
            if name in keep_low:
                b["lowerPct"] = int(np.floor(100 * float(prb[:, ci, si].min())))
            if name in caps:
                b["upperPct"] = b["maxPct"] = int(np.floor(100 * caps[name]))
            cell[slice_keys[si]] = b
        out[cell_keys[ci]] = cell
    return out


def impacts(names: Sequence[str], loss: FloatArray, p99: FloatArray) -> list[SliceImpact]:
    """Twin seeds (M, S) -> mean and 5-95 % interval per slice."""
    out = []
    for si, n in enumerate(names):
        lq = np.quantile(loss[:, si], [0.05, 0.95])
        pq = np.quantile(p99[:, si], [0.05, 0.95])
        out.append(SliceImpact(n, float(loss[:, si].mean()), float(lq[0]), float(lq[1]), float(p99[:, si].mean()),
                               float(pq[0]), float(pq[1])))
    return out


def target_violation(spec: IntentSpec, loss: FloatArray, p99: FloatArray, names: Sequence[str]) -> FloatArray:
    """(M,) bool per twin seed: some slice target of the spec (loss / p99 ceilings) is broken."""
    bad = np.zeros(loss.shape[0], dtype=bool)
    for t in spec.targets:
        if t.slice is None or t.slice not in names or t.condition != "IS_LESS_THAN":
            continue
        si = list(names).index(t.slice)
        if t.kpi == "packet_loss":
            bad |= loss[:, si] >= t.value
        elif t.kpi == "p99_latency_ms":
            bad |= p99[:, si] >= t.value
    return bad


def harm(spec: IntentSpec, loss: FloatArray, p99: FloatArray, base_loss: FloatArray, base_p99: FloatArray,
         names: Sequence[str], rel: float = 0.10) -> FloatArray:
    """(M,) bool per twin seed: the plan breaks one of the spec's slice ceilings AND is materially worse there
    (> ``rel`` relative) than the status quo under the same exogenous draws (the do-no-harm test)."""
    bad = np.zeros(loss.shape[0], dtype=bool)
    for t in spec.targets:
        if t.slice is None or t.slice not in names or t.condition != "IS_LESS_THAN":
            continue
        si = list(names).index(t.slice)
        if t.kpi == "packet_loss":
            bad |= (loss[:, si] >= t.value) & (loss[:, si] > base_loss[:, si] * (1 + rel) + 1e-3)
        elif t.kpi == "p99_latency_ms":
            bad |= (p99[:, si] >= t.value) & (p99[:, si] > base_p99[:, si] * (1 + rel) + 0.5)
    return bad


def explanation(spec: IntentSpec, method: str, evidence: Sequence[str], expected: Sequence[SliceImpact],
                risk: float, cost_ratio: float, refusal: Sequence[str], open_loop_risk: float = 0.0) -> str:
    area = f"cells {', '.join(map(str, spec.context.cells))}" if spec.context.cells else "every cell"
    zone = f" ({spec.context.zone} zone)" if spec.context.zone else ""
    prio = ", ".join(spec.objective.priority_slices) or "no slice in particular"
    parts = [f"The intent favours {prio} in {area}{zone}."]
    parts.append(f"The {method} planner proposed PRB shares; evidence used: {', '.join(evidence)}.")
    per = "; ".join(f"{e.slice} loss {100 * e.loss:.2f} % (90 % interval {100 * e.loss_lo:.2f}-{100 * e.loss_hi:.2f}),"
                    f" p99 {e.p99_ms:.1f} ms ({e.p99_lo:.1f}-{e.p99_hi:.1f})" for e in expected)
    parts.append(f"Twin rollouts of the plan predict: {per}.")
    parts.append(f"Probability that the plan breaks a target where today's allocation would not (do-no-harm): "
                 f"{100 * risk:.0f} %; held open-loop for the whole horizon it breaks one in "
                 f"{100 * open_loop_risk:.0f} % of the twin's seeds, while the slice scheduler keeps adjusting "
                 f"every second inside these bounds. Normalised control cost J of the plan {cost_ratio:.2f}.")
    if spec.context.window:
        parts.append(f"It applies {spec.context.window.start}-{spec.context.window.end} "
                     f"({spec.context.window.label}).")
    if refusal:
        parts.append("Refused: " + " ".join(refusal))
    return " ".join(parts)

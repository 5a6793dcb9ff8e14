"""Pure steps of planning: spec -> planner request, planner shares -> the xApp's plan bounds, twin verdict ->
expected impact, and the plain-language explanation tied to the evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nextric.arrays import FloatArray
from nextric.topology import Topology
from rapps.intent_agent.compiler.spec import IntentSpec
from rapps.intent_agent.plans.model import SliceImpact

PRIORITY_FLOOR = 0.25  #: share floor of a prioritised slice with a delay ceiling in the area's cells
PRIORITY_BOOST = 1.3  #: a prioritised slice's planned share in the area x this (then renormalised)


def slice_key(sst: int, sd: str) -> str:
    return f"{sst}-{sd.lower()}" if sd else str(sst)


def shape_shares(spec: IntentSpec, sc: Topology, prb: FloatArray) -> FloatArray:
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


def impacts(names: Sequence[str], loss: FloatArray, p99: FloatArray) -> list[SliceImpact]:
    """Twin seeds (M, S) -> mean and 5-95 % interval per slice."""
    out = []
    for si, n in enumerate(names):
        lq = np.quantile(loss[:, si], [0.05, 0.95])
        pq = np.quantile(p99[:, si], [0.05, 0.95])
        out.append(SliceImpact(n, float(loss[:, si].mean()), float(lq[0]), float(lq[1]), float(p99[:, si].mean()),
                               float(pq[0]), float(pq[1])))
    return out


def explanation(spec: IntentSpec, candidate: str, why: str, evidence: Sequence[str], expected: Sequence[SliceImpact],
                effects: Sequence[dict[str, Any]], status_quo: dict[str, Any], prediction: dict[str, Any],
                refusal: Sequence[str]) -> str:
    """Plain language, tied to the evidence: what the plan changes, what it is predicted to change against what runs
    now, how likely it breaks something, and why it was refused if it was."""
    area = f"cells {', '.join(map(str, spec.context.cells))}" if spec.context.cells else "every cell"
    zone = f" ({spec.context.zone} zone)" if spec.context.zone else ""
    parts = [f"Goal in {area}{zone}: " + ("; ".join(f"{e['target']}" for e in effects) or "none the twin can check")
             + "."]
    parts.append(f"Chosen plan '{candidate}': {why}; the slice scheduler and the transport steering keep deciding "
                 f"every period inside these bounds.")
    for e in effects:
        b, u = e["benefit"], e["unit"]
        parts.append(f"{e['target']}: {_fmt(e['statusQuo'], u)} with what runs now, {_fmt(e['plan'], u)} with the plan "
                     f"(benefit {_fmt(b['mean'], u)}, 90 % interval {_fmt(b['lo'], u)} to {_fmt(b['hi'], u)}"
                     + ("" if e["measurable"] else "; not measurable") + ").")
    per = "; ".join(f"{x.slice} loss {100 * x.loss:.2f} % (90 % of seeds {100 * x.loss_lo:.2f}-{100 * x.loss_hi:.2f}), "
                    f"p99 {x.p99_ms:.1f} ms" for x in expected)
    parts.append(f"City-wide with the plan: {per}.")
    parts.append(f"Risk: the plan breaks a slice SLA in {100 * prediction['slaViolationProbability']:.0f} % of the "
                 f"twin's seeds (status quo: {100 * status_quo['violation']:.0f} %), breaks one that the status quo "
                 f"keeps in {100 * prediction['harmProbability']:.0f} %, and meets every goal in "
                 f"{100 * prediction.get('attainment', 0.0):.0f} % (status quo: {100 * status_quo['hold']:.0f} %).")
    parts.append(f"Evidence: {', '.join(evidence)}.")
    if spec.context.window:
        parts.append(f"It applies {spec.context.window.start}-{spec.context.window.end} ({spec.context.window.label}).")
    if refusal:
        parts.append("Refused: " + " ".join(refusal))
    return " ".join(parts)


def _fmt(v: float, unit: str) -> str:
    if unit == "fraction":
        return f"{100 * v:.2f} %"
    return f"{v:.3g} {unit}"

"""What the operator's plan card needs beyond the plan record, from data the agent already holds (pure): the
intent's targets joined with the twin's predicted effect on each, the slice SLAs, the controls named by cell, slice
and link, the approval the gate asks for, and warnings where the risk label contradicts the predictions (a plan
labelled "low" risk whose predicted value breaks a slice SLA, or that breaks one in most of the twin's seeds)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nextric.topology import Topology
from rapps.intent_agent.compiler.spec import IntentSpec
from rapps.intent_agent.plans.effect import target_name
from rapps.intent_agent.plans.model import Plan

#: the share of twin seeds breaking an SLA from which a "low" or "medium" label contradicts the prediction
VIOLATION_CONTRADICTS = 0.5


def slas_json(topo: Topology) -> dict[str, dict[str, float | None]]:
    """Each slice's SLA ceilings: loss (fraction) and p99 delay (ms, None when the slice has none)."""
    return {s.name: {"loss": s.sla_loss, "p99_ms": s.sla_p99_ms} for s in topo.slices}


def plan_view(p: Plan, topo: Topology, spec: IntentSpec | None) -> dict[str, Any]:
    """The plan's JSON with ``card``: ``area``, ``targets`` (each with its predicted effect or why none), ``slas``,
    ``controls`` (cells, links, SLA ceilings), ``warnings`` and ``approval``."""
    effects = {e["target"]: e for e in p.effects}
    targets: list[dict[str, Any]] = []
    for t in spec.targets if spec is not None else ():
        e = effects.get(target_name(t))
        row: dict[str, Any] = {"target": target_name(t), "kpi": t.kpi, "slice": t.slice, "condition": t.condition,
                               "value": t.value, "upper": t.upper, "unit": t.unit, "relative": t.relative,
                               "source": t.source, "predicted": e is not None}
        if e is not None:
            row.update(effectUnit=e["unit"], statusQuo=e["statusQuo"], plan=e["plan"], benefit=e["benefit"],
                       measurable=e["measurable"], meetsWithPlan=t.holds(e["plan"]), meetsNow=t.holds(e["statusQuo"]))
        targets.append(row)
    area = {"zone": spec.context.zone if spec is not None else None,
            "cells": list(spec.context.cells) if spec is not None else [],
            "window": None if spec is None or spec.context.window is None else
            {"label": spec.context.window.label, "start": spec.context.window.start, "end": spec.context.window.end}}
    return {**p.to_json(), "card": {
        "area": area, "targets": targets, "slas": slas_json(topo), "controls": controls(p, topo),
        "warnings": warnings(p, topo, targets),
        "approval": {"required": p.status == "awaiting_approval",
                     "acknowledgeRisk": p.risk if p.risk in ("medium", "high") else None}}}


def controls(p: Plan, topo: Topology) -> dict[str, list[dict[str, Any]]]:
    """The plan's bounds, one row per cell x slice (PRB percent), link x slice (share of the link) and SLA ceiling."""
    plan = p.plan or {"cells": p.cells}
    cells = {c.key: c for c in topo.cells}
    slices = {s.key: s.name for s in topo.slices}

    def cell(key: str) -> dict[str, Any]:
        c = cells.get(key)
        return {"cellKey": key, "cellId": c.cell_id if c else None, "cell": f"cell {c.cell_id}" if c else key}

    out: dict[str, list[dict[str, Any]]] = {"cells": [], "links": [], "slas": []}
    for ck, per in plan.get("cells", {}).items():
        for sk, b in per.items():
            out["cells"].append({**cell(ck), "sliceKey": sk, "slice": slices.get(sk, sk), **b})
    for ln, per in plan.get("links", {}).items():
        for sk, b in per.items():
            out["links"].append({"link": ln, "sliceKey": sk, "slice": slices.get(sk, sk), **b})
    for ck, per in plan.get("slas", {}).items():
        for sk, b in per.items():
            out["slas"].append({**cell(ck), "sliceKey": sk, "slice": slices.get(sk, sk), **b})
    return out


def warnings(p: Plan, topo: Topology, targets: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Where the risk label and the predictions disagree (``contradiction``), and targets the plan is predicted to
    miss (``target_missed``). A "high" label contradicts nothing the twin predicts."""
    out: list[dict[str, str]] = []
    if p.risk != "high":
        sla = {s.name: s for s in topo.slices}
        for x in p.expected:
            s = sla.get(x.slice)
            if s is None:
                continue
            if x.loss > s.sla_loss:
                out.append({"kind": "contradiction", "slice": x.slice,
                            "message": f"risk {p.risk}, but the twin predicts {x.slice} loss {100 * x.loss:.1f} % "
                                       f"(90 % of seeds {100 * x.loss_lo:.1f}-{100 * x.loss_hi:.1f} %) beyond its SLA "
                                       f"of {100 * s.sla_loss:.1f} %"})
            if s.sla_p99_ms is not None and x.p99_ms > s.sla_p99_ms:
                out.append({"kind": "contradiction", "slice": x.slice,
                            "message": f"risk {p.risk}, but the twin predicts {x.slice} p99 {x.p99_ms:.1f} ms "
                                       f"(90 % of seeds {x.p99_lo:.1f}-{x.p99_hi:.1f} ms) beyond its SLA of "
                                       f"{s.sla_p99_ms:g} ms"})
        if p.violation_risk >= VIOLATION_CONTRADICTS:
            out.append({"kind": "contradiction", "slice": "",
                        "message": f"risk {p.risk}, but the plan breaks a slice SLA in {100 * p.violation_risk:.0f} % "
                                   f"of the twin's seeds"})
    for t in targets:
        if t["predicted"] and not t["meetsWithPlan"]:
            out.append({"kind": "target_missed", "slice": t["slice"] or "",
                        "message": f"{t['target']} is predicted to miss its target with the plan"
                                   + (" (it misses it now too)" if not t["meetsNow"] else "")})
    return out

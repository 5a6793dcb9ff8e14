"""Spec <-> TS 28.312 expectations (expectation verb, object with contexts, targets with conditions), pure."""

from __future__ import annotations

from typing import Any

from nextric.errors import ValidationError
from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.spec import (
    CONDITIONS,
    ActionSet,
    Context,
    IntentSpec,
    Objective,
    Target,
    TimeWindow,
)
from rapps.intent_agent.reports.fulfilment import target_name

_KPI_OF = {"p99LatencyMs": "p99_latency_ms", "packetLossRate": "packet_loss", "throughputMbps": "throughput_mbps",
           "resourceCostRatio": "resource_cost", "energyCostRatio": "energy_cost"}


def to_expectations(spec: IntentSpec, scenario: str) -> list[dict[str, Any]]:
    contexts: list[dict[str, Any]] = []
    if spec.context.cells:
        contexts.append({"contextAttribute": "coverageArea", "contextCondition": "IS_ONE_OF",
                         "contextValueRange": [f"cell-{c}" for c in spec.context.cells],
                         **({"zone": spec.context.zone} if spec.context.zone else {})})
    if spec.context.window:
        w = spec.context.window
        contexts.append({"contextAttribute": "timeWindow", "contextCondition": "IS_WITHIN_RANGE",
                         "contextValueRange": [w.start, w.end], "label": w.label})
    if spec.context.event:
        contexts.append({"contextAttribute": "event", "contextCondition": "IS_EQUAL_TO",
                         "contextValueRange": spec.context.event})
    targets = []
    for t in spec.targets:
        rng: Any = [t.value, t.upper] if t.condition == "IS_WITHIN_RANGE" else t.value
        targets.append({"targetName": target_name(t), "targetCondition": t.condition, "targetValueRange": rng,
                        "targetUnit": t.unit, "source": t.source})
    return [{
        "expectationId": "exp-1",
        "expectationVerb": spec.objective.verb,
        "expectationObject": {"objectType": "RAN_SubNetwork", "objectInstance": scenario,
                              "objectContexts": [{"contextAttribute": "sliceProfile", "contextCondition": "IS_ONE_OF",
                                                  "contextValueRange": list(spec.objective.priority_slices)}]},
        "expectationTargets": targets,
        "expectationContexts": contexts,
    }]


def from_expectations(text: str, expectations: list[dict[str, Any]], domain: Domain) -> IntentSpec:
    """A structured TS 28.312 intent -> spec (validated against the domain)."""
    targets: list[Target] = []
    cells: tuple[int, ...] = ()
    window = None
    verb = "ENSURE"
    prio: list[str] = []
    for e in expectations:
        verb = str(e.get("expectationVerb", verb))
        for ctx in e.get("expectationObject", {}).get("objectContexts", []):
            if ctx.get("contextAttribute") == "sliceProfile":
                prio += [str(s) for s in ctx.get("contextValueRange", [])]
        for ctx in e.get("expectationContexts", []):
            if ctx.get("contextAttribute") == "coverageArea":
                cells = tuple(int(str(c).removeprefix("cell-")) for c in ctx.get("contextValueRange", []))
            if ctx.get("contextAttribute") == "timeWindow":
                a, b = ctx["contextValueRange"]
                window = TimeWindow(str(ctx.get("label", "window")), str(a), str(b))
        for t in e.get("expectationTargets", []):
            name, cond, rng = t.get("targetName", ""), t.get("targetCondition"), t.get("targetValueRange")
            if cond not in CONDITIONS:
                raise ValidationError(f"targetCondition {cond!r}: expected one of {', '.join(CONDITIONS)}")
            sl, _, attr = name.rpartition(".")
            kpi = _KPI_OF.get(attr)
            if kpi is None:
                raise ValidationError(f"targetName {name!r}: unknown attribute (known: {', '.join(_KPI_OF)})")
            if sl and sl not in domain.slice_names():
                raise ValidationError(f"targetName {name!r}: unknown slice {sl!r}")
            lo, hi = (rng[0], rng[1]) if isinstance(rng, list) else (rng, None)
            try:
                targets.append(Target(kpi, cond, float(lo), None if hi is None else float(hi), sl or None,
                                      relative=kpi.endswith("_cost")))
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"targetValueRange of {name!r}: {exc}") from exc
    bad = [c for c in cells if c not in domain.cells]
    if bad:
        raise ValidationError(f"coverageArea: unknown cells {bad}")
    if not targets:
        raise ValidationError("the expectations hold no target")
    prio = [p for p in prio if p in domain.slice_names()]
    return IntentSpec(text, Objective(priority_slices=tuple(prio), verb=verb), tuple(targets),
                      Context(None, cells, window), ActionSet(), backend="structured")

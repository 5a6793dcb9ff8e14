"""Spec <-> TS 28.312 expectations (expectation verb, object with contexts, targets with conditions), pure."""

from __future__ import annotations

import re
from typing import Any

from nextric.errors import ValidationError
from nextric.finite import finite_float
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
_HHMM = re.compile(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")


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


#: accepted values of each structured target attribute (inclusive; the latency must be above zero)
_RANGE = {"p99_latency_ms": (0.0, 60_000.0, "ms"), "packet_loss": (0.0, 1.0, "fraction"),
          "throughput_mbps": (0.0, 1e6, "Mbit/s"), "resource_cost": (0.0, 100.0, "ratio to baseline"),
          "energy_cost": (0.0, 100.0, "ratio to baseline")}
VERBS = ("DELIVER", "ENSURE", "MAXIMIZE", "MINIMIZE")


def _dict(x: object, where: str) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise ValidationError(f"{where}: expected an object, got {type(x).__name__}")
    return x


def _list(x: object, where: str) -> list[Any]:
    if x is None:
        return []
    if not isinstance(x, list):
        raise ValidationError(f"{where}: expected an array, got {type(x).__name__}")
    return x


def _cell(x: object, where: str) -> int:
    """``"cell-6"``, ``"6"``, ``6`` or ``6.0`` -> 6."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, bool) or not isinstance(x, int | str):
        raise ValidationError(f"{where}: expected a cell id such as 'cell-6', got {x!r}")
    try:
        return int(str(x).removeprefix("cell-"))
    except ValueError as exc:
        raise ValidationError(f"{where}: {x!r} is not a cell id such as 'cell-6'") from exc


def _bounds(kpi: str, cond: str, rng: object, where: str) -> tuple[float, float | None]:
    """The target's value (and upper bound of IS_WITHIN_RANGE): finite numbers within the KPI's range."""
    values = rng if isinstance(rng, list) else [rng]
    want = 2 if cond == "IS_WITHIN_RANGE" else 1
    if len(values) != want:
        raise ValidationError(f"{where}: {cond} takes {'[lower, upper]' if want == 2 else 'one value'}, got {rng!r}")
    nums = [finite_float(v, where) for v in values]
    lo_ok, hi_ok, unit = _RANGE[kpi]
    for v in nums:
        if not lo_ok <= v <= hi_ok or (kpi == "p99_latency_ms" and v <= 0.0):
            low = f"above {lo_ok:g}" if kpi == "p99_latency_ms" else f"from {lo_ok:g}"
            raise ValidationError(f"{where}: {v:g} is out of range ({low} to {hi_ok:g} {unit})")
    if want == 2 and nums[1] < nums[0]:
        raise ValidationError(f"{where}: the range {nums[0]:g}..{nums[1]:g} is empty")
    return nums[0], nums[1] if want == 2 else None


def from_expectations(text: str, expectations: list[dict[str, Any]], domain: Domain) -> IntentSpec:
    """A structured TS 28.312 intent -> spec (validated against the domain). Every malformed shape, non-finite
    number or out-of-range value raises :class:`ValidationError` naming the field (``intentExpectations[i]...``)."""
    targets: list[Target] = []
    cells: tuple[int, ...] = ()
    window = None
    verb = "ENSURE"
    prio: list[str] = []
    for i, raw in enumerate(_list(expectations, "intentExpectations")):
        at = f"intentExpectations[{i}]"
        e = _dict(raw, at)
        verb = str(e.get("expectationVerb", verb))
        if verb not in VERBS:
            raise ValidationError(f"{at}.expectationVerb {verb!r}: expected one of {', '.join(VERBS)}")
        obj = {} if e.get("expectationObject") is None else _dict(e["expectationObject"], f"{at}.expectationObject")
        for j, c in enumerate(_list(obj.get("objectContexts"), f"{at}.expectationObject.objectContexts")):
            ctx = _dict(c, f"{at}.expectationObject.objectContexts[{j}]")
            if ctx.get("contextAttribute") == "sliceProfile":
                rng = ctx.get("contextValueRange", [])
                prio += [str(s) for s in (rng if isinstance(rng, list) else [rng])]
        for j, c in enumerate(_list(e.get("expectationContexts"), f"{at}.expectationContexts")):
            where = f"{at}.expectationContexts[{j}]"
            ctx = _dict(c, where)
            rng = ctx.get("contextValueRange")
            if ctx.get("contextAttribute") == "coverageArea":
                values = rng if isinstance(rng, list) else [rng]
                cells = tuple(_cell(x, f"{where}.contextValueRange") for x in values)
            if ctx.get("contextAttribute") == "timeWindow":
                if not (isinstance(rng, list) and len(rng) == 2 and all(isinstance(x, str) and _HHMM.match(x)
                                                                        for x in rng)):
                    raise ValidationError(f"{where}.contextValueRange: a time window is ['HH:MM', 'HH:MM'], got "
                                          f"{rng!r}")
                window = TimeWindow(str(ctx.get("label", "window")), rng[0], rng[1])
        for j, t_raw in enumerate(_list(e.get("expectationTargets"), f"{at}.expectationTargets")):
            where = f"{at}.expectationTargets[{j}]"
            t = _dict(t_raw, where)
            name, cond, rng = t.get("targetName", ""), t.get("targetCondition"), t.get("targetValueRange")
            if not isinstance(name, str):
                raise ValidationError(f"{where}.targetName: expected a string, got {name!r}")
            if cond not in CONDITIONS:
                raise ValidationError(f"targetCondition {cond!r}: expected one of {', '.join(CONDITIONS)}")
            sl, _, attr = name.rpartition(".")
            kpi = _KPI_OF.get(attr)
            if kpi is None:
                raise ValidationError(f"targetName {name!r}: unknown attribute (known: {', '.join(_KPI_OF)})")
            if sl and sl not in domain.slice_names():
                raise ValidationError(f"targetName {name!r}: unknown slice {sl!r}")
            lo, hi = _bounds(kpi, cond, rng, f"{where}.targetValueRange of {name!r}")
            targets.append(Target(kpi, cond, lo, hi, sl or None, relative=kpi.endswith("_cost")))
    bad = [c for c in cells if c not in domain.cells]
    if bad:
        raise ValidationError(f"coverageArea: unknown cells {bad}")
    if not targets:
        raise ValidationError("the expectations hold no target")
    prio = [p for p in prio if p in domain.slice_names()]
    return IntentSpec(text, Objective(priority_slices=tuple(prio), verb=verb), tuple(targets),
                      Context(None, cells, window), ActionSet(), backend="structured")

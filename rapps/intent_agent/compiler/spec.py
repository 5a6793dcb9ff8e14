"""The compiled intent: a validated machine-readable spec, or a clarification (never a silent guess).

A spec holds what the planner and the reports need: objective weights over world-model-predicted KPIs, hard
targets (3GPP TS 28.312 expectation targets with conditions), the admissible action set and the area / time
context. ``SPEC_SCHEMA`` is the JSON Schema every spec (the grammar's or an LLM's) must satisfy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Condition = Literal["IS_LESS_THAN", "IS_GREATER_THAN", "IS_WITHIN_RANGE", "IS_EQUAL_TO"]
CONDITIONS = ("IS_LESS_THAN", "IS_GREATER_THAN", "IS_WITHIN_RANGE", "IS_EQUAL_TO")
#: KPI names of targets: p99 latency (ms), packet loss (fraction), throughput (Mbit/s: per slice, per UE, per
#: site), allocated PRB share (resource cost) and used PRB share (energy cost proxy), both relative to the
#: pre-intent baseline, and transport link utilisation (fraction of link capacity, per named link or link group)
KPIS = ("p99_latency_ms", "packet_loss", "throughput_mbps", "resource_cost", "energy_cost", "ue_throughput_mbps",
        "site_throughput_mbps", "link_utilisation")
ACTION_KINDS = ("slice_prb_quota", "transport_share")
#: ``invalid_value``: a number that is none (NaN, infinity, 1e400); ``out_of_range``: one no KPI can take (-5 ms)
IssueKind = Literal["under_specified", "over_constrained", "contradictory", "infeasible", "unknown_reference",
                    "stricter_than_sla", "unsupported", "low_confidence", "unaccounted", "invalid_value",
                    "out_of_range"]


@dataclass(frozen=True)
class Target:
    """One expectation target: ``kpi`` of ``slice`` (None = every slice / the whole area) ``condition`` value."""

    kpi: str
    condition: str
    value: float
    upper: float | None = None  #: second bound of IS_WITHIN_RANGE
    slice: str | None = None
    unit: str = ""
    relative: bool = False  #: value is a ratio to the pre-intent baseline (cost targets, "halve", "by 20 %")
    source: str = "intent"  #: intent | sla | kb
    links: tuple[str, ...] = ()  #: transport links the target is on (link_utilisation); empty = not a link KPI

    def holds(self, achieved: float) -> bool:
        if self.condition == "IS_LESS_THAN":
            return achieved < self.value
        if self.condition == "IS_GREATER_THAN":
            return achieved > self.value
        if self.condition == "IS_WITHIN_RANGE":
            return self.value <= achieved <= (self.upper if self.upper is not None else self.value)
        return abs(achieved - self.value) <= 1e-9 + 0.01 * abs(self.value)


@dataclass(frozen=True)
class TimeWindow:
    label: str
    start: str  #: HH:MM (local time of the area)
    end: str

    def contains(self, hhmm: str) -> bool:
        if self.start <= self.end:
            return self.start <= hhmm < self.end
        return hhmm >= self.start or hhmm < self.end


@dataclass(frozen=True)
class Context:
    zone: str | None = None
    cells: tuple[int, ...] = ()  #: scenario cell ids of the area (empty = every cell)
    window: TimeWindow | None = None
    event: str | None = None  #: e.g. "stadium event" (expected demand surge)
    place: str | None = None  #: where the event is, as the operator named it (a known zone or cell)


@dataclass(frozen=True)
class Objective:
    """Weights over the world models' predicted KPIs (the planner's utility) and the slices to favour."""

    scm: float = 1.0
    cost: float = 0.6
    risk: float = 0.5
    risk_quantile: float = 0.25
    priority_slices: tuple[str, ...] = ()
    verb: str = "ENSURE"  #: TS 28.312-style expectation verb: DELIVER, ENSURE, MAXIMIZE, MINIMIZE


@dataclass(frozen=True)
class ActionSet:
    kinds: tuple[str, ...] = ACTION_KINDS
    prb_min: float = 0.0
    prb_max: float = 1.0
    max_row_change: float = 2.0
    slice_caps: tuple[tuple[str, float], ...] = ()  #: (slice, max PRB share) the intent imposes
    slice_floors: tuple[tuple[str, float], ...] = ()  #: (slice, min PRB share)
    headroom: float = 0.0  #: extra share reserved for an expected surge (events)
    #: TS 28.541 RRMPolicyRatio requests per cell (None = every cell of the context) and slice
    ratio_policies: tuple[RatioReservation, ...] = ()


@dataclass(frozen=True)
class RatioReservation:
    """A TS 28.541 RRMPolicyRatio request as fractions of a cell's PRBs: dedicated <= min <= max (None = not set).
    Dedicated PRBs are the slice's alone; min is guaranteed but lent out when idle; max caps the slice."""

    slice: str
    cell: int | None = None
    dedicated: float | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class WordMapping:
    """Which words of the intent became which part of the spec (or of the question asked back)."""

    words: str
    became: str


@dataclass(frozen=True)
class Evidence:
    """A knowledge-base passage the compiler relied on."""

    doc_id: str
    source: str
    title: str
    score: float


@dataclass(frozen=True)
class IntentSpec:
    text: str
    objective: Objective
    targets: tuple[Target, ...]
    context: Context
    actions: ActionSet
    evidence: tuple[Evidence, ...] = ()
    notes: tuple[str, ...] = ()  #: what the compiler read and how (typo fixes, defaults taken from the SLA)
    backend: str = "grammar"
    mapping: tuple[WordMapping, ...] = ()  #: words of the text -> target / action / context they became

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Issue:
    kind: str
    message: str
    words: tuple[str, ...] = ()  #: the words of the intent the issue is about


@dataclass(frozen=True)
class Clarification:
    """What is wrong with the intent and the question the operator must answer."""

    text: str
    issues: tuple[Issue, ...]
    question: str
    evidence: tuple[Evidence, ...] = ()
    notes: tuple[str, ...] = ()
    backend: str = "grammar"
    mapping: tuple[WordMapping, ...] = ()  #: what was understood before the question arose

    @property
    def explanation(self) -> str:
        return " ".join(i.message for i in self.issues)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "explanation": self.explanation}


CompileResult = IntentSpec | Clarification

_NUM = {"type": "number"}
_STR = {"type": "string"}
#: JSON Schema of a spec (what an LLM backend must produce through its ``submit_intent_spec`` tool call)
SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "IntentSpec",
    "type": "object",
    "required": ["objective", "targets", "context", "actions"],
    "additionalProperties": False,
    "properties": {
        "objective": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "scm": {"type": "number", "minimum": 0, "maximum": 10},
                "cost": {"type": "number", "minimum": 0, "maximum": 10},
                "risk": {"type": "number", "minimum": 0, "maximum": 10},
                "risk_quantile": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
                "priority_slices": {"type": "array", "items": _STR},
                "verb": {"enum": ["DELIVER", "ENSURE", "MAXIMIZE", "MINIMIZE"]},
            },
        },
        "targets": {
            "type": "array", "maxItems": 32,
            "items": {
                "type": "object", "additionalProperties": False, "required": ["kpi", "condition", "value"],
                "properties": {
                    "kpi": {"enum": list(KPIS)}, "condition": {"enum": list(CONDITIONS)}, "value": _NUM,
                    "upper": {"type": ["number", "null"]}, "slice": {"type": ["string", "null"]}, "unit": _STR,
                    "relative": {"type": "boolean"}, "source": {"enum": ["intent", "sla", "kb"]},
                    "links": {"type": "array", "items": _STR},
                },
            },
        },
        "context": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "zone": {"type": ["string", "null"]},
                "cells": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                "window": {
                    "type": ["object", "null"], "additionalProperties": False, "required": ["start", "end"],
                    "properties": {"label": _STR, "start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                                   "end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}},
                },
                "event": {"type": ["string", "null"]},
                "place": {"type": ["string", "null"]},
            },
        },
        "actions": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "kinds": {"type": "array", "items": {"enum": list(ACTION_KINDS)}, "minItems": 1},
                "prb_min": {"type": "number", "minimum": 0, "maximum": 1},
                "prb_max": {"type": "number", "minimum": 0, "maximum": 1},
                "max_row_change": {"type": "number", "minimum": 0, "maximum": 2},
                "slice_caps": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}},
                "slice_floors": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}},
                "headroom": {"type": "number", "minimum": 0, "maximum": 0.5},
                "ratio_policies": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["slice"],
                    "properties": {"slice": _STR, "cell": {"type": ["integer", "null"]},
                                   **{k: {"type": ["number", "null"], "minimum": 0, "maximum": 1}
                                      for k in ("dedicated", "min", "max")}}}},
            },
        },
        "notes": {"type": "array", "items": _STR},
    },
}


def spec_from_json(text: str, obj: dict[str, Any], backend: str) -> IntentSpec:
    """A schema-valid JSON object (see :data:`SPEC_SCHEMA`) -> :class:`IntentSpec` (no semantic checks)."""
    o, c, a = obj.get("objective", {}), obj["context"], obj["actions"]
    w = c.get("window")
    return IntentSpec(
        text=text,
        objective=Objective(float(o.get("scm", 1.0)), float(o.get("cost", 0.6)), float(o.get("risk", 0.5)),
                            float(o.get("risk_quantile", 0.25)), tuple(o.get("priority_slices", ())),
                            str(o.get("verb", "ENSURE"))),
        targets=tuple(Target(t["kpi"], t["condition"], float(t["value"]),
                             None if t.get("upper") is None else float(t["upper"]), t.get("slice"),
                             t.get("unit", ""), bool(t.get("relative", False)), t.get("source", "intent"),
                             tuple(str(x) for x in t.get("links", ())))
                      for t in obj["targets"]),
        context=Context(c.get("zone"), tuple(int(x) for x in c.get("cells", ())),
                        None if not w else TimeWindow(w.get("label", "window"), w["start"], w["end"]),
                        c.get("event"), c.get("place")),
        actions=ActionSet(tuple(a.get("kinds", ACTION_KINDS)), float(a.get("prb_min", 0.0)),
                          float(a.get("prb_max", 1.0)), float(a.get("max_row_change", 2.0)),
                          tuple((str(s), float(v)) for s, v in a.get("slice_caps", ())),
                          tuple((str(s), float(v)) for s, v in a.get("slice_floors", ())),
                          float(a.get("headroom", 0.0)),
                          tuple(_ratio(r) for r in a.get("ratio_policies", ()))),
        notes=tuple(obj.get("notes", ())),
        mapping=tuple(WordMapping(str(m["words"]), str(m["became"])) for m in obj.get("mapping", ())),
        backend=backend,
    )


def _ratio(r: dict[str, Any]) -> RatioReservation:
    def f(k: str) -> float | None:
        return None if r.get(k) is None else float(r[k])

    return RatioReservation(str(r["slice"]), None if r.get("cell") is None else int(r["cell"]), f("dedicated"),
                            f("min"), f("max"))

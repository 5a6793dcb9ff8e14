"""A plan and its life cycle: proposed -> awaiting_approval -> applied | rejected | refused | shadow |
rolled_back. Modes: advisory (operator approves), autonomous (low-risk plans apply themselves, per the guardrail
policy), shadow (plan and log, never apply)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["advisory", "autonomous", "shadow"]
MODES = ("advisory", "autonomous", "shadow")
PlanStatus = Literal["awaiting_approval", "applied", "rejected", "refused", "shadow", "rolled_back", "failed"]


@dataclass
class SliceImpact:
    slice: str
    loss: float
    loss_lo: float
    loss_hi: float
    p99_ms: float
    p99_lo: float
    p99_hi: float


@dataclass
class Plan:
    id: str
    intent_id: str
    rank: int
    mode: str
    status: str
    method: str  #: planner method actually used
    evidence: list[str]  #: world models / twin / guardrail used
    cells: dict[str, dict[str, dict[str, float]]]  #: the plan's PRB bounds: cell key -> slice key -> bounds (percent)
    assumptions: list[str]
    expected: list[SliceImpact]  #: the twin's city-wide KPIs per slice under the plan (closed loop)
    violation_risk: float  #: share of twin seeds where the plan breaks an intent target or an SLA
    cost_ratio: float  #: control cost J of what the laws committed under the plan (twin)
    rollback_conditions: list[str]
    explanation: str
    risk: str  #: low | medium | high (guardrail)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    trace: dict[str, Any] = field(default_factory=dict)
    created_unix: float = 0.0
    applied_sim_s: float | None = None
    decided_by: str | None = None
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)  #: the whole plan (nextric.control.policy JSON) to apply
    effects: list[dict[str, Any]] = field(default_factory=list)  #: predicted effect per goal vs the status quo
    prediction: dict[str, Any] = field(default_factory=dict)  #: what the guardrail was told
    candidate: str = ""  #: which candidate plan this is

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(obj: dict[str, Any]) -> Plan:
        o = dict(obj)
        o["expected"] = [SliceImpact(**e) for e in o.get("expected", [])]
        return Plan(**o)

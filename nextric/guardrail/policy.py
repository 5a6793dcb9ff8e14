"""Guardrail policy: the configured limits the engine enforces (bounds, steps, intervals, approval, rollback).

``GuardrailPolicy`` is the engine's view; ``from_a1`` reads one instance of the A1 guardrail policy type and
``merge`` combines the instances that apply to a cell into the most restrictive effective policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from nextric.errors import ValidationError
from nextric.guardrail.model import ApprovalMode, Risk, SNssai

DEFAULT_MIN_INTERVAL_S = 1.0  # O-RAN SC non-RT RIC: at most one update of a parameter per second
DEFAULT_CE_MODES = frozenset({"ls", "lmmse", "neural"})


@dataclass(frozen=True, slots=True)
class Bounds:
    """Closed interval ``[lower, upper]`` in percent."""

    lower: int = 0
    upper: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.lower <= self.upper <= 100:
            raise ValidationError(f"bounds must satisfy 0 <= lower <= upper <= 100, got {self}")

    def intersect(self, other: Bounds) -> Bounds:
        lower, upper = max(self.lower, other.lower), min(self.upper, other.upper)
        if lower > upper:
            raise ValidationError(f"guardrail bounds {self} and {other} do not overlap")
        return Bounds(lower, upper)


FULL = Bounds()


@dataclass(frozen=True, slots=True)
class SliceBounds:
    """Per-slice bounds on each RRMPolicyRatio field."""

    min_prb_ratio: Bounds = FULL
    max_prb_ratio: Bounds = FULL
    dedicated_prb_ratio: Bounds = FULL

    def intersect(self, other: SliceBounds) -> SliceBounds:
        return SliceBounds(
            self.min_prb_ratio.intersect(other.min_prb_ratio),
            self.max_prb_ratio.intersect(other.max_prb_ratio),
            self.dedicated_prb_ratio.intersect(other.dedicated_prb_ratio),
        )

    def for_field(self, index: int) -> Bounds:
        """Bounds of field ``index`` in ``RrmPolicy.ratios()`` order (min, max, dedicated)."""
        return (self.min_prb_ratio, self.max_prb_ratio, self.dedicated_prb_ratio)[index]


UNBOUNDED = SliceBounds()

_DEFAULT_APPROVAL: Mapping[Risk, ApprovalMode] = MappingProxyType(
    {
        Risk.LOW: ApprovalMode.AUTONOMOUS,
        Risk.MEDIUM: ApprovalMode.AUTONOMOUS,
        Risk.HIGH: ApprovalMode.ADVISORY,
    }
)


def _empty_bounds() -> Mapping[SNssai, SliceBounds]:
    return MappingProxyType({})


def _empty_intervals() -> Mapping[str, float]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class GuardrailPolicy:
    """Effective limits for one cell.

    ``max_step_pp``: largest change of any ratio per control step (percentage points).
    ``min_interval_s``: minimum time between two updates of one parameter; ``kind_intervals`` overrides it per
    action kind (beam switches live on a faster timescale than PRB quotas).
    ``medium_step_pp`` / ``high_step_pp``: a PRB change at least this large is medium / high risk.
    ``violation_threshold``: deny when a supplied prediction's SLA-violation probability is above it.
    ``harm_threshold``: deny when a supplied prediction's probability of harm (breaking an SLA or target that the
    status quo keeps) is above it (the do-no-harm rule).
    ``require_effect``: deny a prediction whose expected effect on the intent's target is not measurable (its
    interval reaches zero or the wrong side): a plan that changes nothing is not worth the change.
    ``medium_violation`` / ``high_violation``: a predicted SLA-violation probability at least this large makes the
    action medium / high risk (approval modes then apply), whatever its step size.
    ``breach_periods``: consecutive SLA-breached KPI periods after an applied action that trigger a rollback.
    """

    slice_bounds: Mapping[SNssai, SliceBounds] = field(default_factory=_empty_bounds)
    max_step_pp: int = 100
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S
    kind_intervals: Mapping[str, float] = field(default_factory=_empty_intervals)
    violation_threshold: float = 1.0
    approval: Mapping[Risk, ApprovalMode] = field(default_factory=lambda: _DEFAULT_APPROVAL)
    medium_step_pp: int = 10
    high_step_pp: int = 25
    harm_threshold: float = 0.2
    require_effect: bool = True
    medium_violation: float = 0.1
    high_violation: float = 0.3
    breach_periods: int = 3
    ce_modes: frozenset[str] = DEFAULT_CE_MODES

    def bounds_for(self, member: SNssai) -> SliceBounds:
        found = self.slice_bounds.get(member)
        if found is None and member.sd is not None:
            found = self.slice_bounds.get(SNssai(member.sst))  # an sst-only entry covers every sd
        return found if found is not None else UNBOUNDED

    def interval_for(self, kind: str) -> float:
        return self.kind_intervals.get(kind, self.min_interval_s)

    def mode_for(self, risk: Risk) -> ApprovalMode:
        return self.approval.get(risk, ApprovalMode.ADVISORY)


DEFAULT_POLICY = GuardrailPolicy()


def merge(policies: Iterable[GuardrailPolicy]) -> GuardrailPolicy:
    """The most restrictive combination: bounds intersect, steps/thresholds take the minimum, intervals and
    approval take the stricter; no policies gives :data:`DEFAULT_POLICY`."""
    items = list(policies)
    if not items:
        return DEFAULT_POLICY
    if len(items) == 1:
        return items[0]
    bounds: dict[SNssai, SliceBounds] = {}
    intervals: dict[str, float] = {}
    approval: dict[Risk, ApprovalMode] = {}
    for p in items:
        for member, sb in p.slice_bounds.items():
            bounds[member] = bounds[member].intersect(sb) if member in bounds else sb
        for kind, value in p.kind_intervals.items():
            intervals[kind] = max(intervals.get(kind, 0.0), value)
        for risk in Risk:
            if p.mode_for(risk) is ApprovalMode.ADVISORY or risk not in approval:
                approval[risk] = p.mode_for(risk)
    ce_modes = frozenset.intersection(*(p.ce_modes for p in items))
    return GuardrailPolicy(
        slice_bounds=MappingProxyType(bounds),
        max_step_pp=min(p.max_step_pp for p in items),
        min_interval_s=max(p.min_interval_s for p in items),
        kind_intervals=MappingProxyType(intervals),
        violation_threshold=min(p.violation_threshold for p in items),
        approval=MappingProxyType(approval),
        medium_step_pp=min(p.medium_step_pp for p in items),
        high_step_pp=min(p.high_step_pp for p in items),
        harm_threshold=min(p.harm_threshold for p in items),
        require_effect=any(p.require_effect for p in items),
        medium_violation=min(p.medium_violation for p in items),
        high_violation=min(p.high_violation for p in items),
        breach_periods=min(p.breach_periods for p in items),
        ce_modes=ce_modes,
    )


def snssai_from_a1(obj: Mapping[str, Any]) -> SNssai:
    """``{"sst": 1, "sd": "000001"}`` (A1 sliceId, plmnId ignored) -> :class:`SNssai`."""
    return SNssai(int(obj["sst"]), obj.get("sd"))


def _bounds(obj: Mapping[str, Any] | None) -> Bounds:
    if obj is None:
        return FULL
    return Bounds(int(obj.get("lower", 0)), int(obj.get("upper", 100)))


def from_a1(body: Mapping[str, Any]) -> GuardrailPolicy:
    """Parse one instance of the A1 guardrail policy type (already validated against its JSON schema)."""
    bounds: dict[SNssai, SliceBounds] = {}
    for entry in body.get("sliceBounds", []):
        member = snssai_from_a1(entry["sliceId"])
        sb = SliceBounds(
            _bounds(entry.get("minPrbRatio")),
            _bounds(entry.get("maxPrbRatio")),
            _bounds(entry.get("dedicatedPrbRatio")),
        )
        bounds[member] = bounds[member].intersect(sb) if member in bounds else sb
    approval = dict(_DEFAULT_APPROVAL)
    for level, mode in body.get("approval", {}).items():
        approval[Risk(level)] = ApprovalMode(mode)
    risk = body.get("riskThresholds", {})
    intervals = {kind: float(ms) / 1000.0 for kind, ms in body.get("kindMinUpdateIntervalMs", {}).items()}
    return GuardrailPolicy(
        slice_bounds=MappingProxyType(bounds),
        max_step_pp=int(body.get("maxStepPercent", 100)),
        min_interval_s=float(body.get("minUpdateIntervalMs", DEFAULT_MIN_INTERVAL_S * 1000.0)) / 1000.0,
        kind_intervals=MappingProxyType(intervals),
        violation_threshold=float(body.get("slaViolationProbabilityThreshold", 1.0)),
        approval=MappingProxyType(approval),
        medium_step_pp=int(risk.get("mediumStepPercent", 10)),
        high_step_pp=int(risk.get("highStepPercent", 25)),
        harm_threshold=float(body.get("harmProbabilityThreshold", 0.2)),
        require_effect=bool(body.get("requireExpectedEffect", True)),
        medium_violation=float(risk.get("mediumViolationProbability", 0.1)),
        high_violation=float(risk.get("highViolationProbability", 0.3)),
        breach_periods=int(body.get("rollback", {}).get("consecutiveBreachPeriods", 3)),
        ce_modes=frozenset(body.get("allowedCeModes", sorted(DEFAULT_CE_MODES))),
    )


def applies_to(body: Mapping[str, Any], cell_id: str) -> bool:
    """Whether an A1 guardrail (or SLA) instance's ``scope.cellIdList`` covers ``cell_id`` (absent = all)."""
    cells = body.get("scope", {}).get("cellIdList")
    return not cells or cell_id in cells

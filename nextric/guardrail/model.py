"""Value types of the guardrail engine: actions, predictions, reasons and verdicts.

Everything is a frozen, slotted dataclass so the engine stays pure and cheap enough for the xApp fast path.
PRB ratios are integer percent (0..100) with TS 28.541 RRMPolicyRatio semantics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from nextric.errors import ValidationError


class Decision(StrEnum):
    """What the guardrail says about an action."""

    ALLOW = "allow"
    CLAMP = "clamp"
    DENY = "deny"


class Risk(StrEnum):
    """Risk level of an action; the guardrail policy maps each level to an approval mode."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]


_RISK_RANK = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2}


class ApprovalMode(StrEnum):
    """``autonomous``: allowed actions go straight to the network; ``advisory``: an operator approves."""

    AUTONOMOUS = "autonomous"
    ADVISORY = "advisory"


class ReasonCode(StrEnum):
    """Machine-readable reason codes carried by verdicts (stable API: add, never rename)."""

    TS28541_RANGE = "ts28541_range"
    TS28541_ORDER = "ts28541_order"
    TS28541_MIN_SUM = "ts28541_min_sum"
    TS28541_DEDICATED_SUM = "ts28541_dedicated_sum"
    DUPLICATE_MEMBER = "duplicate_member"
    BOUND_CLAMPED = "bound_clamped"
    STEP_CLAMPED = "step_clamped"
    STEP_YIELDED_TO_BOUND = "step_yielded_to_bound"
    CLAMP_INFEASIBLE = "clamp_infeasible"
    RATE_LIMITED = "rate_limited"
    PREDICTED_SLA_VIOLATION = "predicted_sla_violation"
    PREDICTED_HARM = "predicted_harm"
    NO_EFFECT_EXPECTED = "no_effect_expected"
    APPROVAL_REQUIRED = "approval_required"
    MODE_NOT_ALLOWED = "mode_not_allowed"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class SNssai:
    """S-NSSAI: slice/service type ``sst`` (0..255), optional slice differentiator ``sd`` (6 hex digits).
    Ordered by sst, then no sd before any sd, then sd."""

    sst: int
    sd: str | None = None

    def _key(self) -> tuple[int, bool, str]:
        return (self.sst, self.sd is not None, self.sd or "")

    def __lt__(self, other: SNssai) -> bool:
        return self._key() < other._key()

    def __le__(self, other: SNssai) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: SNssai) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: SNssai) -> bool:
        return self._key() >= other._key()

    def __post_init__(self) -> None:
        if not 0 <= self.sst <= 255:
            raise ValidationError(f"sst must be 0..255, got {self.sst}")
        if self.sd is not None:
            if len(self.sd) != 6 or any(c not in "0123456789abcdefABCDEF" for c in self.sd):
                raise ValidationError(f"sd must be 6 hex digits, got {self.sd!r}")
            object.__setattr__(self, "sd", self.sd.lower())

    def __str__(self) -> str:
        return f"{self.sst}-{self.sd or '*'}"


@dataclass(frozen=True, slots=True)
class RrmPolicy:
    """One RRMPolicyRatio entry for one member slice, in integer percent of the cell's PRBs."""

    member: SNssai
    min_prb_ratio: int
    max_prb_ratio: int
    dedicated_prb_ratio: int

    def ratios(self) -> tuple[int, int, int]:
        """``(min, max, dedicated)`` in percent."""
        return (self.min_prb_ratio, self.max_prb_ratio, self.dedicated_prb_ratio)


RATIO_FIELDS: tuple[str, str, str] = ("min_prb_ratio", "max_prb_ratio", "dedicated_prb_ratio")


@dataclass(frozen=True, slots=True)
class SlicePrbQuotaAction:
    """Slice-level PRB quota control for one cell (E2SM-RC style 2 action 6): the listed slices are replaced,
    slices not listed keep their current ratios."""

    cell_id: str
    policies: tuple[RrmPolicy, ...]
    risk: Risk = Risk.LOW
    kind: Literal["slice_prb_quota"] = "slice_prb_quota"


@dataclass(frozen=True, slots=True)
class BeamSwitchAction:
    """Serving-beam switch for one UE."""

    cell_id: str
    ue_id: str
    beam_id: int
    risk: Risk = Risk.LOW
    kind: Literal["beam_switch"] = "beam_switch"


@dataclass(frozen=True, slots=True)
class CeModeAction:
    """Channel-estimator mode (``ls``, ``lmmse``, ``neural`` ...) for a cell or a UE group in it."""

    cell_id: str
    target: str
    mode: str
    risk: Risk = Risk.MEDIUM
    kind: Literal["ce_mode"] = "ce_mode"


Action = SlicePrbQuotaAction | BeamSwitchAction | CeModeAction


def prb_parameter(cell_id: str, member: SNssai) -> str:
    """Parameter key of one slice's RRMPolicyRatio in one cell (the unit the rate limit counts)."""
    return f"prb:{cell_id}:{member}"


def action_parameters(action: Action) -> tuple[str, ...]:
    """Every parameter key an action may touch."""
    if isinstance(action, SlicePrbQuotaAction):
        return tuple(prb_parameter(action.cell_id, p.member) for p in action.policies)
    if isinstance(action, BeamSwitchAction):
        return (f"beam:{action.cell_id}:{action.ue_id}",)
    return (f"ce_mode:{action.cell_id}:{action.target}",)


@dataclass(frozen=True, slots=True)
class ExpectedEffect:
    """Predicted change of the intent's target KPI against the status quo (what runs without the action), as a
    benefit: positive = towards the target (lower loss or delay, higher throughput), in ``unit``; ``lo``/``hi``
    bound its interval (e.g. 90 %)."""

    target: str
    mean: float
    lo: float
    hi: float
    unit: str = ""

    @property
    def measurable(self) -> bool:
        """The whole interval is a benefit."""
        return self.lo > 0.0


@dataclass(frozen=True, slots=True)
class Prediction:
    """A world model's forecast for the state after the action (probabilities in 0..1).

    ``sla_violation_probability``: some SLA or target is broken (absolute); ``harm_probability``: one is broken that
    the status quo keeps (relative); ``effect``: the expected benefit on the intent's target."""

    sla_violation_probability: float
    model: str = "unknown"
    horizon_s: float | None = None
    harm_probability: float | None = None
    effect: ExpectedEffect | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a rule clamped or denied: ``code`` is for machines, ``message`` for people."""

    code: ReasonCode
    rule: str
    message: str
    parameter: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guardrail's answer: ``action`` is what may be sent (the clamped one for ``clamp``)."""

    decision: Decision
    action: Action
    requested: Action
    reasons: tuple[Reason, ...] = ()
    risk: Risk = Risk.LOW

    @property
    def allowed(self) -> bool:
        """True when ``action`` may reach the network (``allow`` or ``clamp``)."""
        return self.decision is not Decision.DENY

    def codes(self) -> frozenset[ReasonCode]:
        return frozenset(r.code for r in self.reasons)

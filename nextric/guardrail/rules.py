"""The guardrail rules, one small pure function each; :mod:`nextric.guardrail.engine` composes them.

A rule returns the reasons it raises (empty when it passes); clamping rules also return the clamped value.
"""

from __future__ import annotations

from collections.abc import Iterable

from nextric.guardrail.model import (
    ApprovalMode,
    Prediction,
    Reason,
    ReasonCode,
    Risk,
    RrmPolicy,
    prb_parameter,
)
from nextric.guardrail.policy import GuardrailPolicy, SliceBounds


def ts28541(policies: Iterable[RrmPolicy], cell_id: str) -> list[Reason]:
    """TS 28.541 RRMPolicyRatio: each ratio in 0..100, dedicated <= min <= max per slice, one entry per
    member, sum of min <= 100 and sum of dedicated <= 100 over the cell (max ratios may overlap)."""
    reasons: list[Reason] = []
    seen: set[object] = set()
    min_sum = dedicated_sum = 0
    for p in policies:
        param = prb_parameter(cell_id, p.member)
        if p.member in seen:
            reasons.append(Reason(ReasonCode.DUPLICATE_MEMBER, "ts28541", "slice listed twice", param))
        seen.add(p.member)
        lo, hi, ded = p.ratios()
        if not (0 <= lo <= 100 and 0 <= hi <= 100 and 0 <= ded <= 100):
            reasons.append(Reason(ReasonCode.TS28541_RANGE, "ts28541", "ratios must be within 0..100", param))
        elif not ded <= lo <= hi:
            reasons.append(
                Reason(
                    ReasonCode.TS28541_ORDER,
                    "ts28541",
                    "need dedicated <= min <= max",
                    param,
                    {"min": lo, "max": hi, "dedicated": ded},
                )
            )
        min_sum += lo
        dedicated_sum += ded
    if min_sum > 100:
        reasons.append(
            Reason(
                ReasonCode.TS28541_MIN_SUM,
                "ts28541",
                "sum of min ratios exceeds 100",
                f"prb:{cell_id}",
                {"sum": min_sum},
            )
        )
    if dedicated_sum > 100:
        reasons.append(
            Reason(
                ReasonCode.TS28541_DEDICATED_SUM,
                "ts28541",
                "sum of dedicated ratios exceeds 100",
                f"prb:{cell_id}",
                {"sum": dedicated_sum},
            )
        )
    return reasons


_FIELD_NAMES = ("min", "max", "dedicated")


def clamp_policy(
    requested: RrmPolicy, current: RrmPolicy | None, bounds: SliceBounds, max_step: int, parameter: str
) -> tuple[RrmPolicy, list[Reason]]:
    """Clamp each ratio into its configured bounds and to at most ``max_step`` points from ``current``.

    When the step window and the bounds do not overlap (bounds tightened under a running config) the bounds
    win: safety over smoothness. The result depends only on ``current``/``bounds``/``max_step`` windows, so
    clamping a clamped policy changes nothing (idempotent).
    """
    reasons: list[Reason] = []
    values = requested.ratios()
    out = list(values)
    for i, value in enumerate(values):
        b = bounds.for_field(i)
        lo, hi = b.lower, b.upper
        yielded = False
        if current is not None:
            cur = current.ratios()[i]
            s_lo, s_hi = max(lo, cur - max_step), min(hi, cur + max_step)
            if s_lo <= s_hi:
                lo, hi = s_lo, s_hi
            else:
                yielded = True
        new = min(max(value, lo), hi)
        name = _FIELD_NAMES[i]
        if new != value:
            in_bounds = b.lower <= value <= b.upper
            code = ReasonCode.STEP_CLAMPED if in_bounds else ReasonCode.BOUND_CLAMPED
            reasons.append(
                Reason(
                    code,
                    "step" if in_bounds else "bounds",
                    f"{name} ratio clamped to {new}",
                    parameter,
                    {"field": name, "requested": value, "clamped": new, "lower": lo, "upper": hi},
                )
            )
        if yielded:
            reasons.append(
                Reason(
                    ReasonCode.STEP_YIELDED_TO_BOUND,
                    "step",
                    f"{name} ratio moves more than the step limit to enter its bounds",
                    parameter,
                    {"field": name, "max_step": max_step},
                )
            )
        out[i] = new
    if out == list(values):
        return requested, reasons
    return RrmPolicy(requested.member, out[0], out[1], out[2]), reasons


def rate_limit(parameter: str, last: float | None, now: float, interval: float) -> Reason | None:
    """At most one update of ``parameter`` per ``interval`` seconds."""
    if last is None or now - last >= interval:
        return None
    return Reason(
        ReasonCode.RATE_LIMITED,
        "rate_limit",
        f"updated {now - last:.3f} s ago, minimum {interval} s",
        parameter,
        {"retry_after_s": interval - (now - last), "min_interval_s": interval},
    )


def predicted_violation(prediction: Prediction | None, policy: GuardrailPolicy) -> Reason | None:
    """Deny when a world model predicts an SLA violation more likely than the policy tolerates."""
    if prediction is None or prediction.sla_violation_probability <= policy.violation_threshold:
        return None
    return Reason(
        ReasonCode.PREDICTED_SLA_VIOLATION,
        "prediction",
        f"predicted SLA-violation probability {prediction.sla_violation_probability:.3f} above "
        f"{policy.violation_threshold}",
        None,
        {
            "probability": prediction.sla_violation_probability,
            "threshold": policy.violation_threshold,
            "model": prediction.model,
        },
    )


def predicted_harm(prediction: Prediction | None, policy: GuardrailPolicy) -> Reason | None:
    """Deny when the action would break, more likely than tolerated, what the status quo keeps (do no harm)."""
    harm = None if prediction is None else prediction.harm_probability
    if prediction is None or harm is None or harm <= policy.harm_threshold:
        return None
    return Reason(
        ReasonCode.PREDICTED_HARM,
        "prediction",
        f"predicted harm probability {prediction.harm_probability:.3f} above {policy.harm_threshold}: it breaks "
        f"an SLA or target that what runs now keeps",
        None,
        {"probability": prediction.harm_probability, "threshold": policy.harm_threshold, "model": prediction.model},
    )


def no_effect(prediction: Prediction | None, policy: GuardrailPolicy) -> Reason | None:
    """Deny an action whose predicted benefit on its target is not measurable: no change without a reason."""
    if prediction is None or prediction.effect is None or not policy.require_effect or prediction.effect.measurable:
        return None
    e = prediction.effect
    return Reason(
        ReasonCode.NO_EFFECT_EXPECTED,
        "prediction",
        f"no measurable effect expected on {e.target}: benefit {e.mean:+.4g} {e.unit} (interval {e.lo:+.4g} to "
        f"{e.hi:+.4g}) against what runs now",
        None,
        {"target": e.target, "mean": e.mean, "lo": e.lo, "hi": e.hi, "unit": e.unit, "model": prediction.model},
    )


def prediction_risk(prediction: Prediction | None, risk: Risk, policy: GuardrailPolicy) -> Risk:
    """Risk raised by the predicted absolute SLA-violation probability (never lowered)."""
    if prediction is None:
        return risk
    p = prediction.sla_violation_probability
    derived = Risk.HIGH if p >= policy.high_violation else (Risk.MEDIUM if p >= policy.medium_violation else Risk.LOW)
    return derived if derived.rank > risk.rank else risk


def approval(risk: Risk, policy: GuardrailPolicy, approved: bool) -> Reason | None:
    """In advisory mode for this risk level an operator must approve the exact action first."""
    if approved or policy.mode_for(risk) is not ApprovalMode.ADVISORY:
        return None
    return Reason(
        ReasonCode.APPROVAL_REQUIRED,
        "approval",
        f"{risk.value}-risk actions need operator approval",
        None,
        {"risk": risk.value},
    )


def prb_risk(change_pp: int, declared: Risk, policy: GuardrailPolicy) -> Risk:
    """Risk from the largest ratio change, never below what the requester declared."""
    derived = (
        Risk.HIGH
        if change_pp >= policy.high_step_pp
        else (Risk.MEDIUM if change_pp >= policy.medium_step_pp else Risk.LOW)
    )
    return derived if derived.rank > declared.rank else declared

"""``check(action, context, prediction=None) -> Verdict``: the one decision function.

Pure and allocation-light: xApps call it in-process on the fast path, the policy service over HTTP.
"""

from __future__ import annotations

from types import MappingProxyType

from nextric.guardrail import rules
from nextric.guardrail.model import (
    Action,
    BeamSwitchAction,
    CeModeAction,
    Decision,
    Prediction,
    Reason,
    ReasonCode,
    Risk,
    RrmPolicy,
    SlicePrbQuotaAction,
    SNssai,
    Verdict,
    action_parameters,
    prb_parameter,
)
from nextric.guardrail.state import Context, other_value

_EMPTY: MappingProxyType[SNssai, RrmPolicy] = MappingProxyType({})


def check(action: Action, context: Context, prediction: Prediction | None = None) -> Verdict:
    """Decide whether ``action`` may reach the network given ``context`` (and a world-model ``prediction``).

    ``allow``: send ``verdict.action`` as is; ``clamp``: send ``verdict.action`` (a clamped copy);
    ``deny``: send nothing. ``verdict.reasons`` says which rules fired.
    """
    if isinstance(action, SlicePrbQuotaAction):
        return _check_prb(action, context, prediction)
    return _check_other(action, context, prediction)


def _check_prb(action: SlicePrbQuotaAction, ctx: Context, prediction: Prediction | None) -> Verdict:
    policy = ctx.policy
    invalid = rules.ts28541(action.policies, action.cell_id)
    if invalid:
        return Verdict(Decision.DENY, action, action, tuple(invalid), action.risk)
    current = ctx.current_prb.get(action.cell_id, _EMPTY)
    reasons: list[Reason] = []
    clamped: list[RrmPolicy] = []
    change = 0
    for p in action.policies:
        cur = current.get(p.member)
        q, why = rules.clamp_policy(
            p, cur, policy.bounds_for(p.member), policy.max_step_pp, prb_parameter(action.cell_id, p.member)
        )
        if why:
            reasons.extend(why)
        clamped.append(q)
        if cur is not None:
            a, b = q.ratios(), cur.ratios()
            change = max(change, abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2]))
    changed = any(q is not p for q, p in zip(clamped, action.policies, strict=True))
    out = SlicePrbQuotaAction(action.cell_id, tuple(clamped), action.risk) if changed else action
    risk = rules.prediction_risk(prediction, rules.prb_risk(change, action.risk, policy), policy)

    merged = dict(current)
    for q in clamped:
        merged[q.member] = q
    infeasible = rules.ts28541(merged.values(), action.cell_id)
    if infeasible:
        if changed:
            infeasible.insert(
                0,
                Reason(
                    ReasonCode.CLAMP_INFEASIBLE,
                    "bounds",
                    "clamped ratios break TS 28.541 with the cell's other slices",
                ),
            )
        return Verdict(Decision.DENY, out, action, tuple(reasons + infeasible), risk)

    denials: list[Reason] = []
    interval = policy.interval_for(action.kind)
    for q in clamped:
        if current.get(q.member) != q:
            key = prb_parameter(action.cell_id, q.member)
            limited = rules.rate_limit(key, ctx.last_update.get(key), ctx.now, interval)
            if limited is not None:
                denials.append(limited)
    _common(denials, risk, ctx, prediction)
    if denials:
        return Verdict(Decision.DENY, out, action, tuple(reasons + denials), risk)
    return Verdict(Decision.CLAMP if changed else Decision.ALLOW, out, action, tuple(reasons), risk)


def _check_other(
    action: BeamSwitchAction | CeModeAction, ctx: Context, prediction: Prediction | None
) -> Verdict:
    denials: list[Reason] = []
    key = action_parameters(action)[0]
    if isinstance(action, CeModeAction) and action.mode not in ctx.policy.ce_modes:
        denials.append(
            Reason(
                ReasonCode.MODE_NOT_ALLOWED,
                "ce_mode",
                f"mode {action.mode!r} is not allowed",
                key,
                {"allowed": sorted(ctx.policy.ce_modes)},
            )
        )
    if ctx.current_other.get(key) != other_value(action):
        limited = rules.rate_limit(
            key, ctx.last_update.get(key), ctx.now, ctx.policy.interval_for(action.kind)
        )
        if limited is not None:
            denials.append(limited)
    risk = rules.prediction_risk(prediction, action.risk, ctx.policy)
    _common(denials, risk, ctx, prediction)
    decision = Decision.DENY if denials else Decision.ALLOW
    return Verdict(decision, action, action, tuple(denials), risk)


def _common(denials: list[Reason], risk: Risk, ctx: Context, prediction: Prediction | None) -> None:
    """Rules every action kind passes: predicted SLA violation, harm, no effect, then operator approval."""
    for rule in (rules.predicted_violation, rules.predicted_harm, rules.no_effect):
        found = rule(prediction, ctx.policy)
        if found is not None:
            denials.append(found)
    needs = rules.approval(risk, ctx.policy, ctx.approved)
    if needs is not None:
        denials.append(needs)

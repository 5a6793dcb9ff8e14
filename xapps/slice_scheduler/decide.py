"""One period's decisions, guardrail included: the pure step shared by the app and the bench.

allocate (core) -> SlicePrbQuotaAction -> guardrail ``check`` -> what may be sent. No I/O, time passed in.
:func:`decide_cell` is one cell; :func:`xapps.slice_scheduler.rounds.decide_round` decides a whole round (every
cell of the indications waiting) on the cells' state as arrays, each cell as :func:`decide_cell` would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from nextric.control.slices import (
    AllocatorParams,
    PlanBounds,
    Ratio,
    SliceObservation,
    SliceSla,
    allocate,
    headroom,
)
from nextric.guardrail import (
    DEFAULT_POLICY,
    GuardrailPolicy,
    GuardrailState,
    RrmPolicy,
    SlicePrbQuotaAction,
    SNssai,
    Verdict,
    check,
)


def member_of(slice_key: str) -> SNssai:
    """``"1-000001"`` / ``"2"`` -> :class:`SNssai`."""
    sst, _, sd = slice_key.partition("-")
    return SNssai(int(sst), sd or None)


def slice_key_of(member: SNssai) -> str:
    return f"{member.sst}-{member.sd}" if member.sd else str(member.sst)


def to_action(cell_key: str, ratios: Mapping[str, Ratio]) -> SlicePrbQuotaAction:
    return SlicePrbQuotaAction(
        cell_key,
        tuple(RrmPolicy(member_of(k), mn, mx, ded) for k, (ded, mn, mx) in sorted(ratios.items())),
    )


def ratios_of(action: SlicePrbQuotaAction) -> dict[str, Ratio]:
    return {
        slice_key_of(p.member): (p.dedicated_prb_ratio, p.min_prb_ratio, p.max_prb_ratio) for p in action.policies
    }


@dataclass(frozen=True)
class CellDecision:
    cell_key: str
    requested: dict[str, Ratio]  #: what the allocator asked for
    verdict: Verdict  #: the guardrail's answer
    sent: dict[str, Ratio] | None  #: what may reach the network (None: denied)
    headroom: dict[str, float]  #: SLA headroom per slice in the observed period


def decide_cell(
    cell_key: str,
    observations: Sequence[SliceObservation],
    slas: Mapping[str, SliceSla],
    n_prb: float,
    previous_min: Mapping[str, int] | None,
    guard: GuardrailState,
    now_s: float,
    params: AllocatorParams | None = None,
    plan: Mapping[str, PlanBounds] | None = None,
    policy: GuardrailPolicy = DEFAULT_POLICY,
) -> CellDecision:
    # stay under the guardrail's step limit and its high-risk threshold (high risk needs an operator)
    p = params or AllocatorParams()
    step = max(1, min(p.max_step_pct, policy.max_step_pp, policy.high_step_pp - 1))
    if previous_min is None and cell_key in guard.current_prb:
        previous_min = {slice_key_of(m): q.min_prb_ratio for m, q in guard.current_prb[cell_key].items()}
    ratios = allocate(observations, slas, n_prb, previous_min, replace(p, max_step_pct=step), plan)
    verdict = check(to_action(cell_key, ratios), guard.context(now_s, policy))
    sent = ratios_of(verdict.action) if verdict.allowed and isinstance(verdict.action, SlicePrbQuotaAction) else None
    heads = {o.key: headroom(o, slas[o.key]) for o in observations}
    return CellDecision(cell_key, ratios, verdict, sent, heads)

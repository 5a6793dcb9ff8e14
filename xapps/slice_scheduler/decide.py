"""One period's decisions, guardrail included: the pure step shared by the app and the bench.

allocate (core) -> SlicePrbQuotaAction -> guardrail ``check`` -> what may be sent. No I/O, time passed in.
:func:`decide_cells` decides a whole round (every cell of an indication) with one array call of the law per set
of slices and step limit and one batched guardrail check; :func:`decide_cell` is one cell, the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from nextric.control.slices import (
    AllocatorParams,
    PlanBounds,
    Ratio,
    SliceObservation,
    SliceSla,
    allocate,
    allocate_cells,
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
from nextric.guardrail.batch import check_prb_states


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


@dataclass(frozen=True)
class CellInput:
    """What one cell's decision depends on besides the time and the allocator's parameters."""

    cell_key: str
    observations: Sequence[SliceObservation]
    slas: Mapping[str, SliceSla]
    n_prb: float
    previous_min: Mapping[str, int] | None
    guard: GuardrailState
    plan: Mapping[str, PlanBounds] | None = None
    policy: GuardrailPolicy = field(default=DEFAULT_POLICY)


def decide_cells(cells: Sequence[CellInput], now_s: float, params: AllocatorParams | None = None
                 ) -> list[CellDecision]:
    """Every cell of a round at once: what :func:`decide_cell` gives for each cell, in input order."""
    p = params or AllocatorParams()
    prevs: list[Mapping[str, int] | None] = []
    by_step: dict[int, list[int]] = {}
    for i, c in enumerate(cells):
        step = max(1, min(p.max_step_pct, c.policy.max_step_pp, c.policy.high_step_pp - 1))
        by_step.setdefault(step, []).append(i)
        prev = c.previous_min
        if prev is None and c.cell_key in c.guard.current_prb:
            prev = {slice_key_of(m): q.min_prb_ratio for m, q in c.guard.current_prb[c.cell_key].items()}
        prevs.append(prev)
    ratios: list[dict[str, Ratio]] = [{} for _ in cells]
    heads: list[dict[str, float]] = [{} for _ in cells]
    for step, idx in by_step.items():
        got = allocate_cells([cells[i].observations for i in idx], [cells[i].slas for i in idx],
                             [cells[i].n_prb for i in idx], [prevs[i] for i in idx],
                             replace(p, max_step_pct=step), [cells[i].plan for i in idx])
        for i, r, h in zip(idx, got.ratios, got.headroom, strict=True):
            ratios[i], heads[i] = r, h
    members: dict[str, SNssai] = {}

    def member(key: str) -> SNssai:
        m = members.get(key)
        if m is None:
            m = members[key] = member_of(key)
        return m

    actions = [SlicePrbQuotaAction(c.cell_key, tuple(RrmPolicy(member(k), mn, mx, ded)
                                                     for k, (ded, mn, mx) in sorted(r.items())))
               for c, r in zip(cells, ratios, strict=True)]
    verdicts = check_prb_states(actions, [c.guard for c in cells], now_s, [c.policy for c in cells])
    keys: dict[int, str] = {}

    def key_of(m: SNssai) -> str:
        k = keys.get(id(m))
        if k is None:
            k = keys[id(m)] = slice_key_of(m)
        return k

    out = []
    for c, r, v, h in zip(cells, ratios, verdicts, heads, strict=True):
        sent = None
        if v.allowed and isinstance(v.action, SlicePrbQuotaAction):  # ratios_of, with the keys formatted once
            sent = {key_of(q.member): (q.dedicated_prb_ratio, q.min_prb_ratio, q.max_prb_ratio)
                    for q in v.action.policies}
        out.append(CellDecision(c.cell_key, r, v, sent, h))
    return out

"""The guardrail check of one decision round, batched: B slice PRB quota actions (one per cell) checked at once.

``check_prb_batch(actions, contexts)`` returns what ``[check(a, c) for a, c in zip(actions, contexts)]`` returns
(same decisions, clamped actions, reasons and risks). The rules of :func:`nextric.guardrail.engine.check` run
array-wise over every cell (:func:`screen_prb`): TS 28.541 validity, the bound and step windows of every ratio,
the largest change (risk), TS 28.541 feasibility with the cell's other slices, the rate limit and the approval
mode. A cell none of whose rules fires (the steady state of a running scheduler) gets its ``allow`` verdict from
the arrays; a cell where some rule fires is judged by :func:`check` itself, which writes its reasons (the
people-readable part), so the two can never disagree on wording. Pure: no I/O, time in the contexts.

Array layout: B cells x S slices (the most any action lists) x 3 fields in ``RrmPolicy.ratios()`` order
(min, max, dedicated); padding slices are marked absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nextric.arrays import BoolArray, FloatArray, IntArray
from nextric.guardrail.engine import check
from nextric.guardrail.model import (
    ApprovalMode,
    Decision,
    Risk,
    SlicePrbQuotaAction,
    SNssai,
    Verdict,
)
from nextric.guardrail.policy import GuardrailPolicy, SliceBounds
from nextric.guardrail.state import Context

_RISKS = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)


@dataclass(frozen=True, eq=False)
class PrbRound:
    """One round's actions and what the guardrail knows, as arrays.

    requested / current (B, S, 3) int ratios (min, max, dedicated) percent; present (B, S) the action lists the
    slice; has_current (B, S) the cell has ratios in force for it; lower / upper (B, S, 3) the configured bounds;
    last_s (B, S) when the parameter last changed (nan: never); now_s, max_step, interval_s, medium_step,
    high_step, declared (risk rank the requester declared) (B,); advisory (B, 3) whether each risk level needs an
    operator; other_min_sum / other_ded_sum (B,) the sums over slices in force the action does not list;
    other_bad (B,) such a slice breaks TS 28.541 on its own (range or order), or the action lists a slice twice."""

    requested: IntArray
    present: BoolArray
    current: IntArray
    has_current: BoolArray
    lower: IntArray
    upper: IntArray
    last_s: FloatArray
    now_s: FloatArray
    max_step: IntArray
    interval_s: FloatArray
    medium_step: IntArray
    high_step: IntArray
    declared: IntArray
    advisory: BoolArray
    other_min_sum: IntArray
    other_ded_sum: IntArray
    other_bad: BoolArray


@dataclass(frozen=True, eq=False)
class PrbScreen:
    """The verdict of each cell where no rule fires: ``clean`` (B,) bool, ``risk`` (B,) risk rank (0 low .. 2
    high). A cell that is not clean raises some reason; :func:`check` decides it."""

    clean: BoolArray
    risk: IntArray


def _valid(r: IntArray) -> BoolArray:
    """(..., 3) ratios (min, max, dedicated) in range and ordered dedicated <= min <= max."""
    mn, mx, ded = r[..., 0], r[..., 1], r[..., 2]
    in_range = ((r >= 0) & (r <= 100)).all(-1)
    return np.asarray(in_range & (ded <= mn) & (mn <= mx))


def screen_prb(r: PrbRound) -> PrbScreen:
    """Every rule of the PRB check on arrays (see the module doc): which cells pass all of them, and their risk."""
    req, cur, pres, has = r.requested, r.current, r.present, r.has_current
    # TS 28.541 on the action alone (members are distinct by construction of the round)
    valid = (_valid(req) | ~pres).all(-1)
    valid &= (np.where(pres, req[..., 0], 0).sum(-1) <= 100) & (np.where(pres, req[..., 2], 0).sum(-1) <= 100)
    # bounds and step windows: a ratio that moves, or a step window that yields to the bounds, raises a reason
    step = r.max_step[:, None, None]
    with_cur = has[..., None]
    s_lo = np.maximum(r.lower, cur - step)
    s_hi = np.minimum(r.upper, cur + step)
    overlap = s_lo <= s_hi
    lo = np.where(with_cur & overlap, s_lo, r.lower)
    hi = np.where(with_cur & overlap, s_hi, r.upper)
    yielded = (with_cur & ~overlap & pres[..., None]).any((-1, -2))
    moved = (((req < lo) | (req > hi)) & pres[..., None]).any((-1, -2))
    # risk from the largest change against what is in force (the action is unclamped where it is clean)
    diff = np.where((has & pres)[..., None], np.abs(req - cur), 0)
    change = diff.max((-1, -2)) if diff.size else np.zeros(len(req), dtype=np.int64)
    derived = np.where(change >= r.high_step, 2, np.where(change >= r.medium_step, 1, 0))
    risk = np.maximum(derived, r.declared)
    # feasibility of the ratios in force after the action
    merged_min = np.where(pres, req[..., 0], 0).sum(-1) + r.other_min_sum
    merged_ded = np.where(pres, req[..., 2], 0).sum(-1) + r.other_ded_sum
    feasible = ~r.other_bad & (merged_min <= 100) & (merged_ded <= 100)
    # rate limit: a parameter whose value changes, updated less than its interval ago
    differs = pres & (~has | (req != cur).any(-1))
    recent = ~np.isnan(r.last_s) & (r.now_s[:, None] - np.nan_to_num(r.last_s) < r.interval_s[:, None])
    limited = (differs & recent).any(-1)
    needs_approval = r.advisory[np.arange(len(risk)), risk]
    clean = valid & ~yielded & ~moved & feasible & ~limited & ~needs_approval
    return PrbScreen(np.asarray(clean), np.asarray(risk, dtype=np.int64))


@dataclass
class _PolicyView:
    """The arrays one :class:`GuardrailPolicy` contributes, memoised per round."""

    policy: GuardrailPolicy
    interval_s: float
    advisory: tuple[bool, bool, bool]
    bounds: dict[SNssai, tuple[int, int, int, int, int, int]]

    @staticmethod
    def of(policy: GuardrailPolicy, kind: str) -> _PolicyView:
        adv = [policy.mode_for(k) is ApprovalMode.ADVISORY for k in _RISKS]
        return _PolicyView(policy, policy.interval_for(kind), (adv[0], adv[1], adv[2]), {})

    def bounds_of(self, member: SNssai) -> tuple[int, int, int, int, int, int]:
        """(lower, upper) of min, max, dedicated, flattened."""
        got = self.bounds.get(member)
        if got is None:
            sb: SliceBounds = self.policy.bounds_for(member)
            mn, mx, ded = sb.for_field(0), sb.for_field(1), sb.for_field(2)
            got = (mn.lower, mn.upper, mx.lower, mx.upper, ded.lower, ded.upper)
            self.bounds[member] = got
        return got


_FULL_BOUNDS = (0, 100, 0, 100, 0, 100)
_ABSENT = (0, 0, 0)


def prb_round(actions: Sequence[SlicePrbQuotaAction], contexts: Sequence[Context]) -> PrbRound:
    """Gather the arrays of one round from the actions and each cell's context (one pass of plain Python per
    slice; members and parameter keys are formatted once per distinct member object)."""
    b = len(actions)
    s = max((len(a.policies) for a in actions), default=0)
    scalars = np.zeros((b, 6))  # now, max_step, interval, medium, high, declared
    advisory = np.zeros((b, 3), dtype=bool)
    other = np.zeros((b, 3), dtype=np.int64)  # min sum, dedicated sum, bad
    views: dict[int, _PolicyView] = {}
    names: dict[int, str] = {}
    req_rows: list[tuple[int, int, int]] = []
    cur_rows: list[tuple[int, int, int]] = []
    has_rows: list[bool] = []
    last_rows: list[float | None] = []
    bound_rows: list[tuple[int, int, int, int, int, int]] = []
    pad_req = [_ABSENT] * s
    pad_has = [False] * s
    pad_last: list[float | None] = [None] * s
    pad_bounds = [_FULL_BOUNDS] * s
    counts: list[int] = []
    for i, (action, ctx) in enumerate(zip(actions, contexts, strict=True)):
        policy = ctx.policy
        view = views.get(id(policy))
        if view is None:
            view = views[id(policy)] = _PolicyView.of(policy, action.kind)
        scalars[i] = (ctx.now, policy.max_step_pp, view.interval_s, policy.medium_step_pp, policy.high_step_pp,
                      action.risk.rank)
        advisory[i] = view.advisory
        cell_id = action.cell_id
        current = ctx.current_prb.get(cell_id)
        last_update = ctx.last_update
        bounded = bool(policy.slice_bounds)
        found = 0
        for p in action.policies:
            m = p.member
            req_rows.append((p.min_prb_ratio, p.max_prb_ratio, p.dedicated_prb_ratio))
            bound_rows.append(view.bounds_of(m) if bounded else _FULL_BOUNDS)
            q = None if current is None else current.get(m)
            if q is None:
                cur_rows.append(_ABSENT)
                has_rows.append(False)
            else:
                cur_rows.append((q.min_prb_ratio, q.max_prb_ratio, q.dedicated_prb_ratio))
                has_rows.append(True)
                found += 1
            if last_update:
                name = names.get(id(m))
                if name is None:
                    name = names[id(m)] = str(m)
                last_rows.append(last_update.get(f"prb:{cell_id}:{name}"))
            else:
                last_rows.append(None)
        n = len(action.policies)
        counts.append(n)
        if n < s:
            req_rows.extend(pad_req[n:])
            cur_rows.extend(pad_req[n:])
            has_rows.extend(pad_has[n:])
            last_rows.extend(pad_last[n:])
            bound_rows.extend(pad_bounds[n:])
        if n > 1 and len({(p.member.sst, p.member.sd) for p in action.policies}) < n:
            other[i, 2] = 1  # a slice listed twice: TS 28.541 denies it (check writes the reason)
        if current is not None and len(current) > found:
            listed = {p.member for p in action.policies}
            for mem, q in current.items():
                if mem not in listed:
                    lo_, hi_, ded_ = q.ratios()
                    other[i, 0] += lo_
                    other[i, 1] += ded_
                    if not (0 <= lo_ <= 100 and 0 <= hi_ <= 100 and 0 <= ded_ <= 100 and ded_ <= lo_ <= hi_):
                        other[i, 2] = 1
    req = np.array(req_rows, dtype=np.int64).reshape(b, s, 3)
    cur = np.array(cur_rows, dtype=np.int64).reshape(b, s, 3)
    bnd = np.array(bound_rows, dtype=np.int64).reshape(b, s, 3, 2)
    pres = np.arange(s)[None, :] < np.array(counts, dtype=np.int64).reshape(b, 1)
    return PrbRound(req, pres, cur, np.array(has_rows, dtype=bool).reshape(b, s), bnd[..., 0], bnd[..., 1],
                    np.array(last_rows, dtype=np.float64).reshape(b, s), scalars[:, 0],
                    scalars[:, 1].astype(np.int64), scalars[:, 2], scalars[:, 3].astype(np.int64),
                    scalars[:, 4].astype(np.int64), scalars[:, 5].astype(np.int64), advisory, other[:, 0],
                    other[:, 1], other[:, 2].astype(bool))


def prb_round_of(requested: IntArray, present: BoolArray, current: IntArray, has_current: BoolArray,
                 last_s: FloatArray, now_s: float, members: Sequence[SNssai], policies: Sequence[GuardrailPolicy],
                 policy_of: IntArray) -> PrbRound:
    """The round of B cells whose actions and knowledge are already arrays over the same S slices (``members``):
    requested / current (B, S, 3) in ``RrmPolicy.ratios()`` order, ``present`` the slices each action lists,
    ``has_current`` / ``last_s`` what is in force and when it last changed; ``policy_of`` (B,) indexes
    ``policies`` (the distinct policies of the round). Actions are slice PRB quotas of declared risk low, one
    entry per slice. No per-cell Python: the policies' arrays are built once each."""
    b, s = present.shape
    n_p = len(policies)
    scalars = np.zeros((n_p, 4))  # max_step, interval, medium, high
    advisory = np.zeros((n_p, 3), dtype=bool)
    bounds = np.empty((n_p, s, 3, 2), dtype=np.int64)
    bounds[..., 0], bounds[..., 1] = 0, 100
    for j, policy in enumerate(policies):
        view = _PolicyView.of(policy, "slice_prb_quota")
        scalars[j] = (policy.max_step_pp, view.interval_s, policy.medium_step_pp, policy.high_step_pp)
        advisory[j] = view.advisory
        if policy.slice_bounds:
            bounds[j] = np.array([view.bounds_of(m) for m in members], dtype=np.int64).reshape(s, 3, 2)
    sc = scalars[policy_of]
    bnd = bounds[policy_of]
    other = has_current & ~present
    return PrbRound(requested, present, current, has_current, bnd[..., 0], bnd[..., 1], last_s,
                    np.full(b, now_s), sc[:, 0].astype(np.int64), sc[:, 1], sc[:, 2].astype(np.int64),
                    sc[:, 3].astype(np.int64), np.zeros(b, dtype=np.int64), advisory[policy_of],
                    np.where(other, current[..., 0], 0).sum(-1), np.where(other, current[..., 2], 0).sum(-1),
                    np.asarray((other & ~_valid(current)).any(-1)))


def check_prb_batch(actions: Sequence[SlicePrbQuotaAction], contexts: Sequence[Context]) -> list[Verdict]:
    """One verdict per action, as :func:`check` gives it (no prediction: the scheduler's fast path)."""
    if not actions:
        return []
    screen = screen_prb(prb_round(actions, contexts))
    out: list[Verdict] = []
    for action, ctx, ok, risk in zip(actions, contexts, screen.clean.tolist(), screen.risk.tolist(), strict=True):
        out.append(Verdict(Decision.ALLOW, action, action, (), _RISKS[risk]) if ok else check(action, ctx))
    return out

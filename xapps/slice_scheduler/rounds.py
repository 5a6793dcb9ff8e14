"""One decision round of the slice scheduler over every cell of it, on the cells' state as arrays.

:func:`decide_round` decides B cells with the state the :class:`~xapps.slice_scheduler.book.SliceBook` keeps:
one array call of the law per set of slices and step limit (:func:`nextric.control.slices.allocate_batch`), one
array screen of every guardrail rule (:func:`nextric.guardrail.batch.screen_prb`); only a cell where some rule
fires goes through :func:`nextric.guardrail.check` itself (its reasons are the people-readable part). Each cell
gets what :func:`xapps.slice_scheduler.decide.decide_cell` gives it with the same state; the per-cell objects
(:class:`~xapps.slice_scheduler.decide.CellDecision`) are built on demand (:meth:`Round.decision`), for the
cells whose control is sent. Pure: the book is read, not written (:meth:`Round.record` writes it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from nextric.arrays import BoolArray, FloatArray, IntArray
from nextric.control.slices import (
    AllocatorParams,
    PlanBounds,
    Ratio,
    SliceObservation,
    SliceSla,
    allocate_batch,
    headroom_batch,
    kpm_targets_of,
)
from nextric.guardrail import (
    DEFAULT_POLICY,
    Decision,
    GuardrailPolicy,
    Risk,
    RrmPolicy,
    SlicePrbQuotaAction,
    SNssai,
    Verdict,
    check,
)
from nextric.guardrail.batch import prb_round_of, screen_prb
from xapps.slice_scheduler.book import SliceBook
from xapps.slice_scheduler.decide import CellDecision, ratios_of, to_action

_RISKS = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)
_KEY = attrgetter("key")


class RoundCell(NamedTuple):
    """What one cell brings to a round besides its state in the book (a named tuple: a round builds one per cell)."""

    cell_key: str
    observations: Sequence[SliceObservation]
    slas: Mapping[str, SliceSla]
    n_prb: float
    plan: Mapping[str, PlanBounds] | None = None
    policy: GuardrailPolicy = DEFAULT_POLICY


@dataclass(frozen=True, eq=False)
class Round:
    """The decisions of one round, as arrays over the book's slices at decision time (``keys``, columns).

    requested / sent (B, S, 3) int law order (dedicated, min, max); ``present`` (B, S) the slices each cell
    observed; ``allowed`` (B,) something may be sent (``sent`` is valid there); ``risk`` (B,) rank;
    ``headroom`` (B, S) the SLA headroom the law saw (nan where absent); ``checked``: the verdict of each cell
    where a rule fired, from :func:`check` (the other cells are allowed unchanged)."""

    cells: Sequence[RoundCell]
    rows: IntArray
    keys: tuple[str, ...]
    present: BoolArray
    requested: IntArray
    sent: IntArray
    allowed: BoolArray
    risk: IntArray
    headroom: FloatArray
    checked: dict[int, Verdict]
    members: tuple[SNssai, ...]  #: column -> S-NSSAI
    _layouts: dict[tuple[str, ...], tuple[list[int], list[int]]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.cells)

    def decision(self, i: int) -> CellDecision:
        """Cell ``i``'s decision as :func:`~xapps.slice_scheduler.decide.decide_cell` returns it."""
        c = self.cells[i]
        obs_keys = tuple(map(_KEY, c.observations))
        layout = self._layouts.get(obs_keys)
        if layout is None:  # columns in observation order, and in slice-key order (as ``to_action`` lists them)
            cols = [self.keys.index(k) for k in obs_keys]
            layout = self._layouts[obs_keys] = (cols, sorted(cols, key=lambda j: self.keys[j]))
        cols, by_member = layout
        req = self.requested[i].tolist()
        requested: dict[str, Ratio] = {k: tuple(req[j]) for k, j in zip(obs_keys, cols, strict=True)}
        heads = self.headroom[i].tolist()
        headroom = {k: heads[j] for k, j in zip(obs_keys, cols, strict=True)}
        verdict = self.checked.get(i)
        if verdict is None:  # allowed as requested
            keys, members = self.keys, self.members
            action = SlicePrbQuotaAction(c.cell_key, tuple(RrmPolicy(members[j], req[j][1], req[j][2], req[j][0])
                                                           for j in by_member))
            verdict = Verdict(Decision.ALLOW, action, action, (), _RISKS[int(self.risk[i])])
            sent: dict[str, Ratio] | None = {keys[j]: requested[keys[j]] for j in by_member}
        else:
            sent = ratios_of(verdict.action) if verdict.allowed and isinstance(verdict.action, SlicePrbQuotaAction) \
                else None
        return CellDecision(c.cell_key, requested, verdict, sent, headroom)

    def decisions(self) -> list[CellDecision]:
        return [self.decision(i) for i in range(len(self.cells))]

    def record(self, book: SliceBook, now_s: float) -> None:
        """Every allowed cell's ratios reached the network at ``now_s`` (what a driver without E2 does)."""
        a = self.allowed
        book.record(self.rows[a], self.present[a], self.sent[a], now_s, np.ones(int(a.sum()), dtype=bool))


def decide_round(book: SliceBook, cells: Sequence[RoundCell], now_s: float,
                 params: AllocatorParams | None = None) -> Round:
    """Every cell of a round (distinct cells) decided at ``now_s`` with its state in ``book`` (rows and slice
    columns are added for cells and slices seen for the first time; nothing else is written)."""
    p = params or AllocatorParams()
    b = len(cells)
    rows = book.rows_of([c.cell_key for c in cells])
    # the law: one array call per set of slices (in observation order) and step limit
    policies: dict[int, tuple[int, int]] = {}  # id -> (index in distinct, the law's step limit under it)
    distinct: list[GuardrailPolicy] = []
    policy_of = np.empty(b, dtype=np.int64)
    groups: dict[tuple[tuple[str, ...], int], list[int]] = {}
    for i, c in enumerate(cells):
        pol = c.policy
        got = policies.get(id(pol))
        if got is None:  # stay under the guardrail's step limit and its high-risk threshold
            got = policies[id(pol)] = (len(distinct),
                                       max(1, min(p.max_step_pct, pol.max_step_pp, pol.high_step_pp - 1)))
            distinct.append(pol)
        policy_of[i] = got[0]
        key = (tuple(map(_KEY, c.observations)), got[1])
        group = groups.get(key)
        if group is None:
            groups[key] = [i]
        else:
            group.append(i)
    columns = {keys: book.columns_of(keys) for keys, _ in groups}  # new slices get their columns first
    s = len(book.keys)
    present = np.zeros((b, s), dtype=bool)
    requested = np.zeros((b, s, 3), dtype=np.int64)
    heads = np.full((b, s), np.nan)
    in_force = book.in_force[rows, :s]
    current = book.current[rows, :s]
    # the smoothing baseline; a cell with none smooths from the min ratios in force
    previous = book.previous[rows, :s]
    from_force = ~book.has_previous[rows] & in_force.any(-1)
    previous = np.where(from_force[:, None], np.where(in_force, current[..., 0], np.nan), previous)
    for (keys, step), idx in groups.items():
        if not keys:
            continue
        ix = np.array(idx, dtype=np.int64)
        cols = columns[keys]
        kpm, targets = kpm_targets_of(keys, [cells[i].observations for i in idx], [cells[i].slas for i in idx],
                                      [cells[i].n_prb for i in idx], [cells[i].plan for i in idx])
        prev = previous[ix[:, None], cols[None, :]]
        law = allocate_batch(kpm, targets, None if np.isnan(prev).all() else prev, replace(p, max_step_pct=step))
        requested[ix[:, None], cols[None, :]] = law
        present[ix[:, None], cols[None, :]] = True
        heads[ix[:, None], cols[None, :]] = headroom_batch(kpm, targets)
    # the guardrail: every rule on arrays; a cell where one fires is judged by check itself
    screen = screen_prb(prb_round_of(requested[..., [1, 2, 0]], present, current, in_force,
                                     book.changed_at[rows, :s], now_s, book.members[:s], distinct, policy_of))
    allowed = screen.clean.copy()
    sent = requested.copy()
    checked: dict[int, Verdict] = {}
    for i in np.flatnonzero(~screen.clean).tolist():
        c = cells[i]
        req = requested[i, [book.col[o.key] for o in c.observations]].tolist()
        ratios = {o.key: (r[0], r[1], r[2]) for o, r in zip(c.observations, req, strict=True)}
        v = check(to_action(c.cell_key, ratios), book.guard_state(c.cell_key).context(now_s, c.policy))
        checked[i] = v
        if v.allowed and isinstance(v.action, SlicePrbQuotaAction):
            allowed[i] = True
            for k, r in ratios_of(v.action).items():
                sent[i, book.col[k]] = r
    return Round(cells, rows, tuple(book.keys[:s]), present, requested, sent, allowed, screen.risk, heads, checked,
                 tuple(book.members[:s]))

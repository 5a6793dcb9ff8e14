"""The slice PRB allocation law: KPM of cells in, RRMPolicyRatio per slice out. Pure: no I/O, batched.

One law, three callers: the slice scheduler xApp (every cell of a decision round in one :func:`allocate_batch`
call per set of slices, :mod:`xapps.slice_scheduler.rounds`; :func:`allocate` is one cell), the digital twin
(every cell of every candidate and seed at once) and the benchmarks. All entry points run the same array code,
row by row independent, so what the twin rolls out is what the xApp sends, and a cell decides the same alone or
in a batch.

Algorithm (SLA-aware, demand- and headroom-driven), per cell and control period:

1. **Demand in PRBs.** For slice ``s`` with offered load ``O_s`` (Mbit/s) and delivered throughput ``T_s`` over
   ``U_s`` used PRBs, the spectral yield is ``e_s = T_s / U_s`` (Mbit/s per PRB); when the slice used (almost) no
   PRBs, the cell's mean yield stands in. The PRBs needed to carry the offered load are ``n_s = O_s / e_s``;
   a guaranteed throughput ``G_s`` (A1 ``guaThroughputKbps``) raises it to ``max(O_s, min(G_s, 2 O_s)) / e_s``
   (no traffic, no guarantee to keep).
2. **Urgency from SLA headroom.** ``h_s = min_k (1 - v_{s,k} / c_{s,k})^+`` over the slice's ceilings (loss, and
   p99 delay where it has one). The request is ``r_s = n_s * margin * (1 + gain * (1 - h_s))``: a slice close
   to a ceiling asks for more than its bare demand; the spare rate drains its queue and cuts its delay tail
   (the M/M/1 tail ``1/(mu - lambda)`` shrinks fast as utilisation falls).
3. **rApp plan.** When the plan gives the slice a target min ratio ``P_s``, the request becomes
   ``w P_s + (1 - w) r_s`` (``plan_weight`` w) and is clipped into the plan's ``[lower, upper]``: the rApp sets
   the long-horizon targets and bounds, the law adapts within them every period.
4. **Arbitration.** Requests become min ratios ``m_s = 100 r_s / N`` (at least the floor: ``floor_pct`` or the
   plan's lower bound; for a slice with a delay ceiling also its **burst reserve**, ``burst_reserve`` x its bare
   demand ``100 n_s / N``, at most ``burst_reserve_cap_pct``). If they sum to more than 100, slices are served in
   order of least headroom (ties: the SLA priority, higher first; then the slice key), each getting what it asks
   while every later slice keeps its floor. Without the reserve, eMBB or FWA at their loss ceilings (headroom 0)
   went first in a short hospital cell and left URLLC at its 20 % floor: the next burst queued to the discard
   timer.
5. **Smoothing, fast attack and slow release.** Each min ratio rises at most ``max_step_pct`` and falls at most
   ``max_release_pct`` per period from the one in force, so the law does not oscillate with the measurement
   noise and a latency slice keeps its burst reserve through a lull. The rise of a delay-ceiling slice is paid
   for first by the other slices falling faster towards their own targets (up to ``max_step_pct``). The sum
   stays <= 100 (what is still over is taken from the increases, in proportion, then one point at a time from
   the largest).
6. **Output.** ``dedicated = min`` for delay-ceiling slices when ``dedicate_latency`` (their reserve is never
   lent: no queue builds), else 0; ``min = m_s``; ``max`` = the plan's cap or 100 (work-conserving). All
   integers, valid TS 28.541 by construction.

Array shapes: B decisions (cells) x S slices; ratios are integer percent of the cell's PRBs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np

from nextric.arrays import FloatArray, IntArray


@dataclass(frozen=True)
class SliceSla:
    """SLA ceilings of one slice (from an A1 slice SLA policy, the plan, or the defaults in the settings)."""

    key: str  #: S-NSSAI key, "sst-sd"
    loss_ceiling: float  #: fraction
    p99_ceiling_ms: float | None = None
    priority: int = 0  #: higher = served first on equal headroom
    gua_mbps: float | None = None  #: guaranteed throughput (A1 guaThroughputKbps / 1000)


@dataclass(frozen=True)
class SliceObservation:
    """One slice of one cell over the last report period (KPM)."""

    key: str
    offered_mbps: float
    throughput_mbps: float
    prb_used: float
    loss: float
    p99_ms: float


@dataclass(frozen=True)
class PlanBounds:
    """The rApp's plan for one slice in one cell (percent of the cell's PRBs)."""

    lower_pct: int = 0  #: min ratio never below
    upper_pct: int = 100  #: min ratio never above
    max_pct: int = 100  #: max ratio sent
    target_pct: float | None = None  #: the plan's target min ratio (blended with the law's request)


@dataclass(frozen=True)
class AllocatorParams:
    margin: float = 1.15  #: PRBs asked per PRB of bare demand
    latency_margin: float = 3.0  #: the same for slices with a delay ceiling (bursts must not queue)
    gain: float = 2.0  #: extra request at zero headroom (x bare demand)
    floor_pct: int = 5  #: smallest min ratio of any slice
    latency_floor_pct: int = 20  #: smallest min ratio of a slice with a delay ceiling (burst reserve)
    burst_reserve: float = 1.5  #: a delay-ceiling slice keeps this x its demand even when others go first
    burst_reserve_cap_pct: int = 80  #: ... but at most this share of the cell
    max_step_pct: int = 25  #: largest change of a min ratio per period
    max_release_pct: int | None = 5  #: largest fall per period (None: max_step_pct); fast attack, slow release
    plan_weight: float = 0.5  #: weight of the rApp target against the law's own request
    dedicate_latency: bool = True  #: delay-ceiling slices get dedicated = min (never lent: no queue builds)


Ratio = tuple[int, int, int]  # (dedicated, min, max) percent
NO_PLAN = PlanBounds()


@dataclass(frozen=True, eq=False)
class SliceKpm:
    """Batched observations: every array (B, S) float64 except ``n_prb`` (B,) float64.

    offered_mbps / throughput_mbps Mbit/s, prb_used PRBs (period average), loss fraction, p99_ms ms."""

    offered_mbps: FloatArray
    throughput_mbps: FloatArray
    prb_used: FloatArray
    loss: FloatArray
    p99_ms: FloatArray
    n_prb: FloatArray


@dataclass(frozen=True, eq=False)
class SliceTargets:
    """What the law runs with, broadcastable to (B, S): SLA ceilings and the plan's bounds.

    loss_ceiling fraction; p99_ceiling_ms ms (nan or <= 0: none); priority; gua_mbps Mbit/s (nan: none);
    lower_pct / upper_pct / max_pct percent; target_pct percent (nan: none); key_rank (S,) int, the order of the
    slice keys (the last tie-break of the arbitration)."""

    loss_ceiling: FloatArray
    p99_ceiling_ms: FloatArray
    priority: FloatArray
    gua_mbps: FloatArray
    lower_pct: FloatArray
    upper_pct: FloatArray
    max_pct: FloatArray
    target_pct: FloatArray
    key_rank: IntArray


def headroom_batch(kpm: SliceKpm, t: SliceTargets) -> FloatArray:
    """(B, S) min over the slice's ceilings of (1 - value / ceiling), floored at 0 (1 = idle, 0 = at a ceiling)."""
    lc = np.broadcast_to(t.loss_ceiling, kpm.loss.shape)
    loss_part = np.where(lc > 0, 1.0 - kpm.loss / np.where(lc > 0, lc, 1.0), 1.0)
    latency = _latency(t, kpm.loss.shape)
    pc = np.where(latency, np.broadcast_to(t.p99_ceiling_ms, kpm.loss.shape), 1.0)
    p99_part = np.where(latency, 1.0 - kpm.p99_ms / pc, np.inf)
    return np.asarray(np.maximum(0.0, np.minimum(loss_part, p99_part)))


def _latency(t: SliceTargets, shape: tuple[int, ...]) -> np.ndarray:
    pc = np.broadcast_to(t.p99_ceiling_ms, shape)
    return np.asarray(np.nan_to_num(pc, nan=0.0) > 0)


def demand_batch(kpm: SliceKpm, t: SliceTargets) -> FloatArray:
    """Step 1: (B, S) percent of the cell's PRBs each slice needs to carry its offered load (or guarantee)."""
    thp, used = kpm.throughput_mbps, kpm.prb_used
    tot_used = used.sum(-1, keepdims=True)
    cell_yield = np.where(tot_used > 1e-6, thp.sum(-1, keepdims=True) / np.maximum(tot_used, 1e-300), 0.0)
    own = (used > 0.5) & (thp > 0)
    y = np.where(own, thp / np.where(own, used, 1.0), cell_yield)
    load = kpm.offered_mbps
    gua = np.broadcast_to(t.gua_mbps, load.shape)
    guaranteed = ~np.isnan(gua) & (load > 0)
    load = np.where(guaranteed, np.maximum(load, np.minimum(np.nan_to_num(gua), load * 2.0)), load)
    n = kpm.n_prb[:, None]
    need = np.where(y > 1e-9, load / np.where(y > 1e-9, y, 1.0), n / load.shape[-1])
    return np.asarray(100.0 * need / np.maximum(n, 1e-9))


def allocate_batch(kpm: SliceKpm, t: SliceTargets, previous_min: FloatArray | None,
                   p: AllocatorParams) -> IntArray:
    """One control decision for B cells: (B, S, 3) int64 ratios (dedicated, min, max) percent.

    ``previous_min`` (B, S) percent in force (nan where unknown; None: no cell has one)."""
    shape = kpm.loss.shape
    b, s = shape
    latency = _latency(t, shape)
    need = demand_batch(kpm, t)
    heads = headroom_batch(kpm, t)
    margin = np.where(latency, p.latency_margin, p.margin)
    req = need * margin * (1.0 + p.gain * (1.0 - heads))
    # step 3: the plan
    target = np.broadcast_to(t.target_pct, shape)
    req = np.where(np.isnan(target), req, p.plan_weight * np.nan_to_num(target) + (1.0 - p.plan_weight) * req)
    lower = np.broadcast_to(t.lower_pct, shape)
    max_pct = np.broadcast_to(t.max_pct, shape)
    req = np.minimum(np.minimum(np.maximum(req, lower), np.broadcast_to(t.upper_pct, shape)), max_pct)
    # step 4: arbitration in order of least headroom, then priority (higher first), then slice key
    rank = np.broadcast_to(t.key_rank, shape)
    order = np.lexsort((rank, -np.broadcast_to(t.priority, shape), np.round(heads, 2)), axis=-1)
    reserve_pct = np.minimum(np.ceil(need * p.burst_reserve), p.burst_reserve_cap_pct)
    floors = np.maximum.reduce([lower, np.where(latency, reserve_pct, 0.0),
                                np.where(latency, float(p.latency_floor_pct), 0.0)])
    fl = np.maximum(float(p.floor_pct), floors)
    rows = np.arange(b)
    fl_o = fl[rows[:, None], order]
    later = np.cumsum(fl_o[:, ::-1], axis=1)[:, ::-1] - fl_o  # floors of the slices served after each one
    want_o = np.maximum(fl_o, np.ceil(req[rows[:, None], order] - 1e-9))
    got_o = np.zeros((b, s))
    remaining = np.full(b, 100.0)
    for i in range(s):
        got_o[:, i] = np.maximum(0.0, np.minimum(want_o[:, i], remaining - later[:, i]))
        remaining -= got_o[:, i]
    mins_o = _smooth(got_o, None if previous_min is None else previous_min[rows[:, None], order],
                     latency[rows[:, None], order], p)
    mins = np.empty((b, s))
    mins[rows[:, None], order] = mins_o
    m = np.minimum(np.maximum(mins, 0.0), max_pct)
    ded = np.where(latency & p.dedicate_latency, m, 0.0)
    out = np.stack([ded, m, np.maximum(m, max_pct)], axis=-1)
    return np.asarray(np.rint(out), dtype=np.int64)


def _smooth(target: FloatArray, previous: FloatArray | None, urgent: np.ndarray, p: AllocatorParams) -> FloatArray:
    """Step 5 on arrays in arbitration order (B, S): limit rises and falls, let urgent rises be paid by the others
    falling faster, keep the sum <= 100."""
    if previous is None:
        return target
    max_step = float(p.max_step_pct)
    down = max_step if p.max_release_pct is None else float(min(p.max_release_pct, p.max_step_pct))
    prev = np.where(np.isnan(previous), target, previous)
    out = prev + np.clip(target - prev, -down, max_step)
    rise = np.maximum(0.0, out - prev)
    owed = np.minimum(out.sum(-1) - 100.0, np.where(urgent, rise, 0.0).sum(-1))
    b, s = target.shape
    rows = np.arange(b)
    # non-urgent slices pay, those closest to their own target first (stable: arbitration order on ties)
    pay_order = np.lexsort((np.broadcast_to(np.arange(s), (b, s)), np.where(urgent, np.inf, target - out)), axis=-1)
    for i in range(s):
        k = pay_order[:, i]
        cur = out[rows, k]
        floor = np.maximum(target[rows, k], prev[rows, k] - max_step)
        give = np.where((owed > 0) & ~urgent[rows, k], np.maximum(0.0, np.minimum(owed, cur - floor)), 0.0)
        out[rows, k] = cur - give
        owed = owed - give
    excess = out.sum(-1) - 100.0
    ups = np.maximum(0.0, out - prev)
    total_up = ups.sum(-1)
    over = (excess > 0) & (total_up > 0)
    cut = np.where(over[:, None] & (ups > 0),
                   np.minimum(ups, np.ceil(excess[:, None] * ups / np.where(over, total_up, 1.0)[:, None])), 0.0)
    out = out - cut
    while (over_rows := np.flatnonzero(out.sum(-1) > 100.0 + 1e-9)).size:  # rounding leftovers
        k = np.argmax(out[over_rows], axis=-1)  # the first largest, in arbitration order
        out[over_rows, k] -= 1.0
    return out


# ---------------------------------------------------------------------------------------------- one cell


def headroom(obs: SliceObservation, sla: SliceSla) -> float:
    """min over the slice's ceilings of (1 - value / ceiling), floored at 0 (1 = idle, 0 = at a ceiling)."""
    parts = [1.0 - obs.loss / sla.loss_ceiling if sla.loss_ceiling > 0 else 1.0]
    if sla.p99_ceiling_ms:
        parts.append(1.0 - obs.p99_ms / sla.p99_ceiling_ms)
    return max(0.0, min(parts))


def cell_arrays(observations: Sequence[SliceObservation], slas: Mapping[str, SliceSla], n_prb: float,
                plan: Mapping[str, PlanBounds] | None = None) -> tuple[SliceKpm, SliceTargets]:
    """One cell's observations, SLAs and plan as a batch of one (slices in ``observations`` order)."""
    return cells_arrays([observations], [slas], [n_prb], [plan])


_KEY = attrgetter("key")
_KPM_FIELDS = attrgetter("offered_mbps", "throughput_mbps", "prb_used", "loss", "p99_ms")


def cells_arrays(observations: Sequence[Sequence[SliceObservation]], slas: Sequence[Mapping[str, SliceSla]],
                 n_prb: Sequence[float], plans: Sequence[Mapping[str, PlanBounds] | None]
                 ) -> tuple[SliceKpm, SliceTargets]:
    """B cells that observe the same slices in the same order (the first cell's order) as one batch (B, S).

    Cells that share one SLA or plan mapping object share its row (built once)."""
    keys = [o.key for o in observations[0]] if observations else []
    if any(list(map(_KEY, obs)) != keys for obs in observations):
        raise ValueError("cells_arrays: every cell must list the same slices in the same order")
    return kpm_targets_of(keys, observations, slas, n_prb, plans)


def kpm_targets_of(keys: Sequence[str], observations: Sequence[Sequence[SliceObservation]],
                   slas: Sequence[Mapping[str, SliceSla]], n_prb: Sequence[float],
                   plans: Sequence[Mapping[str, PlanBounds] | None]) -> tuple[SliceKpm, SliceTargets]:
    """:func:`cells_arrays` of cells known to observe ``keys`` in that order."""
    b, n_s = len(observations), len(keys)
    o = np.fromiter(chain.from_iterable(chain.from_iterable(map(_KPM_FIELDS, obs)) for obs in observations),
                    dtype=np.float64, count=b * n_s * 5).reshape(b, n_s, 5)
    kpm = SliceKpm(o[..., 0], o[..., 1], o[..., 2], o[..., 3], o[..., 4], np.array(n_prb, dtype=np.float64))
    index: dict[tuple[int, int], int] = {}  # cells that share one SLA and plan mapping share their row
    distinct: list[list[tuple[float | None, ...]]] = []
    which = np.empty(b, dtype=np.int64)
    for i, (sl, pl) in enumerate(zip(slas, plans, strict=True)):
        j = index.get((id(sl), id(pl)))
        if j is None:
            j = index[(id(sl), id(pl))] = len(distinct)
            bounds = [(pl or {}).get(k, NO_PLAN) for k in keys]
            distinct.append([(x.loss_ceiling, x.p99_ceiling_ms, x.priority, x.gua_mbps, b.lower_pct, b.upper_pct,
                              b.max_pct, b.target_pct) for x, b in zip((sl[k] for k in keys), bounds, strict=True)])
        which[i] = j
    t = np.array(distinct, dtype=np.float64).reshape(len(distinct), n_s, 8)[which]  # None -> nan
    ranks = {k: i for i, k in enumerate(sorted(keys))}
    targets = SliceTargets(t[..., 0], t[..., 1], t[..., 2], t[..., 3], t[..., 4], t[..., 5], t[..., 6], t[..., 7],
                           np.array([ranks[k] for k in keys], dtype=np.int64))
    return kpm, targets


def allocate(
    observations: Sequence[SliceObservation],
    slas: Mapping[str, SliceSla],
    n_prb: float,
    previous_min: Mapping[str, int] | None = None,
    params: AllocatorParams | None = None,
    plan: Mapping[str, PlanBounds] | None = None,
) -> dict[str, Ratio]:
    """One control decision for one cell: {slice key: (dedicated, min, max)} percent.

    ``slas`` must hold every observed slice; ``plan`` (the rApp's bounds and targets) may hold some or none.
    """
    kpm, targets = cell_arrays(observations, slas, n_prb, plan)
    prev = None
    if previous_min is not None:
        prev = np.array([[float(previous_min[o.key]) if o.key in previous_min else np.nan for o in observations]])
    r = allocate_batch(kpm, targets, prev, params or AllocatorParams())[0]
    return {o.key: (int(r[i, 0]), int(r[i, 1]), int(r[i, 2])) for i, o in enumerate(observations)}

"""Fast sub-step traffic dynamics: per-slice RAN queues -> PRB scheduler -> transport links, batched.

Pure function :func:`flow_step` (no randomness: all exogenous inputs are passed in). Per cell ``c``,
slice ``s`` (volumes in Mbit per sub-step of ``dt`` s)::

    RAN:  demand_prb = (q + a) / r ;  alloc = scheduler(demand_prb, N, ratios) ;  served = min(alloc r, q + a)
          q' = q + a - served ;  drop = max(0, q' - R_avail T_discard)  (PDCP discard timer, TS 38.323)
    TN:   x = served + z ;  load_ls = sum_c P_cl x_cs ;  phi_ls = min(1, got_ls / load_ls)
          delivered = x min_{l in path(c)} phi_ls ;  z' = x - delivered - drop_tn  (bottleneck fluid model)

where ``got_ls`` is what slice ``s`` gets of link ``l`` (:func:`link_capacity`): with work-conserving sharing its
guaranteed share ``g_ls = share_ls cap_l dt up_l`` as far as it uses it, plus the capacity the other slices leave
unused (strict priority between priority levels, in proportion to the excess within a level); with partitioned
sharing exactly ``g_ls``.

``r`` is Mbit per PRB per sub-step, ``R_avail`` the slice's available service rate (its allocation plus
idle PRBs up to its max ratio, and at least its prioritised min PRBs: lent to others only while it has nothing to
send, they serve it as soon as it has). Each (c, s) sub-step gets a latency model ``D = a + Exp(beta)`` with
``a`` = base delay + backlog waits + hop delays and ``1/beta = 1/(mu_ran - lambda) + 1/(mu_tn - lambda)``
(M/M/1 sojourn tails in packets/s; ``mu_tn`` is the slice's service rate on its bottleneck link: its share when
partitioned, the link less what higher priority levels carry when work-conserving), used for the 99th percentile
in :mod:`nextric.kpi`.
Conservation (tested): ``a = served + drop_ran + dq`` and ``served + z = delivered + drop_tn + z'``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.core.params import CityArrays
from testbed.core.scheduler import allocate_prbs
from testbed.core.types import BoolArray, FloatArray, IntArray

LN100 = float(np.log(100.0))
BETA_FLOOR = 0.02  #: M/M/1 tail rate floor as a fraction of mu (keeps rho -> 1 finite)


@dataclass(frozen=True, eq=False)
class FlowState:
    """Queue state, batched: B batch, C cells, S slices."""

    ran_q: FloatArray  #: (B, C, S) Mbit RAN backlog
    tn_q: FloatArray  #: (B, C, S) Mbit transport backlog per flow
    prb_util: FloatArray  #: (B, C) last sub-step PRB utilisation in [0, 1] (drives interference)


def initial_flow(batch: int, n_cells: int, n_slices: int, util0: float = 0.5) -> FlowState:
    """Empty queues; the interference load starts at ``util0``."""
    z = np.zeros((batch, n_cells, n_slices))
    return FlowState(ran_q=z, tn_q=z.copy(), prb_util=np.full((batch, n_cells), util0))


@dataclass(frozen=True, eq=False)
class StepOut:
    """Per-sub-step measurements (all (B, C, S) Mbit per sub-step unless noted)."""

    offered: FloatArray
    served: FloatArray  #: RAN output
    drop_ran: FloatArray
    delivered: FloatArray  #: end-to-end (after transport)
    drop_tn: FloatArray
    alloc_prb: FloatArray  #: (B, C, S) PRBs (sub-step average)
    delay_a_s: FloatArray  #: (B, C, S) s deterministic part of the latency model
    delay_beta: FloatArray  #: (B, C, S) 1/s exponential tail rate
    ran_delay_s: FloatArray  #: (B, C, S) s mean RAN delay (RLC SDU delay, KPM)
    link_load: FloatArray  #: (B, L, S) Mbit offered to each link
    link_carried: FloatArray  #: (B, L, S) Mbit carried
    link_cap: FloatArray  #: (B, L, S) Mbit service capacity of the slice (sums to the link's capacity over slices)


@dataclass(frozen=True, eq=False)
class PathIndex:
    """Sparse path incidence of one failure pattern (batch of 1): the (cell, link) pairs of every cell's path,
    in two orders, and the path-only quantities. Replaces the dense (C, L) masks of :func:`flow_step`, whose
    cost grows with cells x links; build once per pattern with :meth:`of` (the emulator caches them).

    The sums keep the dense einsum's order (per link, cells ascending) and the minima are order-free, so the
    results are bit-identical to the dense path."""

    n_links: int
    cell_start: IntArray  #: (Cp,) offset in ``link`` of each cell with a path (cells ascending)
    has_path: BoolArray  #: (C,) the cell's path has at least one link
    link: IntArray  #: (nnz,) the links of each cell's path, by cell then link
    by_link_cell: IntArray  #: (nnz,) the same pairs ordered by link then cell: the cells...
    by_link_key: IntArray  #: (nnz * S,) ... and bincount keys ``link * S + slice`` (row-major (nnz, S))
    hop_s: FloatArray  #: (1, C, 1) s summed link delay of each cell's path

    @staticmethod
    def of(paths: BoolArray, link_delay_ms: FloatArray, n_slices: int) -> PathIndex:
        """Index of the path incidence ``paths`` (C, L) bool; ``link_delay_ms`` (L,)."""
        c, ln = np.nonzero(paths)
        order = np.lexsort((c, ln))
        n_c, n_l = paths.shape
        has = np.bincount(c, minlength=n_c) > 0
        start = np.searchsorted(c, np.flatnonzero(has))
        key = (ln[order] * n_slices)[:, None] + np.arange(n_slices)
        hop = np.einsum("bcl,l->bc", paths[None].astype(np.float64), link_delay_ms)[..., None] * 1e-3
        return PathIndex(n_l, start.astype(np.int64), has, ln.astype(np.int64), c[order].astype(np.int64),
                         key.ravel().astype(np.int64), hop)

    def link_sum(self, x: FloatArray) -> FloatArray:
        """(1, L, S): per link the sum of ``x`` (1, C, S) over the cells whose path uses it."""
        s = x.shape[-1]
        w = x[0][self.by_link_cell].ravel()
        out = np.bincount(self.by_link_key, weights=w, minlength=self.n_links * s)
        return np.asarray(out, dtype=np.float64).reshape(1, self.n_links, s)

    def path_min(self, v: FloatArray) -> FloatArray:
        """(1, C, S): per cell the minimum of ``v`` (1, L, S) over its path's links (inf: no link)."""
        n_c = len(self.has_path)
        if len(self.cell_start) == n_c:  # every cell has a path (the usual case)
            return np.minimum.reduceat(v[0][self.link], self.cell_start, axis=0)[None]
        out = np.full((n_c, v.shape[-1]), np.inf)
        if len(self.link):
            out[self.has_path] = np.minimum.reduceat(v[0][self.link], self.cell_start, axis=0)
        return out[None]


class _DensePaths:
    """The operations of :class:`PathIndex` on dense (B, C, L) masks (any batch: the twin's rollouts)."""

    def __init__(self, paths: BoolArray, link_delay_ms: FloatArray) -> None:
        self.pf = paths.astype(np.float64)
        self.mask = paths[..., None]
        self.hop_s = np.einsum("bcl,l->bc", self.pf, link_delay_ms)[..., None] * 1e-3

    def link_sum(self, x: FloatArray) -> FloatArray:
        return np.asarray(np.einsum("bcl,bcs->bls", self.pf, x), dtype=np.float64)

    def path_min(self, v: FloatArray) -> FloatArray:
        return np.asarray(np.where(self.mask, v[:, None, :, :], np.inf).min(axis=2), dtype=np.float64)


def link_capacity(load: FloatArray, guaranteed: FloatArray, total: FloatArray, priority: np.ndarray,
                  work_conserving: bool) -> tuple[FloatArray, FloatArray, FloatArray]:
    """What each slice gets of each link this sub-step, the capacity that counts as its own, and its service rate.

    load, guaranteed (B, L, S) Mbit; total (B, L) Mbit; priority (S,) int (1 = highest). Returns, (B, L, S) Mbit:

    * ``got``: what the slice carries at most (its guarantee as far as it uses it, plus its part of the capacity
      the others leave unused: strict priority between levels, in proportion to the excess within a level);
    * ``cap``: ``got`` plus an equal part of what nobody used (sums to ``total`` over slices: link utilisation);
    * ``rate``: the service rate of the latency model (M/M/1 tail): a strict-priority queue sees the link's capacity
      less what the higher levels carry, split within its level in proportion to what each slice got (never
      below ``got``).

    Partitioned (``work_conserving`` False): all three are the slice's share."""
    if not work_conserving:
        return guaranteed, guaranteed, guaranteed
    use = np.minimum(load, guaranteed)
    spare = np.maximum(total - use.sum(-1), 0.0)  # (B, L): unreserved capacity and unused guarantees
    excess = load - use
    got = use.copy()
    rate = np.empty_like(load)
    higher = np.zeros_like(total)  # what the levels above this one carry
    for level in np.unique(priority):  # 1 = highest first
        sel = priority == level
        want = excess[..., sel]
        tot = want.sum(-1)
        give = np.minimum(tot, spare)
        g = use[..., sel] + want * np.where(tot > 1e-12, give / np.maximum(tot, 1e-12), 0.0)[..., None]
        got[..., sel] = g
        spare = spare - give
        g_level = g.sum(-1)
        w = np.where(g_level[..., None] > 1e-12, g / np.maximum(g_level, 1e-12)[..., None], 1.0 / int(sel.sum()))
        rate[..., sel] = np.maximum(np.maximum(total - higher, 0.0)[..., None] * w, g)
        higher = higher + g_level
    return got, got + (spare / load.shape[-1])[..., None], rate


def flow_step(st: FlowState, arr: CityArrays, dt: float, arrivals: FloatArray, mbit_per_prb: FloatArray,
              ratio_pct: FloatArray, tn_share: FloatArray, link_up: BoolArray, paths: BoolArray | PathIndex,
              reach: BoolArray, tn_packet_bits: float) -> tuple[FlowState, StepOut]:
    """One fast sub-step.

    arrivals (B, C, S) Mbit; mbit_per_prb (B, C, S) Mbit/PRB/sub-step; ratio_pct (B, C, S, 3) percent;
    tn_share (B, L, S) in [0, 1]; link_up (B, L) bool; paths (B, C, L) bool, or for a batch of 1 its
    :class:`PathIndex` (same results, cost linear in the path links); reach (B, C) bool.
    """
    n = arr.n_prb  # (C,)
    q_in = st.ran_q + arrivals
    r = mbit_per_prb
    ok = r > 1e-12
    demand = np.where(ok, q_in / np.where(ok, r, 1.0), 0.0)
    alloc = allocate_prbs(demand, n, ratio_pct)
    served = np.minimum(alloc * r, q_in)
    q1 = q_in - served
    idle = np.maximum(n - alloc.sum(-1), 0.0)[..., None]
    mx_prb = np.maximum(ratio_pct[..., 2], ratio_pct[..., 1]) / 100.0 * n[:, None]
    avail_prb = np.minimum(alloc + idle, mx_prb)
    # its prioritised (min) PRBs serve the slice whenever it has data: lent to others only while it has none
    avail_prb = np.maximum(np.maximum(avail_prb, alloc), np.minimum(ratio_pct[..., 1] / 100.0 * n[:, None], mx_prb))
    rate = avail_prb * r / dt  # Mbit/s
    qmax = rate * arr.slice_discard_s
    drop_ran = np.maximum(q1 - qmax, 0.0)
    q2 = q1 - drop_ran
    ran_wait = np.minimum(np.where(rate > 1e-12, q2 / np.maximum(rate, 1e-12), 0.0), arr.slice_discard_s)
    pkt = arr.slice_packet_bits * 1e-6  # Mbit
    mu = rate / pkt
    lam = arrivals / dt / pkt
    beta_ran = np.maximum(mu - lam, BETA_FLOOR * mu)
    # ---- transport (bottleneck fluid model)
    x = served + st.tn_q
    pi = paths if isinstance(paths, PathIndex) else _DensePaths(paths, arr.link_delay_ms)
    link_sum, path_min, hop_s = pi.link_sum, pi.path_min, pi.hop_s
    load = link_sum(x)
    total = arr.link_cap_mbps * dt * link_up  # (B, L)
    got, cap, rate = link_capacity(load, tn_share * total[..., None], total, arr.tn_priority,
                                   arr.tn_work_conserving)
    phi = np.where(load > 1e-12, np.minimum(1.0, got / np.maximum(load, 1e-12)), 1.0)
    phi_path = path_min(phi)  # (B, C, S)
    phi_path = np.where(np.isinf(phi_path), 1.0, phi_path) * reach[..., None]
    delivered = x * phi_path
    z1 = x - delivered
    tn_rate = delivered / dt
    drop_tn = np.maximum(z1 - tn_rate * arr.slice_discard_s, 0.0)
    z2 = z1 - drop_tn
    tn_wait = np.minimum(np.where(tn_rate > 1e-12, z2 / np.maximum(tn_rate, 1e-12), 0.0), arr.slice_discard_s)
    carried = link_sum(delivered)
    mu_l = rate / dt / (tn_packet_bits * 1e-6)
    lam_l = load / dt / (tn_packet_bits * 1e-6)
    beta_l = np.maximum(mu_l - lam_l, BETA_FLOOR * mu_l) + 1e-9
    beta_tn = path_min(beta_l)
    inv_beta = 1.0 / np.maximum(beta_ran, 1e-9) + np.where(np.isinf(beta_tn), 0.0, 1.0 / beta_tn)
    delay_a = arr.slice_base_delay_s + ran_wait + tn_wait + hop_s
    util = alloc.sum(-1) / n
    new = FlowState(ran_q=q2, tn_q=z2, prb_util=util)
    out = StepOut(offered=arrivals, served=served, drop_ran=drop_ran, delivered=delivered, drop_tn=drop_tn,
                  alloc_prb=alloc, delay_a_s=delay_a, delay_beta=1.0 / inv_beta,
                  ran_delay_s=arr.slice_base_delay_s + ran_wait + np.minimum(1.0 / np.maximum(beta_ran, 1e-9),
                                                                            arr.slice_discard_s),
                  link_load=load, link_carried=carried, link_cap=cap)
    return new, out

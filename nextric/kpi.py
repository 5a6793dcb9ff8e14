r"""KPIs, SLA checks, the SLA Compliance Margin and the normalised control cost — defined once, here.

Over an evaluation window (a slow step, a horizon, a run) with fast sub-steps ``t``, cells ``c``:

* **loss rate** of slice ``s``: :math:`\ell_s = \sum_{t,c} (\mathrm{drop}^{RAN}_{tcs} + \mathrm{drop}^{TN}_{tcs})
  / \sum_{t,c} \mathrm{offered}_{tcs}` (0 when nothing was offered).
* **99th-percentile latency** of slice ``s``: the ``x`` solving
  :math:`\sum_{t,c} w_{tc} e^{-\beta_{tc}(x - a_{tc})^+} = 0.01 \sum_{t,c} w_{tc}`, i.e. the p99 of the
  traffic-weighted mixture of per-(t, c) shifted-exponential delays :math:`a + \mathrm{Exp}(\beta)`
  (see :mod:`testbed.core.flow`), weights = offered volume.
* **throughput** (Mbit/s): delivered volume / window duration; **PRB utilisation**: allocated / available
  PRBs; **link utilisation**: carried / capacity of up links.
* **SLA ceilings** (TWM paper, section X): URLLC p99 latency 20 ms and loss 10 %, FWA loss 20 %,
  eMBB loss 25 % (per-slice values come from the scenario).
* **SLA Compliance Margin**: :math:`\mathrm{SCM} = \min\big(\min_s (1 - \ell_s/\tau_s)^+,\;
  \min_{s: \tau^d_s} (1 - d^{99}_s/\tau^d_s)^+\big)`; SCM = 0 means some slice is at or beyond a ceiling.
* **Control cost** of a policy of ``K`` slow steps with PRB shares :math:`p_k \in [0,1]^{C\times S}` and
  transport shares :math:`b_k \in [0,1]^{L\times S}`:
  :math:`J = \frac{1}{K}\sum_k \frac{w_p \bar p_k + w_b \bar b_k + w_\Delta \delta_k}{w_p + w_b + w_\Delta}`, with
  :math:`\bar p_k = \frac{1}{C}\sum_{c,s} p_{kcs}` (allocated fraction), likewise :math:`\bar b_k`, and
  :math:`\delta_k = \frac{1}{2}\big(\frac{1}{2C}\|p_k - p_{k-1}\|_1 + \frac{1}{2L}\|b_k - b_{k-1}\|_1\big)`
  (:math:`p_0, b_0` = the policy in force before the plan). :math:`J \in [0, 1]`; uniform 1/3 everywhere costs
  :math:`(w_p + w_b)/(w_p + w_b + w_\Delta)`. **Cost reduction** :math:`\Delta_{cost} = 1 - J / J_{uniform}`.
  Where plans set guaranteed shares on work-conserving resources (``plan_shares: guaranteed``, ``transport.sharing:
  work_conserving``), :math:`p` and :math:`b` are the guarantees, i.e. the resources a plan commits; capacity a
  slice borrows while another's guarantee is idle is not charged to the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nextric.arrays import FloatArray

P99_TAIL = 0.01


class SlaCeilings(Protocol):
    """What the SLA formulas read of a slice: its loss ceiling (fraction) and p99 delay ceiling (ms, or None)."""

    @property
    def sla_loss(self) -> float: ...

    @property
    def sla_p99_ms(self) -> float | None: ...


@dataclass(frozen=True)
class CostWeights:
    """Normalised control cost weights (the formula in this module's docstring)."""

    w_prb: float
    w_transport: float
    w_change: float


def mixture_quantile(a: FloatArray, beta: FloatArray, w: FloatArray, tail: float = P99_TAIL,
                     iters: int = 40) -> FloatArray:
    """Upper-``tail`` quantile of a weighted mixture of shifted exponentials, reducing the last axis.

    a (..., N) s shifts, beta (..., N) 1/s rates, w (..., N) >= 0 weights. Returns (...) float64 s
    (0 where all weights are 0). Bisection on ``x``.
    """
    a, beta, w = np.broadcast_arrays(*(np.ascontiguousarray(x, dtype=np.float64) for x in (a, beta, w)))
    wsum = w.sum(-1)
    wn = w / np.where(wsum > 0, wsum, 1.0)[..., None]
    lo = np.where(w > 0, a, np.inf).min(-1)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(w > 0, a + np.log(1.0 / tail) / np.maximum(beta, 1e-12), -np.inf).max(-1)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    neg_beta = -beta
    t = np.empty(a.shape)  # scratch for the tail mass terms (one allocation for all iterations)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        np.subtract(mid[..., None], a, out=t)
        np.maximum(t, 0.0, out=t)
        np.multiply(neg_beta, t, out=t)
        np.exp(t, out=t)
        np.multiply(wn, t, out=t)
        above = t.sum(-1) > tail
        np.copyto(lo, mid, where=above)
        np.copyto(hi, mid, where=~above)
    return np.where(wsum > 0, hi, 0.0)


@dataclass(frozen=True, eq=False)
class KpiSummary:
    """KPIs over a window, batched over a leading B (arrays (B, S) unless noted)."""

    loss: FloatArray  #: (B, S) fraction
    p99_ms: FloatArray  #: (B, S) ms
    throughput_mbps: FloatArray  #: (B, S) Mbit/s delivered
    offered_mbps: FloatArray  #: (B, S)
    prb_util: FloatArray  #: (B, S) share of all PRBs used by each slice
    link_util: FloatArray  #: (B,) carried / capacity over up links
    scm: FloatArray  #: (B,) SLA Compliance Margin
    violation: FloatArray  #: (B, S) 1.0 where slice s breaks any of its ceilings
    any_violation: FloatArray  #: (B,)


def sla_headroom(loss: FloatArray, p99_ms: FloatArray, slices: Sequence[SlaCeilings]) -> FloatArray:
    """Headroom per ceiling (..., S + n_latency_ceilings), each (1 - value/ceiling) floored at 0."""
    cols = [np.maximum(1.0 - loss[..., i] / s.sla_loss, 0.0) for i, s in enumerate(slices)]
    cols += [np.maximum(1.0 - p99_ms[..., i] / s.sla_p99_ms, 0.0) for i, s in enumerate(slices)
             if s.sla_p99_ms is not None]
    return np.stack(cols, axis=-1)


def scm(loss: FloatArray, p99_ms: FloatArray, slices: Sequence[SlaCeilings]) -> FloatArray:
    """SLA Compliance Margin (...) from loss (..., S) and p99 (..., S) ms."""
    return np.asarray(sla_headroom(loss, p99_ms, slices).min(-1), dtype=np.float64)


def summarise(offered: FloatArray, dropped: FloatArray, delivered: FloatArray, delay_a_s: FloatArray,
              delay_beta: FloatArray, alloc_prb: FloatArray, n_prb: FloatArray, link_carried: FloatArray,
              link_cap: FloatArray, duration_s: float, slices: Sequence[SlaCeilings]) -> KpiSummary:
    """KPIs from stacked sub-step outputs: volumes (B, T, C, S) Mbit, delays (B, T, C, S),
    alloc (B, T, C, S) PRB, n_prb (C,), links (B, T, L, S) Mbit. See the module formulas."""
    off = offered.sum((1, 2))
    loss = np.where(off > 1e-12, dropped.sum((1, 2)) / np.maximum(off, 1e-12), 0.0)
    b, t, c, s = offered.shape
    a = np.moveaxis(delay_a_s, 3, 1).reshape(b, s, t * c)
    be = np.moveaxis(delay_beta, 3, 1).reshape(b, s, t * c)
    w = np.moveaxis(offered, 3, 1).reshape(b, s, t * c)
    p99 = mixture_quantile(a, be, w) * 1e3
    cap = link_cap.sum((1, 2, 3))
    lu = np.where(cap > 0, link_carried.sum((1, 2, 3)) / np.maximum(cap, 1e-12), 0.0)
    heads = sla_headroom(loss, p99, slices)
    viol = np.stack([(loss[:, i] >= sl.sla_loss) | ((sl.sla_p99_ms is not None) & (p99[:, i] >= (sl.sla_p99_ms or 0)))
                     for i, sl in enumerate(slices)], axis=-1).astype(np.float64)
    return KpiSummary(loss=loss, p99_ms=p99, throughput_mbps=delivered.sum((1, 2)) / duration_s,
                      offered_mbps=off / duration_s, prb_util=alloc_prb.sum((1, 2)) / (t * n_prb.sum()),
                      link_util=lu, scm=heads.min(-1), violation=viol, any_violation=viol.max(-1))


def control_cost(prb_shares: FloatArray, tn_shares: FloatArray, cost: CostWeights,
                 prev_prb: FloatArray | None = None, prev_tn: FloatArray | None = None) -> FloatArray:
    """Normalised control cost J (...) of policies prb (..., K, C, S), tn (..., K, L, S); see module doc.

    ``prev_*`` (..., C, S) / (..., L, S): policy before the plan (default: the plan's first step)."""
    p0 = prb_shares[..., :1, :, :] if prev_prb is None else prev_prb[..., None, :, :]
    b0 = tn_shares[..., :1, :, :] if prev_tn is None else prev_tn[..., None, :, :]
    p_prev = np.concatenate([p0, prb_shares[..., :-1, :, :]], axis=-3)
    b_prev = np.concatenate([b0, tn_shares[..., :-1, :, :]], axis=-3)
    n_c, n_l = prb_shares.shape[-2], tn_shares.shape[-2]
    pbar = prb_shares.sum((-1, -2)) / n_c
    bbar = tn_shares.sum((-1, -2)) / n_l
    delta = 0.5 * (np.abs(prb_shares - p_prev).sum((-1, -2)) / (2 * n_c)
                   + np.abs(tn_shares - b_prev).sum((-1, -2)) / (2 * n_l))
    wsum = cost.w_prb + cost.w_transport + cost.w_change
    per = (cost.w_prb * pbar + cost.w_transport * bbar + cost.w_change * delta) / wsum
    return np.asarray(per.mean(-1), dtype=np.float64)


def uniform_cost(cost: CostWeights) -> float:
    """Cost J of the static uniform 1/3 allocation (no changes)."""
    return (cost.w_prb + cost.w_transport) / (cost.w_prb + cost.w_transport + cost.w_change)


def cost_reduction(j: FloatArray, cost: CostWeights) -> FloatArray:
    """Delta_cost = 1 - J / J_uniform."""
    return 1.0 - j / uniform_cost(cost)

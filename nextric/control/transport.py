"""The transport share law (pure, batched): per link, split capacity among slices from the link's own telemetry.

One law, three callers: the transport steering xApp, the digital twin (every link of every candidate and seed
at once) and the benchmarks; :func:`link_shares` (one link) runs the same array code as
:func:`link_shares_batch`.

For link ``l`` with capacity ``K`` and per-slice offered load ``d_s`` (Mbit/s, over the last window):

1. request ``r_s = d_s * m_s / K`` (at least ``floor``) with a margin ``m_s`` per slice (latency-critical slices
   get more, since their tail latency needs a lightly loaded queue: an M/M/1 queue at utilisation ``rho`` has a
   p99 of about ``ln(100) / (mu (1 - rho))``);
2. the plan, when it has bounds for the link: a target share ``P_s`` blends in as ``w P_s + (1 - w) r_s`` and the
   request is clipped into ``[lower, upper]``; a lower bound is also the slice's floor under contention;
3. if the requests fit (``sum r <= 1``) each slice gets its request and the rest is spread in proportion to the
   requests (no capacity idles, except above a plan's upper bound); otherwise slices are served by SLA
   priority, each keeping its floor;
4. shares change by at most ``max_step`` per decision (the sum is renormalised to 1 if a step overshoots).

A link that is down keeps its shares (nothing to carry; the reroute shows up on the other links).

Array shapes: B batch x L links x S slices; shares are fractions of the link capacity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nextric.arrays import BoolArray, FloatArray


@dataclass(frozen=True)
class TransportParams:
    margin: Mapping[str, float]  #: per slice key; missing keys use default_margin
    priority: Sequence[str]  #: slice keys, most important first
    default_margin: float = 1.2
    floor: float = 0.02
    max_step: float = 0.3
    plan_weight: float = 0.5  #: weight of a plan's target share against the law's own request


@dataclass(frozen=True)
class ShareBounds:
    """The rApp's plan for one slice on one link (fractions of the link's capacity)."""

    lower: float = 0.0  #: share never below (also the slice's floor when the link is contended)
    upper: float = 1.0  #: share never above
    target: float | None = None  #: the plan's target share (blended with the law's request)


NO_BOUNDS = ShareBounds()


def sla_params(slices: Sequence[tuple[str, float, float | None]], latency_margin: float = 2.5,
               loss_margin: float = 1.3) -> TransportParams:
    """The steering's parameters from the slices' SLAs ``(key, loss ceiling, p99 ceiling or None)``: a delay
    ceiling earns a larger margin and the first place; then the tighter loss ceiling goes first."""
    margin = {k: (latency_margin if p99 else loss_margin) for k, _, p99 in slices}
    order = [k for k, _, _ in sorted(slices, key=lambda s: (s[2] is None, s[1]))]
    return TransportParams(margin=margin, priority=order)


@dataclass(frozen=True, eq=False)
class ShareTargets:
    """Plan bounds broadcastable to (B, L, S): lower / upper fractions, target fraction (nan: none)."""

    lower: FloatArray
    upper: FloatArray
    target: FloatArray


def no_targets() -> ShareTargets:
    return ShareTargets(np.zeros(1), np.ones(1), np.full(1, np.nan))


def link_shares_batch(offered_mbps: FloatArray, capacity_mbps: FloatArray, keys: Sequence[str],
                      params: TransportParams, previous: FloatArray | None = None,
                      targets: ShareTargets | None = None, up: BoolArray | None = None) -> FloatArray:
    """Shares (B, L, S) in [0, 1], each link's summing to at most 1.

    offered_mbps (B, L, S) Mbit/s over the last window; capacity_mbps broadcastable to (B, L) Mbit/s; ``keys``
    the S slice keys in axis order; ``previous`` (B, L, S) shares in force (None: none yet; nan: that entry
    unknown); ``up`` (B, L) link states (a down link keeps ``previous``)."""
    shape = offered_mbps.shape
    n_s = shape[-1]
    t = targets or no_targets()
    cap = np.maximum(np.broadcast_to(capacity_mbps, shape[:-1]), 1e-9)[..., None]
    margin = np.array([params.margin.get(k, params.default_margin) for k in keys])
    req = np.maximum(params.floor, offered_mbps * margin / cap)
    target = np.broadcast_to(t.target, shape)
    req = np.where(np.isnan(target), req, params.plan_weight * np.nan_to_num(target) + (1 - params.plan_weight) * req)
    lower = np.broadcast_to(t.lower, shape)
    upper = np.broadcast_to(t.upper, shape)
    req = np.minimum(np.maximum(req, lower), upper)
    total = req.sum(-1, keepdims=True)
    spread = np.minimum(req + (1.0 - total) * req / np.maximum(total, 1e-12), np.maximum(upper, req))
    # contention: by priority, each later slice keeps its floor
    prio = [k for k in params.priority if k in keys] + [k for k in keys if k not in params.priority]
    order = [list(keys).index(k) for k in prio]
    fl = np.maximum(params.floor, lower)
    served = np.zeros(shape)
    remaining = np.ones(shape[:-1])
    for i, j in enumerate(order):
        reserve = fl[..., order[i + 1:]].sum(-1) if i + 1 < n_s else 0.0
        served[..., j] = np.maximum(0.0, np.minimum(req[..., j], remaining - reserve))
        remaining = remaining - served[..., j]
    out = np.where(total <= 1.0, spread, served)
    if previous is not None:
        previous = np.where(np.isnan(previous), out, previous)
        out = previous + np.clip(out - previous, -params.max_step, params.max_step)
        tot = out.sum(-1, keepdims=True)
        out = np.where(tot > 1.0, out / np.maximum(tot, 1e-12), out)
        if up is not None:
            out = np.where(up[..., None], out, previous)
    return np.asarray(np.floor(out * 1e6) / 1e6)  # rounded down: the sum stays <= 1


def link_shares(
    offered_mbps: Mapping[str, float],
    capacity_mbps: float,
    params: TransportParams,
    previous: Mapping[str, float] | None = None,
    bounds: Mapping[str, ShareBounds] | None = None,
) -> dict[str, float]:
    """One link: shares in [0, 1] per slice key, summing to at most 1."""
    keys = list(offered_mbps)
    b = [(bounds or {}).get(k, NO_BOUNDS) for k in keys]
    targets = ShareTargets(np.array([x.lower for x in b]), np.array([x.upper for x in b]),
                           np.array([math.nan if x.target is None else x.target for x in b]))
    prev = None
    if previous:
        prev = np.array([[[previous.get(k, math.nan) for k in keys]]])
    out = link_shares_batch(np.array([[[offered_mbps[k] for k in keys]]]), np.array([[capacity_mbps]]), keys,
                            params, prev, targets)[0, 0]
    return {k: float(out[i]) for i, k in enumerate(keys)}

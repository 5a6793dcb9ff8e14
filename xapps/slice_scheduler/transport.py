"""Transport share decisions (pure): per link, split capacity among slices from the link's own telemetry.

For link ``l`` with capacity ``K`` and per-slice offered load ``d_s`` (Mbit/s, over the last window):

1. request ``r_s = d_s * m_s / K`` with a margin ``m_s`` per slice (latency-critical slices get more, since
   their tail latency needs a lightly loaded queue: an M/M/1 queue at utilisation ``rho`` has a p99 of about
   ``ln(100) / (mu (1 - rho))``);
2. if the requests fit (``sum r <= 1``) each slice gets its request and the rest is spread in proportion
   to the requests (no capacity idles); otherwise slices are served by SLA priority, each keeping a floor;
3. shares change by at most ``max_step`` per decision.

A link that is down keeps its shares (nothing to carry; the reroute shows up on the other links).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TransportParams:
    margin: Mapping[str, float]  #: per slice key; missing keys use default_margin
    priority: Sequence[str]  #: slice keys, most important first
    default_margin: float = 1.2
    floor: float = 0.02
    max_step: float = 0.3


def link_shares(
    offered_mbps: Mapping[str, float],
    capacity_mbps: float,
    params: TransportParams,
    previous: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Shares in [0, 1] per slice key, summing to at most 1."""
    keys = list(offered_mbps)
    cap = max(capacity_mbps, 1e-9)
    req = {k: max(params.floor, offered_mbps[k] * params.margin.get(k, params.default_margin) / cap) for k in keys}
    total = sum(req.values())
    if total <= 1.0:
        spare = 1.0 - total
        out = {k: req[k] + spare * req[k] / total for k in keys}
    else:
        out = {}
        remaining = 1.0
        order = [k for k in params.priority if k in req] + [k for k in keys if k not in params.priority]
        for i, k in enumerate(order):
            reserve = params.floor * (len(order) - i - 1)
            out[k] = max(0.0, min(req[k], remaining - reserve))
            remaining -= out[k]
    if previous:
        out = {
            k: previous.get(k, v) + max(-params.max_step, min(params.max_step, v - previous.get(k, v)))
            for k, v in out.items()
        }
        total = sum(out.values())
        if total > 1.0:
            out = {k: v / total for k, v in out.items()}
    return {k: math.floor(v * 1e6) / 1e6 for k, v in out.items()}  # rounded down: the sum stays <= 1

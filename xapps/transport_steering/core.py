"""One steering decision over every link (pure): link telemetry + the plan in force -> shares per link and slice.

The law is :mod:`nextric.control.transport` (shared with the rApp's digital twin). The shares in force (echoed by
the telemetry) are the smoothing baseline, so a restarted steering app carries on from what the network runs. A
link that is down is left alone (nothing to carry; its reroute shows on the links that carry the traffic now).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nextric.control.policy import ControlPlan
from nextric.control.transport import ShareTargets, TransportParams, link_shares_batch


@dataclass(frozen=True)
class LinkTelemetry:
    """One link over the last period: capacity Mbit/s, state, and per slice (in ``keys`` order) the offered load
    Mbit/s and the share in force."""

    link_id: str
    capacity_mbps: float
    up: bool
    offered_mbps: tuple[float, ...]
    share: tuple[float, ...]


def decide(links: Sequence[LinkTelemetry], keys: Sequence[str], params: TransportParams, plan: ControlPlan,
           now_ms: int) -> dict[str, dict[str, float]]:
    """New shares of every *up* link: {link id: {slice key: share}}."""
    live = [ln for ln in links if ln.up and ln.capacity_mbps > 0]
    if not live:
        return {}
    offered = np.array([[ln.offered_mbps for ln in live]])
    prev = np.array([[ln.share for ln in live]])
    bounds = [plan.link_bounds(ln.link_id, now_ms) for ln in live]
    lower = np.array([[[b[k].lower if k in b else 0.0 for k in keys] for b in bounds]])
    upper = np.array([[[b[k].upper if k in b else 1.0 for k in keys] for b in bounds]])
    target = np.array([[[b[k].target if k in b and b[k].target is not None else math.nan for k in keys]
                        for b in bounds]])
    out = link_shares_batch(offered, np.array([[ln.capacity_mbps for ln in live]]), keys, params, prev,
                            ShareTargets(lower, upper, target))[0]
    return {ln.link_id: {k: float(out[i, j]) for j, k in enumerate(keys)} for i, ln in enumerate(live)}

"""The scalar transport law before vectorisation (xapps/slice_scheduler/transport.py at ddf1e18): the oracle of
nextric.control.transport (tests/control/test_laws.py)."""

# ruff: noqa
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

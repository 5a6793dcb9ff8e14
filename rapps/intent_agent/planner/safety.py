"""Surge-aware safety projection (improved planner only): floors on the shares that carry the observed load
multiplied by the configured shock surge in the zone the shock family hits, projected onto every candidate.

The paper's pipeline discards structurally unsafe candidates; the improved planner instead *repairs* them:
``project`` raises each share to its floor and shrinks the slack of the other slices of the row so that the row
still sums to <= 1. Floors (from the scenario configuration, never from the hidden emulator state):

* cells in the family's zone (hotspot: hospital, wave: corridor) and the links their traffic is routed over get
  ``need x intensity_s`` (the configured per-slice demand multiplier at a shock centre);
* URLLC floors are divided by ``URLLC_TARGET_UTIL`` (the M/M/1 tail of a queue grows fast above it).
"""

from __future__ import annotations

import numpy as np

from nextric.arrays import FloatArray
from nextric.geometry import in_zone
from rapps.intent_agent.worldmodels.features import CityRaster, Context, prb_need

URLLC = 1
URLLC_TARGET_UTIL = 0.5


def surge_floors(ras: CityRaster, ctx: Context) -> tuple[FloatArray, FloatArray]:
    """PRB floors (C, S) and transport floors (L, S) in [0, 1]."""
    topo = ras.topo
    shock = topo.shock("wave" if ctx.family == "wave" else "hotspot")
    if shock is None:
        return np.zeros((topo.n_cells, topo.n_slices)), np.zeros((topo.n_links, topo.n_slices))
    zone_kind = "corridor" if ctx.family == "wave" else "hospital"
    intensity = np.asarray(shock.intensity, dtype=np.float64)
    xy = topo.cell_xy
    hit = np.zeros(topo.n_cells, dtype=bool)
    for z in topo.zones:
        if z.kind == zone_kind:
            hit |= in_zone(z, xy)
    mult = np.where(hit[:, None], intensity[None, :], 1.0)
    util = np.ones(topo.n_slices)
    util[URLLC] = URLLC_TARGET_UTIL
    prb_f = np.minimum(prb_need(ras, ctx) * mult / util, 0.9)
    p, _ = ras.paths(ctx.link_up)
    load = p.T.astype(np.float64) @ (ctx.offered_mbps * mult)
    tn_f = np.minimum(load / ras.link_cap_mbps[:, None] / util, 0.9)
    return prb_f, tn_f


def project(x: FloatArray, floor: FloatArray) -> FloatArray:
    """Raise x (..., R, S) to floor (R, S), shrinking the other entries' slack so rows stay <= 1."""
    f = np.broadcast_to(floor, x.shape)
    fs = f.sum(-1, keepdims=True)
    f = np.where(fs > 1.0, f / np.maximum(fs, 1e-12), f)
    y = np.maximum(x, f)
    slack = y - f
    room = 1.0 - f.sum(-1, keepdims=True)
    s = slack.sum(-1, keepdims=True)
    scale = np.where(y.sum(-1, keepdims=True) > 1.0, room / np.maximum(s, 1e-12), 1.0)
    return np.asarray(f + slack * np.minimum(scale, 1.0))

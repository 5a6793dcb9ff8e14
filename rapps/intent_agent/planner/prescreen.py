"""Rule prescreen (the paper's LLM prescreen, here explicit rules at zero FWM/CDWM cost): reject candidates
that are structurally unsafe for the observed load before any surrogate scoring.

A candidate (prb (N, K, C, S), tn (N, K, L, S)) is rejected when, at any step:

* a URLLC share covers less than the observed URLLC need of its cell (``need`` = offered load / capacity of all
  the cell's PRBs, :func:`rapps.intent_agent.worldmodels.features.prb_need`), or a URLLC transport share less
  than the URLLC load routed over the link;
* any slice's share covers less than ``MIN_COVER`` of its observed need in any cell or link;
* shares leave the admissible bounds, or one row changes by more than ``bounds.max_row_change`` (L1) between
  consecutive steps (including from the policy in force).
"""

from __future__ import annotations

import numpy as np

from nextric.arrays import FloatArray
from rapps.intent_agent.planner.api import ActionBounds
from rapps.intent_agent.worldmodels.features import CityRaster, Context, link_need, prb_need

MIN_COVER = 0.8
URLLC = 1


def prescreen(ras: CityRaster, ctx: Context, prb: FloatArray, tn: FloatArray, prev_prb: FloatArray,
              prev_tn: FloatArray, bounds: ActionBounds) -> tuple[np.ndarray, list[str]]:
    """(N,) bool keep mask and a reason per candidate ("" when kept)."""
    need_p, need_t = np.minimum(prb_need(ras, ctx), 1.0), np.minimum(link_need(ras, ctx), 1.0)
    short_p = prb < MIN_COVER * need_p[None, None] - 1e-9  # (N, K, C, S)
    short_t = tn < MIN_COVER * need_t[None, None] - 1e-9
    u_p = prb[..., URLLC] < need_p[None, None, :, URLLC] - 1e-9
    u_t = tn[..., URLLC] < need_t[None, None, :, URLLC] - 1e-9
    p_all = np.concatenate([prev_prb[None, None].repeat(len(prb), 0), prb], 1)
    t_all = np.concatenate([prev_tn[None, None].repeat(len(tn), 0), tn], 1)
    jump = np.maximum(np.abs(np.diff(p_all, axis=1)).sum(-1).max((1, 2)),
                      np.abs(np.diff(t_all, axis=1)).sum(-1).max((1, 2)))
    out_b = np.asarray(((prb < bounds.prb_min - 1e-9) | (prb > bounds.prb_max + 1e-9)).any((1, 2, 3)) | (
        (tn < bounds.tn_min - 1e-9) | (tn > bounds.tn_max + 1e-9)).any((1, 2, 3)), dtype=bool)
    reasons = []
    keep = np.ones(len(prb), dtype=bool)
    for i in range(len(prb)):
        r = ""
        if u_p[i].any():
            r = f"URLLC PRB share below observed need in cell(s) {sorted(set(np.nonzero(u_p[i])[1].tolist()))}"
        elif u_t[i].any():
            r = f"URLLC transport share below routed load on link(s) {sorted(set(np.nonzero(u_t[i])[1].tolist()))}"
        elif short_p[i].any():
            r = f"a slice gets < {MIN_COVER:.0%} of its observed PRB need"
        elif short_t[i].any():
            r = f"a slice gets < {MIN_COVER:.0%} of its routed transport need"
        elif out_b[i]:
            r = "shares outside the admissible bounds"
        elif jump[i] > bounds.max_row_change + 1e-9:
            r = f"row change {jump[i]:.2f} > {bounds.max_row_change}"
        keep[i] = not r
        reasons.append(r)
    return keep, reasons

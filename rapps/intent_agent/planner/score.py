"""Surrogate scoring of candidate plans with the world models (FWM spatial score, CDWM dynamics, both).

Modes (utility = ``w.scm`` x SCM estimate + ``w.cost`` x cost reduction - ``w.risk`` x violation risk):

* ``fwm``: FWM only — the spatial loss estimate per slice from the predicted per-cell load, RAN stress and
  transport bottleneck of the plan's mean action, its loss-only SCM (no latency, no dynamics), no risk term;
* ``cdwm``: CDWM only with the field inputs masked — mean SCM over predictive samples and its risk;
* ``twm``: CDWM with FWM features; SCM estimate = min(CDWM mean SCM, FWM spatial SCM) (both layers must agree);
* ``risk``: as ``twm`` but the SCM estimate is the ``w.risk_quantile`` quantile of the predictive samples
  (risk-aware choice on the prediction intervals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextric.arrays import FloatArray
from nextric.kpi import sla_headroom
from rapps.intent_agent.planner.api import ObjectiveWeights
from rapps.intent_agent.worldmodels.features import CityRaster, Context
from rapps.intent_agent.worldmodels.serving import Forecast, WorldModels


def fwm_scm(ras: CityRaster, fields: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Spatial loss estimate per slice (N, S) and its loss-only SCM (N,) from FWM fields (N, C, 12)."""
    load = np.maximum(np.expm1(fields[..., 3:6]), 0.0)
    stress = np.clip(fields[..., 6:9], 0.0, 1.0)
    tn = np.clip(fields[..., 9:10], 0.0, 1.0)
    lost = load * np.clip(stress + tn, 0.0, 1.0)
    loss = lost.sum(1) / np.maximum(load.sum(1), 1e-9)
    heads = sla_headroom(loss, np.zeros_like(loss), ras.topo.slices)
    return loss, np.asarray(heads.min(-1))


@dataclass(frozen=True, eq=False)
class Scores:
    utility: FloatArray  #: (N,)
    scm_est: FloatArray  #: (N,)
    dcost: FloatArray  #: (N,)
    risk: FloatArray  #: (N,)
    fwm: FloatArray  #: (N,) FWM spatial SCM (nan when not computed)
    fc: Forecast | None

    def why(self, i: int) -> str:
        return (f"SCM est {self.scm_est[i]:.3f}, dcost {self.dcost[i]:.3f}, risk {self.risk[i]:.2f}"
                + ("" if np.isnan(self.fwm[i]) else f", FWM spatial SCM {self.fwm[i]:.3f}"))

    @staticmethod
    def concat(parts: list[Scores]) -> Scores:
        fcs = [p.fc for p in parts]
        fc = None
        if all(f is not None for f in fcs):
            fl = [f for f in fcs if f is not None]
            q = min(f.scm.shape[0] for f in fl)
            fc = Forecast(np.concatenate([f.loss[:q] for f in fl], 1), np.concatenate([f.p99_ms[:q] for f in fl], 1),
                          np.concatenate([f.scm[:q] for f in fl], 1), np.concatenate([f.member_scm for f in fl], 1),
                          np.concatenate([f.step_mean for f in fl]), np.concatenate([f.thp_mbps for f in fl]))
        def cat(a: str) -> FloatArray:
            return np.concatenate([getattr(p, a) for p in parts])

        return Scores(cat("utility"), cat("scm_est"), cat("dcost"), cat("risk"), cat("fwm"), fc)


def surrogate_scores(wm: WorldModels, ras: CityRaster, ctx: Context, prb: FloatArray, tn: FloatArray,
                     dcost: FloatArray, w: ObjectiveWeights, mode: str, n_samples: int, seed: int) -> Scores:
    """Score N plans prb (N, K, C, S), tn (N, K, L, S) (see module docstring)."""
    n = len(prb)
    fields = wm.fields(ras, ctx, prb.mean(1), tn.mean(1)) if mode != "cdwm" else None
    f_scm = fwm_scm(ras, fields)[1] if fields is not None else np.full(n, np.nan)
    if mode == "fwm":
        return Scores(w.scm * f_scm + w.cost * dcost, f_scm, dcost, np.zeros(n), f_scm, None)
    fc = wm.forecast(ras, ctx, prb, tn, n_samples=n_samples, seed=seed, use_fields=mode != "cdwm", fields=fields)
    risk = fc.risk()
    if mode == "cdwm":
        est = fc.scm_mean()
    elif mode == "twm":
        est = np.minimum(fc.scm_mean(), f_scm)
    else:
        est = np.minimum(fc.scm_quantile(w.risk_quantile), f_scm)
    return Scores(w.scm * est + w.cost * dcost - w.risk * risk, est, dcost, risk, f_scm, fc)

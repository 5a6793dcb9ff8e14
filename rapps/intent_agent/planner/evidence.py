"""World-model evidence for one plan: what the FWM and the CDWM predict for it (the harness's ``run_fwm`` and
``run_cdwm`` tools). Pure given the models: observations + plan in, predictions out.

Shapes as in :mod:`rapps.intent_agent.planner.api`: ``prb`` (K, C, S), ``tn`` (K, L, S) shares in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nextric.arrays import BoolArray, FloatArray
from nextric.errors import ValidationError
from nextric.kpm import KpmReport
from nextric.topology import Topology
from rapps.intent_agent.worldmodels.features import FIELD_FEATURES, CityRaster, Context
from rapps.intent_agent.worldmodels.serving import WorldModels


@dataclass(frozen=True, eq=False)
class Observed:
    """What the world models are conditioned on: the city, the raster, the context estimated from KPM."""

    sc: Topology
    ras: CityRaster
    ctx: Context

    @staticmethod
    def of(sc: Topology, ras: CityRaster, kpm: Sequence[KpmReport], regime: str,
           link_up: BoolArray | None = None) -> Observed:
        if not kpm:
            raise ValidationError("no KPM observed yet: the world models are conditioned on observations")
        return Observed(sc, ras, Context.observed(sc, kpm, regime, link_up))


def _check(obs: Observed, prb: FloatArray, tn: FloatArray) -> None:
    sc = obs.sc
    if prb.ndim != 3 or prb.shape[1:] != (sc.n_cells, sc.n_slices):
        raise ValidationError(f"plan PRB shares must be (K, {sc.n_cells}, {sc.n_slices}), got {prb.shape}")
    if tn.shape != (prb.shape[0], sc.n_links, sc.n_slices):
        raise ValidationError(f"plan transport shares must be ({prb.shape[0]}, {sc.n_links}, {sc.n_slices}), "
                              f"got {tn.shape}")


def field_evidence(wm: WorldModels, obs: Observed, prb: FloatArray, tn: FloatArray, step: int = 0) -> dict[str, Any]:
    """FWM field features per cell under the plan's action at ``step`` (``FIELD_FEATURES``, 12 per cell), and
    the cells whose URLLC stress (RAN drop fraction) and transport bottleneck are highest."""
    _check(obs, prb, tn)
    if not 0 <= step < prb.shape[0]:
        raise ValidationError(f"step {step} outside the plan's {prb.shape[0]} slow steps")
    f = wm.fields(obs.ras, obs.ctx, prb[step][None], tn[step][None])[0]  # (C, 12)
    ids = [c.cell_id for c in obs.sc.cells]
    col = {n: i for i, n in enumerate(FIELD_FEATURES)}

    def worst(name: str) -> dict[str, Any]:
        i = int(np.argmax(f[:, col[name]]))
        return {"cell": ids[i], "value": round(float(f[i, col[name]]), 4)}

    return {"step": step, "features": list(FIELD_FEATURES),
            "cells": {str(cid): [round(float(x), 4) for x in f[i]] for i, cid in enumerate(ids)},
            "worst": {n: worst(n) for n in ("stress_urllc", "stress_embb", "stress_fwa", "tn_bottleneck")}}


def dynamics_evidence(wm: WorldModels, obs: Observed, prb: FloatArray, tn: FloatArray, samples: int = 8,
                      seed: int = 0) -> dict[str, Any]:
    """CDWM predictive distribution of the plan's horizon KPIs: SCM mean and 90 % interval, P(SCM = 0), the
    ensemble's disagreement, and per slice the horizon loss and p99 latency with their 90 % intervals."""
    _check(obs, prb, tn)
    if samples < 1:
        raise ValidationError("samples must be >= 1")
    fc = wm.forecast(obs.ras, obs.ctx, prb[None], tn[None], n_samples=samples, seed=seed)

    def band(x: FloatArray) -> dict[str, float]:
        return {"mean": round(float(x.mean()), 4), "p05": round(float(np.quantile(x, 0.05)), 4),
                "p95": round(float(np.quantile(x, 0.95)), 4)}

    names = [s.name for s in obs.sc.slices]
    return {"samples": int(fc.scm.shape[0]), "scm": band(fc.scm[:, 0]), "violation_risk": float(fc.risk()[0]),
            "disagreement": round(float(fc.disagreement()[0]), 4),
            "slices": {n: {"loss": band(fc.loss[:, 0, j]), "p99_ms": band(fc.p99_ms[:, 0, j])}
                       for j, n in enumerate(names)}}

"""Candidate policies: a continuous parameter vector -> a K-step shares plan, and the 256-candidate library.

A plan is generated from the city configuration and the observed context by ``D_THETA`` unbounded parameters
``u`` (so that Gaussian search such as CEM can move freely; each is squashed into its range):

* PRB part: zone splits (softmax of 3 logits for each cell kind: generic, hospital, FWA, corridor), a
  demand-proportional split (``floor_s + headroom_s x need_cs``, need = observed load / capacity of the cell's
  PRBs), the blend ``alpha`` between the two, and the row total ``rho`` of the zone split;
* transport part: the same for link classes (generic, corridor, hospital uplink) with the observed routed load;
* a ramp: the row totals change linearly by ``ramp`` (+-20 %) over the horizon.

Rows summing above 1 are scaled to 1; unallocated shares stay idle (isolated RRMPolicyRatio), which is where
cost reduction comes from (``nextric.kpi.control_cost``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextric.arrays import FloatArray
from nextric.control.reference import hand_tuned_shares
from rapps.intent_agent.worldmodels.features import CityRaster, Context, link_need, prb_need

N_ZONE_KINDS = 4  # generic, hospital, fwa, corridor (CityRaster.cell_kind)
N_LINK_KINDS = 3  # generic, corridor, hospital uplink (CityRaster.link_kind)
S = 3
# layout of u
_SL = {
    "prb_zone": (0, N_ZONE_KINDS * S),
    "prb_head": (12, 15), "prb_floor": (15, 18), "prb_alpha": (18, 19), "prb_rho": (19, 20),
    "tn_zone": (20, 20 + N_LINK_KINDS * S),
    "tn_head": (29, 32), "tn_floor": (32, 35), "tn_alpha": (35, 36), "tn_rho": (36, 37), "ramp": (37, 38),
}
D_THETA = 38
FAMILIES = ("uniform", "hand-tuned", "zone", "demand", "mixed")


def _sig(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def _logit(p: FloatArray | float) -> FloatArray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.asarray(np.log(p / (1 - p)))


def _part(u: FloatArray, key: str) -> FloatArray:
    a, b = _SL[key]
    return u[..., a:b]


def _softmax(x: FloatArray) -> FloatArray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return np.asarray(e / e.sum(-1, keepdims=True))


def _cap_rows(x: FloatArray) -> FloatArray:
    s = x.sum(-1, keepdims=True)
    return np.asarray(np.where(s > 1.0, x / np.maximum(s, 1e-12), x))


@dataclass(frozen=True, eq=False)
class Plans:
    """A batch of plans: prb (N, K, C, S), tn (N, K, L, S), their parameters u (N, D) and names/families."""

    prb: FloatArray
    tn: FloatArray
    u: FloatArray
    names: tuple[str, ...]
    families: tuple[str, ...]

    def take(self, idx: np.ndarray | list[int]) -> Plans:
        ii = np.asarray(idx, dtype=np.int64)
        return Plans(self.prb[ii], self.tn[ii], self.u[ii], tuple(self.names[i] for i in ii),
                     tuple(self.families[i] for i in ii))

    @staticmethod
    def concat(parts: list[Plans]) -> Plans:
        return Plans(np.concatenate([p.prb for p in parts]), np.concatenate([p.tn for p in parts]),
                     np.concatenate([p.u for p in parts]), tuple(n for p in parts for n in p.names),
                     tuple(f for p in parts for f in p.families))

    def __len__(self) -> int:
        return len(self.names)


def plans_from_params(ras: CityRaster, ctx: Context, u: FloatArray, horizon: int) -> tuple[FloatArray, FloatArray]:
    """prb (N, K, C, S), tn (N, K, L, S) from parameters u (N, D_THETA)."""
    u = np.atleast_2d(u)
    n = u.shape[0]
    need_p = prb_need(ras, ctx)  # (C, S)
    need_t = link_need(ras, ctx)  # (L, S)
    zl = _softmax(_part(u, "prb_zone").reshape(n, N_ZONE_KINDS, S))[:, ras.cell_kind]  # (N, C, S)
    rho = 0.5 + 0.5 * _sig(_part(u, "prb_rho"))  # (N, 1) in [0.5, 1]
    head = 0.8 + 3.2 * _sig(_part(u, "prb_head"))  # (N, S) in [0.8, 4]
    floor = 0.25 * _sig(_part(u, "prb_floor"))  # (N, S) in [0, 0.25]
    alpha = _sig(_part(u, "prb_alpha"))[:, :, None]  # (N, 1, 1)
    dem = floor[:, None, :] + head[:, None, :] * need_p[None]
    prb0 = _cap_rows(alpha * _cap_rows(dem) + (1 - alpha) * rho[:, :, None] * zl)
    tz = _softmax(_part(u, "tn_zone").reshape(n, N_LINK_KINDS, S))[:, ras.link_kind]  # (N, L, S)
    trho = 0.5 + 0.5 * _sig(_part(u, "tn_rho"))
    thead = 0.8 + 3.2 * _sig(_part(u, "tn_head"))
    tfloor = 0.25 * _sig(_part(u, "tn_floor"))
    talpha = _sig(_part(u, "tn_alpha"))[:, :, None]
    tdem = tfloor[:, None, :] + thead[:, None, :] * need_t[None]
    tn0 = _cap_rows(talpha * _cap_rows(tdem) + (1 - talpha) * trho[:, :, None] * tz)
    ramp = 0.4 * (_sig(_part(u, "ramp")) - 0.5)  # (N, 1) in [-0.2, 0.2]
    tk = (np.arange(horizon) / max(horizon - 1, 1) - 0.5)[None, :]  # (1, K)
    scale = (1.0 + ramp * tk)[:, :, None, None]  # (N, K, 1, 1)
    prb = _cap_rows(np.clip(prb0[:, None] * scale, 0.0, 1.0))
    tn = _cap_rows(np.clip(tn0[:, None] * scale, 0.0, 1.0))
    return prb, tn


def family_centre(ras: CityRaster, family: str) -> FloatArray:
    """Centre u (D_THETA,) of a library family."""
    u = np.zeros(D_THETA)
    a = _SL["prb_alpha"][0]
    ta, _ = _SL["tn_alpha"]
    u[_SL["prb_rho"][0]] = 4.0  # rho ~ 1
    u[_SL["tn_rho"][0]] = 4.0
    if family in ("uniform", "zone"):
        u[a] = u[ta] = -5.0
    elif family == "hand-tuned":
        u[a] = u[ta] = -5.0
        prb, tn = hand_tuned_shares(ras.topo)
        z = np.zeros((N_ZONE_KINDS, S))
        for k in range(N_ZONE_KINDS):
            rows = prb[ras.cell_kind == k]
            z[k] = np.log(rows.mean(0) if len(rows) else np.full(S, 1 / S))
        za, zb = _SL["prb_zone"]
        u[za:zb] = z.ravel()
        t = np.zeros((N_LINK_KINDS, S))
        for k in range(N_LINK_KINDS):
            rows = tn[ras.link_kind == k]
            t[k] = np.log(rows.mean(0) if len(rows) else np.full(S, 1 / S))
        ta2, tb2 = _SL["tn_zone"]
        u[ta2:tb2] = t.ravel()
    elif family == "demand":
        u[a] = u[ta] = 5.0
        u[_SL["prb_head"][0]:_SL["prb_head"][1]] = _logit((np.array([1.5, 2.5, 1.5]) - 0.8) / 3.2)
        u[_SL["tn_head"][0]:_SL["tn_head"][1]] = _logit((np.array([1.5, 2.5, 1.5]) - 0.8) / 3.2)
        u[_SL["prb_floor"][0]:_SL["prb_floor"][1]] = _logit(np.array([0.05, 0.08, 0.05]) / 0.25)
        u[_SL["tn_floor"][0]:_SL["tn_floor"][1]] = _logit(np.array([0.05, 0.08, 0.05]) / 0.25)
    elif family == "mixed":
        u[a] = u[ta] = 0.0
    else:
        raise ValueError(f"unknown family {family!r}")
    return u


def sample_params(ras: CityRaster, n: int, rng: np.random.Generator, spread: float = 1.0) -> tuple[FloatArray,
                                                                                                    list[str]]:
    """``n`` parameter vectors spread over the families (the first of each family is its centre)."""
    fams = [FAMILIES[i % len(FAMILIES)] for i in range(n)]
    us = []
    seen: set[str] = set()
    for f in fams:
        c = family_centre(ras, f)
        if f in seen:
            noise = rng.normal(0.0, spread, D_THETA)
            if f == "uniform":  # uniform family: vary only the row totals and the ramp
                mask = np.zeros(D_THETA)
                for key in ("prb_rho", "tn_rho", "ramp"):
                    mask[_SL[key][0]:_SL[key][1]] = 1.0
                noise = noise * mask * 2.0
            c = c + noise
        seen.add(f)
        us.append(c)
    return np.stack(us), fams


def library(ras: CityRaster, ctx: Context, n: int, horizon: int, seed: int) -> Plans:
    """The candidate library: ``n`` plans generated from the city configuration and the context."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7_001]))
    u, fams = sample_params(ras, n, rng)
    prb, tn = plans_from_params(ras, ctx, u, horizon)
    counts: dict[str, int] = {}
    names = []
    for f in fams:
        names.append(f"library/{f}-{counts.get(f, 0)}")
        counts[f] = counts.get(f, 0) + 1
    return Plans(prb, tn, u, tuple(names), tuple(fams))


def uniform_plan(ras: CityRaster, horizon: int) -> tuple[FloatArray, FloatArray]:
    """Uniform 1/S everywhere: prb (K, C, S), tn (K, L, S)."""
    t = ras.topo
    return np.full((horizon, t.n_cells, S), 1.0 / S), np.full((horizon, t.n_links, S), 1.0 / S)


def rules_params(ras: CityRaster) -> FloatArray:
    """The world-model-free agent's fixed rule: demand-proportional shares with fixed headroom (u, (D,))."""
    return family_centre(ras, "demand")

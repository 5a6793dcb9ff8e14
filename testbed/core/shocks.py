"""Exogenous shocks: hotspots (spatial surges near a zone), waves (events travelling a corridor) and
transport-link failures with repair — batched over a leading dimension ``B``.

The state is explicit (:class:`ShockState`); :func:`shock_step` draws only from the passed generator.
Demand multiplier at point ``x`` for slice ``s``::

    m(x, s) = 1 + sum_k (I_ks - 1) exp(-|x - c_k|^2 / (2 r^2))                 (hotspots)
            + sum_k (J_ks - 1) exp(-(a(x) - a_k)^2 / (2 w^2)) 1[d(x) <= h]       (waves)

with ``a(x)`` the arc length of ``x`` projected on the corridor, ``d(x)`` its distance to it.
Link ``l`` fails with probability ``1 - exp(-lambda_l dt)`` per fast step, ``lambda_l`` = base hazard x
OOD multiplier x (wave multiplier if a wave is active and the link is a corridor link) x (hotspot
multiplier if a hotspot is active and the link carries hospital traffic); it is repaired after an
exponential time with mean MTTR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextric.errors import ConfigError
from nextric.geometry import polyline_length, polyline_projection
from testbed.core.params import CityArrays, ScenarioParams
from testbed.core.records import evolve
from testbed.core.types import BoolArray, FloatArray

MAX_HOTSPOTS = 4
MAX_WAVES = 3
FAMILIES = ("hotspot", "wave", "both", "none")


@dataclass(frozen=True)
class ShockRegime:
    """Which shock family is active and whether OOD amplification applies."""

    family: str = "hotspot"
    ood: bool = False

    @staticmethod
    def parse(name: str) -> ShockRegime:
        """``"hotspot-ID"``, ``"wave-OOD"``, ``"both-ID"``, ``"none"`` (case-insensitive)."""
        parts = name.lower().split("-")
        fam = parts[0]
        if fam not in FAMILIES or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("id", "ood")):
            raise ConfigError(f"unknown shock scenario {name!r}: expected <hotspot|wave|both|none>-<ID|OOD>")
        return ShockRegime(fam, len(parts) == 2 and parts[1] == "ood")

    @property
    def label(self) -> str:
        return f"{self.family}-{'OOD' if self.ood else 'ID'}"


@dataclass(frozen=True, eq=False)
class ShockState:
    """Shock processes, batched. Shapes: B batch, Kh/Kw slots, S slices, L links."""

    hs_active: BoolArray  #: (B, Kh)
    hs_xy: FloatArray  #: (B, Kh, 2) m
    hs_left_s: FloatArray  #: (B, Kh) s of life left
    hs_int: FloatArray  #: (B, Kh, S) peak demand multiplier
    wv_active: BoolArray  #: (B, Kw)
    wv_pos_m: FloatArray  #: (B, Kw) arc length along the corridor
    wv_left_s: FloatArray  #: (B, Kw)
    wv_int: FloatArray  #: (B, Kw, S)
    link_up: BoolArray  #: (B, L)
    link_down_left_s: FloatArray  #: (B, L)


@dataclass(frozen=True, eq=False)
class ShockModel:
    """Pre-computed constants for a scenario + regime (build with :func:`shock_model`)."""

    regime: ShockRegime
    dt_s: float
    hs_rate: float  #: per fast step
    hs_center: FloatArray  #: (2,)
    hs_sigma: float
    hs_radius: float
    hs_int: FloatArray  #: (S,)
    hs_dur: float
    hs_link: BoolArray  #: (L,) links whose failure hazard a hotspot raises
    hs_fail_mult: float
    wv_rate: float
    wv_poly: FloatArray  #: (V, 2)
    wv_len: float
    wv_half_width: float
    wv_speed: float
    wv_width: float
    wv_int: FloatArray
    wv_dur: float
    wv_fail_mult: float
    link_corridor: BoolArray  #: (L,)
    fail_hazard: float  #: per s
    mttr_s: float


def shock_model(sc: ScenarioParams, arr: CityArrays, regime: ShockRegime) -> ShockModel:
    """Constants for ``regime`` on scenario ``sc`` (OOD scales intensity, duration, rate, failures)."""
    o = sc.ood
    i_m = o.intensity_mult if regime.ood else 1.0
    d_m = o.duration_mult if regime.ood else 1.0
    r_m = o.rate_mult if regime.ood else 1.0
    f_m = o.fail_mult if regime.ood else 1.0
    zones = {z.name: z for z in sc.zones}
    n_s = sc.n_slices
    dt = sc.timing.fast_step_s
    per_fast = 1.0 / sc.timing.fast_per_slow
    hs_on = sc.hotspot is not None and regime.family in ("hotspot", "both")
    wv_on = sc.wave is not None and regime.family in ("wave", "both")
    hs_link = np.zeros(sc.n_links, dtype=bool)
    if sc.hotspot is not None:
        hz = zones[sc.hotspot.zone]
        from nextric.geometry import in_zone

        hot_cells = in_zone(hz, arr.cell_xy)
        hot_nodes = set(arr.cell_agg[hot_cells].tolist())
        hs_link = np.isin(arr.link_src, list(hot_nodes))
    hs = sc.hotspot
    wv = sc.wave
    poly = (np.asarray(zones[wv.zone].points, dtype=np.float64) if wv is not None
            else np.array([[0.0, 0.0], [1.0, 0.0]]))
    return ShockModel(
        regime=regime, dt_s=dt,
        hs_rate=(hs.rate_per_slow_step * per_fast * r_m) if (hs_on and hs is not None) else 0.0,
        hs_center=np.asarray(zones[hs.zone].points[0] if hs is not None else (0.0, 0.0), dtype=np.float64),
        hs_sigma=hs.position_sigma_m if hs is not None else 1.0,
        hs_radius=hs.radius_m if hs is not None else 1.0,
        hs_int=1.0 + (np.asarray(hs.intensity) - 1.0) * i_m if hs is not None else np.ones(n_s),
        hs_dur=(hs.duration_s * d_m) if hs is not None else 1.0, hs_link=hs_link,
        hs_fail_mult=hs.link_fail_mult if hs is not None else 1.0,
        wv_rate=(wv.rate_per_slow_step * per_fast * r_m) if (wv_on and wv is not None) else 0.0,
        wv_poly=poly, wv_len=polyline_length(poly),
        wv_half_width=zones[wv.zone].radius_m if wv is not None else 1.0,
        wv_speed=wv.speed_mps if wv is not None else 1.0, wv_width=wv.width_m if wv is not None else 1.0,
        wv_int=1.0 + (np.asarray(wv.intensity) - 1.0) * i_m if wv is not None else np.ones(n_s),
        wv_dur=(wv.duration_s * d_m) if wv is not None else 1.0,
        wv_fail_mult=wv.link_fail_mult if wv is not None else 1.0,
        link_corridor=arr.link_corridor.copy(), fail_hazard=sc.transport.fail_prob_per_s * f_m,
        mttr_s=sc.transport.mttr_s)


def initial_shocks(m: ShockModel, batch: int, n_slices: int, n_links: int) -> ShockState:
    """No active shock, all links up."""
    return ShockState(
        hs_active=np.zeros((batch, MAX_HOTSPOTS), dtype=bool), hs_xy=np.zeros((batch, MAX_HOTSPOTS, 2)),
        hs_left_s=np.zeros((batch, MAX_HOTSPOTS)), hs_int=np.ones((batch, MAX_HOTSPOTS, n_slices)),
        wv_active=np.zeros((batch, MAX_WAVES), dtype=bool), wv_pos_m=np.zeros((batch, MAX_WAVES)),
        wv_left_s=np.zeros((batch, MAX_WAVES)), wv_int=np.ones((batch, MAX_WAVES, n_slices)),
        link_up=np.ones((batch, n_links), dtype=bool), link_down_left_s=np.zeros((batch, n_links)))


def _spawn(active: BoolArray, new: BoolArray) -> BoolArray:
    """Mask (B, K) of the first free slot in rows where ``new`` (B,) is set."""
    mask: BoolArray = np.zeros(active.shape, dtype=bool)
    if not new.any():
        return mask
    free = ~active
    first = np.argmax(free, axis=1)
    ok = new & free.any(axis=1)
    mask[np.arange(active.shape[0])[ok], first[ok]] = True
    return mask


def shock_step(m: ShockModel, st: ShockState, rng: np.random.Generator) -> ShockState:
    """Advance the shock processes one fast step (dt = ``m.dt_s``). Pure: returns a new state."""
    b = st.hs_active.shape[0]
    dt = m.dt_s
    n_s = st.hs_int.shape[2]
    # ages and movement
    hs_left = st.hs_left_s - dt
    hs_active = st.hs_active & (hs_left > 0)
    wv_pos = st.wv_pos_m + m.wv_speed * dt * st.wv_active
    wv_left = st.wv_left_s - dt
    wv_active = st.wv_active & (wv_left > 0) & (wv_pos <= m.wv_len + 2 * m.wv_width)
    # arrivals (at most one new hotspot and one new wave per fast step per batch row)
    u = rng.random((b, 2))
    new_h = _spawn(hs_active, u[:, 0] < 1.0 - np.exp(-m.hs_rate))
    new_w = _spawn(wv_active, u[:, 1] < 1.0 - np.exp(-m.wv_rate))
    xy = m.hs_center + m.hs_sigma * rng.standard_normal((b, 2))
    dur = rng.exponential(1.0, (b, 2))
    scale = rng.uniform(0.7, 1.3, (b, 2))
    hs_xy, hs_int, wv_int = st.hs_xy, st.hs_int, st.wv_int  # state arrays are never written in place
    if new_h.any():
        hs_xy = np.where(new_h[..., None], xy[:, None, :], st.hs_xy)
        hs_left = np.where(new_h, (dur[:, 0] * m.hs_dur)[:, None], hs_left)
        hs_int = np.where(new_h[..., None], 1.0 + (m.hs_int - 1.0) * scale[:, 0, None, None], st.hs_int)
        hs_active = hs_active | new_h
    if new_w.any():
        wv_pos = np.where(new_w, -m.wv_width, wv_pos)
        wv_left = np.where(new_w, (dur[:, 1] * m.wv_dur)[:, None], wv_left)
        wv_int = np.where(new_w[..., None], 1.0 + (m.wv_int - 1.0) * scale[:, 1, None, None], st.wv_int)
        wv_active = wv_active | new_w
    # link failures and repairs
    hz = np.full(st.link_up.shape, m.fail_hazard)
    if wv_active.any():
        wv_any = np.asarray(wv_active.any(axis=1), dtype=bool)[:, None]
        hz = hz * np.where(m.link_corridor[None, :] & wv_any, m.wv_fail_mult, 1.0)
    if hs_active.any():
        hs_any = np.asarray(hs_active.any(axis=1), dtype=bool)[:, None]
        hz = hz * np.where(m.hs_link[None, :] & hs_any, m.hs_fail_mult, 1.0)
    r = rng.random(st.link_up.shape)
    rep = rng.exponential(m.mttr_s, st.link_up.shape)
    down_left = st.link_down_left_s - dt
    fail = st.link_up & (r < 1.0 - np.exp(-hz * dt))
    still_down = ~st.link_up & (down_left > 0)
    link_up = ~(fail | still_down)
    down_left = np.where(fail, rep, np.where(still_down, down_left, 0.0))
    del n_s
    return evolve(st, hs_active=hs_active, hs_xy=hs_xy, hs_left_s=np.maximum(hs_left, 0.0), hs_int=hs_int,
                  wv_active=wv_active, wv_pos_m=wv_pos, wv_left_s=np.maximum(wv_left, 0.0), wv_int=wv_int,
                  link_up=link_up, link_down_left_s=down_left)


@dataclass(frozen=True, eq=False)
class PointGeometry:
    """Static projection of evaluation points on the corridor (recompute when points move)."""

    xy: FloatArray  #: (P, 2) m
    arc_m: FloatArray  #: (P,) arc length on the corridor
    in_corridor: BoolArray  #: (P,)


def point_geometry(m: ShockModel, xy: FloatArray) -> PointGeometry:
    """Project points (P, 2) m on the shock model's corridor."""
    d, s = polyline_projection(xy, m.wv_poly)
    return PointGeometry(xy=xy, arc_m=s, in_corridor=d <= m.wv_half_width)


def demand_multiplier(m: ShockModel, st: ShockState, pg: PointGeometry) -> FloatArray:
    """Demand multiplier (B, P, S) float64 >= 1 at each point for each slice (formula in module doc)."""
    d2 = ((pg.xy[None, None, :, :] - st.hs_xy[:, :, None, :]) ** 2).sum(-1)  # (B, Kh, P)
    wh = np.exp(-d2 / (2 * m.hs_radius**2)) * st.hs_active[..., None]
    mult = 1.0 + np.einsum("bkp,bks->bps", wh, st.hs_int - 1.0)
    if st.wv_active.any():
        da = pg.arc_m[None, None, :] - st.wv_pos_m[..., None]  # (B, Kw, P)
        ww = np.exp(-(da**2) / (2 * m.wv_width**2)) * st.wv_active[..., None] * pg.in_corridor[None, None, :]
        mult = mult + np.einsum("bkp,bks->bps", ww, st.wv_int - 1.0)
    return np.asarray(mult, dtype=np.float64)


def point_multiplier(m: ShockModel, st: ShockState, xy: FloatArray, slice_idx: np.ndarray) -> FloatArray:
    """Demand multiplier (B, P) float64 of each point ``xy`` (P, 2) m for its own slice ``slice_idx`` (P,) int.

    Same values as :func:`demand_multiplier` gathered at ``slice_idx``; skips the work (exactly 1) while no shock
    is active and projects the points on the corridor only while a wave is.
    """
    b = st.hs_active.shape[0]
    if not (st.hs_active.any() or st.wv_active.any()):
        return np.ones((b, len(xy)))
    if st.wv_active.any() and b > 1:
        pg = point_geometry(m, xy)
    else:  # corridor coordinates are only read for waves
        pg = PointGeometry(xy=xy, arc_m=np.zeros(len(xy)), in_corridor=np.zeros(len(xy), dtype=bool))
    if b == 1:  # the emulator: only the active slots, each point's own slice
        n = len(xy)
        out = np.ones(n)
        for k in np.flatnonzero(st.hs_active[0]):
            dx = xy[:, 0] - st.hs_xy[0, k, 0]
            dy = xy[:, 1] - st.hs_xy[0, k, 1]
            out += np.exp((dx * dx + dy * dy) * (-0.5 / m.hs_radius**2)) * (st.hs_int[0, k] - 1.0)[slice_idx]
        if st.wv_active[0].any():
            pg = point_geometry(m, xy)
            for k in np.flatnonzero(st.wv_active[0]):
                da = pg.arc_m - st.wv_pos_m[0, k]
                ww = np.exp((da * da) * (-0.5 / m.wv_width**2)) * pg.in_corridor
                out += ww * (st.wv_int[0, k] - 1.0)[slice_idx]
        return out[None]
    mult = demand_multiplier(m, st, pg)  # (B, P, S)
    return np.asarray(mult[:, np.arange(len(xy)), slice_idx], dtype=np.float64)

"""UE-level radio: placement, mobility, TR 38.901 path loss with correlated LOS/shadowing, association,
DFT-beam gains and SINR with inter-cell interference, link adaptation to per-cell-slice capacity.

State (:class:`UeState`) is explicit; :func:`radio_step` is pure given a ``Generator``. Per UE ``u``
and candidate cell ``k`` (K strongest-by-distance candidates)::

    P_rx[u,k]  = P_cell - 10 log10 N_PRB + G_elem - PL(d, LOS) - SF            (dBm per PRB)
    SINR[u]    = P_rx[u,srv] G_beam[u] / (sum_{k != srv, same ARFCN} P_rx[u,k] util_k + N_PRB_noise)
    SINR_eff   = SINR / (1 + SINR NMSE[u])                 (channel-estimation error as extra noise)
    r[u]       = SE(MCS(SINR_eff + e - 1 dB)) (1 - BLER(MCS, SINR_eff)) x RE/s per PRB  (bit/s/PRB)

with ``e ~ N(0, sinr_est_noise_db)`` the CQI reporting error and a 1 dB outer-loop back-off.

LOS state and shadow fading are AR(1) in the distance moved (Gudmundson, TR 38.901 7.5-6 decorrelation
distances); the LOS state thresholds a correlated Gaussian against the 38.901 LOS probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nextric.geometry import polyline_length, polyline_point, sample_in_zone
from testbed.core import beams as bm
from testbed.core.nrtables import goodput_efficiency
from testbed.core.params import CityArrays, ScenarioParams
from testbed.core.pathloss import (
    PathLossModel,
    PathLossTerms,
    los_probability,
    model_by_name,
    pathloss_cached,
    pathloss_terms,
)
from testbed.core.records import evolve
from testbed.core.types import BoolArray, FloatArray, IntArray

C_LIGHT = 299_792_458.0
MOB_CODE = {"pedestrian": 0, "vehicle": 1, "static": 2}
OLLA_BACKOFF_DB = 1.0  #: link-adaptation back-off (outer-loop steady state)
RATE_AR = 0.7  #: per-sub-step AR(1) coefficient of each UE's log-rate fluctuation
DB_TO_NEPER = float(np.log(10.0) / 10.0)  #: 10^(x/10) = exp(x DB_TO_NEPER)


class NmseFn(Protocol):
    """``(serving (U,) int, snr_db (U,) dB, doppler_hz (U,) Hz) -> NMSE (U,) linear`` of each UE's estimator."""

    def __call__(self, serving: IntArray, snr_db: FloatArray, doppler_hz: FloatArray) -> FloatArray: ...


@dataclass(frozen=True, eq=False)
class CellRadio:
    """Per-cell radio constants (C,) plus the candidate-cell lookup grid and the mobility geometry."""

    xy: FloatArray  #: (C, 2) m
    fc_ghz: FloatArray
    h_bs: FloatArray
    az_rad: FloatArray
    p_prb_dbm: FloatArray  #: transmit power per PRB
    p_re_dbm: FloatArray  #: transmit power per RE (EPRE)
    noise_prb_dbm: FloatArray
    arfcn: IntArray
    re_scale: FloatArray  #: RE/s per PRB x layers x (1-OH)
    bin_m: float
    grid_nx: int
    grid_cand: IntArray  #: (ny*nx, K) candidate cells of each grid bin
    u_codebook: FloatArray  #: (B_A,) spatial frequencies
    set_b: IntArray  #: (B_B,) Set-A indices
    gain_lut: FloatArray  #: Fejér-kernel look-up table (see beams.gain_table)
    noise_prb_lin: FloatArray  #: (C,) mW noise power per PRB
    single_arfcn: bool  #: every cell on one carrier (all candidates interfere)
    pl_model: PathLossModel
    corridor_pts: FloatArray  #: (V, 2) m polyline vehicles drive (the scenario's corridor or the diagonal)
    corridor_cum: FloatArray  #: (V,) m arc length at each vertex
    corridor_len_m: float
    set_b_wide: bool  #: Set B = wide beams (own kernel ``gain_lut_b``) pointed at ``u_codebook[set_b]``
    gain_lut_b: FloatArray  #: Set-B beam kernel table (``gain_lut`` itself for a Set-A subset)


def cell_radio(sc: ScenarioParams, arr: CityArrays) -> CellRadio:
    """Constants for the radio model of scenario ``sc``."""
    c = sc.cells
    xy = arr.cell_xy
    n_c = len(c)
    k = min(sc.radio.n_candidate_cells, n_c)
    bin_m = max(25.0, float(np.sqrt(sc.width_m * sc.height_m / n_c)) / 4.0)
    nx = int(np.ceil(sc.width_m / bin_m)) + 1
    ny = int(np.ceil(sc.height_m / bin_m)) + 1
    gx, gy = np.meshgrid((np.arange(nx) + 0.5) * bin_m, (np.arange(ny) + 0.5) * bin_m)
    centres = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    if k == n_c:
        cand = np.broadcast_to(np.arange(n_c), (len(centres), n_c)).copy()
    else:
        cand = np.empty((len(centres), k), dtype=np.int64)
        for i0 in range(0, len(centres), 4096):
            # = np.linalg.norm(centre - xy, axis=-1) (sqrt(dx^2 + dy^2), same floats) without the (n, C, 2) array
            dx = centres[i0:i0 + 4096, 0, None] - xy[None, :, 0]
            dy = centres[i0:i0 + 4096, 1, None] - xy[None, :, 1]
            dx *= dx
            dy *= dy
            dx += dy
            d = np.sqrt(dx, out=dx)
            cand[i0:i0 + 4096] = np.argpartition(d, k - 1, axis=1)[:, :k]
    nprb = arr.n_prb
    scs = np.array([x.scs_khz for x in c], dtype=np.float64)
    p = np.array([x.tx_power_dbm for x in c])
    noise = -174.0 + 10 * np.log10(12 * scs * 1e3) + sc.radio.noise_figure_db
    arfcn = np.array([x.dl_arfcn for x in c], dtype=np.int64)
    corridor = next((z for z in sc.zones if z.kind == "corridor"), None)
    pts = (np.asarray(corridor.points, dtype=np.float64) if corridor is not None
           else np.array([[0.0, 0.0], [sc.width_m, sc.height_m]]))
    return CellRadio(
        xy=xy, fc_ghz=np.array([x.fc_ghz for x in c]), h_bs=np.array([x.height_m for x in c]),
        az_rad=np.deg2rad([x.azimuth_deg for x in c]), p_prb_dbm=p - 10 * np.log10(nprb),
        p_re_dbm=p - 10 * np.log10(12 * nprb),
        noise_prb_dbm=noise, arfcn=arfcn, re_scale=arr.bits_per_re_scale,
        bin_m=bin_m, grid_nx=nx, grid_cand=cand.astype(np.int64),
        u_codebook=bm.codebook_u(sc.radio.n_beams_set_a), set_b=np.array(sc.radio.set_b, dtype=np.int64),
        gain_lut=bm.gain_table(sc.radio.n_antennas), noise_prb_lin=10 ** (noise / 10),
        single_arfcn=bool((arfcn == arfcn[0]).all()), pl_model=model_by_name(sc.radio.pathloss_model),
        corridor_pts=pts, corridor_cum=np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]),
        corridor_len_m=polyline_length(pts), set_b_wide=sc.radio.set_b_kind == "wide",
        gain_lut_b=bm.gain_table(sc.radio.set_b_aperture))


@dataclass(frozen=True, eq=False)
class CandGeometry:
    """Per-(candidate, UE) link-budget constants (K, U), a pure function of ``cand`` and the UE heights:
    rebuilt by :func:`cand_geometry` only when a UE's candidate set changes."""

    cx: FloatArray  #: (K, U) m candidate site x
    cy: FloatArray  #: (K, U) m candidate site y
    p0_dbm: FloatArray  #: (K, U) transmit power per PRB + element gain
    pl: PathLossTerms  #: distance-independent path-loss terms, (K, U)


def cand_geometry(sc: ScenarioParams, cr: CellRadio, cand: IntArray, height: FloatArray) -> CandGeometry:
    """Constants of candidate cells ``cand`` (K, U) for UEs at heights ``height`` (U,) m."""
    return CandGeometry(cx=cr.xy[cand, 0], cy=cr.xy[cand, 1], p0_dbm=cr.p_prb_dbm[cand] + sc.radio.element_gain_dbi,
                        pl=pathloss_terms(cr.pl_model, cr.fc_ghz[cand], cr.h_bs[cand], height[None, :]))


def cand_geometry_update(sc: ScenarioParams, cr: CellRadio, geo: CandGeometry, cand: IntArray, height: FloatArray,
                         cols: IntArray) -> CandGeometry:
    """``geo`` with the columns (UEs) ``cols`` rebuilt for their new candidates ``cand[:, cols]`` (element-wise:
    the same values as :func:`cand_geometry` of the whole ``cand``)."""
    part = cand_geometry(sc, cr, cand[:, cols], height[cols])

    def put(full: FloatArray, sub: FloatArray) -> FloatArray:
        out = np.array(full, dtype=np.float64, copy=True)
        out[:, cols] = sub
        return out

    pl, pp = geo.pl, part.pl
    return CandGeometry(cx=put(geo.cx, part.cx), cy=put(geo.cy, part.cy), p0_dbm=put(geo.p0_dbm, part.p0_dbm),
                        pl=evolve(pl, dh2=put(pl.dh2, pp.dh2), d_bp=put(pl.d_bp, pp.d_bp), c1=put(pl.c1, pp.c1),
                                  c2=put(pl.c2, pp.c2), cn=put(pl.cn, pp.cn)))


def _t(a: np.ndarray) -> np.ndarray:
    """C-contiguous transpose of a 2-D array: (U, X) draws/tables -> the (X, U) layout of the state."""
    return np.ascontiguousarray(a.T)


@dataclass(frozen=True, eq=False)
class UeState:
    """Per-UE state (U UEs, K candidate cells, P clusters).

    Per-candidate and per-cluster arrays are stored UE-last, (K, U) and (P, U): broadcasts of per-UE vectors and
    reductions over candidates then run along rows of U elements (numpy's fast path for a few hundred UEs).
    """

    xy: FloatArray  #: (U, 2) m
    heading: FloatArray  #: (U,) rad (pedestrians)
    arc_m: FloatArray  #: (U,) position along the corridor (vehicles)
    direction: FloatArray  #: (U,) +-1 (vehicles)
    lateral_m: FloatArray  #: (U,) offset from the corridor line (vehicles)
    home: FloatArray  #: (U, 2) zone centre a pedestrian is tethered to (NaN = free)
    tether_m: FloatArray  #: (U,)
    slice_idx: IntArray  #: (U,)
    mobility: IntArray  #: (U,) 0 ped, 1 vehicle, 2 static
    speed: FloatArray  #: (U,) m/s
    height: FloatArray  #: (U,) m
    rate_mbps: FloatArray  #: (U,) mean offered rate
    burst: FloatArray  #: (U,) log-normal sigma
    rate_g: FloatArray  #: (U,) AR(1) Gaussian state of the rate fluctuation
    cand: IntArray  #: (K, U) candidate cell indices
    shadow_z: FloatArray  #: (K, U) N(0,1) shadowing state
    los_g: FloatArray  #: (K, U) N(0,1) LOS state
    serving: IntArray  #: (U,) cell index
    cl_off: FloatArray  #: (P, U) rad cluster azimuth offsets
    cl_pow: FloatArray  #: (P, U) cluster powers (columns sum to 1)
    beam: IntArray  #: (U,) serving Set-A beam
    beam_ttl: IntArray  #: (U,) >0: beam forced by control for this many more sub-steps
    sinr_report_db: FloatArray  #: (U,) last reported SINR (link adaptation input)
    geo: CandGeometry  #: cached constants of ``cand`` (derived state)


def _bins(cr: CellRadio, xy: FloatArray) -> IntArray:
    ix = np.clip((xy[:, 0] / cr.bin_m).astype(np.int64), 0, cr.grid_nx - 1)
    iy = np.clip((xy[:, 1] / cr.bin_m).astype(np.int64), 0, len(cr.grid_cand) // cr.grid_nx - 1)
    return iy * cr.grid_nx + ix


def init_ues(sc: ScenarioParams, cr: CellRadio, rng: np.random.Generator) -> UeState:
    """Place every UE group of the scenario (draws from ``rng`` only)."""
    zones = {z.name: z for z in sc.zones}
    xy, slc, mob, spd, hgt, rate, burst, home, tether, arc, lat = ([] for _ in range(11))
    corridor = next((z for z in sc.zones if z.kind == "corridor"), None)
    for g in sc.ue_groups:
        z = zones[g.zone] if g.zone is not None else None
        n = g.count
        mcode = MOB_CODE[g.mobility]
        if mcode == 1:
            cz = z if (z is not None and z.kind == "corridor") else corridor
            if cz is None:
                pts = np.array([[0.0, 0.0], [sc.width_m, sc.height_m]])
                hw = 50.0
            else:
                pts, hw = np.asarray(cz.points, dtype=np.float64), cz.radius_m
            a = rng.uniform(0.0, polyline_length(pts), n)
            off = rng.uniform(-0.5, 0.5, n) * hw
            p = polyline_point(pts, a)
            arc.append(a)
            lat.append(off)
        else:
            p = sample_in_zone(z, n, sc.width_m, sc.height_m, rng)
            arc.append(np.zeros(n))
            lat.append(np.zeros(n))
        xy.append(p)
        slc.append(np.full(n, g.slice_index))
        mob.append(np.full(n, mcode))
        spd.append(np.full(n, 0.0 if mcode == 2 else g.speed_mps))
        hgt.append(np.full(n, g.height_m))
        rate.append(np.full(n, g.rate_mbps))
        burst.append(np.full(n, g.burstiness))
        if z is not None and z.kind != "corridor":
            home.append(np.broadcast_to(np.asarray(z.points[0]), (n, 2)))
            tether.append(np.full(n, z.radius_m))
        else:
            home.append(np.full((n, 2), np.nan))
            tether.append(np.full(n, np.inf))
    u_xy = np.concatenate(xy) if xy else np.zeros((0, 2))
    u = len(u_xy)
    cand = cr.grid_cand[_bins(cr, u_xy)]
    k = cand.shape[1]
    n_p = sc.radio.n_clusters
    spread = np.deg2rad(sc.radio.cluster_spread_deg)
    cl_off = rng.laplace(0.0, spread / np.sqrt(2), (u, n_p))
    cl_pow = np.exp(-np.arange(n_p) / 1.5) * rng.uniform(0.5, 1.5, (u, n_p)) if n_p else np.zeros((u, 0))
    cl_pow = cl_pow / np.maximum(cl_pow.sum(1, keepdims=True), 1e-12) if n_p else cl_pow
    st = UeState(
        xy=u_xy, heading=rng.uniform(0, 2 * np.pi, u), arc_m=np.concatenate(arc) if arc else np.zeros(0),
        direction=rng.choice([-1.0, 1.0], u), lateral_m=np.concatenate(lat) if lat else np.zeros(0),
        home=np.concatenate(home) if home else np.zeros((0, 2)),
        tether_m=np.concatenate(tether) if tether else np.zeros(0),
        slice_idx=np.concatenate(slc).astype(np.int64) if slc else np.zeros(0, np.int64),
        mobility=np.concatenate(mob).astype(np.int64) if mob else np.zeros(0, np.int64),
        speed=np.concatenate(spd) if spd else np.zeros(0), height=np.concatenate(hgt) if hgt else np.zeros(0),
        rate_mbps=np.concatenate(rate) if rate else np.zeros(0),
        burst=np.concatenate(burst) if burst else np.zeros(0), rate_g=rng.standard_normal(u),
        cand=_t(cand), shadow_z=_t(rng.standard_normal((u, k))), los_g=_t(rng.standard_normal((u, k))),
        serving=np.zeros(u, dtype=np.int64), cl_off=_t(cl_off), cl_pow=_t(cl_pow),
        beam=np.zeros(u, dtype=np.int64), beam_ttl=np.zeros(u, dtype=np.int64), sinr_report_db=np.full(u, 10.0),
        geo=cand_geometry(sc, cr, _t(cand), np.concatenate(hgt) if hgt else np.zeros(0)))
    return st


def move_ues(sc: ScenarioParams, cr: CellRadio, st: UeState, dt: float, rng: np.random.Generator) -> UeState:
    """Mobility: pedestrians random-walk (tethered to their zone), vehicles run the corridor, FWA static.

    Draws from ``rng``, in this order: heading noise (U,); where candidate sets change (only when C > K), two
    (U, K) blocks; then one block holding shadowing (U, K), LOS (U, K), cluster (U, P) and rate (U,) innovations
    (each block in UE-major order, transposed into the state's UE-last layout).
    """
    u = len(st.xy)
    heading = st.heading + (0.5 * np.sqrt(dt)) * rng.standard_normal(u)
    ped = st.mobility == 0
    step = np.empty((u, 2))
    np.cos(heading, out=step[:, 0])
    np.sin(heading, out=step[:, 1])
    step *= (st.speed * dt)[:, None]
    xy = np.where(ped[:, None], st.xy + step, st.xy)
    # tether: turn back towards home when outside the zone (free pedestrians: home NaN, tether inf -> never)
    hx = st.home[:, 0] - xy[:, 0]
    hy = st.home[:, 1] - xy[:, 1]
    out = ped & (np.sqrt(hx * hx + hy * hy) > st.tether_m)
    if out.any():
        heading = np.where(out, np.arctan2(hy, hx), heading)
    x, y = xy[:, 0], xy[:, 1]
    bounce = ped & ((x < 0.0) | (x > sc.width_m) | (y < 0.0) | (y > sc.height_m))
    if bounce.any():
        heading = np.where(bounce, heading + np.pi, heading)
    lo = np.array([0.0, 0.0])
    hi = np.array([sc.width_m, sc.height_m])
    xy = np.minimum(np.maximum(xy, lo), hi)
    veh = st.mobility == 1
    arc, direction = st.arc_m, st.direction
    vi = np.flatnonzero(veh)
    if len(vi):
        length = cr.corridor_len_m
        arc = st.arc_m + st.direction * st.speed * dt * veh
        direction = np.where((arc < 0) | (arc > length), -st.direction, st.direction)
        arc = np.minimum(np.maximum(arc, 0.0), length)
        # positions at arc, arc + 1 m and arc - 1 m in one interpolation (finite-difference normal)
        a = arc[vi]
        q = np.concatenate([a, np.minimum(a + 1.0, length), np.maximum(a - 1.0, 0.0)])
        q = np.minimum(np.maximum(q, 0.0), cr.corridor_cum[-1])
        px = np.interp(q, cr.corridor_cum, cr.corridor_pts[:, 0])
        py = np.interp(q, cr.corridor_cum, cr.corridor_pts[:, 1])
        n = len(vi)
        sx = px[n:2 * n] - px[2 * n:]
        sy = py[n:2 * n] - py[2 * n:]
        nn = np.maximum(np.sqrt(sx * sx + sy * sy), 1e-9)
        lat = st.lateral_m[vi]
        xy[vi, 0] = np.minimum(np.maximum(px[:n] + (-sy / nn) * lat, 0.0), sc.width_m)
        xy[vi, 1] = np.minimum(np.maximum(py[:n] + (sx / nn) * lat, 0.0), sc.height_m)
    mx = xy[:, 0] - st.xy[:, 0]
    my = xy[:, 1] - st.xy[:, 1]
    moved = np.sqrt(mx * mx + my * my)
    # candidate cells (only changes with position when C > K)
    cand = st.cand
    shadow_z, los_g = st.shadow_z, st.los_g
    geo = st.geo
    if cr.grid_cand.shape[1] < len(cr.xy):
        cand = _t(cr.grid_cand[_bins(cr, xy)])
        changed = cand != st.cand
        ch = np.nonzero(changed)  # (slot, UE) pairs, slot-major: the order of the state's layout
        if len(ch[0]):
            # both full blocks are drawn (the stream's order), only the changed entries are used
            k0 = cand.shape[0]
            shadow_z = shadow_z.copy()
            shadow_z[ch] = rng.standard_normal((u, k0)).T[ch]
            los_g = los_g.copy()
            los_g[ch] = rng.standard_normal((u, k0)).T[ch]
            geo = cand_geometry_update(sc, cr, geo, cand, st.height, np.unique(ch[1]))
    mdl = cr.pl_model
    k = cand.shape[0]
    n_p = st.cl_off.shape[0]
    z = rng.standard_normal(u * (2 * k + n_p + 1))
    uk = u * k
    z_sf = _t(z[:uk].reshape(u, k))
    z_los = _t(z[uk:2 * uk].reshape(u, k))
    z_cl = _t(z[2 * uk:2 * uk + u * n_p].reshape(u, n_p))
    z_rate = z[2 * uk + u * n_p:]
    rho_sf = np.exp(-moved / mdl.sf_decorr_nlos_m)
    rho_los = np.exp(-moved / mdl.los_decorr_m)
    shadow_z = rho_sf * shadow_z + np.sqrt(1 - rho_sf**2) * z_sf
    los_g = rho_los * los_g + np.sqrt(1 - rho_los**2) * z_los
    rho_cl = np.exp(-moved / 20.0)
    spread = np.deg2rad(sc.radio.cluster_spread_deg)
    cl_off = rho_cl * st.cl_off + np.sqrt(1 - rho_cl**2) * (spread * z_cl)
    rate_g = RATE_AR * st.rate_g + np.sqrt(1 - RATE_AR**2) * z_rate
    return evolve(st, xy=xy, heading=heading, arc_m=arc, direction=direction, cand=cand, shadow_z=shadow_z,
                  los_g=los_g, cl_off=cl_off, rate_g=rate_g, geo=geo)


@dataclass(frozen=True, eq=False)
class LinkBudget:
    """Per-UE radio quantities of one sub-step."""

    rx_prb_dbm: FloatArray  #: (K, U) received power per PRB before beamforming
    los: BoolArray  #: (K, U)
    serving: IntArray  #: (U,) cell index
    srv_slot: IntArray  #: (U,) index into the K candidates
    az_rel: FloatArray  #: (U,) rad UE azimuth relative to the serving array broadside


def link_budget(sc: ScenarioParams, cr: CellRadio, st: UeState) -> LinkBudget:
    """Path loss, LOS, shadowing and association (strongest candidate with hysteresis)."""
    mdl = cr.pl_model
    g = st.geo
    dx = st.xy[:, 0] - g.cx  # (K, U)
    dy = st.xy[:, 1] - g.cy
    d2d = dx * dx
    d2d += dy * dy
    np.sqrt(d2d, out=d2d)
    # in-place forms of the same expressions (same floats, fewer (K, U) temporaries)
    p_los = los_probability(mdl, d2d, st.height)
    np.maximum(p_los, 1e-6, out=p_los)
    np.minimum(p_los, 1 - 1e-6, out=p_los)
    odds = 1 - p_los
    np.divide(p_los, odds, out=odds)
    np.log(odds, out=odds)
    odds /= 1.702
    los = st.los_g < odds  # logistic approximation of the probit
    pl = pathloss_cached(g.pl, d2d, los)
    sf = np.where(los, mdl.sigma_sf_los_db, mdl.sigma_sf_nlos_db)
    sf *= st.shadow_z
    rx = np.subtract(g.p0_dbm, pl, out=pl)
    rx -= sf
    best = np.argmax(rx, axis=0)
    cur = st.cand == st.serving
    has_cur = cur.any(axis=0)
    cur_slot = np.argmax(cur, axis=0)
    cols = np.arange(rx.shape[1])
    keep = has_cur & (rx[cur_slot, cols] + sc.radio.handover_hysteresis_db >= rx[best, cols])
    slot = np.where(keep, cur_slot, best)
    serving = st.cand[slot, cols]
    az = np.arctan2(dy[slot, cols], dx[slot, cols]) - cr.az_rad[serving]
    return LinkBudget(rx_prb_dbm=rx, los=los, serving=serving, srv_slot=slot, az_rel=az)


def channel_paths(sc: ScenarioParams, st: UeState, lb: LinkBudget) -> tuple[FloatArray, FloatArray]:
    """Geometric channel of each UE towards its serving array: path u (P+1, U) and weights (P+1, U)."""
    cols = np.arange(len(st.xy))
    return bm.path_geometry_t(lb.az_rel, st.cl_off, st.cl_pow, lb.los[lb.srv_slot, cols],
                              10 ** (sc.radio.los_k_factor_db / 10))


def rsrp_set(cr: CellRadio, st: UeState, lb: LinkBudget, u_p: FloatArray, w_p: FloatArray, beams: IntArray,
             n_ant: int) -> FloatArray:
    """Noise-free L1-RSRP (U, len(beams)) dBm of the serving cell per beam (EPRE + gains - losses);
    paths ``u_p``, ``w_p`` (P+1, U) from :func:`channel_paths`."""
    del n_ant  # the look-up table of ``cr`` fixes the array size
    cols = np.arange(len(st.xy))
    g = np.einsum("bpu,pu->ub", bm.path_gains_t(u_p, cr.u_codebook[beams], cr.gain_lut), w_p)
    base = lb.rx_prb_dbm[lb.srv_slot, cols] - cr.p_prb_dbm[lb.serving] + cr.p_re_dbm[lb.serving]
    return np.asarray(base[:, None] + 10 * np.log10(np.maximum(g, 1e-12)), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class RadioOut:
    """Radio results of one sub-step."""

    sinr_db: FloatArray  #: (U,) before estimation error
    sinr_eff_db: FloatArray  #: (U,) after estimation error
    snr_db: FloatArray  #: (U,) serving signal over noise (pilot SNR)
    doppler_hz: FloatArray  #: (U,)
    bits_per_prb_s: FloatArray  #: (U,) goodput bit/s per PRB
    bits_per_re: FloatArray  #: (U,) goodput bit per resource element
    rsrp_b_dbm: FloatArray  #: (U, B_B) measured (noisy, quantised) Set-B L1-RSRP
    demand_mbps: FloatArray  #: (U,) offered rate this sub-step


def radio_step(sc: ScenarioParams, cr: CellRadio, st: UeState, util: FloatArray, nmse_fn: NmseFn,
               shock_mult: FloatArray, rng: np.random.Generator) -> tuple[UeState, LinkBudget, RadioOut]:
    """Association, beams, SINR and per-UE goodput after :func:`move_ues`.

    util (C,) PRB utilisation of each cell (interference load); shock_mult (U,) demand multipliers.
    ``nmse_fn(serving, snr_db, doppler_hz) -> (U,)`` gives each UE's channel-estimation NMSE (linear).
    Draws one block from ``rng``: Set-B measurement noise (U, B_B), then the CQI reporting error (U,).
    """
    lb = link_budget(sc, cr, st)
    u = len(st.xy)
    cols = np.arange(u)
    u_p, w_p = channel_paths(sc, st, lb)  # (P+1, U)
    n_b = len(cr.set_b)
    z = rng.standard_normal(u * (n_b + 1))
    # Set-B measurement (noisy, 1 dB quantised) drives the default beam choice; for a Set-A subset the per-path
    # Set-B gains are kept to give the serving beam's gain without a second look-up
    g_path = bm.path_gains_t(u_p, cr.u_codebook[cr.set_b], cr.gain_lut_b)  # (B_B, P+1, U)
    g_set = np.einsum("bpu,pu->bu", g_path, w_p)
    base = lb.rx_prb_dbm[lb.srv_slot, cols] - cr.p_prb_dbm[lb.serving] + cr.p_re_dbm[lb.serving]
    rsrp = np.maximum(g_set, 1e-12, out=g_set)
    np.log10(rsrp, out=rsrp)
    rsrp *= 10
    rsrp += base  # (B_B, U)
    rsrp += sc.radio.rsrp_noise_db * z[:u * n_b].reshape(u, n_b).T
    rsrp_b = bm.quantise_rsrp(rsrp)
    ib = np.argmax(rsrp_b, axis=0)
    handover = lb.serving != st.serving
    forced = (st.beam_ttl > 0) & ~handover
    if cr.set_b_wide:  # the default beam is the Set-A beam at the best wide beam's centre: its own gain
        g_beam = np.einsum("pu,pu->u", bm.beam_path_gains_t(u_p, cr.u_codebook[cr.set_b[ib]], cr.gain_lut), w_p)
    else:
        g_beam = np.einsum("up,pu->u", g_path[ib, :, cols], w_p)
    if forced.any():
        beam = np.where(forced, st.beam, cr.set_b[ib])
        f = np.flatnonzero(forced)
        g_f = bm.path_gains_t(u_p[:, f], cr.u_codebook, cr.gain_lut)[beam[f], :, np.arange(len(f))]  # (F, P+1)
        g_beam[f] = np.einsum("fp,pf->f", g_f, w_p[:, f])
        ttl = np.where(forced, st.beam_ttl - 1, 0)
    else:
        beam, ttl = cr.set_b[ib], np.zeros(u, dtype=np.int64)
    rx_lin = lb.rx_prb_dbm * DB_TO_NEPER
    np.exp(rx_lin, out=rx_lin)  # 10^(x/10), (K, U)
    p_srv = rx_lin[lb.srv_slot, cols]
    s = p_srv * g_beam
    load = util[st.cand]
    if not cr.single_arfcn:
        load *= cr.arfcn[st.cand] == cr.arfcn[lb.serving]
    load *= rx_lin
    interf = load.sum(0) - p_srv * util[lb.serving]
    noise = cr.noise_prb_lin[lb.serving]
    sinr = s / (np.maximum(interf, 0.0) + noise)
    snr_db = 10 * np.log10(s / noise)
    doppler = st.speed * cr.fc_ghz[lb.serving] * 1e9 / C_LIGHT
    nmse = nmse_fn(lb.serving, snr_db, doppler)
    sinr_eff = sinr / (1.0 + sinr * nmse)
    sinr_db = 10 * np.log10(sinr)
    sinr_eff_db = 10 * np.log10(sinr_eff)
    # CQI report with measurement error; OLLA-style 1 dB back-off keeps BLER near its 10 % target
    report = sinr_eff_db + sc.radio.sinr_est_noise_db * z[u * n_b:]
    eff = goodput_efficiency(report - OLLA_BACKOFF_DB, sinr_eff_db)
    r = eff * cr.re_scale[lb.serving]
    demand = st.rate_mbps * shock_mult * np.exp(st.burst * st.rate_g - 0.5 * st.burst**2)
    new = evolve(st, serving=lb.serving, beam=beam.astype(np.int64), beam_ttl=ttl.astype(np.int64),
                 sinr_report_db=report)
    return new, lb, RadioOut(sinr_db=sinr_db, sinr_eff_db=sinr_eff_db, snr_db=snr_db, doppler_hz=doppler,
                             bits_per_prb_s=r, bits_per_re=eff, rsrp_b_dbm=_t(rsrp_b), demand_mbps=demand)


OUTAGE_BITS_PER_RE = 0.05  #: below this goodput a UE is in radio outage (no MCS decodes)


def aggregate(serving: IntArray, slice_idx: IntArray, demand_mbps: FloatArray, bits_per_re: FloatArray,
              re_scale: FloatArray, n_cells: int, n_slices: int, dt: float) -> tuple[
    FloatArray, FloatArray, FloatArray
]:
    """Cell-slice arrivals, outage volume and capacity, each (C, S).

    bits_per_re (U,) goodput bit/RE; re_scale (C,) RE/s per PRB. Returns (arrivals Mbit per sub-step of
    UEs in coverage, outage Mbit per sub-step of UEs in radio outage — lost —, capacity Mbit per PRB
    per sub-step). Capacity is the demand-weighted geometric mean of the covered UEs' per-PRB goodput,
    the usual proportional-fair approximation.
    """
    key = serving * n_slices + slice_idx
    m = n_cells * n_slices
    cov = bits_per_re >= OUTAGE_BITS_PER_RE
    r_u = np.maximum(bits_per_re, OUTAGE_BITS_PER_RE) * re_scale[serving]
    w = (demand_mbps + 1e-9) * cov
    d = np.bincount(key, weights=demand_mbps * cov, minlength=m)
    lost = np.bincount(key, weights=demand_mbps * ~cov, minlength=m)
    wsum = np.bincount(key, weights=w, minlength=m)
    lr = np.bincount(key, weights=w * np.log(r_u), minlength=m)
    fallback = np.repeat(re_scale, n_slices) * 1.0  # 1 bit/RE when a cell-slice has no covered UE
    r = np.where(wsum > 0, np.exp(lr / np.maximum(wsum, 1e-30)), fallback)
    shape = (n_cells, n_slices)
    f64 = np.float64
    return (np.asarray((d * dt).reshape(shape), dtype=f64), np.asarray((lost * dt).reshape(shape), dtype=f64),
            np.asarray((r * dt * 1e-6).reshape(shape), dtype=f64))

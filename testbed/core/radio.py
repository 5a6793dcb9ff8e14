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

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from testbed.core import beams as bm
from testbed.core.geometry import polyline_length, polyline_point, sample_in_zone
from testbed.core.nrtables import goodput_efficiency
from testbed.core.params import CityArrays, ScenarioParams
from testbed.core.pathloss import los_probability, model_by_name, pathloss
from testbed.core.types import BoolArray, FloatArray, IntArray

C_LIGHT = 299_792_458.0
MOB_CODE = {"pedestrian": 0, "vehicle": 1, "static": 2}
OLLA_BACKOFF_DB = 1.0  #: link-adaptation back-off (outer-loop steady state)
RATE_AR = 0.7  #: per-sub-step AR(1) coefficient of each UE's log-rate fluctuation


class NmseFn(Protocol):
    """``(serving (U,) int, snr_db (U,) dB, doppler_hz (U,) Hz) -> NMSE (U,) linear`` of each UE's estimator."""

    def __call__(self, serving: IntArray, snr_db: FloatArray, doppler_hz: FloatArray) -> FloatArray: ...


@dataclass(frozen=True, eq=False)
class CellRadio:
    """Per-cell radio constants (C,) plus the candidate-cell lookup grid."""

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
            d = np.linalg.norm(centres[i0:i0 + 4096, None, :] - xy[None], axis=-1)
            cand[i0:i0 + 4096] = np.argpartition(d, k - 1, axis=1)[:, :k]
    nprb = arr.n_prb
    scs = np.array([x.scs_khz for x in c], dtype=np.float64)
    p = np.array([x.tx_power_dbm for x in c])
    return CellRadio(
        xy=xy, fc_ghz=np.array([x.fc_ghz for x in c]), h_bs=np.array([x.height_m for x in c]),
        az_rad=np.deg2rad([x.azimuth_deg for x in c]), p_prb_dbm=p - 10 * np.log10(nprb),
        p_re_dbm=p - 10 * np.log10(12 * nprb),
        noise_prb_dbm=-174.0 + 10 * np.log10(12 * scs * 1e3) + sc.radio.noise_figure_db,
        arfcn=np.array([x.dl_arfcn for x in c], dtype=np.int64), re_scale=arr.bits_per_re_scale,
        bin_m=bin_m, grid_nx=nx, grid_cand=cand.astype(np.int64),
        u_codebook=bm.codebook_u(sc.radio.n_beams_set_a), set_b=np.array(sc.radio.set_b, dtype=np.int64),
        gain_lut=bm.gain_table(sc.radio.n_antennas))


@dataclass(frozen=True, eq=False)
class UeState:
    """Per-UE state (U UEs, K candidate cells, P clusters)."""

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
    cand: IntArray  #: (U, K)
    shadow_z: FloatArray  #: (U, K) N(0,1) shadowing state
    los_g: FloatArray  #: (U, K) N(0,1) LOS state
    serving: IntArray  #: (U,) cell index
    cl_off: FloatArray  #: (U, P) rad cluster azimuth offsets
    cl_pow: FloatArray  #: (U, P) cluster powers (rows sum to 1)
    beam: IntArray  #: (U,) serving Set-A beam
    beam_ttl: IntArray  #: (U,) >0: beam forced by control for this many more sub-steps
    sinr_report_db: FloatArray  #: (U,) last reported SINR (link adaptation input)


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
        cand=cand, shadow_z=rng.standard_normal((u, k)), los_g=rng.standard_normal((u, k)),
        serving=np.zeros(u, dtype=np.int64), cl_off=cl_off, cl_pow=cl_pow,
        beam=np.zeros(u, dtype=np.int64), beam_ttl=np.zeros(u, dtype=np.int64), sinr_report_db=np.full(u, 10.0))
    return st


def move_ues(sc: ScenarioParams, cr: CellRadio, st: UeState, dt: float, rng: np.random.Generator) -> UeState:
    """Mobility: pedestrians random-walk (tethered to their zone), vehicles run the corridor, FWA static."""
    u = len(st.xy)
    heading = st.heading + rng.normal(0.0, 0.5 * np.sqrt(dt), u)
    ped = st.mobility == 0
    step = (st.speed * dt)[:, None] * np.stack([np.cos(heading), np.sin(heading)], -1)
    xy = np.where(ped[:, None], st.xy + step, st.xy)
    # tether: turn back towards home when outside the zone
    out = ped & (np.linalg.norm(xy - np.nan_to_num(st.home), axis=1) > st.tether_m)
    back = np.arctan2(np.nan_to_num(st.home)[:, 1] - xy[:, 1], np.nan_to_num(st.home)[:, 0] - xy[:, 0])
    heading = np.where(out, back, heading)
    lo = np.array([0.0, 0.0])
    hi = np.array([sc.width_m, sc.height_m])
    bounce = ped & ((xy < lo) | (xy > hi)).any(axis=1)
    heading = np.where(bounce, heading + np.pi, heading)
    xy = np.clip(xy, lo, hi)
    veh = st.mobility == 1
    arc, direction = st.arc_m, st.direction
    if veh.any():
        corridor = next((z for z in sc.zones if z.kind == "corridor"), None)
        pts = (np.asarray(corridor.points, dtype=np.float64) if corridor is not None
               else np.array([[0.0, 0.0], [sc.width_m, sc.height_m]]))
        length = polyline_length(pts)
        arc = st.arc_m + st.direction * st.speed * dt * veh
        direction = np.where((arc < 0) | (arc > length), -st.direction, st.direction)
        arc = np.clip(arc, 0.0, length)
        p = polyline_point(pts, arc)
        seg = polyline_point(pts, np.minimum(arc + 1.0, length)) - polyline_point(pts, np.maximum(arc - 1.0, 0.0))
        nrm = np.stack([-seg[:, 1], seg[:, 0]], -1) / np.maximum(np.linalg.norm(seg, axis=1, keepdims=True), 1e-9)
        xy = np.where(veh[:, None], np.clip(p + nrm * st.lateral_m[:, None], lo, hi), xy)
    moved = np.linalg.norm(xy - st.xy, axis=1)
    # candidate cells (only changes with position when C > K)
    cand = st.cand
    shadow_z, los_g = st.shadow_z, st.los_g
    if cr.grid_cand.shape[1] < len(cr.xy):
        cand = cr.grid_cand[_bins(cr, xy)]
        changed = cand != st.cand
        if changed.any():
            shadow_z = np.where(changed, rng.standard_normal(changed.shape), shadow_z)
            los_g = np.where(changed, rng.standard_normal(changed.shape), los_g)
    mdl = model_by_name(sc.radio.pathloss_model)
    rho_sf = np.exp(-moved / mdl.sf_decorr_nlos_m)[:, None]
    rho_los = np.exp(-moved / mdl.los_decorr_m)[:, None]
    k = cand.shape[1]
    shadow_z = rho_sf * shadow_z + np.sqrt(1 - rho_sf**2) * rng.standard_normal((u, k))
    los_g = rho_los * los_g + np.sqrt(1 - rho_los**2) * rng.standard_normal((u, k))
    rho_cl = np.exp(-moved / 20.0)[:, None]
    spread = np.deg2rad(sc.radio.cluster_spread_deg)
    cl_off = rho_cl * st.cl_off + np.sqrt(1 - rho_cl**2) * rng.normal(0.0, spread, st.cl_off.shape)
    rate_g = RATE_AR * st.rate_g + np.sqrt(1 - RATE_AR**2) * rng.standard_normal(u)
    return replace(st, xy=xy, heading=heading, arc_m=arc, direction=direction, cand=cand, shadow_z=shadow_z,
                   los_g=los_g, cl_off=cl_off, rate_g=rate_g)


@dataclass(frozen=True, eq=False)
class LinkBudget:
    """Per-UE radio quantities of one sub-step."""

    rx_prb_dbm: FloatArray  #: (U, K) received power per PRB before beamforming
    los: BoolArray  #: (U, K)
    serving: IntArray  #: (U,) cell index
    srv_slot: IntArray  #: (U,) index into the K candidates
    az_rel: FloatArray  #: (U,) rad UE azimuth relative to the serving array broadside


def link_budget(sc: ScenarioParams, cr: CellRadio, st: UeState) -> LinkBudget:
    """Path loss, LOS, shadowing and association (strongest candidate with hysteresis)."""
    mdl = model_by_name(sc.radio.pathloss_model)
    cxy = cr.xy[st.cand]  # (U, K, 2)
    dvec = st.xy[:, None, :] - cxy
    d2d = np.linalg.norm(dvec, axis=-1)
    h_ut = st.height[:, None]
    p_los = np.clip(los_probability(mdl, d2d, h_ut), 1e-6, 1 - 1e-6)
    los = st.los_g < np.log(p_los / (1 - p_los)) / 1.702  # logistic approximation of the probit
    pl = pathloss(mdl, d2d, los, cr.fc_ghz[st.cand], cr.h_bs[st.cand], h_ut)
    sf = st.shadow_z * np.where(los, mdl.sigma_sf_los_db, mdl.sigma_sf_nlos_db)
    rx = cr.p_prb_dbm[st.cand] + sc.radio.element_gain_dbi - pl - sf
    best = np.argmax(rx, axis=1)
    cur = st.cand == st.serving[:, None]
    has_cur = cur.any(axis=1)
    cur_slot = np.argmax(cur, axis=1)
    rows = np.arange(len(rx))
    keep = has_cur & (rx[rows, cur_slot] + sc.radio.handover_hysteresis_db >= rx[rows, best])
    slot = np.where(keep, cur_slot, best)
    serving = st.cand[rows, slot]
    d = dvec[rows, slot]
    az = np.arctan2(d[:, 1], d[:, 0]) - cr.az_rad[serving]
    return LinkBudget(rx_prb_dbm=rx, los=los, serving=serving, srv_slot=slot, az_rel=az)


def channel_paths(sc: ScenarioParams, st: UeState, lb: LinkBudget) -> tuple[FloatArray, FloatArray]:
    """Geometric channel of each UE towards its serving array: path u (U, P+1) and weights (U, P+1)."""
    rows = np.arange(len(st.xy))
    return bm.path_geometry(lb.az_rel, st.cl_off, st.cl_pow, lb.los[rows, lb.srv_slot],
                            10 ** (sc.radio.los_k_factor_db / 10))


def rsrp_set(cr: CellRadio, st: UeState, lb: LinkBudget, u_p: FloatArray, w_p: FloatArray, beams: IntArray,
             n_ant: int) -> FloatArray:
    """Noise-free L1-RSRP (U, len(beams)) dBm of the serving cell per beam (EPRE + gains - losses)."""
    rows = np.arange(len(st.xy))
    g = bm.beam_gains(u_p, w_p, cr.u_codebook[beams], n_ant, cr.gain_lut)
    base = lb.rx_prb_dbm[rows, lb.srv_slot] - cr.p_prb_dbm[lb.serving] + cr.p_re_dbm[lb.serving]
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
    """
    lb = link_budget(sc, cr, st)
    u = len(st.xy)
    rows = np.arange(u)
    u_p, w_p = channel_paths(sc, st, lb)
    # Set-B measurement (noisy, 1 dB quantised) drives the default beam choice
    rsrp_b = bm.quantise_rsrp(rsrp_set(cr, st, lb, u_p, w_p, cr.set_b, sc.radio.n_antennas)
                              + rng.normal(0.0, sc.radio.rsrp_noise_db, (u, len(cr.set_b))))
    best_b = cr.set_b[np.argmax(rsrp_b, axis=1)]
    handover = lb.serving != st.serving
    forced = (st.beam_ttl > 0) & ~handover
    beam = np.where(forced, st.beam, best_b)
    ttl = np.where(forced, st.beam_ttl - 1, 0)
    g_beam = bm.serving_gain(u_p, w_p, beam, cr.u_codebook, sc.radio.n_antennas, cr.gain_lut)
    rx_lin = 10 ** (lb.rx_prb_dbm / 10)
    s = rx_lin[rows, lb.srv_slot] * g_beam
    same = cr.arfcn[st.cand] == cr.arfcn[lb.serving][:, None]
    interf = (rx_lin * util[st.cand] * same).sum(1) - rx_lin[rows, lb.srv_slot] * util[lb.serving]
    noise = 10 ** (cr.noise_prb_dbm[lb.serving] / 10)
    sinr = s / (np.maximum(interf, 0.0) + noise)
    snr_db = 10 * np.log10(s / noise)
    doppler = st.speed * cr.fc_ghz[lb.serving] * 1e9 / C_LIGHT
    nmse = nmse_fn(lb.serving, snr_db, doppler)
    sinr_eff = sinr / (1.0 + sinr * nmse)
    sinr_db = 10 * np.log10(sinr)
    sinr_eff_db = 10 * np.log10(sinr_eff)
    # CQI report with measurement error; OLLA-style 1 dB back-off keeps BLER near its 10 % target
    report = sinr_eff_db + rng.normal(0.0, sc.radio.sinr_est_noise_db, u)
    eff = goodput_efficiency(report - OLLA_BACKOFF_DB, sinr_eff_db)
    r = eff * cr.re_scale[lb.serving]
    demand = st.rate_mbps * shock_mult * np.exp(st.burst * st.rate_g - 0.5 * st.burst**2)
    new = replace(st, serving=lb.serving, beam=beam.astype(np.int64), beam_ttl=ttl.astype(np.int64),
                  sinr_report_db=report)
    return new, lb, RadioOut(sinr_db=sinr_db, sinr_eff_db=sinr_eff_db, snr_db=snr_db, doppler_hz=doppler,
                             bits_per_prb_s=r, bits_per_re=eff, rsrp_b_dbm=rsrp_b, demand_mbps=demand)


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

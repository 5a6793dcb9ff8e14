"""The closed-loop digital twin: roll out *policies* (the bounds a plan sets plus the control laws that run inside
them), not fixed shares, from the state the observations show.

Each fast sub-step the twin runs the same traffic core as the emulator (:func:`testbed.core.flow.flow_step`) on its
own exogenous draws; after each control period it forms the KPM a controller would read from its own outputs and
runs the shared laws on it, exactly as the xApps do on the network: the slice PRB law of
:mod:`nextric.control.slices` per cell every ``slice_period_steps`` (new ratios apply from the next sub-step, as
an RIC control does) and the transport law of :mod:`nextric.control.transport` per link every
``transport_period_steps`` on the link telemetry of that window (down links keep their shares).

The start is the observed state (:func:`infer_state`), never the emulator's hidden one:

* **demand**: what the KPM shows is the base load times the shocks of the regime, so the base of each (cell,
  slice) is the median over the KPM reports (robust to single surges) divided by the regime's mean demand
  multiplier at the cell (:func:`mean_multiplier`: the twin's own shock process in steady state, from the
  configuration only); otherwise the shocks the twin draws would count twice. The last report's load over that
  base is the surge in progress: it stays for a remaining time drawn per twin seed from the exponential with the
  regime's mean shock duration (lifetimes are exponential, so the remaining life is too), on top of the new shocks
  the twin draws itself, so the demand relaxes towards its mean;
* **backlog**: the RAN queue of each (cell, slice) from Little's law on the last report (throughput x the mean
  RLC SDU delay above the slice's base delay), capped at the discard timer's worth;
* **interference**: each cell's PRB utilisation from the last report;
* **links**: the alarms in the request; a link that is down now stays down for a remaining repair time drawn per
  seed from the exponential with the configured mean time to repair;
* **controllers**: the ratios and shares in force and the slice law's smoothing baseline, as the xApps publish
  them (:class:`~nextric.control.batch.ControllerState`).

Candidates share every exogenous draw of a seed (common random numbers), so differences between candidates are the
policies' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from nextric.arrays import FloatArray
from nextric.control.batch import ControllerState, LawSpec, PolicyBatch
from nextric.control.slices import SliceKpm, SliceTargets, allocate_batch
from nextric.control.transport import ShareTargets, link_shares_batch
from nextric.errors import ValidationError
from nextric.kpi import KpiSummary, control_cost, summarise
from testbed.core.flow import FlowState, flow_step, initial_flow
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport
from testbed.core.scenario import city_arrays, router_of
from testbed.core.shocks import ShockRegime, demand_multiplier, initial_shocks, point_geometry, shock_model, shock_step
from testbed.twin import DEMAND_AR, DEMAND_SIGMA, DigitalTwin

LN100 = float(np.log(100.0))
MAX_SURGE = 6.0  #: largest demand multiplier read from a surge (guards against a near-zero base)


@dataclass(frozen=True, eq=False)
class ObservedState:
    """The start of a closed-loop rollout, inferred from KPM (see module docstring).

    base_mbps (C, S) Mbit/s; surge (C, S) >= 1 multiplier in progress; ran_q_mbit (C, S); util0 (C,) in [0, 1]."""

    base_mbps: FloatArray
    surge: FloatArray
    ran_q_mbit: FloatArray
    util0: FloatArray


def mean_multiplier(sc: ScenarioParams, regime: ShockRegime, rate_scale: float = 1.0, seed: int = 0,
                    batch: int = 64, burn_in: int = 600, steps: int = 600) -> FloatArray:
    """(C, S) the regime's mean demand multiplier at each cell for each slice: its shock process (from the
    configuration, :func:`testbed.core.shocks.shock_model`) run to steady state and averaged over ``steps`` x
    ``batch`` samples. 1 where the regime has no shocks."""
    arr = city_arrays(sc)
    sm = shock_model(sc, arr, regime)
    sm = replace(sm, hs_rate=sm.hs_rate * rate_scale, wv_rate=sm.wv_rate * rate_scale)
    if sm.hs_rate == 0 and sm.wv_rate == 0:
        return np.ones((sc.n_cells, sc.n_slices))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 77]))
    pg = point_geometry(sm, arr.cell_xy)
    st = initial_shocks(sm, batch, sc.n_slices, sc.n_links)
    acc = np.zeros((sc.n_cells, sc.n_slices))
    for t in range(burn_in + steps):
        st = shock_step(sm, st, rng)
        if t >= burn_in:
            acc += demand_multiplier(sm, st, pg).mean(0)
    return acc / steps


def infer_state(sc: ScenarioParams, reports: Sequence[KpmReport], mean_mult: FloatArray | None = None
                ) -> ObservedState:
    """Observed state from KPM reports (oldest first; the last one is "now"); ``mean_mult`` (C, S) is the regime's
    mean demand multiplier (:func:`mean_multiplier`; None: 1, no shocks assumed)."""
    if not reports:
        raise ValidationError("the twin needs at least one KPM report")
    n_c, n_s = sc.n_cells, sc.n_slices
    idx = {c.cell_id: i for i, c in enumerate(sc.cells)}
    per = np.full((len(reports), n_c, n_s), np.nan)
    for r, rep in enumerate(reports):
        for cell in rep.cells:
            for j, sk in enumerate(cell.slices):
                per[r, idx[cell.cell_id], j] = sk.offered_mbps
    seen = np.nan_to_num(np.nanmedian(np.where(np.isnan(per).all(0), 0.0, per), axis=0))
    mult = np.ones((n_c, n_s)) if mean_mult is None else np.maximum(np.asarray(mean_mult, dtype=np.float64), 1.0)
    base = seen / mult
    last_rep = reports[-1]
    last = np.where(np.isnan(per[-1]), seen, per[-1])
    surge = np.clip(np.where(base > 1e-6, last / np.maximum(base, 1e-6), 1.0), 1.0, MAX_SURGE)
    arr = city_arrays(sc)
    q = np.zeros((n_c, n_s))
    util = np.full(n_c, 0.5)
    for cell in last_rep.cells:
        ci = idx[cell.cell_id]
        if cell.prb_avail_dl > 0:
            util[ci] = min(1.0, cell.prb_used_dl / cell.prb_avail_dl)
        for j, sk in enumerate(cell.slices):
            wait_s = max(0.0, sk.rlc_sdu_delay_ms * 1e-3 - float(arr.slice_base_delay_s[j]))
            q[ci, j] = min(sk.thp_dl_mbps * wait_s, sk.thp_dl_mbps * float(arr.slice_discard_s[j]))
    return ObservedState(np.asarray(base, dtype=np.float64), surge, q, util)


@dataclass(frozen=True, eq=False)
class LoopResult:
    """Closed-loop rollout of N policies x M seeds over K slow steps.

    Horizon KPIs: scm (N, M), loss / p99_ms (N, M, S), cost (N, M) (control cost J of the resources the laws
    committed: min ratios and shares in force). Per slow step and cell, as a KPM report of that period reads them:
    cell_offered / cell_thp (N, M, K, C, S) Mbit/s, cell_loss (N, M, K, C, S) fraction, cell_p99_ms (N, M, K, C, S)
    ms (worst sub-step), committed_prb (N, M, K, C, S) and committed_tn (N, M, K, L, S) mean shares."""

    kpis: KpiSummary
    scm: FloatArray
    loss: FloatArray
    p99_ms: FloatArray
    cost: FloatArray
    cell_offered: FloatArray
    cell_thp: FloatArray
    cell_loss: FloatArray
    cell_p99_ms: FloatArray
    committed_prb: FloatArray
    committed_tn: FloatArray
    n_candidates: int
    n_seeds: int


def _law_targets(pol: PolicyBatch, laws: LawSpec, m: int) -> tuple[SliceTargets, ShareTargets]:
    """Per-candidate bounds repeated over the seeds and flattened to the laws' batch axes."""
    def rep(x: FloatArray) -> FloatArray:
        return np.repeat(x, m, axis=0).reshape(-1, x.shape[-1])

    s = pol.prb_lower.shape[-1]
    slices = SliceTargets(rep(pol.sla_loss), rep(pol.sla_p99_ms), np.asarray(laws.priority, dtype=np.float64),
                          np.full(s, np.nan), rep(pol.prb_lower), rep(pol.prb_upper), rep(pol.prb_max),
                          rep(pol.prb_target), laws.key_rank())
    tn = ShareTargets(np.repeat(pol.tn_lower, m, axis=0), np.repeat(pol.tn_upper, m, axis=0),
                      np.repeat(pol.tn_target, m, axis=0))
    return slices, tn


def rollout_policies(twin: DigitalTwin, state: ObservedState, policies: PolicyBatch, laws: LawSpec,
                     init: ControllerState, n_seeds: int = 8, seed: int = 0, horizon: int | None = None
                     ) -> LoopResult:
    """Roll out ``policies`` (N) x ``n_seeds`` over ``horizon`` slow steps (default: the scenario's)."""
    sc = twin.scenario
    n_c, n_s, n_l = sc.n_cells, sc.n_slices, sc.n_links
    policies.validate(n_c, n_l, n_s)
    init.validate(n_c, n_l, n_s)
    if len(laws.keys) != n_s or len(laws.priority) != n_s:
        raise ValidationError(f"laws: {n_s} slice keys and priorities expected")
    if laws.slice_period_steps < 1 or laws.transport_period_steps < 1:
        raise ValidationError("laws: periods must be >= 1 sub-step")
    n, m = policies.n, n_seeds
    b = n * m
    k_steps = sc.timing.slow_per_horizon if horizon is None else horizon
    f = sc.timing.fast_per_slow
    t_total = k_steps * f
    dt = sc.timing.fast_step_s
    arr = city_arrays(sc)
    rng = np.random.default_rng(np.random.SeedSequence([twin.seed, seed, 1]))
    mm = twin.mismatch
    sm = shock_model(sc, arr, twin.regime)
    sm = replace(sm, hs_rate=sm.hs_rate * mm.shock_rate_scale, wv_rate=sm.wv_rate * mm.shock_rate_scale,
                 fail_hazard=sm.fail_hazard * mm.fail_scale)
    fam = twin.regime.family
    mean_life = {"hotspot": sm.hs_dur, "wave": sm.wv_dur}.get(fam, 0.5 * (sm.hs_dur + sm.wv_dur))
    surge_left = rng.exponential(mean_life, m)  # (M,) s the observed surge lasts
    shocks = initial_shocks(sm, m, n_s, n_l)
    down0 = ~twin.link_up0
    repair = rng.exponential(sm.mttr_s, (m, n_l))
    shocks = replace(shocks, link_up=np.broadcast_to(twin.link_up0, (m, n_l)).copy(),
                     link_down_left_s=np.where(down0[None, :], repair, 0.0))
    pg = point_geometry(sm, arr.cell_xy)
    router = router_of(sc, arr)
    flow0 = initial_flow(b, n_c, n_s)
    flow = FlowState(ran_q=np.broadcast_to(state.ran_q_mbit, (b, n_c, n_s)).copy(), tn_q=flow0.tn_q,
                     prb_util=np.broadcast_to(state.util0, (b, n_c)).copy())
    g = rng.standard_normal((m, n_c, n_s))
    base = state.base_mbps * mm.demand_scale
    mpp = np.broadcast_to(twin.mbit_per_prb_s * mm.capacity_scale * dt, (b, n_c, n_s))
    ratio = np.broadcast_to(init.ratio_pct, (b, n_c, n_s, 3)).copy()
    prev_min = np.broadcast_to(init.previous_min, (b, n_c, n_s)).reshape(b * n_c, n_s).copy()
    tn = np.broadcast_to(init.tn_share, (b, n_l, n_s)).copy()
    s_on = np.repeat(policies.slice_law, m)  # (B,)
    t_on = np.repeat(policies.transport_law, m)
    s_targets, t_targets = _law_targets(policies, laws, m)
    n_prb_rows = np.tile(arr.n_prb, b)
    cap = arr.link_cap_mbps
    pkt_bits = 8.0 * sc.transport.packet_bytes
    rec = {x: np.empty((b, t_total, n_c, n_s)) for x in ("offered", "served", "drop", "delivered", "delay_a_s",
                                                           "delay_beta", "alloc_prb", "min_pct")}
    link_rec = {x: np.empty((b, t_total, n_l, n_s)) for x in ("link_load", "link_carried", "link_cap", "tn")}
    for t in range(t_total):
        shocks = shock_step(sm, shocks, rng)
        g = DEMAND_AR * g + np.sqrt(1 - DEMAND_AR**2) * rng.standard_normal(g.shape)
        mult = demand_multiplier(sm, shocks, pg)  # (M, C, S)
        extra = np.where((t * dt < surge_left)[:, None, None], state.surge - 1.0, 0.0)
        arrivals = base * (mult + extra) * np.exp(DEMAND_SIGMA * g - 0.5 * DEMAND_SIGMA**2) * dt
        up = np.tile(shocks.link_up, (n, 1))
        paths, reach = router.paths(up)
        flow, out = flow_step(flow, arr, dt, np.tile(arrivals, (n, 1, 1)), mpp, ratio, tn, up, paths, reach,
                              pkt_bits)
        drop = out.drop_ran + out.drop_tn
        for name, val in (("offered", out.offered), ("served", out.served), ("drop", drop),
                          ("delivered", out.delivered), ("delay_a_s", out.delay_a_s), ("delay_beta", out.delay_beta),
                          ("alloc_prb", out.alloc_prb), ("min_pct", ratio[..., 1])):
            rec[name][:, t] = val
        link_rec["link_load"][:, t] = out.link_load
        link_rec["link_carried"][:, t] = out.link_carried
        link_rec["link_cap"][:, t] = out.link_cap
        link_rec["tn"][:, t] = tn
        done = t + 1
        if done % laws.slice_period_steps == 0 and s_on.any():
            w = slice(done - laws.slice_period_steps, done)
            kpm = _period_kpm(rec, w, dt, n_prb_rows, b * n_c, n_s)
            new = allocate_batch(kpm, s_targets, prev_min, laws.allocator).reshape(b, n_c, n_s, 3).astype(np.float64)
            ratio = np.where(s_on[:, None, None, None], new, ratio)
            prev_min = np.where(np.repeat(s_on, n_c)[:, None], new[..., 1].reshape(b * n_c, n_s), prev_min)
        if done % laws.transport_period_steps == 0 and t_on.any():
            w = slice(done - laws.transport_period_steps, done)
            offered_l = link_rec["link_load"][:, w].sum(1) / (laws.transport_period_steps * dt)
            new_tn = link_shares_batch(offered_l, cap, laws.keys, laws.transport, tn, t_targets, up)
            tn = np.where(t_on[:, None, None], new_tn, tn)
    kp = summarise(rec["offered"], rec["drop"], rec["delivered"], rec["delay_a_s"], rec["delay_beta"],
                   rec["alloc_prb"], arr.n_prb, link_rec["link_carried"], link_rec["link_cap"],
                   t_total * dt, sc.slices)
    per = _per_slow_step(rec, n, m, k_steps, f, dt)
    committed_prb = (rec["min_pct"] / 100.0).reshape(b, k_steps, f, n_c, n_s).mean(2)
    committed_tn = link_rec["tn"].reshape(b, k_steps, f, n_l, n_s).mean(2)
    cost = control_cost(committed_prb, committed_tn, sc.cost,
                        np.broadcast_to(init.ratio_pct[..., 1] / 100.0, (b, n_c, n_s)),
                        np.broadcast_to(init.tn_share, (b, n_l, n_s)))
    return LoopResult(kp, kp.scm.reshape(n, m), kp.loss.reshape(n, m, n_s), kp.p99_ms.reshape(n, m, n_s),
                      np.asarray(cost).reshape(n, m), *per,
                      committed_prb.reshape(n, m, k_steps, n_c, n_s), committed_tn.reshape(n, m, k_steps, n_l, n_s),
                      n, m)


def _period_kpm(rec: dict[str, FloatArray], w: slice, dt: float, n_prb_rows: FloatArray, rows: int,
                n_s: int) -> SliceKpm:
    """What a controller reads at the end of a control period: the KPM of window ``w`` of every (batch, cell),
    flattened to rows (as the E2 KPM of the period: mean rates, volume-weighted loss, worst sub-step p99)."""
    n_t = w.stop - w.start
    off = rec["offered"][:, w]
    offered = off.sum(1)
    loss = np.where(offered > 1e-12, rec["drop"][:, w].sum(1) / np.maximum(offered, 1e-12), 0.0)
    p99 = ((rec["delay_a_s"][:, w] + LN100 / np.maximum(rec["delay_beta"][:, w], 1e-9)) * 1e3).max(1)
    dur = n_t * dt
    return SliceKpm((offered / dur).reshape(rows, n_s), (rec["served"][:, w].sum(1) / dur).reshape(rows, n_s),
                    rec["alloc_prb"][:, w].mean(1).reshape(rows, n_s), loss.reshape(rows, n_s),
                    p99.reshape(rows, n_s), n_prb_rows)


def _per_slow_step(rec: dict[str, FloatArray], n: int, m: int, k: int, f: int, dt: float
                   ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per slow step and cell: offered and throughput (Mbit/s), loss, worst sub-step p99 (ms)."""
    b, _, c, s = rec["offered"].shape

    def per(x: FloatArray) -> FloatArray:
        return x.reshape(b, k, f, c, s)

    off = per(rec["offered"]).sum(2)
    loss = np.where(off > 1e-12, per(rec["drop"]).sum(2) / np.maximum(off, 1e-12), 0.0)
    p99 = (per(rec["delay_a_s"]) + LN100 / np.maximum(per(rec["delay_beta"]), 1e-9)).max(2) * 1e3
    slow_s = f * dt

    def shp(x: FloatArray) -> FloatArray:
        return np.asarray(x.reshape(n, m, k, c, s))

    return shp(off / slow_s), shp(per(rec["served"]).sum(2) / slow_s), shp(loss), shp(p99)

"""Digital twin: the same core (shocks, scheduler, queues, transport, KPIs) initialised from
observations only — scenario configuration, KPM history and observable link alarms — with its own
random streams. It never receives an :class:`~testbed.core.engine.Emulator`, so it cannot read the
emulator's hidden state (UE positions, shadowing, active shocks, future draws).

The twin is KPM-level: per (cell, slice) it estimates the offered load (Mbit/s) and the capacity per
PRB (Mbit/PRB/s) from the KPM history, then rolls out batched candidates x seeds with common random
numbers across candidates (every candidate sees the same exogenous draws per seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nextric.errors import ValidationError
from testbed.core.flow import flow_step, initial_flow
from testbed.core.kpi import KpiSummary, control_cost, summarise
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport
from testbed.core.scenario import city_arrays
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import (
    ShockRegime,
    demand_multiplier,
    initial_shocks,
    point_geometry,
    shock_model,
    shock_step,
)
from testbed.core.transport import Router
from testbed.core.types import BoolArray, FloatArray

DEMAND_AR = 0.7
DEMAND_SIGMA = 0.2


@dataclass(frozen=True)
class MismatchKnobs:
    """Optional model mismatch: scale the twin's demand, capacity, shock rates and failure hazard."""

    demand_scale: float = 1.0
    capacity_scale: float = 1.0
    shock_rate_scale: float = 1.0
    fail_scale: float = 1.0


@dataclass(frozen=True, eq=False)
class RolloutResult:
    """Batched rollout outcome: N candidates x M seeds."""

    kpis: KpiSummary  #: arrays with leading axis N*M (candidate-major)
    scm: FloatArray  #: (N, M)
    loss: FloatArray  #: (N, M, S)
    p99_ms: FloatArray  #: (N, M, S)
    cost: FloatArray  #: (N,) normalised control cost
    n_candidates: int
    n_seeds: int


@dataclass(frozen=True, eq=False)
class DigitalTwin:
    """Observation-initialised twin (build with :meth:`from_observations`)."""

    scenario: ScenarioParams
    regime: ShockRegime
    offered_mbps: FloatArray  #: (C, S) estimated base load
    mbit_per_prb_s: FloatArray  #: (C, S) estimated capacity per PRB
    link_up0: BoolArray  #: (L,) link state at the start of rollouts
    mismatch: MismatchKnobs
    seed: int

    @staticmethod
    def from_observations(scenario: ScenarioParams, kpm_history: Sequence[KpmReport],
                          regime: ShockRegime | None = None, link_up: BoolArray | None = None, seed: int = 0,
                          mismatch: MismatchKnobs | None = None) -> DigitalTwin:
        """Estimate load and capacity from KPM reports (TS 28.552 fields only)."""
        if not kpm_history:
            raise ValidationError("the twin needs at least one KPM report")
        n_c, n_s = scenario.n_cells, scenario.n_slices
        w = np.zeros((n_c, n_s))
        off = np.zeros((n_c, n_s))
        thp = np.zeros((n_c, n_s))
        prb = np.zeros((n_c, n_s))
        idx = {c.cell_id: i for i, c in enumerate(scenario.cells)}
        for rep in kpm_history:
            dur = rep.t_end_s - rep.t_start_s
            for cell in rep.cells:
                ci = idx[cell.cell_id]
                for si, sk in enumerate(cell.slices):
                    w[ci, si] += dur
                    off[ci, si] += sk.offered_mbps * dur
                    thp[ci, si] += sk.thp_dl_mbps * dur
                    prb[ci, si] += sk.prb_used_dl * dur
        offered = off / np.maximum(w, 1e-9)
        cap = np.where(prb > 1e-6, thp / np.maximum(prb, 1e-9), np.nan)
        cell_mean = np.nanmean(np.where(np.isnan(cap), np.nan, cap), axis=1, keepdims=True)
        cap = np.where(np.isnan(cap), np.where(np.isnan(cell_mean), 1.0, cell_mean), cap)
        up = np.ones(scenario.n_links, dtype=bool) if link_up is None else np.asarray(link_up, dtype=bool).copy()
        return DigitalTwin(scenario, regime or ShockRegime("hotspot", False), offered, cap, up,
                           mismatch or MismatchKnobs(), seed)

    def rollout(self, prb_shares: FloatArray, tn_shares: FloatArray, n_seeds: int = 4,
                seed: int | None = None) -> RolloutResult:
        """Roll out N candidate policies x ``n_seeds`` exogenous seeds over K slow steps.

        prb_shares (N, K, C, S) and tn_shares (N, K, L, S) in [0, 1] (sums <= 1 per cell / link).
        """
        sc = self.scenario
        n, k = prb_shares.shape[:2]
        m = n_seeds
        b = n * m
        dt = sc.timing.fast_step_s
        arr = city_arrays(sc)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0 if seed is None else seed]))
        sm = shock_model(sc, arr, self.regime)
        from dataclasses import replace

        mm = self.mismatch
        sm = replace(sm, hs_rate=sm.hs_rate * mm.shock_rate_scale, wv_rate=sm.wv_rate * mm.shock_rate_scale,
                     fail_hazard=sm.fail_hazard * mm.fail_scale)
        shocks = initial_shocks(sm, m, sc.n_slices, sc.n_links)
        shocks = replace(shocks, link_up=np.broadcast_to(self.link_up0, (m, sc.n_links)).copy())
        pg = point_geometry(sm, arr.cell_xy)
        router = Router.build(sc, arr)
        flow = initial_flow(b, sc.n_cells, sc.n_slices)
        g = rng.standard_normal((m, sc.n_cells, sc.n_slices))
        base = self.offered_mbps * mm.demand_scale
        mpp = np.broadcast_to(self.mbit_per_prb_s * mm.capacity_scale * dt, (b, sc.n_cells, sc.n_slices))
        ratios = shares_to_ratios(prb_shares)  # (N, K, C, S, 3)
        keys = ("offered", "drop", "delivered", "delay_a_s", "delay_beta", "alloc_prb", "link_carried", "link_cap")
        rec: dict[str, list[FloatArray]] = {x: [] for x in keys}
        for ks in range(k):
            r_k = np.repeat(ratios[:, ks], m, axis=0)
            t_k = np.repeat(tn_shares[:, ks], m, axis=0)
            for _ in range(sc.timing.fast_per_slow):
                shocks = shock_step(sm, shocks, rng)
                g = DEMAND_AR * g + np.sqrt(1 - DEMAND_AR**2) * rng.standard_normal(g.shape)
                mult = demand_multiplier(sm, shocks, pg)  # (M, C, S)
                arrivals = base * mult * np.exp(DEMAND_SIGMA * g - 0.5 * DEMAND_SIGMA**2) * dt
                a_b = np.tile(arrivals, (n, 1, 1))
                up = np.tile(shocks.link_up, (n, 1))
                paths, reach = router.paths(up)
                flow, out = flow_step(flow, arr, dt, a_b, mpp, r_k, t_k, up, paths, reach,
                                      8.0 * sc.transport.packet_bytes)
                rec["offered"].append(out.offered)
                rec["drop"].append(out.drop_ran + out.drop_tn)
                rec["delivered"].append(out.delivered)
                rec["delay_a_s"].append(out.delay_a_s)
                rec["delay_beta"].append(out.delay_beta)
                rec["alloc_prb"].append(out.alloc_prb)
                rec["link_carried"].append(out.link_carried)
                rec["link_cap"].append(out.link_cap)
        st = {x: np.stack(v, axis=1) for x, v in rec.items()}
        dur = k * sc.timing.slow_step_s
        kp = summarise(st["offered"], st["drop"], st["delivered"], st["delay_a_s"], st["delay_beta"],
                       st["alloc_prb"], arr.n_prb, st["link_carried"], st["link_cap"], dur, sc.slices)
        cost = control_cost(prb_shares, tn_shares, sc.cost)
        return RolloutResult(kpis=kp, scm=kp.scm.reshape(n, m), loss=kp.loss.reshape(n, m, -1),
                             p99_ms=kp.p99_ms.reshape(n, m, -1), cost=cost, n_candidates=n, n_seeds=m)

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

from nextric.datacard import DataCard
from nextric.errors import ValidationError
from nextric.kpi import KpiSummary, control_cost, summarise
from nextric.kpm import load_estimate
from testbed.core.flow import flow_step, initial_flow
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport
from testbed.core.scenario import city_arrays, router_of
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import (
    ShockRegime,
    demand_multiplier,
    initial_shocks,
    point_geometry,
    shock_model,
    shock_step,
)
from testbed.core.types import BoolArray, FloatArray
from testbed.datacards import trajectory_card

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
    steps: StepKpis | None = None  #: per-slow-step detail, only with ``rollout(..., per_step=True)``


@dataclass(frozen=True, eq=False)
class StepKpis:
    """Per-slow-step detail of a batched rollout (``rollout(..., per_step=True)``); leading axes (N, M, K).

    ``loss``/``p99_ms``/``throughput_mbps``/``prb_util`` (N, M, K, S) are the KPIs of each slow step alone;
    ``cum_loss`` (N, M, K, S) the loss over slow steps 0..k (the last one equals the horizon loss);
    per (cell, slice) volumes over each slow step (N, M, K, C, S) Mbit: ``offered``, ``delivered``,
    ``drop_ran``, ``drop_tn``; ``alloc_prb`` (N, M, K, C, S) PRB-sub-steps; per link (N, M, K, L):
    ``link_carried``, ``link_cap`` Mbit; ``link_up`` (N, M, K, L) bool at the end of each slow step."""

    loss: FloatArray
    p99_ms: FloatArray
    throughput_mbps: FloatArray
    prb_util: FloatArray
    cum_loss: FloatArray
    offered: FloatArray
    delivered: FloatArray
    drop_ran: FloatArray
    drop_tn: FloatArray
    alloc_prb: FloatArray
    link_carried: FloatArray
    link_cap: FloatArray
    link_up: BoolArray


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
        offered, cap = load_estimate(kpm_history, [c.cell_id for c in scenario.cells], scenario.n_slices)
        up = np.ones(scenario.n_links, dtype=bool) if link_up is None else np.asarray(link_up, dtype=bool).copy()
        return DigitalTwin(scenario, regime or ShockRegime("hotspot", False), offered, cap, up,
                           mismatch or MismatchKnobs(), seed)

    def rollout_card(self, result: RolloutResult, seed: int | None = None,
                     logging_policy: str = "candidate plans under evaluation") -> DataCard:
        """Wireless data card of one batch of rollouts (``result`` of :meth:`rollout` with the same ``seed``):
        the twin is the simulator, its provenance the observations it was built from and its random streams."""
        from dataclasses import asdict

        sc = self.scenario
        batch = {"kind": "digital-twin rollouts", "candidates": result.n_candidates, "seeds_per_candidate":
                 result.n_seeds, "twin_seed": self.seed, "rollout_seed": 0 if seed is None else seed,
                 "initialised_from": "KPM reports (TS 28.552 fields) and link alarms only",
                 "mismatch": asdict(self.mismatch), "horizon_slow_steps": sc.timing.slow_per_horizon,
                 "per_step": result.steps is not None,
                 "arrays": {"scm": "(N, M)", "loss": "(N, M, S) fraction", "p99_ms": "(N, M, S) ms",
                            "cost": "(N,) normalised control cost"}}
        return trajectory_card(sc, self.regime, [self.seed, 0 if seed is None else seed], logging_policy,
                               task="digital-twin rollouts of candidate slicing plans",
                               description="horizon KPIs per candidate and exogenous seed, common random numbers",
                               extra={"batch": batch})

    def rollout(self, prb_shares: FloatArray, tn_shares: FloatArray, n_seeds: int = 4,
                seed: int | None = None, per_step: bool = False) -> RolloutResult:
        """Roll out N candidate policies x ``n_seeds`` exogenous seeds over K slow steps.

        prb_shares (N, K, C, S) and tn_shares (N, K, L, S) in [0, 1] (sums <= 1 per cell / link).
        ``per_step`` adds :class:`StepKpis` (the same draws: the horizon results are unchanged).
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
        router = router_of(sc, arr)
        flow = initial_flow(b, sc.n_cells, sc.n_slices)
        g = rng.standard_normal((m, sc.n_cells, sc.n_slices))
        base = self.offered_mbps * mm.demand_scale
        mpp = np.broadcast_to(self.mbit_per_prb_s * mm.capacity_scale * dt, (b, sc.n_cells, sc.n_slices))
        ratios = plan_ratios(sc.plan_shares, prb_shares)  # (N, K, C, S, 3)
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
                if per_step:
                    rec.setdefault("drop_tn", []).append(out.drop_tn)
                    rec.setdefault("link_up", []).append(up.astype(np.float64))
        st = {x: np.stack(v, axis=1) for x, v in rec.items()}
        dur = k * sc.timing.slow_step_s
        kp = summarise(st["offered"], st["drop"], st["delivered"], st["delay_a_s"], st["delay_beta"],
                       st["alloc_prb"], arr.n_prb, st["link_carried"], st["link_cap"], dur, sc.slices)
        cost = control_cost(prb_shares, tn_shares, sc.cost)
        steps = _step_kpis(st, n, m, k, sc, arr.n_prb) if per_step else None
        return RolloutResult(kpis=kp, scm=kp.scm.reshape(n, m), loss=kp.loss.reshape(n, m, -1),
                             p99_ms=kp.p99_ms.reshape(n, m, -1), cost=cost, n_candidates=n, n_seeds=m,
                             steps=steps)


def _step_kpis(st: dict[str, FloatArray], n: int, m: int, k: int, sc: ScenarioParams,
               n_prb: FloatArray) -> StepKpis:
    """Per-slow-step and cumulative KPIs from the stacked sub-step records (B, T, ...), T = K x F."""
    b = n * m
    f = sc.timing.fast_per_slow

    def per(x: FloatArray) -> FloatArray:  # (B, T, ...) -> (B*K, F, ...)
        return x.reshape(b * k, f, *x.shape[2:])

    drop = st["drop"]
    kp = summarise(per(st["offered"]), per(drop), per(st["delivered"]), per(st["delay_a_s"]),
                   per(st["delay_beta"]), per(st["alloc_prb"]), n_prb, per(st["link_carried"]),
                   per(st["link_cap"]), sc.timing.slow_step_s, sc.slices)
    off_k = st["offered"].reshape(b, k, f, *st["offered"].shape[2:]).sum((2, 3)).cumsum(1)  # (B, K, S)
    drop_k = drop.reshape(b, k, f, *drop.shape[2:]).sum((2, 3)).cumsum(1)
    cum_loss = np.where(off_k > 1e-12, drop_k / np.maximum(off_k, 1e-12), 0.0)

    def vol(x: FloatArray) -> FloatArray:  # (B, T, C, S) -> (N, M, K, C, S) sums over each slow step
        return np.asarray(x.reshape(n, m, k, f, *x.shape[2:]).sum(3))

    def shp(x: FloatArray) -> FloatArray:
        return x.reshape(n, m, k, *x.shape[1:])

    return StepKpis(loss=shp(kp.loss), p99_ms=shp(kp.p99_ms), throughput_mbps=shp(kp.throughput_mbps),
                    prb_util=shp(kp.prb_util), cum_loss=cum_loss.reshape(n, m, k, -1), offered=vol(st["offered"]),
                    delivered=vol(st["delivered"]), drop_ran=vol(drop - st["drop_tn"]), drop_tn=vol(st["drop_tn"]),
                    alloc_prb=vol(st["alloc_prb"]), link_carried=vol(st["link_carried"]).sum(-1),
                    link_cap=vol(st["link_cap"]).sum(-1),
                    link_up=st["link_up"].reshape(n, m, k, f, -1)[:, :, :, -1] > 0.5)

"""gRPC face of the digital twin (``nextric.twin.v1.DigitalTwin``), served by the testbed process for the rApp.

The service holds only the scenario configuration. ``Describe`` tells the network as an inventory would (cells,
zones, transport nodes and links, slices and their SLAs, timing, cost weights, the shock families). Each
``Rollout`` builds a :class:`~testbed.twin.DigitalTwin` from the observations in the request (E2 KPM reports,
link alarms) and rolls the candidates out in a worker thread, so the event loop keeps serving E2 meanwhile:
open loop (fixed shares) or closed loop (:mod:`testbed.closed_loop`: the plans' bounds with the shared control
laws running inside them, from the controllers' state in the request). It never touches the running emulator.
Every request is bounded before any work starts (:class:`TwinLimits`: candidates, seeds, their product, horizon,
total cell-steps; INVALID_ARGUMENT naming the field), and at most ``max_concurrent_rollouts`` run at once (further
ones are answered RESOURCE_EXHAUSTED at once, not queued).
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import numpy as np
from pydantic import BaseModel, Field

from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.errors import ConfigError, ValidationError
from nextric.kpm import KpmReport, report_of
from nextric.twin.codec import from_tensor, laws_from_proto, policies_from_proto, state_from_proto, to_tensor
from nextric.twin.v1 import twin_pb2, twin_pb2_grpc
from testbed.closed_loop import infer_state, mean_multiplier, rollout_policies
from testbed.core.params import ScenarioParams
from testbed.core.shocks import ShockRegime
from testbed.describe import description, slice_ids
from testbed.twin import DigitalTwin, MismatchKnobs

SERVICE_NAME = "nextric.twin.v1.DigitalTwin"
MAX_ROLLOUTS = 4096  #: candidates x seeds per request
MAX_HORIZON_FACTOR = 4  #: a closed-loop horizon may be at most this many times the description's
MAX_CELL_STEPS = 20_000_000  #: candidates x seeds x sub-steps x cells per request (bounds CPU and memory)


class TwinLimits(BaseModel):
    """Bounds on one ``Rollout`` and on rollouts at once (testbed settings ``NEXTRIC_TESTBED_TWIN__*``)."""

    max_candidates: int = Field(MAX_ROLLOUTS, ge=1, description="candidates (plans or share sets) per request")
    max_seeds: int = Field(256, ge=1, description="seeds per candidate (n_seeds)")
    max_rollouts: int = Field(MAX_ROLLOUTS, ge=1, description="candidates x seeds per request")
    max_horizon_slow_steps: int | None = Field(
        None, ge=1, description="horizon in slow steps; None: MAX_HORIZON_FACTOR x the description's horizon")
    max_cell_steps: int = Field(MAX_CELL_STEPS, ge=1, description="candidates x seeds x sub-steps x cells per request")
    max_concurrent_rollouts: int = Field(4, ge=1, description="Rollout calls running at once; more: RESOURCE_EXHAUSTED")


class TwinService(twin_pb2_grpc.DigitalTwinServicer):
    def __init__(self, scenario: ScenarioParams, scenario_name: str, cell_keys: list[str],
                 limits: TwinLimits | None = None) -> None:
        if len(cell_keys) != scenario.n_cells:
            raise ConfigError(f"{len(cell_keys)} cell keys for {scenario.n_cells} cells")
        self.limits = limits or TwinLimits()
        self.active = 0  #: Rollout calls running now
        self.scenario = scenario
        self.name = scenario_name
        self.cell_keys = cell_keys
        self._cell_ids = {key: cell.cell_id for key, cell in zip(cell_keys, scenario.cells, strict=True)}
        self._slice_ids = slice_ids(scenario)
        self.slice_keys = [s.key for s in self._slice_ids]
        self._mean_mult: dict[tuple[str, float], np.ndarray] = {}  #: per regime and shock-rate scale

    def mean_multiplier(self, twin: DigitalTwin) -> np.ndarray:
        """The regime's mean demand multiplier per cell and slice (computed once per regime, from configuration)."""
        key = (twin.regime.label, twin.mismatch.shock_rate_scale)
        if key not in self._mean_mult:
            self._mean_mult[key] = mean_multiplier(self.scenario, twin.regime, twin.mismatch.shock_rate_scale)
        return self._mean_mult[key]

    async def Describe(self, request: twin_pb2.DescribeRequest, context: Any) -> twin_pb2.TwinDescription:
        return self.description()

    def description(self) -> twin_pb2.TwinDescription:
        return description(self.scenario, self.name, self.cell_keys)

    def reports(self, history: list[kpm_pb2.KpmIndicationMessage]) -> list[KpmReport]:
        """E2 KPM messages -> the twin's KPM reports (one per message; unknown cells are an error)."""
        return [report_of([msg], self._cell_ids, self._slice_ids, strict=True) for msg in history]

    def _twin(self, request: twin_pb2.RolloutRequest) -> tuple[DigitalTwin, list[KpmReport]]:
        sc = self.scenario
        if not request.kpm_history:
            raise ValidationError("kpm_history is empty: the twin is built from observations only")
        link_up = np.asarray(request.link_up, dtype=bool) if request.link_up else None
        if link_up is not None and link_up.shape != (sc.n_links,):
            raise ValidationError(f"link_up needs {sc.n_links} values")
        mm = request.mismatch if request.HasField("mismatch") else None
        knobs = None
        if mm is not None:
            vals = (mm.demand_scale, mm.capacity_scale, mm.shock_rate_scale, mm.fail_scale)
            if not all(np.isfinite(v) and 0 <= v <= 100 for v in vals):
                raise ValidationError("mismatch scales must be finite and within 0..100")
            knobs = MismatchKnobs(*(v or 1.0 for v in vals))
        reports = self.reports(list(request.kpm_history))
        twin = DigitalTwin.from_observations(sc, reports, ShockRegime.parse(request.shocks or "hotspot-ID"), link_up,
                                             seed=int(request.seed), mismatch=knobs)
        return twin, reports

    def run(self, request: twin_pb2.RolloutRequest) -> twin_pb2.RolloutResponse:
        if request.HasField("policies"):
            return self.run_closed_loop(request)
        sc = self.scenario
        prb = from_tensor(request.prb_shares, "prb_shares", 4)
        tn = from_tensor(request.transport_shares, "transport_shares", 4)
        n, k = prb.shape[:2]
        if prb.shape[2:] != (sc.n_cells, sc.n_slices):
            raise ValidationError(f"prb_shares must be (N, K, {sc.n_cells}, {sc.n_slices}), got {prb.shape}")
        if tn.shape != (n, k, sc.n_links, sc.n_slices):
            raise ValidationError(f"transport_shares must be ({n}, {k}, {sc.n_links}, {sc.n_slices}), got {tn.shape}")
        for name, arr in (("prb_shares", prb), ("transport_shares", tn)):
            if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any() or (arr.sum(-1) > 1 + 1e-6).any():
                raise ValidationError(f"{name}: shares must be in [0, 1] with sums <= 1 per cell/link")
        seeds = request.n_seeds or 4
        self._check_budget(n, seeds, k)
        twin, _ = self._twin(request)
        res = twin.rollout(prb, tn, n_seeds=seeds, seed=int(request.seed), per_step=request.per_step)
        out = twin_pb2.RolloutResponse(scm=to_tensor(res.scm), loss=to_tensor(res.loss), p99_ms=to_tensor(res.p99_ms),
                                       cost=to_tensor(np.asarray(res.cost)), rollouts=n * seeds)
        if res.steps is not None:
            st = res.steps
            out.steps.CopyFrom(twin_pb2.StepDetail(
                loss=to_tensor(st.loss), p99_ms=to_tensor(st.p99_ms), throughput_mbps=to_tensor(st.throughput_mbps),
                prb_util=to_tensor(st.prb_util), cum_loss=to_tensor(st.cum_loss), offered_mbit=to_tensor(st.offered),
                delivered_mbit=to_tensor(st.delivered), drop_ran_mbit=to_tensor(st.drop_ran),
                drop_tn_mbit=to_tensor(st.drop_tn), alloc_prb=to_tensor(st.alloc_prb)))
        return out

    def _check_budget(self, n: int, seeds: int, k: int) -> None:
        """Refuse a request over any bound, naming the request field and the limit."""
        t = self.scenario.timing
        lim = self.limits
        max_k = lim.max_horizon_slow_steps or MAX_HORIZON_FACTOR * t.slow_per_horizon
        if not 1 <= n <= lim.max_candidates:
            raise ValidationError(f"candidates: {n} outside 1..{lim.max_candidates} (max_candidates)")
        if not 1 <= seeds <= lim.max_seeds:
            raise ValidationError(f"n_seeds: {seeds} outside 1..{lim.max_seeds} (max_seeds)")
        if n * seeds > lim.max_rollouts:
            raise ValidationError(f"candidates x n_seeds: {n} x {seeds} = {n * seeds} above {lim.max_rollouts} "
                                  f"(max_rollouts)")
        if not 1 <= k <= max_k:
            raise ValidationError(f"horizon_slow_steps: {k} slow steps outside 1..{max_k} "
                                  "(max_horizon_slow_steps)")
        work = n * seeds * k * t.fast_per_slow * self.scenario.n_cells
        if work > lim.max_cell_steps:
            raise ValidationError(f"request too large: {work} cell-steps (candidates x n_seeds x sub-steps x cells), "
                                  f"at most {lim.max_cell_steps} (max_cell_steps)")

    def run_closed_loop(self, request: twin_pb2.RolloutRequest) -> twin_pb2.RolloutResponse:
        sc = self.scenario
        if request.prb_shares.values or request.transport_shares.values:
            raise ValidationError("a closed-loop rollout takes policies, not shares: leave the shares empty")
        if not request.HasField("laws") or not request.HasField("initial"):
            raise ValidationError("a closed-loop rollout needs the laws as they run and the controllers' state")
        pol = policies_from_proto(request.policies)
        pol.validate(sc.n_cells, sc.n_links, sc.n_slices)
        init = state_from_proto(request.initial)
        init.validate(sc.n_cells, sc.n_links, sc.n_slices)
        laws = laws_from_proto(request.laws, self.slice_keys, round(sc.timing.fast_step_s * 1000))
        seeds = request.n_seeds or 8
        k = request.horizon_slow_steps or sc.timing.slow_per_horizon
        self._check_budget(pol.n, seeds, k)
        twin, reports = self._twin(request)
        state = infer_state(sc, reports, self.mean_multiplier(twin))
        res = rollout_policies(twin, state, pol, laws, init, seeds, int(request.seed), k)
        return twin_pb2.RolloutResponse(
            scm=to_tensor(res.scm), loss=to_tensor(res.loss), p99_ms=to_tensor(res.p99_ms),
            cost=to_tensor(res.cost.mean(1)), rollouts=pol.n * seeds,
            cell_offered_mbps=to_tensor(res.cell_offered), cell_thp_mbps=to_tensor(res.cell_thp),
            cell_loss=to_tensor(res.cell_loss), cell_p99_ms=to_tensor(res.cell_p99_ms), seed_cost=to_tensor(res.cost),
            committed_prb=to_tensor(res.committed_prb.mean(1)), committed_tn=to_tensor(res.committed_tn.mean(1)))

    def rollout(self, request: twin_pb2.RolloutRequest) -> twin_pb2.RolloutResponse:
        """In-process ``Rollout`` (benchmarks and training call the twin without a network hop); bad requests raise
        :class:`~nextric.errors.ValidationError` as the gRPC face answers INVALID_ARGUMENT."""
        return self.run(request)

    async def Rollout(self, request: twin_pb2.RolloutRequest, context: Any) -> twin_pb2.RolloutResponse:
        if self.active >= self.limits.max_concurrent_rollouts:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"{self.active} rollouts running, at most "
                                f"{self.limits.max_concurrent_rollouts} at once (max_concurrent_rollouts); retry later")
        self.active += 1
        try:
            return await asyncio.to_thread(self.run, request)
        except (ValidationError, ConfigError) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from exc
        finally:
            self.active -= 1


def registrar(service: TwinService) -> tuple[str, Any]:
    """(service name, registrar) for :func:`nextric.e2.server.start_e2_server`'s ``extra_services``."""
    return SERVICE_NAME, lambda server: twin_pb2_grpc.add_DigitalTwinServicer_to_server(service, server)

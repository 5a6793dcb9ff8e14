"""gRPC face of the digital twin (``nextric.twin.v1.DigitalTwin``), served by the testbed process for the rApp.

The service holds only the scenario configuration. ``Describe`` tells the network as an inventory would (cells,
zones, transport nodes and links, slices and their SLAs, timing, cost weights, the shock families). Each
``Rollout`` builds a :class:`~testbed.twin.DigitalTwin` from the observations in the request (E2 KPM reports,
link alarms) and rolls the candidates out in a worker thread, so the event loop keeps serving E2 meanwhile:
open loop (fixed shares) or closed loop (:mod:`testbed.closed_loop`: the plans' bounds with the shared control
laws running inside them, from the controllers' state in the request). It never touches the running emulator.
Every request is bounded (candidates x seeds, horizon, total cell-steps) before any work starts.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import grpc
import numpy as np

from nextric.e2 import ids, measurements
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.errors import ConfigError, ValidationError
from nextric.twin.codec import from_tensor, laws_from_proto, policies_from_proto, state_from_proto, to_tensor
from nextric.twin.v1 import twin_pb2, twin_pb2_grpc
from testbed.closed_loop import infer_state, mean_multiplier, rollout_policies
from testbed.core.geometry import in_zone
from testbed.core.params import ScenarioParams
from testbed.core.reports import CellKpm, KpmReport, SliceKpm
from testbed.core.scenario import city_arrays
from testbed.core.shocks import ShockRegime
from testbed.twin import DigitalTwin, MismatchKnobs

SERVICE_NAME = "nextric.twin.v1.DigitalTwin"
MAX_ROLLOUTS = 4096  #: candidates x seeds per request
MAX_HORIZON_FACTOR = 4  #: a closed-loop horizon may be at most this many times the description's
MAX_CELL_STEPS = 20_000_000  #: candidates x seeds x sub-steps x cells per request (bounds CPU and memory)


class TwinService(twin_pb2_grpc.DigitalTwinServicer):
    def __init__(self, scenario: ScenarioParams, scenario_name: str, cell_keys: list[str]) -> None:
        if len(cell_keys) != scenario.n_cells:
            raise ConfigError(f"{len(cell_keys)} cell keys for {scenario.n_cells} cells")
        self.scenario = scenario
        self.name = scenario_name
        self.cell_keys = cell_keys
        self._cell_ids = {key: cell.cell_id for key, cell in zip(cell_keys, scenario.cells, strict=True)}
        self.slice_keys = [ids.snssai_key(ids.make_snssai(s.sst, s.sd)) for s in scenario.slices]
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
        sc = self.scenario
        t = sc.timing
        arr = city_arrays(sc)
        zones_of = {z.name: in_zone(z, arr.cell_xy) for z in sc.zones}
        shocks = []
        if sc.hotspot is not None:
            h = sc.hotspot
            shocks.append(twin_pb2.ShockFamily(family="hotspot", zone=h.zone, intensity=list(h.intensity),
                                               duration_s=h.duration_s, rate_per_slow_step=h.rate_per_slow_step,
                                               radius_m=h.radius_m))
        if sc.wave is not None:
            w = sc.wave
            shocks.append(twin_pb2.ShockFamily(family="wave", zone=w.zone, intensity=list(w.intensity),
                                               duration_s=w.duration_s, rate_per_slow_step=w.rate_per_slow_step,
                                               radius_m=w.width_m))
        return twin_pb2.TwinDescription(
            scenario=self.name,
            cell_keys=self.cell_keys,
            slice_keys=self.slice_keys,
            link_ids=[link.name for link in sc.transport.links],
            slow_steps_per_horizon=t.slow_per_horizon,
            fast_steps_per_slow=t.fast_per_slow,
            fast_step_s=t.fast_step_s,
            cells=[twin_pb2.CellTopology(cell_key=key, cell_id=c.cell_id, name=c.name,
                                         position=twin_pb2.Point(x_m=c.x_m, y_m=c.y_m), prb_count=c.n_prb,
                                         agg_node=c.agg_node, zones=[z for z, m in zones_of.items() if m[i]])
                   for i, (key, c) in enumerate(zip(self.cell_keys, sc.cells, strict=True))],
            zones=[twin_pb2.ZoneTopology(name=z.name, kind=z.kind, radius_m=z.radius_m,
                                         points=[twin_pb2.Point(x_m=x, y_m=y) for x, y in z.points])
                   for z in sc.zones],
            nodes=[twin_pb2.NodeTopology(name=n, position=twin_pb2.Point(x_m=xy[0], y_m=xy[1]),
                                         hub=n == sc.transport.hub)
                   for n, xy in zip(sc.transport.nodes, sc.transport.node_xy, strict=True)],
            links=[twin_pb2.LinkTopology(link_id=ln.name, src=ln.src, dst=ln.dst, capacity_mbps=ln.capacity_mbps,
                                         delay_ms=ln.delay_ms, corridor=ln.corridor) for ln in sc.transport.links],
            slices=[twin_pb2.SliceDescription(key=k, name=s.name, sst=s.sst, sd=s.sd, sla_loss=s.sla_loss,
                                              sla_p99_ms=s.sla_p99_ms or 0.0, packet_bytes=int(s.packet_bytes),
                                              base_delay_ms=s.base_delay_ms, discard_ms=s.discard_ms)
                    for k, s in zip(self.slice_keys, sc.slices, strict=True)],
            cost=twin_pb2.CostWeights(w_prb=sc.cost.w_prb, w_transport=sc.cost.w_transport,
                                      w_change=sc.cost.w_change),
            shock_families=shocks,
        )

    def reports(self, history: list[kpm_pb2.KpmIndicationMessage]) -> list[KpmReport]:
        """E2 KPM messages -> the twin's KPM reports (one per message; unknown cells are an error)."""
        out: list[KpmReport] = []
        for msg in history:
            table = measurements.kpm_table(msg)
            per_cell: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
            totals: dict[str, dict[str, float]] = {}
            for (cell, slice_key), values in table.items():
                if cell not in self._cell_ids:
                    raise ValidationError(f"KPM for unknown cell {cell}")
                if slice_key is not None:
                    per_cell[cell][slice_key] = values
                else:
                    totals[cell] = values
            cells = []
            for cell, slices in per_cell.items():
                kpms = tuple(
                    SliceKpm(
                        int(key.split("-")[0]),
                        key.split("-")[1] if "-" in key else "",
                        key,
                        slices.get(key, {}).get(measurements.THP_DL, 0.0),
                        slices.get(key, {}).get(measurements.PRB_USED_DL, 0.0),
                        slices.get(key, {}).get(measurements.DELAY_DL, 0.0),
                        slices.get(key, {}).get(measurements.LOSS_DL, 0.0),
                        slices.get(key, {}).get(measurements.DELAY_DL_P99, 0.0),
                        slices.get(key, {}).get(measurements.OFFERED_DL, 0.0),
                        (0.0, 0.0, 0.0),
                    )
                    for key in self.slice_keys
                )
                tot = totals.get(cell, {})
                cells.append(CellKpm(self._cell_ids[cell], tot.get(measurements.PRB_AVAIL_DL, 0.0),
                                     tot.get(measurements.PRB_USED_DL, sum(k.prb_used_dl for k in kpms)), kpms))
            out.append(KpmReport(0.0, max(msg.granularity_period_ms, 1) / 1000.0, 1, tuple(cells)))
        return out

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
        res = twin.rollout(prb, tn, n_seeds=seeds, seed=int(request.seed))
        return twin_pb2.RolloutResponse(
            scm=to_tensor(res.scm),
            loss=to_tensor(res.loss),
            p99_ms=to_tensor(res.p99_ms),
            cost=to_tensor(np.asarray(res.cost)),
            rollouts=n * seeds,
        )

    def _check_budget(self, n: int, seeds: int, k: int) -> None:
        t = self.scenario.timing
        if n < 1 or n * seeds > MAX_ROLLOUTS or not 1 <= k <= MAX_HORIZON_FACTOR * t.slow_per_horizon:
            raise ValidationError(f"N x seeds must be in 1..{MAX_ROLLOUTS} and the horizon in 1.."
                                  f"{MAX_HORIZON_FACTOR * t.slow_per_horizon} slow steps (got {n} x {seeds}, K={k})")
        work = n * seeds * k * t.fast_per_slow * self.scenario.n_cells
        if work > MAX_CELL_STEPS:
            raise ValidationError(f"request too large: {work} cell-steps (N x seeds x sub-steps x cells), at most "
                                  f"{MAX_CELL_STEPS}")

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

    async def Rollout(self, request: twin_pb2.RolloutRequest, context: Any) -> twin_pb2.RolloutResponse:
        try:
            return await asyncio.to_thread(self.run, request)
        except (ValidationError, ConfigError) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from exc


def registrar(service: TwinService) -> tuple[str, Any]:
    """(service name, registrar) for :func:`nextric.e2.server.start_e2_server`'s ``extra_services``."""
    return SERVICE_NAME, lambda server: twin_pb2_grpc.add_DigitalTwinServicer_to_server(service, server)

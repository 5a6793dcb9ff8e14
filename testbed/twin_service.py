"""gRPC face of the digital twin (``nextric.twin.v1.DigitalTwin``), served by the testbed process for the rApp.

The service holds only the scenario configuration. Each ``Rollout`` builds a :class:`~testbed.twin.DigitalTwin`
from the observations in the request (E2 KPM reports, link alarms) and rolls the candidates out in a worker
thread, so the event loop keeps serving E2 meanwhile. It never touches the running emulator.
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
from nextric.twin.v1 import twin_pb2, twin_pb2_grpc
from testbed.core.params import ScenarioParams
from testbed.core.reports import CellKpm, KpmReport, SliceKpm
from testbed.core.shocks import ShockRegime
from testbed.twin import DigitalTwin, MismatchKnobs

SERVICE_NAME = "nextric.twin.v1.DigitalTwin"
MAX_ROLLOUTS = 4096  # candidates x seeds per request


def to_tensor(array: np.ndarray) -> twin_pb2.Tensor:
    return twin_pb2.Tensor(shape=list(array.shape), values=np.asarray(array, dtype=np.float32).ravel().tolist())


def from_tensor(tensor: twin_pb2.Tensor, name: str, ndim: int) -> np.ndarray:
    shape = tuple(int(d) for d in tensor.shape)
    if len(shape) != ndim:
        raise ValidationError(f"{name}: expected {ndim} dimensions, got shape {shape}")
    if int(np.prod(shape)) != len(tensor.values):
        raise ValidationError(f"{name}: shape {shape} needs {int(np.prod(shape))} values, got {len(tensor.values)}")
    return np.asarray(tensor.values, dtype=np.float64).reshape(shape)


class TwinService(twin_pb2_grpc.DigitalTwinServicer):
    def __init__(self, scenario: ScenarioParams, scenario_name: str, cell_keys: list[str]) -> None:
        if len(cell_keys) != scenario.n_cells:
            raise ConfigError(f"{len(cell_keys)} cell keys for {scenario.n_cells} cells")
        self.scenario = scenario
        self.name = scenario_name
        self.cell_keys = cell_keys
        self._cell_ids = {key: cell.cell_id for key, cell in zip(cell_keys, scenario.cells, strict=True)}
        self.slice_keys = [ids.snssai_key(ids.make_snssai(s.sst, s.sd)) for s in scenario.slices]

    async def Describe(self, request: twin_pb2.DescribeRequest, context: Any) -> twin_pb2.TwinDescription:
        t = self.scenario.timing
        return twin_pb2.TwinDescription(
            scenario=self.name,
            cell_keys=self.cell_keys,
            slice_keys=self.slice_keys,
            link_ids=[link.name for link in self.scenario.transport.links],
            slow_steps_per_horizon=t.slow_per_horizon,
            fast_steps_per_slow=t.fast_per_slow,
            fast_step_s=t.fast_step_s,
        )

    def reports(self, history: list[kpm_pb2.KpmIndicationMessage]) -> list[KpmReport]:
        """E2 KPM messages -> the twin's KPM reports (one per message; unknown cells are an error)."""
        out: list[KpmReport] = []
        for msg in history:
            table = measurements.kpm_table(msg)
            per_cell: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
            for (cell, slice_key), values in table.items():
                if cell not in self._cell_ids:
                    raise ValidationError(f"KPM for unknown cell {cell}")
                if slice_key is not None:
                    per_cell[cell][slice_key] = values
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
                cells.append(CellKpm(self._cell_ids[cell], 0.0, 0.0, kpms))
            out.append(KpmReport(0.0, max(msg.granularity_period_ms, 1) / 1000.0, 1, tuple(cells)))
        return out

    def run(self, request: twin_pb2.RolloutRequest) -> twin_pb2.RolloutResponse:
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
        if n * seeds > MAX_ROLLOUTS or k < 1:
            raise ValidationError(f"N x seeds must be in 1..{MAX_ROLLOUTS} with K >= 1 (got {n} x {seeds}, K={k})")
        if not request.kpm_history:
            raise ValidationError("kpm_history is empty: the twin is built from observations only")
        link_up = np.asarray(request.link_up, dtype=bool) if request.link_up else None
        if link_up is not None and link_up.shape != (sc.n_links,):
            raise ValidationError(f"link_up needs {sc.n_links} values")
        mm = request.mismatch if request.HasField("mismatch") else None
        knobs = (
            MismatchKnobs(
                mm.demand_scale or 1.0, mm.capacity_scale or 1.0, mm.shock_rate_scale or 1.0, mm.fail_scale or 1.0
            )
            if mm is not None
            else None
        )
        twin = DigitalTwin.from_observations(
            sc,
            self.reports(list(request.kpm_history)),
            ShockRegime.parse(request.shocks or "hotspot-ID"),
            link_up,
            seed=int(request.seed),
            mismatch=knobs,
        )
        res = twin.rollout(prb, tn, n_seeds=seeds, seed=int(request.seed))
        return twin_pb2.RolloutResponse(
            scm=to_tensor(res.scm),
            loss=to_tensor(res.loss),
            p99_ms=to_tensor(res.p99_ms),
            cost=to_tensor(np.asarray(res.cost)),
            rollouts=n * seeds,
        )

    async def Rollout(self, request: twin_pb2.RolloutRequest, context: Any) -> twin_pb2.RolloutResponse:
        try:
            return await asyncio.to_thread(self.run, request)
        except (ValidationError, ConfigError) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from exc


def registrar(service: TwinService) -> tuple[str, Any]:
    """(service name, registrar) for :func:`nextric.e2.server.start_e2_server`'s ``extra_services``."""
    return SERVICE_NAME, lambda server: twin_pb2_grpc.add_DigitalTwinServicer_to_server(service, server)

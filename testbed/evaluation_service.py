"""The testbed's evaluation channel (``nextric.evaluation.v1.Evaluation``): ground truth for benchmarks and tests.

Served by the testbed process next to E2 so that a benchmark or an end-to-end test can score an xApp against
what only the emulator knows (the noise-free Set-A sweep, per-cell throughput, channel-estimation NMSE). xApps
never call it: their decisions use E2 reports only. Answers describe the emulator at the moment the call is
served (reads only, on the event loop that also steps the emulator, so a snapshot is consistent).
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np

from nextric.e2 import ids
from nextric.e2.v1 import common_pb2
from nextric.errors import ValidationError
from nextric.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from testbed.core.engine import Emulator
from testbed.core.estimators import MODES

SERVICE_NAME = "nextric.evaluation.v1.Evaluation"


class EvaluationService(evaluation_pb2_grpc.EvaluationServicer):
    """Ground truth of ``emu``; ``cells`` maps each emulator cell id to its NR CGI on E2 (scenario order)."""

    def __init__(self, emu: Emulator, cells: dict[int, common_pb2.NrCgi]) -> None:
        self.emu = emu
        self.cgi = cells
        self.index = {c.cell_id: i for i, c in enumerate(emu.sc.cells)}
        self.by_key = {ids.cell_key(cgi): cid for cid, cgi in cells.items()}

    def _snapshot(self) -> evaluation_pb2.Snapshot:
        return evaluation_pb2.Snapshot(sim_time_ms=round(self.emu.t_s * 1000), step_index=self.emu.step_index)

    def _cells(self, wanted: Any) -> set[int]:
        if not len(wanted):
            return set(self.cgi)
        out = set()
        for cgi in wanted:
            key = ids.cell_key(cgi)
            if key not in self.by_key:
                raise ValidationError(f"unknown cell {key}")
            out.add(self.by_key[key])
        return out

    def beam_truth(self, request: evaluation_pb2.BeamTruthRequest) -> evaluation_pb2.BeamTruthResponse:
        if self.emu.step_index == 0:
            raise ValidationError("the emulator has not stepped yet")
        cells = self._cells(request.cells)
        rep, gen = self.emu.beam_report(), self.emu.beam_genie()
        keep = np.flatnonzero(np.isin(rep.cell_ids, list(cells)))
        rsrp = gen.rsrp_dbm.astype(np.float32)
        ues = [evaluation_pb2.UeBeamTruth(cgi=self.cgi[int(rep.cell_ids[u])], ue_id=int(rep.ue_ids[u]),
                                          serving_beam=int(rep.serving_beam[u]), best_beam=int(gen.best_beam[u]),
                                          set_a_rsrp_dbm=rsrp[u].tolist()) for u in keep]
        return evaluation_pb2.BeamTruthResponse(at=self._snapshot(), set_a_size=self.emu.sc.radio.n_beams_set_a,
                                                set_b=[int(b) for b in rep.set_b], ues=ues)

    def cell_throughput(self, request: evaluation_pb2.CellThroughputRequest) -> evaluation_pb2.CellThroughputResponse:
        step_ms = round(self.emu.sc.timing.fast_step_s * 1000)
        to_ms = request.to_sim_time_ms or self.emu.step_index * step_ms
        if request.from_sim_time_ms % step_ms or to_ms % step_ms:
            raise ValidationError(f"window bounds must be multiples of the {step_ms} ms sub-step")
        served, offered = self.emu.cell_throughput(request.from_sim_time_ms // step_ms, to_ms // step_ms)
        cells = self._cells(request.cells)
        rows = [evaluation_pb2.CellThroughput(cgi=self.cgi[cid], served_mbps=float(served[self.index[cid]]),
                                              offered_mbps=float(offered[self.index[cid]]))
                for cid in sorted(cells)]
        return evaluation_pb2.CellThroughputResponse(at=self._snapshot(), from_sim_time_ms=request.from_sim_time_ms,
                                                     to_sim_time_ms=to_ms, cells=rows)

    def estimation_truth(self, request: evaluation_pb2.EstimationTruthRequest
                         ) -> evaluation_pb2.EstimationTruthResponse:
        if self.emu.step_index == 0:
            raise ValidationError("the emulator has not stepped yet")
        cells = self._cells(request.cells)
        srv, mode, per = self.emu.estimation_truth()
        rows = []
        for cid in sorted(cells):
            sel = srv == self.index[cid]
            n = int(sel.sum())
            if n == 0:
                rows.append(evaluation_pb2.CellEstimationTruth(cgi=self.cgi[cid], ues=0,
                                                               neural_loaded=self.emu.bank.neural is not None))
                continue
            in_force = per[sel][np.arange(n), mode[sel]]
            counts = np.bincount(mode[sel], minlength=len(MODES))
            rows.append(evaluation_pb2.CellEstimationTruth(
                cgi=self.cgi[cid], ues=n, nmse_db=_db(float(in_force.mean())),
                per_mode=[evaluation_pb2.ModeNmse(mode=m, nmse_db=_db(float(per[sel, i].mean())))
                          for i, m in enumerate(MODES)],
                mode_ues={m: int(counts[i]) for i, m in enumerate(MODES) if counts[i]},
                neural_loaded=self.emu.bank.neural is not None))
        return evaluation_pb2.EstimationTruthResponse(at=self._snapshot(), cells=rows)

    async def GetEstimationTruth(self, request: evaluation_pb2.EstimationTruthRequest, context: Any
                                 ) -> evaluation_pb2.EstimationTruthResponse:
        try:
            return self.estimation_truth(request)
        except ValidationError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from exc

    async def GetBeamTruth(self, request: evaluation_pb2.BeamTruthRequest, context: Any
                           ) -> evaluation_pb2.BeamTruthResponse:
        try:
            return self.beam_truth(request)
        except ValidationError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from exc

    async def GetCellThroughput(self, request: evaluation_pb2.CellThroughputRequest, context: Any
                                ) -> evaluation_pb2.CellThroughputResponse:
        try:
            return self.cell_throughput(request)
        except ValidationError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from exc


def _db(x: float) -> float:
    return 10.0 * float(np.log10(max(x, 1e-12)))


def registrar(service: EvaluationService) -> tuple[str, Any]:
    """(service name, registrar) for :func:`nextric.e2.server.start_e2_server`'s ``extra_services``."""
    return SERVICE_NAME, lambda server: evaluation_pb2_grpc.add_EvaluationServicer_to_server(service, server)

"""E2 adapter of the emulated testbed: every cell is an E2 node (one gNB per cell site), all served by one
process through the runtime's E2 server base.

The adapter only translates: KPM/BEAM/PILOT reports from :class:`testbed.core.engine.Emulator` into
service-model messages, and RIC controls into the emulator's :class:`ControlRequest` (validated by the
server base for E2 rules, by the emulator for its own, applied at the next fast sub-step). Simulated time
drives everything; :class:`StepDriver` steps the emulator either paced to the wall clock (``speedup``
x real time) or as fast as possible.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from nextric import kpm
from nextric.e2 import ids, measurements
from nextric.e2.errors import invalid
from nextric.e2.hub import IndicationHub
from nextric.e2.nodeinfo import make_node_info
from nextric.e2.v1 import common_pb2, e2ap_pb2
from nextric.e2sm.beam.v1 import beam_pb2
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.e2sm.pilot.v1 import pilot_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.errors import ValidationError
from testbed.core.engine import Emulator
from testbed.core.reports import (
    BeamReport,
    BeamSwitch,
    ControlAck,
    ControlRequest,
    EstimatorMode,
    KpmReport,
    SlicePolicy,
)
from testbed.describe import cell_cgis

KPM = e2ap_pb2.REPORT_STYLE_KPM
BEAM = e2ap_pb2.REPORT_STYLE_BEAM
PILOT = e2ap_pb2.REPORT_STYLE_PILOT
_MODE_NAMES = {
    rc_pb2.ESTIMATOR_MODE_LS: "LS",
    rc_pb2.ESTIMATOR_MODE_LMMSE: "LMMSE",
    rc_pb2.ESTIMATOR_MODE_NEURAL: "NEURAL",
}
_MODE_PROTO = {name: mode for mode, name in _MODE_NAMES.items()}


@dataclass(frozen=True)
class CellBinding:
    """How one emulator cell appears on E2."""

    cell_id: int
    index: int
    node_id: str
    cgi: common_pb2.NrCgi
    cell_key: str


class EmulatedGnbs:
    """E2 node backend over an :class:`Emulator` (see module docstring)."""

    def __init__(
        self,
        emu: Emulator,
        plmn: tuple[str, str] = ("001", "01"),
        history_steps: int = 3600,
        pilot_ues_per_cell: int = 4,
    ) -> None:
        self.emu = emu
        self._plmn = ids.make_plmn(*plmn)
        self._slices = [ids.make_snssai(s.sst, s.sd) for s in emu.sc.slices]
        self._slice_index = {ids.snssai_key(s): i for i, s in enumerate(self._slices)}
        self._history: deque[KpmReport] = deque(maxlen=history_steps)
        self._pilot_ues = pilot_ues_per_cell
        self._requests = itertools.count(1)
        self.fast_step_ms = round(emu.sc.timing.fast_step_s * 1000)
        self.bindings: list[CellBinding] = []
        self._infos: list[e2ap_pb2.E2NodeInfo] = []
        cgis = cell_cgis(emu.sc, plmn)
        for index, cell in enumerate(emu.cell_info()):
            gnb_id = cell.cell_id + 1
            cgi = cgis[index]
            info = make_node_info(
                self._plmn,
                gnb_id,
                [
                    e2ap_pb2.CellInfo(
                        cgi=cgi,
                        pci=cell.pci,
                        nr_band=cell.band,
                        dl_arfcn=cell.dl_arfcn,
                        bandwidth_mhz=cell.bandwidth_mhz,
                        scs_khz=cell.scs_khz,
                        prb_count=cell.n_prb,
                        slices=self._slices,
                    )
                ],
            )
            self._infos.append(info)
            self.bindings.append(CellBinding(cell.cell_id, index, info.node_id, cgi, ids.cell_key(cgi)))
        self._by_key = {b.cell_key: b for b in self.bindings}
        self._by_cell_id = {b.cell_id: b for b in self.bindings}
        #: called with the simulated time (ms) after every sub-step's reports (e.g. the transport telemetry)
        self.step_hooks: list[Callable[[int], None]] = []

    # ------------------------------------------------------------------ E2NodeBackend

    def node_infos(self) -> Sequence[e2ap_pb2.E2NodeInfo]:
        return self._infos

    @property
    def last_kpm(self) -> KpmReport | None:
        """The KPM of the latest fast sub-step (None before the first)."""
        return self._history[-1] if self._history else None

    @property
    def sim_time_ms(self) -> int:
        return round(self.emu.t_s * 1000)

    async def apply_control(self, request: e2ap_pb2.RicControlRequest) -> e2ap_pb2.RicControlAcknowledge:
        if request.WhichOneof("control") == "beam_measure":
            return self.measure(request)
        control = self.translate(request)
        try:
            self.emu.submit(control)
        except ValidationError as exc:
            raise invalid("control-message-invalid", str(exc)) from exc
        ack = e2ap_pb2.RicControlAcknowledge(
            node_id=request.node_id,
            ric_request_id=request.ric_request_id,
            ran_function_id=request.ran_function_id,
            effective_sim_time_ms=self.sim_time_ms,  # applied at the start of the next fast sub-step
        )
        kind = request.WhichOneof("control")
        if kind is not None:
            getattr(ack, kind).CopyFrom(getattr(request, kind))
        return ack

    def measure(self, request: e2ap_pb2.RicControlRequest) -> e2ap_pb2.RicControlAcknowledge:
        """Beam refinement: measure the requested Set-A beams of each UE now (the emulator's L1-RSRP error model);
        the outcome lists the UEs the named cell serves, the others (handed over) are left out."""
        n_beams = self.emu.sc.radio.n_beams_set_a
        reqs = list(request.beam_measure.requests)
        cells = []
        for i, rq in enumerate(reqs):
            cells.append(self._by_key[ids.cell_key(rq.cgi)].cell_id)
            if rq.ue_id >= len(self.emu.ue_ids):
                raise invalid("control-message-invalid", f"beam_measure.requests[{i}].ue_id {rq.ue_id} unknown")
            if any(b >= n_beams for b in rq.beam_ids):
                raise invalid("control-message-invalid", f"beam_measure.requests[{i}] names a beam outside Set A "
                              f"0..{n_beams - 1}")
        try:
            serving, rsrp = self.emu.measure_beams([int(r.ue_id) for r in reqs], [list(r.beam_ids) for r in reqs])
        except ValidationError as exc:
            raise invalid("control-message-invalid", str(exc)) from exc
        out = rc_pb2.BeamMeasureOutcome(measurements=[
            rc_pb2.BeamMeasurement(cgi=rq.cgi, ue_id=rq.ue_id, beam_ids=list(rq.beam_ids),
                                   l1_rsrp_dbm=[int(v) for v in r])
            for rq, cell, srv, r in zip(reqs, cells, serving, rsrp, strict=True) if int(srv) == cell])
        return e2ap_pb2.RicControlAcknowledge(node_id=request.node_id, ric_request_id=request.ric_request_id,
                                              ran_function_id=request.ran_function_id,
                                              effective_sim_time_ms=self.sim_time_ms, beam_measure=out)

    def translate(self, request: e2ap_pb2.RicControlRequest) -> ControlRequest:
        """RIC control -> emulator control (cells, slices and modes resolved; E2 rules already checked)."""
        rid = f"{request.node_id}/{request.ric_request_id.ric_requestor_id}.{next(self._requests)}"
        kind = request.WhichOneof("control")
        if kind == "slice_quota":
            policies: list[SlicePolicy] = []
            for cell in request.slice_quota.cells:
                binding = self._by_key[ids.cell_key(cell.cgi)]
                for pol in cell.policies:
                    for member in pol.members:
                        key = ids.snssai_key(member.snssai)
                        if key not in self._slice_index:
                            raise invalid("control-message-invalid", f"S-NSSAI {key} is not configured on the cell")
                        policies.append(
                            SlicePolicy(
                                binding.cell_id,
                                member.snssai.sst,
                                member.snssai.sd,
                                float(pol.dedicated_prb_policy_ratio),
                                float(pol.min_prb_policy_ratio),
                                float(pol.max_prb_policy_ratio),
                            )
                        )
            return ControlRequest(rid, slice_policies=tuple(policies))
        if kind == "beam_switch":
            switches = []
            n_beams = self.emu.sc.radio.n_beams_set_a
            for i, sw in enumerate(request.beam_switch.switches):
                self._by_key[ids.cell_key(sw.cgi)]
                if sw.beam_id >= n_beams:  # uint32: a negative beam arrives as a huge value
                    raise invalid("control-message-invalid", f"beam_switch.switches[{i}].beam_id {sw.beam_id} "
                                  f"outside Set A 0..{n_beams - 1}")
                switches.append(BeamSwitch(int(sw.ue_id), int(sw.beam_id)))
            return ControlRequest(rid, beams=tuple(switches))
        modes = []
        for asg in request.estimator_mode.assignments:
            binding = self._by_key[ids.cell_key(asg.cgi)]
            mode = _MODE_NAMES[asg.mode]
            if asg.all_groups:
                modes.append(EstimatorMode(binding.cell_id, mode))
            else:
                ue_ids = tuple(int(u) for u in self._group_ues(binding, asg.ue_group))
                if not ue_ids:
                    raise invalid("control-message-invalid", f"UE group {asg.ue_group} of {binding.cell_key} is empty")
                modes.append(EstimatorMode(binding.cell_id, mode, ue_ids))
        return ControlRequest(rid, estimators=tuple(modes))

    def _group_ues(self, binding: CellBinding, group: int) -> np.ndarray:
        """UE group g of a cell = the UEs it serves whose id is congruent to g modulo 4."""
        report = self.emu.beam_report()
        served: np.ndarray = report.ue_ids[report.cell_ids == binding.cell_id]
        return np.asarray(served[served % 4 == group])

    # ------------------------------------------------------------------ reports

    def kpm_message(self, binding: CellBinding, period_ms: int) -> kpm_pb2.KpmIndicationMessage:
        """KPM of one cell aggregated over the last ``period_ms`` of simulated time."""
        k = max(1, min(len(self._history), round(period_ms / self.fast_step_ms)))
        window = [rep.cells[binding.index] for rep in itertools.islice(reversed(self._history), k)][::-1]
        return measurements.build_kpm(period_ms, kpm.cell_rows(kpm.aggregate(window), binding.cgi, self._slices))

    def beam_message(self, report: BeamReport, binding: CellBinding, period_ms: int) -> beam_pb2.BeamIndicationMessage:
        sel = np.flatnonzero(report.cell_ids == binding.cell_id)
        beam_ids = [int(b) for b in report.set_b]
        rsrp = np.clip(np.rint(report.rsrp_dbm[sel]), -140, -44).astype(np.int64)
        return beam_pb2.BeamIndicationMessage(
            set_a_size=self.emu.sc.radio.n_beams_set_a,
            set_b_kind=beam_pb2.SET_B_KIND_WIDE if report.set_b_kind == "wide" else beam_pb2.SET_B_KIND_SUBSET,
            set_b_elements=report.set_b_elements,
            reports=[
                beam_pb2.UeBeamReport(
                    cgi=binding.cgi,
                    ue_id=int(report.ue_ids[u]),
                    serving_beam=int(report.serving_beam[u]),
                    beam_ids=beam_ids,
                    l1_rsrp_dbm=[int(v) for v in rsrp[j]],
                )
                for j, u in enumerate(sel)
            ],
        )

    def pilot_message(self, binding: CellBinding, period_ms: int) -> pilot_pb2.PilotIndicationMessage:
        served = self.emu.beam_report()
        ues = served.ue_ids[served.cell_ids == binding.cell_id][: self._pilot_ues]
        if len(ues) == 0:
            return pilot_pb2.PilotIndicationMessage()
        rep = self.emu.pilot_report(ues)
        obs = rep.obs
        out = pilot_pb2.PilotIndicationMessage()
        for j, ue in enumerate(rep.ue_ids):
            rx = np.asarray(obs.y[j], dtype=np.complex64).ravel()
            ref = np.asarray(obs.x[j], dtype=np.complex64).ravel()
            out.reports.append(
                pilot_pb2.UePilotReport(
                    cgi=binding.cgi,
                    ue_id=int(ue),
                    ue_group=int(ue) % 4,
                    n_prb=obs.cfg.n_prb,
                    scs_khz=obs.cfg.scs_khz,
                    dmrs_symbols=[int(s) for s in obs.dmrs_sym],
                    dmrs_subcarriers=[int(s) for s in obs.pilot_sc],
                    rx=np.column_stack([rx.real, rx.imag]).ravel().tolist(),
                    ref=np.column_stack([ref.real, ref.imag]).ravel().tolist(),
                    snr_db_estimate=float(obs.snr_db_est[j]),
                    doppler_hz_estimate=float(obs.doppler_hz_est[j]),
                    estimator_mode=_MODE_PROTO.get(rep.mode[j], rc_pb2.ESTIMATOR_MODE_UNSPECIFIED),
                )
            )
        return out

    # ------------------------------------------------------------------ stepping

    def advance(self) -> tuple[ControlAck, ...]:
        """One fast sub-step of the emulator and its KPM kept for the reports (no E2 publishing)."""
        acks = self.emu.step_fast()
        self._history.append(self.emu.read_kpm())
        return acks

    def kpm_messages(self, period_ms: int) -> list[kpm_pb2.KpmIndicationMessage]:
        """Every cell's KPM over the last ``period_ms``, as its E2 node reports it."""
        return [self.kpm_message(b, period_ms) for b in self.bindings]

    def step(self, hub: IndicationHub) -> int:
        """One fast sub-step of the emulator, then every report that is due; returns indications queued."""
        self.advance()
        now = self.sim_time_ms
        sent = 0
        beam_report: BeamReport | None = None
        for b in self.bindings:
            if hub.wants(b.node_id, KPM):
                sent += hub.publish(b.node_id, KPM, now, partial(self.kpm_message, b))
            if hub.due(b.node_id, BEAM, now):
                beam_report = beam_report or self.emu.beam_report()
                sent += hub.publish(b.node_id, BEAM, now, partial(self.beam_message, beam_report, b))
            if hub.due(b.node_id, PILOT, now):
                sent += hub.publish(b.node_id, PILOT, now, partial(self.pilot_message, b))
        for hook in self.step_hooks:
            hook(now)
        return sent


class StepDriver:
    """Steps a :class:`EmulatedGnbs` on simulated time: ``speedup`` x real time, or as fast as possible
    (``speedup=None``; the loop still yields between steps so gRPC keeps flowing)."""

    def __init__(self, node: EmulatedGnbs, hub: IndicationHub, speedup: float | None = 1.0) -> None:
        if speedup is not None and speedup <= 0:
            raise ValueError("speedup must be > 0 (or None for as fast as possible)")
        self.node = node
        self.hub = hub
        self.speedup = speedup
        self.steps = 0

    async def run(
        self,
        steps: int | None = None,
        stop: asyncio.Event | None = None,
        after_step: Callable[[int], Awaitable[None]] | None = None,
    ) -> int:
        """Run ``steps`` fast sub-steps (for ever when None) or until ``stop`` is set.

        ``after_step(n)`` is awaited after the n-th sub-step: a lock-step co-simulation hook (e.g. wait until
        the xApps have answered the reports of this sub-step before the next one starts).
        """
        step_wall_s = None if self.speedup is None else self.node.fast_step_ms / 1000.0 / self.speedup
        t0 = time.perf_counter()
        done = 0
        while (steps is None or done < steps) and not (stop is not None and stop.is_set()):
            self.node.step(self.hub)
            done += 1
            self.steps += 1
            if after_step is not None:
                await after_step(done)
            if step_wall_s is None:
                await asyncio.sleep(0)
            else:
                await asyncio.sleep(max(0.0, t0 + done * step_wall_s - time.perf_counter()))
        return done

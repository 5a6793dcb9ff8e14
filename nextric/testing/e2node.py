"""A scripted E2 node backend for contract tests and the E2 transport benchmark.

It is a real backend behind the real server base (no mocking of gRPC): N nodes with one cell each and
the three PoC slices, deterministic KPM values derived from simulated time, and a record of every
control it applied. It stands in for the emulated testbed wherever the subject under test is the E2
machinery itself rather than the radio.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from nextric.e2 import ids, measurements
from nextric.e2.hub import IndicationHub
from nextric.e2.nodeinfo import cell_identity, make_node_info
from nextric.e2.v1 import common_pb2, e2ap_pb2
from nextric.e2sm.beam.v1 import beam_pb2
from nextric.e2sm.kpm.v1 import kpm_pb2

PLMN = ("001", "01")
SLICES = ((1, "000001"), (2, "000002"), (1, "000003"))  # eMBB, URLLC, FWA


class ScriptedNodes:
    """``n_nodes`` single-cell gNBs with deterministic KPM; records applied controls."""

    def __init__(self, n_nodes: int, prb_count: int = 106, first_gnb_id: int = 1) -> None:
        plmn = ids.make_plmn(*PLMN)
        self.slices = [ids.make_snssai(sst, sd) for sst, sd in SLICES]
        self.prb_count = prb_count
        self.sim_time_ms = 0
        self.applied: list[e2ap_pb2.RicControlRequest] = []
        self._infos: list[e2ap_pb2.E2NodeInfo] = []
        self._templates: dict[str, kpm_pb2.KpmIndicationMessage] = {}
        for k in range(n_nodes):
            gnb_id = first_gnb_id + k
            cell = e2ap_pb2.CellInfo(
                cgi=common_pb2.NrCgi(plmn=plmn, nr_cell_identity=cell_identity(gnb_id, 1)),
                pci=k % 1008,
                nr_band=78,
                dl_arfcn=632_628,
                bandwidth_mhz=40,
                scs_khz=30,
                prb_count=prb_count,
                slices=self.slices,
            )
            self._infos.append(make_node_info(plmn, gnb_id, [cell]))

    @property
    def node_ids(self) -> list[str]:
        return [info.node_id for info in self._infos]

    def node_infos(self) -> Sequence[e2ap_pb2.E2NodeInfo]:
        return self._infos

    async def apply_control(self, request: e2ap_pb2.RicControlRequest) -> e2ap_pb2.RicControlAcknowledge:
        self.applied.append(request)
        ack = e2ap_pb2.RicControlAcknowledge(
            node_id=request.node_id,
            ric_request_id=request.ric_request_id,
            ran_function_id=request.ran_function_id,
            effective_sim_time_ms=self.sim_time_ms + 1,
        )
        kind = request.WhichOneof("control")
        if kind is not None:
            getattr(ack, kind).CopyFrom(getattr(request, kind))
        return ack

    def _kpm_template(self, info: e2ap_pb2.E2NodeInfo) -> kpm_pb2.KpmIndicationMessage:
        rows: list[tuple[common_pb2.NrCgi, common_pb2.Snssai | None, dict[str, float]]] = []
        for cell in info.cells:
            for j, snssai in enumerate(self.slices):
                rows.append(
                    (
                        cell.cgi,
                        snssai,
                        {
                            measurements.THP_DL: 10.0 * (j + 1),
                            measurements.PRB_USED_DL: float(20 + 5 * j),
                            measurements.DELAY_DL: 2.0 + j,
                            measurements.DELAY_DL_P99: 5.0 + 2 * j,
                            measurements.LOSS_DL: 0.01 * j,
                        },
                    )
                )
            rows.append(
                (cell.cgi, None, {measurements.PRB_AVAIL_DL: float(cell.prb_count), measurements.PRB_USED_DL: 75.0})
            )
        return measurements.build_kpm(0, rows)

    def kpm(self, info: e2ap_pb2.E2NodeInfo, period_ms: int) -> kpm_pb2.KpmIndicationMessage:
        """Slice rows: throughput 10/20/30 Mbit/s plus a sawtooth of simulated time; fixed delays/losses."""
        template = self._templates.get(info.node_id)
        if template is None:
            template = self._templates[info.node_id] = self._kpm_template(info)
        message = kpm_pb2.KpmIndicationMessage()
        message.CopyFrom(template)
        message.granularity_period_ms = period_ms
        bump = (self.sim_time_ms / 1000.0) % 7.0
        thp = measurements.ALL_MEASUREMENTS.index(measurements.THP_DL)
        for row in message.sets:
            if row.HasField("snssai"):
                row.values[thp] += bump
        return message

    def beam(self, info: e2ap_pb2.E2NodeInfo, period_ms: int) -> beam_pb2.BeamIndicationMessage:
        reports = [
            beam_pb2.UeBeamReport(
                cgi=cell.cgi,
                ue_id=ue,
                serving_beam=ue % 32,
                beam_ids=list(range(0, 32, 4)),
                l1_rsrp_dbm=[-80 - ((ue + b) % 20) for b in range(8)],
            )
            for cell in info.cells
            for ue in range(4)
        ]
        return beam_pb2.BeamIndicationMessage(set_a_size=32, reports=reports)

    def publish_step(self, hub: IndicationHub, step_ms: int) -> int:
        """Advance simulated time by ``step_ms`` and publish due KPM/BEAM reports of every node."""
        self.sim_time_ms += step_ms
        sent = 0
        for info in self._infos:
            if hub.wants(info.node_id, e2ap_pb2.REPORT_STYLE_KPM):
                sent += hub.publish(info.node_id, e2ap_pb2.REPORT_STYLE_KPM, self.sim_time_ms, partial(self.kpm, info))
            if hub.wants(info.node_id, e2ap_pb2.REPORT_STYLE_BEAM):
                sent += hub.publish(
                    info.node_id, e2ap_pb2.REPORT_STYLE_BEAM, self.sim_time_ms, partial(self.beam, info)
                )
        return sent

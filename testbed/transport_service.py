"""Transport controller service of the testbed (``nextric.transport.v1.TransportController``).

Transport is not E2: per-link, per-slice bandwidth shares are set here, the way an SDN controller's
northbound API would take them, and applied by the emulator at its next fast sub-step.
"""

from __future__ import annotations

import itertools
from typing import Any

import grpc

from nextric.e2 import ids
from nextric.errors import ValidationError
from nextric.transport.v1 import transport_pb2, transport_pb2_grpc
from testbed.core.engine import Emulator
from testbed.core.reports import ControlRequest, TransportShare

SERVICE_NAME = "nextric.transport.v1.TransportController"


class TransportController(transport_pb2_grpc.TransportControllerServicer):
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._slices = [ids.snssai_key(ids.make_snssai(s.sst, s.sd)) for s in emu.sc.slices]
        self._ids = itertools.count(1)

    async def ListLinks(self, request: transport_pb2.ListLinksRequest, context: Any) -> transport_pb2.ListLinksResponse:
        up = self.emu.link_up
        step_ms = round(self.emu.sc.timing.fast_step_s * 1000)
        n_steps = max(1, round((request.window_ms or step_ms) / step_ms))
        if self.emu.step_index == 0:
            offered = carried = None
        else:
            n_steps = min(n_steps, self.emu.step_index)
            offered, carried = self.emu.link_loads(n_steps)
        links = []
        for i, link in enumerate(self.emu.sc.transport.links):
            loads = [
                transport_pb2.SliceLinkLoad(
                    snssai=ids.make_snssai(sl.sst, sl.sd),
                    offered_mbps=float(offered[i, j]) if offered is not None else 0.0,
                    carried_mbps=float(carried[i, j]) if carried is not None else 0.0,
                    share=float(self.emu.tn_share[i, j]),
                )
                for j, sl in enumerate(self.emu.sc.slices)
            ]
            links.append(
                transport_pb2.Link(
                    link_id=link.name,
                    src=link.src,
                    dst=link.dst,
                    capacity_mbps=float(link.capacity_mbps),
                    up=bool(up[i]),
                    loads=loads,
                    window_ms=n_steps * step_ms,
                )
            )
        return transport_pb2.ListLinksResponse(links=links)

    def translate(self, request: transport_pb2.SetSharesRequest) -> ControlRequest:
        if not request.links:
            raise ValidationError("SetShares names no link")
        shares: list[TransportShare] = []
        for link in request.links:
            values = [0.0] * len(self._slices)
            seen: set[str] = set()
            for share in link.shares:
                key = ids.snssai_key(share.snssai)
                if key not in self._slices:
                    raise ValidationError(f"link {link.link_id}: S-NSSAI {key} unknown; slices: {self._slices}")
                if key in seen:
                    raise ValidationError(f"link {link.link_id}: S-NSSAI {key} given twice")
                seen.add(key)
                if not 0.0 <= share.share <= 1.0:
                    raise ValidationError(f"link {link.link_id}: share {share.share} outside [0, 1]")
                values[self._slices.index(key)] = share.share
            shares.append(TransportShare(link.link_id, tuple(values)))
        return ControlRequest(f"transport/{next(self._ids)}", transport=tuple(shares))

    async def SetShares(self, request: transport_pb2.SetSharesRequest, context: Any) -> transport_pb2.SetSharesResponse:
        try:
            self.emu.submit(self.translate(request))
        except ValidationError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return transport_pb2.SetSharesResponse(
            effective_sim_time_ms=round(self.emu.t_s * 1000), applied=list(request.links)
        )


def registrar(controller: TransportController) -> tuple[str, Any]:
    """(service name, registrar) for :func:`nextric.e2.server.start_e2_server`'s ``extra_services``."""
    return SERVICE_NAME, lambda server: transport_pb2_grpc.add_TransportControllerServicer_to_server(controller, server)

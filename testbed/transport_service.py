"""Transport controller service of the testbed (``nextric.transport.v1.TransportController``).

Transport is not E2: per-link, per-slice bandwidth shares are set here, the way an SDN controller's
northbound API would take them, and applied by the emulator at its next fast sub-step. ``WatchLinks`` streams the
link telemetry every period of simulated time: the step driver calls :meth:`TransportController.publish` after
each sub-step (a subscriber that does not keep up loses its oldest reports, never the testbed's pace).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator
from typing import Any

import grpc

from nextric.e2 import ids
from nextric.errors import ValidationError
from nextric.transport.v1 import transport_pb2, transport_pb2_grpc
from testbed.core.engine import Emulator
from testbed.core.reports import ControlRequest, TransportShare

SERVICE_NAME = "nextric.transport.v1.TransportController"
MAX_QUEUED_REPORTS = 64  #: per WatchLinks subscriber; older reports are dropped when it falls behind
MAX_WATCHERS = 64


class TransportController(transport_pb2_grpc.TransportControllerServicer):
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._slices = [ids.snssai_key(ids.make_snssai(s.sst, s.sd)) for s in emu.sc.slices]
        self._ids = itertools.count(1)
        self._watchers: list[tuple[int, asyncio.Queue[transport_pb2.LinkReport]]] = []
        self.dropped = 0

    def links(self, window_steps: int) -> list[transport_pb2.Link]:
        """Every link with its per-slice telemetry over the last ``window_steps`` sub-steps."""
        up = self.emu.link_up
        step_ms = round(self.emu.sc.timing.fast_step_s * 1000)
        if self.emu.step_index == 0:
            offered = carried = None
            n_steps = window_steps
        else:
            n_steps = min(window_steps, self.emu.step_index)
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
        return links

    def _steps(self, window_ms: int) -> int:
        step_ms = round(self.emu.sc.timing.fast_step_s * 1000)
        return max(1, round((window_ms or step_ms) / step_ms))

    async def ListLinks(self, request: transport_pb2.ListLinksRequest, context: Any) -> transport_pb2.ListLinksResponse:
        return transport_pb2.ListLinksResponse(links=self.links(self._steps(request.window_ms)))

    def publish(self, now_ms: int) -> None:
        """After a sub-step: queue a report for every watcher whose period ends at ``now_ms``."""
        for period_ms, queue in list(self._watchers):
            if now_ms % period_ms:
                continue
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(transport_pb2.LinkReport(sim_time_ms=now_ms, links=self.links(self._steps(period_ms))))

    async def WatchLinks(self, request: transport_pb2.WatchLinksRequest,
                         context: Any) -> AsyncIterator[transport_pb2.LinkReport]:
        step_ms = round(self.emu.sc.timing.fast_step_s * 1000)
        period = request.period_ms or step_ms
        if period % step_ms:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"period_ms must be a multiple of the fast sub-step ({step_ms} ms), got {period}")
        if len(self._watchers) >= MAX_WATCHERS:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"at most {MAX_WATCHERS} link watchers")
        queue: asyncio.Queue[transport_pb2.LinkReport] = asyncio.Queue(MAX_QUEUED_REPORTS)
        entry = (period, queue)
        self._watchers.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            self._watchers.remove(entry)

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    def translate(self, request: transport_pb2.SetSharesRequest) -> ControlRequest:
        if not request.links:
            raise ValidationError("SetShares names no link")
        shares: list[TransportShare] = []
        for i, link in enumerate(request.links):
            values = [0.0] * len(self._slices)
            seen: set[str] = set()
            for j, share in enumerate(link.shares):
                key = ids.snssai_key(share.snssai)
                if key not in self._slices:
                    raise ValidationError(f"link {link.link_id}: S-NSSAI {key} unknown; slices: {self._slices}")
                if key in seen:
                    raise ValidationError(f"link {link.link_id}: S-NSSAI {key} given twice")
                seen.add(key)
                field = f"links[{i}].shares[{j}].share"
                if not math.isfinite(share.share):
                    raise ValidationError(f"link {link.link_id}: {field} {share.share} is not a finite number")
                if not 0.0 <= share.share <= 1.0:
                    raise ValidationError(f"link {link.link_id}: {field} {share.share} outside [0, 1]")
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

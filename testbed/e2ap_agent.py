"""The emulated gNBs speak E2AP: each cell's E2 node connects to a RIC's E2 termination as an srsRAN gNB's E2
agent does (the gNB is the client), runs E2 Setup with its KPM (id 2) and RC (id 3) RAN function descriptions,
answers RIC Subscriptions (KPM report style 1, periodic), sends RIC Indications (KPM header + format 1, v3
timestamps on the node's simulated clock from ``time_origin_unix_ms``) and applies RIC Controls (E2SM-RC style 2
action 6, slice-level PRB quota).

The agent is a client of the node's own hub, like a gRPC subscriber: reports, validation and controls are the
same code as over gRPC, so a RIC sees the same numbers. A lost association is retried with backoff; its
subscriptions are dropped (a RIC sets them up again after the new E2 Setup).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from nextric.e2 import ids, validation
from nextric.e2.errors import E2Failure, invalid
from nextric.e2.hub import IndicationHub, Outbox, Subscription, SubscriptionKey
from nextric.e2.measurements import ALL_MEASUREMENTS
from nextric.e2.nodeinfo import OID_KPM, OID_RC
from nextric.e2.server import E2NodeService
from nextric.e2.v1 import e2ap_pb2
from nextric.e2ap import kpm, mapping, rc
from nextric.e2ap import pdu as e2
from nextric.e2ap.errors import CodecError
from nextric.e2ap.transport import Association, FramingError, Transport, connect
from nextric.errors import NextricError, UnavailableError
from testbed.e2node import CellBinding, EmulatedGnbs

log = logging.getLogger("testbed.e2ap")


@dataclass(frozen=True)
class AgentSettings:
    host: str
    port: int
    transport: Transport = "auto"
    max_pdu_bytes: int = 1 << 20
    time_origin_unix_ms: int = 0
    retry_initial_s: float = 0.2
    retry_max_s: float = 5.0


def parse_target(target: str) -> tuple[str, int]:
    """``HOST:PORT`` of a RIC's E2 termination."""
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"E2AP target must be HOST:PORT, got {target!r}")
    return host.strip("[]"), int(port)


def function_items() -> tuple[e2.RanFunctionItem, ...]:
    """KPM (report style 1, every nextric KPM name) and RC (style 2 action 6) as the agent announces them."""
    kpm_desc = kpm.FunctionDescription("ORAN-E2SM-KPM", OID_KPM, "KPM Monitor", report_styles=(
        kpm.ReportStyle(1, "E2 Node Measurement", 1, ALL_MEASUREMENTS, 1, 1),))
    return (e2.RanFunctionItem(ids.RAN_FUNCTION_KPM, kpm.encode_function_description(kpm_desc), 3, OID_KPM),
            e2.RanFunctionItem(ids.RAN_FUNCTION_RC, rc.encode_function_definition(rc.slice_quota_function(OID_RC)),
                               1, OID_RC))


@dataclass
class _Stream:
    sub: Subscription
    outbox: Outbox
    cell: e2ap_pb2.CellInfo
    request: e2.RicRequestId
    task: asyncio.Task[None] | None = None


@dataclass
class NodeAgent:
    """One emulated gNB's E2 agent."""

    gnbs: EmulatedGnbs
    service: E2NodeService
    binding: CellBinding
    s: AgentSettings
    streams: dict[SubscriptionKey, _Stream] = field(default_factory=dict)
    set_up: asyncio.Event = field(default_factory=asyncio.Event)
    transactions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def hub(self) -> IndicationHub:
        return self.service.hub

    @property
    def info(self) -> e2ap_pb2.E2NodeInfo:
        return self.service.node(self.binding.node_id).info

    async def run(self, stop: asyncio.Event) -> None:
        delay = self.s.retry_initial_s
        while not stop.is_set():
            try:
                assoc = await connect(self.s.host, self.s.port, self.s.transport, self.s.max_pdu_bytes)
            except UnavailableError as exc:
                log.warning("E2 termination unreachable", extra={"node": self.binding.node_id, "error": str(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, self.s.retry_max_s)
                continue
            delay = self.s.retry_initial_s
            reader = asyncio.create_task(self._serve(assoc))
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
            for t in (reader, waiter):
                t.cancel()
            await asyncio.gather(reader, waiter, return_exceptions=True)
            self.set_up.clear()
            self._drop_streams()
            await assoc.close()

    async def _serve(self, assoc: Association) -> None:
        gnb = self.info.global_gnb_id
        setup = e2.E2SetupRequest(next(self.transactions), e2.GlobalGnb(
            mapping.plmn_to_bytes(gnb.plmn), gnb.gnb_id, gnb.gnb_id_bits, du_id=gnb.gnb_id),
            function_items(), (e2.Component("f1", gnb.gnb_id),))
        await assoc.send(e2.encode(setup))
        try:
            while True:
                await self._dispatch(assoc, await assoc.recv())
        except (EOFError, FramingError, OSError, ConnectionError) as exc:
            log.info("E2 association ended", extra={"node": self.binding.node_id, "reason": str(exc)})

    def _drop_streams(self) -> None:
        for key in list(self.streams):
            self.hub.delete(key)
        self.streams.clear()

    async def _dispatch(self, assoc: Association, data: bytes) -> None:
        try:
            msg = e2.decode(data)
        except CodecError as exc:
            await assoc.send(e2.encode(e2.ErrorIndication(e2.Cause("protocol", "transfer-syntax-error"))))
            log.warning("undecodable E2AP PDU", extra={"node": self.binding.node_id, "error": str(exc)})
            return
        if isinstance(msg, e2.E2SetupResponse):
            self.set_up.set()
            log.info("E2 Setup accepted", extra={"node": self.binding.node_id, "accepted": list(msg.accepted)})
        elif isinstance(msg, e2.E2SetupFailure):
            raise EOFError(f"E2 Setup refused: {msg.cause}")
        elif isinstance(msg, e2.RicSubscriptionRequest):
            await assoc.send(e2.encode(self._subscribe(assoc, msg)))
        elif isinstance(msg, e2.RicSubscriptionDeleteRequest):
            await assoc.send(e2.encode(self._delete(msg)))
        elif isinstance(msg, e2.RicControlRequest):
            await assoc.send(e2.encode(await self._control(msg)))
        elif isinstance(msg, e2.ResetRequest):
            self._drop_streams()
            await assoc.send(e2.encode(e2.ResetResponse(msg.transaction_id)))
        elif isinstance(msg, e2.ErrorIndication):
            log.warning("E2AP error indication received", extra={"node": self.binding.node_id, "cause": str(msg.cause)})
        elif not isinstance(msg, e2.E2NodeConfigurationUpdateAcknowledge | e2.ResetResponse):
            await assoc.send(e2.encode(e2.ErrorIndication(
                e2.Cause("protocol", "message-not-compatible-with-receiver-state"))))

    # ------------------------------------------------------------------ procedures

    def _subscribe(self, assoc: Association, msg: e2.RicSubscriptionRequest) -> e2.Pdu:
        try:
            if msg.function_id != ids.RAN_FUNCTION_KPM:
                raise invalid("ran-function-id-invalid", f"RAN function {msg.function_id} has no reports here")
            period = kpm.decode_event_trigger(msg.event_trigger)
            action = next((a for a in msg.actions if a.action_type == "report" and a.definition is not None), None)
            if action is None or action.definition is None:
                raise invalid("action-not-supported", "a report action with a KPM action definition is needed")
            definition = kpm.decode_action_definition(action.definition)
            cells = [mapping.cgi_from_e2sm(definition.cell)] if definition.cell is not None else []
            request = e2ap_pb2.RicSubscriptionRequest(
                node_id=self.binding.node_id, ran_function_id=msg.function_id, report_period_ms=period,
                report_style=e2ap_pb2.REPORT_STYLE_KPM, cells=cells,
                ric_request_id=e2ap_pb2.RicRequestId(ric_requestor_id=msg.request.requestor,
                                                     ric_instance_id=msg.request.instance))
            view = self.service.node(self.binding.node_id)
            for cgi in cells:
                view.check_cell(cgi)
            validation.check_subscription(view, request, 1, 3_600_000)
            sub, outbox = self.hub.attach(request)
        except (NextricError, CodecError) as exc:
            failure = exc if isinstance(exc, E2Failure) else invalid("unspecified", str(exc))
            return e2.RicSubscriptionFailure(msg.request, msg.function_id,
                                             mapping.cause_to_e2ap(failure.group, failure.value))
        old = self.streams.pop(sub.key, None)
        if old is not None and old.task is not None:
            old.task.cancel()
        stream = _Stream(sub, outbox, self.info.cells[0], msg.request)
        stream.task = asyncio.create_task(self._pump(assoc, stream, action.action_id))
        self.streams[sub.key] = stream
        return e2.RicSubscriptionResponse(msg.request, msg.function_id, (action.action_id,))

    async def _pump(self, assoc: Association, stream: _Stream, action_id: int) -> None:
        try:
            async for ind in stream.outbox:
                message = ind.kpm
                period = message.granularity_period_ms or stream.sub.period_ms
                header = mapping.header_for(ind.header.sim_time_ms, period, self.s.time_origin_unix_ms,
                                            sender=self.binding.node_id)
                await assoc.send(e2.encode(e2.RicIndication(
                    stream.request, stream.sub.key.ran_function_id, action_id, kpm.encode_header(header),
                    kpm.encode_message(mapping.kpm_to_e2sm(message)), ind.header.sequence_number & 0xFFFF)))
        except (OSError, ConnectionError) as exc:
            log.info("indication stream ended", extra={"node": self.binding.node_id, "reason": str(exc)})
        finally:
            self.hub.detach(stream.sub, stream.outbox)

    def _delete(self, msg: e2.RicSubscriptionDeleteRequest) -> e2.Pdu:
        key = SubscriptionKey(self.binding.node_id, msg.request.requestor, msg.request.instance, msg.function_id)
        stream = self.streams.pop(key, None)
        if stream is None or not self.hub.delete(key):
            return e2.RicSubscriptionDeleteFailure(msg.request, msg.function_id,
                                                   e2.Cause("ricRequest", "request-id-unknown"))
        return e2.RicSubscriptionDeleteResponse(msg.request, msg.function_id)

    async def _control(self, msg: e2.RicControlRequest) -> e2.Pdu:
        try:
            if msg.function_id != ids.RAN_FUNCTION_RC:
                raise invalid("ran-function-id-invalid", f"RAN function {msg.function_id} takes no control here")
            header = rc.decode_header(msg.header)
            if (header.style, header.action) != (rc.STYLE_RADIO_RESOURCE_ALLOCATION, rc.ACTION_SLICE_PRB_QUOTA):
                raise invalid("action-not-supported", f"RC style {header.style} action {header.action}")
            policies = rc.decode_slice_quota(msg.message)
            request = e2ap_pb2.RicControlRequest(
                node_id=self.binding.node_id, ran_function_id=msg.function_id,
                ric_request_id=e2ap_pb2.RicRequestId(ric_requestor_id=msg.request.requestor,
                                                     ric_instance_id=msg.request.instance),
                slice_quota=mapping.slice_quota_from_e2sm(policies, [c.cgi for c in self.info.cells]))
            validation.check_control(self.service.node(self.binding.node_id), request)
            await self.gnbs.apply_control(request)
        except (NextricError, CodecError) as exc:
            failure = exc if isinstance(exc, E2Failure) else invalid("control-message-invalid", str(exc))
            return e2.RicControlFailure(msg.request, msg.function_id,
                                        mapping.cause_to_e2ap(failure.group, failure.value))
        return e2.RicControlAcknowledge(msg.request, msg.function_id)


class E2apAgents:
    """Every emulated node's E2 agent, run until ``stop``."""

    def __init__(self, gnbs: EmulatedGnbs, service: E2NodeService, settings: AgentSettings) -> None:
        self.agents = [NodeAgent(gnbs, service, b, settings) for b in gnbs.bindings]

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(a.run(stop) for a in self.agents))

    async def wait_set_up(self, timeout_s: float) -> None:
        await asyncio.wait_for(asyncio.gather(*(a.set_up.wait() for a in self.agents)), timeout_s)


def inventory(infos: Sequence[e2ap_pb2.E2NodeInfo]) -> list[dict[str, object]]:
    """The cells of the emulated nodes in the E2 termination's cell-inventory form (``NEXTRIC_E2TERM_CELLS``)."""
    return [{"cgi": ids.cell_key(c.cgi), "pci": c.pci, "nr_band": c.nr_band, "dl_arfcn": c.dl_arfcn,
             "bandwidth_mhz": c.bandwidth_mhz, "scs_khz": c.scs_khz, "prb_count": c.prb_count,
             "slices": [ids.snssai_key(s) for s in c.slices]} for info in infos for c in info.cells]


@dataclass
class RunningAgents:
    agents: E2apAgents
    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def stop(self) -> None:
        self.stop_event.set()
        await self.task


def start_agents(gnbs: EmulatedGnbs, service: E2NodeService, target: str, transport: Transport = "auto",
                 time_origin_unix_ms: int = 0) -> RunningAgents:
    """Connect every emulated node to the E2 termination at ``target`` (HOST:PORT) in the background."""
    host, port = parse_target(target)
    agents = E2apAgents(gnbs, service, AgentSettings(host, port, transport, time_origin_unix_ms=time_origin_unix_ms))
    stop = asyncio.Event()
    return RunningAgents(agents, asyncio.create_task(agents.run(stop)), stop)

"""The bridge: every gNB association (after E2 Setup) is an E2 node of the internal gRPC E2 service.

- xApp subscription -> RIC Subscription Request (KPM event trigger format 1 = the report period, action
  definition format 1 with the node's cell and the KPM names of the internal contract) -> RIC Indications ->
  internal indications of that subscription; subscription gone -> RIC Subscription Delete.
- xApp control (slice quota) -> RIC Control Request (E2SM-RC style 2 action 6) -> Acknowledge (echo of what was
  asked, in force from the node's latest report time) or Failure (its E2AP cause, as a gRPC status).
- Bad input from a gNB gets an Error Indication (protocol cause) and is dropped; a broken framing ends the
  association. Nothing accepted earlier is lost: subscriptions of a gNB that went away stay in the hub (their
  streams wait) and are set up again when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from e2term.hub import BridgeHub
from e2term.nodeinfo import node_info
from e2term.settings import CellConfig, E2apListenSettings
from nextric.e2 import measurements
from nextric.e2.errors import E2Failure, invalid, not_found
from nextric.e2.hub import Subscription, SubscriptionKey
from nextric.e2.v1 import e2ap_pb2
from nextric.e2ap import kpm, mapping, rc
from nextric.e2ap import pdu as e2
from nextric.e2ap.errors import CodecError
from nextric.e2ap.transport import Association, FramingError
from nextric.errors import NextricError

log = logging.getLogger("e2term")
ACTION_ID = 1


@dataclass
class RicSub:
    """A RIC subscription at the gNB that serves one internal subscription."""

    key: SubscriptionKey
    request: e2.RicRequestId
    period_ms: int
    cgi: Any
    active: bool = False


@dataclass
class Link:
    """One gNB association after E2 Setup."""

    assoc: Association
    info: e2ap_pb2.E2NodeInfo
    plmn: bytes
    last_sim_time_ms: int = 0
    subs: dict[SubscriptionKey, RicSub] = field(default_factory=dict)
    pending: dict[tuple[str, int, int], asyncio.Future[e2.Pdu]] = field(default_factory=dict)
    instances: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def node_id(self) -> str:
        return self.info.node_id


class Bridge:
    """E2 node backend of the gNBs connected to this E2 termination (see module docstring)."""

    def __init__(self, settings: E2apListenSettings, cells: Sequence[CellConfig], ric_plmn: bytes, ric_id: int,
                 requestor_id: int = 0, time_origin_unix_ms: int = 0) -> None:
        self.s = settings
        self.cells = list(cells)
        self.ric_plmn = ric_plmn
        self.ric_id = ric_id
        self.requestor_id = requestor_id
        self.origin_ms = time_origin_unix_ms
        self.links: dict[str, Link] = {}
        self.hub: BridgeHub | None = None
        self.on_topology: list[Any] = []  #: callables run when a node comes or goes (the service re-reads nodes)
        self.errors_sent = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ E2NodeBackend

    def node_infos(self) -> Sequence[e2ap_pb2.E2NodeInfo]:
        return [link.info for link in self.links.values()]

    async def apply_control(self, request: e2ap_pb2.RicControlRequest) -> e2ap_pb2.RicControlAcknowledge:
        link = self._link(request.node_id)
        if request.WhichOneof("control") != "slice_quota":
            raise invalid("action-not-supported", "the E2 termination maps slice quota controls only")
        policies = mapping.slice_quota_to_e2sm(request.slice_quota)
        requestor = request.ric_request_id.ric_requestor_id
        rid = e2.RicRequestId(requestor if requestor <= 0xFFFF else self.requestor_id, next(link.instances) & 0xFFFF)
        msg = e2.RicControlRequest(rid, request.ran_function_id, rc.encode_header(rc.slice_level_header(link.plmn)),
                                   rc.encode_slice_quota(policies))
        outcome = await self._transact(link, ("control", rid.requestor, rid.instance), msg)
        if isinstance(outcome, e2.RicControlFailure):
            group, value = mapping.cause_from_e2ap(outcome.cause)
            raise E2Failure(grpc.StatusCode.FAILED_PRECONDITION, group, value,
                            f"the gNB refused the control ({outcome.cause})")
        ack = e2ap_pb2.RicControlAcknowledge(node_id=request.node_id, ric_request_id=request.ric_request_id,
                                             ran_function_id=request.ran_function_id,
                                             effective_sim_time_ms=link.last_sim_time_ms)
        ack.slice_quota.CopyFrom(request.slice_quota)
        return ack

    def _link(self, node_id: str) -> Link:
        link = self.links.get(node_id)
        if link is None:
            raise not_found("e2-node-unknown", f"E2 node {node_id} is not connected")
        return link

    # ------------------------------------------------------------------ hub hooks

    def on_subscribe(self, sub: Subscription, request: e2ap_pb2.RicSubscriptionRequest) -> None:
        rid = request.ric_request_id
        if rid.ric_requestor_id > 0xFFFF or rid.ric_instance_id > 0xFFFF:
            raise invalid("unspecified", "RIC requestor and instance ids must fit E2AP (0..65535)")
        link = self.links.get(sub.key.node_id)
        cgi = request.cells[0] if request.cells else None
        if link is not None and cgi is None and len(link.info.cells) == 1:
            cgi = link.info.cells[0].cgi
        if cgi is None or len(request.cells) > 1:
            raise invalid("action-not-supported", "KPM over E2AP is subscribed per cell: name one cell (or a node "
                          "with one cell)")
        ric = RicSub(sub.key, e2.RicRequestId(rid.ric_requestor_id, rid.ric_instance_id), sub.period_ms, cgi)
        if link is not None:
            old = link.subs.get(sub.key)
            link.subs[sub.key] = ric
            if old is not None and old.active:
                self._spawn(self._unsubscribe(link, old))
            self._spawn(self._subscribe(link, ric))

    def on_remove(self, key: SubscriptionKey) -> None:
        link = self.links.get(key.node_id)
        if link is not None and (ric := link.subs.pop(key, None)) is not None and ric.active:
            self._spawn(self._unsubscribe(link, ric))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _subscribe(self, link: Link, ric: RicSub) -> None:
        action = kpm.ActionDefinition(tuple(kpm.Measurement(n) for n in measurements.ALL_MEASUREMENTS),
                                      ric.period_ms, mapping.cgi_to_e2sm(ric.cgi))
        msg = e2.RicSubscriptionRequest(ric.request, ric.key.ran_function_id, kpm.encode_event_trigger(ric.period_ms),
                                        (e2.RicAction(ACTION_ID, "report", kpm.encode_action_definition(action)),))
        try:
            outcome = await self._transact(link, ("sub", ric.request.requestor, ric.request.instance), msg)
        except NextricError as exc:
            outcome = None
            log.warning("RIC subscription got no answer", extra={"node": link.node_id, "error": str(exc)})
        if isinstance(outcome, e2.RicSubscriptionResponse) and ACTION_ID in outcome.admitted:
            ric.active = True
            return
        log.warning("RIC subscription refused by the gNB: the stream ends",
                    extra={"node": link.node_id, "subscription": str(ric.key), "outcome": str(outcome)})
        if link.subs.get(ric.key) is ric and self.hub is not None:
            self.hub.delete(ric.key)

    async def _unsubscribe(self, link: Link, ric: RicSub) -> None:
        msg = e2.RicSubscriptionDeleteRequest(ric.request, ric.key.ran_function_id)
        with contextlib.suppress(NextricError):
            await self._transact(link, ("del", ric.request.requestor, ric.request.instance), msg)

    async def _transact(self, link: Link, key: tuple[str, int, int], msg: e2.Pdu) -> e2.Pdu:
        if key in link.pending:
            raise invalid("duplicate-ric-request-id", f"a procedure with RIC request id {key[1:]} is in progress")
        fut: asyncio.Future[e2.Pdu] = asyncio.get_running_loop().create_future()
        link.pending[key] = fut
        try:
            await link.assoc.send(e2.encode(msg))
            return await asyncio.wait_for(fut, self.s.procedure_timeout_s)
        except TimeoutError as exc:
            raise E2Failure(grpc.StatusCode.DEADLINE_EXCEEDED, e2ap_pb2.CAUSE_GROUP_RIC_REQUEST,
                            "control-timer-expired",
                            f"no answer from {link.node_id} in {self.s.procedure_timeout_s}s") from exc
        except (OSError, ConnectionError) as exc:
            raise E2Failure(grpc.StatusCode.UNAVAILABLE, e2ap_pb2.CAUSE_GROUP_MISC, "unspecified",
                            f"{link.node_id}: association lost: {exc}") from exc
        finally:
            link.pending.pop(key, None)

    # ------------------------------------------------------------------ associations

    async def serve(self, assoc: Association) -> None:
        """Run one association: E2 Setup first, then the gNB's messages until it closes."""
        link: Link | None = None
        try:
            link = await asyncio.wait_for(self._setup(assoc), self.s.setup_timeout_s)
            if link is None:
                return
            while True:
                await self._dispatch(link, await link.assoc.recv())
        except (EOFError, FramingError, TimeoutError, OSError, ConnectionError) as exc:
            log.info("E2 association ended", extra={"peer": assoc.peer, "reason": str(exc) or type(exc).__name__})
        finally:
            if link is not None and self.links.get(link.node_id) is link:
                del self.links[link.node_id]
                for fut in link.pending.values():
                    if not fut.done():
                        fut.set_exception(E2Failure(grpc.StatusCode.UNAVAILABLE, e2ap_pb2.CAUSE_GROUP_MISC,
                                                    "unspecified", f"{link.node_id}: association lost"))
                self._topology_changed()
            await assoc.close()

    async def _setup(self, assoc: Association) -> Link | None:
        while True:
            data = await assoc.recv()
            try:
                msg = e2.decode(data)
            except CodecError as exc:
                await self._error(assoc, e2.Cause("protocol", "transfer-syntax-error"), str(exc))
                continue
            if not isinstance(msg, e2.E2SetupRequest):
                await self._error(assoc, e2.Cause("protocol", "message-not-compatible-with-receiver-state"),
                                  f"{type(msg).__name__} before E2 Setup")
                continue
            try:
                info = node_info(msg, self.cells)
            except NextricError as exc:
                failure = e2.E2SetupFailure(msg.transaction_id, e2.Cause("protocol", "semantic-error"))
                await assoc.send(e2.encode(failure))
                log.warning("E2 Setup refused", extra={"peer": assoc.peer, "error": str(exc)})
                return None
            offered = {f.ran_function_id for f in info.ran_functions if f.report_styles or f.control_styles}
            await assoc.send(e2.encode(e2.E2SetupResponse(
                msg.transaction_id, self.ric_plmn, self.ric_id,
                tuple(f.function_id for f in msg.functions if f.function_id in offered),
                tuple((f.function_id, e2.Cause("ricService", "ran-function-not-supported"))
                      for f in msg.functions if f.function_id not in offered),
                msg.components)))
            link = Link(assoc, info, msg.node.plmn)
            previous = self.links.get(info.node_id)
            self.links[info.node_id] = link
            if previous is not None:
                await previous.assoc.close()
            log.info("E2 node set up", extra={"node": info.node_id, "peer": assoc.peer, "cells": len(info.cells)})
            self._topology_changed()
            self._resubscribe(link)
            return link

    def _resubscribe(self, link: Link) -> None:
        """Subscriptions the xApps hold on this node (kept while it was away) are set up at the gNB again."""
        if self.hub is None:
            return
        for key in self.hub.keys_of(link.node_id):
            sub = self.hub.subscription(key)
            if sub is not None:
                request = e2ap_pb2.RicSubscriptionRequest(
                    node_id=key.node_id, ran_function_id=key.ran_function_id, report_period_ms=sub.period_ms,
                    report_style=sub.style,  # type: ignore[arg-type]
                    ric_request_id=e2ap_pb2.RicRequestId(ric_requestor_id=key.ric_requestor_id,
                                                         ric_instance_id=key.ric_instance_id))
                with contextlib.suppress(NextricError):
                    self.on_subscribe(sub, request)

    def _topology_changed(self) -> None:
        for callback in self.on_topology:
            callback()

    async def _error(self, assoc: Association, cause: e2.Cause, detail: str, request: e2.RicRequestId | None = None,
                     function_id: int | None = None) -> None:
        self.errors_sent += 1
        log.warning("E2AP error indication sent", extra={"peer": assoc.peer, "cause": str(cause), "detail": detail})
        await assoc.send(e2.encode(e2.ErrorIndication(cause, None, request, function_id)))

    async def _dispatch(self, link: Link, data: bytes) -> None:
        try:
            msg = e2.decode(data)
        except CodecError as exc:
            await self._error(link.assoc, e2.Cause("protocol", "transfer-syntax-error"), str(exc))
            return
        if isinstance(msg, e2.RicIndication):
            await self._indication(link, msg)
        elif isinstance(msg, e2.RicSubscriptionResponse | e2.RicSubscriptionFailure):
            self._resolve(link, ("sub", msg.request.requestor, msg.request.instance), msg)
        elif isinstance(msg, e2.RicSubscriptionDeleteResponse | e2.RicSubscriptionDeleteFailure):
            self._resolve(link, ("del", msg.request.requestor, msg.request.instance), msg)
        elif isinstance(msg, e2.RicControlAcknowledge | e2.RicControlFailure):
            self._resolve(link, ("control", msg.request.requestor, msg.request.instance), msg)
        elif isinstance(msg, e2.ResetRequest):
            for ric in link.subs.values():
                ric.active = False  # the node dropped them; set them up again
            await link.assoc.send(e2.encode(e2.ResetResponse(msg.transaction_id)))
            self._resubscribe(link)
        elif isinstance(msg, e2.E2NodeConfigurationUpdate):
            await link.assoc.send(e2.encode(e2.E2NodeConfigurationUpdateAcknowledge(msg.transaction_id, msg.additions)))
        elif isinstance(msg, e2.ErrorIndication):
            log.warning("E2AP error indication received", extra={"node": link.node_id, "cause": str(msg.cause)})
        else:
            await self._error(link.assoc, e2.Cause("protocol", "message-not-compatible-with-receiver-state"),
                              f"unexpected {type(msg).__name__}")

    def _resolve(self, link: Link, key: tuple[str, int, int], msg: e2.Pdu) -> None:
        fut = link.pending.get(key)
        if fut is not None and not fut.done():
            fut.set_result(msg)
        else:
            log.info("outcome of no pending procedure dropped",
                     extra={"node": link.node_id, "message": type(msg).__name__})

    async def _indication(self, link: Link, msg: e2.RicIndication) -> None:
        key = SubscriptionKey(link.node_id, msg.request.requestor, msg.request.instance, msg.function_id)
        ric = link.subs.get(key)
        if ric is None or self.hub is None:
            await self._error(link.assoc, e2.Cause("ricRequest", "request-id-unknown"), f"no subscription {key}",
                              msg.request, msg.function_id)
            return
        try:
            header = kpm.decode_header(msg.header)
            message = kpm.decode_message(msg.message)
            if not isinstance(message, kpm.Format1):
                raise CodecError("KPM format 3 (per UE) has no internal mapping; subscribe style 1")
            granularity = message.granularity_ms or ric.period_ms
            report = mapping.kpm_from_e2sm(message, ric.cgi, granularity)
        except NextricError as exc:
            await self._error(link.assoc, e2.Cause("protocol", "abstract-syntax-error-falsely-constructed-message"),
                              str(exc), msg.request, msg.function_id)
            return
        sim_time_ms = mapping.sim_time_of(header, granularity, self.origin_ms)
        link.last_sim_time_ms = max(link.last_sim_time_ms, sim_time_ms)
        self.hub.deliver(key, sim_time_ms, time.time_ns(), {"kpm": report})


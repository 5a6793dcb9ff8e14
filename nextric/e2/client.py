"""Async E2 client for xApps: discovery, subscriptions that survive node restarts, and controls.

A subscription is an :class:`IndicationStream`, an async iterator of ``RicIndication``. Underneath it
re-establishes the gRPC stream with exponential backoff and jitter whenever it breaks, asks the node to
resume after the last sequence number it delivered, and never hands the app the same
(incarnation, sequence number) twice. Gaps (lost indications) and node restarts (a new incarnation)
are counted, not hidden.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from nextric.aio import raise_if_cancelling
from nextric.e2 import ids
from nextric.e2.auth import open_channel
from nextric.e2.errors import E2Failure, failure_from_rpc_error
from nextric.e2.metrics import E2ClientMetrics
from nextric.e2.settings import E2ClientSettings
from nextric.e2.v1 import common_pb2, e2ap_pb2, e2ap_pb2_grpc
from nextric.errors import UnavailableError

# Status codes after which retrying the same subscription cannot help.
_PERMANENT = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


@dataclass
class StreamStats:
    delivered: int = 0
    gaps: int = 0
    duplicates: int = 0
    reconnects: int = 0
    node_restarts: int = 0


def backoff_delay(attempt: int, settings: E2ClientSettings, rng: random.Random) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half uniform; attempt counts from 1."""
    base = min(settings.backoff_max_s, settings.backoff_initial_s * settings.backoff_multiplier ** (attempt - 1))
    return base / 2 + rng.uniform(0.0, base / 2)


def _failure(err: grpc.aio.AioRpcError) -> E2Failure:
    """The E2 failure an RPC error stands for, unless it stands for a cancel of the calling task: grpc.aio's
    unary calls can turn a cancel that races the call's completion into an ``AioRpcError`` (even with status
    OK); then ``CancelledError`` is raised instead, so the cancel is not swallowed as an E2 failure."""
    raise_if_cancelling()
    return failure_from_rpc_error(err)


class IndicationStream:
    """One RIC subscription as seen by the app (see the module docstring for the guarantees)."""

    def __init__(self, client: E2Client, request: e2ap_pb2.RicSubscriptionRequest) -> None:
        self._client = client
        self.request = request
        self.stats = StreamStats()
        self.last_incarnation = 0
        self.last_sequence = 0
        self._closed = False
        self._call: Any = None
        self._gen = self._run()

    def __aiter__(self) -> AsyncIterator[e2ap_pb2.RicIndication]:
        return self

    async def __anext__(self) -> e2ap_pb2.RicIndication:
        return await self._gen.__anext__()

    async def _run(self) -> AsyncGenerator[e2ap_pb2.RicIndication, None]:
        client = self._client
        metrics = client.metrics
        delivered_counter = metrics.indications.labels(self.request.node_id) if metrics else None
        attempt = 0
        while not self._closed:
            request = e2ap_pb2.RicSubscriptionRequest()
            request.CopyFrom(self.request)
            if self.last_incarnation:
                request.resume_incarnation = self.last_incarnation
                request.resume_after_sequence = self.last_sequence
            self._call = client.stub.Subscribe(request)
            try:
                async for indication in self._call:
                    attempt = 0
                    header = indication.header
                    if header.incarnation != self.last_incarnation:
                        if self.last_incarnation:
                            self.stats.node_restarts += 1
                            if metrics:
                                metrics.node_restarts.inc()
                        self.last_incarnation = header.incarnation
                        self.last_sequence = 0
                    seq = header.sequence_number
                    if seq <= self.last_sequence:
                        self.stats.duplicates += 1
                        if metrics:
                            metrics.duplicates.inc()
                        continue
                    if seq > self.last_sequence + 1:
                        missing = seq - self.last_sequence - 1
                        self.stats.gaps += missing
                        if metrics:
                            metrics.gaps.inc(missing)
                    self.last_sequence = seq
                    self.stats.delivered += 1
                    if delivered_counter is not None:
                        delivered_counter.inc()
                    yield indication
            except asyncio.CancelledError:
                if self._closed and self._call.cancelled():
                    return  # our own delete()/aclose() cancelled the call: end of iteration
                raise
            except grpc.aio.AioRpcError as err:
                if self._closed:
                    return
                failure = _failure(err)
                if err.code() in _PERMANENT:
                    raise failure from err
            if self._closed:
                return
            attempt += 1
            self.stats.reconnects += 1
            if metrics:
                metrics.reconnects.inc()
            limit = client.settings.max_reconnect_attempts
            if limit and attempt > limit:
                raise UnavailableError(f"subscription {self.request.node_id}: gave up after {limit} reconnects")
            await asyncio.sleep(backoff_delay(attempt, client.settings, client.rng))

    async def delete(self) -> None:
        """RIC Subscription Delete, then end the iteration."""
        self._closed = True
        try:
            await self._client.delete_subscription(self.request)
        finally:
            self._cancel_call()

    async def aclose(self) -> None:
        """Stop iterating without deleting (the node keeps the subscription until its detach TTL)."""
        self._closed = True
        self._cancel_call()
        await self._gen.aclose()

    def _cancel_call(self) -> None:
        if self._call is not None:
            self._call.cancel()


class E2Client:
    """Client of one E2 node server (which may host many nodes)."""

    def __init__(
        self,
        settings: E2ClientSettings,
        metrics: E2ClientMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.rng = rng or random.Random()
        self._channel = open_channel(
            settings.target,
            options=[
                ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
                ("grpc.max_send_message_length", settings.max_send_message_bytes),
                ("grpc.initial_reconnect_backoff_ms", int(settings.backoff_initial_s * 1000)),
                ("grpc.max_reconnect_backoff_ms", int(settings.backoff_max_s * 1000)),
            ],
            token=settings.token,
            tls_ca_file=settings.tls_ca_file,
            tls_server_name=settings.tls_server_name,
        )
        self.stub = e2ap_pb2_grpc.E2NodeStub(self._channel)
        self.channel = self._channel  # for other services on the same server (e.g. the transport controller)
        self._instances = itertools.count(1)

    async def __aenter__(self) -> E2Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close(None)

    async def wait_ready(self, timeout_s: float) -> None:
        """Wait until the node server answers discovery (raises UnavailableError on timeout)."""
        try:
            await self.stub.ListNodes(e2ap_pb2.ListNodesRequest(), timeout=timeout_s, wait_for_ready=True)
        except grpc.aio.AioRpcError as err:
            raise UnavailableError(f"E2 node server {self.settings.target} not ready: {err.details()}") from err

    async def list_nodes(self) -> list[e2ap_pb2.E2NodeInfo]:
        try:
            resp = await self.stub.ListNodes(
                e2ap_pb2.ListNodesRequest(), timeout=self.settings.rpc_timeout_s, wait_for_ready=True
            )
        except grpc.aio.AioRpcError as err:
            raise _failure(err) from err
        return list(resp.nodes)

    async def get_node(self, node_id: str) -> e2ap_pb2.E2NodeInfo:
        try:
            return await self.stub.GetNode(
                e2ap_pb2.GetNodeRequest(node_id=node_id), timeout=self.settings.rpc_timeout_s
            )
        except grpc.aio.AioRpcError as err:
            raise _failure(err) from err

    def next_request_id(self) -> e2ap_pb2.RicRequestId:
        return e2ap_pb2.RicRequestId(
            ric_requestor_id=self.settings.ric_requestor_id, ric_instance_id=next(self._instances)
        )

    def subscribe(
        self,
        node_id: str,
        style: e2ap_pb2.ReportStyle.ValueType,
        report_period_ms: int,
        *,
        cells: Iterable[common_pb2.NrCgi] = (),
        ran_function_id: int | None = None,
        request_id: e2ap_pb2.RicRequestId | None = None,
    ) -> IndicationStream:
        """Subscribe to periodic ``style`` reports of ``node_id``; iterate the result for indications.

        Validation errors (unknown node, style or function, bad period) surface as :class:`E2Failure`
        on the first iteration.
        """
        request = e2ap_pb2.RicSubscriptionRequest(
            node_id=node_id,
            ric_request_id=request_id or self.next_request_id(),
            ran_function_id=ran_function_id if ran_function_id is not None else ids.REPORT_FUNCTION.get(style, 0),
            report_period_ms=report_period_ms,
            report_style=style,
            cells=list(cells),
        )
        return IndicationStream(self, request)

    async def delete_subscription(
        self, request: e2ap_pb2.RicSubscriptionRequest | e2ap_pb2.RicSubscriptionDeleteRequest
    ) -> None:
        try:
            await self.stub.DeleteSubscription(
                e2ap_pb2.RicSubscriptionDeleteRequest(
                    node_id=request.node_id,
                    ric_request_id=request.ric_request_id,
                    ran_function_id=request.ran_function_id,
                ),
                timeout=self.settings.rpc_timeout_s,
            )
        except grpc.aio.AioRpcError as err:
            raise _failure(err) from err

    async def control(
        self, request: e2ap_pb2.RicControlRequest, timeout_s: float | None = None
    ) -> e2ap_pb2.RicControlAcknowledge:
        """Send a RIC Control Request; returns the acknowledge (with the applied echo) or raises E2Failure."""
        if not request.HasField("ric_request_id"):
            request.ric_request_id.CopyFrom(self.next_request_id())
        if not request.ran_function_id:
            request.ran_function_id = ids.RAN_FUNCTION_RC
        start = time.perf_counter()
        try:
            ack = await self.stub.Control(request, timeout=timeout_s or self.settings.rpc_timeout_s)
        except grpc.aio.AioRpcError as err:
            raise _failure(err) from err
        if self.metrics is not None:
            self.metrics.control_latency.observe(time.perf_counter() - start)
        return ack


__all__ = ["E2Client", "E2Failure", "IndicationStream", "StreamStats", "backoff_delay"]

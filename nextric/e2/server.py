"""E2 node server base: the gRPC face of any E2 node backend (the emulated testbed, a bridge, a test node).

A backend implements :class:`E2NodeBackend` (its nodes and how it applies a validated control) and
publishes reports through the server's :class:`~nextric.e2.hub.IndicationHub`. This module does the
rest: request validation with E2AP causes, subscription streams, gRPC health and reflection, explicit
message-size limits, bearer-token authentication with per-role permissions (:mod:`nextric.e2.auth`) and optional
TLS, per-client and per-node subscription limits, a slow-consumer policy, a sweeper of stale subscriptions, an
exclusive bind of the port, and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry

from nextric.e2 import validation
from nextric.e2.auth import Authenticator, TokenAuthInterceptor, load_grants, server_credentials
from nextric.e2.decoding import register_strict
from nextric.e2.errors import FAILURE_METADATA_KEY, E2Failure, exhausted, not_found, protocol_error
from nextric.e2.hub import HubLimits, IndicationHub, SubscriptionKey
from nextric.e2.metrics import E2ServerMetrics
from nextric.e2.settings import E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.errors import NextricError

log = logging.getLogger("nextric.e2.server")
SERVICE_NAME = "nextric.e2.v1.E2Node"
Context = grpc.aio.ServicerContext[Any, Any]
M = TypeVar("M", bound=Message)
R = TypeVar("R")


class E2NodeBackend(Protocol):
    """What a concrete E2 node (or a process hosting many) provides to the server base."""

    def node_infos(self) -> Sequence[e2ap_pb2.E2NodeInfo]:
        """Every node served, with cells and RAN functions (the server stamps ``incarnation``)."""

    async def apply_control(self, request: e2ap_pb2.RicControlRequest) -> e2ap_pb2.RicControlAcknowledge:
        """Apply a control that passed :func:`~nextric.e2.validation.check_control`; echo what was applied.

        Raise :class:`~nextric.e2.errors.E2Failure` (or any ``NextricError``) to refuse it.
        """


@dataclass(frozen=True)
class _Malformed:
    error: str


def _safe_parser(message_type: type[M]) -> Callable[[bytes], M | _Malformed]:
    def parse(data: bytes) -> M | _Malformed:
        try:
            return message_type.FromString(data)
        except (DecodeError, ValueError) as exc:  # protobuf raises DecodeError or ValueError
            return _Malformed(f"cannot decode {message_type.DESCRIPTOR.full_name}: {exc}")

    return parse


class E2NodeService:
    """Servicer of ``nextric.e2.v1.E2Node`` over a backend and a hub."""

    def __init__(
        self,
        backend: E2NodeBackend,
        hub: IndicationHub,
        settings: E2ServerSettings,
        metrics: E2ServerMetrics | None = None,
        auth: Authenticator | None = None,
    ) -> None:
        self._backend = backend
        self.hub = hub
        self._settings = settings
        self._metrics = metrics
        self._auth = auth
        self._aborts: set[asyncio.Task[None]] = set()
        self._nodes: dict[str, validation.NodeView] = {}
        self.refresh_nodes()

    def refresh_nodes(self) -> None:
        """Re-read the backend's nodes (call after the backend's topology changed)."""
        nodes: dict[str, validation.NodeView] = {}
        for info in self._backend.node_infos():
            stamped = e2ap_pb2.E2NodeInfo()
            stamped.CopyFrom(info)
            stamped.incarnation = self.hub.incarnation
            nodes[stamped.node_id] = validation.NodeView.of(stamped)
        self._nodes = nodes

    def node(self, node_id: str) -> validation.NodeView:
        view = self._nodes.get(node_id)
        if view is None:
            validation.check_node_id(node_id, self._nodes)  # raises with the right cause
            raise AssertionError("unreachable")
        return view

    # ------------------------------------------------------------------ error edge

    async def _abort(self, context: Context, rpc: str, failure: E2Failure) -> None:
        if self._metrics is not None:
            self._metrics.rejected.labels(rpc, failure.value).inc()
        await context.abort(
            failure.code,
            f"{failure.value}: {failure.detail}",
            trailing_metadata=((FAILURE_METADATA_KEY, failure.to_proto().SerializeToString()),),
        )

    async def _unary(self, rpc: str, request: Any, context: Context, handler: Callable[[Any], Awaitable[R]]) -> R:
        try:
            if isinstance(request, _Malformed):
                raise protocol_error(request.error)
            return await handler(request)
        except NextricError as exc:
            await self._abort(context, rpc, E2Failure.from_error(exc))
            raise AssertionError("unreachable: abort raises") from exc

    def client_of(self, context: Context) -> str:
        """Who a call comes from, for per-client limits: its token's name, else its peer address without the port."""
        if self._auth:
            grant = self._auth.identify(context.invocation_metadata())
            if grant is not None:
                return f"token:{grant.name}"
        peer = context.peer() or ""
        host = peer.rsplit(":", 1)[0] if peer.count(":") > 1 else peer
        return f"peer:{host}"

    def _cut_off(self, context: Context, sub_key: SubscriptionKey) -> asyncio.Task[None]:
        """End a stalled consumer's stream with RESOURCE_EXHAUSTED from outside its handler (which may be blocked
        writing to a client that does not read)."""

        async def abort() -> None:
            failure = exhausted(
                "function-resource-limit",
                f"subscription {sub_key}: consumer stalled for {self._settings.slow_consumer_timeout_s} s with a full "
                f"outbox ({self._settings.outbox_depth} indications); stream cancelled")
            with contextlib.suppress(Exception):
                await self._abort(context, "Subscribe", failure)

        if self._metrics is not None:
            self._metrics.slow_consumers.inc()
        log.warning("slow consumer cut off", extra={"subscription": str(sub_key), "peer": context.peer()})
        task = asyncio.ensure_future(abort())
        self._aborts.add(task)
        task.add_done_callback(self._aborts.discard)
        return task

    # ------------------------------------------------------------------ RPCs

    async def list_nodes(self, request: Any, context: Context) -> e2ap_pb2.ListNodesResponse:
        async def run(_: e2ap_pb2.ListNodesRequest) -> e2ap_pb2.ListNodesResponse:
            return e2ap_pb2.ListNodesResponse(nodes=[view.info for view in self._nodes.values()])

        return await self._unary("ListNodes", request, context, run)

    async def get_node(self, request: Any, context: Context) -> e2ap_pb2.E2NodeInfo:
        async def run(req: e2ap_pb2.GetNodeRequest) -> e2ap_pb2.E2NodeInfo:
            return self.node(req.node_id).info

        return await self._unary("GetNode", request, context, run)

    async def subscribe(self, request: Any, context: Context) -> AsyncIterator[e2ap_pb2.RicIndication]:
        try:
            if isinstance(request, _Malformed):
                raise protocol_error(request.error)
            node = self.node(request.node_id)
            validation.check_subscription(
                node, request, self._settings.min_report_period_ms, self._settings.max_report_period_ms
            )
            sub, outbox = self.hub.attach(request, self.client_of(context))
        except NextricError as exc:
            await self._abort(context, "Subscribe", E2Failure.from_error(exc))
            return
        self._update_gauge()
        cut: list[asyncio.Task[None]] = []
        outbox.on_overflow = lambda: cut.append(self._cut_off(context, sub.key))
        sent = 0
        try:
            async for indication in outbox:
                yield indication
                sent += 1
            if cut:
                await cut[0]
        finally:
            self.hub.detach(sub, outbox)
            if self._metrics is not None:
                self._metrics.indications.labels(e2ap_pb2.ReportStyle.Name(sub.style)).inc(sent)  # type: ignore[arg-type]
                self._metrics.dropped.inc(outbox.dropped)
            self._update_gauge()

    async def delete_subscription(self, request: Any, context: Context) -> e2ap_pb2.RicSubscriptionDeleteResponse:
        async def run(req: e2ap_pb2.RicSubscriptionDeleteRequest) -> e2ap_pb2.RicSubscriptionDeleteResponse:
            self.node(req.node_id)
            key = SubscriptionKey.of(req)
            if not self.hub.delete(key):
                raise not_found("request-id-unknown", f"no subscription {key}")
            self._update_gauge()
            return e2ap_pb2.RicSubscriptionDeleteResponse(
                node_id=req.node_id, ric_request_id=req.ric_request_id, ran_function_id=req.ran_function_id
            )

        return await self._unary("DeleteSubscription", request, context, run)

    async def control(self, request: Any, context: Context) -> e2ap_pb2.RicControlAcknowledge:
        async def run(req: e2ap_pb2.RicControlRequest) -> e2ap_pb2.RicControlAcknowledge:
            validation.check_control(self.node(req.node_id), req)
            ack = await self._backend.apply_control(req)
            if self._metrics is not None:
                self._metrics.controls.labels(req.WhichOneof("control")).inc()
            return ack

        return await self._unary("Control", request, context, run)

    def refresh_gauge(self) -> None:
        self._update_gauge()

    def _update_gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.subscriptions.set(len(self.hub))

    def handler(self) -> grpc.GenericRpcHandler[Any, Any]:
        def unary(fn: Any, req: type[Message], resp: type[Message]) -> grpc.RpcMethodHandler[Any, Any]:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=_safe_parser(req), response_serializer=resp.SerializeToString
            )

        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "ListNodes": unary(self.list_nodes, e2ap_pb2.ListNodesRequest, e2ap_pb2.ListNodesResponse),
                "GetNode": unary(self.get_node, e2ap_pb2.GetNodeRequest, e2ap_pb2.E2NodeInfo),
                "Subscribe": grpc.unary_stream_rpc_method_handler(
                    self.subscribe,
                    request_deserializer=_safe_parser(e2ap_pb2.RicSubscriptionRequest),
                    response_serializer=e2ap_pb2.RicIndication.SerializeToString,
                ),
                "DeleteSubscription": unary(
                    self.delete_subscription,
                    e2ap_pb2.RicSubscriptionDeleteRequest,
                    e2ap_pb2.RicSubscriptionDeleteResponse,
                ),
                "Control": unary(self.control, e2ap_pb2.RicControlRequest, e2ap_pb2.RicControlAcknowledge),
            },
        )


def grpc_server_options(max_receive: int, max_send: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", max_receive),
        ("grpc.max_send_message_length", max_send),
        ("grpc.so_reuseport", 0),  # exclusive bind: a second server on the same port fails instead of sharing it
    ]


@dataclass
class RunningE2Server:
    server: grpc.aio.Server
    port: int
    service: E2NodeService
    health: health_aio.HealthServicer
    sweeper: asyncio.Task[None] | None = None
    authenticated: bool = False
    tls: bool = False

    @property
    def hub(self) -> IndicationHub:
        return self.service.hub

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace_s: float | None = 0.5) -> None:
        await self.health.enter_graceful_shutdown()
        if self.sweeper is not None:
            self.sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sweeper
        self.hub.close_all()
        await self.server.stop(grace_s)


async def start_e2_server(
    backend: E2NodeBackend,
    settings: E2ServerSettings,
    registry: CollectorRegistry | None = None,
    incarnation: int | None = None,
    extra_services: Sequence[tuple[str, Callable[[grpc.aio.Server], None]]] = (),
) -> RunningE2Server:
    """Bind and start a gRPC aio server for ``backend``; ``settings.port`` 0 picks a free port.

    ``extra_services``: (full service name, registrar) pairs for services that share the server, e.g. the
    testbed's transport controller; they get health status and reflection too, and the same authentication.

    Authentication is on as soon as ``settings.tokens`` or ``settings.tokens_file`` grants a token; without one the
    port is open to whoever reaches it and a warning says so at startup.
    """
    grants = load_grants(settings.tokens, settings.tokens_file)
    auth = Authenticator(grants)
    hub = IndicationHub(
        incarnation if incarnation is not None else time.time_ns(),
        HubLimits(
            outbox_depth=settings.outbox_depth,
            replay_depth=settings.replay_depth,
            detach_ttl_s=settings.detach_ttl_s,
            max_subscriptions=settings.max_subscriptions,
            max_subscriptions_per_client=settings.max_subscriptions_per_client,
            max_subscriptions_per_node=settings.max_subscriptions_per_node,
            max_subscriptions_per_client_node=settings.max_subscriptions_per_client_node,
            slow_consumer_timeout_s=settings.slow_consumer_timeout_s
            if settings.slow_consumer_policy == "cancel" else None,
        ),
    )
    metrics = E2ServerMetrics.create(registry) if registry is not None else None
    service = E2NodeService(backend, hub, settings, metrics, auth if grants else None)
    interceptors = []
    if grants:
        refused = metrics.auth_refused if metrics is not None else None
        interceptors.append(TokenAuthInterceptor(
            auth, (lambda method, why: refused.labels(method, why).inc()) if refused is not None else None))
    else:
        log.warning("E2 gRPC server WITHOUT authentication: no tokens configured (tokens / tokens_file); anyone who "
                    "reaches %s:%s can subscribe, send RIC controls, set transport shares and run twin rollouts",
                    settings.host, settings.port)
    server = grpc.aio.server(
        options=grpc_server_options(settings.max_receive_message_bytes, settings.max_send_message_bytes),
        interceptors=interceptors or None,
    )
    server.add_generic_rpc_handlers((service.handler(),))
    names = [SERVICE_NAME]
    for name, register in extra_services:
        register_strict(server, register)  # undecodable requests: INVALID_ARGUMENT, not UNKNOWN
        names.append(name)
    health = health_aio.HealthServicer()
    register_strict(server, lambda s: health_pb2_grpc.add_HealthServicer_to_server(health, s))
    if settings.reflection:
        reflection.enable_server_reflection(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
        )
    address = f"{settings.host}:{settings.port}"
    try:
        if settings.tls_cert_file is not None and settings.tls_key_file is not None:
            creds = server_credentials(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
            port = server.add_secure_port(address, creds)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc raises when the address cannot be bound
        raise NextricError(f"could not bind E2 server to {address}: {exc}") from exc
    if port == 0:
        raise NextricError(f"could not bind E2 server to {address}")
    await server.start()
    for name in ("", *names):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    sweeper = asyncio.ensure_future(_sweep(service, settings.sweep_interval_s))
    return RunningE2Server(server=server, port=port, service=service, health=health, sweeper=sweeper,
                           authenticated=bool(grants), tls=settings.tls_cert_file is not None)


async def _sweep(service: E2NodeService, interval_s: float) -> None:
    """Forget stale (detached past their TTL) subscriptions on a timer, not only when someone next subscribes."""
    while True:
        await asyncio.sleep(interval_s)
        if service.hub.sweep():
            service.refresh_gauge()

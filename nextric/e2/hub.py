"""Subscriptions of one E2 server: periodic triggers on simulated time, sequence numbers, fan-out and replay.

A node backend calls :meth:`IndicationHub.publish` every time it has fresh measurements (e.g. every
simulated step). The hub decides which subscriptions are due on simulated time (``report_period_ms``),
builds the service-model message once per period length, stamps the E2 header with a per-subscription
sequence number and queues it on the subscriber's outbox.

Delivery rules (what the client relies on):
- sequence numbers run 1, 2, 3, ... per subscription and server incarnation; a slow consumer loses the
  oldest queued indications (its outbox is bounded) and sees the gap in the numbers;
- when a stream breaks, the subscription stays for ``detach_ttl_s`` and keeps its last ``replay_depth``
  indications; a resubscribe with ``resume_incarnation``/``resume_after_sequence`` gets the missed ones
  first and never one it already had; :meth:`IndicationHub.sweep` (the server runs it on a timer) forgets
  subscriptions detached for longer;
- a consumer that stalls (its outbox found full by every push for ``slow_consumer_timeout_s``) is cut off under the
  ``cancel`` policy: the subscription is removed and the outbox's ``on_overflow`` tells the server to end the stream
  with RESOURCE_EXHAUSTED; a consumer that is only slow keeps losing its oldest indications;
- a client (its token's name or its address) holds at most ``max_subscriptions_per_client`` subscriptions, at most
  ``max_subscriptions_per_client_node`` of them on one node (so that one client cannot take a node's share from
  the others), and a node serves at most ``max_subscriptions_per_node``, besides the server-wide
  ``max_subscriptions``.

Single-threaded by design: every method runs on the server's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from google.protobuf.message import Message

from nextric.e2 import ids
from nextric.e2.errors import exhausted
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.beam.v1 import beam_pb2
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.e2sm.pilot.v1 import pilot_pb2

ReportMessage = kpm_pb2.KpmIndicationMessage | beam_pb2.BeamIndicationMessage | pilot_pb2.PilotIndicationMessage
# build(period_ms) -> the report covering the last period_ms of simulated time.
ReportBuilder = Callable[[int], ReportMessage]

_PAYLOAD_FIELD: dict[int, str] = {
    e2ap_pb2.REPORT_STYLE_KPM: "kpm",
    e2ap_pb2.REPORT_STYLE_BEAM: "beam",
    e2ap_pb2.REPORT_STYLE_PILOT: "pilot",
}


@dataclass(frozen=True)
class SubscriptionKey:
    node_id: str
    ric_requestor_id: int
    ric_instance_id: int
    ran_function_id: int

    @classmethod
    def of(
        cls,
        request: e2ap_pb2.RicSubscriptionRequest | e2ap_pb2.RicSubscriptionDeleteRequest,
    ) -> SubscriptionKey:
        rid = request.ric_request_id
        return cls(request.node_id, rid.ric_requestor_id, rid.ric_instance_id, request.ran_function_id)

    def __str__(self) -> str:
        return f"{self.node_id}/{self.ric_requestor_id}.{self.ric_instance_id}/fn{self.ran_function_id}"


class Outbox:
    """Bounded single-consumer queue: pushing onto a full outbox drops the oldest item.

    Closing ends the iteration at once; what was still queued stays in the subscription's replay buffer.
    """

    def __init__(self, depth: int) -> None:
        self._items: deque[e2ap_pb2.RicIndication] = deque()
        self._depth = depth
        self._event = asyncio.Event()
        self.closed = False
        self.dropped = 0
        self.full_since: float | None = None  #: clock time since which every push found the outbox full
        self.overflowed = False  #: cut off as a stalled consumer
        self.on_overflow: Callable[[], None] | None = None  #: set by the server: end the stream (RESOURCE_EXHAUSTED)

    def push(self, item: e2ap_pb2.RicIndication, now: float | None = None) -> None:
        if self.closed:
            return  # the subscription's replay buffer still has it for a resume
        if len(self._items) >= self._depth:
            self._items.popleft()
            self.dropped += 1
            if self.full_since is None:
                self.full_since = now
        else:
            self.full_since = None
        self._items.append(item)
        self._event.set()

    def overflow(self) -> None:
        """Cut the stalled consumer off: close and ask the server to end the stream."""
        self.overflowed = True
        self.close()
        if self.on_overflow is not None:
            self.on_overflow()

    def close(self) -> None:
        self.closed = True
        self._event.set()

    def __aiter__(self) -> AsyncIterator[e2ap_pb2.RicIndication]:
        return self

    async def __anext__(self) -> e2ap_pb2.RicIndication:
        while not self._items or self.closed:
            if self.closed:
                raise StopAsyncIteration
            self._event.clear()
            await self._event.wait()
        return self._items.popleft()


@dataclass
class Subscription:
    key: SubscriptionKey
    style: int
    period_ms: int
    cells: frozenset[str] | None
    client: str = ""
    next_due_ms: int | None = None
    sequence: int = 0
    replay: deque[e2ap_pb2.RicIndication] = field(default_factory=deque)
    outbox: Outbox | None = None
    detached_since: float | None = None


@dataclass(frozen=True)
class HubLimits:
    outbox_depth: int = 1024
    replay_depth: int = 256
    detach_ttl_s: float = 30.0
    max_subscriptions: int = 10_000
    max_subscriptions_per_client: int = 10_000
    max_subscriptions_per_node: int = 10_000
    max_subscriptions_per_client_node: int = 10_000
    slow_consumer_timeout_s: float | None = None  #: None: never cut a stalled consumer off (drop oldest only)


@dataclass
class HubCounters:
    """Plain counters; the server mirrors them into Prometheus."""

    published: int = 0
    dropped: int = 0
    replayed: int = 0
    slow_consumers: int = 0
    swept: int = 0


def _filter_cells(message: ReportMessage, cells: frozenset[str]) -> ReportMessage:
    if isinstance(message, kpm_pb2.KpmIndicationMessage):
        return kpm_pb2.KpmIndicationMessage(
            granularity_period_ms=message.granularity_period_ms,
            measurement_names=message.measurement_names,
            sets=[s for s in message.sets if ids.cell_key(s.cgi) in cells],
        )
    if isinstance(message, beam_pb2.BeamIndicationMessage):
        return beam_pb2.BeamIndicationMessage(
            set_a_size=message.set_a_size, reports=[r for r in message.reports if ids.cell_key(r.cgi) in cells]
        )
    return pilot_pb2.PilotIndicationMessage(reports=[r for r in message.reports if ids.cell_key(r.cgi) in cells])


class IndicationHub:
    def __init__(
        self,
        incarnation: int,
        limits: HubLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.incarnation = incarnation
        self.limits = limits or HubLimits()
        self.counters = HubCounters()
        self._clock = clock
        self._subs: dict[SubscriptionKey, Subscription] = {}
        self._by_node_style: dict[tuple[str, int], dict[SubscriptionKey, Subscription]] = {}
        self._per_client: dict[str, int] = {}
        self._per_node: dict[str, int] = {}
        self._per_client_node: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ subscriber side

    def __len__(self) -> int:
        return len(self._subs)

    def attach(self, request: e2ap_pb2.RicSubscriptionRequest, client: str = "") -> tuple[Subscription, Outbox]:
        """Create or take over the subscription named by the request; returns its fresh outbox.

        The request must already be validated against the node. Taking over closes the previous
        stream of the same subscription (a client that reconnects before the server saw the break).
        ``client`` names who asks (token name or address), for the per-client limit.
        """
        self.sweep()
        key = SubscriptionKey.of(request)
        cells = frozenset(ids.cell_key(c) for c in request.cells) or None
        sub = self._subs.get(key)
        if sub is None or sub.style != request.report_style:
            if sub is None:
                self._check_limits(key, client)
            else:
                self._remove(key)
            sub = Subscription(key, request.report_style, request.report_period_ms, cells, client)
            self._subs[key] = sub
            self._by_node_style.setdefault((key.node_id, sub.style), {})[key] = sub
            self._per_client[client] = self._per_client.get(client, 0) + 1
            self._per_node[key.node_id] = self._per_node.get(key.node_id, 0) + 1
            pair = (client, key.node_id)
            self._per_client_node[pair] = self._per_client_node.get(pair, 0) + 1
        else:
            sub.period_ms = request.report_period_ms
            sub.cells = cells
        if sub.outbox is not None:
            sub.outbox.close()
        outbox = Outbox(self.limits.outbox_depth)
        sub.outbox = outbox
        sub.detached_since = None
        if request.resume_incarnation == self.incarnation and request.resume_after_sequence > 0:
            for ind in sub.replay:
                if ind.header.sequence_number > request.resume_after_sequence:
                    outbox.push(ind)
                    self.counters.replayed += 1
        return sub, outbox

    def _check_limits(self, key: SubscriptionKey, client: str) -> None:
        lim = self.limits
        if len(self._subs) >= lim.max_subscriptions:
            raise exhausted("function-resource-limit", f"{lim.max_subscriptions} subscriptions active")
        if self._per_client.get(client, 0) >= lim.max_subscriptions_per_client:
            raise exhausted("function-resource-limit", f"client {client or '?'} holds "
                            f"{lim.max_subscriptions_per_client} subscriptions (max_subscriptions_per_client)")
        if self._per_client_node.get((client, key.node_id), 0) >= lim.max_subscriptions_per_client_node:
            raise exhausted("function-resource-limit", f"client {client or '?'} holds "
                            f"{lim.max_subscriptions_per_client_node} subscriptions on node {key.node_id} "
                            "(max_subscriptions_per_client_node)")
        if self._per_node.get(key.node_id, 0) >= lim.max_subscriptions_per_node:
            raise exhausted("function-resource-limit", f"node {key.node_id} serves "
                            f"{lim.max_subscriptions_per_node} subscriptions (max_subscriptions_per_node)")

    def client_subscriptions(self, client: str) -> int:
        return self._per_client.get(client, 0)

    def detach(self, sub: Subscription, outbox: Outbox) -> None:
        """The stream that owned ``outbox`` ended; keep the subscription for a resume."""
        self.counters.dropped += outbox.dropped
        if sub.outbox is outbox:
            sub.outbox = None
            if self._subs.get(sub.key) is sub:
                sub.detached_since = self._clock()

    def delete(self, key: SubscriptionKey) -> bool:
        """RIC Subscription Delete: ends the stream; False when no such subscription exists."""
        return self._remove(key)

    def _remove(self, key: SubscriptionKey) -> bool:
        sub = self._subs.pop(key, None)
        if sub is None:
            return False
        for counts, name in ((self._per_client, sub.client), (self._per_node, key.node_id)):
            left = counts.get(name, 0) - 1
            if left > 0:
                counts[name] = left
            else:
                counts.pop(name, None)
        pair = (sub.client, key.node_id)
        if self._per_client_node.get(pair, 0) > 1:
            self._per_client_node[pair] -= 1
        else:
            self._per_client_node.pop(pair, None)
        group = self._by_node_style.get((key.node_id, sub.style))
        if group is not None:
            group.pop(key, None)
            if not group:
                del self._by_node_style[(key.node_id, sub.style)]
        if sub.outbox is not None:
            sub.outbox.close()
        return True

    def close_all(self) -> None:
        """End every stream (server shutdown); subscriptions are forgotten."""
        for key in list(self._subs):
            self._remove(key)

    def disconnect_all(self) -> None:
        """End every stream but keep the subscriptions for resume (used to test client resume)."""
        for sub in self._subs.values():
            if sub.outbox is not None:
                sub.outbox.close()

    def sweep(self) -> int:
        """Forget subscriptions detached for longer than ``detach_ttl_s``; returns how many."""
        now = self._clock()
        stale = [
            key
            for key, sub in self._subs.items()
            if sub.detached_since is not None and now - sub.detached_since > self.limits.detach_ttl_s
        ]
        for key in stale:
            self._remove(key)
        self.counters.swept += len(stale)
        return len(stale)

    # ------------------------------------------------------------------ node side

    def wants(self, node_id: str, style: int) -> bool:
        """True when some subscription asks ``node_id`` for ``style`` reports (skip the work otherwise)."""
        return (node_id, style) in self._by_node_style

    def due(self, node_id: str, style: int, sim_time_ms: int) -> bool:
        group = self._by_node_style.get((node_id, style))
        if not group:
            return False
        return any(sub.next_due_ms is None or sim_time_ms >= sub.next_due_ms for sub in group.values())

    def publish(self, node_id: str, style: int, sim_time_ms: int, build: ReportBuilder) -> int:
        """Emit ``style`` reports of ``node_id`` to every subscription due at ``sim_time_ms``.

        ``build(period_ms)`` is called at most once per distinct period length. Returns the number of
        indications queued.
        """
        group = self._by_node_style.get((node_id, style))
        if not group:
            return 0
        built: dict[int, ReportMessage] = {}
        emitted = 0
        now = self._clock()
        stall_s = self.limits.slow_consumer_timeout_s
        emit_ns = time.time_ns()
        payload_field = _PAYLOAD_FIELD[style]
        for sub in list(group.values()):
            if sub.next_due_ms is not None and sim_time_ms < sub.next_due_ms:
                continue
            sub.next_due_ms = (sim_time_ms // sub.period_ms + 1) * sub.period_ms
            message = built.get(sub.period_ms)
            if message is None:
                message = build(sub.period_ms)
                built[sub.period_ms] = message
            if sub.cells is not None:
                message = _filter_cells(message, sub.cells)
            sub.sequence += 1
            key = sub.key
            header = e2ap_pb2.RicIndicationHeader(
                node_id=node_id,
                ric_request_id=e2ap_pb2.RicRequestId(
                    ric_requestor_id=key.ric_requestor_id, ric_instance_id=key.ric_instance_id
                ),
                ran_function_id=key.ran_function_id,
                report_style=style,  # type: ignore[arg-type]
                incarnation=self.incarnation,
                sequence_number=sub.sequence,
                sim_time_ms=sim_time_ms,
                emit_unix_ns=emit_ns,
            )
            payload = cast(dict[str, Any], {payload_field: message})
            indication = e2ap_pb2.RicIndication(header=header, **payload)
            if self.limits.replay_depth:
                sub.replay.append(indication)
                if len(sub.replay) > self.limits.replay_depth:
                    sub.replay.popleft()
            outbox = sub.outbox
            if outbox is not None:
                outbox.push(indication, now)
                if stall_s is not None and outbox.full_since is not None and now - outbox.full_since >= stall_s:
                    self.counters.slow_consumers += 1
                    outbox.overflow()
                    self._remove(key)
            emitted += 1
        self.counters.published += emitted
        return emitted


def payload_of(indication: e2ap_pb2.RicIndication) -> Message | None:
    """The service-model message inside an indication (None when empty)."""
    which = indication.WhichOneof("message")
    return getattr(indication, which) if which else None

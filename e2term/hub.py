"""The bridge's indication hub: the runtime's :class:`IndicationHub` (streams, sequence numbers, replay, resume)
with two differences. Subscriptions are mirrored to the gNB (a RIC Subscription per internal subscription, set up
when one is created, deleted when one goes), and reports are not built on a simulated-time schedule but delivered
as the gNB sends them, each to the one subscription its RIC request id names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from nextric.e2.hub import IndicationHub, Outbox, Subscription, SubscriptionKey
from nextric.e2.v1 import e2ap_pb2

OnSubscribe = Callable[[Subscription, e2ap_pb2.RicSubscriptionRequest], None]
OnRemove = Callable[[SubscriptionKey], None]


class BridgeHub(IndicationHub):
    def __init__(self, base: IndicationHub, on_subscribe: OnSubscribe, on_remove: OnRemove) -> None:
        super().__init__(base.incarnation, base.limits)
        self._on_subscribe = on_subscribe
        self._on_remove = on_remove

    def attach(self, request: e2ap_pb2.RicSubscriptionRequest, client: str = "") -> tuple[Subscription, Outbox]:
        before = self._subs.get(SubscriptionKey.of(request))
        shape = None if before is None else (before.style, before.period_ms, before.cells)
        sub, outbox = super().attach(request, client)
        if shape != (sub.style, sub.period_ms, sub.cells):  # new, or its trigger changed: (re)subscribe at the gNB
            self._on_subscribe(sub, request)
        return sub, outbox

    def _remove(self, key: SubscriptionKey) -> bool:
        removed = super()._remove(key)
        if removed:
            self._on_remove(key)
        return removed

    def subscription(self, key: SubscriptionKey) -> Subscription | None:
        return self._subs.get(key)

    def deliver(self, key: SubscriptionKey, sim_time_ms: int, emit_unix_ns: int, payload: dict[str, Any]) -> bool:
        """Queue one report for the subscription ``key`` (False when it is gone): next sequence number, replay
        buffer, outbox. ``payload``: the indication's message field, e.g. ``{"kpm": message}``."""
        sub = self._subs.get(key)
        if sub is None:
            return False
        sub.sequence += 1
        header = e2ap_pb2.RicIndicationHeader(
            node_id=key.node_id,
            ric_request_id=e2ap_pb2.RicRequestId(ric_requestor_id=key.ric_requestor_id,
                                                 ric_instance_id=key.ric_instance_id),
            ran_function_id=key.ran_function_id, report_style=cast(Any, sub.style), incarnation=self.incarnation,
            sequence_number=sub.sequence, sim_time_ms=sim_time_ms, emit_unix_ns=emit_unix_ns)
        indication = e2ap_pb2.RicIndication(header=header, **payload)
        if self.limits.replay_depth:
            sub.replay.append(indication)
            if len(sub.replay) > self.limits.replay_depth:
                sub.replay.popleft()
        if sub.outbox is not None:
            sub.outbox.push(indication)
        self.counters.published += 1
        return True

    def keys_of(self, node_id: str) -> list[SubscriptionKey]:
        return [k for k in self._subs if k.node_id == node_id]

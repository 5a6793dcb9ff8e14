"""The planners' access to the digital twin: the twin service's ``Rollout`` of fixed shares per slow step (open
loop, the TWM paper's action), through :class:`TwinPort`.

The port is whatever answers ``rollout(RolloutRequest) -> RolloutResponse``: the rApp's blocking adapter over the
gRPC stub (:class:`BlockingTwin`), or the twin service object itself where a benchmark or the training command
holds it in process. The SLA Compliance Margin is computed here from the twin's loss and p99 with the request's
ceilings (an intent may tighten the scenario's SLAs), so the service's own SCM is not used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import numpy as np

from nextric.arrays import BoolArray, FloatArray
from nextric.errors import ValidationError
from nextric.kpi import scm as scm_of
from nextric.topology import Topology
from nextric.twin.codec import from_tensor, to_tensor
from nextric.twin.v1 import twin_pb2


class TwinPort(Protocol):
    def rollout(self, request: twin_pb2.RolloutRequest) -> twin_pb2.RolloutResponse: ...


@dataclass(frozen=True, eq=False)
class StepDetail:
    """Per slow step of a rollout (the twin service's ``StepDetail``): slice KPIs (N, M, K, S) of each step alone
    (``cum_loss`` over steps 0..k), volumes (N, M, K, C, S) Mbit and PRB x sub-steps."""

    loss: FloatArray
    p99_ms: FloatArray
    throughput_mbps: FloatArray
    prb_util: FloatArray
    cum_loss: FloatArray
    offered: FloatArray
    delivered: FloatArray
    drop_ran: FloatArray
    drop_tn: FloatArray
    alloc_prb: FloatArray


@dataclass(frozen=True, eq=False)
class SharesOutcome:
    """N candidates x M twin seeds: scm (N, M) under the request's ceilings, loss and p99_ms (N, M, S), cost (N,)
    (the twin's control cost), steps when asked for."""

    scm: FloatArray
    loss: FloatArray
    p99_ms: FloatArray
    cost: FloatArray
    steps: StepDetail | None = None


def rollout_shares(twin: TwinPort, topo: Topology, kpm: Sequence[Any], regime: str, link_up: BoolArray | None,
                   prb: FloatArray, tn: FloatArray, n_seeds: int, seed: int, per_step: bool = False) -> SharesOutcome:
    """Roll candidates prb (N, K, C, S) and tn (N, K, L, S) out in the twin from the KPM messages ``kpm`` (as
    received over E2) and the link alarms, ``n_seeds`` exogenous seeds each (common random numbers)."""
    req = twin_pb2.RolloutRequest(kpm_history=list(kpm), shocks=regime, n_seeds=n_seeds, seed=seed,
                                  prb_shares=to_tensor(np.clip(prb, 0.0, 1.0)),
                                  transport_shares=to_tensor(np.clip(tn, 0.0, 1.0)), per_step=per_step)
    if link_up is not None:
        req.link_up.extend(bool(x) for x in np.asarray(link_up, dtype=bool))
    r = twin.rollout(req)
    loss, p99 = from_tensor(r.loss, "loss", 3), from_tensor(r.p99_ms, "p99_ms", 3)
    steps = None
    if per_step:
        st = r.steps
        steps = StepDetail(*(from_tensor(getattr(st, f), f, 4) for f in
                             ("loss", "p99_ms", "throughput_mbps", "prb_util", "cum_loss")),
                           *(from_tensor(getattr(st, f), f, 5) for f in
                             ("offered_mbit", "delivered_mbit", "drop_ran_mbit", "drop_tn_mbit", "alloc_prb")))
    return SharesOutcome(np.asarray(scm_of(loss, p99, topo.slices)), loss, p99, from_tensor(r.cost, "cost", 1), steps)


class BlockingTwin:
    """The twin service's async gRPC stub as a :class:`TwinPort` for planners running in a worker thread: each call
    is scheduled on the event loop that owns the channel and waited for. INVALID_ARGUMENT becomes
    :class:`ValidationError`."""

    def __init__(self, stub: Any, loop: asyncio.AbstractEventLoop, timeout_s: float = 120.0) -> None:
        self.stub, self.loop, self.timeout_s = stub, loop, timeout_s

    def rollout(self, request: twin_pb2.RolloutRequest) -> twin_pb2.RolloutResponse:
        fut = asyncio.run_coroutine_threadsafe(self.stub.Rollout(request, timeout=self.timeout_s), self.loop)
        try:
            out: twin_pb2.RolloutResponse = fut.result()
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise ValidationError(f"twin: {exc.details()}") from exc
            raise
        return out

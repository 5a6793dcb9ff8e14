"""Wiring of the transport steering xApp: link telemetry stream in -> :func:`core.decide` (the shared law) ->
SetShares out; the rApp's plan from SDL (reloaded on its notification), the law's parameters and the links'
state published in SDL for the rApp, metrics. No decision logic here.

Simulated time only: one decision per telemetry report (``WatchLinks`` every ``period_ms`` of simulated time),
never a wall-clock timer. One replica steers (transport shares are network-wide, not per cell).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import asdict
from typing import Any

import grpc

from nextric.control.policy import EMPTY_PLAN, PLAN_CHANNEL, ControlPlan, decode_plan
from nextric.control.transport import TransportParams, sla_params
from nextric.e2 import ids
from nextric.errors import ValidationError
from nextric.obs.health import Health
from nextric.sdl.api import SdlBackend
from nextric.sdl.follow import follow
from nextric.transport.v1 import transport_pb2, transport_pb2_grpc
from xapps.transport_steering.core import LinkTelemetry, decide
from xapps.transport_steering.metrics import SteeringMetrics
from xapps.transport_steering.settings import TransportSteeringSettings

log = logging.getLogger("xapp.transport_steering")


def telemetry(report: transport_pb2.LinkReport, keys: list[str]) -> list[LinkTelemetry]:
    """The report's links with per-slice values in ``keys`` order (a slice the link does not list counts 0)."""
    out = []
    for link in report.links:
        by = {ids.snssai_key(x.snssai): x for x in link.loads}
        out.append(LinkTelemetry(link.link_id, link.capacity_mbps, link.up,
                                 tuple(by[k].offered_mbps if k in by else 0.0 for k in keys),
                                 tuple(by[k].share if k in by else 0.0 for k in keys)))
    return out


class TransportSteeringApp:
    def __init__(self, settings: TransportSteeringSettings, sdl: SdlBackend, health: Health,
                 metrics: SteeringMetrics, channel: grpc.aio.Channel) -> None:
        self.s = settings
        self.sdl = sdl
        self.health = health
        self.m = metrics
        self.stub = transport_pb2_grpc.TransportControllerStub(channel)
        self.keys = [d.key for d in settings.slices]
        law = settings.law
        base = sla_params([(d.key, d.loss_ceiling, d.p99_ceiling_ms) for d in settings.slices], law.latency_margin,
                          law.loss_margin)
        self.params = TransportParams(base.margin, base.priority, default_margin=law.loss_margin, floor=law.floor,
                                      max_step=law.max_step, plan_weight=law.plan_weight)
        self.plan: ControlPlan = EMPTY_PLAN
        self.decisions = 0  #: the lock-step driver and tests wait on it
        self.last_report_ms: int | None = None
        health.register("controller")

    def law(self) -> dict[str, Any]:
        return {"transport": {**asdict(self.params), "margin": dict(self.params.margin),
                              "priority": list(self.params.priority)},
                "periodMs": self.s.period_ms, "keys": self.keys}

    async def refresh_plan(self, _: str | None = None) -> None:
        raw = (await self.sdl.get(self.s.plan_namespace, [self.s.plan_key])).get(self.s.plan_key)
        try:
            self.plan = decode_plan(raw)
        except ValidationError as exc:
            log.warning("rApp plan refused; keeping the one in force", extra={"error": str(exc)})

    async def handle(self, report: transport_pb2.LinkReport) -> None:
        links = telemetry(report, self.keys)
        t0 = time.perf_counter()
        shares = decide(links, self.keys, self.params, self.plan, int(report.sim_time_ms))
        self.m.decision_latency.observe(time.perf_counter() - t0)
        for ln in links:
            self.m.link_up.labels(ln.link_id).set(1.0 if ln.up else 0.0)
            self.m.utilisation.labels(ln.link_id).set(sum(ln.offered_mbps) / max(ln.capacity_mbps, 1e-9))
        if shares:
            req = transport_pb2.SetSharesRequest(links=[
                transport_pb2.LinkShares(link_id=lid, shares=[
                    transport_pb2.SliceShare(snssai=_snssai(k), share=v) for k, v in per.items()])
                for lid, per in shares.items()])
            try:
                await self.stub.SetShares(req, timeout=self.s.controller.rpc_timeout_s)
            except grpc.aio.AioRpcError as exc:
                self.m.set_failed.labels(exc.code().name).inc()
                log.warning("SetShares failed", extra={"error": exc.details(), "code": exc.code().name})
            else:
                for lid, per in shares.items():
                    for k, v in per.items():
                        self.m.share.labels(lid, k).set(v)
        self.decisions += 1
        self.m.decisions.inc()
        self.last_report_ms = int(report.sim_time_ms)
        await self.publish_links(links, shares, int(report.sim_time_ms))

    async def publish_links(self, links: list[LinkTelemetry], shares: dict[str, dict[str, float]],
                            now_ms: int) -> None:
        """Link states and shares in force in SDL (``links``): the rApp's view of transport alarms."""
        state = {"simTimeMs": now_ms, "keys": self.keys, "links": {
            ln.link_id: {"up": ln.up, "capacityMbps": ln.capacity_mbps, "offeredMbps": list(ln.offered_mbps),
                         "share": [shares.get(ln.link_id, {}).get(k, ln.share[j]) for j, k in enumerate(self.keys)]}
            for ln in links}}
        with contextlib.suppress(Exception):  # SDL down: the next report writes it again
            await self.sdl.set(self.s.sdl_namespace, {"links": json.dumps(state).encode()})

    async def watch(self, stop: asyncio.Event) -> None:
        """Follow the telemetry stream; re-open it after a loss with exponential wall-clock back-off."""
        delay = self.s.controller.backoff_initial_s
        while not stop.is_set():
            call = self.stub.WatchLinks(transport_pb2.WatchLinksRequest(period_ms=self.s.period_ms))
            try:
                async for report in call:
                    self.health.set("controller", True, f"report at {report.sim_time_ms} ms")
                    delay = self.s.controller.backoff_initial_s
                    await self.handle(report)
            except grpc.aio.AioRpcError as exc:
                self.health.set("controller", False, f"{exc.code().name}: {exc.details()}")
                if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
                    log.error("the controller refused the telemetry period", extra={"error": exc.details()})
            finally:
                call.cancel()
            self.m.stream_restarts.inc()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2.0, self.s.controller.backoff_max_s)

    async def run(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(Exception):
            await self.sdl.set(self.s.sdl_namespace, {"law": json.dumps(self.law(), sort_keys=True).encode()})
        tasks = [asyncio.create_task(follow(self.sdl, self.s.plan_namespace, [PLAN_CHANNEL], self.refresh_plan,
                                            stop)),
                 asyncio.create_task(self.watch(stop))]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _snssai(key: str) -> Any:
    sst, _, sd = key.partition("-")
    return ids.make_snssai(int(sst), sd)

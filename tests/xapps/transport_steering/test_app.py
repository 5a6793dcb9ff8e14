"""The transport steering xApp against the testbed's real transport controller over gRPC: one decision per
telemetry report (simulated time), the shared law's shares set, the rApp's plan followed on its SDL notification,
the law and the link state published for the rApp, a refused telemetry period reported."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from nextric.control.policy import PLAN_CHANNEL, ControlPlan
from nextric.control.transport import ShareBounds
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ServerSettings
from nextric.obs.health import Health
from nextric.sdl.embedded import EmbeddedSdl
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2node import EmulatedGnbs
from testbed.transport_service import TransportController, registrar
from xapps.transport_steering.app import TransportSteeringApp
from xapps.transport_steering.core import LinkTelemetry, decide
from xapps.transport_steering.metrics import SteeringMetrics
from xapps.transport_steering.settings import ControllerSettings, TransportSteeringSettings

from ...e2.conftest import until

EMBB = "1-000001"


@pytest.fixture
async def rig() -> AsyncIterator[tuple[EmulatedGnbs, TransportController, RunningE2Server, EmbeddedSdl]]:
    emu = Emulator(load_scenario("twm_poc"), ShockRegime.parse("hotspot-ID"), seed=5)
    node = EmulatedGnbs(emu)
    transport = TransportController(emu)
    node.step_hooks.append(transport.publish)
    server = await start_e2_server(node, E2ServerSettings(), extra_services=[registrar(transport)])
    sdl = EmbeddedSdl()
    try:
        yield node, transport, server, sdl
    finally:
        await server.stop(None)
        await sdl.close()


def app_for(server: RunningE2Server, sdl: EmbeddedSdl, period_ms: int = 5000) -> tuple[TransportSteeringApp, Health]:
    import grpc

    settings = TransportSteeringSettings(controller=ControllerSettings(target=server.target, backoff_max_s=0.2),
                                         period_ms=period_ms)
    health = Health()
    channel = grpc.aio.insecure_channel(server.target)
    return TransportSteeringApp(settings, sdl, health, SteeringMetrics.create(CollectorRegistry()), channel), health


async def test_one_decision_per_report_with_the_shared_law(
        rig: tuple[EmulatedGnbs, TransportController, RunningE2Server, EmbeddedSdl]) -> None:
    node, transport, server, sdl = rig
    app, _ = app_for(server, sdl)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop))
    try:
        await until(lambda: transport.watchers == 1, 20.0)
        for _ in range(4):
            node.step(server.hub)
        assert app.decisions == 0  # no report before the first period ends: no decision, no timer
        node.step(server.hub)  # t = 5 s: the first report
        await until(lambda: app.decisions == 1, 20.0)
        # what the law decided on the report's telemetry is what the network runs from the next sub-step
        emu = node.emu
        offered, _ = emu.link_loads(5)
        keys = app.keys
        before = emu.tn_share.copy()
        links = [LinkTelemetry(ln.name, ln.capacity_mbps, bool(emu.link_up[i]), tuple(map(float, offered[i])),
                               tuple(before[i])) for i, ln in enumerate(emu.sc.transport.links)]
        expected = decide(links, keys, app.params, ControlPlan(), 5000)  # the law on the report's telemetry
        node.step(server.hub)
        for i, ln in enumerate(emu.sc.transport.links):
            if ln.name in expected:
                assert emu.tn_share[i].tolist() == pytest.approx([expected[ln.name][k] for k in keys])
        law = json.loads((await sdl.get("xapp.transport_steering", ["law"]))["law"])
        assert law["periodMs"] == 5000
        assert law["keys"] == keys
        state = json.loads((await sdl.get("xapp.transport_steering", ["links"]))["links"])
        assert state["simTimeMs"] == 5000
        assert set(state["links"]) == {ln.name for ln in emu.sc.transport.links}
        assert not np.allclose(emu.tn_share, 1 / 3)  # the shares moved off the uniform split
        # the rApp's plan arrives by notification and bounds the next decision
        plan = ControlPlan(links={"H-HUB": {EMBB: ShareBounds(lower=0.55)}}, plan_id="p1", version=1)
        await sdl.set_and_publish("rapp.intent_agent", {"slice_plan": plan.encode()}, PLAN_CHANNEL, b"1")
        await until(lambda: app.plan.version == 1, 20.0)
        for _ in range(4):
            node.step(server.hub)
        await until(lambda: app.decisions == 2, 20.0)
        node.step(server.hub)
        li = [ln.name for ln in emu.sc.transport.links].index("H-HUB")
        assert emu.tn_share[li, keys.index(EMBB)] >= 0.55 - 1e-6
        expect = decide([LinkTelemetry("H-HUB", 220.0, True, (10.0, 10.0, 10.0), (1 / 3, 1 / 3, 1 / 3))], keys,
                        app.params, plan, 10_000)
        assert expect["H-HUB"][EMBB] >= 0.55 - 1e-6  # the core honours the bound for any telemetry
    finally:
        stop.set()
        await task


async def test_a_refused_period_is_reported_not_hidden(
        rig: tuple[EmulatedGnbs, TransportController, RunningE2Server, EmbeddedSdl]) -> None:
    _, transport, server, sdl = rig
    app, health = app_for(server, sdl, period_ms=1500)  # not a multiple of the 1 s sub-step
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop))
    try:
        def refused() -> bool:
            c = health.report()["components"].get("controller")  # type: ignore[attr-defined]
            return bool(c and "INVALID_ARGUMENT" in c["detail"])

        await until(refused, 20.0)
        detail = health.report()["components"]["controller"]["detail"]  # type: ignore[index]
        assert "INVALID_ARGUMENT" in detail
        assert "multiple" in detail
        assert transport.watchers == 0
    finally:
        stop.set()
        await task

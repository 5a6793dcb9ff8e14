"""Integration: testbed (E2AP agents) -> e2term bridge (TCP framing, 127.0.0.1, port 0) -> internal hub -> the real
slice scheduler xApp, against the same xApp over the testbed's gRPC E2 directly, same seed, lock-step: the KPIs of
every sub-step are identical, and so are the PRB ratios the loop left in force."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import numpy as np
from prometheus_client import CollectorRegistry

from e2term.server import RunningBridge, start_bridge
from e2term.settings import CellConfig, E2apListenSettings, E2TermSettings
from nextric.e2.client import E2Client
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.obs.health import Health
from nextric.sdl.embedded import EmbeddedSdl
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2ap_agent import AgentSettings, E2apAgents, inventory
from testbed.e2node import EmulatedGnbs, StepDriver
from xapps.slice_scheduler.app import SliceSchedulerApp
from xapps.slice_scheduler.metrics import SliceMetrics
from xapps.slice_scheduler.settings import ShardSettings, SliceSchedulerSettings

from ..e2.conftest import until

SEED, STEPS = 6, 24
SCENARIO = "ran_limited"
KPM = e2ap_pb2.REPORT_STYLE_KPM


@contextlib.asynccontextmanager
async def emulated_testbed() -> AsyncIterator[tuple[EmulatedGnbs, RunningE2Server]]:
    emu = Emulator(load_scenario(SCENARIO), ShockRegime.parse("hotspot-ID"), seed=SEED)
    gnbs = EmulatedGnbs(emu)
    server = await start_e2_server(gnbs, E2ServerSettings())
    try:
        yield gnbs, server
    finally:
        await server.stop(None)


@contextlib.asynccontextmanager
async def bridged(gnbs: EmulatedGnbs, server: RunningE2Server) -> AsyncIterator[RunningBridge]:
    cells = [CellConfig.model_validate(c) for c in inventory(gnbs.node_infos())]
    bridge = await start_bridge(E2TermSettings(e2ap=E2apListenSettings(port=0, transport="tcp"), cells=cells))
    agents = E2apAgents(gnbs, server.service, AgentSettings("127.0.0.1", bridge.e2ap_port, "tcp"))
    stop = asyncio.Event()
    task = asyncio.create_task(agents.run(stop))
    try:
        await agents.wait_set_up(20.0)
        await until(lambda: len(bridge.bridge.links) == len(gnbs.bindings), 10.0)
        yield bridge
    finally:
        stop.set()
        await task
        await bridge.stop()


async def closed_loop(gnbs: EmulatedGnbs, server: RunningE2Server, target: str) -> tuple[np.ndarray, int]:
    """Run the xApp against ``target`` for STEPS lock-step sub-steps; per-step slice KPIs and controls sent."""
    settings = SliceSchedulerSettings(e2=E2ClientSettings(target=target), node_refresh_s=0.05,
                                      shard=ShardSettings(instance_id="loop", heartbeat_s=0.05))
    client = E2Client(settings.e2)
    app = SliceSchedulerApp(settings, EmbeddedSdl(), Health(), SliceMetrics.create(CollectorRegistry()), client)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop))
    n = len(gnbs.bindings)
    kpis: list[list[float]] = []
    try:
        await until(lambda: all(server.hub.wants(b.node_id, KPM) for b in gnbs.bindings), 20.0)

        async def settled(done: int) -> None:
            await until(lambda: app.handled >= done * n, 20.0)
            report = gnbs.last_kpm
            assert report is not None
            kpis.append([v for c in report.cells for s in c.slices
                         for v in (s.thp_dl_mbps, s.packet_loss, s.p99_delay_ms, s.prb_used_dl)])

        await StepDriver(gnbs, server.hub, speedup=None).run(STEPS, after_step=settled)
    finally:
        stop.set()
        await task
        await client.close()
    return np.asarray(kpis), app.sent


async def test_slice_scheduler_through_the_e2ap_bridge_matches_grpc() -> None:
    async with emulated_testbed() as (gnbs, server):
        direct, direct_sent = await closed_loop(gnbs, server, server.target)
        direct_ratios = gnbs.emu.ratio_pct.copy()
    async with emulated_testbed() as (gnbs, server), bridged(gnbs, server) as bridge:
        via, via_sent = await closed_loop(gnbs, server, bridge.e2.target)
        via_ratios = gnbs.emu.ratio_pct.copy()
        assert bridge.bridge.errors_sent == 0
    assert direct_sent > 0, "the loop must act for the comparison to mean anything"
    assert via_sent == direct_sent
    print(f"controls sent: {direct_sent}, KPI values compared: {direct.size}")
    assert direct.shape == via.shape == (STEPS, direct.shape[1])
    np.testing.assert_array_equal(via, direct)
    np.testing.assert_array_equal(via_ratios, direct_ratios)

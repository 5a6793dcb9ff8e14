"""A network for the rApp's tests: the emulator (warmed up on the static split, so its shocks are in steady state)
behind a real gRPC server with the twin service, described to the agent as in deployment (twin ``Describe``), and
its KPM handed to the agent period by period as the E2 feed would (per-cell messages merged)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from nextric.e2.client import E2Client
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.kpm import merge_messages
from nextric.sdl.api import SdlBackend
from nextric.topology import Topology
from rapps.intent_agent.app import build_agent, describe_network
from rapps.intent_agent.observe import to_report
from rapps.intent_agent.service import IntentAgent
from rapps.intent_agent.settings import IntentAgentSettings
from suite.stack import warmed_emulator
from testbed.core.scenario import load_scenario
from testbed.e2node import EmulatedGnbs
from testbed.twin_service import TwinService
from testbed.twin_service import registrar as twin_registrar


@dataclass
class Network:
    gnbs: EmulatedGnbs
    server: RunningE2Server
    client: E2Client
    topology: Topology
    twin: Any

    def agent(self, settings: IntentAgentSettings, sdl: SdlBackend) -> IntentAgent:
        return build_agent(settings, sdl, self.topology, self.twin)

    async def feed(self, agent: IntentAgent, periods: int) -> None:
        """``periods`` KPM periods of the rApp (15 s each) into ``agent``."""
        sc = self.gnbs.emu.sc
        steps = sc.timing.fast_per_slow
        for _ in range(periods):
            for _ in range(steps):
                self.gnbs.advance()
            msgs = self.gnbs.kpm_messages(steps * self.gnbs.fast_step_ms)
            await agent.on_kpm(to_report(msgs, self.topology, self.gnbs.emu.t_s), merge_messages(msgs))


@asynccontextmanager
async def network(seed: int = 7, warmup_steps: int = 300) -> AsyncIterator[Network]:
    sc = load_scenario("twm_poc")
    gnbs = EmulatedGnbs(warmed_emulator(sc, "hotspot-ID", seed, warmup_steps))
    twin = TwinService(sc, "twm_poc", [b.cell_key for b in gnbs.bindings])
    server = await start_e2_server(gnbs, E2ServerSettings(), extra_services=[twin_registrar(twin)])
    client = E2Client(E2ClientSettings(target=server.target, ric_requestor_id=2001))
    await client.__aenter__()
    try:
        topo, stub = await describe_network(client.channel)
        assert topo.cell_keys == [b.cell_key for b in gnbs.bindings]
        yield Network(gnbs, server, client, topo, stub)
    finally:
        await client.__aexit__(None, None, None)
        await server.stop(None)

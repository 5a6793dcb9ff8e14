"""The stack's E2 through the E2AP bridge, as it runs in front of real gNBs: every emulated cell's gNB connects to an
E2 termination (``e2term``) over E2AP (SCTP, or TCP framing) as an srsRAN gNB's E2 agent does, and the xApps and the
rApp use the bridge's gRPC E2 hub instead of the testbed's. The transport controller and the twin are not E2: they
stay on the testbed's gRPC server.

testbed (EmulatedGnbs) -> E2AP agents -> e2term bridge -> internal hub -> xApps / rApp
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from e2term.server import RunningBridge, start_bridge
from e2term.settings import CellConfig, E2apListenSettings, E2TermSettings
from nextric.e2.server import E2NodeService
from nextric.e2ap.transport import Transport
from testbed.e2ap_agent import RunningAgents, inventory, start_agents
from testbed.e2node import EmulatedGnbs


@dataclass
class BridgedE2:
    bridge: RunningBridge
    agents: RunningAgents

    @property
    def target(self) -> str:
        """The bridge's gRPC E2 (what the xApps' ``E2__TARGET`` names)."""
        return self.bridge.e2.target

    def stats(self) -> dict[str, int]:
        """What crossed the bridge: RIC Indications delivered to the xApps and the rApp, Error Indications sent."""
        hub = self.bridge.bridge.hub
        return {"indications": 0 if hub is None else hub.counters.published,
                "error_indications": self.bridge.bridge.errors_sent}

    async def stop(self) -> None:
        await self.agents.stop()
        await self.bridge.stop()


async def start_bridged_e2(gnbs: EmulatedGnbs, service: E2NodeService, transport: Transport,
                           timeout_s: float = 30.0) -> BridgedE2:
    """Start a bridge on free loopback ports (its cell inventory: the emulated cells), connect every emulated gNB to
    it, and return once the bridge serves every node (E2 Setup done, the node in its gRPC ``ListNodes``)."""
    cells = [CellConfig.model_validate(c) for c in inventory(gnbs.node_infos())]
    bridge = await start_bridge(E2TermSettings(e2ap=E2apListenSettings(port=0, transport=transport), cells=cells))
    all_set_up = asyncio.Event()
    want = {b.node_id for b in gnbs.bindings}

    def topology_changed() -> None:
        if want <= set(bridge.bridge.links):
            all_set_up.set()

    bridge.bridge.on_topology.append(topology_changed)  # after the service's own refresh: ListNodes has them
    agents = start_agents(gnbs, service, f"127.0.0.1:{bridge.e2ap_port}", transport)
    try:
        await asyncio.wait_for(all_set_up.wait(), timeout_s)
    except BaseException:
        await BridgedE2(bridge, agents).stop()
        raise
    return BridgedE2(bridge, agents)

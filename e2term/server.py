"""Wiring of the E2 termination: the internal gRPC E2 service over the bridge, and the E2AP listener."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from e2term.bridge import Bridge
from e2term.hub import BridgeHub
from e2term.settings import E2TermSettings
from nextric.e2 import ids
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2ap import transport
from nextric.e2ap.mapping import plmn_to_bytes
from nextric.e2ap.schema import schema


@dataclass
class RunningBridge:
    bridge: Bridge
    e2: RunningE2Server
    listener: transport.Listener

    @property
    def e2ap_port(self) -> int:
        return self.listener.port

    async def stop(self) -> None:
        await self.listener.close()
        for link in list(self.bridge.links.values()):
            await link.assoc.close()
        await self.e2.stop(0.5)


async def start_bridge(settings: E2TermSettings, registry: CollectorRegistry | None = None) -> RunningBridge:
    """Start the gRPC E2 service (``settings.e2``) and the E2AP listener (``settings.e2ap``); port 0: a free one."""
    schema()  # compile the E2SM modules before the first association
    plmn = ids.make_plmn(settings.ric_plmn[:3], settings.ric_plmn[3:])
    bridge = Bridge(settings.e2ap, settings.all_cells(), plmn_to_bytes(plmn), settings.ric_id,
                    settings.ric_requestor_id, settings.time_origin_unix_ms)
    e2 = await start_e2_server(bridge, settings.e2, registry)
    # the service's hub becomes the bridge's (same incarnation and limits): subscriptions are mirrored to the gNBs
    hub = BridgeHub(e2.service.hub, bridge.on_subscribe, bridge.on_remove)
    e2.service.hub = hub
    bridge.hub = hub
    bridge.on_topology.append(e2.service.refresh_nodes)
    listener = await transport.listen(settings.e2ap.host, settings.e2ap.port, settings.e2ap.transport,  # type: ignore[arg-type]
                                      settings.e2ap.max_pdu_bytes, bridge.serve)
    return RunningBridge(bridge, e2, listener)

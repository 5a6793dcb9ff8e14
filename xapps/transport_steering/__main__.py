"""``python -m xapps.transport_steering``: the transport steering process (settings from
``NEXTRIC_XAPP_TRANSPORT_*``). Prints one JSON line with the bound HTTP port (health probes + /metrics), then runs
until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from nextric.e2.auth import open_channel
from nextric.obs.health import Health
from nextric.obs.http import observability_app
from nextric.obs.logging import configure_logging
from nextric.obs.serve import run_process
from nextric.sdl.factory import open_sdl
from xapps.transport_steering.app import TransportSteeringApp
from xapps.transport_steering.metrics import SteeringMetrics
from xapps.transport_steering.settings import TransportSteeringSettings


async def serve(settings: TransportSteeringSettings, stop: asyncio.Event | None = None) -> None:
    registry = CollectorRegistry()
    health = Health()
    sdl = open_sdl(settings.sdl)
    try:
        ctl = settings.controller
        reconnect = [("grpc.initial_reconnect_backoff_ms", int(ctl.backoff_initial_s * 1000)),  # gRPC's own default
                     ("grpc.max_reconnect_backoff_ms", int(ctl.backoff_max_s * 1000))]  # grows to 120 s
        async with open_channel(ctl.target, reconnect, token=ctl.token, tls_ca_file=ctl.tls_ca_file,
                                tls_server_name=ctl.tls_server_name) as channel:
            app = TransportSteeringApp(settings, sdl, health, SteeringMetrics.create(registry), channel)
            await run_process(app.run, observability_app(health, registry, "nextric-transport-steering"),
                              settings.http.host, settings.http.port, {}, stop,
                              head_timeout_s=settings.http.head_timeout_s)
    finally:
        await sdl.close()


def main() -> None:
    settings = TransportSteeringSettings()  # controller.target comes from the environment
    configure_logging("transport_steering", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

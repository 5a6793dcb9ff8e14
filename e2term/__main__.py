"""``python -m e2term``: the E2 termination bridge process (settings from ``NEXTRIC_E2TERM_*``).

gNBs connect to the E2AP port (SCTP, or TCP framing); xApps use the gRPC E2 port as they would the testbed's.
Prints one JSON line ``{"http_port", "e2_port", "e2ap_port", "e2ap_transport"}``, then runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from e2term.server import start_bridge
from e2term.settings import E2TermSettings
from nextric.obs.health import Health
from nextric.obs.http import observability_app
from nextric.obs.logging import configure_logging
from nextric.obs.serve import run_process


async def serve(settings: E2TermSettings, stop: asyncio.Event | None = None) -> None:
    registry = CollectorRegistry()
    health = Health()
    health.register("e2ap")
    running = await start_bridge(settings, registry)
    health.set("e2ap", True, f"E2AP on port {running.e2ap_port} ({running.listener.transport})")

    async def run(done: asyncio.Event) -> None:
        try:
            await done.wait()
        finally:
            await running.stop()

    await run_process(run, observability_app(health, registry, "nextric-e2term"), settings.http.host,
                      settings.http.port, {"e2_port": running.e2.port, "e2ap_port": running.e2ap_port,
                                           "e2ap_transport": running.listener.transport}, stop,
                      head_timeout_s=settings.http.head_timeout_s)


def main() -> None:
    settings = E2TermSettings()
    configure_logging("e2term", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

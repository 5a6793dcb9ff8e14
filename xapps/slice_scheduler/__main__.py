"""``python -m xapps.slice_scheduler``: the slice scheduler process (settings from ``NEXTRIC_XAPP_SLICE_*``).

Prints one JSON line with the bound HTTP port (health probes + /metrics) so supervisors and tests need no fixed
port, then runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from nextric.e2.client import E2Client
from nextric.e2.metrics import E2ClientMetrics
from nextric.obs.health import Health
from nextric.obs.http import observability_app
from nextric.obs.logging import configure_logging
from nextric.obs.serve import run_process
from nextric.sdl.factory import open_sdl
from xapps.slice_scheduler.app import SliceSchedulerApp
from xapps.slice_scheduler.metrics import SliceMetrics
from xapps.slice_scheduler.settings import SliceSchedulerSettings


async def serve(settings: SliceSchedulerSettings, stop: asyncio.Event | None = None) -> None:
    registry = CollectorRegistry()
    health = Health()
    sdl = open_sdl(settings.sdl)
    try:
        async with E2Client(settings.e2, E2ClientMetrics.create(registry)) as client:
            app = SliceSchedulerApp(settings, sdl, health, SliceMetrics.create(registry), client)
            await run_process(app.run, observability_app(health, registry, "nextric-slice-scheduler"),
                              settings.http.host, settings.http.port, {"instance": app.instance}, stop,
                              head_timeout_s=settings.http.head_timeout_s)
    finally:
        await sdl.close()


def main() -> None:
    settings = SliceSchedulerSettings()  # e2.target comes from the environment
    configure_logging("slice_scheduler", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

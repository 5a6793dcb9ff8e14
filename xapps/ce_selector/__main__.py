"""``python -m xapps.ce_selector``: the channel-estimator selector process (settings from ``NEXTRIC_XAPP_CE_*``).

Prints one JSON line with the bound HTTP port (health probes, /metrics, GET /ce/v1/groups) and the neural model
serving, so supervisors and tests need no fixed port, then runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry

from nextric.e2.client import E2Client
from nextric.e2.metrics import E2ClientMetrics
from nextric.errors import ValidationError
from nextric.obs.health import Health
from nextric.obs.http import observability_app
from nextric.obs.logging import configure_logging
from nextric.obs.serve import run_process
from nextric.phy.neural import OnnxCeEstimator, load_ce_model
from nextric.sdl.factory import open_sdl
from xapps.ce_selector.api import mount
from xapps.ce_selector.app import CeSelectorApp
from xapps.ce_selector.metrics import CeMetrics
from xapps.ce_selector.settings import CeSelectorSettings

log = logging.getLogger("xapp.ce_selector")


def load_neural(settings: CeSelectorSettings) -> OnnxCeEstimator | None:
    try:
        return load_ce_model(settings.model_dir, settings.inference_threads)
    except ValidationError as exc:
        log.error("no usable neural estimator: classical candidates only", extra={"error": str(exc)})
        return None


async def serve(settings: CeSelectorSettings, stop: asyncio.Event | None = None) -> None:
    registry = CollectorRegistry()
    health = Health()
    sdl = open_sdl(settings.sdl)
    neural = load_neural(settings)
    try:
        async with E2Client(settings.e2, E2ClientMetrics.create(registry)) as client:
            app = CeSelectorApp(settings, sdl, health, CeMetrics.create(registry), client, neural)
            web = mount(observability_app(health, registry, "nextric-ce-selector"), app.groups_view, neural)
            await run_process(app.run, web, settings.http.host, settings.http.port,
                              {"model": neural.version if neural else None}, stop,
                              head_timeout_s=settings.http.head_timeout_s)
    finally:
        await sdl.close()


def main() -> None:
    settings = CeSelectorSettings()  # e2.target comes from the environment
    configure_logging("ce_selector", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

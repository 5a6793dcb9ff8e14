"""``python -m xapps.beam_predictor``: the beam predictor process (settings from ``NEXTRIC_XAPP_BEAM_*``).

Prints one JSON line with the bound HTTP port (health probes + /metrics) and the model serving, so supervisors
and tests need no fixed port, then runs until SIGINT/SIGTERM.
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
from xapps.beam_predictor.app import BeamPredictorApp
from xapps.beam_predictor.metrics import BeamMetrics
from xapps.beam_predictor.model import ModelStore, ahead_store
from xapps.beam_predictor.settings import BeamPredictorSettings


async def serve(settings: BeamPredictorSettings, stop: asyncio.Event | None = None) -> None:
    registry = CollectorRegistry()
    health = Health()
    store = ModelStore(settings.model_dir, settings.inference_threads)
    store.load_now()
    ahead = None
    if settings.predict_ahead:
        ahead = ahead_store(settings.ahead_model_dir, settings.inference_threads)
        ahead.load_now()
    async with E2Client(settings.e2, E2ClientMetrics.create(registry)) as client:
        app = BeamPredictorApp(settings, health, BeamMetrics.create(registry), client, store, ahead)
        await run_process(app.run, observability_app(health, registry, "nextric-beam-predictor"),
                          settings.http.host, settings.http.port,
                          {"model": store.current.version if store.current else None,
                           "ahead_model": ahead.current.version if ahead and ahead.current else None}, stop,
                          head_timeout_s=settings.http.head_timeout_s)


def main() -> None:
    settings = BeamPredictorSettings()  # e2.target comes from the environment
    configure_logging("beam_predictor", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

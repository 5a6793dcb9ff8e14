"""The testbed process: emulator + E2 node server (every cell) + transport controller + digital twin + evaluation
channel (ground truth for benchmarks and tests, never for xApps) + health/metrics.

Started by ``nextric testbed`` (or ``python -m testbed.serve``). Prints one JSON line with the bound ports
(``{"e2_port": ..., "http_port": ...}``) so a supervisor or a test can connect without fixed ports.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

from nextric.e2.server import start_e2_server
from nextric.errors import ValidationError
from nextric.obs.health import Health
from nextric.obs.http import observability_app
from nextric.obs.logging import configure_logging
from nextric.obs.serve import start_http
from nextric.phy.neural import OnnxCeEstimator, load_ce_model
from testbed.core.engine import Emulator
from testbed.core.estimators import EstimatorBank
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2ap_agent import start_agents
from testbed.e2node import EmulatedGnbs, StepDriver
from testbed.evaluation_service import EvaluationService
from testbed.evaluation_service import registrar as evaluation_registrar
from testbed.metrics import SliceKpiMetrics
from testbed.settings import TestbedSettings
from testbed.transport_service import TransportController
from testbed.transport_service import registrar as transport_registrar
from testbed.twin_service import TwinService
from testbed.twin_service import registrar as twin_registrar

log = logging.getLogger("testbed")


def load_neural_estimator(folder: Path | None) -> OnnxCeEstimator | None:
    """The PHY's NEURAL estimator (onnxruntime); None (NEURAL then runs LMMSE) when absent or unloadable."""
    if folder is None:
        return None
    try:
        return load_ce_model(folder)
    except ValidationError as exc:
        log.warning("no neural channel estimator: the NEURAL mode runs LMMSE", extra={"error": str(exc)})
        return None


async def serve(settings: TestbedSettings, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set, a signal arrives, or ``settings.steps`` sub-steps are done."""
    stop = stop or asyncio.Event()
    scenario = load_scenario(settings.scenario)
    emu = Emulator(scenario, ShockRegime.parse(settings.shocks), seed=settings.seed,
                   estimators=EstimatorBank.default(load_neural_estimator(settings.ce_model_dir)),
                   estimator_mode=settings.estimator_mode)
    node = EmulatedGnbs(emu)
    transport = TransportController(emu)
    node.step_hooks.append(transport.publish)
    twin = TwinService(scenario, settings.scenario, [b.cell_key for b in node.bindings], settings.twin)
    registry = CollectorRegistry()
    health = Health()
    health.register("e2")
    e2 = await start_e2_server(
        node,
        settings.e2,
        registry,
        extra_services=[transport_registrar(transport), twin_registrar(twin),
                        evaluation_registrar(EvaluationService(emu, {b.cell_id: b.cgi for b in node.bindings}))],
    )
    http = await start_http(
        observability_app(health, registry, "nextric-testbed"), settings.http.host, settings.http.port,
        head_timeout_s=settings.http.head_timeout_s,
    )
    health.set("e2", True, f"{len(node.bindings)} nodes on port {e2.port}")
    print(json.dumps({"e2_port": e2.port, "http_port": http.port, "nodes": len(node.bindings)}), flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    agents = start_agents(node, e2.service, settings.e2ap, settings.e2ap_transport) if settings.e2ap else None
    runner = StepDriver(node, e2.hub, settings.speedup or None)
    kpis = SliceKpiMetrics.create(registry)

    async def observe(_: int) -> None:
        if (report := node.last_kpm) is not None:
            kpis.observe(report)
    log.info("testbed running", extra={"scenario": settings.scenario, "shocks": settings.shocks, "seed": settings.seed})
    try:
        await runner.run(settings.steps, stop, observe)
    finally:
        if agents is not None:
            await agents.stop()
        await e2.stop(0.5)
        await http.stop()
    return runner.steps


def main() -> None:
    settings = TestbedSettings()
    configure_logging("testbed", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))
    sys.exit(0)


if __name__ == "__main__":
    main()

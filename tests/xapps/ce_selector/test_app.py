"""The app over real gRPC in-process: the emulated testbed's E2 server (+ evaluation channel), the selector xApp
with the embedded SDL and its HTTP view on a real port.

Covers: decisions and guardrailed estimator-mode controls confirmed in later PILOT reports and visible in the
testbed's evaluation truth; the read-only ``/ce/v1/groups`` view; SDL records; a testbed outside the neural
card (15 kHz SCS) served without the neural estimator, with data requests in metrics, SDL and the view.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import yaml
from prometheus_client import CollectorRegistry

from nextric.e2.client import E2Client
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from nextric.obs.health import Health
from nextric.obs.http import observability_app
from nextric.obs.serve import serving
from nextric.phy.neural import load_ce_model
from nextric.sdl.embedded import EmbeddedSdl
from testbed.core.engine import Emulator
from testbed.core.estimators import EstimatorBank
from testbed.core.scenario import load_scenario
from testbed.e2node import EmulatedGnbs, StepDriver
from testbed.evaluation_service import EvaluationService
from testbed.evaluation_service import registrar as eval_registrar
from xapps.ce_selector.api import mount
from xapps.ce_selector.app import CeSelectorApp
from xapps.ce_selector.metrics import CeMetrics
from xapps.ce_selector.settings import MODEL_DIR, CeSelectorSettings, GuardSettings, SelectorSettings

from ...e2.conftest import until

SCENARIOS = Path(__file__).resolve().parents[3] / "testbed" / "scenarios"


@dataclass
class Rig:
    server: RunningE2Server
    node: EmulatedGnbs
    app: CeSelectorApp
    registry: CollectorRegistry
    sdl: EmbeddedSdl
    http: str

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels or None) or 0.0


@contextlib.asynccontextmanager
async def rig(scenario: str | Path, scope: str = "cell", seed: int = 5) -> AsyncIterator[Rig]:
    neural = load_ce_model(MODEL_DIR)
    emu = Emulator(load_scenario(str(scenario)), seed=seed, nmse_obs=2, estimators=EstimatorBank.default(neural),
                   estimator_mode="LS")
    node = EmulatedGnbs(emu)
    service = EvaluationService(emu, {b.cell_id: b.cgi for b in node.bindings})
    server = await start_e2_server(node, E2ServerSettings(), extra_services=[eval_registrar(service)])
    settings = CeSelectorSettings(e2=E2ClientSettings(target=server.target), report_period_ms=node.fast_step_ms,
                                  scope=scope, selector=SelectorSettings(min_reports=8),
                                  guard=GuardSettings(min_interval_ms=3000))
    registry = CollectorRegistry()
    sdl = EmbeddedSdl()
    client = E2Client(settings.e2)
    health = Health()
    app = CeSelectorApp(settings, sdl, health, CeMetrics.create(registry), client, neural)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop))
    try:
        async with serving(mount(observability_app(health, registry), app.groups_view, neural)) as web:
            await until(lambda: len(app.node_tasks) == len(node.bindings), 10.0)
            await until(lambda: len(server.hub) >= len(node.bindings), 10.0)
            yield Rig(server, node, app, registry, sdl, web.base_url)
    finally:
        stop.set()
        await task
        await client.close()
        await server.stop(None)


async def drive(r: Rig, steps: int) -> None:
    """Step the testbed; after each sub-step wait until the xApp has handled that period's PILOT reports."""
    n = len(r.node.bindings)
    start = r.app.indications

    async def settled(done: int) -> None:
        await until(lambda: r.app.indications >= start + done * n, 30.0)

    await StepDriver(r.node, r.server.hub, speedup=None).run(steps, after_step=settled)


async def test_decisions_are_controlled_confirmed_and_visible() -> None:
    async with rig("twm_poc") as r:
        await drive(r, 8)
        assert r.metric("nextric_ce_selector_ue_reports_total") >= 8 * 10 * 3
        assert r.app.sent > 0
        assert r.metric("nextric_ce_selector_controls_sent_total") == r.app.sent
        assert r.metric("nextric_ce_selector_effect_total", result="confirmed") > 0
        assert r.metric("nextric_ce_selector_effect_total", result="not_applied") == 0
        # the testbed runs what was chosen: its evaluation channel shows modes other than LS and a lower NMSE
        async with grpc.aio.insecure_channel(r.server.target) as ch:
            truth = await evaluation_pb2_grpc.EvaluationStub(ch).GetEstimationTruth(
                evaluation_pb2.EstimationTruthRequest())
        assert len(truth.cells) == 10
        assert all(c.neural_loaded for c in truth.cells)
        switched = [c for c in truth.cells if set(c.mode_ues) - {"LS"}]
        assert switched
        for c in switched:
            ls = next(m.nmse_db for m in c.per_mode if m.mode == "LS")
            assert c.nmse_db < ls
        async with httpx.AsyncClient(base_url=r.http) as http:
            body = (await http.get("/ce/v1/groups")).json()
            one = (await http.get("/ce/v1/groups", params={"cell": body["groups"][0]["cell"]})).json()
            model = (await http.get("/ce/v1/model")).json()
        assert body["candidates"] == ["LS", "LMMSE", "NEURAL"]
        decided = [g for g in body["groups"] if g["candidates"]]
        assert decided
        g = decided[0]
        assert g["scope"] == "cell"
        assert {c["estimator"] for c in g["candidates"]} == {"LS", "LMMSE", "NEURAL"}
        assert all(c["proxy_nmse_db"] is not None for c in g["candidates"] if c["eligible"])
        assert set(g["observed_config"]) >= {"snr_db", "doppler_hz", "delay_spread_ns", "scs_khz"}
        assert g["validity"]["neural_in_range"] in (True, False)
        assert len(one["groups"]) == 1
        assert model["loaded"] is True
        assert "doppler_hz" in model["validity_range"]
        keys = await r.sdl.find_keys("xapp.ce_selector", "group/*")
        assert len(keys) == len(decided)
        rec = json.loads((await r.sdl.get("xapp.ce_selector", [keys[0]]))[keys[0]])
        assert rec["chosen"] in ("LS", "LMMSE", "NEURAL")


async def test_guardrail_rate_limits_mode_changes_per_group() -> None:
    async with rig("twm_poc", scope="group") as r:
        await drive(r, 12)
        per_group: dict[tuple[str, int], int] = {k: g.switches for k, g in r.app.groups.items()}
        # at most one change per group per 3 s of simulated time: 12 s -> <= 4, and decisions every 8 reports
        assert max(per_group.values()) <= 4
        assert r.metric("nextric_ce_selector_decisions_total", estimator="LS") + sum(
            r.metric("nextric_ce_selector_decisions_total", estimator=m) for m in ("LMMSE", "NEURAL")) > 0


async def test_outside_the_neural_card_the_testbed_never_gets_the_neural_estimator(tmp_path: Path) -> None:
    doc = yaml.safe_load((SCENARIOS / "twm_poc.yaml").read_text())
    doc["cell_cfg"]["common_scs"] = 15  # another numerology: outside the card's scs_khz values
    doc["name"] = "twm_poc_15khz"
    path = tmp_path / "twm_poc_15khz.yaml"
    path.write_text(yaml.safe_dump(doc))
    async with rig(path) as r:
        await drive(r, 8)
        assert r.metric("nextric_ce_selector_fallbacks_total", reason="validity") > 0
        assert r.metric("nextric_ce_selector_switches_total", to="NEURAL") == 0
        assert r.metric("nextric_ce_selector_decisions_total", estimator="NEURAL") == 0
        async with grpc.aio.insecure_channel(r.server.target) as ch:
            truth = await evaluation_pb2_grpc.EvaluationStub(ch).GetEstimationTruth(
                evaluation_pb2.EstimationTruthRequest())
        assert all("NEURAL" not in c.mode_ues for c in truth.cells)
        requests = await r.sdl.find_and_get("xapp.ce_selector", "data_request/*")
        assert requests
        req = json.loads(next(iter(requests.values())))
        assert any("scs_khz" in v for v in req["violations"])
        async with httpx.AsyncClient(base_url=r.http) as http:
            body = (await http.get("/ce/v1/groups")).json()
        flagged = [g for g in body["groups"] if g["validity"]["data_requested"]]
        assert flagged
        assert all(g["chosen"] != "NEURAL" for g in body["groups"])
        labels = (flagged[0]["cell"], "-1")
        assert r.metric("nextric_ce_selector_data_requested", cell=labels[0], group=labels[1]) == 1

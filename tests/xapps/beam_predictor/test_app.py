"""The app over real gRPC in-process: the emulated testbed's E2 server (+ evaluation channel) and the beam xApp.

Covers: switches sent through the guardrail and confirmed in the next reports; top-K refinement over the E2
``beam_measure`` control (model top-K and, out of validity, the classical neighbours; bad requests refused); an
out-of-validity testbed (another codebook) served by the classical fallback only; guardrail denials counted; a hot
model reload while reports flow, with every indication processed; the evaluation channel's answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry

from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.beam.v1 import beam_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from nextric.obs.health import Health
from suite.trainers.beam import TrainConfig, train, write
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2node import EmulatedGnbs, StepDriver
from testbed.evaluation_service import EvaluationService
from testbed.evaluation_service import registrar as eval_registrar
from xapps.beam_predictor.app import BeamPredictorApp, CellGroup
from xapps.beam_predictor.core import MODEL, CellBeamConfig, UeDecision
from xapps.beam_predictor.metrics import BeamMetrics
from xapps.beam_predictor.model import AHEAD_ARTEFACT, AHEAD_CARD, ARTEFACT, CARD, BeamModel, ModelStore, ahead_store
from xapps.beam_predictor.settings import (
    AHEAD_MODEL_DIR,
    MODEL_DIR,
    SUBSET_MODEL_DIR,
    BeamPredictorSettings,
    GuardSettings,
)

from ...e2.conftest import until


@dataclass
class Rig:
    server: RunningE2Server
    node: EmulatedGnbs
    app: BeamPredictorApp
    registry: CollectorRegistry
    store: ModelStore[BeamModel]

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels or None) or 0.0


@contextlib.asynccontextmanager
async def rig(scenario: str, model_dir: Path, guard_ms: int = 1000, seed: int = 5,
              refine_k: int = 0, ahead_dir: Path | None = None, predict_ahead: int = 0) -> AsyncIterator[Rig]:
    emu = Emulator(load_scenario(scenario), ShockRegime.parse("none"), seed=seed)
    node = EmulatedGnbs(emu)
    service = EvaluationService(emu, {b.cell_id: b.cgi for b in node.bindings})
    server = await start_e2_server(node, E2ServerSettings(), extra_services=[eval_registrar(service)])
    settings = BeamPredictorSettings(e2=E2ClientSettings(target=server.target), model_dir=model_dir,
                                     report_period_ms=node.fast_step_ms,
                                     reload_check_s=0.05, guard=GuardSettings(min_interval_ms=guard_ms),
                                     refine_k=refine_k, predict_ahead=predict_ahead,
                                     ahead_model_dir=ahead_dir or AHEAD_MODEL_DIR)
    registry = CollectorRegistry()
    store = ModelStore(model_dir)
    store.load_now()
    client = E2Client(settings.e2)
    ahead = ahead_store(settings.ahead_model_dir) if predict_ahead else None
    if ahead is not None:
        ahead.load_now()
    app = BeamPredictorApp(settings, Health(), BeamMetrics.create(registry), client, store, ahead)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop))
    try:
        await until(lambda: len(app.node_tasks) == len(node.bindings), 10.0)
        await until(lambda: len(server.hub) >= len(node.bindings), 10.0)
        yield Rig(server, node, app, registry, store)
    finally:
        stop.set()
        await task
        await client.close()
        await server.stop(None)


async def drive(r: Rig, steps: int) -> None:
    """Step the testbed; after each sub-step wait until the xApp has handled that period's reports."""
    n = len(r.node.bindings)
    start = r.app.indications

    async def settled(done: int) -> None:
        await until(lambda: r.app.processed >= start + done * n, 10.0)

    await StepDriver(r.node, r.server.hub, speedup=None).run(steps, after_step=settled)


def copy_model(dst: Path, src: Path = MODEL_DIR) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in (ARTEFACT, CARD):
        shutil.copy(src / name, dst / name)
    return dst


async def test_switches_are_sent_confirmed_and_a_reload_drops_nothing(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path / "model")
    async with rig("twm_poc_wide_b", model_dir) as r:
        await drive(r, 6)
        first = r.store.current
        assert first is not None
        # the testbed serves the switched beams: the evaluation channel sees them
        async with grpc.aio.insecure_channel(r.server.target) as ch:
            truth = await evaluation_pb2_grpc.EvaluationStub(ch).GetBeamTruth(evaluation_pb2.BeamTruthRequest())
        assert len(truth.ues) == len(r.node.emu.ue_ids)
        assert truth.set_a_size == 32
        assert list(truth.set_b) == [2, 6, 10, 14, 18, 22, 26, 30]
        off_set_b = sum(1 for u in truth.ues if u.serving_beam not in truth.set_b)
        assert off_set_b > 0.3 * len(truth.ues), "switched UEs are served by beams outside Set B"
        for u in truth.ues[:20]:
            assert u.best_beam == max(range(32), key=lambda b: u.set_a_rsrp_dbm[b])
        data, card, _ = train(TrainConfig(train_seeds=(0,), val_seeds=(500,), n_steps=20, every=5, epochs=1, hidden=16))
        write(model_dir, data, card)
        await drive(r, 6)
        await until(lambda: r.metric("nextric_beam_predictor_model_reloads_total", result="loaded") >= 1, 10.0)
        await drive(r, 3)
        assert r.store.current is not None
        assert r.store.current.version != first.version
        assert r.app.processed == r.app.indications == 15 * len(r.node.bindings)
        ues = len(r.node.emu.ue_ids)
        assert r.metric("nextric_beam_predictor_ue_reports_total") == 15 * ues
        assert r.metric("nextric_beam_predictor_decisions_total", source="model") > 5 * ues
        # the tiny reloaded model's card asks for a high margin: its unsure predictions fall back, counted
        assert r.store.current.min_margin > 0
        assert r.metric("nextric_beam_predictor_fallbacks_total", reason="low_confidence") > 0
        assert r.metric("nextric_beam_predictor_switches_sent_total") > 50
        assert r.metric("nextric_beam_predictor_switch_outcome_total", result="confirmed") > 50
        assert r.metric("nextric_beam_predictor_model_loaded", version=first.version) == 0
        assert r.metric("nextric_beam_predictor_model_loaded", version=r.store.current.version) == 1


async def test_out_of_validity_testbed_runs_on_the_classical_fallback(tmp_path: Path) -> None:
    # harbour_city: Set A = 16, Set B = 4, n78 at 3.75 GHz -- outside the model card on several counts
    async with rig("harbour_city", copy_model(tmp_path / "model")) as r:
        await drive(r, 4)
        n = 4 * len(r.node.emu.ue_ids)
        assert r.metric("nextric_beam_predictor_fallbacks_total", reason="validity") == n
        assert r.metric("nextric_beam_predictor_decisions_total", source="model") == 0
        assert r.metric("nextric_beam_predictor_batches_total") == 0  # the model never ran
        assert r.metric("nextric_beam_predictor_switches_sent_total") == 0  # best Set-B is the node's own choice
        assert r.app.logged_violations
        assert all("set_a_size" in " ".join(v) for v in r.app.logged_violations.values())


@pytest.mark.parametrize(("scenario", "model_src", "kind", "elements"), [
    ("twm_poc_wide_b", SUBSET_MODEL_DIR, "wide", 6),  # wide Set B reported; the subset model must not serve it
    ("twm_poc", MODEL_DIR, "subset", 16),  # Set-B subset reported; the wide model must not serve it
])
async def test_set_b_kind_goes_over_e2_and_a_model_of_the_other_kind_falls_back(
        tmp_path: Path, scenario: str, model_src: Path, kind: str, elements: int) -> None:
    async with rig(scenario, copy_model(tmp_path / "model", model_src)) as r:
        seen: list[CellBeamConfig] = []
        groups_of = r.app.groups_of

        def spy(node: e2ap_pb2.E2NodeInfo, ind: e2ap_pb2.RicIndication) -> list[CellGroup]:
            assert ind.beam.set_b_kind == (beam_pb2.SET_B_KIND_WIDE if kind == "wide" else beam_pb2.SET_B_KIND_SUBSET)
            out = groups_of(node, ind)
            seen.extend(g.config for g in out)
            return out

        r.app.groups_of = spy  # type: ignore[method-assign]
        await drive(r, 3)
        assert seen
        assert {(c.set_b_kind, c.set_b_elements, c.set_b) for c in seen} == {
            (kind, elements, (2, 6, 10, 14, 18, 22, 26, 30))}
        n = 3 * len(r.node.emu.ue_ids)
        assert r.metric("nextric_beam_predictor_fallbacks_total", reason="validity") == n
        assert r.metric("nextric_beam_predictor_batches_total") == 0  # the model never ran
        assert r.metric("nextric_beam_predictor_switches_sent_total") == 0  # the classical choice is the node's own
        assert all(any(v.startswith("set_b_kind") for v in vs) for vs in r.app.logged_violations.values())


async def test_guardrail_rate_limit_denies_and_counts(tmp_path: Path) -> None:
    async with rig("twm_poc_wide_b", copy_model(tmp_path / "model"), guard_ms=3_600_000) as r:
        await drive(r, 25)
        assert r.metric("nextric_beam_predictor_switches_denied_total", reason="rate_limited") > 0
        assert r.metric("nextric_beam_predictor_switches_sent_total") > 0


async def test_evaluation_channel_rejects_bad_windows(tmp_path: Path) -> None:
    async with rig("twm_poc_wide_b", copy_model(tmp_path / "model")) as r:
        await drive(r, 5)
        async with grpc.aio.insecure_channel(r.server.target) as ch:
            stub = evaluation_pb2_grpc.EvaluationStub(ch)
            thp = await stub.GetCellThroughput(evaluation_pb2.CellThroughputRequest(from_sim_time_ms=1000))
            assert len(thp.cells) == len(r.node.bindings)
            assert thp.to_sim_time_ms == 5000
            assert thp.at.step_index == 5
            assert sum(c.served_mbps for c in thp.cells) > 0
            for bad in (evaluation_pb2.CellThroughputRequest(from_sim_time_ms=1500),
                        evaluation_pb2.CellThroughputRequest(from_sim_time_ms=0, to_sim_time_ms=60_000)):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.GetCellThroughput(bad)
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_top_k_refinement_measures_over_e2_and_serves_the_best_measured(tmp_path: Path) -> None:
    async with rig("twm_poc_wide_b", copy_model(tmp_path / "model"), refine_k=4) as r:
        served: list[UeDecision] = []
        control = r.app.control

        async def spy(node: e2ap_pb2.E2NodeInfo, groups: list[CellGroup]) -> None:
            served.extend(d for g in groups for d in g.decisions)
            await control(node, groups)

        r.app.control = spy  # type: ignore[method-assign]
        await drive(r, 4)
        n = 4 * len(r.node.emu.ue_ids)
        # the node is still at the report's sub-step when the control arrives: every UE is measured
        assert r.metric("nextric_beam_predictor_refinements_total", result="measured") == n
        assert r.metric("nextric_beam_predictor_refinements_total", result="missing") == 0
        assert len(served) == n
        model_made = [d for d in served if d.source == MODEL]
        assert len(model_made) > 0.9 * n
        assert all(len(d.measured) == 4 and d.measured == d.top_k[:4] and d.beam in d.measured for d in model_made)
        # measuring the top-4 changes some predictions, and the switches land
        assert r.metric("nextric_beam_predictor_refinement_changed_total", source=MODEL) > 0
        assert r.metric("nextric_beam_predictor_switch_outcome_total", result="confirmed") > 50


async def test_refinement_falls_back_to_the_classical_neighbours_out_of_validity(tmp_path: Path) -> None:
    async with rig("harbour_city", copy_model(tmp_path / "model"), refine_k=2) as r:
        await drive(r, 3)
        n = 3 * len(r.node.emu.ue_ids)
        assert r.metric("nextric_beam_predictor_fallbacks_total", reason="validity") == n
        assert r.metric("nextric_beam_predictor_batches_total") == 0  # the model never ran
        assert r.metric("nextric_beam_predictor_refinements_total", result="measured") == n
        # the neighbour of the best Set-B beam is sometimes stronger: served instead of the node's own choice
        assert r.metric("nextric_beam_predictor_refinement_changed_total", source="fallback") > 0
        assert r.metric("nextric_beam_predictor_switches_sent_total") > 0


async def test_beam_measure_control_is_checked_and_answers_with_measurements(tmp_path: Path) -> None:
    async with rig("twm_poc_wide_b", copy_model(tmp_path / "model")) as r:
        await drive(r, 1)
        b = r.node.bindings[0]
        rep = r.node.emu.beam_report()
        ue = int(rep.ue_ids[rep.cell_ids == b.cell_id][0])
        other = int(rep.ue_ids[rep.cell_ids != b.cell_id][0])

        def req(*rqs: rc_pb2.BeamMeasureRequest) -> e2ap_pb2.RicControlRequest:
            return e2ap_pb2.RicControlRequest(node_id=b.node_id,
                                              beam_measure=rc_pb2.BeamMeasureControl(requests=list(rqs)))

        ack = await r.app.client.control(req(rc_pb2.BeamMeasureRequest(cgi=b.cgi, ue_id=ue, beam_ids=[3, 4, 5]),
                                             rc_pb2.BeamMeasureRequest(cgi=b.cgi, ue_id=other, beam_ids=[1])))
        assert [m.ue_id for m in ack.beam_measure.measurements] == [ue]  # the other cell's UE is left out
        m = ack.beam_measure.measurements[0]
        assert list(m.beam_ids) == [3, 4, 5]
        assert all(-140 <= v <= -44 for v in m.l1_rsrp_dbm)
        for bad in (rc_pb2.BeamMeasureRequest(cgi=b.cgi, ue_id=ue, beam_ids=[3, 3]),
                    rc_pb2.BeamMeasureRequest(cgi=b.cgi, ue_id=ue, beam_ids=[32]),
                    rc_pb2.BeamMeasureRequest(cgi=b.cgi, ue_id=ue),
                    rc_pb2.BeamMeasureRequest(cgi=b.cgi, ue_id=10**6, beam_ids=[1])):
            with pytest.raises(E2Failure) as err:
                await r.app.client.control(req(bad))
            assert err.value.value == "control-message-invalid"
        with pytest.raises(E2Failure):
            await r.app.client.control(req())


async def test_predict_ahead_serves_the_bm_case2_model_falls_back_and_reloads(tmp_path: Path) -> None:
    """PREDICT_AHEAD=1 over real gRPC: the BM-Case2 model decides from each UE's history and its switches land; a
    card whose report period no longer matches is hot-reloaded and every UE gets the BM-Case1 decision (validity
    fallback, counted); a broken artefact is rejected and the running model stays; no indication is dropped."""
    ahead_dir = tmp_path / "ahead"
    ahead_dir.mkdir()
    for name in (AHEAD_ARTEFACT, AHEAD_CARD):
        shutil.copy(AHEAD_MODEL_DIR / name, ahead_dir / name)
    async with rig("twm_poc_wide_b", MODEL_DIR, ahead_dir=ahead_dir, predict_ahead=1) as r:
        await drive(r, 5)
        n_ues = len(r.node.emu.ue_ids)
        assert r.metric("nextric_beam_predictor_decisions_total", source="model_ahead") >= 5 * n_ues * 0.9
        assert r.metric("nextric_beam_predictor_ahead_fallbacks_total", reason="validity") == 0
        assert r.metric("nextric_beam_predictor_switches_sent_total") > 0
        assert r.metric("nextric_beam_predictor_switch_outcome_total", result="confirmed") > 0
        assert len(r.app.history) >= 0.9 * n_ues
        # hot reload: the same artefact with a card for a 500 ms report period -> outside validity
        card = json.loads((ahead_dir / AHEAD_CARD).read_text())
        card["validity_range"]["report_period_ms"] = {"values": [500]}
        (ahead_dir / AHEAD_CARD).write_text(json.dumps(card))
        await until(lambda: r.metric("nextric_beam_predictor_model_reloads_total", result="loaded") >= 1, 10.0)
        before = r.metric("nextric_beam_predictor_decisions_total", source="model_ahead")
        await drive(r, 2)
        assert r.metric("nextric_beam_predictor_decisions_total", source="model_ahead") == before
        assert r.metric("nextric_beam_predictor_ahead_fallbacks_total", reason="validity") >= 2 * n_ues * 0.9
        assert r.metric("nextric_beam_predictor_decisions_total", source="model") > 0  # BM-Case1 serves
        # a broken artefact is rejected, the loaded model stays
        (ahead_dir / AHEAD_ARTEFACT).write_bytes(b"not onnx")
        await until(lambda: r.metric("nextric_beam_predictor_model_reloads_total", result="rejected") >= 1, 10.0)
        assert r.app.ahead_store is not None
        assert r.app.ahead_store.current is not None
        await drive(r, 1)
        assert r.app.processed == r.app.indications


def test_predict_ahead_and_refinement_are_exclusive() -> None:
    with pytest.raises(ValueError, match="exclusive"):
        BeamPredictorSettings(e2=E2ClientSettings(target="127.0.0.1:1"), predict_ahead=1, refine_k=3)

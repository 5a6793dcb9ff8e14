"""World models: features, the twin service's per-step data, ONNX-vs-PyTorch agreement of both exported graphs,
serving. The training network is the one ``nextric train`` wires (the testbed's twin service in process)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nextric.datacard import load_card
from nextric.errors import ValidationError
from nextric.kpm import report_of
from rapps.intent_agent.planner.library import library
from rapps.intent_agent.planner.twin import rollout_shares
from rapps.intent_agent.worldmodels.datagen import DataConfig, TrainingNetwork, generate, kpi_targets
from rapps.intent_agent.worldmodels.features import (
    N_CH,
    N_FIELD,
    CityRaster,
    Context,
    context_from_vector,
    context_vector,
    fwm_grid,
    fwm_targets,
)
from rapps.intent_agent.worldmodels.serving import MODEL_DIR, N_Y, WorldModels
from suite.trainers.worldmodels import training_network

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def net() -> TrainingNetwork:
    return training_network("twm_poc")


@pytest.fixture(scope="module")
def sc(net):  # type: ignore[no-untyped-def]
    return net.topology


def _observed(net: TrainingNetwork, regime: str, seed: int, steps: int) -> tuple[Any, Any, Context]:
    msgs, up = net.observe(regime, seed, steps)
    reps = [report_of([m], net.topology.cell_ids_by_key, net.topology.slice_ids) for m in msgs]
    return msgs, up, Context.observed(net.topology, reps, regime, up)


@pytest.fixture(scope="module")
def small(net):  # type: ignore[no-untyped-def]
    """Two tiny contexts of real twin data (the same generator as training)."""
    return generate(net, (91_000, 91_001), DataConfig(n_candidates=6, n_twin_seeds=2))


def test_generated_rows_have_consistent_shapes(sc, small) -> None:  # type: ignore[no-untyped-def]
    n = 12
    k = sc.slow_steps_per_horizon
    assert small["grid0"].shape == (n, N_CH, 16, 16)
    assert small["fwm_y"].shape == (n, sc.n_cells, N_FIELD)
    assert small["kpi"].shape == (n, 2, k, 15)
    assert small["prb"].shape == (n, k, sc.n_cells, 3)
    assert (small["prb"].sum(-1) <= 1 + 1e-5).all()
    assert (small["tn"].sum(-1) <= 1 + 1e-5).all()
    assert np.isfinite(small["fwm_y"]).all()
    assert np.isfinite(small["kpi"]).all()
    # the cumulative loss at the last step is the horizon loss of the same rollout
    np.testing.assert_allclose(small["kpi"][:, :, -1, 12:15], small["loss_h"], atol=1e-5)


def test_twin_per_step_leaves_horizon_results_unchanged(net, sc) -> None:  # type: ignore[no-untyped-def]
    msgs, up, ctx = _observed(net, "wave-ID", 91_002, 2)
    ras = CityRaster.build(sc)
    lib = library(ras, ctx, 4, 12, 0)
    a = rollout_shares(net.twin, sc, msgs, "wave-ID", up, lib.prb, lib.tn, 2, 5)
    b = rollout_shares(net.twin, sc, msgs, "wave-ID", up, lib.prb, lib.tn, 2, 5, per_step=True)
    assert b.steps is not None
    assert a.steps is None
    np.testing.assert_array_equal(a.scm, b.scm)
    np.testing.assert_allclose(b.steps.cum_loss[:, :, -1], a.loss, rtol=1e-6, atol=1e-7)
    assert kpi_targets(b.steps).shape == (4, 2, 12, 15)
    # volumes add up: delivered + drops <= offered + what was queued before (non-negative, finite)
    assert (b.steps.drop_ran >= -1e-9).all()
    assert (b.steps.drop_tn >= -1e-9).all()
    f = fwm_targets(b.steps, ras, ctx)
    assert f.shape == (4, sc.n_cells, N_FIELD)
    assert ((f[..., 6:10] >= 0) & (f[..., 6:10] <= 1)).all()


def test_context_vector_round_trip(sc) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    ctx = Context(rng.uniform(0, 50, (10, 3)), rng.uniform(0.5, 3, (10, 3)), rng.random(10) > 0.3, "wave")
    back = context_from_vector(context_vector(ctx), 10, 3, 10)
    np.testing.assert_allclose(back.offered_mbps, ctx.offered_mbps, rtol=1e-4)
    np.testing.assert_allclose(back.mbit_per_prb_s, ctx.mbit_per_prb_s, rtol=1e-5)
    assert (back.link_up == ctx.link_up).all()
    assert back.family == "wave"
    g = fwm_grid(CityRaster.build(sc), ctx, np.full((2, 10, 3), 0.3), np.full((2, 10, 3), 0.2))
    assert g.shape == (2, N_CH, 16, 16)
    assert g.dtype == np.float32


def _onnx_run(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    return np.asarray(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)[0])


def test_fwm_onnx_matches_pytorch(tmp_path: Path, small) -> None:  # type: ignore[no-untyped-def]
    from rapps.intent_agent.worldmodels.train_fwm import predict, train
    from rapps.intent_agent.worldmodels.training import export_onnx

    model = train(small, epochs=2, seed=0)
    x = small["grid0"][:5].astype(np.float32)
    export_onnx(model, (torch.from_numpy(x[:2]),), tmp_path / "fwm.onnx", ["grid"], ["fields"],
                {"grid": {0: "batch"}, "fields": {0: "batch"}})
    np.testing.assert_allclose(_onnx_run(tmp_path / "fwm.onnx", {"grid": x}), predict(model, x), rtol=1e-4,
                               atol=1e-4)


def test_cdwm_onnx_matches_pytorch(tmp_path: Path, small, sc) -> None:  # type: ignore[no-untyped-def]
    from rapps.intent_agent.worldmodels.train_cdwm import E, Ensemble, Z, arrays, targets
    from rapps.intent_agent.worldmodels.training import export_onnx

    a = arrays(small, np.random.default_rng(0).normal(size=(len(small["ctx"]), sc.n_cells * 12)).astype(np.float32))
    assert targets(small).shape == (24, 12, N_Y)
    y = a["y"]
    stats = {"c_mean": a["ctx"].mean(0), "c_std": a["ctx"].std(0) + 1e-3, "f_mean": a["fields"].mean(0),
             "f_std": a["fields"].std(0) + 1e-3, "a_mean": a["act"].mean((0, 1)), "a_std": a["act"].std((0, 1)) + 1e-3,
             "y_mean": y.mean((0, 1)), "y_std": y.std((0, 1)) + 1e-3}
    torch.manual_seed(0)
    model = Ensemble(a["ctx"].shape[1], a["fields"].shape[1], a["act"].shape[2], stats).eval()
    b, k = 5, a["act"].shape[1]
    rng = np.random.default_rng(1)
    feed = {"ctx": a["ctx"][:b], "fields": a["fields"][:b], "actions": a["act"][:b].astype(np.float32),
            "eps_z": rng.standard_normal((E, b, k, Z)).astype(np.float32),
            "eps_y": rng.standard_normal((E, b, k, N_Y)).astype(np.float32),
            "field_mask": np.ones((b, 1), dtype=np.float32)}
    export_onnx(model, tuple(torch.from_numpy(v[:, :2] if n.startswith("eps") else v[:2]) for n, v in feed.items()),
                tmp_path / "cdwm.onnx", list(feed), ["kpis"],
                {"ctx": {0: "b"}, "fields": {0: "b"}, "actions": {0: "b"}, "eps_z": {1: "b"}, "eps_y": {1: "b"},
                 "field_mask": {0: "b"}, "kpis": {1: "b"}})
    with torch.no_grad():
        ref = model(*(torch.from_numpy(v) for v in feed.values())).numpy()
    got = _onnx_run(tmp_path / "cdwm.onnx", feed)
    assert got.shape == (E, b, k, N_Y)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    # the ELBO is finite and differentiable
    m = model._member(0)
    yt = torch.zeros(b, k, N_Y)
    loss = m.elbo(torch.from_numpy(feed["ctx"]), torch.from_numpy(feed["fields"]), torch.ones(b, 1),
                  torch.from_numpy(feed["actions"]), yt, torch.ones(k, N_Y)).mean()
    loss.backward()  # type: ignore[no-untyped-call]
    assert torch.isfinite(loss)


def test_committed_artefacts_and_cards() -> None:
    for name in ("fwm", "cdwm"):
        card = load_card(MODEL_DIR / f"{name}.card.json")
        assert card.kind == "model"
        data = (MODEL_DIR / f"{name}.onnx").read_bytes()
        assert card.raw["model"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert len(data) < 4_000_000
        assert card.raw["policy"]["logging_policy"] == "library-perturbed"
        assert set(card.raw["provenance"]["seeds"]).isdisjoint(range(0, 32))  # never the benchmark seeds
    cd = load_card(MODEL_DIR / "cdwm.card.json").raw
    assert cd["model"]["members"] == 3
    assert cd["model"]["deter_dim"] == 96
    assert cd["model"]["stoch_dim"] == 32


def test_serving_forecast(net, sc) -> None:  # type: ignore[no-untyped-def]
    wm = WorldModels(enforce_cards=False)
    _, _, ctx = _observed(net, "hotspot-ID", 91_003, 3)
    ras = CityRaster.build(sc)
    lib = library(ras, ctx, 8, 12, 0)
    f1 = wm.forecast(ras, ctx, lib.prb, lib.tn, n_samples=4, seed=3)
    f2 = wm.forecast(ras, ctx, lib.prb, lib.tn, n_samples=4, seed=3)
    assert f1.scm.shape == (12, 8)
    assert f1.member_scm.shape == (3, 8)
    np.testing.assert_array_equal(f1.scm, f2.scm)
    assert ((f1.scm >= 0) & (f1.scm <= 1)).all()
    assert ((f1.risk() >= 0) & (f1.risk() <= 1)).all()
    f3 = wm.forecast(ras, ctx, lib.prb, lib.tn, n_samples=4, seed=3, use_fields=False)
    assert not np.array_equal(f1.step_mean, f3.step_mean)
    assert wm.check_validity({"scenario": "twm_poc", "shock_family": "hotspot", "horizon_steps": 12}) == []
    assert wm.check_validity({"scenario": "harbour_city", "shock_family": "hotspot", "horizon_steps": 12})
    with pytest.raises(ValidationError):
        wm.forecast(ras, ctx, lib.prb[:, :6], lib.tn[:, :6])


def test_a_model_that_fails_its_card_is_not_used_and_the_evidence_says_so(tmp_path: Path) -> None:
    """The committed cards' own evaluation meets their failure criteria (FWM URLLC stress R^2 0.47, CDWM per-step
    R^2 down to 0.41, horizon SCM correlation 0.42): loaded, the models say so and refuse to serve decisions; a copy
    whose evaluation passes is usable; a criterion whose metric the card does not report counts as failed."""
    from nextric.datacard import failed_criteria

    wm = WorldModels()
    assert not wm.usable
    assert any("stress_urllc" in f for f in wm.failures)
    assert any("horizon_scm_corr" in f for f in wm.failures)
    with pytest.raises(ValidationError, match="fail their cards"):
        wm.require_usable()
    assert WorldModels(enforce_cards=False).usable  # benchmarks may still measure them
    good = tmp_path / "model"
    good.mkdir()
    for f in ("fwm.onnx", "cdwm.onnx"):
        (good / f).write_bytes((MODEL_DIR / f).read_bytes())
    for name in ("fwm", "cdwm"):
        raw = json.loads((MODEL_DIR / f"{name}.card.json").read_text())
        ev = raw["evaluation"]
        if name == "fwm":
            ev["heldout_r2"] = dict.fromkeys(ev["heldout_r2"], 0.9)
        else:
            ev["heldout"]["per_step_r2"] = dict.fromkeys(ev["heldout"]["per_step_r2"], 0.9)
            ev["heldout"]["horizon_scm_corr"] = 0.8
        (good / f"{name}.card.json").write_text(json.dumps(raw))
    assert WorldModels(good).usable
    raw["evaluation"]["heldout"].pop("horizon_scm_corr")
    (good / "cdwm.card.json").write_text(json.dumps(raw))
    assert failed_criteria(load_card(good / "cdwm.card.json")) == [
        "intent-agent-cdwm: heldout.horizon_scm_corr not reported"]

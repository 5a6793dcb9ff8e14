"""The committed neural estimator: card, ONNX vs PyTorch agreement, reproducible training, serving checks, and
its use by the testbed PHY (the NEURAL mode's NMSE table row, the evaluation truth)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nextric.datacard import load_card
from nextric.errors import ValidationError
from nextric.phy.estimators import LSEstimator
from nextric.phy.neural import ARTEFACT, CARD, load_ce_model
from suite.trainers.ce import TrainConfig, as_inputs, draw, net_from_onnx, train
from testbed.core.engine import Emulator
from testbed.core.estimators import MODES, EstimatorBank
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from xapps.ce_selector.settings import MODEL_DIR


def test_committed_card_is_valid_and_pairs_with_the_artefact() -> None:
    card = load_card(MODEL_DIR / CARD)
    vr = card.validity_range
    assert set(vr) >= {"snr_db", "doppler_hz", "delay_spread_ns", "scs_khz", "n_prb", "dmrs_type", "dmrs_symbols"}
    assert vr["doppler_hz"]["max"] == 550.0
    assert vr["dmrs_symbols"]["values"] == [[2, 11]]
    val = card.raw["evaluation"]["validation"]
    assert val["nmse_db_neural"] < val["nmse_db_lmmse_est"] < val["nmse_db_ls"]
    model = load_ce_model(MODEL_DIR)
    assert model.sha256 == card.raw["model"]["sha256"]


def test_onnx_matches_pytorch() -> None:
    data = (MODEL_DIR / ARTEFACT).read_bytes()
    net = net_from_onnx(data, TrainConfig())
    obs, _, _ = draw(TrainConfig(), 64, np.random.default_rng(7))
    x, s = as_inputs(obs)
    with torch.no_grad():
        ref = net(torch.from_numpy(x), torch.from_numpy(s)).numpy()
    got = load_ce_model(MODEL_DIR).infer(x, s)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_training_is_reproducible() -> None:
    cfg = TrainConfig(train_samples=1024, val_samples=512, epochs=2)
    a, card_a, _ = train(cfg)
    b, card_b, _ = train(cfg)
    assert a == b
    assert card_a.to_json() == card_b.to_json()
    val = card_a.raw["evaluation"]["validation"]
    assert val["nmse_db_neural"] < val["nmse_db_ls"] + 0.5  # 4 steps from the LS initialisation: no worse than LS


def test_a_broken_pair_is_refused(tmp_path: Path) -> None:
    for name in (ARTEFACT, CARD):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    doc = json.loads((tmp_path / CARD).read_text())
    doc["model"]["sha256"] = "0" * 64
    (tmp_path / CARD).write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match="not a pair"):
        load_ce_model(tmp_path)
    (tmp_path / ARTEFACT).unlink()
    with pytest.raises(ValidationError, match="does not exist"):
        load_ce_model(tmp_path)


def test_the_testbed_phy_runs_the_onnx_model_in_neural_mode() -> None:
    sc = load_scenario("twm_poc")
    neural = load_ce_model(MODEL_DIR)
    emu = Emulator(sc, ShockRegime.parse("none"), seed=3, nmse_obs=2, estimators=EstimatorBank.default(neural),
                   estimator_mode="LS")
    plain = Emulator(sc, ShockRegime.parse("none"), seed=3, nmse_obs=2)
    t = emu.nmse_table.nmse_db
    i_ls, i_lm, i_nn = (MODES.index(m) for m in ("LS", "LMMSE", "NEURAL"))
    # without a model NEURAL is the LMMSE row; with it, its own (better in range: low Doppler, 0..30 dB)
    np.testing.assert_allclose(plain.nmse_table.nmse_db[i_nn], plain.nmse_table.nmse_db[i_lm])
    assert not np.allclose(t[i_nn], t[i_lm])
    in_range = t[:, :, 1:8, :3]  # SNR -5..25 dB, Doppler 0..100 Hz
    assert (in_range[i_nn] < in_range[i_ls]).mean() > 0.9  # 2 observations per table entry: a few ties
    assert float((in_range[i_ls] - in_range[i_nn]).mean()) > 3.0
    emu.step_fast()
    srv, mode, per = emu.estimation_truth()
    assert (mode == i_ls).all()  # estimator_mode="LS": every cell starts on LS
    assert per.shape == (len(srv), len(MODES))
    assert (per[:, i_ls] >= per[:, i_nn]).mean() > 0.8
    # the estimator itself on one pilot report (what the emulator's NEURAL mode runs)
    rep = emu.pilot_report(np.arange(4))
    assert neural.estimate(rep.obs).shape == LSEstimator().estimate(rep.obs).shape

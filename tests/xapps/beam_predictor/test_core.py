"""Pure parts: features, Set-B alignment, ranking, decisions and fallbacks, outcomes, validity, descriptor."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nextric.descriptor import default_schema_path, validate
from nextric.errors import ValidationError
from nextric.nr_arfcn import carrier_mhz
from xapps.beam_predictor.core import (
    DELTA_CLIP,
    FALLBACK,
    LOW_CONFIDENCE,
    MODEL,
    NO_MODEL,
    VALIDITY,
    CellBeamConfig,
    PendingSwitch,
    ReportHistory,
    ahead_features,
    best_set_b,
    decide,
    features,
    history_index,
    input_order,
    neighbour_candidates,
    outcome,
    rank,
    refine,
    refined,
    refinement_candidates,
    switches_needed,
)
from xapps.beam_predictor.descriptor import DEFAULT
from xapps.beam_predictor.model import ARTEFACT, CARD, load_model
from xapps.beam_predictor.settings import MODEL_DIR, SUBSET_MODEL_DIR

SET_B = [2, 6, 10, 14, 18, 22, 26, 30]
IN_CARD = CellBeamConfig(32, tuple(SET_B), 16, 3450.0, "wide", 6)  # the committed model: wide Set B


def test_features_are_relative_to_the_strongest_beam() -> None:
    x = features([[-80, -90, -100, -80, -85, -120, -140, -95]])
    assert x.dtype == np.float32
    assert x.max() == 0.0
    np.testing.assert_allclose(x[0, :3], [0.0, -1.0, -2.0])
    np.testing.assert_array_equal(features([[-60, -70, -80, -60, -65, -100, -120, -75]]), x)  # level-free


def test_input_order_permutes_or_refuses() -> None:
    order = input_order(list(reversed(SET_B)), SET_B)
    assert order is not None
    assert [list(reversed(SET_B))[i] for i in order] == SET_B
    assert input_order([0, 4, 8, 12, 16, 20, 24, 28], SET_B) is None
    assert input_order(SET_B[:4], SET_B) is None


def test_rank_and_margin() -> None:
    r = rank(np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]), 2)
    assert r.top.tolist() == [[1, 2], [0, 1]]
    np.testing.assert_allclose(r.margin, [0.3, 0.25], atol=1e-6)


def test_decisions_and_every_fallback_reason() -> None:
    rsrp = np.array([[-80, -90, -100, -81, -85, -120, -140, -95]] * 2, dtype=np.float32)
    probs = np.zeros((2, 32), dtype=np.float32)
    probs[0, [4, 3]] = (0.8, 0.2)  # confident: beam 4
    probs[1, [5, 7]] = (0.45, 0.4)  # low margin
    d = decide([7, 8], rsrp, SET_B, rank(probs, 3), [], min_margin=0.1)
    assert (d[0].source, d[0].beam, d[0].reason) == (MODEL, 4, None)
    assert (d[1].source, d[1].beam, d[1].reason) == (FALLBACK, 2, LOW_CONFIDENCE)  # best Set-B: index 0 -> beam 2
    assert d[1].top_k[:2] == (5, 7)
    none = decide([7], rsrp[:1], SET_B, None, [], 0.1)[0]
    assert (none.source, none.reason, none.beam) == (FALLBACK, NO_MODEL, 2)
    ood = decide([7], rsrp[:1], SET_B, None, ["set_a_size=64 not in [32]"], 0.1)[0]
    assert (ood.source, ood.reason, ood.beam) == (FALLBACK, VALIDITY, 2)
    assert [x.ue_id for x in switches_needed(d, {7: 4, 8: 9})] == [8]


def test_outcome_waits_for_a_report_after_the_switch() -> None:
    p = PendingSwitch(beam=5, effective_ms=3000)
    assert outcome(p, 3000, 2) is None
    assert outcome(p, 4000, 5) == "confirmed"
    assert outcome(p, 4000, 6) == "not_applied"


@pytest.mark.parametrize(("config", "param"), [
    (CellBeamConfig(64, tuple(range(2, 64, 8)), 16, 3450.0, "wide", 6), "set_a_size"),
    (CellBeamConfig(32, (0, 4, 8, 12, 16, 20, 24, 28), 16, 3450.0, "wide", 6), "set_b"),
    (CellBeamConfig(32, tuple(SET_B), 16, 3450.0, "subset", 6), "set_b_kind"),  # same directions, Set-A beams
    (CellBeamConfig(32, tuple(SET_B), 16, 3450.0, "wide", 4), "set_b_elements"),
    (CellBeamConfig(32, tuple(SET_B), 8, 3450.0, "wide", 6), "n_antennas"),
    (CellBeamConfig(32, tuple(SET_B), 16, 3700.0, "wide", 6), "carrier_mhz"),
])
def test_out_of_validity_configuration_falls_back(config: CellBeamConfig, param: str) -> None:
    model = load_model(MODEL_DIR)
    assert model.violations(IN_CARD) == []
    why = model.violations(config)
    assert why
    assert why[0].startswith(param)
    d = decide([1], np.array([[-80.0] * len(config.set_b)]), list(config.set_b), None, why, model.min_margin)[0]
    assert d.source == FALLBACK
    assert d.reason == VALIDITY
    assert d.beam == config.set_b[0]


def test_nr_arfcn() -> None:
    assert carrier_mhz(630000) == 3450.0
    assert carrier_mhz(650000) == 3750.0
    with pytest.raises(ValidationError):
        carrier_mhz(-1)


def test_descriptor_is_valid() -> None:
    assert validate(DEFAULT, default_schema_path()) == []


def test_subset_model_serves_subset_reports_only() -> None:
    model = load_model(SUBSET_MODEL_DIR)
    assert model.set_b_kind == "subset"
    assert model.violations(CellBeamConfig(32, tuple(SET_B), 16, 3450.0)) == []
    why = model.violations(IN_CARD)
    assert sorted(v.split("=")[0] for v in why) == ["set_b_elements", "set_b_kind"]


def test_card_from_before_set_b_kind_still_refuses_wide_reports(tmp_path: Path) -> None:
    # a subset model card written before the Set-B kind existed: no set_b_kind anywhere
    shutil.copy(SUBSET_MODEL_DIR / ARTEFACT, tmp_path / ARTEFACT)
    raw = json.loads((SUBSET_MODEL_DIR / CARD).read_text())
    for block in (raw["validity_range"], raw["configuration"]):
        block.pop("set_b_kind")
        block.pop("set_b_elements")
    (tmp_path / CARD).write_text(json.dumps(raw))
    model = load_model(tmp_path)
    assert model.set_b_kind == "subset"
    assert model.violations(CellBeamConfig(32, tuple(SET_B), 16, 3450.0)) == []
    assert model.violations(IN_CARD) == ["set_b_kind='wide' not the model's 'subset'"]


def test_neighbour_candidates_follow_the_codebook_layout() -> None:
    set_b = [2, 6, 10, 14, 18, 22, 26, 30]
    r = np.full((2, 8), -90.0)
    r[0, 1], r[0, 2] = -70.0, -75.0  # best direction 6, second 10 (larger u): that side first at equal distance
    r[1, 7], r[1, 0] = -70.0, -80.0  # best 30, second 2: across endfire (u wraps modulo 2)
    nb = neighbour_candidates(r, set_b, 32, 5)
    assert nb[0].tolist() == [6, 7, 5, 8, 4]
    assert nb[1].tolist() == [30, 31, 29, 0, 28]
    assert neighbour_candidates(r, set_b, 32, 1)[:, 0].tolist() == best_set_b(r, set_b).tolist()


def test_refine_serves_the_best_measured_or_fuses_the_prior() -> None:
    cand = np.array([[4, 5, 6], [1, 2, 3]])
    meas = np.array([[-80.0, -78.0, -79.0], [-70.0, -70.0, -75.0]])
    assert refine(cand, meas).tolist() == [5, 1]  # ties: the more likely candidate
    prob = np.array([[0.9, 0.05, 0.05], [0.5, 0.3, 0.2]])
    assert refine(cand, meas, prob, 1.0).tolist() == [4, 1]  # 2 dB measured vs ln(0.9/0.05) = 2.9 dB of prior
    assert refine(cand, meas, prob, 0.0).tolist() == [5, 1]
    with pytest.raises(ValueError, match="same"):
        refine(cand, meas[:, :2])


def test_refinement_candidates_and_refined_decisions() -> None:
    rsrp = np.array([[-70.0, -75.0, -90, -90, -90, -90, -90, -90]])
    set_b = [2, 6, 10, 14, 18, 22, 26, 30]
    ranking = rank(np.array([[0.0] * 3 + [0.6, 0.3, 0.1] + [0.0] * 26]), 4)
    model_d = decide([7], rsrp, set_b, ranking, [], 0.0)[0]
    assert refinement_candidates(model_d, rsrp[0], set_b, 32, 3) == (3, 4, 5)
    fb = decide([7], rsrp, set_b, None, ["set_a_size=16 not in [32]"], 0.0)[0]
    assert refinement_candidates(fb, rsrp[0], set_b, 32, 3) == (2, 3, 1)
    d = refined(model_d, (3, 4, 5), (-80, -79, -85), prior_weight_db=0.0)
    assert (d.beam, d.source, d.measured) == (4, MODEL, (3, 4, 5))
    assert refined(model_d, (3, 4, 5), (-80, -79, -85), prior_weight_db=2.0).beam == 3  # 2 ln(0.6/0.3) = 1.4 dB
    assert refined(fb, (2, 3, 1), (-80, -79, -85), prior_weight_db=1.0).beam == 3  # no model prior for a fallback


def test_ahead_features_layout() -> None:
    hist = np.array([[[-80, -90], [-82, -85], [-70, -75]]], dtype=np.float32)  # (1, 3, 2)
    x = ahead_features(hist)
    assert x.shape == (1, 5 * 2)
    np.testing.assert_allclose(x[0, :6], [0, -1.0, 0, -0.3, 0, -0.5], atol=1e-6)
    np.testing.assert_allclose(x[0, 6:], [-0.2, 0.5, 1.2, 1.0], atol=1e-6)
    big = ahead_features(np.array([[[-140, -140], [-44, -44]]]))
    assert big[0, -1] == DELTA_CLIP


def test_report_history_matches_the_offline_windows() -> None:
    """The xApp's per-UE ring and the trainer's history_index give the same inputs: padding at the start, a restart
    at a handover, and (online only) after a missed report."""
    rng = np.random.default_rng(0)
    t_len, u, n = 9, 3, 4
    cell = np.zeros((t_len, u), dtype=np.int64)
    cell[5:, 1] = 7  # UE 1 hands over at t = 5
    rsrp = rng.integers(-120, -60, (t_len, u, 2)).astype(np.float32)
    idx = history_index(cell, n)
    offline = rsrp[idx, np.arange(u)[None, :, None]]  # (T, U, n, B)
    hist = ReportHistory(n, 1500)
    for t in range(t_len):
        for ue in range(u):
            got = hist.push([ue], f"cell-{cell[t, ue]}", 1000 * t, rsrp[t, ue:ue + 1])
            np.testing.assert_array_equal(got[0], offline[t, ue])
    assert (idx[5, 1] == 5).all()
    assert (idx[8, 1] == [5, 6, 7, 8]).all()
    assert (idx[1, 0] == [0, 0, 0, 1]).all()
    # a missed report restarts the history; pruning forgets silent UEs
    got = hist.push([0], "cell-0", 1000 * (t_len + 1), rsrp[0, :1])
    assert (got[0] == rsrp[0, 0]).all()
    assert hist.prune(1000 * (t_len + 1)) == 2
    assert len(hist) == 1

"""The beam-prediction ceiling benchmark (bench/beam_ceiling.py): its genie inputs are the emulator's, its learner is
deterministic, and the quick path writes a complete JSON and plot whose references order as they must."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

import bench.beam_ceiling as bc
from testbed.beam_data import EXTRA_FIELDS, draw_samples
from testbed.core.beams import quantise_rsrp
from testbed.core.scenario import load_scenario


def test_extras_only_read_the_emulator_and_the_clean_set_b_is_the_report_before_its_error() -> None:
    sc = load_scenario(bc.SCENARIO)
    plain = draw_samples(sc, (7,), 10, 5)
    extra = draw_samples(sc, (7,), 10, 5, extras=True)
    assert all(np.array_equal(plain[k], extra[k]) for k in plain)
    assert set(extra) == set(plain) | set(EXTRA_FIELDS)
    err = extra["rsrp_b_dbm"] - extra["rsrp_b_clean_dbm"]
    assert 0.8 < float(err.std()) < 1.3  # the scenario's 1 dB error plus 1 dB steps
    # without measurement error the report is exactly the clean value in 1 dB steps
    quiet = dataclasses.replace(sc, radio=dataclasses.replace(sc.radio, rsrp_noise_db=0.0))
    q = draw_samples(quiet, (7,), 10, 5, extras=True)
    assert np.array_equal(quantise_rsrp(q["rsrp_b_clean_dbm"].astype(np.float64)), q["rsrp_b_dbm"])
    # the previous report is the one a sub-step earlier (every sub-step sampled: row t-1 of the same UE)
    every = draw_samples(sc, (7,), 4, 1, extras=True)
    u = len(every["ue_id"]) // 4
    assert np.array_equal(every["prev_rsrp_b_dbm"][u:], every["rsrp_b_dbm"][:-u])
    assert np.array_equal(every["prev_rsrp_b_dbm"][:u], every["rsrp_b_dbm"][:u])


def test_the_learner_is_deterministic_and_learns() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 4)).astype(np.float32)
    y = np.argmax(x, axis=1)
    cfg = bc.LearnerConfig(hidden=16, epochs=15, batch=64)
    a, b = bc.predict(bc.fit(x, y, 4, cfg), x), bc.predict(bc.fit(x, y, 4, cfg), x)
    assert np.array_equal(a, b)
    assert float((a[:, 0] == y).mean()) > 0.8


def test_quick_run_writes_a_complete_payload(tmp_path: Path) -> None:
    out = tmp_path / "beam_ceiling.json"
    bc.main(["--quick", "--out", str(out)])
    p = json.loads(out.read_text())
    assert out.with_suffix(".png").stat().st_size > 10_000
    c1 = p["bm_case1"]
    rows = {r for r, *_ in bc.CASE1_ROWS} | {"committed_model", "full_set_a_sweep", "full_set_a_sweep_noise_free"}
    assert set(c1["methods"]) == rows
    for r in c1["methods"].values():
        assert r["top1_ci95"][0] <= r["top1"] <= r["top1_ci95"][1]
        assert r["top1_minus_reported_ci95"][0] <= r["top1_minus_reported"] <= r["top1_minus_reported_ci95"][1]
    m = c1["methods"]
    assert m["reported"]["top1_minus_reported"] == 0.0
    assert c1["target"]["top1_needed"] == bc.TARGET_RATIO * m["full_set_a_sweep"]["top1"]
    # a sweep of all 32 beams without measurement error beats the noisy one on the same reports
    assert m["full_set_a_sweep_noise_free"]["top1"] > m["full_set_a_sweep"]["top1"]
    c2 = p["bm_case2"]
    assert [q["period_s"] for q in c2["periods"]] == list(bc.QUICK.periods_s)
    assert set(c2["target"]["by_period_s"]) == {f"{s:g}" for s in bc.QUICK.periods_s}
    held = []
    for q in c2["periods"]:
        veh = q["t+1"]["vehicular"]
        assert {"model_ahead", "genie_past", "last_best_beam", "kalman_tracker", "genie_now_held"} <= set(veh)
        assert veh[veh["better_baseline"]]["minus_better_baseline"] == 0.0
        held.append(veh["genie_now_held"]["top1"])
    # the true best beam held for one period is right more often when the period is shorter
    assert held[-1] > held[0]

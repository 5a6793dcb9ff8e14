"""The beam benchmark's closed loop (bench/beam.py): held-out seeds, pairing per seed, the summary statistics, and
the committed full-mode result carrying >= 8 seeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bench.beam as beam
from xapps.beam_predictor.model import load_model
from xapps.beam_predictor.settings import MODEL_DIR, SUBSET_MODEL_DIR

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("model_dir", [MODEL_DIR, SUBSET_MODEL_DIR])
def test_closed_loop_seeds_are_held_out_from_training_and_tuning(model_dir: Path) -> None:
    prov = load_model(model_dir).card.raw["provenance"]
    used = set(prov["train_config"]["train_seeds"]) | set(prov["validation_seeds"])
    assert len(set(beam.CLOSED_LOOP_SEEDS)) >= 8
    assert used.isdisjoint(beam.CLOSED_LOOP_SEEDS)


def fake_closed_loop(model: Any, scenario: str, seed: int, steps: int, warmup: int, mode: str) -> float:
    """Deterministic per (seed, mode): a seed-level level shared by every mode (what pairing removes) plus a gain."""
    level = 400.0 + 10.0 * (seed % 7)
    return level + {"default": 0.0, "xapp": 40.0 + seed % 3, "genie": 50.0 + seed % 2}[mode]


def test_closed_loop_block_pairs_every_mode_on_every_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(beam, "closed_loop", fake_closed_loop)
    calls: list[int] = []
    cl = beam.closed_loop_block(None, "ran_limited_wide_b", beam.CLOSED_LOOP_SEEDS, 300, 30,  # type: ignore[arg-type]
                                lambda: calls.append(1))
    assert len(calls) == len(beam.CLOSED_LOOP_SEEDS) * len(beam.MODES)
    assert [r["seed"] for r in cl["per_seed"]] == cl["seeds"] == list(beam.CLOSED_LOOP_SEEDS)
    assert len(cl["per_seed"]) >= 8
    dx = np.array([r["xapp_served_mbps"] - r["default_served_mbps"] for r in cl["per_seed"]])
    dg = np.array([r["genie_served_mbps"] - r["default_served_mbps"] for r in cl["per_seed"]])
    g = cl["xapp_gain_mbps"]
    assert g["mean"] == pytest.approx(dx.mean())
    assert g["n"] == len(dx)
    # paired: the seed levels (spread 60 Mbit/s) cancel, so the gain's interval is far narrower than the means'
    assert g["lo"] < g["mean"] < g["hi"]
    assert g["hi"] - g["lo"] < 2.0
    d = cl["default_served_mbps"]
    assert d["hi"] - d["lo"] > 10 * (g["hi"] - g["lo"])
    rel = np.array([r["xapp_served_mbps"] / r["default_served_mbps"] - 1 for r in cl["per_seed"]])
    assert cl["xapp_gain_rel"]["mean"] == pytest.approx(rel.mean())
    share = cl["xapp_share_of_genie_gain"]
    assert share["mean"] == pytest.approx(dx.sum() / dg.sum())
    assert share["lo"] <= share["mean"] <= share["hi"] < 1.0
    assert cl["xapp_beats_default_seeds"] == len(dx)
    json.dumps(cl, allow_nan=False)  # the payload is plain JSON


def test_quick_closed_loop_is_paired_and_reproducible() -> None:
    model = load_model(MODEL_DIR)
    seeds = beam.CLOSED_LOOP_SEEDS[:2]
    a = beam.closed_loop_block(model, beam.CLOSED_LOOP["wide"], seeds, 80, 30)
    assert len(a["per_seed"]) == 2
    assert all(r["xapp_served_mbps"] > r["default_served_mbps"] for r in a["per_seed"])
    # the default run of a seed is the same trajectory whatever the other modes did
    assert a["per_seed"][0]["default_served_mbps"] == beam.closed_loop(model, beam.CLOSED_LOOP["wide"], seeds[0], 80,
                                                                       30, "default")


@pytest.mark.parametrize("key", ["closed_loop", "closed_loop_subset"])
def test_committed_result_has_the_full_closed_loop(key: str) -> None:
    cl = json.loads((ROOT / "bench" / "results" / "beam.json").read_text())[key]
    assert cl["seeds"] == list(beam.CLOSED_LOOP_SEEDS)
    assert len(cl["seeds"]) >= 8
    assert [r["seed"] for r in cl["per_seed"]] == cl["seeds"]
    assert cl["sub_steps"] == 300
    recomputed = beam.closed_loop_summary(cl["per_seed"], np.random.default_rng(2))
    for name, value in recomputed.items():
        assert cl[name] == pytest.approx(value), name
    for name in ("default_served_mbps", "xapp_served_mbps", "genie_served_mbps", "xapp_gain_mbps", "xapp_gain_rel",
                 "xapp_share_of_genie_gain"):
        assert cl[name]["lo"] <= cl[name]["mean"] <= cl[name]["hi"], name
        assert cl[name]["n"] == len(cl["seeds"])


def test_closed_loop_plot_draws_the_committed_intervals(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    payload = json.loads((ROOT / "bench" / "results" / "beam.json").read_text())
    fig, (a, b) = plt.subplots(1, 2)
    beam.plot_closed_loop(payload, a, b)
    fig.savefig(tmp_path / "cl.png")
    plt.close(fig)
    assert (tmp_path / "cl.png").stat().st_size > 0

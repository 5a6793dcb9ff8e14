"""Dataset export: per-sub-step KPM trajectories under a behaviour policy, .npz + validated data card."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from nextric.datacard import load_card
from nextric.errors import ValidationError
from testbed.cli import main
from testbed.core.params import ScenarioParams
from testbed.core.shocks import ShockRegime
from testbed.datasets import Behaviour, export_trajectories

SEEDS = [0, 1]
STEPS = 10


@pytest.fixture(scope="module")
def exported(city: ScenarioParams, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("ds")
    res = export_trajectories(out, city, ShockRegime.parse("wave-OOD"), SEEDS, STEPS, Behaviour("random", 7),
                              nmse_obs=2)
    return res.npz, res.card_path


def test_card_validates_and_describes_the_file(city: ScenarioParams, exported: tuple[Path, Path]) -> None:
    npz, card_path = exported
    card = load_card(card_path)  # re-validated from disk
    assert card.kind == "dataset"
    assert card.raw["provenance"]["seeds"] == SEEDS
    assert card.raw["policy"]["logging_policy"] == "random-s7"
    assert card.raw["protocol"]["timescale_s"] == city.timing.fast_step_s
    ds = card.raw["dataset"]
    assert ds["file"] == npz.name
    assert ds["sha256"] == hashlib.sha256(npz.read_bytes()).hexdigest()
    with np.load(npz) as d:
        for name, spec in ds["arrays"].items():
            assert list(d[name].shape) == spec["shape"], name
            assert spec["unit"]


def test_arrays_shapes_ranges_and_actions(city: ScenarioParams, exported: tuple[Path, Path]) -> None:
    c, s, n_l = city.n_cells, city.n_slices, city.n_links
    with np.load(exported[0]) as d:
        assert d["thp_dl_mbps"].shape == (2, STEPS, c, s)
        assert d["ratio_pct"].shape == (2, STEPS, c, s, 3)
        assert d["tn_share"].shape == (2, STEPS, n_l, s)
        assert d["link_up"].dtype == np.bool_
        assert d["slow_scm"].shape == (2, 0)  # 10 sub-steps < one slow step of 15
        assert d["seeds"].tolist() == SEEDS
        assert np.array_equal(d["t_s"][0], np.arange(1, STEPS + 1) * city.timing.fast_step_s)
        assert ((d["packet_loss"] >= 0) & (d["packet_loss"] <= 1)).all()
        assert (d["prb_used_dl"].sum(-1) <= city.cells[0].n_prb + 1e-6).all()
        # random policy: isolated shares (min = max), per-cell sums <= 100 %, held for the whole slow step
        r = d["ratio_pct"]
        assert np.allclose(r[..., 1], r[..., 2])
        assert (r[..., 1].sum(-1) <= 100 + 1e-6).all()
        assert np.array_equal(r[:, 0], r[:, -1])
        assert not np.allclose(r[0, 0], r[1, 0])  # per-seed policy streams


def test_same_seed_byte_identical_other_seed_differs(city: ScenarioParams, exported: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    again = export_trajectories(tmp_path, city, ShockRegime.parse("wave-OOD"), SEEDS, STEPS, Behaviour("random", 7),
                                nmse_obs=2)
    assert again.npz.read_bytes() == exported[0].read_bytes()
    with np.load(exported[0]) as a, np.load(again.npz) as b:
        assert a.files == b.files
        for k in a.files:
            assert a[k].tobytes() == b[k].tobytes(), k
        # the two seeds of one export are different trajectories
        assert a["thp_dl_mbps"][0].tobytes() != a["thp_dl_mbps"][1].tobytes()


def test_cli_export_and_errors(tmp_path: Path) -> None:
    rc = main(["export", "--out", str(tmp_path), "--seeds", "3", "--steps", "2", "--policy", "hand-tuned",
               "--regime", "none", "--nmse-obs", "2"])
    assert rc == 0
    card = load_card(tmp_path / "twm_poc_none-ID_hand-tuned.card.json")
    with np.load(tmp_path / "twm_poc_none-ID_hand-tuned.npz") as d:
        assert d["thp_dl_mbps"].shape[:2] == (1, 2)
    assert card.raw["provenance"]["seeds"] == [3]
    assert main(["export", "--out", str(tmp_path), "--regime", "tsunami-ID", "--steps", "1"]) == 2
    with pytest.raises(ValidationError, match="behaviour policy"):
        Behaviour("greedy")

"""Smoke run of the TWM PoC benchmark (bench/twm_poc.py): every method on real horizons, the JSON layout and
the twin-call accounting. The full comparison is `make bench-twm` (numbers in docs/rapps/world_models.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import twm_poc


@pytest.mark.slow
def test_twm_poc_smoke(tmp_path: Path) -> None:
    out = tmp_path / "twm_poc.json"
    twm_poc.main(["--seeds", "1", "--scenarios", "hotspot-ID", "wave-OOD", "--speed-candidates", "16",
                  "--out", str(out)])
    res = json.loads(out.read_text())
    assert res["seeds"] == [0]
    assert res["scenarios"] == ["hotspot-ID", "wave-OOD"]
    assert set(res["methods"]) == set(twm_poc.METHODS)
    for m, by in res["methods"].items():
        for scen in ("hotspot-ID", "wave-OOD"):
            d = by[scen]
            assert 0.0 <= d["scm"] <= 1.0
            assert -1.0 <= d["dcost"] <= 1.0
            assert d["decision_s"] >= 0.0
            budget = {"dt-fair": 384, "twm": 12, "improved": 12}.get(m, 0)
            assert d["twin_calls"] <= budget  # twm/improved spend 0 only when the prescreen left nothing
            assert d["twin_calls"] == budget or m in ("twm", "improved")
        assert "average" in by
    assert res["methods"]["uniform"]["hotspot-ID"]["dcost"] == pytest.approx(0.0, abs=1e-9)
    for m in twm_poc.METHODS:  # paired against TWM on the same horizons
        diff = res["methods"][m]["average"]["scm_minus_twm_ci95"]
        if m == "twm":
            assert diff is None
        else:
            assert diff["n"] == 2
            got = [res["methods"][m][s]["scm"] - res["methods"]["twm"][s]["scm"] for s in ("hotspot-ID", "wave-OOD")]
            assert diff["mean"] == pytest.approx(sum(got) / 2)
    sp = res["speed"]
    assert sp["candidates"] == 16  # the full run times 256; warm-up, 3 alternated repeats and spreads alike
    assert sp["twin_s"] > 0
    assert sp["surrogate_s"] > 0
    assert sp["repeats"] == sp["twin_ms_per_candidate"]["n"] == sp["speedup_per_candidate"]["n"] == 3
    per = sp["twin_ms_per_candidate"]
    assert per["min"] <= per["median"] <= per["max"]
    assert per["median"] == pytest.approx(1e3 * sp["twin_s"] / 16)
    assert (tmp_path / "twm_poc_pareto.png").stat().st_size > 0
    assert (tmp_path / "twm_poc_scm.png").stat().st_size > 0


def test_twm_poc_on_the_recalibrated_city(tmp_path: Path) -> None:
    out = tmp_path / "calibrated.json"
    twm_poc.main(["--seeds", "1", "--scenarios", "hotspot-ID", "--city", "twm_poc_calibrated", "--methods",
                  "uniform", "dt-fair", "--speed-candidates", "0", "--out", str(out)])
    res = json.loads(out.read_text())
    assert res["scenario"] == "twm_poc_calibrated"
    assert set(res["methods"]) == {"uniform", "dt-fair"}
    assert res["methods"]["dt-fair"]["hotspot-ID"]["twin_calls"] == 384
    assert 0.0 <= res["methods"]["uniform"]["hotspot-ID"]["scm"] <= 1.0
    ci = res["methods"]["uniform"]["average"]["scm_ci95"]
    assert ci["n"] == 1
    assert ci["lo"] == ci["mean"] == ci["hi"] == res["methods"]["uniform"]["hotspot-ID"]["scm"]
    assert res["methods"]["uniform"]["average"]["scm_minus_twm_ci95"] is None  # no TWM in this run
    assert (tmp_path / "calibrated_pareto.png").stat().st_size > 0

"""The PoC city's calibration: levers -> overlay, the rule table, and the frozen city being what was evaluated."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.calibration import BEST_MIN, LINK_P95, OOD_GAP, UNIFORM_MAX, rules
from bench.calibration_levers import BASE, RATE_LEVERS, base_document, overlay
from testbed.core.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
FROZEN = "twm_poc_calibrated"


def _frozen_text() -> str:
    return resources.files("testbed.scenarios").joinpath(f"{FROZEN}.yaml").read_text()


def test_levers_make_a_valid_city(tmp_path: Path) -> None:
    levers = {"embb": 2.0, "urllc_h": 1.5, "fwa": 3.0, "wv_int": [3.0, 1.0, 1.0], "ood_int": 1.1, "ood_dur": 1.2,
              "ood_fail": 1.3, "wv_fail": 2.0, "hs_dur": 200.0}
    caps = {"SW-HUB": 310.0, "H-C": 120.0}
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(overlay(levers, caps)))
    sc = load_scenario(path)
    base = {g["name"]: g["rate_mbps"] for g in base_document()["ue_groups"]}
    for g in sc.ue_groups:
        mult = levers.get(RATE_LEVERS.get(g.name, ""), 1.0) if g.name != "embb-corridor" else levers["embb"]
        assert g.rate_mbps == pytest.approx(base[g.name] * float(mult))  # type: ignore[arg-type]
    assert (sc.transport.sharing, sc.plan_shares) == ("work_conserving", "guaranteed")
    assert (sc.timing.fast_step_s, sc.timing.fast_per_slow, sc.timing.slow_per_horizon) == (4.0, 15, 12)
    assert (sc.ood.intensity_mult, sc.ood.duration_mult, sc.ood.fail_mult, sc.ood.rate_mult) == (1.1, 1.2, 1.3, 1.0)
    assert sc.wave.intensity == (3.0, 1.0, 1.0)
    assert sc.wave.link_fail_mult == 2.0
    assert sc.hotspot.duration_s == 200.0
    cap = {ln.name: ln.capacity_mbps for ln in sc.transport.links}
    assert (cap["SW-HUB"], cap["H-C"], cap["C-HUB"]) == (310.0, 120.0, 5000.0)


def _run(regime: str, uniform: float, best: float, p95: list[float]) -> dict[str, Any]:
    return {"regime": regime, "uniform_scm": uniform, "best_scm": best, "library_scm_mean": best / 2,
            "link_ratio_p95": p95}


def test_rule_table() -> None:
    sc = load_scenario(BASE)
    n = sc.n_links
    busy, calm = [0.5] * n, [0.3] * n
    busy[2], calm[2] = 0.76, 0.64
    runs = [_run("hotspot-ID", 0.1, 0.6, busy), _run("hotspot-OOD", 0.0, 0.55, [0.9] * n),
            _run("wave-ID", 0.05, 0.7, calm), _run("wave-OOD", 0.0, 0.65, [0.9] * n)]
    r = rules(sc, runs)
    assert r["all_met"], r["checks"]
    assert r["busiest_link"] == sc.transport.links[2].name
    # OOD runs do not count for the link rule; the link rule is the mean over the ID horizons
    assert r["link_p95_id_uniform"][sc.transport.links[2].name] == pytest.approx(0.70)
    assert r["ood_gap"] == pytest.approx({"hotspot": 0.05, "wave": 0.05})
    bad = [dict(x) for x in runs]
    bad[0]["uniform_scm"] = UNIFORM_MAX + 0.01
    bad[2]["best_scm"] = BEST_MIN - 0.01
    bad[3]["best_scm"] = bad[2]["best_scm"] - OOD_GAP - 0.05
    checks = rules(sc, bad)["checks"]
    assert not checks["uniform_low"]
    assert not checks["best_fixed_high"]
    assert not checks["ood_gap"]
    assert checks["busiest_link"]
    bad[0]["link_ratio_p95"] = [1.2] * n  # a saturated ID horizon moves the mean past the band
    assert not rules(sc, bad)["checks"]["busiest_link"]
    assert LINK_P95 == 0.7


def test_the_frozen_city_is_what_the_levers_give_and_what_was_evaluated() -> None:
    text = _frozen_text()
    (line,) = [x for x in text.splitlines() if x.startswith("# levers: ")]
    levers = json.loads(line.removeprefix("# levers: "))
    doc = yaml.safe_load(text)
    caps = {ln["name"]: ln["capacity_mbps"] for ln in doc["transport"]["links"]}
    assert doc == overlay(levers, caps)
    sc = load_scenario(FROZEN)
    assert sc.name == FROZEN
    sha = hashlib.sha256(text.encode()).hexdigest()
    for result in ("calibration.json", "calibration_eval.json"):
        res = json.loads((ROOT / "bench" / "results" / result).read_text())
        assert res["scenario_sha256"] == sha, f"{result} was not measured on the committed {FROZEN}.yaml"
        assert res["scenario"] == FROZEN
    tuned = json.loads((ROOT / "bench" / "results" / "calibration.json").read_text())
    evaluated = json.loads((ROOT / "bench" / "results" / "calibration_eval.json").read_text())
    assert tuned["seed_set"] == "tuning"
    assert evaluated["seed_set"] == "evaluation"
    assert not set(tuned["seeds"]) & set(evaluated["seeds"])

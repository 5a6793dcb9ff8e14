"""The improved planner's plan portfolio: greedy coverage, its files and card, the planner using it within the twin
budget (plans identical to what the tuning executed), and the tuning command on a tiny run."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench import twm_portfolio
from nextric.datacard import save_card
from nextric.errors import ValidationError
from rapps.intent_agent.planner.api import PlanRequest
from rapps.intent_agent.planner.library import D_THETA, family_centre
from rapps.intent_agent.planner.portfolio import CARD, FILE, Portfolio, coverage_curve, greedy_cover, load, save
from rapps.intent_agent.planner.run import PlannerConfig, instantiate, plan
from rapps.intent_agent.worldmodels.features import CityRaster
from rapps.intent_agent.worldmodels.serving import MODEL_DIR, WorldModels
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.describe import cell_keys, topology_of
from testbed.twin_service import TwinService
from testbed.warmup import kpm_messages, warm_up

TUNE = 30_002


def test_greedy_cover_takes_the_best_mean_then_what_complements_it() -> None:
    u = np.array([[0.5, 0.5, 0.5, 0.5],    # best mean (0.5)
                  [0.6, 0.6, 0.0, 0.0],    # adds 0.05 to row 0
                  [0.0, 0.0, 0.9, 0.9],    # adds 0.2: complements row 0 on horizons 2-3
                  [0.4, 0.4, 0.4, 0.4]])   # second-best mean, adds nothing
    order = greedy_cover(u, 3)
    assert order[:2] == [0, 2]
    curve = coverage_curve(u, order)
    assert curve[0] == pytest.approx(0.5)
    assert curve[1] == pytest.approx((0.5 + 0.5 + 0.9 + 0.9) / 4)
    assert curve == sorted(curve)
    assert sorted(greedy_cover(u, 10)) == [0, 1, 2, 3]  # never more than the candidates, each once


@pytest.mark.parametrize("bad", [np.zeros((0, 3)), np.zeros(3), np.array([[0.1, np.nan]])])
def test_greedy_cover_refuses_bad_matrices(bad: np.ndarray) -> None:
    with pytest.raises(ValidationError):
        greedy_cover(bad, 2)
    with pytest.raises(ValidationError, match="size"):
        greedy_cover(np.ones((2, 2)), 0)


def _write(directory: Path, scenario: str, members: dict[str, np.ndarray]) -> Portfolio:
    port = Portfolio(members)
    save(port, directory)
    report = {f: {"candidates": len(u)} for f, u in members.items()}
    save_card(twm_portfolio.card(scenario, [TUNE], 4, 2, report, "0" * 64), directory / CARD)
    return port


def test_files_round_trip_and_bad_files_are_errors(tmp_path: Path) -> None:
    assert load(tmp_path) is None
    m = {"hotspot": np.arange(2 * D_THETA, dtype=float).reshape(2, D_THETA) / 10}
    port = _write(tmp_path, "twm_poc", m)
    back = load(tmp_path)
    assert back is not None
    assert back.card is not None
    np.testing.assert_allclose(back.members["hotspot"], m["hotspot"])
    assert back.sha256() == port.sha256()
    assert back.of("wave") is None
    (tmp_path / CARD).unlink()
    with pytest.raises(ValidationError, match="no card"):
        load(tmp_path)
    _write(tmp_path, "twm_poc", m)
    (tmp_path / FILE).write_text(json.dumps({"members": {"hotspot": [[1.0, 2.0]]}}))
    with pytest.raises(ValidationError, match="finite"):
        load(tmp_path)
    (tmp_path / FILE).write_text("{not json")
    with pytest.raises(ValidationError, match="not a portfolio"):
        load(tmp_path)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlanRequest, TwinService, Path, np.ndarray]:
    sc = load_scenario("twm_poc")
    topo = topology_of(sc)
    reps, up, _ = warm_up(sc, ShockRegime.parse("hotspot-ID"), TUNE, 4)
    req = PlanRequest(topo, tuple(kpm_messages(sc, reps)), "hotspot-ID", up, method="improved", seed=TUNE)
    d = tmp_path_factory.mktemp("models")
    for f in ("fwm.onnx", "cdwm.onnx", "fwm.card.json", "cdwm.card.json"):
        shutil.copy(MODEL_DIR / f, d / f)
    ras = CityRaster.build(topo)
    members = np.stack([family_centre(ras, "hand-tuned"), family_centre(ras, "demand"), family_centre(ras, "zone")])
    _write(d, "twm_poc", {"hotspot": members})
    return req, TwinService(sc, sc.name, cell_keys(sc)), d, members


def test_the_planner_judges_the_portfolio_in_the_twin_within_budget(setup) -> None:  # type: ignore[no-untyped-def]
    req, twin, d, members = setup
    wm = WorldModels(d, enforce_cards=False)
    r = plan(req, twin, wm)
    assert r.twin_calls == 12
    assert len(r.twin_checks) == 3
    assert [c.name for c in r.trace.candidates] == [f"portfolio/hotspot-{i}" for i in range(3)]
    chosen = [c for c in r.trace.candidates if c.verdict == "chosen"]
    assert len(chosen) == 1
    i = int(chosen[0].name.rsplit("-", 1)[1])
    same = instantiate(req, members[i], "as tuned")  # what the tuning executed for this member
    np.testing.assert_allclose(r.prb, same.prb, atol=1e-12)
    np.testing.assert_allclose(r.tn, same.tn, atol=1e-12)
    utils = [c.score for c in r.trace.candidates]
    assert all(u is not None for u in utils)
    best = max(range(3), key=lambda j: utils[j])  # type: ignore[arg-type,return-value]
    margin = PlannerConfig().switch_margin  # the twin overrides the prior's order only by more than the margin
    assert i == (best if utils[best] > utils[0] + margin else 0)  # type: ignore[operator]
    r_any = plan(req, twin, wm, PlannerConfig(switch_margin=0.0))
    assert [c.name for c in r_any.trace.candidates if c.verdict == "chosen"] == [f"portfolio/hotspot-{best}"]
    assert "portfolio" in r.trace.steps[0]
    assert r.trace.extra["portfolio_sha256"]
    # a smaller budget verifies fewer members; none takes the tuning's best without a twin call
    assert plan(replace(req, twin_budget=4), twin, wm).twin_calls == 4
    r0 = plan(replace(req, twin_budget=0), twin, wm)
    assert r0.twin_calls == 0
    np.testing.assert_allclose(r0.prb, instantiate(req, members[0], "").prb, atol=1e-12)
    assert plan(req, twin, wm, PlannerConfig(judge="cvar50")).twin_calls == 12


def test_a_portfolio_for_another_city_or_family_is_not_used(setup) -> None:  # type: ignore[no-untyped-def]
    req, twin, d, members = setup
    other = d.parent / "other_city"
    shutil.copytree(d, other)
    _write(other, "twm_poc_calibrated", {"hotspot": members})
    r = plan(req, twin, WorldModels(other, enforce_cards=False))
    assert not any(c.name.startswith("portfolio/") for c in r.trace.candidates)
    assert any("portfolio not valid here" in s for s in r.trace.steps)
    wave = replace(req, regime="wave-ID")
    r = plan(wave, twin, WorldModels(d, enforce_cards=False))
    assert not any(c.name.startswith("portfolio/") for c in r.trace.candidates)


def test_the_tuning_command_is_reproducible(tmp_path: Path) -> None:
    args = ["--city", "twm_poc", "--seeds", "1", "--plans", "4", "--size", "2", "--workers", "1"]
    a = twm_portfolio.main([*args, "--models", str(tmp_path / "a"), "--out", str(tmp_path / "a.json")])
    b = twm_portfolio.main([*args, "--models", str(tmp_path / "b"), "--out", str(tmp_path / "b.json")])
    assert a["portfolio_sha256"] == b["portfolio_sha256"]
    port = load(tmp_path / "a")
    assert port is not None
    assert port.card is not None
    assert port.card.raw["provenance"]["seeds"] == [30_000]
    assert set(port.members) == {"hotspot", "wave"}
    with pytest.raises(SystemExit):
        twm_portfolio.main(["--seeds", "99"])


def test_phase_two_keeps_a_portfolio_plan_unless_told_to_replan(setup) -> None:  # type: ignore[no-untyped-def]
    from rapps.intent_agent.planner.run import monitor

    req, twin, d, _ = setup
    wm = WorldModels(d, enforce_cards=False)
    r = plan(req, twin, wm)
    v = monitor(req, r, 1, wm)
    assert v.plan is r
    assert "replanning off" in v.why
    v = monitor(req, r, 1, wm, PlannerConfig(portfolio_replan="every-step"))
    assert "replanning off" not in v.why
    assert v.proposed
    with pytest.raises(ValidationError, match="portfolio_replan"):
        PlannerConfig(portfolio_replan="sometimes")

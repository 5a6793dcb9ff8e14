"""Planner: every method end to end on real observations (emulator warm-up -> E2 KPM -> the twin service in
process -> world models); the planner reaches the network only through the description and the twin's Rollout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from nextric.errors import ValidationError
from nextric.topology import Topology
from rapps.intent_agent.planner import run as run_module
from rapps.intent_agent.planner.api import (
    METHODS,
    ActionBounds,
    PlanRequest,
    SliceCeiling,
    monitor_step,
    plan_slicing,
)
from rapps.intent_agent.planner.library import D_THETA, library, plans_from_params
from rapps.intent_agent.planner.prescreen import prescreen
from rapps.intent_agent.worldmodels.features import CityRaster, Context, link_need, prb_need
from rapps.intent_agent.worldmodels.serving import WorldModels
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.describe import cell_keys, topology_of
from testbed.twin_service import TwinService
from testbed.warmup import kpm_messages, warm_up

TUNE = 30_001  # a planner-tuning seed (never a benchmark seed)


@pytest.fixture(autouse=True)
def models_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    """The planner's machinery is exercised with the committed models whatever their cards say; the harness itself
    refuses to rely on a model that fails its card (tests/rapps/test_worldmodels.py)."""
    wm = WorldModels(enforce_cards=False)
    monkeypatch.setattr(run_module, "default_models", lambda: wm)


@dataclass(frozen=True, eq=False)
class Obs:
    topo: Topology
    msgs: tuple[Any, ...]
    reps: tuple[Any, ...]
    up: np.ndarray
    twin: TwinService

    def context(self) -> tuple[CityRaster, Context]:
        return CityRaster.build(self.topo), Context.observed(self.topo, self.reps, "hotspot-ID", self.up)


@pytest.fixture(scope="module")
def obs() -> Obs:
    sc = load_scenario("twm_poc")
    reps, up, _ = warm_up(sc, ShockRegime.parse("hotspot-ID"), TUNE, 4)
    return Obs(topology_of(sc), tuple(kpm_messages(sc, reps)), tuple(reps), up,
               TwinService(sc, sc.name, cell_keys(sc)))


def _req(obs: Obs, **kw: Any) -> PlanRequest:
    return PlanRequest(obs.topo, obs.msgs, "hotspot-ID", obs.up, **kw)


def _plan(obs: Obs, **kw: Any) -> Any:
    return plan_slicing(_req(obs, **kw), obs.twin)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_returns_a_valid_traced_plan(obs, method: str) -> None:  # type: ignore[no-untyped-def]
    sc = obs.topo
    r = _plan(obs, method=method, seed=2)
    assert r.prb.shape == (12, sc.n_cells, 3)
    assert r.tn.shape == (12, sc.n_links, 3)
    assert (r.prb >= 0).all()
    assert (r.prb.sum(-1) <= 1 + 1e-9).all()
    assert (r.tn.sum(-1) <= 1 + 1e-9).all()
    assert r.trace.method == method
    assert r.trace.why
    assert r.method == method
    assert r.decision_s >= 0
    budget = {"dt-fair": 384, "twm": 12, "improved": 12}.get(method, 0)
    assert r.twin_calls == budget
    if method in ("twm", "improved"):
        assert len(r.twin_checks) == 3
        assert all(len(c.scm) == 4 for c in r.twin_checks)
        verdicts = {c.verdict for c in r.trace.candidates}
        assert verdicts & {"verified-pass", "verified-fail", "chosen"}
        assert r.models
        assert set(r.models) == {"fwm", "cdwm"}
        assert r.fallback or (r.expected is not None and 0 <= r.expected.scm <= 1
                              and r.expected.scm_lo <= r.expected.scm_hi)
    if method in ("fwm-only", "cdwm-only", "twm", "improved"):
        assert r.trace.n_generated == 256
        assert r.trace.n_kept == 128


def test_plans_are_deterministic(obs) -> None:  # type: ignore[no-untyped-def]
    a = _plan(obs, method="improved", seed=4)
    b = _plan(obs, method="improved", seed=4)
    np.testing.assert_array_equal(a.prb, b.prb)
    np.testing.assert_array_equal(a.tn, b.tn)


def test_zero_twin_budget_means_no_verification_and_uniform_fallback(obs) -> None:  # type: ignore[no-untyped-def]
    r = _plan(obs, method="twm", twin_budget=0)
    assert r.twin_calls == 0
    assert r.fallback
    np.testing.assert_allclose(r.prb, 1 / 3)


def test_bounds_are_respected(obs) -> None:  # type: ignore[no-untyped-def]
    r = _plan(obs, method="rules", bounds=ActionBounds(prb_min=0.1, prb_max=0.5, tn_min=0.1, tn_max=0.5))
    assert r.prb.min() >= 0.1 - 1e-9
    assert r.prb.max() <= 0.5 + 1e-9
    assert r.tn.min() >= 0.1 - 1e-9
    assert r.tn.max() <= 0.5 + 1e-9


def test_bad_requests_are_rejected(obs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="KPM"):
        plan_slicing(PlanRequest(obs.topo, (), method="twm"), obs.twin)
    with pytest.raises(ValidationError, match="unknown method"):
        _plan(obs, method="llm")
    with pytest.raises(ValidationError, match="unknown slices"):
        _plan(obs, method="rules", ceilings=(SliceCeiling("mMTC", 0.1),))
    with pytest.raises(ValidationError, match="horizon"):
        _plan(obs, method="twm", horizon=6)
    with pytest.raises(ValidationError, match="bounds"):
        _plan(obs, method="rules", bounds=ActionBounds(prb_min=0.6, prb_max=0.5))


def test_prescreen_rejects_a_plan_starving_urllc_transport(obs) -> None:  # type: ignore[no-untyped-def]
    sc = obs.topo
    ras, ctx = obs.context()

    def full_rows(need: np.ndarray) -> np.ndarray:  # every slice gets its need (rows scaled only above 1)
        base = np.maximum(need, 1e-3)
        return base / np.maximum(base.sum(-1, keepdims=True), 1.0)

    prb = np.broadcast_to(full_rows(prb_need(ras, ctx)), (2, 12, sc.n_cells, 3)).copy()
    tn = np.broadcast_to(full_rows(link_need(ras, ctx)), (2, 12, sc.n_links, 3)).copy()
    busiest = int(np.argmax(link_need(ras, ctx)[:, 1]))
    tn[1, 5, busiest, 1] = 0.0
    ok, why = prescreen(ras, ctx, prb, tn, prb[0, 0], tn[0, 0], ActionBounds())
    assert ok.tolist() == [True, False], why
    assert "URLLC transport" in why[1]
    ok2, why2 = prescreen(ras, ctx, prb[:1], tn[:1], np.eye(3)[np.argmin(prb[0, 0], axis=-1)], tn[0, 0],
                          ActionBounds(max_row_change=0.5))
    assert not ok2[0]
    assert "row change" in why2[0]


def test_library_families_and_parameterisation(obs) -> None:  # type: ignore[no-untyped-def]
    ras, ctx = obs.context()
    lib = library(ras, ctx, 256, 12, 0)
    assert len(lib) == 256
    assert lib.u.shape == (256, D_THETA)
    assert {"uniform", "hand-tuned", "zone", "demand", "mixed"} == set(lib.families)
    np.testing.assert_allclose(lib.prb[0], np.broadcast_to(lib.prb[0].mean(-1, keepdims=True), lib.prb[0].shape),
                               atol=0.02)  # the uniform family centre
    p, _t = plans_from_params(ras, ctx, lib.u[:3], 12)
    np.testing.assert_array_equal(p, lib.prb[:3])


def test_custom_ceilings_change_the_scored_margin(obs) -> None:  # type: ignore[no-untyped-def]
    loose = _plan(obs, method="cdwm-only", ceilings=(SliceCeiling("URLLC", 0.5, 2000.0),
                                                                 SliceCeiling("eMBB", 0.9), SliceCeiling("FWA", 0.9)))
    tight = _plan(obs, method="cdwm-only")
    assert loose.expected is not None
    assert tight.expected is not None
    assert loose.expected.scm > tight.expected.scm


@pytest.mark.parametrize("method", ["twm", "improved"])
def test_monitor_step_keeps_or_switches_with_a_reason(obs, method: str) -> None:  # type: ignore[no-untyped-def]
    req = _req(obs, method=method, seed=1)
    r = plan_slicing(req, obs.twin)
    v = monitor_step(req, r, 1)
    assert v.step == 1
    assert v.why
    assert 0 <= v.risk <= 1
    assert v.disagreement >= 0
    np.testing.assert_array_equal(v.plan.prb[:1], r.prb[:1])  # the executed step is never rewritten
    if v.gate_passed:
        assert v.proposed
        assert "passed" in v.why
    else:
        assert v.plan is r
    nothing = monitor_step(req, r, 12)
    assert not nothing.corner_case
    assert nothing.plan is r


def test_dt_fair_parameters_can_be_reused_without_twin_calls(obs) -> None:  # type: ignore[no-untyped-def]
    from rapps.intent_agent.planner.run import instantiate

    req = _req(obs, method="dt-fair", seed=3)
    r = plan_slicing(req, obs.twin)
    again = instantiate(req, np.asarray(r.trace.extra["u"]), "reuse")
    assert again.twin_calls == 0
    np.testing.assert_allclose(again.prb, r.prb, atol=1e-12)
    np.testing.assert_allclose(again.tn, r.tn, atol=1e-12)


def test_planner_config_refuses_unknown_modes() -> None:
    from rapps.intent_agent.planner.run import PlannerConfig

    for field in ("surge_projection", "replan", "fallback"):
        with pytest.raises(ValidationError, match=field):
            PlannerConfig(**{field: "sometimes"})
    assert PlannerConfig(replan="corner-case").replan == "corner-case"


def test_corner_case_replanning_keeps_the_plan_when_nothing_is_flagged(obs) -> None:  # type: ignore[no-untyped-def]
    from rapps.intent_agent.planner.run import PlannerConfig, monitor, plan

    req = _req(obs, method="improved", seed=1)
    cfg = PlannerConfig(replan="corner-case", risk_threshold=1.0, disagreement_threshold=1e9)
    r = plan(req, obs.twin, None, cfg)
    v = monitor(req, r, 1, None, cfg)
    assert not v.corner_case
    assert not v.proposed
    assert v.plan is r
    assert "keep the plan" in v.why

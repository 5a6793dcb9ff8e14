"""The demo's report files (suite/demo_report.py) on synthetic legs: the slice palette, units, SLA lines and the
intent's target in kpis.png's legends; two identical legs said to be identical in report.json, report.html and the
plot legend instead of drawn over each other; the plan shown as the operator page's card shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nextric.palette import SLICE_COLORS
from suite.demo import IntentOutcome, LegResult
from suite.demo_report import LegSeries, identical_legs, label_identical, plot_kpis, save_report
from testbed.core.scenario import load_scenario

SLICES = ("eMBB", "URLLC", "FWA")


def _series(name: str, shift: float) -> LegSeries:
    s = LegSeries(name)
    for i in range(1, 9):
        s.t_end_s.append(15.0 * i)
        row = {"loss": {n: 0.05 + shift + 0.01 * i for n in SLICES}, "p99_ms": {n: 10.0 + shift + i for n in SLICES},
               "throughput_mbps": dict.fromkeys(SLICES, 50.0)}
        s.city.append(row)
        s.area.append({k: dict(v) for k, v in row.items()})
        s.scm.append(0.5 + shift)
    return s


def _plan() -> dict[str, object]:
    return {"id": "p1", "candidate": "rebalance x1", "status": "applied", "risk": "low", "applied_sim_s": 60.0,
            "explanation": "the long paragraph", "expected": [{"slice": "URLLC", "loss": 0.002, "p99_ms": 171.9}],
            "card": {"targets": [{"target": "eMBB.packet_loss", "kpi": "packet_loss", "slice": "eMBB",
                                  "condition": "IS_LESS_THAN", "value": 0.1, "unit": "fraction", "predicted": True,
                                  "effectUnit": "fraction", "statusQuo": 0.63, "plan": 0.47, "meetsWithPlan": False,
                                  "benefit": {"mean": 0.16, "lo": 0.12, "hi": 0.2}}],
                     "warnings": [{"kind": "contradiction", "slice": "URLLC",
                                   "message": "risk low, but the twin predicts URLLC p99 171.9 ms beyond its SLA"}]}}


@pytest.fixture
def legs() -> list[LegResult]:
    intent = LegResult("controllers + intent", _series("controllers + intent", 0.1))
    intent.outcomes.append(IntentOutcome("Keep eMBB packet loss below 10 %", {"lifecycleStatus": "active"}, _plan(),
                                         [], "approved, acknowledging low risk"))
    return [LegResult("static", _series("static", 0.2)), LegResult("controllers", _series("controllers", 0.1)), intent]


def test_identical_legs_are_named_not_overlaid(legs: list[LegResult], tmp_path: Path) -> None:
    assert identical_legs(legs) == {"controllers + intent": "controllers"}
    assert label_identical([("a", [1.0, float("nan")]), ("b", [1.0, float("nan")]), ("c", [2.0])]) == [
        "a", "b (identical to a)", "c"]
    paths = save_report(load_scenario("twm_poc"), legs, tmp_path, 7, 120, 60, ("eMBB", "loss"), True, [])
    assert [p.name for p in paths] == ["report.json", "kpis.png", "report.html"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["identical"] == [{"leg": "controllers + intent", "identical_to": "controllers"}]
    page = (tmp_path / "report.html").read_text()
    assert "“controllers + intent” is identical to “controllers”" in page
    for name in SLICES:  # the page's palette
        assert SLICE_COLORS[name] in page
    assert "risk low, but the twin predicts URLLC p99" in page  # the plan card's warning
    assert "<details><summary>the agent's explanation</summary>" in page
    assert "(pp)" in page
    assert "(ms)" in page
    assert (tmp_path / "kpis.png").stat().st_size > 20_000


def test_plot_legends_say_what_they_show(legs: list[LegResult], tmp_path: Path) -> None:
    labels = plot_kpis(load_scenario("twm_poc"), legs, 60, ("eMBB", "loss"), 0.1, tmp_path / "k.png")
    for panel in labels:
        assert "controllers + intent (identical to controllers)" in panel
        assert "intent submitted, plan applied (t = 60 s)" in panel
    assert "eMBB SLA 25 %" in labels[0]
    assert "intent target < 10 %" in labels[0]
    assert "URLLC SLA 20 ms" in labels[1]

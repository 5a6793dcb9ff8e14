"""The main job end to end: the demo brings the whole suite up (both control xApps in the loop), submits an intent the
controllers do not meet and one whose targets already hold, and the report shows the loop working: the first plan
applied and changing its target measurably against the controllers alone (paired per KPM period, 95 % interval
excluding zero), the second refused for having no measurable effect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.demo import INTENT_AT_S, run_demo


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_shows_the_intent_changing_the_outcome(tmp_path: Path) -> None:
    assert run_demo(seconds=420, seed=7, out=tmp_path) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"], report["why_not"]
    legs = report["legs"]
    static, ctrl, intent = legs["static"], legs["controllers"], legs["controllers + intent"]
    assert ctrl["scm_mean"] > static["scm_mean"]  # the controllers beat the static split
    assert ctrl["controls"] > 0
    assert ctrl["transport_decisions"] > 0
    assert intent["transport_decisions"] == ctrl["transport_decisions"]
    # the intent's effect on its target in its area, paired per period after the intent: the interval excludes 0
    eff = report["effects"]["area"]["eMBB"]["loss"]["intent_vs_controllers"]
    assert eff["hi"] < 0, eff
    assert eff["n"] >= 15
    useful, useless = report["intents"]
    assert useful["plan"]["status"] == "applied"
    assert useful["decision"].startswith("approved")
    assert useful["plan"]["prediction"]["expectedEffect"]["lo"] > 0  # what the gate was told
    assert useful["plan"]["plan"]["cells"] or useful["plan"]["plan"]["links"]  # applied bounds, as scored
    assert useful["report"]["achievedValues"][0]["change"] is not None  # reported against the running baseline
    assert useless["plan"]["status"] == "refused"
    assert any("no measurable effect expected" in r for r in useless["plan"]["refusal"])
    assert useless["decision"].startswith("not approved")
    # periods are kept from the moment the RIC connected, the intent's submission among them
    assert min(legs["controllers"]["periods"]["t_end_s"]) <= INTENT_AT_S
    # the other xApps ran as processes with their committed models
    assert {m: "http_port" in v and bool(v.get("model")) for m, v in report["xapps"].items()} == {
        "xapps.beam_predictor": True, "xapps.ce_selector": True}
    assert (tmp_path / "kpis.png").stat().st_size > 10_000
    assert "the closed loop worked" in (tmp_path / "report.html").read_text()

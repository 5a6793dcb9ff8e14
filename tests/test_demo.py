"""The main job end to end: the demo brings the whole suite up, submits the hospital-zone intent, approves the
plan and ends with a fulfilled intent, before/after KPIs and a saved report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.demo import run_demo


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_intent_closed_loop(tmp_path: Path) -> None:
    assert run_demo(seconds=150, seed=7, out=tmp_path) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    static, xapps, intent = (report["legs"][k] for k in ("static", "xApps", "xApps + intent"))
    assert static["scm"] == 0.0  # the uniform split breaks an SLA in this scenario
    assert xapps["scm"] > 0.3
    assert intent["scm"] > 0.3
    assert intent["controls"] > 0
    assert intent["slices"]["URLLC"]["p99_ms"] < 20.0
    res = report["intent_result"]
    assert res["lifecycle"] == "active"
    assert res["report"]["fulfilmentStatus"] == "FULFILLED"
    assert res["plan"]["status"] == "applied"
    assert [a["kind"] for a in res["audit"]][:3] == ["compile", "plan", "apply"]
    # the three xApps ran: the slice scheduler in-process, the beam predictor and CE selector as processes with
    # their committed models, and the CE selector answered the rApp's compare_estimators tool
    assert {m: "http_port" in v and bool(v.get("model")) for m, v in res["xapps"].items()} == {
        "xapps.beam_predictor": True, "xapps.ce_selector": True}
    ce = next(c for c in res["plan"]["trace"]["calls"] if c["tool"] == "compare_estimators")["outputs"]
    assert ce["available"]
    assert len(ce["groups"]["groups"]) >= 10
    assert (tmp_path / "kpis.png").stat().st_size > 10_000
    assert "FULFILLED" in (tmp_path / "report.html").read_text()

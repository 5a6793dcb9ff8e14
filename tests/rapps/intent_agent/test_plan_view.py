"""The operator's plan card (api/plan_view.py): targets joined with the twin's predicted effect, controls named by
cell, slice and link, and a warning when the risk label contradicts the predictions."""

from __future__ import annotations

from typing import Any

import pytest

from nextric.palette import SLICE_COLORS, palette_json, slice_colors
from nextric.topology import Topology
from rapps.intent_agent.api.plan_view import plan_view, slas_json
from rapps.intent_agent.compiler.compile import compile_intent
from rapps.intent_agent.compiler.domain import domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.spec import IntentSpec
from rapps.intent_agent.plans.model import Plan, SliceImpact
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of

HOSPITAL = "Keep eMBB packet loss in the hospital zone below 10 % during evening peaks"


@pytest.fixture(scope="module")
def topo() -> Topology:
    return topology_of(load_scenario("twm_poc"))


@pytest.fixture(scope="module")
def spec(topo: Topology) -> IntentSpec:
    s = compile_intent(HOSPITAL, domain_of(topo), KnowledgeBase.load())
    assert isinstance(s, IntentSpec)
    return s


def _plan(topo: Topology, risk: str = "low", urllc_p99: float = 171.9, violation: float = 0.75,
          plan_loss: float = 0.466) -> Plan:
    c6, c9 = topo.cell(6).key, topo.cell(9).key
    embb, urllc = topo.slices[0].key, topo.slices[1].key
    bounds = {"lowerPct": 0, "upperPct": 100, "maxPct": 100, "targetPct": 35.4}
    plan: dict[str, Any] = {"version": 0, "cells": {c6: {embb: bounds}, c9: {embb: bounds, urllc: bounds}},
                            "slas": {c6: {embb: {"maxLoss": 0.1}}},
                            "links": {"H-HUB": {embb: {"lower": 0.0, "upper": 1.0, "target": 0.3}}}}
    effect = {"target": "eMBB.packet_loss", "unit": "fraction", "statusQuo": 0.628, "plan": plan_loss,
              "benefit": {"mean": 0.162, "lo": 0.119, "hi": 0.205}, "measurable": True}
    expected = [SliceImpact("eMBB", 0.088, 0.03, 0.16, 39.0, 30.0, 50.0),
                SliceImpact("URLLC", 0.002, 0.0, 0.008, urllc_p99, 6.2, 307.9),
                SliceImpact("FWA", 0.01, 0.0, 0.04, 47.0, 21.0, 74.0)]
    return Plan("p1", "i1", 1, "advisory", "awaiting_approval", "closed-loop twin", ["guardrail"], plan["cells"], [],
                expected, violation, 0.65, [], "a long explanation", risk, plan=plan, effects=[effect],
                candidate="rebalance x1")


def test_card_joins_targets_with_predicted_effect(topo: Topology, spec: IntentSpec) -> None:
    v = plan_view(_plan(topo), topo, spec)
    assert v["id"] == "p1"
    assert v["explanation"] == "a long explanation"
    card = v["card"]
    assert card["area"]["zone"] == "hospital"
    assert card["area"]["cells"] == [6, 9]
    t = next(x for x in card["targets"] if x["target"] == "eMBB.packet_loss")
    assert t["predicted"]
    assert t["condition"] == "IS_LESS_THAN"
    assert t["value"] == pytest.approx(0.1)
    assert t["statusQuo"] == 0.628
    assert t["plan"] == 0.466
    assert t["benefit"]["lo"] == 0.119
    assert t["meetsWithPlan"] is False
    assert t["meetsNow"] is False
    assert card["slas"] == slas_json(topo)
    assert card["approval"] == {"required": True, "acknowledgeRisk": None}


def test_controls_are_named_by_cell_slice_and_link(topo: Topology, spec: IntentSpec) -> None:
    c = plan_view(_plan(topo), topo, spec)["card"]["controls"]
    assert [(r["cell"], r["slice"]) for r in c["cells"]] == [("cell 6", "eMBB"), ("cell 9", "eMBB"),
                                                             ("cell 9", "URLLC")]
    assert c["cells"][0]["targetPct"] == 35.4
    assert c["links"] == [{"link": "H-HUB", "sliceKey": topo.slices[0].key, "slice": "eMBB", "lower": 0.0,
                           "upper": 1.0, "target": 0.3}]
    assert c["slas"][0]["maxLoss"] == 0.1
    assert c["slas"][0]["cellId"] == 6


def test_low_risk_with_a_predicted_sla_breach_is_flagged(topo: Topology, spec: IntentSpec) -> None:
    w = plan_view(_plan(topo), topo, spec)["card"]["warnings"]
    contra = [x["message"] for x in w if x["kind"] == "contradiction"]
    assert any("risk low" in m and "URLLC p99 171.9 ms" in m and "SLA of 20 ms" in m for m in contra)
    assert any("75 % of the twin's seeds" in m for m in contra)
    assert any(x["kind"] == "target_missed" and x["slice"] == "eMBB" for x in w)
    # a high label contradicts nothing; predictions inside every SLA and a met target warn of nothing
    high = plan_view(_plan(topo, "high"), topo, spec)["card"]["warnings"]
    assert not [x for x in high if x["kind"] == "contradiction"]
    quiet = plan_view(_plan(topo, urllc_p99=8.0, violation=0.1, plan_loss=0.05), topo, spec)["card"]
    assert quiet["warnings"] == []
    assert plan_view(_plan(topo, "medium"), topo, spec)["card"]["approval"]["acknowledgeRisk"] == "medium"


def test_without_a_spec_the_card_has_no_targets(topo: Topology) -> None:
    card = plan_view(_plan(topo), topo, None)["card"]
    assert card["targets"] == []
    assert card["area"]["cells"] == []


def test_palette_is_one_colour_per_slice() -> None:
    assert palette_json()["slices"] == SLICE_COLORS
    c = slice_colors(["eMBB", "URLLC", "FWA", "V2X", "IoT"])
    assert c["URLLC"] == SLICE_COLORS["URLLC"]
    assert len(set(c.values())) == 5

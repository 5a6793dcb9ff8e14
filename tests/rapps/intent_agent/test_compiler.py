"""The grammar compiler over many phrasings: paraphrases, units, typos, contradictions, missing facts."""

from __future__ import annotations

from typing import Any

import pytest

from rapps.intent_agent.compiler.compile import compile_intent
from rapps.intent_agent.compiler.domain import Domain, domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.spec import Clarification, IntentSpec, Target
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of


@pytest.fixture(scope="module")
def domain() -> Domain:
    return domain_of(topology_of(load_scenario("twm_poc")))


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def t(spec: IntentSpec, kpi: str, slice_: str | None = None, source: str | None = None) -> Target:
    found = [x for x in spec.targets if x.kpi == kpi and x.slice == slice_ and (source is None or x.source == source)]
    assert len(found) == 1, (kpi, slice_, spec.targets)
    return found[0]


HOSPITAL = [
    "Prioritize URLLC reliability in the hospital zone during evening demand peaks while keeping total resource "
    "cost near the daytime baseline",
    "Prioritise URLLC reliability in the hospital area during the evening peak, keeping resource cost near the "
    "baseline",
    "During evening peaks, prioritize the reliability of URLLC in the hospital zone and keep costs close to the "
    "daytime baseline",
    "prioritze URLLC relability in the hosptial zone during evening demand peaks while keeping total resource cost "
    "near the daytime baseline",
    "Protect URLLC reliability around the hospital zone in the evening while keeping cost about the baseline",
]


@pytest.mark.parametrize("text", HOSPITAL)
def test_hospital_paraphrases(text: str, domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent(text, domain, kb)
    assert isinstance(spec, IntentSpec), spec
    assert spec.context.zone == "hospital"
    assert spec.context.cells == (6, 9)
    assert spec.context.window is not None
    assert (spec.context.window.start, spec.context.window.end) == ("18:00", "22:00")
    assert spec.objective.priority_slices[:1] == ("URLLC",)
    assert spec.objective.risk == 1.0
    assert t(spec, "packet_loss", "URLLC").value == 0.10
    assert t(spec, "p99_latency_ms", "URLLC").value == 20.0
    cost = t(spec, "resource_cost")
    assert (cost.condition, cost.value, cost.upper, cost.relative) == ("IS_WITHIN_RANGE", 0.9, 1.1, True)


def test_typos_are_reported_not_hidden(domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent(HOSPITAL[3], domain, kb)
    assert isinstance(spec, IntentSpec)
    assert any("hosptial" in n and "hospital" in n for n in spec.notes)


@pytest.mark.parametrize("text", [
    "Prepare cells 4 and 8 for a stadium event while preserving URLLC reliability and limiting energy cost",
    "Prepare cell 4 and cell 8 for the stadium match, preserve URLLC reliability, limit energy cost",
    "Get cells 4 & 8 ready for a stadium event while preserving URLLC reliability and limiting energy",
])
def test_stadium(text: str, domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent(text, domain, kb)
    assert isinstance(spec, IntentSpec), spec
    assert spec.context.cells == (4, 8)
    assert spec.context.event in ("stadium",)
    assert spec.actions.headroom == pytest.approx(0.15)
    assert "URLLC" in spec.objective.priority_slices
    e = t(spec, "energy_cost")
    assert (e.condition, e.value) == ("IS_LESS_THAN", 1.05)
    assert {x.slice for x in spec.targets if x.kpi == "packet_loss"} == {"eMBB", "URLLC", "FWA"}


@pytest.mark.parametrize("text", [
    "Keep URLLC p99 latency below 5 ms",
    "keep the URLLC latency under 5 milliseconds",
    "URLLC p99 delay must stay below 0.005 s",
    "Keep URLLC latency less than 5 ms in cells 6 and 9",
])
def test_stricter_than_sla_asks(text: str, domain: Domain, kb: KnowledgeBase) -> None:
    r = compile_intent(text, domain, kb)
    assert isinstance(r, Clarification), r
    assert [i.kind for i in r.issues] == ["stricter_than_sla"]
    assert "20 ms" in r.explanation
    assert "5 ms" in r.explanation
    assert "?" in r.question
    assert any(e.doc_id.startswith("ts23501-5qi-8") for e in r.evidence)  # the delay-critical 5QI rows


def test_stricter_target_once_confirmed(domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent("Keep URLLC p99 latency below 5 ms, confirm stricter target", domain, kb)
    assert isinstance(spec, IntentSpec)
    assert t(spec, "p99_latency_ms", "URLLC", "intent").value == 5.0


@pytest.mark.parametrize("text", [
    "Reduce energy cost by 15 % without violating coverage SLAs",
    "Reduce energy cost by 15% without violating coverage SLAs",
    "cut energy consumption cost by 15 percent without violating coverage slas",
    "Lower the energy cost by 15 per cent, without violating coverage SLAs",
])
def test_energy(text: str, domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent(text, domain, kb)
    assert isinstance(spec, IntentSpec), spec
    e = t(spec, "energy_cost")
    assert (e.condition, e.relative) == ("IS_LESS_THAN", True)
    assert e.value == pytest.approx(0.85)
    assert not [x for x in spec.targets if x.kpi == "resource_cost"]
    assert {x.slice for x in spec.targets if x.kpi == "packet_loss"} == {"eMBB", "URLLC", "FWA"}
    assert spec.objective.cost == 1.0
    assert spec.context.cells == ()


@pytest.mark.parametrize(("text", "kpi", "slice_", "cond", "value"), [
    ("Keep URLLC latency under 0.02 s", "p99_latency_ms", "URLLC", "IS_LESS_THAN", 20.0),
    ("Keep URLLC latency below 20000 us", "p99_latency_ms", "URLLC", "IS_LESS_THAN", 20.0),
    ("Keep eMBB latency below 50 ms", "p99_latency_ms", "eMBB", "IS_LESS_THAN", 50.0),
    ("Keep eMBB throughput above 100 Mbps in cells 1, 2 and 3", "throughput_mbps", "eMBB", "IS_GREATER_THAN", 100.0),
    ("Keep FWA throughput above 0.2 Gbps", "throughput_mbps", "FWA", "IS_GREATER_THAN", 200.0),
    ("between 18:00 and 22:00 keep URLLC loss below 1 %", "packet_loss", "URLLC", "IS_LESS_THAN", 0.01),
    ("Keep URLLC packet loss under 2 percent", "packet_loss", "URLLC", "IS_LESS_THAN", 0.02),
    ("Keep eMBB throughput between 50 and 80 Mbit/s", "throughput_mbps", "eMBB", "IS_WITHIN_RANGE", 50.0),
])
def test_units_and_conditions(text: str, kpi: str, slice_: str, cond: str, value: float, domain: Domain,
                              kb: KnowledgeBase) -> None:
    spec = compile_intent(text, domain, kb)
    assert isinstance(spec, IntentSpec), spec
    got = t(spec, kpi, slice_, "intent")
    assert got.condition == cond
    assert got.value == pytest.approx(value)


def test_two_slices_in_one_clause(domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent("Keep URLLC loss under 2 percent and eMBB loss under 5 %", domain, kb)
    assert isinstance(spec, IntentSpec)
    assert t(spec, "packet_loss", "URLLC").value == pytest.approx(0.02)
    assert t(spec, "packet_loss", "eMBB").value == pytest.approx(0.05)


@pytest.mark.parametrize(("text", "window"), [
    ("Maximise URLLC reliability from 6 pm to 10 pm in the hospital area", ("18:00", "22:00")),
    ("Keep URLLC reliable 07:00-09:00 in cell 6", ("07:00", "09:00")),
    ("Protect URLLC reliability at night", ("00:00", "06:00")),
    ("Prioritize URLLC reliability during the morning peak", ("07:00", "09:00")),
])
def test_time_windows(text: str, window: tuple[str, str], domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent(text, domain, kb)
    assert isinstance(spec, IntentSpec), spec
    assert spec.context.window is not None
    assert (spec.context.window.start, spec.context.window.end) == window


@pytest.mark.parametrize(("text", "kind", "needle"), [
    ("make the network better", "under_specified", "Which KPI"),
    ("", "under_specified", "What should"),
    ("Keep latency below 5 ms", "under_specified", "Which slice"),
    ("Improve reliability in the hospital zone", "under_specified", "which slice"),
    ("Keep URLLC latency below 5", "under_specified", "5 ms"),
    ("Prepare for a stadium event", "under_specified", "Which cells"),
    ("Prioritize URLLC in the airport zone", "unknown_reference", "Which zone"),
    ("Prioritize URLLC in cell 42", "unknown_reference", "Which cells"),
    ("Keep URLLC p99 latency below 1 ms", "infeasible", "above 2.5 ms"),
    ("Reduce cost by 120 %", "infeasible", "below 100 %"),
    ("Keep URLLC latency below 10 ms and above 15 ms", "contradictory", "Which bound"),
    ("Keep eMBB throughput between 80 and 50 Mbps", "contradictory", "Which range"),
    ("Give URLLC at least 60 % and eMBB at least 50 % of the PRBs", "over_constrained", "Which slice should get less"),
    ("Reduce energy cost by 15% while increasing throughput for all slices", "over_constrained", "Which matters more"),
    ("Reduce URLLC reliability in the hospital zone", "contradictory", "resources"),
])
def test_clarifications(text: str, kind: str, needle: str, domain: Domain, kb: KnowledgeBase) -> None:
    r = compile_intent(text, domain, kb)
    assert isinstance(r, Clarification), r
    assert kind in [i.kind for i in r.issues]
    assert needle.lower() in (r.question + r.explanation).lower()


def test_caps_and_floors(domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent("Cap URLLC at 5 % of the PRBs in the hospital zone", domain, kb)
    assert isinstance(spec, IntentSpec)
    assert spec.actions.slice_caps == (("URLLC", 0.05),)
    assert spec.context.cells == (6, 9)
    spec = compile_intent("Give URLLC at least 30 % of the PRBs in cell 6", domain, kb)
    assert isinstance(spec, IntentSpec)
    assert spec.actions.slice_floors == (("URLLC", 0.3),)
    assert spec.context.cells == (6,)


def test_zone_by_name_and_kb(domain: Domain, kb: KnowledgeBase) -> None:
    spec = compile_intent("Improve FWA throughput in fwa-east", domain, kb)
    assert isinstance(spec, IntentSpec)
    assert spec.context.zone == "fwa-east"
    assert spec.context.cells == (8,)
    hits = kb.search("URLLC delay-critical GBR packet delay budget 5QI", 3)
    assert all(h.passage.facts.get("resource") == "Delay-critical GBR" for h in hits)
    assert kb.search("PRB 50 MHz 30 kHz", 1)[0].passage.facts["n_rb"]["50"] == 133


def test_deterministic(domain: Domain, kb: KnowledgeBase) -> None:
    a: Any = compile_intent(HOSPITAL[0], domain, kb)
    b: Any = compile_intent(HOSPITAL[0], domain, kb)
    assert a.to_json() == b.to_json()

"""One test group per construct the compiler must keep: polarity, number binding, relative changes, number
words, reservations, transport KPIs, per-UE / per-site throughput, relative times, services, unknown places,
the coverage check and the LLM path's coverage check."""

from __future__ import annotations

import pytest

from rapps.intent_agent.compiler.compile import compile_intent
from rapps.intent_agent.compiler.coverage import llm_drops
from rapps.intent_agent.compiler.domain import Domain, domain_of
from rapps.intent_agent.compiler.grammar import parse
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.resolve import SliceNames
from rapps.intent_agent.compiler.spec import Clarification, CompileResult, IntentSpec, spec_from_json
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of


@pytest.fixture(scope="module")
def domain() -> Domain:
    return domain_of(topology_of(load_scenario("twm_poc")))


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def spec(text: str, domain: Domain, kb: KnowledgeBase, now: str | None = "18:30") -> IntentSpec:
    r = compile_intent(text, domain, kb, now=now)
    assert isinstance(r, IntentSpec), (text, r)
    return r


def ask(text: str, domain: Domain, kb: KnowledgeBase, now: str | None = "18:30") -> Clarification:
    r = compile_intent(text, domain, kb, now=now)
    assert isinstance(r, Clarification), (text, r)
    return r


def targets(r: CompileResult) -> set[tuple[str, str | None, str, float]]:
    assert isinstance(r, IntentSpec)
    return {(t.kpi, t.slice, t.condition, round(t.value, 6)) for t in r.targets if t.source == "intent"}


@pytest.mark.parametrize(("text", "cond"), [
    ("Do not let eMBB latency exceed 40 ms", "IS_LESS_THAN"),
    ("eMBB latency must never go above 40 ms", "IS_LESS_THAN"),
    ("Keep eMBB latency from rising above 40 ms", "IS_LESS_THAN"),
    ("Reduce cost without letting eMBB latency exceed 40 ms", "IS_LESS_THAN"),
    ("eMBB latency no more than 40 ms", "IS_LESS_THAN"),
    ("eMBB latency should exceed 40 ms", "IS_GREATER_THAN"),
    ("Do not let eMBB latency fall below 40 ms", "IS_GREATER_THAN"),
    ("eMBB latency not less than 40 ms", "IS_GREATER_THAN"),
])
def test_polarity(text: str, cond: str, domain: Domain, kb: KnowledgeBase) -> None:
    assert ("p99_latency_ms", "eMBB", cond, 40.0) in targets(spec(text, domain, kb))


@pytest.mark.parametrize(("text", "caps", "floors"), [
    ("Give eMBB no more than 40 % of the PRBs", (("eMBB", 0.4),), ()),
    ("Cap eMBB at 40 % of the PRBs", (("eMBB", 0.4),), ()),
    ("eMBB should never get less than 40 % of the PRBs", (), (("eMBB", 0.4),)),
    ("Guarantee eMBB at least 40 % of the PRBs", (), (("eMBB", 0.4),)),
])
def test_cap_vs_floor(text: str, caps: tuple[tuple[str, float], ...], floors: tuple[tuple[str, float], ...],
                      domain: Domain, kb: KnowledgeBase) -> None:
    s = spec(text, domain, kb)
    assert (s.actions.slice_caps, s.actions.slice_floors) == (caps, floors)


@pytest.mark.parametrize("text", [
    "Keep URLLC loss under 1 % and eMBB loss under 5 %",
    "Keep loss below 1 % for URLLC and 5 % for eMBB",
    "Keep packet loss under 1 % and 5 % for URLLC and eMBB respectively",
])
def test_number_binding(text: str, domain: Domain, kb: KnowledgeBase) -> None:
    assert targets(spec(text, domain, kb)) == {("packet_loss", "URLLC", "IS_LESS_THAN", 0.01),
                                               ("packet_loss", "eMBB", "IS_LESS_THAN", 0.05)}


def test_second_reservation_keeps_its_own_value(domain: Domain, kb: KnowledgeBase) -> None:
    s = spec("Reserve 20 % of cell 4 for URLLC and 30 % of cell 8 for FWA", domain, kb)
    got = {(p.slice, p.cell, p.min) for p in s.actions.ratio_policies}
    assert got == {("URLLC", 4, 0.2), ("FWA", 8, 0.3)}
    assert s.context.cells == (4, 8)


@pytest.mark.parametrize(("text", "kpi", "slice_", "cond", "value", "relative"), [
    ("Halve the URLLC latency", "p99_latency_ms", "URLLC", "IS_LESS_THAN", 0.5, True),
    ("Cut URLLC loss by 30 %", "packet_loss", "URLLC", "IS_LESS_THAN", 0.7, True),
    ("Double the eMBB throughput", "throughput_mbps", "eMBB", "IS_GREATER_THAN", 2.0, True),
    ("Halve the URLLC latency SLA", "p99_latency_ms", "URLLC", "IS_LESS_THAN", 10.0, False),
    ("Tighten URLLC's loss SLA by half", "packet_loss", "URLLC", "IS_LESS_THAN", 0.05, False),
    ("Bring the energy bill down 15 percent", "energy_cost", None, "IS_LESS_THAN", 0.85, True),
])
def test_relative_changes(text: str, kpi: str, slice_: str | None, cond: str, value: float, relative: bool,
                          domain: Domain, kb: KnowledgeBase) -> None:
    s = spec(text, domain, kb)
    t = [t for t in s.targets if t.source == "intent"]
    assert [(x.kpi, x.slice, x.condition, x.relative) for x in t] == [(kpi, slice_, cond, relative)]
    assert t[0].value == pytest.approx(value)


def test_relative_change_uses_the_current_value_when_given(domain: Domain, kb: KnowledgeBase) -> None:
    r = compile_intent("Halve the eMBB latency", domain, kb, baseline={"eMBB.p99_latency_ms": 48.0})
    assert targets(r) == {("p99_latency_ms", "eMBB", "IS_LESS_THAN", 24.0)}
    assert "no eMBB latency SLA" in ask("Halve the eMBB latency SLA", domain, kb).explanation.replace(
        "has no p99 latency SLA", "no eMBB latency SLA").replace("The eMBB slice ", "")


@pytest.mark.parametrize(("text", "value"), [
    ("Keep eMBB latency under twenty-five milliseconds", 25.0),
    ("Keep eMBB latency under one hundred and fifty ms", 150.0),
    ("Keep eMBB latency under thirty ms", 30.0),
])
def test_number_words(text: str, value: float | None, domain: Domain, kb: KnowledgeBase) -> None:
    r = compile_intent(text, domain, kb)
    if value is None:
        assert isinstance(r, Clarification)  # not a number a person writes: asked, not guessed
    else:
        assert ("p99_latency_ms", "eMBB", "IS_LESS_THAN", value) in targets(r)


@pytest.mark.parametrize(("text", "kind"), [
    ("Reserve 120 % of cell 4 for URLLC", "infeasible"),
    ("Give URLLC at least 70 % and eMBB at least 60 % of cell 3", "over_constrained"),
    ("Dedicate 60 % of cell 2 to URLLC and 50 % to eMBB exclusively", "over_constrained"),
    ("FWA must get at least 50 % of cell 8 but at most 30 %", "contradictory"),
])
def test_rrm_policy_ratio_rules(text: str, kind: str, domain: Domain, kb: KnowledgeBase) -> None:
    r = ask(text, domain, kb)
    assert kind in [i.kind for i in r.issues]
    assert any(e.doc_id == "ts28541-rrmpolicyratio" for e in r.evidence)


def test_dedicated_ratio(domain: Domain, kb: KnowledgeBase) -> None:
    s = spec("Dedicate 25 % of cell 6 exclusively to URLLC", domain, kb)
    (p,) = s.actions.ratio_policies
    assert (p.slice, p.cell, p.dedicated, p.min, p.max) == ("URLLC", 6, 0.25, 0.25, None)


@pytest.mark.parametrize(("text", "links"), [
    ("Keep utilisation of the corridor links below 70 %", ("C-HUB", "NE-HUB", "C-NE")),
    ("Corridor backhaul must not exceed 70 % utilisation", ("C-HUB", "NE-HUB", "C-NE")),
    ("Keep the H-HUB link below 70 % utilisation", ("H-HUB",)),
])
def test_transport_kpis(text: str, links: tuple[str, ...], domain: Domain, kb: KnowledgeBase) -> None:
    s = spec(text, domain, kb)
    (t,) = s.targets
    assert (t.kpi, t.condition, t.value, t.links) == ("link_utilisation", "IS_LESS_THAN", pytest.approx(0.7), links)
    assert "transport_share" in s.actions.kinds


def test_unknown_link_is_named(domain: Domain, kb: KnowledgeBase) -> None:
    r = ask("Keep link Z-HUB under 50 % utilisation", domain, kb)
    assert "unknown_reference" in [i.kind for i in r.issues]
    assert "Z-HUB" in r.explanation


@pytest.mark.parametrize(("text", "kpi"), [
    ("Give every FWA household at least 20 Mbps", "ue_throughput_mbps"),
    ("Keep eMBB throughput above 5 Mbps per user", "ue_throughput_mbps"),
    ("Keep eMBB throughput above 200 Mbps per site", "site_throughput_mbps"),
])
def test_per_ue_and_per_site(text: str, kpi: str, domain: Domain, kb: KnowledgeBase) -> None:
    assert {t[0] for t in targets(spec(text, domain, kb))} == {kpi}


@pytest.mark.parametrize(("text", "window"), [
    ("Keep eMBB loss below 5 % for the next two hours", ("18:30", "20:30")),
    ("Keep eMBB loss below 5 % in 30 minutes for an hour", ("19:00", "20:00")),
    ("Keep eMBB loss below 5 % until midnight", ("18:30", "00:00")),
    ("After 9 pm keep eMBB loss below 5 %", ("21:00", "00:00")),
    ("Keep eMBB loss below 5 % after 10 pm until 11:30 pm", ("22:00", "23:30")),
])
def test_relative_times(text: str, window: tuple[str, str], domain: Domain, kb: KnowledgeBase) -> None:
    w = spec(text, domain, kb).context.window
    assert w is not None
    assert (w.start, w.end) == window


def test_relative_time_without_a_clock_is_asked(domain: Domain, kb: KnowledgeBase) -> None:
    r = ask("Keep eMBB loss below 5 % for the next two hours", domain, kb, now=None)
    assert any("for the next 2 hours" in w for i in r.issues for w in i.words)


@pytest.mark.parametrize(("text", "slice_"), [
    ("Keep the latency of remote surgery below 30 ms", "URLLC"),
    ("Keep throughput for the households above 10 Mbps", "FWA"),
    ("Keep SST 2 loss under 2 %", "URLLC"),
    ("Keep 5QI 82 traffic latency below 30 ms", "URLLC"),
    ("Keep City Hospital latency under 25 ms", "URLLC"),
])
def test_services_and_customers(text: str, slice_: str, domain: Domain, kb: KnowledgeBase) -> None:
    assert {t[1] for t in targets(spec(text, domain, kb))} == {slice_}


def test_ambiguous_sst_is_asked(domain: Domain, kb: KnowledgeBase) -> None:
    r = ask("Keep throughput for SST 1 above 10 Mbps", domain, kb)
    assert "eMBB" in r.explanation
    assert "FWA" in r.explanation


@pytest.mark.parametrize(("text", "name"), [
    ("Prepare for a concert at the Riverside Arena", "Riverside Arena"),
    ("Prioritize URLLC reliability at the fairgrounds", "fairgrounds"),
    ("Keep Acme Corp loss below 2 %", "Acme Corp"),
    ("Keep URLLC jitter below 2 ms", "jitter"),
    ("Tomorrow keep eMBB loss below 5 %", "Tomorrow"),
])
def test_unknown_things_are_named_back(text: str, name: str, domain: Domain, kb: KnowledgeBase) -> None:
    r = ask(text, domain, kb)
    assert any(name.lower() in w.lower() for i in r.issues for w in i.words), r.issues


def test_mapping_says_which_words_became_what(domain: Domain, kb: KnowledgeBase) -> None:
    s = spec("Keep URLLC latency below 30 ms in the hospital zone from 6 pm to 10 pm", domain, kb)
    became = {m.words: m.became for m in s.mapping}
    assert became["urllc latency below 30 ms"] == "URLLC.p99_latency_ms IS_LESS_THAN 30 ms"
    assert any("hospital" in w and "cells 6, 9" in b for w, b in became.items())
    assert any(b == "time window 18:00-22:00" for b in became.values())


def test_every_mention_is_covered(domain: Domain, kb: KnowledgeBase) -> None:
    text = "Keep URLLC loss under 2 % in cell 6 after 9 pm, reserve 20 % of cell 6 for URLLC"
    fnd = parse(text, domain, SliceNames(domain, kb), "18:30")
    assert {m.kind for m in fnd.mentions} >= {"slice", "quantity", "cell", "time", "kpi"}
    s = spec(text, domain, kb)
    assert len(s.mapping) >= 4


def test_llm_spec_that_drops_a_number_is_caught(domain: Domain, kb: KnowledgeBase) -> None:
    text = "Cut resource cost by 20 % while keeping URLLC loss under 1 %"
    fnd = parse(text, domain, SliceNames(domain, kb))
    full = {"objective": {}, "context": {}, "actions": {},
            "targets": [{"kpi": "resource_cost", "condition": "IS_LESS_THAN", "value": 0.8, "relative": True},
                        {"kpi": "packet_loss", "condition": "IS_LESS_THAN", "value": 0.01, "slice": "URLLC"}]}
    assert llm_drops(spec_from_json(text, full, "llm"), fnd.mentions) == []
    dropped = {**full, "targets": full["targets"][1:]}
    assert llm_drops(spec_from_json(text, dropped, "llm"), fnd.mentions) == ["20 %"]

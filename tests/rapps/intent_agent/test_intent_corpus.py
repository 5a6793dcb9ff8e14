"""The public intent corpus: its shape, its reproducibility, and the compiler's accuracy on it (grammar-only and
with the embedding layer), plus the semantic layer's model card and calibrated decisions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from bench.intents import CLOCK, CORPUS, judge, load_corpus
from nextric.datacard import load_card
from rapps.intent_agent.compiler.compile import IntentCompiler
from rapps.intent_agent.compiler.domain import Domain, domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.semantic.matcher import EmbeddingMatcher, default_matcher
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of

SEMANTIC = Path(__file__).resolve().parents[3] / "rapps" / "intent_agent" / "compiler" / "semantic"
CATEGORIES = {"paraphrase", "number_words", "typos", "abbreviations", "mixed_units", "contradictions",
              "unknown_places", "impossible_ratios", "over_constrained", "polarity", "binding", "relative",
              "reservations", "services", "times", "transport", "per_ue_site"}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return domain_of(topology_of(load_scenario("twm_poc")))


@pytest.fixture(scope="module")
def matcher(domain: Domain) -> EmbeddingMatcher:
    return default_matcher(domain.slice_names())


def test_corpus_shape() -> None:
    rows = load_corpus()
    assert len(rows) >= 300
    assert {r["category"] for r in rows} >= CATEGORIES
    assert {r["split"] for r in rows} == {"dev", "heldout", "fresh"}
    assert {r["source"] for r in rows} == {"hand", "template"}
    assert len({r["text"] for r in rows}) == len(rows)  # a text written twice counts once (as dev if either is)
    assert all(r["expect"]["kind"] in ("spec", "clarification") for r in rows)


def test_templates_are_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("corpus_templates", CORPUS / "templates.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = [json.loads(x) for x in (CORPUS / "templated.jsonl").read_text().splitlines()]
    assert mod.generate() == rows


def _score(comp: IntentCompiler, rows: list[dict[str, Any]]) -> tuple[float, dict[str, float], int, int, list[str]]:
    per: dict[str, list[bool]] = {}
    drops = inverted = 0
    bad = []
    for r in rows:
        v = judge(r, comp.compile(r["text"], now=CLOCK))
        per.setdefault(r["category"], []).append(v.correct)
        drops += v.silent_drop
        inverted += v.inverted
        if not v.correct:
            bad.append(f"{r['id']}: {r['text']} -> {v.why}")
    allv = [x for xs in per.values() for x in xs]
    return sum(allv) / len(allv), {k: sum(v) / len(v) for k, v in per.items()}, drops, inverted, bad


@pytest.mark.parametrize("with_embeddings", [False, True])
def test_corpus_accuracy(with_embeddings: bool, domain: Domain, matcher: EmbeddingMatcher) -> None:
    comp = IntentCompiler(domain, KnowledgeBase.load(), matcher if with_embeddings else None)
    rows = [r for r in load_corpus() if with_embeddings or r["category"] != "semantic"]  # grammar alone asks there
    acc, per, drops, inverted, bad = _score(comp, rows)
    assert acc >= 0.95, bad
    assert min(per.values()) >= 0.90, (per, bad)
    assert drops == 0, bad
    assert inverted == 0, bad


def test_semantic_card_and_calibration() -> None:
    card = load_card(SEMANTIC / "semantic.card.json")
    assert card.kind == "model"
    cal = json.loads((SEMANTIC / "semantic.json").read_text())
    assert cal["evaluation"]["loo_precision_at_threshold"] >= 0.95
    assert 0.5 <= cal["calibration"]["threshold"] < 1.0


def test_semantic_matcher_accepts_and_refuses(matcher: EmbeddingMatcher) -> None:
    got = matcher.match(["operating theatre equipment", "households on fixed wireless", "the banana stand"],
                        ("slice",))
    assert [(m.value, m.accepted) for m in got[:2]] == [("URLLC", True), ("FWA", True)]
    assert not got[2].accepted
    assert all(0.0 <= m.confidence <= 1.0 for m in got)
    (k,) = matcher.match(["how long packets take"], ("kpi",))
    assert (k.value, k.accepted) == ("p99_latency_ms", True)


def test_semantic_layer_in_the_compiler(domain: Domain, matcher: EmbeddingMatcher) -> None:
    comp = IntentCompiler(domain, KnowledgeBase.load(), matcher)
    r = comp.compile("Keep latency for the operating theatre equipment below 25 ms")
    assert any("operating theatre equipment" in n and "URLLC" in n and "confidence" in n for n in r.notes)
    r2 = comp.compile("Keep the widget stuff above 5 Mbps")
    assert r2.__class__.__name__ == "Clarification"

"""Property-based tests (hypothesis): for generated intents every number of the text is in the spec or named in
a clarification, and the compiler never raises, whatever the text."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapps.intent_agent.compiler.compile import IntentCompiler
from rapps.intent_agent.compiler.domain import domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.spec import Clarification, IntentSpec
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of

COMPILER = IntentCompiler(domain_of(topology_of(load_scenario("twm_poc"))), KnowledgeBase.load())
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

SLICE = st.sampled_from(["URLLC", "eMBB", "FWA", "the households", "remote surgery", "video streaming", "SST 1",
                         "Acme", ""])
KPI = st.sampled_from(["latency", "packet loss", "throughput", "energy cost", "utilisation of the corridor links",
                       "jitter", "", "share of cell 4"])
CMP = st.sampled_from(["below", "above", "at most", "at least", "no more than", "do not let it exceed", "by", "to",
                       "under", "", "between 5 and"])
UNIT = st.sampled_from(["ms", "%", "Mbps", "s", "", "Gbps", "percent", "x"])
VERB = st.sampled_from(["Keep", "Reduce", "Increase", "Cap", "Reserve", "Halve", "Give", ""])
TAIL = st.sampled_from(["", " in cell 6", " in the hospital zone", " at the Riverside Arena", " after 9 pm",
                        " for the next 2 hours", " in cell 42", " tomorrow", " and eMBB loss under 3 %"])
NUMBER = st.one_of(st.integers(0, 300).map(str), st.floats(0.001, 250, allow_nan=False).map(lambda v: f"{v:.3g}"))


@st.composite
def intents(draw: st.DrawFn) -> str:
    clauses = []
    for _ in range(draw(st.integers(1, 3))):
        clauses.append(f"{draw(VERB)} {draw(SLICE)} {draw(KPI)} {draw(CMP)} {draw(NUMBER)} {draw(UNIT)}{draw(TAIL)}")
    return draw(st.sampled_from([", ", " and ", " while ", "; "])).join(clauses)


def _numbers(text: str) -> list[str]:
    return re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?", text)


@FAST
@given(intents())
def test_every_number_is_in_the_spec_or_asked_about(text: str) -> None:
    r = COMPILER.compile(text, now="18:30")
    assert not (isinstance(r, Clarification) and any(i.kind == "internal_error" for i in r.issues)), r
    if isinstance(r, Clarification):
        named = " ".join(w for i in r.issues for w in i.words) + " " + r.explanation + " " + \
            " ".join(m.words for m in r.mapping)
        # a clarification names the numbers it could not place; the ones it placed are in its word mapping
        for n in _numbers(text):
            assert n in named or any(n in m.words for m in r.mapping) or n in r.question, (text, n, r)
        return
    assert isinstance(r, IntentSpec)
    mapped = " ".join(m.words for m in r.mapping)
    for n in _numbers(text):
        assert n in mapped, (text, n, r.mapping)


@FAST
@given(st.text(max_size=200))
def test_compile_never_raises_on_any_text(text: str) -> None:
    r = COMPILER.compile(text, now="18:30")
    assert isinstance(r, IntentSpec | Clarification)
    assert not (isinstance(r, Clarification) and any(i.kind == "internal_error" for i in r.issues)), r


@FAST
@given(st.lists(st.sampled_from(["keep", "URLLC", "below", "5", "%", "ms", "cell", "4", "and", "not", "exceed", "by",
                                 "half", "twice", "reserve", "of", "for", "after", "9", "pm", "corridor", "links",
                                 "-", ",", "between", "to", "SST", "5QI", "82", "the", "sla"]), max_size=25))
def test_compile_never_raises_on_word_salad(words: list[str]) -> None:
    r = COMPILER.compile(" ".join(words), now="18:30")
    assert not (isinstance(r, Clarification) and any(i.kind == "internal_error" for i in r.issues)), r

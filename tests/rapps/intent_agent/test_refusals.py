"""Numbers no target can hold are refused, never replaced or read without their sign: in natural language
("below NaN ms", "below inf ms", "1e400 Mbps" -> invalid_value; "below -5 ms" -> out_of_range, never 5 ms or the
SLA's 20 ms), in an LLM's spec, in structured TS 28.312 expectations; and the intent API answers problem+json
for every malformed request (expression shapes, non-finite JSON numbers, an out-of-range ``after``, a body above
the size limit) over real HTTP on port 0."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from nextric.errors import ValidationError
from nextric.obs.serve import start_http
from nextric.sdl.embedded import EmbeddedSdl
from rapps.intent_agent.app import build_agent, create_app, load_description
from rapps.intent_agent.compiler.compile import IntentCompiler
from rapps.intent_agent.compiler.domain import domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.llm import check_llm_spec
from rapps.intent_agent.compiler.spec import Clarification, IntentSpec, Target
from rapps.intent_agent.intents.expectations import from_expectations
from rapps.intent_agent.service import IntentAgent
from rapps.intent_agent.settings import Grant, IntentAgentSettings
from testbed.core.scenario import load_scenario
from testbed.describe import cell_keys, description, topology_of

TMF = "/tmf-api/intentManagement/v5"
OP = "op-token-refusals"
DOMAIN = domain_of(topology_of(load_scenario("twm_poc")))
COMPILER = IntentCompiler(DOMAIN, KnowledgeBase.load())


def _kinds(r: object) -> list[str]:
    assert isinstance(r, Clarification), r
    return [i.kind for i in r.issues]


# ------------------------------------------------------------------------------------------------------ compiler


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Keep URLLC p99 latency below NaN ms", "NaN ms"),
        ("keep urllc latency below nan ms", "nan ms"),
        ("Keep URLLC p99 latency below inf ms", "inf ms"),
        ("Keep URLLC p99 latency under infinity ms", "infinity ms"),
        ("Keep URLLC latency below ∞ ms", "∞ ms"),
        ("Keep eMBB throughput above 1e400 Mbps", "1e400 Mbps"),
        ("Keep eMBB throughput above -inf Mbps", "-inf Mbps"),
        ("Keep URLLC loss below NaN %", "NaN %"),
    ],
)
def test_non_finite_numbers_are_refused_not_replaced_by_the_sla(text: str, words: str) -> None:
    r = COMPILER.compile(text)
    assert "invalid_value" in _kinds(r)
    assert isinstance(r, Clarification)
    issue = next(i for i in r.issues if i.kind == "invalid_value")
    assert issue.words == (words,)
    assert "finite" in issue.message
    assert words in r.question


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Keep URLLC p99 latency below -5 ms", "-5 ms"),
        ("Keep URLLC p99 latency below −5 ms", "−5 ms"),  # U+2212 minus sign
        ("Keep URLLC p99 latency under minus 5 ms", "minus 5 ms"),
        ("Keep URLLC loss below -1 %", "-1 %"),
        ("Keep eMBB throughput above negative 20 Mbps", "negative 20 Mbps"),
        ("Reduce URLLC p99 latency by -10 %", "-10 %"),
    ],
)
def test_negative_numbers_are_out_of_range_not_read_without_their_sign(text: str, words: str) -> None:
    r = COMPILER.compile(text)
    assert "out_of_range" in _kinds(r)
    assert isinstance(r, Clarification)
    issue = next(i for i in r.issues if i.kind == "out_of_range")
    assert issue.words == (words,)
    assert "negative" in issue.message


@pytest.mark.parametrize("text", ["Keep URLLC p99 latency between 10 and 20 ms", "Keep URLLC latency at 10-20 ms",
                                  "Keep URLLC p99 latency below 25 ms", "Keep URLLC loss below 1e-4",
                                  "Keep URLLC latency at the SLA minus 5 ms in cell 6"])
def test_ranges_and_plain_numbers_are_no_refusal(text: str) -> None:
    r = COMPILER.compile(text)
    kinds = [] if isinstance(r, IntentSpec) else [i.kind for i in r.issues]
    assert "out_of_range" not in kinds
    assert "invalid_value" not in kinds


BAD = st.sampled_from(["NaN", "nan", "inf", "Infinity", "-inf", "∞", "1e400", "-1e999", "-5", "−3.5", "minus 7",
                       "negative 2"])
SLICE = st.sampled_from(["URLLC", "eMBB", "FWA"])
KPI = st.sampled_from(["p99 latency", "packet loss", "throughput", "latency", "loss"])
CMP = st.sampled_from(["below", "under", "above", "at most", "at least", "to"])
UNIT = st.sampled_from(["ms", "%", "Mbps", ""])
TAIL = st.sampled_from(["", " in cell 6", " in the hospital zone", " and eMBB loss under 3 %"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.tuples(st.sampled_from(["Keep", "Cap", "Hold", "Give"]), SLICE, KPI, CMP, BAD, UNIT, TAIL))
def test_no_spec_ever_holds_a_number_the_text_did_not_give(parts: tuple[str, ...]) -> None:
    verb, sl, kpi, cmp, bad, unit, tail = parts
    text = f"{verb} {sl} {kpi} {cmp} {bad} {unit}{tail}".replace("  ", " ").strip()
    r = COMPILER.compile(text)
    assert isinstance(r, Clarification), (text, r)
    assert {"invalid_value", "out_of_range"} & set(_kinds(r)), (text, r.issues)
    assert all(math.isfinite(t.value) for t in getattr(r, "targets", ()))


def test_llm_specs_with_non_finite_or_negative_targets_are_set_aside() -> None:
    base = COMPILER.compile("Keep URLLC p99 latency below 25 ms")
    assert isinstance(base, IntentSpec)
    for value in (math.nan, math.inf, -5.0):
        spec = IntentSpec(base.text, base.objective, (Target("p99_latency_ms", "IS_LESS_THAN", value,
                                                            slice="URLLC", unit="ms"),), base.context, base.actions)
        assert check_llm_spec(spec, DOMAIN), value
    assert check_llm_spec(base, DOMAIN) == []


# ---------------------------------------------------------------------------------------- structured expectations


def expectation(target: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    tgt = {"targetName": "URLLC.p99LatencyMs", "targetCondition": "IS_LESS_THAN", "targetValueRange": 25}
    return {"expectationVerb": "ENSURE", "expectationTargets": [{**tgt, **(target or {})}], **extra}


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ({"targetValueRange": "nan"}, "not a finite number"),
        ({"targetValueRange": "inf"}, "not a finite number"),
        ({"targetValueRange": "1e400"}, "not a finite number"),
        ({"targetValueRange": -5}, "out of range"),
        ({"targetValueRange": 0}, "out of range"),
        ({"targetValueRange": 10**7}, "out of range"),
        ({"targetName": "URLLC.packetLossRate", "targetValueRange": 1.5}, "out of range"),
        ({"targetName": "eMBB.throughputMbps", "targetValueRange": -1}, "out of range"),
        ({"targetValueRange": [5, 10]}, "one value"),
        ({"targetCondition": "IS_WITHIN_RANGE", "targetValueRange": 5}, "[lower, upper]"),
        ({"targetCondition": "IS_WITHIN_RANGE", "targetValueRange": [20, 10]}, "empty"),
        ({"targetValueRange": True}, "expected a number"),
        ({"targetName": 5}, "targetName"),
    ],
)
def test_structured_targets_out_of_range_or_not_finite_are_refused(target: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        from_expectations("", [expectation(target)], DOMAIN)
    assert fragment in str(err.value)
    assert "intentExpectations[0]" in str(err.value) or "targetName" in str(err.value)


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("not a list", "intentExpectations: expected an array"),
        (["not an object"], "intentExpectations[0]: expected an object"),
        ([expectation(expectationVerb="PLEASE")], "expectationVerb"),
        ([expectation(expectationTargets={"a": 1})], "expectationTargets: expected an array"),
        ([expectation(expectationObject=[])], "expectationObject: expected an object"),
        ([expectation(expectationContexts=["x"])], "expectationContexts[0]: expected an object"),
        ([expectation(expectationContexts=[{"contextAttribute": "timeWindow"}])], "time window"),
        ([expectation(expectationContexts=[{"contextAttribute": "timeWindow", "contextValueRange": [1, 2, 3]}])],
         "time window"),
        ([expectation(expectationContexts=[{"contextAttribute": "timeWindow",
                                            "contextValueRange": ["18:00", "25:00"]}])], "time window"),
        ([expectation(expectationContexts=[{"contextAttribute": "coverageArea", "contextValueRange": ["cell-x"]}])],
         "not a cell id"),
    ],
)
def test_malformed_expectation_shapes_are_validation_errors(doc: Any, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        from_expectations("", doc, DOMAIN)
    assert fragment in str(err.value)


def test_well_formed_expectations_still_compile() -> None:
    spec = from_expectations("", [expectation(
        {"targetCondition": "IS_WITHIN_RANGE", "targetValueRange": [10, "30"]},
        expectationContexts=[{"contextAttribute": "coverageArea", "contextValueRange": ["cell-6", 9.0]},
                             {"contextAttribute": "timeWindow", "contextValueRange": ["18:00", "22:00"]}])], DOMAIN)
    assert (spec.targets[0].value, spec.targets[0].upper) == (10.0, 30.0)
    assert spec.context.cells == (6, 9)
    assert spec.context.window is not None


# ---------------------------------------------------------------------------------------------- API, real HTTP


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, IntentAgent]]:
    settings_ = IntentAgentSettings(audit_path=str(tmp_path / "audit.db"), max_body_bytes=16 * 1024,
                                    tokens=[Grant(name="noc", token=SecretStr(OP), roles=["operator"])])
    sc = load_scenario("twm_poc")
    inventory = tmp_path / "network.json"
    inventory.write_text(json_format.MessageToJson(description(sc, "twm_poc", cell_keys(sc))), encoding="utf-8")
    agent = build_agent(settings_, EmbeddedSdl(), load_description(inventory))
    srv = await start_http(create_app(settings_, agent), "127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {OP}"}) as c:
        yield c, agent
    await srv.stop()
    agent.audit.close()


def _problem(r: httpx.Response, status: int, fragment: str = "") -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body = r.json()
    assert body["status"] == status
    assert body["title"]
    assert fragment in body.get("detail", ""), body


def _expr(expectations: Any) -> dict[str, Any]:
    return {"expression": {"@type": "JsonLdExpression", "expressionValue": {"intentExpectations": expectations}}}


MALFORMED = [
    ({"expression": []}, "body/expression"),
    ({"expression": "x"}, "body/expression"),
    ({"expression": {"expressionValue": []}}, "expressionValue"),
    (_expr({"a": 1}), "intentExpectations"),
    (_expr("abc"), "intentExpectations"),
    (_expr(["abc"]), "intentExpectations/0"),
    (_expr([expectation(expectationTargets={"a": 1})]), "expectationTargets"),
    (_expr([expectation(expectationTargets=["x"])]), "expectationTargets/0"),
    (_expr([expectation({"targetValueRange": []})]), "targetValueRange"),
    (_expr([expectation({"targetValueRange": [1, 2, 3]})]), "targetValueRange"),
    (_expr([expectation({"targetValueRange": {}})]), "targetValueRange"),
    (_expr([expectation({"targetValueRange": "nan"})]), "not a finite number"),
    (_expr([expectation({"targetValueRange": -5})]), "out of range"),
    (_expr([expectation({"targetName": 5})]), "targetName"),
    (_expr([expectation(expectationContexts=[{"contextAttribute": "timeWindow", "contextValueRange": [1, 2, 3]}])]),
     "time window"),
    (_expr([expectation(expectationContexts=[{"contextAttribute": "timeWindow"}])]), "time window"),
    (_expr([expectation(expectationContexts=[{"contextAttribute": "coverageArea", "contextValueRange": ["x"]}])]),
     "cell id"),
    (_expr([expectation(expectationContexts=["x"])]), "expectationContexts/0"),
    (_expr([expectation(expectationObject={"objectContexts": "x"})]), "objectContexts"),
    (_expr([expectation(expectationObject=[])]), "expectationObject"),
]


async def test_malformed_expressions_are_400_problem_json_and_nothing_is_stored(
    served: tuple[httpx.AsyncClient, IntentAgent],
) -> None:
    c, agent = served
    for body, fragment in MALFORMED:
        _problem(await c.post(f"{TMF}/intent", json=body), 400, fragment)
    assert agent.intents == {}
    assert agent.audit.query() == []
    # and the same shapes on PATCH of an existing intent
    r = await c.post(f"{TMF}/intent", json={"naturalLanguage": "Keep URLLC loss below 1 % in cell 6",
                                            "mode": "shadow"})
    assert r.status_code == 201
    iid = r.json()["id"]
    for body, fragment in MALFORMED[:6]:
        _problem(await c.patch(f"{TMF}/intent/{iid}", json=body), 400, fragment)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 30])
async def test_non_finite_json_numbers_are_refused_naming_the_field(
    served: tuple[httpx.AsyncClient, IntentAgent], literal: str,
) -> None:
    c, agent = served
    doc = json.dumps(_expr([expectation({"targetValueRange": "__X__"})])).replace('"__X__"', literal)
    r = await c.post(f"{TMF}/intent", content=doc, headers={"content-type": "application/json"})
    _problem(r, 400, "expressionValue/intentExpectations/0/expectationTargets/0/targetValueRange")
    r = await c.post(f"{TMF}/intent", content=f'{{"naturalLanguage": "Keep URLLC loss below 1 %", "x": {literal}}}',
                     headers={"content-type": "application/json"})
    _problem(r, 400, "body/x")
    assert agent.intents == {}


async def test_natural_language_with_a_non_finite_number_asks_back(
    served: tuple[httpx.AsyncClient, IntentAgent],
) -> None:
    c, _ = served
    for text, kind in (("Keep URLLC p99 latency below NaN ms", "invalid_value"),
                       ("Keep URLLC p99 latency below inf ms", "invalid_value"),
                       ("Keep URLLC p99 latency below -5 ms", "out_of_range")):
        r = await c.post(f"{TMF}/intent", json={"naturalLanguage": text})
        assert r.status_code == 201, r.text
        it = r.json()
        assert it["lifecycleStatus"] == "needsClarification"
        assert kind in [i["kind"] for i in it["compilation"]["issues"]]
        assert it["expression"]["expressionValue"]["intentExpectations"] == []  # no SLA default slipped in


@pytest.mark.parametrize("after", ["1" + "0" * 30, str(2**63), "-1"])
async def test_out_of_range_after_is_400_problem_json(served: tuple[httpx.AsyncClient, IntentAgent],
                                                      after: str) -> None:
    c, _ = served
    _problem(await c.get("/rapp/v1/audit", params={"after": after}), 400, "query/after")
    assert (await c.get("/rapp/v1/audit", params={"after": str(2**63 - 1)})).status_code == 200


async def test_body_above_the_limit_is_413_problem_json(served: tuple[httpx.AsyncClient, IntentAgent]) -> None:
    c, agent = served
    big = {"naturalLanguage": "Keep URLLC loss below 1 %", "description": "x" * (16 * 1024)}
    _problem(await c.post(f"{TMF}/intent", json=big), 413, "16384 bytes")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the streamed bytes are counted
        yield b'{"naturalLanguage": "Keep URLLC loss below 1 %", "description": "'
        for _ in range(20):
            yield b"y" * 1024
        yield b'"}'

    r = await c.post(f"{TMF}/intent", content=chunks(), headers={"content-type": "application/json"})
    _problem(r, 413)
    assert agent.intents == {}
    assert IntentAgentSettings().max_body_bytes == 64 * 1024


async def test_unexpected_errors_are_500_problem_json(served: tuple[httpx.AsyncClient, IntentAgent],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    c, agent = served

    async def broken(body: dict[str, Any], who: str) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(agent, "create", broken)
    r = await c.post(f"{TMF}/intent", json={"naturalLanguage": "Keep URLLC loss below 1 %"})
    _problem(r, 500)
    assert "boom" not in r.text  # no internals leak


async def test_openapi_documents_problem_json_for_intent_writes(
    served: tuple[httpx.AsyncClient, IntentAgent],
) -> None:
    c, _ = served
    doc = (await c.get("/openapi.json")).json()
    post = doc["paths"][f"{TMF}/intent"]["post"]["responses"]
    assert {"400", "413"} <= set(post)
    assert "application/problem+json" in post["413"]["content"]

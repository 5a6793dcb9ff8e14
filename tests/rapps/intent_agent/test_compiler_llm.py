"""The LLM path against a local OpenAI-compatible test server that answers with canned tool calls.

The fake stands only for the external model: the HTTP client, schema validation, semantic checks and the
fallback to the grammar compiler are the real ones."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from rapps.intent_agent.compiler.domain import domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.llm import TOOL_NAME, LlmCompiler, LlmConfig
from rapps.intent_agent.compiler.spec import Clarification, IntentSpec
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of

GOOD = {
    "objective": {"scm": 1.0, "cost": 0.8, "risk": 1.0, "risk_quantile": 0.1, "priority_slices": ["URLLC"],
                  "verb": "MAXIMIZE"},
    "targets": [{"kpi": "packet_loss", "condition": "IS_LESS_THAN", "value": 0.1, "slice": "URLLC", "source": "sla"},
                {"kpi": "resource_cost", "condition": "IS_WITHIN_RANGE", "value": 0.9, "upper": 1.1,
                 "relative": True}],
    "context": {"zone": "hospital", "cells": [6, 9], "window": {"label": "evening", "start": "18:00", "end": "22:00"}},
    "actions": {"kinds": ["slice_prb_quota"]},
}


class FakeModel:
    """Canned chat completions over real HTTP (stdlib server on port 0); records what it was asked."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] = {}
        self.status = 200
        self.requests: list[dict[str, Any]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                fake.requests.append(json.loads(self.rfile.read(n)))
                ok = self.path == "/v1/chat/completions" and fake.status == 200
                body = json.dumps(fake.answer if ok else {"error": "overloaded"}).encode()
                self.send_response(fake.status if self.path == "/v1/chat/completions" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def completion(args: Any, name: str = TOOL_NAME) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)
                                                              if not isinstance(args, str) else args}}]}}]}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeModel, str]]:
    fake = FakeModel()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield fake, f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    t.join(10)


@pytest.fixture
def compiler(served: tuple[FakeModel, str]) -> LlmCompiler:
    sc = load_scenario("twm_poc")
    return LlmCompiler(LlmConfig(served[1], "fake-7b", timeout_s=5.0), domain_of(topology_of(sc)), KnowledgeBase.load(),
                       httpx.Client(timeout=5.0))


TEXT = "Prioritize URLLC reliability in the hospital zone during evening demand peaks while keeping total " \
       "resource cost near the daytime baseline"


def test_valid_tool_call_is_used(served: tuple[FakeModel, str], compiler: LlmCompiler) -> None:
    fake, _ = served
    fake.status, fake.answer = 200, completion(GOOD)
    spec = compiler.compile(TEXT)
    assert isinstance(spec, IntentSpec)
    assert spec.backend == "llm"
    assert spec.context.cells == (6, 9)
    assert spec.objective.priority_slices == ("URLLC",)
    assert any("fake-7b" in n for n in spec.notes)
    req = fake.requests[-1]
    assert req["tools"][0]["function"]["name"] == TOOL_NAME
    assert req["tool_choice"]["function"]["name"] == TOOL_NAME
    assert req["tools"][0]["function"]["parameters"]["title"] == "IntentSpec"


@pytest.mark.parametrize(("answer", "why"), [
    (completion({**GOOD, "targets": [{"kpi": "latency", "condition": "IS_LESS_THAN", "value": 5}]}), "schema"),
    (completion({**GOOD, "extra": 1}), "schema"),
    (completion("{not json"), "not JSON"),
    (completion(GOOD, name="other_tool"), "no submit_intent_spec call"),
    ({"choices": []}, "not a chat completion"),
    (completion({**GOOD, "context": {"cells": [42]}}), "unknown cell 42"),
    (completion({**GOOD, "objective": {"priority_slices": ["mMTC"]}}), "unknown slice mMTC"),
])
def test_invalid_output_falls_back_to_grammar(answer: dict[str, Any], why: str, served: tuple[FakeModel, str],
                                               compiler: LlmCompiler) -> None:
    fake, _ = served
    fake.status, fake.answer = 200, answer
    spec = compiler.compile(TEXT)
    assert isinstance(spec, IntentSpec)
    assert spec.backend == "grammar"
    assert any("LLM backend unusable" in n and why in n for n in spec.notes), spec.notes
    assert spec.context.cells == (6, 9)


def test_llm_spec_that_drops_a_number_is_rejected(served: tuple[FakeModel, str], compiler: LlmCompiler) -> None:
    fake, _ = served
    text = "Cut resource cost by 15 % and keep URLLC loss below 10 % in the hospital zone"
    fake.status, fake.answer = 200, completion({**GOOD, "targets": GOOD["targets"][:1]})  # the cost cut dropped
    spec = compiler.compile(text)
    assert isinstance(spec, IntentSpec)
    assert spec.backend == "grammar"
    assert any("coverage check" in n for n in spec.notes), spec.notes


def test_http_error_falls_back(served: tuple[FakeModel, str], compiler: LlmCompiler) -> None:
    fake, _ = served
    fake.status = 503
    spec = compiler.compile(TEXT)
    assert isinstance(spec, IntentSpec)
    assert any("503" in n for n in spec.notes)
    fake.status = 200


def test_model_cannot_paper_over_a_contradiction(served: tuple[FakeModel, str], compiler: LlmCompiler) -> None:
    fake, _ = served
    fake.status, fake.answer = 200, completion(GOOD)
    r = compiler.compile("Keep URLLC latency below 10 ms and above 15 ms")
    assert isinstance(r, Clarification)
    assert r.issues[0].kind == "contradictory"
    assert r.backend == "llm+grammar"

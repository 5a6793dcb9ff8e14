"""``nextric bench fuzz --quick`` (bench/fuzz.py): no 5xx on either HTTP API, nothing non-finite stored, no crash
of the compiler, the guardrail or any gRPC method; and the counting can fail (a planted 500 is counted)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bench import fuzz
from nextric.obs.serve import start_http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick() -> dict[str, Any]:
    return fuzz.run(quick=True)


def test_http_apis_answer_without_5xx_and_store_only_finite_numbers(quick: dict[str, Any]) -> None:
    for target in ("policy_http", "intent_http"):
        got = quick[target]
        assert got["operations"] >= 10, got
        assert got["requests"] > 100, got
        assert got["5xx"] == 0, got["server_errors"]
        assert got["no_response"] == 0, got["transport_errors"]
        assert got["by_class"].get("2xx", 0) > 0, got["by_class"]
        assert got["by_class"].get("4xx", 0) > 0, got["by_class"]
    stored = quick["stored"]
    assert stored["policies"] > 0, stored
    assert stored["intents"] > 0, stored
    assert stored["non_finite"] == 0, stored["non_finite_examples"]


def test_the_intent_compiler_never_crashes(quick: dict[str, Any]) -> None:
    assert quick["compiler"]["examples"] >= 100
    assert quick["compiler"]["crashes"] == 0, quick["compiler"]["crash_examples"]


def test_the_guardrail_never_crashes(quick: dict[str, Any]) -> None:
    assert quick["guardrail"]["examples"] >= 200
    assert quick["guardrail"]["crashes"] == 0, quick["guardrail"]["crash_examples"]


def test_every_grpc_method_is_fuzzed_and_the_server_keeps_answering(quick: dict[str, Any]) -> None:
    g = quick["grpc"]
    assert g["methods"] == len(fuzz.grpc_methods()) >= 13
    assert g["stopped_answering"] == 0, g["unanswered"]
    assert g["crashes_handler"] == 0, [e for e in g["crash_examples"] if e["class"] == "handler"]
    for method, counts in g["per_method"].items():
        assert sum(counts.values()) == 1 + 2 * fuzz.BUDGET[True]["grpc"], method


def test_no_grpc_method_answers_unknown_or_internal(quick: dict[str, Any]) -> None:
    assert quick["grpc"]["crashes"] == 0, quick["grpc"]["crash_examples"]


def test_a_planted_500_is_counted_and_fails_the_verdict() -> None:
    app = FastAPI()

    @app.get("/boom/{n}")
    async def boom(n: int) -> JSONResponse:
        return JSONResponse({"n": n}, status_code=500 if n % 2 == 0 else 200)

    async def serve() -> Any:
        return await start_http(app, "127.0.0.1", 0)

    loop = fuzz.LoopThread()
    try:
        srv = loop.run(serve())
        tally = fuzz.HttpTally()
        assert fuzz.fuzz_openapi(srv.base_url, "t", tally, 10, fuzz.SEED) == 1
        loop.run(srv.stop())
    finally:
        loop.close()
    assert tally.n_5xx > 0
    assert tally.server_errors[0]["status"] == 500
    assert tally.server_errors[0]["path"].startswith("/boom/")
    out = {"policy_http": {"5xx": tally.n_5xx, "no_response": 0}, "intent_http": {"5xx": 0, "no_response": 0},
           "compiler": {"crashes": 0}, "guardrail": {"crashes": 0}, "grpc": {"crashes": 0, "stopped_answering": 0},
           "stored": {"non_finite": 0}}
    assert fuzz.verdict(out)["pass"] is False
    assert fuzz.verdict({**out, "policy_http": {"5xx": 0, "no_response": 0}})["pass"] is True


def test_mutations_are_deterministic() -> None:
    import random

    a = [fuzz.mutate(b"\x08\x01\x12\x03abc", random.Random(5)) for _ in range(3)]
    b = [fuzz.mutate(b"\x08\x01\x12\x03abc", random.Random(5)) for _ in range(3)]
    assert a == b

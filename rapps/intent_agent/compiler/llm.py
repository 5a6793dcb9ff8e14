"""Optional LLM backend: any OpenAI-compatible chat endpoint with function calling (vLLM, llama.cpp server,
Ollama). The model must answer with a ``submit_intent_spec`` tool call whose arguments validate against
:data:`~rapps.intent_agent.compiler.spec.SPEC_SCHEMA`; the spec then passes the same SLA / knowledge-base
checks as the grammar's. Anything else (no tool call, invalid JSON, schema errors, HTTP errors, timeouts)
falls back to the deterministic compiler, and the result says so in its notes. The LLM's spec is held to the
same coverage check as the grammar's: a spec that drops a number of the text is rejected like any other."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

import httpx
import jsonschema

from rapps.intent_agent.compiler.compile import IntentCompiler
from rapps.intent_agent.compiler.coverage import llm_drops
from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.grammar import parse
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.spec import SPEC_SCHEMA, Clarification, CompileResult, IntentSpec, spec_from_json

TOOL_NAME = "submit_intent_spec"


@dataclass(frozen=True)
class LlmConfig:
    base_url: str  #: e.g. http://127.0.0.1:8000/v1
    model: str
    api_key: str | None = None
    timeout_s: float = 20.0


def system_prompt(domain: Domain) -> str:
    slices = ", ".join(f"{s.name} (loss <= {s.sla_loss:g}" + (f", p99 <= {s.sla_p99_ms:g} ms)" if s.sla_p99_ms
                                                               else ")") for s in domain.slices)
    zones = ", ".join(f"{z}: cells {list(c)}" for z, c in domain.zones.items())
    return ("You compile operator intents for a 5G RAN into a machine-readable spec. Call the tool "
            f"{TOOL_NAME} exactly once. Slices and their SLAs: {slices}. Zones: {zones}. Cells: "
            f"{list(domain.cells)}. Latency in ms, loss and shares as fractions, cost targets relative to the "
            "pre-intent baseline. Do not guess missing facts.")


def request_body(text: str, domain: Domain, model: str) -> dict[str, Any]:
    return {
        "model": model,
        "temperature": 0,
        "messages": [{"role": "system", "content": system_prompt(domain)}, {"role": "user", "content": text}],
        "tools": [{"type": "function", "function": {"name": TOOL_NAME, "description": "The compiled intent spec",
                                                    "parameters": SPEC_SCHEMA}}],
        "tool_choice": {"type": "function", "function": {"name": TOOL_NAME}},
    }


def parse_tool_call(payload: dict[str, Any]) -> dict[str, Any]:
    """The arguments of the ``submit_intent_spec`` call in a chat completion, schema-validated (ValueError)."""
    try:
        calls = payload["choices"][0]["message"].get("tool_calls") or []
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a chat completion: {exc}") from exc
    call = next((c for c in calls if c.get("function", {}).get("name") == TOOL_NAME), None)
    if call is None:
        raise ValueError(f"the model made no {TOOL_NAME} call")
    args = call["function"].get("arguments", "{}")
    try:
        obj = json.loads(args) if isinstance(args, str) else args
    except json.JSONDecodeError as exc:
        raise ValueError(f"tool call arguments are not JSON: {exc}") from exc
    errors = sorted(jsonschema.Draft7Validator(SPEC_SCHEMA).iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise ValueError(f"spec fails the schema at /{'/'.join(map(str, e.path))}: {e.message}")
    return dict(obj)


def check_llm_spec(spec: IntentSpec, domain: Domain) -> list[str]:
    """Semantic checks the schema cannot express: known slices and cells, sane targets."""
    bad = []
    names = set(domain.slice_names())
    for t in spec.targets:
        if t.slice is not None and t.slice not in names:
            bad.append(f"unknown slice {t.slice}")
        values = [t.value, *([t.upper] if t.upper is not None else [])]
        if not all(math.isfinite(v) for v in values):
            bad.append(f"non-finite value for {t.kpi}")
        elif any(v < 0 for v in values):
            bad.append(f"negative value for {t.kpi}")
        if t.condition == "IS_WITHIN_RANGE" and (t.upper is None or t.upper < t.value):
            bad.append(f"empty range for {t.kpi}")
    bad += [f"unknown slice {s}" for s in spec.objective.priority_slices if s not in names]
    bad += [f"unknown cell {c}" for c in spec.context.cells if c not in domain.cells]
    if spec.context.zone is not None and spec.context.zone not in domain.zones:
        bad.append(f"unknown zone {spec.context.zone}")
    return bad


class LlmCompiler:
    """LLM first, the grammar compiler as the fallback and as the judge of SLA / KB consistency."""

    def __init__(self, config: LlmConfig, domain: Domain, kb: KnowledgeBase,
                 client: httpx.Client | None = None, grammar: IntentCompiler | None = None) -> None:
        self.config, self.domain, self.kb = config, domain, kb
        self.grammar = grammar or IntentCompiler(domain, kb)
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self.client = client or httpx.Client(timeout=config.timeout_s, headers=headers)

    def compile(self, text: str, now: str | None = None) -> CompileResult:
        reference = self.grammar.compile(text, now)
        try:
            r = self.client.post(self.config.base_url.rstrip("/") + "/chat/completions",
                                 json=request_body(text, self.domain, self.config.model))
            r.raise_for_status()
            obj = parse_tool_call(r.json())
            spec = spec_from_json(text, obj, "llm")
            bad = check_llm_spec(spec, self.domain)
            if isinstance(reference, IntentSpec):
                dropped = llm_drops(spec, parse(text, self.domain, self.grammar.names, now).mentions)
                bad += [f"the spec drops '{d}' of the intent (coverage check)" for d in dropped]
            if bad:
                raise ValueError("; ".join(bad))
        except (httpx.HTTPError, ValueError) as exc:
            note = f"LLM backend unusable ({str(exc)[:200]}); used the grammar compiler"
            return replace(reference, notes=(*reference.notes, note))
        if isinstance(reference, Clarification):
            # the grammar found a contradiction / missing fact the model papered over: ask, never guess
            return replace(reference, notes=(*reference.notes, "the LLM's spec was set aside: the intent needs "
                                             "clarification first"), backend="llm+grammar")
        return replace(spec, evidence=reference.evidence,
                       notes=(*spec.notes, *reference.notes, f"compiled by {self.config.model}"))

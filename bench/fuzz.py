"""``nextric bench fuzz``: the suite under malformed and hostile input, counted.

Four targets, every one deterministic (fixed seeds, no hypothesis database):

* **HTTP**: schemathesis against the served ``/openapi.json`` of the real policy service (SQLite in a temporary
  folder) and of the real intent rApp (embedded SDL, network from an inventory file), both on 127.0.0.1 port 0
  behind bearer tokens; positive and negative cases per operation, the real policy type ids and bodies (and real
  intent texts) as explicit inputs, then real A1 bodies with poisoned numbers (NaN, Infinity, 1e400, huge
  integers) sent as raw JSON. Every response is counted by status class; a 5xx is a failure. Afterwards every stored
  A1 policy and every intent (and plan) is read back, in process and over HTTP, and must hold finite numbers only.
* **compiler**: hypothesis text (numbers such as nan, inf, 1e400, -5 included) into the intent compiler; any
  exception, or an ``internal_error`` clarification, is a crash.
* **guardrail**: hypothesis action bodies (well-formed, near-valid with hostile numbers, arbitrary JSON) through
  the wire codec and the engine; only :class:`~nextric.errors.ValidationError` is an expected refusal.
* **gRPC**: for every method of the testbed's services (E2 node, transport, twin, evaluation, health), random byte
  strings and mutated valid requests sent raw; a crash is UNKNOWN / INTERNAL / DATA_LOSS or a server that stops
  answering its health check (UNKNOWN for an undecodable request is counted apart from UNKNOWN out of a handler).

Counts go to ``bench/results/fuzz.json``; ``--quick`` keeps the whole run to about half a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import random
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results

T = TypeVar("T")
SEED = 20_260_717
TMF = "/tmf-api/intentManagement/v5"
SLA_TYPE = "ORAN_SliceSLATarget_1.0.0"
GUARD_TYPE = "NEXTRIC_Guardrail_1.0.0"

#: (examples per operation and mode, poisoned A1 bodies per type, compiler texts, guardrail bodies, gRPC requests
#: per method and kind)
BUDGET = {
    True: {"http_examples": 6, "a1_poison": 12, "compiler": 150, "guardrail": 300, "grpc": 12},
    False: {"http_examples": 60, "a1_poison": 120, "compiler": 2000, "guardrail": 4000, "grpc": 150},
}

#: raw JSON number literals no finite double holds (Python's json accepts all of them)
POISON_LITERALS = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "-0", "1e-400",
                   "9007199254740993")


# --------------------------------------------------------------------------------------------------------------
# counting


@dataclass
class HttpTally:
    """Responses of one HTTP target: by status class and by operation; every 5xx kept with its request."""

    requests: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    transport_errors: list[dict[str, Any]] = field(default_factory=list)

    def record(self, method: str, path: str, status: int, body: str = "", request_body: Any = None) -> None:
        self.requests += 1
        self.by_class[f"{status // 100}xx"] += 1
        self.by_status[status] += 1
        self.by_operation[f"{method.upper()} {path}"] += 1
        if status >= 500 and len(self.server_errors) < 50:
            self.server_errors.append({"method": method.upper(), "path": path, "status": status,
                                       "request_body": _short(request_body), "response": body[:500]})

    def transport_error(self, method: str, path: str, error: BaseException) -> None:
        self.requests += 1
        self.by_class["no response"] += 1
        if len(self.transport_errors) < 50:
            self.transport_errors.append({"method": method.upper(), "path": path, "error": repr(error)[:300]})

    @property
    def n_5xx(self) -> int:
        return sum(n for s, n in self.by_status.items() if s >= 500)

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "by_class": dict(sorted(self.by_class.items())),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())}, "5xx": self.n_5xx,
                "no_response": self.by_class.get("no response", 0), "distinct_paths": len(self.by_operation),
                "server_errors": self.server_errors, "transport_errors": self.transport_errors}


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return text if len(text) <= 500 else text[:500] + "..."


@dataclass
class CallTally:
    """Examples through an in-process function: expected refusals, crashes (kept with their input)."""

    examples: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    crashes: list[dict[str, Any]] = field(default_factory=list)

    def crash(self, given: Any, error: str) -> None:
        self.outcomes["crash"] += 1
        if len(self.crashes) < 50:
            self.crashes.append({"input": _short(given), "error": error[:500]})

    def summary(self) -> dict[str, Any]:
        return {"examples": self.examples, "outcomes": dict(sorted(self.outcomes.items())),
                "crashes": self.outcomes.get("crash", 0), "crash_examples": self.crashes}


# --------------------------------------------------------------------------------------------------------------
# the services, on a background event loop


class LoopThread:
    """An asyncio loop on a daemon thread: the servers live there, the fuzzers (synchronous) call them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-servers", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5.0)
        self.loop.close()


@dataclass
class Services:
    loop: LoopThread
    token: str
    policy_url: str
    policy_app: Any
    intent_url: str
    agent: Any
    grpc_target: str
    grpc_token: str
    stops: list[Callable[[], Coroutine[Any, Any, None]]]
    node_ids: list[str]
    link_ids: list[str]
    cgis: list[Any]
    slices: list[Any]
    shape: tuple[int, int, int]  #: cells, links, slices
    kpm_history: list[Any]  #: every cell's KPM message after a few sub-steps (a real Rollout's history)
    sim_time_ms: int


async def _start_policy(tmp: Path, token: str) -> tuple[Any, Any]:
    from nextric.obs.serve import start_http
    from policy.app import create_app
    from policy.destination import StaticResolver
    from policy.settings import PolicySettings

    settings = PolicySettings(
        backend="sqlite", sqlite_path=tmp / "policy.db", requests_per_s=0, max_policies=100_000,
        tokens=[{"name": "fuzzer", "token": token, "roles": ["operator", "viewer", "xapp"]}],
    )
    app = create_app(settings, resolver=StaticResolver({}))  # no DNS: every notification host is refused
    return await start_http(app, "127.0.0.1", 0), app


async def _start_intent(tmp: Path, token: str) -> tuple[Any, Any]:
    from google.protobuf import json_format
    from pydantic import SecretStr

    from nextric.obs.serve import start_http
    from nextric.sdl.embedded import EmbeddedSdl
    from rapps.intent_agent.app import build_agent, create_app, load_description
    from rapps.intent_agent.settings import Grant, IntentAgentSettings
    from testbed.core.scenario import load_scenario
    from testbed.describe import cell_keys, description

    settings = IntentAgentSettings(audit_path=str(tmp / "audit.db"), tokens=[
        Grant(name="fuzzer", token=SecretStr(token), roles=["operator", "viewer"])])
    sc = load_scenario("twm_poc")
    inventory = tmp / "network.json"
    inventory.write_text(json_format.MessageToJson(description(sc, "twm_poc", cell_keys(sc))), encoding="utf-8")
    agent = build_agent(settings, EmbeddedSdl(), load_description(inventory))
    return await start_http(create_app(settings, agent), "127.0.0.1", 0), agent


async def _start_testbed(token: str) -> tuple[Any, Any]:
    from pydantic import SecretStr

    from nextric.e2.auth import GrpcTokenGrant
    from nextric.e2.server import start_e2_server
    from nextric.e2.settings import E2ServerSettings
    from testbed.core.engine import Emulator
    from testbed.core.scenario import load_scenario
    from testbed.core.shocks import ShockRegime
    from testbed.e2node import EmulatedGnbs
    from testbed.evaluation_service import EvaluationService
    from testbed.evaluation_service import registrar as evaluation_registrar
    from testbed.settings import TestbedSettings
    from testbed.transport_service import TransportController
    from testbed.transport_service import registrar as transport_registrar
    from testbed.twin_service import TwinService
    from testbed.twin_service import registrar as twin_registrar

    emu = Emulator(load_scenario("twm_poc"), ShockRegime.parse("hotspot-ID"), seed=3)
    node = EmulatedGnbs(emu)
    twin = TwinService(emu.sc, "twm_poc", [b.cell_key for b in node.bindings], TestbedSettings().twin)
    grants = [GrpcTokenGrant(name="fuzzer", token=SecretStr(token),
                             roles=["kpm", "control", "transport", "twin", "evaluation"])]
    server = await start_e2_server(node, E2ServerSettings(tokens=grants), extra_services=[
        transport_registrar(TransportController(emu)), twin_registrar(twin),
        evaluation_registrar(EvaluationService(emu, {b.cell_id: b.cgi for b in node.bindings}))])
    for _ in range(3):  # a few sub-steps: ground truth and a KPM history exist
        node.step(server.hub)
    return server, node


@contextmanager
def services(tmp: Path) -> Iterator[Services]:
    loop = LoopThread()
    token, grpc_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    stops: list[Callable[[], Coroutine[Any, Any, None]]] = []
    try:
        policy_srv, policy_app = loop.run(_start_policy(tmp, token))
        stops.append(policy_srv.stop)
        intent_srv, agent = loop.run(_start_intent(tmp, token))
        stops.append(intent_srv.stop)
        e2, node = loop.run(_start_testbed(grpc_token))
        stops.append(lambda: e2.stop(None))
        sc = node.emu.sc
        yield Services(
            loop, token, policy_srv.base_url, policy_app, intent_srv.base_url, agent, e2.target, grpc_token, stops,
            [info.node_id for info in node.node_infos()], [link.name for link in sc.transport.links],
            [b.cgi for b in node.bindings], list(sc.slices), (sc.n_cells, sc.n_links, sc.n_slices),
            node.kpm_messages(1000), node.sim_time_ms)
    finally:
        for stop in reversed(stops):
            with contextlib.suppress(Exception):  # a server that does not stop cleanly must not hide the results
                loop.run(stop(), 30.0)
        with contextlib.suppress(Exception):
            agent.audit.close()
        loop.close()


# --------------------------------------------------------------------------------------------------------------
# HTTP: schemathesis + real bodies


def sla_body(**objectives: Any) -> dict[str, Any]:
    return {"scope": {"sliceId": {"plmnId": {"mcc": "001", "mnc": "01"}, "sst": 1, "sd": "000001"}},
            "sliceSlaObjectives": objectives or {"maxPacketDelayMs": 20.0, "maxPacketLossRate": 0.01,
                                                 "guaThroughputKbps": 1000.0, "maxThroughputKbps": 5000.0,
                                                 "priorityLevel": 5}}


def guard_body() -> dict[str, Any]:
    return {"sliceBounds": [{"sliceId": {"sst": 1, "sd": "000001"}, "minPrbRatio": {"lower": 10, "upper": 60},
                             "maxPrbRatio": {"lower": 20, "upper": 100}}],
            "maxStepPercent": 10, "minUpdateIntervalMs": 1000, "rollback": {"consecutiveBreachPeriods": 2},
            "kindMinUpdateIntervalMs": {"slice_prb_quota": 500}, "slaViolationProbabilityThreshold": 0.2,
            "harmProbabilityThreshold": 0.2, "riskThresholds": {"mediumViolationProbability": 0.1}}


REAL_BODIES = {SLA_TYPE: sla_body, GUARD_TYPE: guard_body}
REAL_INTENTS = ("Keep URLLC loss below 1 %", "Keep URLLC p99 latency below 5 ms",
                "Reserve 30 % of cell 4 for FWA after 9 pm", "Cap eMBB throughput at nan Mbps",
                "Keep URLLC latency below inf ms", "Keep URLLC latency below 1e400 ms", "Reduce eMBB loss by -5 %")
REAL_ACTION = {"kind": "slice_prb_quota", "cellId": "c1", "policies": [
    {"member": {"sst": 1, "sd": "000001"}, "minPrbRatio": 10, "maxPrbRatio": 80, "dedicatedPrbRatio": 5}]}


def _number_paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _number_paths(v, (*path, k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _number_paths(v, (*path, i))]
    return [path] if isinstance(doc, int | float) and not isinstance(doc, bool) else []


def poisoned(body: dict[str, Any], where: tuple[Any, ...], literal: str) -> str:
    """``body`` as JSON text with the number at ``where`` replaced by the raw ``literal``."""
    mark = "__POISON__"
    doc = json.loads(json.dumps(body))
    node = doc
    for p in where[:-1]:
        node = node[p]
    node[where[-1]] = mark
    return json.dumps(doc).replace(f'"{mark}"', literal)


def count_response(tally: HttpTally, method: str, path: str, call: Callable[[], Any], request_body: Any = None) -> None:
    """Make one request through ``call`` (returns an object with ``status_code`` and ``text``) and count it."""
    try:
        r = call()
    except (httpx.HTTPError, OSError) as exc:
        tally.transport_error(method, path, exc)
        return
    except Exception as exc:  # requests' errors (schemathesis' client) are counted the same way
        if type(exc).__module__.startswith(("requests", "urllib3")):
            tally.transport_error(method, path, exc)
            return
        raise
    tally.record(method, path, int(r.status_code), r.text, request_body)


def fuzz_openapi(base_url: str, token: str, tally: HttpTally, examples: int, seed: int,
                 explicit: Callable[[Any], list[dict[str, Any]]] | None = None,
                 progress: Callable[[], None] | None = None) -> int:
    """schemathesis on every operation of ``base_url``'s served document, positive and negative cases, plus the
    ``explicit`` strategies' overrides (path parameters, bodies) per operation. Returns the operation count."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    ops = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    for op in ops:
        strategies = [op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)]
        for override in explicit(op) if explicit is not None else []:
            strategies.append(op.as_strategy(GenerationMode.POSITIVE, **override))

        @hseed(seed)
        @settings(max_examples=examples * len(strategies), deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck))
        @given(st.one_of(*strategies))
        def one(case: Any) -> None:
            body = case.body if type(case.body).__name__ != "NotSet" else None
            count_response(tally, case.method, case.formatted_path,
                           lambda: case.call(base_url=base_url, session=session, headers=headers, timeout=10),
                           body)

        one()
        if progress is not None:
            progress()
    session.close()
    return len(ops)


def policy_overrides(op: Any) -> list[dict[str, Any]]:
    """Real policy type ids (and, on a PUT, a real body of that type) for the A1 operations; a real action for
    the guardrail check."""
    out: list[dict[str, Any]] = []
    if "{policyTypeId}" in op.path:
        for type_id, body in REAL_BODIES.items():
            out.append({"path_parameters": {"policyTypeId": type_id}})
            if op.method.lower() == "put":
                out.append({"path_parameters": {"policyTypeId": type_id}, "body": body()})
    if op.path.endswith("/guardrail/v1/check") and op.method.lower() == "post":
        out.append({"body": {"action": REAL_ACTION}})
    return out


def intent_overrides(op: Any) -> list[dict[str, Any]]:
    if op.path == f"{TMF}/intent" and op.method.lower() == "post":
        return [{"body": {"name": f"fuzz-{i}", "naturalLanguage": text}} for i, text in enumerate(REAL_INTENTS)]
    return []


def fuzz_a1_bodies(base_url: str, token: str, tally: HttpTally, n: int, seed: int) -> None:
    """Real A1 bodies of each real type with one number replaced by a poison literal or a random value, PUT as raw
    JSON; every answer counted (4xx expected for the poison, never 5xx)."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        for type_id, make in REAL_BODIES.items():
            body = make()
            paths = _number_paths(body)
            for i in range(n):
                where = rng.choice(paths)
                choice = rng.random()
                if choice < 0.6:
                    literal = rng.choice(POISON_LITERALS)
                elif choice < 0.8:
                    literal = repr(rng.uniform(-1e6, 1e6))
                else:
                    literal = str(rng.randint(-(2**70), 2**70))
                text = poisoned(body, where, literal)
                url = f"/A1-P/v2/policytypes/{type_id}/policies/fuzz-{i}"
                count_response(tally, "PUT", url, lambda u=url, t=text: client.put(u, content=t), text)  # type: ignore[misc]
            text = json.dumps(body)
            count_response(tally, "PUT", f"/A1-P/v2/policytypes/{type_id}/policies/real",
                           lambda t=text, ty=type_id: client.put(f"/A1-P/v2/policytypes/{ty}/policies/real",
                                                                 content=t), text)  # type: ignore[misc]


def _strict_json(text: str) -> Any:
    def refuse(literal: str) -> Any:
        raise ValueError(f"non-finite literal {literal} in a response")

    return json.loads(text, parse_constant=refuse)


def stored_numbers(svc: Services) -> dict[str, Any]:
    """Every stored A1 policy, intent and plan, read in process and over HTTP: how many, and which hold a number
    that is not finite (or not I-JSON safe)."""
    from nextric.finite import find_bad_number

    bad: list[dict[str, Any]] = []
    policies = svc.policy_app.state.service.backend.load_policies()
    for p in policies:
        if (found := find_bad_number(p.body)) is not None:
            bad.append({"where": f"policy store {p.type_id}/{p.policy_id}", "field": list(found[0]), "why": found[1]})
        try:
            json.dumps(p.body, allow_nan=False)
        except ValueError as exc:
            bad.append({"where": f"policy store {p.type_id}/{p.policy_id}", "why": str(exc)})
    records = list(svc.agent.intents.values())
    plans = list(getattr(svc.agent, "plans", {}).values())
    for kind, items in (("intent", records), ("plan", plans)):
        for item in items:
            doc = dataclasses.asdict(item) if dataclasses.is_dataclass(item) and not isinstance(item, type) else item
            try:
                json.dumps(doc, allow_nan=False, default=str)
            except ValueError as exc:
                bad.append({"where": f"{kind} {getattr(item, 'id', '?')}", "why": str(exc)})
    headers = {"Authorization": f"Bearer {svc.token}"}
    http_reads = 0
    with httpx.Client(headers=headers, timeout=10) as client:
        for type_id in REAL_BODIES:
            ids = _strict_json(client.get(f"{svc.policy_url}/A1-P/v2/policytypes/{type_id}/policies").text)
            for pid in ids:
                r = client.get(f"{svc.policy_url}/A1-P/v2/policytypes/{type_id}/policies/{pid}")
                http_reads += 1
                try:
                    _strict_json(r.text)
                except ValueError as exc:
                    bad.append({"where": f"GET policy {type_id}/{pid}", "status": r.status_code, "why": str(exc)})
        r = client.get(f"{svc.intent_url}{TMF}/intent")
        http_reads += 1
        try:
            _strict_json(r.text)
        except ValueError as exc:
            bad.append({"where": "GET intent list", "status": r.status_code, "why": str(exc)})
        if r.status_code >= 500:
            bad.append({"where": "GET intent list", "status": r.status_code, "why": r.text[:300]})
    return {"policies": len(policies), "intents": len(records), "plans": len(plans), "http_reads": http_reads,
            "non_finite": len(bad), "non_finite_examples": bad[:20]}


# --------------------------------------------------------------------------------------------------------------
# in-process: intent compiler and guardrail


def fuzz_compiler(n: int, seed: int) -> CallTally:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from rapps.intent_agent.compiler.compile import compile_intent
    from rapps.intent_agent.compiler.domain import domain_of
    from rapps.intent_agent.compiler.kb import KnowledgeBase
    from rapps.intent_agent.compiler.spec import Clarification, IntentSpec
    from testbed.core.scenario import load_scenario
    from testbed.describe import topology_of

    domain, kb = domain_of(topology_of(load_scenario("twm_poc"))), KnowledgeBase.load()
    tally = CallTally()
    number = st.one_of(st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "-5", "0",
                                        "1e-400", "9" * 40, "0x10", "½", "1,000", "3.", ".5", "-0"]),
                       st.floats(allow_nan=True, allow_infinity=True).map(str), st.integers().map(str))
    words = st.sampled_from(["Keep", "Reduce", "Cap", "Reserve", "URLLC", "eMBB", "FWA", "latency", "loss",
                             "throughput", "below", "above", "at most", "by", "to", "between", "and", "ms", "%",
                             "Mbps", "cell", "in cell 4", "after 9 pm", "for the next 2 hours", "confirm", ",", ""])
    phrase = st.lists(st.one_of(words, number), min_size=1, max_size=14).map(" ".join)
    template = st.builds(lambda v, sl, k, c, x, u: f"{v} {sl} {k} {c} {x} {u}",
                         st.sampled_from(["Keep", "Reduce", "Cap", "Increase"]),
                         st.sampled_from(["URLLC", "eMBB", "FWA"]),
                         st.sampled_from(["latency", "packet loss", "throughput", "p99 latency"]),
                         st.sampled_from(["below", "above", "at most", "by", "to"]), number,
                         st.sampled_from(["ms", "%", "Mbps", ""]))
    text = st.one_of(template, template, phrase, st.text(max_size=200),
                     st.builds(lambda a, b: f"{a} {b}", phrase, st.text(max_size=40)))

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(text)
    def one(t: str) -> None:
        tally.examples += 1
        try:
            r = compile_intent(t, domain, kb, now="18:30")
        except Exception as exc:  # the compiler must answer every text
            tally.crash(t, f"{type(exc).__name__}: {exc}")
            return
        if isinstance(r, Clarification):
            if any(i.kind == "internal_error" for i in r.issues):
                tally.crash(t, f"internal_error clarification: {r.explanation}")
            else:
                tally.outcomes["clarification"] += 1
        elif isinstance(r, IntentSpec):
            from nextric.finite import find_bad_number

            dumped = dataclasses.asdict(r) if dataclasses.is_dataclass(r) and not isinstance(r, type) else {}
            nums = [v for v in _walk_numbers(dumped)]
            if any(isinstance(v, float) and not math.isfinite(v) for v in nums) or (
                    find_bad_number(json.loads(json.dumps(dumped, default=str))) is not None):
                tally.crash(t, "spec holds a non-finite number")
            else:
                tally.outcomes["spec"] += 1
        else:
            tally.crash(t, f"unexpected result type {type(r).__name__}")

    one()
    return tally


def _walk_numbers(doc: Any) -> Iterator[float | int]:
    if isinstance(doc, dict):
        for v in doc.values():
            yield from _walk_numbers(v)
    elif isinstance(doc, list | tuple):
        for v in doc:
            yield from _walk_numbers(v)
    elif isinstance(doc, int | float) and not isinstance(doc, bool):
        yield doc


def fuzz_guardrail(n: int, seed: int) -> CallTally:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from nextric.errors import ValidationError
    from nextric.guardrail import GuardrailState, check
    from nextric.guardrail.codec import action_from_json, action_to_json

    tally = CallTally()
    hostile: st.SearchStrategy[Any] = st.one_of(
        st.integers(-200, 300), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([None, "50", True, [], {}, -0.0, 1e308]))
    member = st.fixed_dictionaries({"sst": st.one_of(st.integers(0, 255), hostile)},
                                    optional={"sd": st.one_of(st.sampled_from(["000001", "000002", "ffffff"]),
                                                              st.text(max_size=8))})
    policy = st.fixed_dictionaries({"member": member, "minPrbRatio": hostile, "maxPrbRatio": hostile},
                                   optional={"dedicatedPrbRatio": hostile})
    risk = st.sampled_from(["low", "medium", "high", "LOW", "", None])
    quota = st.fixed_dictionaries({"kind": st.just("slice_prb_quota"), "cellId": st.sampled_from(["c1", "c2", ""]),
                                   "policies": st.lists(policy, max_size=4)}, optional={"risk": risk})
    beam = st.fixed_dictionaries({"kind": st.just("beam_switch"), "cellId": st.text(max_size=6),
                                  "ueId": st.text(max_size=6), "beamId": hostile}, optional={"risk": risk})
    ce = st.fixed_dictionaries({"kind": st.just("ce_mode"), "cellId": st.text(max_size=6),
                                "target": st.text(max_size=6), "mode": st.sampled_from(["LS", "LMMSE", "NEURAL", "x"])},
                               optional={"risk": risk})
    anything = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
                            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                            max_leaves=12)
    body = st.one_of(quota, quota, beam, ce, st.dictionaries(st.sampled_from(["kind", "cellId", "policies", "risk"]),
                                                             anything))
    ctx = GuardrailState().context(0.0)

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body)
    def one(b: dict[str, Any]) -> None:
        tally.examples += 1
        try:
            action = action_from_json(b)
            verdict = check(action, ctx)
            out = action_to_json(verdict.action)
            json.dumps(out, allow_nan=False)
        except ValidationError:
            tally.outcomes["refused (ValidationError)"] += 1
            return
        except Exception as exc:  # anything but the library's refusal is a crash
            tally.crash(b, f"{type(exc).__name__}: {exc}")
            return
        tally.outcomes[str(verdict.decision.value if hasattr(verdict.decision, "value") else verdict.decision)] += 1

    one()
    return tally


# --------------------------------------------------------------------------------------------------------------
# gRPC: raw and mutated protobuf on every method

CRASH_CODES = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS})
STREAM_DEADLINE_S = 0.15


def grpc_methods() -> list[tuple[str, Any]]:
    """(full method path, method descriptor) of every RPC the testbed's gRPC port serves (health included)."""
    from grpc_health.v1 import health_pb2

    from nextric.e2.v1 import e2ap_pb2
    from nextric.evaluation.v1 import evaluation_pb2
    from nextric.transport.v1 import transport_pb2
    from nextric.twin.v1 import twin_pb2

    out = []
    for module in (e2ap_pb2, transport_pb2, twin_pb2, evaluation_pb2, health_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for m in service.methods:
                if m.client_streaming:
                    continue  # none in nextric; the health Watch is server streaming
                out.append((f"/{service.full_name}/{m.name}", m))
    return out


def valid_requests(svc: Services) -> dict[str, bytes]:
    """One valid request per method (serialized), the seeds of the mutations."""
    import numpy as np
    from grpc_health.v1 import health_pb2

    from nextric.e2 import ids
    from nextric.e2.v1 import e2ap_pb2
    from nextric.e2sm.rc.v1 import rc_pb2
    from nextric.evaluation.v1 import evaluation_pb2
    from nextric.transport.v1 import transport_pb2
    from nextric.twin.codec import to_tensor
    from nextric.twin.v1 import twin_pb2

    node, cgi, sl = svc.node_ids[0], svc.cgis[0], svc.slices[0]
    snssai = ids.make_snssai(sl.sst, sl.sd)
    rid = e2ap_pb2.RicRequestId(ric_requestor_id=7, ric_instance_id=1)
    cells, links, slices = svc.shape
    reqs: dict[str, Any] = {
        "/nextric.e2.v1.E2Node/ListNodes": e2ap_pb2.ListNodesRequest(),
        "/nextric.e2.v1.E2Node/GetNode": e2ap_pb2.GetNodeRequest(node_id=node),
        "/nextric.e2.v1.E2Node/Subscribe": e2ap_pb2.RicSubscriptionRequest(
            node_id=node, ric_request_id=rid, ran_function_id=ids.RAN_FUNCTION_KPM, report_period_ms=100,
            report_style=e2ap_pb2.REPORT_STYLE_KPM, cells=[cgi]),
        "/nextric.e2.v1.E2Node/DeleteSubscription": e2ap_pb2.RicSubscriptionDeleteRequest(
            node_id=node, ric_request_id=rid, ran_function_id=ids.RAN_FUNCTION_KPM),
        "/nextric.e2.v1.E2Node/Control": e2ap_pb2.RicControlRequest(
            node_id=node, ric_request_id=rid, ran_function_id=ids.RAN_FUNCTION_RC,
            slice_quota=rc_pb2.SliceQuotaControl(cells=[rc_pb2.CellRrmPolicy(cgi=cgi, policies=[rc_pb2.RrmPolicyRatio(
                members=[rc_pb2.RrmPolicyMember(plmn=cgi.plmn, snssai=snssai)], min_prb_policy_ratio=10,
                max_prb_policy_ratio=90, dedicated_prb_policy_ratio=5)])])),
        "/nextric.transport.v1.TransportController/ListLinks": transport_pb2.ListLinksRequest(window_ms=1000),
        "/nextric.transport.v1.TransportController/SetShares": transport_pb2.SetSharesRequest(links=[
            transport_pb2.LinkShares(link_id=svc.link_ids[0],
                                     shares=[transport_pb2.SliceShare(snssai=snssai, share=0.3)])]),
        "/nextric.transport.v1.TransportController/WatchLinks": transport_pb2.WatchLinksRequest(period_ms=1000),
        "/nextric.twin.v1.DigitalTwin/Describe": twin_pb2.DescribeRequest(),
        "/nextric.twin.v1.DigitalTwin/Rollout": twin_pb2.RolloutRequest(
            kpm_history=svc.kpm_history, shocks="hotspot-ID", n_seeds=1, seed=3, horizon_slow_steps=1,
            prb_shares=to_tensor(np.full((1, 1, cells, slices), 0.3)),
            transport_shares=to_tensor(np.full((1, 1, links, slices), 0.3))),
        "/nextric.evaluation.v1.Evaluation/GetBeamTruth": evaluation_pb2.BeamTruthRequest(cells=[cgi]),
        "/nextric.evaluation.v1.Evaluation/GetCellThroughput": evaluation_pb2.CellThroughputRequest(
            from_sim_time_ms=0, to_sim_time_ms=svc.sim_time_ms, cells=[cgi]),
        "/nextric.evaluation.v1.Evaluation/GetEstimationTruth": evaluation_pb2.EstimationTruthRequest(cells=[cgi]),
        "/grpc.health.v1.Health/Check": health_pb2.HealthCheckRequest(service=""),
        "/grpc.health.v1.Health/Watch": health_pb2.HealthCheckRequest(service=""),
    }
    return {k: v.SerializeToString() for k, v in reqs.items()}


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four byte-level mutations of ``data``: bit flips, byte replacement, insertion, deletion,
    truncation, duplication, a varint-looking run of 0xff."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 2:
            i = rng.randint(0, len(buf))
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and buf:
            i = rng.randrange(len(buf))
            del buf[i:i + rng.randint(1, 8)]
        elif op == 4 and buf:
            del buf[rng.randrange(len(buf)):]
        elif op == 5:
            buf += buf[: rng.randint(0, len(buf))]
        else:
            i = rng.randint(0, len(buf))
            buf[i:i] = b"\xff" * rng.randint(1, 11)
    return bytes(buf)


def _identity(b: bytes) -> bytes:
    return b


def fuzz_grpc(svc: Services, n: int, seed: int, progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """``n`` random byte strings and ``n`` mutated valid requests per method, raw (identity serializers), with the
    fuzzer's token; a streaming call is read for at most a short deadline. Then a health check must answer."""
    from grpc_health.v1 import health_pb2

    rng = random.Random(seed)
    seeds = valid_requests(svc)
    metadata = (("authorization", f"Bearer {svc.grpc_token}"),)
    per_method: dict[str, Counter[str]] = {}
    examples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    unanswered: list[dict[str, Any]] = []
    calls = 0
    with grpc.insecure_channel(svc.grpc_target) as channel:
        health = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=_identity,
                                     response_deserializer=_identity)
        for path, m in grpc_methods():
            counts: Counter[str] = Counter()
            streaming = m.server_streaming
            stream = channel.unary_stream(path, request_serializer=_identity, response_deserializer=_identity)
            unary = channel.unary_unary(path, request_serializer=_identity, response_deserializer=_identity)
            valid = seeds.get(path, b"")
            inputs = [("valid", valid)]
            inputs += [("random", rng.randbytes(rng.choice([0, 1, 2, 4, 8, 16, 64, 256, 1024]))) for _ in range(n)]
            inputs += [("mutated", mutate(valid, rng)) for _ in range(n)]
            for kind, data in inputs:
                calls += 1
                outcome = call_outcome(unary, stream, streaming, data, metadata)
                counts[f"{kind}:{outcome.code}"] += 1
                if outcome.crash is not None:
                    bucket = examples.setdefault((path, outcome.crash), [])
                    if len(bucket) < 2:
                        bucket.append({"method": path, "kind": kind, "class": outcome.crash,
                                       "request_hex": data[:128].hex(), "status": outcome.code,
                                       "details": outcome.details[:300]})
            try:
                reply = health(health_pb2.HealthCheckRequest().SerializeToString(), timeout=5.0)
                if health_pb2.HealthCheckResponse.FromString(reply).status != health_pb2.HealthCheckResponse.SERVING:
                    unanswered.append({"after": path, "error": "health not SERVING"})
            except grpc.RpcError as err:
                unanswered.append({"after": path, "error": str(err.code())})
            per_method[path] = counts
            if progress is not None:
                progress()
    by_code: Counter[str] = Counter()
    for c in per_method.values():
        for k, v in c.items():
            by_code[k.split(":", 1)[1]] += v
    crash_classes: Counter[str] = Counter()
    for c in per_method.values():
        for k, v in c.items():
            code = k.split(":", 1)[1]
            if code.startswith(tuple(s.name for s in CRASH_CODES)):
                crash_classes["undecodable" if code.endswith("(undecodable)") else "handler"] += v
    return {"methods": len(per_method), "calls": calls, "by_code": dict(sorted(by_code.items())),
            "per_method": {k: dict(sorted(v.items())) for k, v in per_method.items()},
            "crashes": sum(crash_classes.values()), "crashes_undecodable": crash_classes["undecodable"],
            "crashes_handler": crash_classes["handler"],
            "crash_examples": [e for bucket in examples.values() for e in bucket],
            "stopped_answering": len(unanswered), "unanswered": unanswered}


@dataclass(frozen=True)
class Outcome:
    code: str  #: status name; "UNKNOWN(undecodable)" when the server could not parse the request
    details: str = ""
    crash: str | None = None  #: "undecodable" or "handler" for UNKNOWN / INTERNAL / DATA_LOSS


def call_outcome(unary: Any, stream: Any, streaming: bool, data: bytes, metadata: Any) -> Outcome:
    """Send ``data`` raw; a stream is read for at most two messages or a short deadline (DEADLINE_EXCEEDED on a
    stream means it stayed open, which is fine)."""
    try:
        if streaming:
            for got, _ in enumerate(stream(data, metadata=metadata, timeout=STREAM_DEADLINE_S), 1):
                if got >= 2:
                    break
        else:
            unary(data, metadata=metadata, timeout=5.0)
        return Outcome("OK")
    except grpc.RpcError as err:
        code: grpc.StatusCode = err.code()
        details = err.details() or ""
    if code not in CRASH_CODES:
        return Outcome(code.name, details)
    if "DecodeError" in details or "Error parsing message" in details:
        return Outcome(f"{code.name}(undecodable)", details, "undecodable")
    return Outcome(code.name, details, "handler")


# --------------------------------------------------------------------------------------------------------------
# the run


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("schemathesis", "hypothesis", "grpcio", "protobuf", "fastapi", "uvicorn")}


def run(quick: bool, console: Console | None = None, seed: int = SEED) -> dict[str, Any]:
    console = console or Console()
    b = BUDGET[quick]
    t0 = time.perf_counter()
    out: dict[str, Any] = {"benchmark": "fuzz", "mode": "quick" if quick else "full", "machine": machine(),
                           "versions": _versions(), "seeds": {"hypothesis": seed, "grpc_mutation": seed,
                                                              "a1_poison": seed},
                           "budget": b}
    logging.disable(logging.ERROR)  # the rApp logs every plan it cannot make (no twin here); responses are counted
    try:
        _run(out, b, console, seed)
    finally:
        logging.disable(logging.NOTSET)
    out["verdict"] = verdict(out)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _run(out: dict[str, Any], b: dict[str, int], console: Console, seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="nextric-fuzz-") as tmp, services(Path(tmp)) as svc, \
            Progress(console=console, transient=True) as progress:
        policy_tally, intent_tally = HttpTally(), HttpTally()
        task = progress.add_task("policy service (schemathesis)", total=None)
        t = time.perf_counter()
        n_ops = fuzz_openapi(svc.policy_url, svc.token, policy_tally, b["http_examples"], seed, policy_overrides,
                             lambda: progress.advance(task))
        fuzz_a1_bodies(svc.policy_url, svc.token, policy_tally, b["a1_poison"], seed)
        out["policy_http"] = {"operations": n_ops, "seconds": round(time.perf_counter() - t, 1),
                              **policy_tally.summary()}
        progress.update(task, description="intent rApp (schemathesis)")
        t = time.perf_counter()
        n_ops = fuzz_openapi(svc.intent_url, svc.token, intent_tally, b["http_examples"], seed, intent_overrides,
                             lambda: progress.advance(task))
        out["intent_http"] = {"operations": n_ops, "seconds": round(time.perf_counter() - t, 1),
                              **intent_tally.summary()}
        progress.update(task, description="stored values")
        out["stored"] = stored_numbers(svc)
        progress.update(task, description="gRPC (raw and mutated protobuf)")
        t = time.perf_counter()
        out["grpc"] = {**fuzz_grpc(svc, b["grpc"], seed, lambda: progress.advance(task)),
                       "seconds": round(time.perf_counter() - t, 1)}
        progress.update(task, description="intent compiler (hypothesis)")
        t = time.perf_counter()
        out["compiler"] = {**fuzz_compiler(b["compiler"], seed).summary(), "seconds": round(time.perf_counter() - t, 1)}
        progress.update(task, description="guardrail (hypothesis)")
        t = time.perf_counter()
        out["guardrail"] = {**fuzz_guardrail(b["guardrail"], seed).summary(),
                            "seconds": round(time.perf_counter() - t, 1)}


def verdict(out: dict[str, Any]) -> dict[str, Any]:
    five = out["policy_http"]["5xx"] + out["intent_http"]["5xx"]
    crashes = out["compiler"]["crashes"] + out["guardrail"]["crashes"] + out["grpc"]["crashes"] + \
        out["grpc"]["stopped_answering"]
    no_response = out["policy_http"]["no_response"] + out["intent_http"]["no_response"]
    non_finite = out["stored"]["non_finite"]
    return {"5xx": five, "crashes": crashes, "http_no_response": no_response, "non_finite_stored": non_finite,
            "pass": five == 0 and crashes == 0 and non_finite == 0 and no_response == 0}


def print_table(out: dict[str, Any], console: Console) -> None:
    t = Table(title=f"nextric bench fuzz ({out['mode']}, {out['seconds']} s)")
    for col in ("target", "inputs", "outcomes", "failures"):
        t.add_column(col)
    for name in ("policy_http", "intent_http"):
        h = out[name]
        t.add_row(f"{name} ({h['operations']} ops)", str(h["requests"]), json.dumps(h["by_class"]),
                  f"5xx {h['5xx']}, no response {h['no_response']}")
    g = out["grpc"]
    t.add_row(f"grpc ({g['methods']} methods)", str(g["calls"]), json.dumps(g["by_code"]),
              f"crashes {g['crashes']}, stopped answering {g['stopped_answering']}")
    for name in ("compiler", "guardrail"):
        c = out[name]
        t.add_row(name, str(c["examples"]), json.dumps(c["outcomes"]), f"crashes {c['crashes']}")
    s = out["stored"]
    t.add_row("stored", f"{s['policies']} policies, {s['intents']} intents, {s['plans']} plans", "",
              f"non-finite {s['non_finite']}")
    console.print(t)
    v = out["verdict"]
    console.print(f"[{'green' if v['pass'] else 'red'}]verdict: {'PASS' if v['pass'] else 'FAIL'}[/] {v}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="nextric bench fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few examples per target (about half a minute)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "fuzz.json")
    args = ap.parse_args(argv)
    console = Console()
    out = run(args.quick, console, args.seed)
    print_table(out, console)
    path = save_results(args.out.stem, out, args.out.parent)
    console.print(f"saved {path}")
    if not out["verdict"]["pass"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

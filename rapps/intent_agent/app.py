"""Wiring of the intent agent: settings -> environment (the network's description, KB, SDL, policy client, CE
client) -> tool registry -> agent -> FastAPI (TMF921 routes, plans, audit, operator page); plus the E2 KPM feed
(subscription per node at the rApp's reporting period). The network is known only through its interfaces: the
twin service's ``Describe`` (or an inventory file with the same content), E2 KPM, A1 and SDL. No decision logic
here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import httpx
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from google.protobuf import json_format
from prometheus_client import CollectorRegistry

from nextric.e2.auth import open_channel
from nextric.e2.client import E2Client
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.errors import ConfigError, NextricError, UnavailableError
from nextric.kpm import merge_messages
from nextric.obs.http import observability_router
from nextric.palette import palette_json
from nextric.sdl.api import SdlBackend
from nextric.topology import Topology
from nextric.twin.v1 import twin_pb2, twin_pb2_grpc
from nextric.web import BodySizeLimit
from rapps.intent_agent import readiness
from rapps.intent_agent.api import problems
from rapps.intent_agent.api.auth import Auth
from rapps.intent_agent.api.routes import router
from rapps.intent_agent.audit import AuditLog
from rapps.intent_agent.compiler.domain import domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.llm import LlmCompiler, LlmConfig
from rapps.intent_agent.harness.tools import Env, build_registry
from rapps.intent_agent.metrics import RappMetrics
from rapps.intent_agent.observe import History, to_report
from rapps.intent_agent.service import IntentAgent
from rapps.intent_agent.settings import IntentAgentSettings

log = logging.getLogger("rapp.intent_agent")
UI_DIR = Path(__file__).with_name("ui")


def build_agent(settings: IntentAgentSettings, sdl: SdlBackend, topology: Topology, twin: Any = None) -> IntentAgent:
    """The agent for the network ``topology`` (:func:`describe_network` or :func:`load_description`); with ``twin``
    (a ``nextric.twin.v1`` async stub) it plans, without it it compiles and answers but cannot roll plans out."""
    policy = None
    if settings.policy.url:
        tok = settings.policy.token
        headers = {"Authorization": f"Bearer {tok.get_secret_value()}"} if tok else {}
        policy = httpx.AsyncClient(base_url=settings.policy.url, headers=headers, timeout=settings.policy.timeout_s)
    ce = httpx.AsyncClient(base_url=settings.ce_url, timeout=2.0) if settings.ce_url else None
    domain, kb = domain_of(topology), KnowledgeBase.load()
    env = Env(topology, domain, kb, History(), sdl, settings.sdl_namespace, settings.plan_key,
              settings.planner.regime, policy, ce, twin=twin, slice_namespace=settings.slice_namespace,
              steering_namespace=settings.steering_namespace, planner_seed=settings.planner.seed)
    llm = None
    if settings.llm.base_url:
        key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
        llm = LlmCompiler(LlmConfig(settings.llm.base_url, settings.llm.model, key, settings.llm.timeout_s), domain, kb)
    metrics = RappMetrics.create(CollectorRegistry())
    return IntentAgent(settings, env, build_registry(env), AuditLog(settings.audit_path, metrics.count_audit),
                       metrics, llm)


def create_app(settings: IntentAgentSettings, agent: IntentAgent) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await agent.load()
        agent.health.set("store", True, f"{len(agent.intents)} intents, {len(agent.plans)} plans loaded")
        readiness.install(agent.health, agent.env.sdl, agent.env.policy, settings.ready_check_period_s)
        try:
            yield
        finally:
            for t in list(agent.tasks):
                t.cancel()
            await asyncio.gather(*agent.tasks, return_exceptions=True)
            for c in (agent.env.policy, agent.env.ce):
                if c is not None:
                    await c.aclose()

    app = FastAPI(title="nextric intent agent rApp", version="1.0.0", lifespan=lifespan,
                  description="TMF921-style intents with TS 28.312 expectations; plans; audit "
                              "(docs/rapps/intent_agent.md)")
    app.state.agent = agent
    problems.install(app)
    app.include_router(router(agent, Auth(settings.tokens)))

    @app.get("/ui/palette.json", include_in_schema=False)  # before the mount: one slice palette (nextric.palette)
    async def palette() -> dict[str, object]:
        return palette_json()

    app.mount("/ui", StaticFiles(directory=UI_DIR, html=True), name="ui")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.include_router(observability_router(agent.health, agent.metrics.registry))
    return app


async def _stopped(stop: asyncio.Event, wait_s: float) -> bool:
    """Wait up to ``wait_s`` for ``stop``; True when it was set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), wait_s)
    return stop.is_set()


def twin_channel(settings: IntentAgentSettings) -> grpc.aio.Channel | None:
    """A channel to the twin service: ``settings.twin``, else the E2 target (the testbed serves E2 and the twin on
    one port); None with neither (the rApp then needs its network file)."""
    if settings.twin is not None:
        target = settings.twin.target
        limits = (settings.twin.max_receive_message_bytes, settings.twin.max_send_message_bytes)
        token, ca, name = settings.twin.token, settings.twin.tls_ca_file, settings.twin.tls_server_name
    elif settings.e2 is not None:
        target = settings.e2.target
        limits = (settings.e2.max_receive_message_bytes, settings.e2.max_send_message_bytes)
        token, ca, name = settings.e2.token, settings.e2.tls_ca_file, settings.e2.tls_server_name
    else:
        return None
    return open_channel(target, [("grpc.max_receive_message_length", limits[0]),
                                 ("grpc.max_send_message_length", limits[1]),
                                 # gRPC's own reconnect back-off grows to 120 s: a restarted twin would be unusable
                                 # for minutes; 1 s at most, as the E2 client's
                                 ("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 1000)],
                        token=token, tls_ca_file=ca, tls_server_name=name)


async def describe_network(channel: grpc.aio.Channel, wait_s: float | None = None) -> tuple[Topology, Any]:
    """The network from the twin service (nextric.twin.v1 Describe) on ``channel`` and the twin stub the planners
    roll plans out on. With ``wait_s``, a twin service that is not up yet (the testbed starting beside the rApp)
    is waited for that long; then the error says so."""
    stub = twin_pb2_grpc.DigitalTwinStub(channel)
    try:
        d = await stub.Describe(twin_pb2.DescribeRequest(), wait_for_ready=wait_s is not None, timeout=wait_s)
    except grpc.aio.AioRpcError as exc:
        raise UnavailableError(f"the twin service did not describe the network ({exc.code().name}: "
                               f"{exc.details()}); waited {wait_s or 0:g} s") from exc
    return Topology.of(d), stub


def load_description(path: str | Path) -> Topology:
    """The network from an inventory file: a ``nextric.twin.v1.TwinDescription`` in protobuf JSON (what
    ``Describe`` answers), for an rApp that has no twin service to ask."""
    try:
        d = json_format.Parse(Path(path).read_text(encoding="utf-8"), twin_pb2.TwinDescription())
    except (OSError, json_format.ParseError) as exc:
        raise ConfigError(f"network description {path}: {exc}") from exc
    return Topology.of(d)


async def feed_kpm(agent: IntentAgent, client: E2Client, period_ms: int, stop: asyncio.Event) -> None:
    """Subscribe to every node's KPM at ``period_ms``; once every node reported a period, hand one report on.

    Readiness component ``e2``: down until every node delivered its first indication, and while a node's
    subscription is failed (a permanent error or reconnects exhausted; it is re-subscribed after the client's
    longest backoff)."""
    agent.health.register("e2", False, "listing E2 nodes")
    while True:
        try:
            nodes = await client.list_nodes()
            break
        except NextricError as exc:
            agent.health.set("e2", False, f"E2 node list unavailable: {exc}")
            if await _stopped(stop, client.settings.backoff_max_s):
                return
    pending: dict[int, list[kpm_pb2.KpmIndicationMessage]] = defaultdict(list)
    lock = asyncio.Lock()
    streaming: set[str] = set()
    failed: dict[str, str] = {}

    def update() -> None:
        if failed:
            node, why = next(iter(failed.items()))
            agent.health.set("e2", False, f"KPM subscription of {node} failed: {why}")
        else:
            agent.health.set("e2", len(streaming) == len(nodes), f"{len(streaming)} of {len(nodes)} nodes reporting")

    async def one(node: e2ap_pb2.E2NodeInfo) -> None:
        while True:
            try:
                async for ind in client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_KPM, period_ms):
                    if failed.pop(node.node_id, None) is not None or node.node_id not in streaming:
                        streaming.add(node.node_id)
                        update()
                    t = int(ind.header.sim_time_ms)
                    async with lock:
                        pending[t].append(ind.kpm)
                        if len(pending[t]) == len(nodes):
                            msgs = pending.pop(t)
                            await agent.on_kpm(to_report(msgs, agent.env.topology, t / 1000.0),
                                               merge_messages(msgs))
                return
            except NextricError as exc:  # E2Failure / UnavailableError: the stream gave up
                streaming.discard(node.node_id)
                failed[node.node_id] = str(exc)
                update()
                log.warning("KPM subscription failed", extra={"node": node.node_id, "error": str(exc)})
                await asyncio.sleep(client.settings.backoff_max_s)

    update()
    tasks = [asyncio.create_task(one(n)) for n in nodes]
    await stop.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

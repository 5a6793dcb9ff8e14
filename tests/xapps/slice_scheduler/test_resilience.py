"""Resilience of the slice scheduler: E2 node restart, Redis restart, its own restart.

In-process app objects (``SliceSchedulerApp.run``) against a real E2 gRPC server over the scripted node backend
and a real ``redis-server``; simulated time is pumped as fast as the loop allows (100 ms per step = one KPM
report per node). Every wait polls a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client
from nextric.e2.metrics import E2ClientMetrics
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.obs.health import Health
from nextric.sdl.factory import SdlSettings, open_sdl
from nextric.testing.e2node import ScriptedNodes
from nextric.testing.redis_proc import free_port, start_redis
from tests.policy.service_proc import start_service
from xapps.slice_scheduler.app import SliceSchedulerApp
from xapps.slice_scheduler.metrics import SliceMetrics
from xapps.slice_scheduler.settings import PolicySettings, ShardSettings, SliceSchedulerSettings
from xapps.slice_scheduler.state import CellState, state_key

STEP_MS = 100  # simulated ms per pump step = the control period
N_NODES = 2
EMBB = "1-000001"
#: generated: example and short tokens are refused at start-up
OP_TOKEN, XAPP_TOKEN = secrets.token_urlsafe(24), secrets.token_urlsafe(24)


class LoadedNodes(ScriptedNodes):
    """The scripted nodes plus an offered eMBB load the test can change (a new demand -> new controls)."""

    def __init__(self, n_nodes: int) -> None:
        super().__init__(n_nodes)
        self.embb_offered_mbps = dict.fromkeys(self.node_ids, 0.0)

    def kpm(self, info: e2ap_pb2.E2NodeInfo, period_ms: int) -> kpm_pb2.KpmIndicationMessage:
        message = super().kpm(info, period_ms)
        offered = measurements.ALL_MEASUREMENTS.index(measurements.OFFERED_DL)
        for row in message.sets:
            if row.HasField("snssai") and ids.snssai_key(row.snssai) == EMBB:
                row.values[offered] = self.embb_offered_mbps[info.node_id]
        return message


async def until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout_s} s")
        await asyncio.sleep(0.005)


@dataclass
class Pump:
    """Advances the scripted nodes' simulated time on the current server (swapped on a node restart)."""

    nodes: ScriptedNodes
    server: RunningE2Server
    steps: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def _run(self) -> None:
        while True:
            self.nodes.publish_step(self.server.hub, STEP_MS)
            self.steps += 1
            await asyncio.sleep(0.01)  # pacing of the simulation (~10x real time), not a wait for a condition

    def start(self) -> Pump:
        self.task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def cell_keys(nodes: ScriptedNodes) -> list[str]:
    return [ids.cell_key(c.cgi) for n in nodes.node_infos() for c in n.cells]


@contextlib.asynccontextmanager
async def running_app(e2_port: int, redis_url: str, namespace: str, instance: str = "r1",
                      policy: PolicySettings | None = None
                      ) -> AsyncIterator[tuple[SliceSchedulerApp, Health, CollectorRegistry]]:
    settings = SliceSchedulerSettings(
        e2=E2ClientSettings(target=f"127.0.0.1:{e2_port}", backoff_initial_s=0.01, backoff_max_s=0.1,
                            rpc_timeout_s=2.0),
        control_period_ms=STEP_MS,
        sdl=SdlSettings(backend="redis", redis_url=redis_url, socket_timeout_s=0.5),
        sdl_namespace=namespace,
        shard=ShardSettings(instance_id=instance, heartbeat_s=0.05, member_ttl_s=5.0),
        node_refresh_s=0.2,
        policy=policy or PolicySettings(),
    )
    registry = CollectorRegistry()
    health = Health()
    sdl = open_sdl(settings.sdl)
    stop = asyncio.Event()
    async with E2Client(settings.e2, E2ClientMetrics.create(registry)) as client:
        app = SliceSchedulerApp(settings, sdl, health, SliceMetrics.create(registry), client)
        task = asyncio.create_task(app.run(stop))
        try:
            yield app, health, registry
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await sdl.close()


def metric(registry: CollectorRegistry, name: str) -> float:
    return sum(s.value for m in registry.collect() for s in m.samples if s.name == name)


def controls_per_node(nodes: ScriptedNodes) -> dict[str, int]:
    out = dict.fromkeys(nodes.node_ids, 0)
    for r in nodes.applied:
        out[r.node_id] += 1
    return out



async def test_node_restart_resubscribes_and_reapplies(redis_url: str) -> None:
    """The node comes back as a new incarnation with its defaults and its simulated clock at 0: the xApp keeps
    its subscriptions (no app restart), decides on the new reports and sends its ratios again."""
    nodes = LoadedNodes(N_NODES)
    first = await start_e2_server(nodes, E2ServerSettings(), incarnation=111)
    pump = Pump(nodes, first).start()
    async with running_app(first.port, redis_url, "t.node_restart") as (app, _health, registry):
        try:
            await until(lambda: min(controls_per_node(nodes).values()) >= 1, what="first controls")
            await until(lambda: app.decisions >= 20 * N_NODES, what="steady decisions")
            before = {ck: dict(st.sent) for ck, st in app.cells.items()}
            assert all(before.values())
            await pump.stop()
            await first.stop(None)

            restarted = LoadedNodes(N_NODES)  # same node ids, fresh state, sim time from 0
            second = await start_e2_server(restarted, E2ServerSettings(port=first.port), incarnation=222)
            pump = Pump(restarted, second).start()
            try:
                await until(lambda: min(controls_per_node(restarted).values()) >= 1, what="controls after restart")
                await until(lambda: metric(registry, "nextric_e2_client_node_restarts_total") >= N_NODES,
                            what="restart seen by the E2 client")
                decided = app.decisions
                await until(lambda: app.decisions >= decided + 10 * N_NODES, what="decisions after restart")
            finally:
                await pump.stop()
                await second.stop(None)
        finally:
            await pump.stop()
    after = {ck: dict(st.sent) for ck, st in app.cells.items()}
    assert after == before  # same reports -> same ratios, now in force on the new incarnation
    assert all(st.incarnation == 222 for st in app.cells.values())
    assert metric(registry, "nextric_slice_scheduler_controls_denied_total") == 0  # no stale rate-limit clock
    resent = {r.node_id for r in restarted.applied}
    assert resent == set(nodes.node_ids)


async def test_redis_restart_keeps_deciding_and_catches_up(tmp_path: Path) -> None:
    """Redis dies (no persistence: it comes back empty): decisions and controls go on from memory, ``sdl`` goes
    not ready; when Redis is back on the same address every cell's current state is written again, also the
    state of cells that did not change during the outage (an empty Redis lost it)."""
    port = free_port()
    redis = start_redis(tmp_path / "redis", port=port, appendonly=False)
    nodes = LoadedNodes(N_NODES)
    server = await start_e2_server(nodes, E2ServerSettings())
    pump = Pump(nodes, server).start()
    ns = "t.redis_restart"
    sdl = open_sdl(SdlSettings(backend="redis", redis_url=redis.url, socket_timeout_s=0.5))
    try:
        async with running_app(server.port, redis.url, ns) as (app, health, registry):
            keys = [state_key(ck) for ck in cell_keys(nodes)]
            await until(lambda: min(controls_per_node(nodes).values()) >= 1, what="first controls")
            await until(lambda: health.report()["ready"] is True, what="ready")
            redis.kill()
            await until(lambda: not health.report()["ready"], what="sdl not ready")
            decided, sent = app.decisions, len(nodes.applied)
            busy = nodes.node_ids[0]
            nodes.embb_offered_mbps[busy] = 30.0  # new demand in one cell while Redis is down -> new controls
            await until(lambda: len(nodes.applied) >= sent + 2 and app.decisions >= decided + 10 * N_NODES,
                        what="decisions and controls without Redis")
            assert {r.node_id for r in nodes.applied[sent:]} == {busy}
            assert metric(registry, "nextric_slice_scheduler_sdl_errors_total") > 0
            assert app.dirty

            redis = start_redis(tmp_path / "redis", port=port, appendonly=False)  # back, empty
            await until(lambda: health.report()["ready"] is True, what="sdl ready again")
            await until(lambda: not app.dirty, what="dirty cells flushed")

            async def caught_up() -> bool:
                stored = await sdl.get(ns, [*keys, "member/r1"])
                return set(stored) == {*keys, "member/r1"} and all(
                    CellState.decode(stored[k]).sent == app.cells[k.removeprefix("cell/")].sent for k in keys)

            deadline = asyncio.get_running_loop().time() + 10
            while not await caught_up():  # every cell's state and the membership are in SDL again
                assert asyncio.get_running_loop().time() < deadline, await sdl.find_keys(ns)
                await asyncio.sleep(0.01)
    finally:
        await pump.stop()
        await server.stop(None)
        await sdl.close()
        redis.stop()


async def test_own_restart_restores_cells_from_sdl(redis_url: str) -> None:
    """A new process of the xApp (same SDL namespace) restores each cell's state before deciding: the ratios in
    force are not sent again, and a new demand is smoothed from the restored mins (step limit), not from scratch."""
    nodes = LoadedNodes(N_NODES)
    server = await start_e2_server(nodes, E2ServerSettings())
    pump = Pump(nodes, server).start()
    ns = "t.own_restart"
    try:
        async with running_app(server.port, redis_url, ns, instance="old") as (app, _h, _r):
            await until(lambda: min(controls_per_node(nodes).values()) >= 1, what="first controls")
            await until(lambda: app.decisions >= 20 * N_NODES, what="steady decisions")
            before = {ck: (dict(st.sent), st.previous_min) for ck, st in app.cells.items()}
        sent = len(nodes.applied)

        async with running_app(server.port, redis_url, ns, instance="new") as (app, _h, registry):
            await until(lambda: app.decisions >= 20 * N_NODES, what="decisions after restart")
            assert metric(registry, "nextric_slice_scheduler_restored_cells_total") == N_NODES
            assert len(nodes.applied) == sent, "ratios already in force must not be sent again"
            assert {ck: (dict(st.sent), st.previous_min) for ck, st in app.cells.items()} == before
            nodes.embb_offered_mbps = dict.fromkeys(nodes.node_ids, 30.0)
            await until(lambda: len(nodes.applied) >= sent + N_NODES, what="controls for the new demand")
        for req in nodes.applied[sent:sent + N_NODES]:
            ck = ids.cell_key(req.slice_quota.cells[0].cgi)
            new = {ids.snssai_key(p.members[0].snssai): p.min_prb_policy_ratio
                   for p in req.slice_quota.cells[0].policies}
            old = before[ck][1]
            assert old is not None
            assert all(abs(new[k] - old[k]) <= 25 for k in old), (old, new)
    finally:
        await pump.stop()
        await server.stop(None)


async def test_applied_controls_reach_the_policy_audit(tmp_path: Path, redis_url: str) -> None:
    """Each acknowledged control is reported to the policy service (``POST /guardrail/v1/applied``) and shows up
    in its audit as ``applied`` by the xApp, with the cell, the ratios sent and the simulated time."""
    svc = start_service(tmp_path / "policy", [{"name": "ops", "token": OP_TOKEN, "roles": ["operator"]},
                                              {"name": "slice", "token": XAPP_TOKEN, "roles": ["xapp"]}],
                        backend="memory")
    nodes = LoadedNodes(N_NODES)
    server = await start_e2_server(nodes, E2ServerSettings())
    pump = Pump(nodes, server).start()
    records: list[dict[str, object]] = []
    try:
        policy = PolicySettings(url=svc.url, token=SecretStr(XAPP_TOKEN))
        async with httpx.AsyncClient(base_url=svc.url, headers={"Authorization": f"Bearer {OP_TOKEN}"}) as http, \
                running_app(server.port, redis_url, "t.audit", policy=policy) as (_app, _h, registry):
            await until(lambda: min(controls_per_node(nodes).values()) >= 1, what="controls")
            await until(lambda: metric(registry, "nextric_slice_scheduler_applied_reports_total") >= len(nodes.applied),
                        what="applied reports")
            r = await http.get("/audit/v1/records", params={"kind": "applied", "limit": 100})
            assert r.status_code == 200, r.text
            records = r.json()["items"]
        assert metric(registry, "nextric_slice_scheduler_applied_reports_total") == len(nodes.applied)
    finally:
        await pump.stop()
        await server.stop(None)
        svc.stop()
    assert len(records) == len(nodes.applied)
    assert {rec["subject"] for rec in records} == set(cell_keys(nodes))
    assert all(rec["actor"] == "slice" for rec in records)
    sent = sorted(
        (ids.cell_key(req.slice_quota.cells[0].cgi), sorted(
            (ids.snssai_key(p.members[0].snssai), p.min_prb_policy_ratio, p.max_prb_policy_ratio,
             p.dedicated_prb_policy_ratio) for p in req.slice_quota.cells[0].policies))
        for req in nodes.applied)
    got = []
    for rec in records:
        action = rec["data"]["action"]  # type: ignore[index]
        got.append((rec["subject"], sorted(
            (f"{p['member']['sst']}-{p['member']['sd']}" if p["member"].get("sd") else str(p["member"]["sst"]),
             p["minPrbRatio"], p["maxPrbRatio"], p["dedicatedPrbRatio"]) for p in action["policies"])))
    assert sorted(got) == sent


async def test_plan_and_a1_changes_arrive_by_sdl_notification(tmp_path: Path, redis_url: str) -> None:
    """No timers: the rApp's plan (SDL set + publish) and an A1 SLA policy (the policy service announces it on SDL)
    reach the running xApp on their notifications, over a real Redis; the law the xApp runs is published in SDL."""
    from nextric.control.policy import PLAN_CHANNEL, ControlPlan, SlaCeiling
    from nextric.control.slices import PlanBounds

    svc = start_service(tmp_path / "policy", [{"name": "ops", "token": OP_TOKEN, "roles": ["operator"]},
                                              {"name": "slice", "token": XAPP_TOKEN, "roles": ["xapp"]}],
                        backend="memory",
                        sdl_backend="redis", sdl_redis_url=redis_url)
    nodes = LoadedNodes(2)
    server = await start_e2_server(nodes, E2ServerSettings())
    pump = Pump(nodes, server).start()
    sdl = open_sdl(SdlSettings(backend="redis", redis_url=redis_url))
    try:
        policy = PolicySettings(url=svc.url, token=SecretStr(XAPP_TOKEN))
        async with running_app(server.port, redis_url, "t.notify", policy=policy) as (app, _h, _r):
            await until(lambda: app.a1_version >= 1, what="the initial A1 load")
            law = (await sdl.get("t.notify", ["law"]))["law"]
            assert b'"max_step_pct": 24' in law  # the allocator's step with the default guardrail's limit
            ck = ids.cell_key(nodes.node_infos()[0].cells[0].cgi)
            plan = ControlPlan(cells={ck: {"1-000001": PlanBounds(40, 60, 90)}},
                               slas={ck: {"1-000001": SlaCeiling(0.05)}}, plan_id="p7", version=7)
            await sdl.set_and_publish("rapp.intent_agent", {"slice_plan": plan.encode()}, PLAN_CHANNEL, b"7")
            await until(lambda: app.plan.version == 7, what="the plan")
            sent = len(nodes.applied)
            await until(lambda: any(ids.cell_key(r.slice_quota.cells[0].cgi) == ck and any(
                p.min_prb_policy_ratio >= 40 for p in r.slice_quota.cells[0].policies
                if ids.snssai_key(p.members[0].snssai) == "1-000001") for r in nodes.applied[sent:]),
                what="a control inside the plan's bounds")
            body = {"scope": {"sliceId": {"plmnId": {"mcc": "001", "mnc": "01"}, "sst": 2, "sd": "000002"}},
                    "sliceSlaObjectives": {"maxPacketDelayMs": 8.0}}
            seen = app.a1_version
            async with httpx.AsyncClient(base_url=svc.url, headers={"Authorization": f"Bearer {OP_TOKEN}"}) as http:
                r = await http.put("/A1-P/v2/policytypes/ORAN_SliceSLATarget_1.0.0/policies/tight", json=body)
                assert r.status_code in (200, 201), r.text
            await until(lambda: app.a1_version > seen, what="the A1 change")
            assert app.slas_for(ck)["2-000002"].p99_ceiling_ms == 8.0
    finally:
        await sdl.close()
        await pump.stop()
        await server.stop(None)
        svc.stop()

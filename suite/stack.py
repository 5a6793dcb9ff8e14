"""The whole suite in one process on embedded defaults, for the demo and the end-to-end tests: the testbed
(E2 + transport controller + twin over gRPC on a free port), the policy service (HTTP, SQLite audit, A1 changes
announced on the embedded SDL), the slice scheduler and the transport steering xApps (in-process, sharing the
embedded SDL with the rApp, talking to the testbed over gRPC as deployed), the other xApps as child processes when
their packages exist, and the intent agent rApp (HTTP).

The step driver runs lock-step: each simulated second ends once every cell's control is in, every transport
period once the steering has acted on its telemetry, every rApp period once the rApp has its KPM report, and
after the rApp changed the plan once both xApps run the new version. Nothing waits on a wall-clock timer, so two
runs of one seed give the same KPIs and the same controls.

With ``e2ap`` the E2 of the xApps and the rApp goes through the E2AP bridge (:mod:`suite.e2ap_path`): testbed ->
E2AP agents -> ``e2term`` -> its gRPC hub -> slice scheduler and rApp. The lock-step holds there as well: a slice
scheduler's cell counts as handled only once its control is acknowledged, and the bridge acknowledges a RIC Control
only after the gNB (the agent) has applied it to the emulator; the rApp's period ends on the simulated time of the
KPM it received. The transport controller and the twin are not E2 and stay on the testbed's gRPC server, as do the
BEAM and PILOT reports of the child xApps (nextric service models with no E2SM counterpart)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from nextric.control.policy import decode_plan
from nextric.e2.client import E2Client
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2ap.transport import Transport
from nextric.obs.health import Health
from nextric.obs.serve import HttpServer, start_http
from nextric.sdl.embedded import EmbeddedSdl
from policy.app import create_app as policy_app
from policy.settings import PolicySettings, Role, TokenGrant
from rapps.intent_agent.app import build_agent, create_app, describe_network, feed_kpm, twin_channel
from rapps.intent_agent.service import IntentAgent
from rapps.intent_agent.settings import (
    Grant,
    IntentAgentSettings,
    PlannerSettings,
    PolicyClientSettings,
    TwinClientSettings,
)
from suite.e2ap_path import BridgedE2, start_bridged_e2
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.e2node import EmulatedGnbs, StepDriver
from testbed.policies import uniform_shares
from testbed.transport_service import TransportController
from testbed.transport_service import registrar as transport_registrar
from testbed.twin_service import TwinService
from testbed.twin_service import registrar as twin_registrar
from xapps.slice_scheduler.app import SliceSchedulerApp
from xapps.slice_scheduler.metrics import SliceMetrics
from xapps.slice_scheduler.settings import PolicySettings as XappPolicySettings
from xapps.slice_scheduler.settings import SliceSchedulerSettings
from xapps.transport_steering.app import TransportSteeringApp
from xapps.transport_steering.metrics import SteeringMetrics
from xapps.transport_steering.settings import ControllerSettings, TransportSteeringSettings

#: other xApps started as child processes when their package exists: module -> environment prefix
CHILD_XAPPS = {"xapps.beam_predictor": "NEXTRIC_XAPP_BEAM_", "xapps.ce_selector": "NEXTRIC_XAPP_CE_"}
GUARDRAIL_TYPE = "NEXTRIC_Guardrail_1.0.0"


@dataclass
class Stack:
    emu: Emulator
    gnbs: EmulatedGnbs
    e2: RunningE2Server
    policy: HttpServer
    rapp: HttpServer
    agent: IntentAgent
    scheduler: SliceSchedulerApp
    steering: TransportSteeringApp
    transport: TransportController
    sdl: EmbeddedSdl
    operator: str  #: operator token of the rApp and the policy service
    children: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    child_info: dict[str, Any] = field(default_factory=dict)
    bridged: BridgedE2 | None = None  #: the E2AP path, when the xApps and the rApp use the bridge
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    @property
    def e2_target(self) -> str:
        """Where the slice scheduler and the rApp reach E2: the bridge's gRPC hub, or the testbed's server."""
        return self.bridged.target if self.bridged is not None else self.e2.target

    def http(self, which: str = "rapp") -> httpx.AsyncClient:
        srv = self.rapp if which == "rapp" else self.policy
        return httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {self.operator}"},
                                 timeout=30.0)


def _start_child(module: str, prefix: str, target: str, workdir: Path) -> tuple[subprocess.Popen[str] | None, Any]:
    env = {**os.environ, f"{prefix}E2__TARGET": target, f"{prefix}LOG__LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", module], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env, cwd=workdir)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the JSON line with the bound ports, or EOF when the xApp could not start
    try:
        return proc, json.loads(line)
    except ValueError:
        proc.kill()
        proc.wait()
        return None, {"error": f"{module} did not start (first line {line[:120]!r})"}


def _fresh_folder(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for p in out.glob("*.db*"):
        p.unlink()


def warmed_emulator(sc: ScenarioParams, shocks: str, seed: int, warmup_steps: int = 0) -> Emulator:
    """The emulator on the static uniform split, run ``warmup_steps`` sub-steps: a city that has been running
    (its shock processes in their steady state) when the RIC connects."""
    emu = Emulator(sc, ShockRegime.parse(shocks), seed=seed)
    prb, tn = uniform_shares(sc)
    emu.set_allocation(shares_to_ratios(prb, "isolated"), tn)
    for _ in range(warmup_steps):
        emu.step_fast()
    return emu


async def start_stack(sc: ScenarioParams, scenario: str, shocks: str, seed: int, out: Path,
                      children: bool = True, guardrail: dict[str, Any] | None = None, warmup_steps: int = 0,
                      e2ap: Transport | None = None) -> Stack:
    """The suite on a fresh emulator; ``warmup_steps``: the city runs this long on the static split first.

    ``e2ap``: None, the xApps and the rApp use the testbed's gRPC E2; ``tcp`` / ``sctp`` / ``auto``, they use an
    E2 termination bridge that the emulated gNBs reach over E2AP with that transport (see the module docstring)."""
    await asyncio.to_thread(_fresh_folder, out)
    emu = await asyncio.to_thread(warmed_emulator, sc, shocks, seed, warmup_steps)
    gnbs = EmulatedGnbs(emu)
    transport = TransportController(emu)
    gnbs.step_hooks.append(transport.publish)
    twin = TwinService(sc, scenario, [b.cell_key for b in gnbs.bindings])
    e2 = await start_e2_server(gnbs, E2ServerSettings(), extra_services=[
        transport_registrar(transport), twin_registrar(twin)])
    bridged = None if e2ap is None else await start_bridged_e2(gnbs, e2.service, e2ap)
    e2_target = e2.target if bridged is None else bridged.target
    operator, xapp = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    pset = PolicySettings(backend="sqlite", sqlite_path=out / "policy-audit.db", log_json=False, tokens=[
        TokenGrant(name="noc", token=SecretStr(operator), roles=[Role.OPERATOR, Role.XAPP]),
        TokenGrant(name="slice-scheduler", token=SecretStr(xapp), roles=[Role.XAPP])])
    sdl = EmbeddedSdl()
    policy = await start_http(policy_app(pset, sdl=sdl), "127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=policy.base_url, headers={"Authorization": f"Bearer {operator}"}) as c:
        body = guardrail or {"scope": {}, "slaViolationProbabilityThreshold": 0.5,
                             "approval": {"low": "autonomous", "medium": "autonomous", "high": "advisory"}}
        r = await c.put(f"/A1-P/v2/policytypes/{GUARDRAIL_TYPE}/policies/demo-guardrail", json=body)
        r.raise_for_status()
    ssettings = SliceSchedulerSettings(e2=E2ClientSettings(target=e2_target),
                                       policy=XappPolicySettings(url=policy.base_url, token=SecretStr(xapp)))
    client = E2Client(ssettings.e2)
    await client.__aenter__()
    scheduler = SliceSchedulerApp(ssettings, sdl, Health(), SliceMetrics.create(CollectorRegistry()), client)
    tsettings = TransportSteeringSettings(controller=ControllerSettings(target=e2.target))  # not E2: the testbed's
    controller = grpc.aio.insecure_channel(tsettings.controller.target)
    steering = TransportSteeringApp(tsettings, sdl, Health(), SteeringMetrics.create(CollectorRegistry()),
                                    controller)
    stack_children: dict[str, subprocess.Popen[str]] = {}
    info: dict[str, Any] = {}
    if children:
        for module, prefix in CHILD_XAPPS.items():
            if importlib.util.find_spec(module) is None:
                info[module] = {"error": "not installed"}
                continue
            proc, meta = await asyncio.to_thread(_start_child, module, prefix, e2.target, Path.cwd())
            info[module] = meta
            if proc is not None:
                stack_children[module] = proc
    ce = info.get("xapps.ce_selector", {})
    rsettings = IntentAgentSettings(
        audit_path=str(out / "rapp-audit.db"),
        tokens=[Grant(name="noc", token=SecretStr(operator), roles=["operator"])],
        policy=PolicyClientSettings(url=policy.base_url, token=SecretStr(operator)),
        ce_url=f"http://127.0.0.1:{ce['http_port']}" if "http_port" in ce else None,
        planner=PlannerSettings(regime=shocks, seed=seed),
        e2=E2ClientSettings(target=e2_target), twin=TwinClientSettings(target=e2.target))
    assert rsettings.e2 is not None
    rclient = E2Client(rsettings.e2)
    await rclient.__aenter__()
    twin_chan = twin_channel(rsettings)
    assert twin_chan is not None
    topo, twin_stub = await describe_network(twin_chan)
    agent = build_agent(rsettings, sdl, topo, twin_stub)
    rapp = await start_http(create_app(rsettings, agent), "127.0.0.1", 0)
    st = Stack(emu, gnbs, e2, policy, rapp, agent, scheduler, steering, transport, sdl, operator, stack_children, info,
               bridged)
    st.tasks.append(asyncio.create_task(scheduler.run(st.stop)))
    st.tasks.append(asyncio.create_task(steering.run(st.stop)))
    st.tasks.append(asyncio.create_task(feed_kpm(agent, rclient, rsettings.report_period_ms, st.stop)))
    st.closers += [lambda: rclient.__aexit__(None, None, None), lambda: twin_chan.close(None),
                   lambda: client.__aexit__(None, None, None), lambda: controller.close(None), rapp.stop, policy.stop]
    if bridged is not None:
        st.closers.append(bridged.stop)
    st.closers += [lambda: e2.stop(None), sdl.close]
    return st


async def stop_stack(st: Stack) -> None:
    st.stop.set()
    await asyncio.gather(*st.tasks, return_exceptions=True)
    for proc in st.children.values():
        proc.terminate()
    for proc in st.children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
    for close in st.closers:
        with contextlib.suppress(Exception):
            await close()
    st.agent.audit.close()


async def drive(st: Stack, steps: int, on_step: Callable[[int], Awaitable[None]] | None = None) -> None:
    """Lock-step run of ``steps`` simulated seconds with the slice scheduler, the transport steering and the rApp
    (see the module docstring)."""
    n_nodes = len(st.gnbs.bindings)
    period = st.agent.s.report_period_ms // st.gnbs.fast_step_ms
    t_period = st.steering.s.period_ms // st.gnbs.fast_step_ms
    base_decisions = st.scheduler.handled
    base_steerings = st.steering.decisions

    def kpm_subs(node_id: str) -> int:
        return len(st.e2.hub._by_node_style.get((node_id, e2ap_pb2.REPORT_STYLE_KPM), {}))

    async def ready() -> None:  # every xApp subscribed and the plan read before the first step
        while (any(kpm_subs(b.node_id) < 2 for b in st.gnbs.bindings)  # noqa: ASYNC110
               or st.transport.watchers < 1):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(ready(), 30.0)
    t0_s = st.emu.t_s

    async def plan_version() -> int:
        raw = (await st.sdl.get(st.agent.s.sdl_namespace, [st.agent.s.plan_key])).get(st.agent.s.plan_key)
        return decode_plan(raw).version

    async def after(done: int) -> None:
        async def settled() -> None:
            while st.scheduler.handled - base_decisions < done * n_nodes:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            while st.steering.decisions - base_steerings < done // t_period:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            if done % period == 0:
                want = t0_s + done * st.gnbs.fast_step_ms / 1000.0 - 1e-6
                reps = st.agent.env.history.reports
                while not reps or reps[-1].t_end_s < want:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)

        try:
            await asyncio.wait_for(settled(), 30.0)
        except TimeoutError:
            reps = st.agent.env.history.reports
            raise TimeoutError(
                f"lock-step stalled after {done} s: slice scheduler decisions "
                f"{st.scheduler.handled - base_decisions}/{done * n_nodes}, transport decisions "
                f"{st.steering.decisions - base_steerings}/{done // t_period}, rApp last KPM at "
                f"{reps[-1].t_end_s if reps else None} s") from None
        if on_step is not None:
            await on_step(done)
            version = await plan_version()  # a plan changed in the hook runs from the next step on, everywhere

            async def synced() -> None:
                while st.scheduler.plan.version != version or st.steering.plan.version != version:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)

            await asyncio.wait_for(synced(), 30.0)

    await StepDriver(st.gnbs, st.e2.hub, speedup=None).run(steps, after_step=after)

"""The closed-loop demo (``make demo`` / ``nextric demo``): the main job on embedded defaults.

Three runs of the default city (TWM proof-of-concept scenario, hotspot shocks, one seed, so the same exogenous
demand in each):

- **static**: the uniform 1/3 split of the paper's baseline, no controller;
- **controllers**: the whole suite (:mod:`suite.stack`): testbed over E2, policy service, the slice scheduler and
  the transport steering xApps (and the other xApps), the rApp watching;
- **controllers + intent**: the same, and the operator submits two intents:

  1. at ``INTENT_AT_S``: keep eMBB loss in the hospital zone below 10 %. The hospital's backhaul (H-HUB) is what
     loses eMBB traffic there, which the PRB scheduler cannot fix. The rApp plans against what runs (candidate
     bounds for the running laws, judged in the closed-loop twin against the status quo), the guardrail gates it,
     the operator approves it only when the gate did not refuse it (acknowledging its risk level), and the plan's
     PRB and transport bounds reach both xApps;
  2. at ``USELESS_AT_S``: prioritise URLLC reliability in the same zone, whose targets already hold with margin:
     the twin predicts no measurable effect, so the gate refuses it and nothing changes.

The report compares the legs period by period (one KPM period = one slow step, 15 s): the city per slice and the
hospital zone as the rApp's KPM shows it, with the paired difference between the legs and its 95 % interval over
the periods after the intent. Returns 0 when the controllers beat the static split, the first intent's plan was
applied and changed its target measurably, and the second was refused for having no effect.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID

from nextric.e2ap.transport import Transport, resolve
from rapps.intent_agent.observe import to_report
from suite.demo_report import LegSeries, paired, print_report, save_report
from suite.stack import warmed_emulator
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of
from testbed.e2node import EmulatedGnbs

SCENARIO = "twm_poc"
SHOCKS = "hotspot-ID"
INTENT = "Keep eMBB packet loss in the hospital zone below 10 % during evening peaks"
USELESS_INTENT = ("Prioritize URLLC reliability in the hospital zone during evening demand peaks while keeping total "
                  "resource cost near the daytime baseline")
WARMUP_S = 300  #: the city runs this long on the static split before the RIC connects (shocks in steady state)
INTENT_AT_S = 120  #: simulated second (after the RIC connected) of the intent: 8 KPM periods of history
USELESS_AT_S = 135  #: ... and the one whose targets already hold
AREA_CELLS = (6, 9)  #: the hospital zone
TARGET = ("eMBB", "loss")  #: the first intent's target KPI in the area
TMF = "/tmf-api/intentManagement/v5"


@dataclass
class IntentOutcome:
    text: str
    intent: dict[str, Any]
    plan: dict[str, Any] | None
    reports: list[dict[str, Any]]
    decision: str  #: what the operator step did and why


@dataclass
class LegResult:
    name: str
    series: LegSeries
    controls: int = 0
    steerings: int = 0
    outcomes: list[IntentOutcome] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)
    children: dict[str, Any] = field(default_factory=dict)
    e2_path: str = "none"  #: how the xApps and the rApp reached the E2 nodes (the static leg has no RIC)
    e2ap: dict[str, int] = field(default_factory=dict)  #: through the bridge: what crossed it (BridgedE2.stats)


def e2_path_name(e2ap: Transport | None) -> str:
    return "gRPC" if e2ap is None else f"E2AP bridge ({resolve(e2ap)})"


def run_static(sc: ScenarioParams, seed: int, steps: int, progress: Progress) -> LegResult:
    """The uniform split with no controller; its KPM is formed exactly as the E2 nodes report it."""
    emu = warmed_emulator(sc, SHOCKS, seed, WARMUP_S)
    gnbs = EmulatedGnbs(emu)
    topo = topology_of(sc)
    warm = emu.step_index
    period = sc.timing.fast_per_slow
    series = LegSeries("static")
    reports: list[KpmReport] = []
    task = progress.add_task("static uniform split", total=steps)
    for done in range(1, steps + 1):
        gnbs.advance()
        if done % period == 0:
            msgs = gnbs.kpm_messages(period * gnbs.fast_step_ms)
            reports.append(to_report(msgs, topo, emu.t_s))
            series.add_period(emu, warm + done - period, warm + done, reports[-1], AREA_CELLS, warm)
        progress.advance(task)
    return LegResult("static", series)


async def run_suite(sc: ScenarioParams, seed: int, steps: int, out: Path, progress: Progress,
                    with_intents: bool, e2ap: Transport | None = None, children: bool = True) -> LegResult:
    """One leg on the whole suite; ``e2ap``: its E2 through the E2AP bridge with that transport (None: gRPC)."""
    from suite.stack import drive, start_stack, stop_stack

    name = "controllers + intent" if with_intents else "controllers"
    task = progress.add_task(f"{name}: starting the suite", total=steps)
    st = await start_stack(sc, SCENARIO, SHOCKS, seed, out / ("suite-intent" if with_intents else "suite-controllers"),
                           children=children, warmup_steps=WARMUP_S, e2ap=e2ap)
    warm = st.emu.step_index
    series = LegSeries(name)
    period = sc.timing.fast_per_slow
    outcomes: list[IntentOutcome] = []
    try:
        async def on_step(done: int) -> None:
            progress.update(task, advance=1, description=f"{name}: t = {done} s")
            if done % period == 0:
                series.add_period(st.emu, warm + done - period, warm + done, st.agent.env.history.reports[-1],
                                  AREA_CELLS, warm)
            if with_intents and done == INTENT_AT_S:
                outcomes.append(await submit(st, INTENT, progress, task))
            if with_intents and done == USELESS_AT_S:
                outcomes.append(await submit(st, USELESS_INTENT, progress, task))

        await drive(st, steps, on_step)
        leg = LegResult(name, series, st.scheduler.sent, st.steering.decisions, children=st.child_info,
                        e2_path=e2_path_name(e2ap), e2ap={} if st.bridged is None else st.bridged.stats())
        async with st.http() as h:
            for o in outcomes:
                iid = o.intent["id"]
                o.intent = (await h.get(f"{TMF}/intent/{iid}")).json()
                o.reports = (await h.get(f"{TMF}/intent/{iid}/intentReport")).json()
                if o.intent["plans"]:
                    o.plan = (await h.get(f"/rapp/v1/plans/{o.intent['plans'][0]}")).json()
            leg.audit = (await h.get("/rapp/v1/audit", params={"limit": 1000})).json()
        leg.outcomes = outcomes
        return leg
    finally:
        await stop_stack(st)


async def submit(st: Any, text: str, progress: Progress, task: TaskID) -> IntentOutcome:
    """The operator: submit, wait for the plan, approve it only when the gate did not refuse it, acknowledging the
    risk level the gate gave it."""
    async with st.http() as h:
        progress.update(task, description=f"operator: submitting {text[:40]!r}")
        r = await h.post(f"{TMF}/intent", json={"name": text[:60], "naturalLanguage": text, "mode": "advisory"})
        r.raise_for_status()
        it = r.json()
        progress.update(task, description="rApp: planning (world models, closed-loop twin, guardrail)")
        for _ in range(6000):
            it = (await h.get(f"{TMF}/intent/{it['id']}")).json()
            if it["lifecycleStatus"] not in ("planning", "acknowledged"):
                break
            await asyncio.sleep(0.05)
        plan = (await h.get(f"/rapp/v1/plans/{it['plans'][0]}")).json() if it["plans"] else None
        decision = f"nothing to decide: the intent is {it['lifecycleStatus']}"
        if plan is not None and plan["status"] == "awaiting_approval":
            progress.update(task, description=f"operator: approving the plan (risk {plan['risk']})")
            (await h.post(f"/rapp/v1/plans/{plan['id']}/approve",
                          json={"acknowledgeRisk": plan["risk"]})).raise_for_status()
            decision = f"approved, acknowledging {plan['risk']} risk"
            plan = (await h.get(f"/rapp/v1/plans/{plan['id']}")).json()
        elif plan is not None and plan["status"] == "refused":
            decision = "not approved: the gate refused it (" + "; ".join(plan["refusal"]) + ")"
        return IntentOutcome(text, it, plan, [], decision)


def verdict(legs: list[LegResult]) -> tuple[bool, list[str]]:
    """Did the loop work? Returns (ok, reasons)."""
    static, ctrl, intent = legs
    why: list[str] = []
    if ctrl.series.city_scm_mean(INTENT_AT_S) < static.series.city_scm_mean(INTENT_AT_S):
        why.append("the controllers did worse than the static split")
    useful = intent.outcomes[0] if intent.outcomes else None
    if useful is None or useful.plan is None or useful.plan["status"] != "applied":
        why.append("the first intent's plan was not applied")
    else:
        d = paired(ctrl.series, intent.series, INTENT_AT_S, "area", *TARGET)
        if not d.hi < 0:
            why.append(f"the first intent did not lower hospital {TARGET[0]} {TARGET[1]} measurably "
                       f"(paired change {d.mean:+.4f}, 95 % interval {d.lo:+.4f} to {d.hi:+.4f})")
    useless = intent.outcomes[1] if len(intent.outcomes) > 1 else None
    if useless is None or useless.plan is None or useless.plan["status"] != "refused" or not any(
            "no measurable effect" in x for x in useless.plan["refusal"]):
        why.append("the second intent was not refused for having no measurable effect")
    return not why, why


def run_demo(seconds: float, seed: int, out: Path, e2ap: Transport | None = None) -> int:
    """The three legs and the report; ``e2ap``: the suite's E2 goes through the E2AP bridge with that transport."""
    console = Console(width=max(120, Console().width))
    sc = load_scenario(SCENARIO)
    steps = max(USELESS_AT_S + 120, round(seconds / sc.timing.fast_step_s))
    with Progress(console=console) as progress:
        static = run_static(sc, seed, steps, progress)
        ctrl = asyncio.run(run_suite(sc, seed, steps, out, progress, False, e2ap))
        intent = asyncio.run(run_suite(sc, seed, steps, out, progress, True, e2ap))
    legs = [static, ctrl, intent]
    ok, why = verdict(legs)
    console.print(f"E2 of the xApps and the rApp: {e2_path_name(e2ap)}")
    print_report(sc, legs, console, INTENT_AT_S, TARGET, ok, why)
    paths = save_report(sc, legs, out, seed, steps, INTENT_AT_S, TARGET, ok, why)
    console.print("report: " + ", ".join(str(p) for p in paths))
    return 0 if ok else 1


__all__ = ["INTENT", "USELESS_INTENT", "IntentOutcome", "LegResult", "run_demo"]

"""The closed-loop demo (``make demo`` / ``nextric demo``): the main job on embedded defaults.

Three runs of the default city (TWM proof-of-concept scenario, hotspot shocks, same seed, so the same
exogenous demand):

- **static**: the uniform 1/3 PRB split of the paper's baseline, no xApp;
- **xApps**: the whole suite (:mod:`suite.stack`): testbed over E2, policy service, the slice scheduler and the
  other xApps, and the rApp watching;
- **xApps + intent**: the same, and after 45 simulated seconds the operator submits the hospital-zone intent;
  the rApp compiles it, plans through its tools (world models, twin, guardrail), the operator approves over the
  API, and the plan reaches the slice scheduler (SDL plan + A1 SLA policy).

It prints a before/after table per slice (whole city and the intent's area), the plan with its explanation, the
intent report and the audit trail; writes ``report.json``, ``kpis.png`` and ``report.html`` to the output folder;
returns 0 when the closed loop kept the SLAs at least as well as the static split and the intent was fulfilled.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from rapps.intent_agent.observe import area_kpis
from testbed.core.engine import Emulator
from testbed.core.kpi import KpiSummary
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.policies import uniform_shares

SCENARIO = "twm_poc"
SHOCKS = "hotspot-ID"
INTENT = ("Prioritize URLLC reliability in the hospital zone during evening demand peaks while keeping total "
          "resource cost near the daytime baseline")
INTENT_AT_S = 45  #: simulated second at which the operator submits the intent
TMF = "/tmf-api/intentManagement/v5"


@dataclass
class LegResult:
    name: str
    kpis: KpiSummary  #: whole city since the intent's submission time
    series: dict[str, list[float]] = field(default_factory=dict)
    controls: int = 0
    area: dict[str, Any] = field(default_factory=dict)


@dataclass
class IntentOutcome:
    intent: dict[str, Any]
    plan: dict[str, Any] | None
    reports: list[dict[str, Any]]
    audit: dict[str, Any]
    children: dict[str, Any]


def new_emulator(sc: ScenarioParams, seed: int) -> Emulator:
    emu = Emulator(sc, ShockRegime.parse(SHOCKS), seed=seed)
    prb, tn = uniform_shares(sc)
    emu.set_allocation(shares_to_ratios(prb, "isolated"), tn)
    return emu


def _series_point(series: dict[str, list[float]], emu: Emulator, since_step: int) -> None:
    k = emu.kpis_since(since_step)
    for i, s in enumerate(emu.sc.slices):
        series.setdefault(f"{s.name} loss", []).append(float(k.loss[0, i]))
        series.setdefault(f"{s.name} p99 ms", []).append(float(k.p99_ms[0, i]))
    series.setdefault("SCM", []).append(float(k.scm[0]))


def run_static(sc: ScenarioParams, seed: int, steps: int, progress: Progress) -> LegResult:
    emu = new_emulator(sc, seed)
    series: dict[str, list[float]] = {}
    task = progress.add_task("static uniform split", total=steps)
    for _ in range(steps):
        emu.step_fast()
        _series_point(series, emu, emu.step_index - 1)
        progress.advance(task)
    return LegResult("static", emu.kpis_since(INTENT_AT_S), series)


async def run_suite(sc: ScenarioParams, seed: int, steps: int, out: Path, progress: Progress,
                    intent: str | None) -> tuple[LegResult, IntentOutcome | None]:
    from suite.stack import drive, start_stack, stop_stack

    name = "xApps + intent" if intent else "xApps"
    task = progress.add_task(f"{name}: starting the suite", total=steps)
    st = await start_stack(sc, SCENARIO, SHOCKS, seed, out / ("suite-intent" if intent else "suite-xapps"))
    series: dict[str, list[float]] = {}
    outcome: dict[str, Any] = {}
    try:
        async def on_step(done: int) -> None:
            _series_point(series, st.emu, st.emu.step_index - 1)
            progress.update(task, advance=1, description=f"{name}: t = {done} s")
            if intent and done == INTENT_AT_S:
                outcome.update(await submit_and_approve(st, intent, progress, task))

        await drive(st, steps, on_step)
        names = [s.name for s in sc.slices]
        cells = [6, 9]
        after = area_kpis(st.agent.env.history.since(INTENT_AT_S), cells, names)
        leg = LegResult(name, st.emu.kpis_since(INTENT_AT_S), series, st.scheduler.sent,
                        {} if after is None else {"loss": after.loss, "p99_ms": after.p99_ms,
                                                  "throughput_mbps": after.throughput_mbps,
                                                  "prb_per_mbps": after.prb_per_mbps})
        result = None
        if intent:
            async with st.http() as h:
                iid = outcome["intent_id"]
                it = (await h.get(f"{TMF}/intent/{iid}")).json()
                reps = (await h.get(f"{TMF}/intent/{iid}/intentReport")).json()
                plan = (await h.get(f"/rapp/v1/plans/{it['plans'][0]}")).json() if it["plans"] else None
                audit = (await h.get("/rapp/v1/audit", params={"limit": 1000})).json()
            result = IntentOutcome(it, plan, reps, audit, st.child_info)
        return leg, result
    finally:
        await stop_stack(st)


async def submit_and_approve(st: Any, text: str, progress: Progress, task: TaskID) -> dict[str, Any]:
    async with st.http() as h:
        progress.update(task, description="operator: submitting the hospital-zone intent")
        r = await h.post(f"{TMF}/intent", json={"name": "hospital URLLC evening", "naturalLanguage": text,
                                                "mode": "advisory"})
        r.raise_for_status()
        iid = r.json()["id"]
        progress.update(task, description="rApp: compiling and planning (world models, twin, guardrail)")
        it = r.json()
        for _ in range(3000):
            it = (await h.get(f"{TMF}/intent/{iid}")).json()
            if it["lifecycleStatus"] not in ("planning", "acknowledged"):
                break
            await asyncio.sleep(0.05)
        if it["plans"]:
            plan = (await h.get(f"/rapp/v1/plans/{it['plans'][0]}")).json()
            if plan["status"] == "awaiting_approval":
                progress.update(task, description="operator: approving the plan")
                (await h.post(f"/rapp/v1/plans/{plan['id']}/approve")).raise_for_status()
        return {"intent_id": iid}


def _row(leg: LegResult, i: int) -> list[str]:
    k = leg.kpis
    return [f"{100 * k.loss[0, i]:.2f} %", f"{k.p99_ms[0, i]:.1f} ms", f"{k.throughput_mbps[0, i]:.0f}"]


def print_report(sc: ScenarioParams, legs: list[LegResult], outcome: IntentOutcome | None, console: Console) -> None:
    table = Table(title=f"{SCENARIO}, {SHOCKS}: KPIs per slice after t = {INTENT_AT_S} s (whole city)")
    table.add_column("slice")
    table.add_column("SLA ceilings")
    for leg in legs:
        table.add_column(f"{leg.name}: loss", justify="right")
        table.add_column("p99", justify="right")
        table.add_column("Mbit/s", justify="right")
    for i, s in enumerate(sc.slices):
        ceil = f"loss {100 * s.sla_loss:.0f} %" + (f", p99 {s.sla_p99_ms:.0f} ms" if s.sla_p99_ms else "")
        table.add_row(s.name, ceil, *[c for leg in legs for c in _row(leg, i)])
    table.add_row("SCM", "", *[c for leg in legs for c in (f"{100 * leg.kpis.scm[0]:.1f} %", "", "")])
    console.print(table)
    area = Table(title="hospital zone (cells 6, 9), from the rApp's KPM: before = xApps only, after = with the intent")
    area.add_column("slice")
    for leg in legs[1:]:
        area.add_column(f"{leg.name}: loss", justify="right")
        area.add_column("worst-cell p99", justify="right")
    for s in sc.slices:
        area.add_row(s.name, *[c for leg in legs[1:] for c in (
            f"{100 * leg.area.get('loss', {}).get(s.name, 0):.2f} %",
            f"{leg.area.get('p99_ms', {}).get(s.name, 0):.1f} ms")])
    console.print(area)
    if outcome is None:
        return
    plan = outcome.plan
    if plan:
        console.print(f"[bold]plan {plan['id']}[/] ({plan['status']}, risk {plan['risk']}, evidence: "
                      f"{', '.join(plan['evidence'])})")
        console.print(plan["explanation"])
        tools = [f"{c['tool']} ({c['duration_ms']:.0f} ms)" for c in plan["trace"].get("calls", [])]
        console.print("trace: " + " -> ".join(tools))
    last = outcome.reports[0] if outcome.reports else {}
    console.print(f"[bold]intent report[/]: {last.get('fulfilmentStatus')} {last.get('notFulfilledState') or ''} — "
                  f"{last.get('why', '')}")
    for t in last.get("achievedValues", []):
        console.print(f"  {t['target']} {t['condition']} {t['value']}: achieved {t['achieved']:.4g}")
    console.print("[bold]audit trail[/] (rApp): " + ", ".join(f"{a['kind']}" for a in outcome.audit["items"]))
    kinds: dict[str, int] = {}
    for a in outcome.audit["policy"]:
        kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
    console.print("policy service audit (last 50): " + ", ".join(f"{k} x{v}" for k, v in kinds.items()))
    started = [m for m, v in outcome.children.items() if "http_port" in v]
    console.print(f"xApps running: slice scheduler{''.join(', ' + m.split('.')[-1] for m in started)}")


def save_report(sc: ScenarioParams, legs: list[LegResult], outcome: IntentOutcome | None, out: Path, seed: int,
                steps: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "scenario": SCENARIO, "shocks": SHOCKS, "seed": seed, "simulated_s": steps * sc.timing.fast_step_s,
        "intent_at_s": INTENT_AT_S, "intent": INTENT,
        "legs": {leg.name: {"scm": float(leg.kpis.scm[0]), "controls": leg.controls, "area": leg.area,
                            "slices": {s.name: {"loss": float(leg.kpis.loss[0, i]),
                                                "p99_ms": float(leg.kpis.p99_ms[0, i]),
                                                "throughput_mbps": float(leg.kpis.throughput_mbps[0, i])}
                                       for i, s in enumerate(sc.slices)}} for leg in legs},
    }
    if outcome is not None:
        report["intent_result"] = {"lifecycle": outcome.intent["lifecycleStatus"],
                                   "report": outcome.reports[0] if outcome.reports else None,
                                   "plan": outcome.plan, "audit": outcome.audit["items"],
                                   "xapps": outcome.children}
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    t = np.arange(1, steps + 1) * sc.timing.fast_step_s
    urllc = next(s.name for s in sc.slices if s.sla_p99_ms)
    for leg, style in zip(legs, (":", "--", "-"), strict=False):
        for s in sc.slices:
            axes[0].plot(t, 100 * np.asarray(leg.series[f"{s.name} loss"]), style, label=f"{s.name} ({leg.name})")
        axes[1].plot(t, leg.series[f"{urllc} p99 ms"], style, label=leg.name)
        axes[2].plot(t, 100 * np.asarray(leg.series["SCM"]), style, label=leg.name)
    for ax in axes:
        ax.axvline(INTENT_AT_S, color="grey", lw=0.8)
    axes[0].set(title="loss per slice (per sub-step)", xlabel="simulated s", ylabel="%")
    axes[1].set(title="URLLC p99 latency", xlabel="simulated s", ylabel="ms", yscale="log")
    axes[2].set(title="SLA compliance margin (per sub-step)", xlabel="simulated s", ylabel="%")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    png_path = out / "kpis.png"
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    html_path = out / "report.html"
    html_path.write_text(_html(report, png_path))
    return [json_path, png_path, html_path]


def _html(report: dict[str, Any], png: Path) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(leg)}</td><td>{e(s)}</td><td>{100 * v['loss']:.2f} %</td><td>{v['p99_ms']:.1f} ms</td>"
                   f"<td>{v['throughput_mbps']:.0f}</td></tr>" for leg, d in report["legs"].items()
                   for s, v in d["slices"].items())
    ir = report.get("intent_result") or {}
    plan = ir.get("plan") or {}
    rep = ir.get("report") or {}
    targets = "".join(f"<li>{e(t['target'])} {e(t['condition'])} {t['value']}: achieved {t['achieved']:.4g}</li>"
                      for t in rep.get("achievedValues", []))
    trace = "".join(f"<li>{e(c['tool'])} ({c['duration_ms']:.0f} ms){' — ' + e(str(c['error'])) if c['error'] else ''}"
                    f"</li>" for c in plan.get("trace", {}).get("calls", []))
    audit = "".join(f"<li>{e(a['kind'])} by {e(a['actor'])}: {e(a['why'][:200])}</li>" for a in ir.get("audit", []))
    img = base64.b64encode(png.read_bytes()).decode()
    return (f"<!doctype html><meta charset=utf-8><title>nextric demo</title><h1>nextric demo: {e(report['scenario'])}, "
            f"{e(report['shocks'])}</h1><p>Intent at t = {report['intent_at_s']} s: <q>{e(report['intent'])}</q></p>"
            f"<h2>KPIs per slice after the intent (whole city)</h2><table border=1 cellpadding=4><tr><th>run</th>"
            f"<th>slice</th><th>loss</th><th>p99</th><th>Mbit/s</th></tr>{rows}</table>"
            f"<h2>Plan</h2><p>{e(plan.get('explanation', 'no plan'))}</p><ol>{trace}</ol>"
            f"<h2>Intent report: {e(str(rep.get('fulfilmentStatus')))} {e(str(rep.get('notFulfilledState') or ''))}"
            f"</h2><ul>{targets}</ul><h2>Audit trail</h2><ul>{audit}</ul>"
            f"<img alt='KPIs' src='data:image/png;base64,{img}'>\n")


def run_demo(seconds: float, seed: int, out: Path) -> int:
    console = Console(width=max(120, Console().width))
    sc = load_scenario(SCENARIO)
    steps = max(INTENT_AT_S + 60, round(seconds / sc.timing.fast_step_s))
    with Progress(console=console) as progress:
        static = run_static(sc, seed, steps, progress)
        xapps, _ = asyncio.run(run_suite(sc, seed, steps, out, progress, None))
        with_intent, outcome = asyncio.run(run_suite(sc, seed, steps, out, progress, INTENT))
    legs = [static, xapps, with_intent]
    print_report(sc, legs, outcome, console)
    paths = save_report(sc, legs, outcome, out, seed, steps)
    console.print("report: " + ", ".join(str(p) for p in paths))
    fulfilled = bool(outcome and outcome.reports and outcome.reports[0]["fulfilmentStatus"] == "FULFILLED")
    return 0 if with_intent.kpis.scm[0] >= static.kpis.scm[0] and fulfilled else 1

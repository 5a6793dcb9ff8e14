"""The closed-loop demo (``make demo`` / ``nextric demo``): the main job on embedded defaults.

Two runs of the default city (TWM proof-of-concept scenario, hotspot shocks, same seed):

- **static**: the uniform 1/3 PRB split of the paper's baseline, no xApp;
- **closed loop**: the testbed serves E2 for every cell on a free loopback port; the slice scheduler's decision
  core, connected over E2 (KPM subscription -> RRMPolicyRatio control -> acknowledge), re-allocates PRBs every
  control period.

It prints a before/after table per slice, writes ``report.json`` and ``kpis.png`` to the output folder and
returns 0 when the closed loop kept every SLA at least as well as the static split (SCM not lower).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client
from nextric.e2.server import start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.transport.v1 import transport_pb2, transport_pb2_grpc
from testbed.core.engine import Emulator
from testbed.core.kpi import KpiSummary
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.e2node import EmulatedGnbs, StepDriver
from testbed.policies import uniform_shares
from testbed.transport_service import TransportController, registrar
from xapps.slice_scheduler.core import SliceObservation, SliceSla, allocate
from xapps.slice_scheduler.transport import TransportParams, link_shares

SCENARIO = "twm_poc"
SHOCKS = "hotspot-ID"
TRANSPORT_PERIOD_STEPS = 5  # transport shares are re-decided every 5 fast sub-steps from 5 s of telemetry


@dataclass
class LegResult:
    name: str
    kpis: KpiSummary
    series: dict[str, list[float]] = field(default_factory=dict)
    controls: int = 0
    loop_ms: list[float] = field(default_factory=list)


def slice_slas(sc: ScenarioParams) -> dict[str, SliceSla]:
    """SLA ceilings per slice; priority: latency-critical first, then the tighter loss ceiling."""
    ranked = sorted(sc.slices, key=lambda s: (s.sla_p99_ms is None, s.sla_loss))
    out = {}
    for s in sc.slices:
        key = ids.snssai_key(ids.make_snssai(s.sst, s.sd))
        out[key] = SliceSla(key, s.sla_loss, s.sla_p99_ms, priority=len(ranked) - ranked.index(s))
    return out


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
    return LegResult("static", emu.kpis_since(0), series)


def observations(kpm: Any, cell: e2ap_pb2.CellInfo) -> list[SliceObservation]:
    table = measurements.kpm_table(kpm)
    key = ids.cell_key(cell.cgi)
    out = []
    for s in cell.slices:
        row = table.get((key, ids.snssai_key(s)), {})
        out.append(
            SliceObservation(
                key=ids.snssai_key(s),
                offered_mbps=row.get(measurements.OFFERED_DL, 0.0),
                throughput_mbps=row.get(measurements.THP_DL, 0.0),
                prb_used=row.get(measurements.PRB_USED_DL, 0.0),
                loss=row.get(measurements.LOSS_DL, 0.0),
                p99_ms=row.get(measurements.DELAY_DL_P99, 0.0),
            )
        )
    return out


def quota_control(node: e2ap_pb2.E2NodeInfo, ratios: dict[str, tuple[int, int, int]]) -> e2ap_pb2.RicControlRequest:
    cell = node.cells[0]
    policies = [
        rc_pb2.RrmPolicyRatio(
            members=[rc_pb2.RrmPolicyMember(plmn=cell.cgi.plmn, snssai=s)],
            dedicated_prb_policy_ratio=ratios[ids.snssai_key(s)][0],
            min_prb_policy_ratio=ratios[ids.snssai_key(s)][1],
            max_prb_policy_ratio=ratios[ids.snssai_key(s)][2],
        )
        for s in cell.slices
    ]
    return e2ap_pb2.RicControlRequest(
        node_id=node.node_id,
        slice_quota=rc_pb2.SliceQuotaControl(cells=[rc_pb2.CellRrmPolicy(cgi=cell.cgi, policies=policies)]),
    )


async def run_closed_loop(sc: ScenarioParams, seed: int, steps: int, progress: Progress) -> LegResult:
    emu = new_emulator(sc, seed)
    gnbs = EmulatedGnbs(emu)
    server = await start_e2_server(gnbs, E2ServerSettings(), extra_services=[registrar(TransportController(emu))])
    slas = slice_slas(sc)
    tparams = TransportParams(
        margin={k: (2.5 if sla.p99_ceiling_ms else 1.3) for k, sla in slas.items()},
        priority=sorted(slas, key=lambda k: -slas[k].priority),
    )
    tshares: dict[str, dict[str, float]] = {}
    series: dict[str, list[float]] = {}
    loop_ms: list[float] = []
    handled = 0
    progressed = asyncio.Condition()
    task = progress.add_task("closed loop over E2", total=steps)
    period_ms = gnbs.fast_step_ms  # one decision per KPM report period

    async def xapp(client: E2Client, node: e2ap_pb2.E2NodeInfo) -> None:
        nonlocal handled
        previous: dict[str, int] | None = None
        async for ind in client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_KPM, period_ms):
            ratios = allocate(observations(ind.kpm, node.cells[0]), slas, node.cells[0].prb_count, previous)
            previous = {k: r[1] for k, r in ratios.items()}
            await client.control(quota_control(node, ratios))
            loop_ms.append((time.time_ns() - ind.header.emit_unix_ns) / 1e6)
            async with progressed:
                handled += 1
                progressed.notify_all()

    async with E2Client(E2ClientSettings(target=server.target)) as client:
        nodes = await client.list_nodes()
        workers = [asyncio.create_task(xapp(client, n)) for n in nodes]
        # the hub has no attach event to wait on: poll until every cell's subscription is in place
        while not all(server.hub.wants(n.node_id, e2ap_pb2.REPORT_STYLE_KPM) for n in nodes):  # noqa: ASYNC110
            await asyncio.sleep(0.001)

        transport = transport_pb2_grpc.TransportControllerStub(client.channel)
        window_ms = TRANSPORT_PERIOD_STEPS * gnbs.fast_step_ms

        async def steer_transport() -> None:
            links = (await transport.ListLinks(transport_pb2.ListLinksRequest(window_ms=window_ms))).links
            request = transport_pb2.SetSharesRequest()
            for link in links:
                if not link.up:
                    continue
                offered = {ids.snssai_key(load.snssai): load.offered_mbps for load in link.loads}
                shares = link_shares(offered, link.capacity_mbps, tparams, tshares.get(link.link_id))
                tshares[link.link_id] = shares
                request.links.append(
                    transport_pb2.LinkShares(
                        link_id=link.link_id,
                        shares=[
                            transport_pb2.SliceShare(snssai=load.snssai, share=shares[ids.snssai_key(load.snssai)])
                            for load in link.loads
                        ],
                    )
                )
            if request.links:
                await transport.SetShares(request)

        async def after_step(done: int) -> None:
            # lock-step co-simulation: the next sub-step starts once every cell's control for this one is in
            async with progressed:
                await asyncio.wait_for(progressed.wait_for(lambda: handled >= done * len(nodes)), 10.0)
            if done % TRANSPORT_PERIOD_STEPS == 0 or done == 1:
                await steer_transport()
            _series_point(series, emu, emu.step_index - 1)
            progress.advance(task)

        await StepDriver(gnbs, server.hub, speedup=None).run(steps, after_step=after_step)
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    await server.stop(None)
    return LegResult("closed loop", emu.kpis_since(0), series, controls=len(loop_ms), loop_ms=loop_ms)


def _row(leg: LegResult, i: int) -> list[str]:
    k = leg.kpis
    return [f"{100 * k.loss[0, i]:.2f} %", f"{k.p99_ms[0, i]:.1f} ms", f"{k.throughput_mbps[0, i]:.0f}"]


def print_report(sc: ScenarioParams, static: LegResult, loop: LegResult, console: Console) -> None:
    table = Table(title=f"{SCENARIO}, {SHOCKS}: static uniform split vs closed loop over E2")
    table.add_column("slice")
    table.add_column("SLA ceilings")
    for leg in ("static", "closed loop"):
        table.add_column(f"{leg}: loss", justify="right")
        table.add_column("p99", justify="right")
        table.add_column("Mbit/s", justify="right")
    for i, s in enumerate(sc.slices):
        ceil = f"loss {100 * s.sla_loss:.0f} %" + (f", p99 {s.sla_p99_ms:.0f} ms" if s.sla_p99_ms else "")
        table.add_row(s.name, ceil, *_row(static, i), *_row(loop, i))
    console.print(table)
    console.print(
        f"SLA Compliance Margin: static {100 * static.kpis.scm[0]:.1f} %  ->  closed loop "
        f"{100 * loop.kpis.scm[0]:.1f} %   ({loop.controls} E2 controls, indication->ack p50 "
        f"{np.percentile(loop.loop_ms, 50):.2f} ms, p99 {np.percentile(loop.loop_ms, 99):.2f} ms)"
    )


def save_report(sc: ScenarioParams, static: LegResult, loop: LegResult, out: Path, seed: int, steps: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    legs = {}
    for leg in (static, loop):
        legs[leg.name] = {
            "scm": float(leg.kpis.scm[0]),
            "slices": {
                s.name: {
                    "loss": float(leg.kpis.loss[0, i]),
                    "p99_ms": float(leg.kpis.p99_ms[0, i]),
                    "throughput_mbps": float(leg.kpis.throughput_mbps[0, i]),
                }
                for i, s in enumerate(sc.slices)
            },
            "controls": leg.controls,
        }
    report = {
        "scenario": SCENARIO,
        "shocks": SHOCKS,
        "seed": seed,
        "simulated_s": steps * sc.timing.fast_step_s,
        "legs": legs,
        "e2_loop_ms": {"p50": float(np.percentile(loop.loop_ms, 50)), "p99": float(np.percentile(loop.loop_ms, 99))},
    }
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    names = [s.name for s in sc.slices]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    t = np.arange(1, steps + 1) * sc.timing.fast_step_s
    for leg, style in ((static, "--"), (loop, "-")):
        for name in names:
            axes[0].plot(t, 100 * np.asarray(leg.series[f"{name} loss"]), style, label=f"{name} ({leg.name})")
        urllc = next(s.name for s in sc.slices if s.sla_p99_ms)
        axes[1].plot(t, leg.series[f"{urllc} p99 ms"], style, label=leg.name)
        axes[2].plot(t, 100 * np.asarray(leg.series["SCM"]), style, label=leg.name)
    axes[0].set(title="loss per slice (per sub-step)", xlabel="simulated s", ylabel="%")
    axes[1].set(title="URLLC p99 latency", xlabel="simulated s", ylabel="ms")
    axes[2].set(title="SLA compliance margin (per sub-step)", xlabel="simulated s", ylabel="%")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    png_path = out / "kpis.png"
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return [json_path, png_path]


def run_demo(seconds: float, seed: int, out: Path) -> int:
    console = Console(width=max(120, Console().width))
    sc = load_scenario(SCENARIO)
    steps = max(1, round(seconds / sc.timing.fast_step_s))
    with Progress(console=console) as progress:
        static = run_static(sc, seed, steps, progress)
        loop = asyncio.run(run_closed_loop(sc, seed, steps, progress))
    print_report(sc, static, loop, console)
    paths = save_report(sc, static, loop, out, seed, steps)
    console.print("report: " + ", ".join(str(p) for p in paths))
    return 0 if loop.kpis.scm[0] >= static.kpis.scm[0] else 1

"""The demo's numbers and how they are shown: per-period KPIs of each leg, paired differences between legs with
their 95 % interval over the KPM periods, the console tables, ``report.json``, ``kpis.png`` and ``report.html``.

Per KPM period (one slow step): the **city** per slice (loss, p99 and throughput over the period, from the
emulator's sub-step records, :mod:`nextric.kpi`) and its SCM; the intent's **area** per slice as the rApp's KPM
report of the period shows it (:func:`rapps.intent_agent.observe.area_kpis`: loss volume-weighted, p99 of the worst
area cell). A **paired difference** of two legs is taken period by period (same seed, so the same exogenous demand
in both) over the periods after the intent; its interval is the two-sided 95 % t-interval of the mean difference.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.table import Table

from nextric.stats import Interval, mean_interval
from rapps.intent_agent.observe import area_kpis
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport

if TYPE_CHECKING:
    from suite.demo import LegResult

KPIS = ("loss", "p99_ms", "throughput_mbps")


@dataclass
class LegSeries:
    """Per KPM period: end time (s), city per slice {kpi: {slice: value}}, city SCM, area per slice."""

    name: str
    t_end_s: list[float] = field(default_factory=list)
    city: list[dict[str, dict[str, float]]] = field(default_factory=list)
    scm: list[float] = field(default_factory=list)
    area: list[dict[str, dict[str, float]]] = field(default_factory=list)

    def add_period(self, emu: Emulator, start: int, end: int, report: KpmReport, cells: tuple[int, ...],
                   offset: int = 0) -> None:
        """The period of sub-steps [start, end); times are kept from ``offset`` (the step the RIC connected)."""
        k = emu.kpis_between(start, end)
        names = [s.name for s in emu.sc.slices]
        self.t_end_s.append((end - offset) * emu.sc.timing.fast_step_s)
        self.city.append({kpi: {n: float(getattr(k, kpi)[0, i]) for i, n in enumerate(names)} for kpi in KPIS})
        self.scm.append(float(k.scm[0]))
        a = area_kpis([report], cells, names)
        self.area.append({} if a is None else {"loss": a.loss, "p99_ms": a.p99_ms,
                                               "throughput_mbps": a.throughput_mbps})

    def values(self, where: str, slice_name: str, kpi: str, after_s: float) -> list[float]:
        rows = self.city if where == "city" else self.area
        return [r[kpi][slice_name] for t, r in zip(self.t_end_s, rows, strict=True) if t > after_s and r]

    def city_scm_mean(self, after_s: float) -> float:
        v = [x for t, x in zip(self.t_end_s, self.scm, strict=True) if t > after_s]
        return float(np.mean(v)) if v else 0.0


def paired(a: LegSeries, b: LegSeries, after_s: float, where: str, slice_name: str, kpi: str) -> Interval:
    """b - a per period after ``after_s``: mean and 95 % t-interval."""
    x, y = a.values(where, slice_name, kpi, after_s), b.values(where, slice_name, kpi, after_s)
    n = min(len(x), len(y))
    return mean_interval(np.asarray(y[:n]) - np.asarray(x[:n]), 0.95)


def _mean(leg: LegSeries, where: str, s: str, kpi: str, after_s: float) -> float:
    v = leg.values(where, s, kpi, after_s)
    return float(np.mean(v)) if v else float("nan")


def _fmt(kpi: str, v: float) -> str:
    return f"{100 * v:.2f} %" if kpi == "loss" else (f"{v:.1f} ms" if kpi == "p99_ms" else f"{v:.0f}")


def _delta(kpi: str, d: Interval) -> str:
    scale, unit = (100.0, " pp") if kpi == "loss" else (1.0, " ms" if kpi == "p99_ms" else "")
    return f"{scale * d.mean:+.2f}{unit} [{scale * d.lo:+.2f}, {scale * d.hi:+.2f}]"


def print_report(sc: ScenarioParams, legs: list[LegResult], console: Console, after_s: int,
                 target: tuple[str, str], ok: bool, why: list[str]) -> None:
    static, ctrl, intent = legs
    for where, title in (("city", "whole city"), ("area", "hospital zone (cells 6, 9), the rApp's KPM")):
        t = Table(title=f"{sc.name}, {title}: mean per KPM period after t = {after_s} s; deltas with 95 % intervals "
                        f"over the periods (paired, same seed)")
        for col in ("slice", "KPI", "static", "controllers", "+ intent", "controllers - static", "intent effect"):
            t.add_column(col, justify="left" if col in ("slice", "KPI") else "right")
        for s in sc.slices:
            for kpi in ("loss", "p99_ms"):
                t.add_row(s.name, kpi, *(_fmt(kpi, _mean(x.series, where, s.name, kpi, after_s)) for x in legs),
                          _delta(kpi, paired(static.series, ctrl.series, after_s, where, s.name, kpi)),
                          _delta(kpi, paired(ctrl.series, intent.series, after_s, where, s.name, kpi)))
        console.print(t)
    console.print(f"city SCM (mean per period): static {static.series.city_scm_mean(after_s):.3f}, controllers "
                  f"{ctrl.series.city_scm_mean(after_s):.3f}, + intent {intent.series.city_scm_mean(after_s):.3f}; "
                  f"slice controls sent {ctrl.controls} / {intent.controls}, transport decisions {ctrl.steerings} / "
                  f"{intent.steerings}")
    for o in intent.outcomes:
        console.print(f"[bold]intent[/] {o.text!r}: {o.intent['lifecycleStatus']}; operator: {o.decision}")
        p = o.plan
        if p is None:
            continue
        console.print(f"  plan {p['id']} ({p['candidate']}): {p['status']}, risk {p['risk']}")
        for e in p.get("effects", []):
            b = e["benefit"]
            console.print(f"  predicted (twin, vs what runs): {e['target']} {_fmt('loss', e['statusQuo'])} -> "
                          f"{_fmt('loss', e['plan'])}, benefit {100 * b['mean']:.2f} pp (90 % {100 * b['lo']:.2f} to "
                          f"{100 * b['hi']:.2f})" if e["unit"] == "fraction" else f"  predicted: {e}")
        for r in p.get("refusal", []):
            console.print(f"  refused: {r}")
        last = o.reports[0] if o.reports else {}
        console.print(f"  intent report: {last.get('fulfilmentStatus')} {last.get('notFulfilledState') or ''} — "
                      f"{last.get('why', '')}")
    d = paired(ctrl.series, intent.series, after_s, "area", target[0], target[1])
    console.print(f"[bold]measured effect of the intent[/] on hospital {target[0]} {target[1]}: "
                  f"{_delta(target[1], d)} (95 % interval over {d.n} KPM periods)")
    console.print("[bold green]the closed loop worked[/]" if ok else "[bold red]the closed loop did not work:[/] "
                  + "; ".join(why))


def save_report(sc: ScenarioParams, legs: list[LegResult], out: Path, seed: int, steps: int, after_s: int,
                target: tuple[str, str], ok: bool, why: list[str]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    static, ctrl, intent = legs
    names = [s.name for s in sc.slices]
    report: dict[str, Any] = {
        "scenario": sc.name, "seed": seed, "simulated_s": steps * sc.timing.fast_step_s, "intent_at_s": after_s,
        "ok": ok, "why_not": why, "target": {"area": "hospital", "slice": target[0], "kpi": target[1]},
        "legs": {leg.name: {"e2_path": leg.e2_path, "e2ap": leg.e2ap, "scm_mean": leg.series.city_scm_mean(after_s),
                            "controls": leg.controls,
                            "transport_decisions": leg.steerings,
                            "city": {s: {k: _mean(leg.series, "city", s, k, after_s) for k in KPIS} for s in names},
                            "area": {s: {k: _mean(leg.series, "area", s, k, after_s) for k in KPIS} for s in names},
                            "periods": {"t_end_s": leg.series.t_end_s, "city": leg.series.city, "scm": leg.series.scm,
                                        "area": leg.series.area}} for leg in legs},
        "effects": {where: {s: {k: {"controllers_vs_static": paired(static.series, ctrl.series, after_s, where, s,
                                                                    k).to_json(),
                                    "intent_vs_controllers": paired(ctrl.series, intent.series, after_s, where, s,
                                                                    k).to_json()}
                                for k in ("loss", "p99_ms")} for s in names} for where in ("city", "area")},
        "intents": [{"text": o.text, "lifecycle": o.intent["lifecycleStatus"], "decision": o.decision, "plan": o.plan,
                     "report": o.reports[0] if o.reports else None} for o in intent.outcomes],
        "audit": intent.audit.get("items", []), "xapps": intent.children,
    }
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    styles = {"static": ":", "controllers": "--", "controllers + intent": "-"}
    for leg in legs:
        t = leg.series.t_end_s
        st = styles.get(leg.name, "-")
        axes[0].plot(t, [100 * r["loss"][target[0]] if r else np.nan for r in leg.series.area], st,
                     label=f"{leg.name}")
        axes[1].plot(t, [r["p99_ms"]["URLLC"] for r in leg.series.city], st, label=f"{leg.name}")
        axes[2].plot(t, [100 * x for x in leg.series.scm], st, label=f"{leg.name}")
    for ax in axes:
        ax.axvline(after_s, color="grey", lw=0.8, label="intent submitted")
    axes[0].set(title=f"hospital zone {target[0]} loss per KPM period", xlabel="simulated time (s)",
                ylabel="loss (%)")
    axes[1].set(title="city URLLC p99 delay per KPM period (SLA 20 ms)", xlabel="simulated time (s)",
                ylabel="p99 delay (ms)", yscale="log")
    axes[1].axhline(20.0, color="red", lw=0.8, ls=":", label="URLLC SLA")
    axes[2].set(title="city SLA compliance margin per KPM period", xlabel="simulated time (s)", ylabel="SCM (%)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    png_path = out / "kpis.png"
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    html_path = out / "report.html"
    html_path.write_text(_html(report, png_path))
    return [json_path, png_path, html_path]


def _html(report: dict[str, Any], png: Path) -> str:
    e = html.escape
    rows = []
    for where, per in report["effects"].items():
        for s, kk in per.items():
            for k, v in kk.items():
                d = v["intent_vs_controllers"]
                c = v["controllers_vs_static"]
                rows.append(f"<tr><td>{e(where)}</td><td>{e(s)}</td><td>{e(k)}</td>"
                            f"<td>{c['mean']:+.4g} [{c['lo']:+.4g}, {c['hi']:+.4g}]</td>"
                            f"<td>{d['mean']:+.4g} [{d['lo']:+.4g}, {d['hi']:+.4g}]</td></tr>")
    intents = []
    for it in report["intents"]:
        p = it["plan"] or {}
        rep = it["report"] or {}
        intents.append(f"<h3>{e(it['text'])}</h3><p>{e(it['lifecycle'])}; operator: {e(it['decision'])}</p>"
                       f"<p>{e(p.get('explanation', 'no plan'))}</p><p>intent report: "
                       f"{e(str(rep.get('fulfilmentStatus')))} — {e(str(rep.get('why', '')))}</p>")
    img = base64.b64encode(png.read_bytes()).decode()
    verdict = "the closed loop worked" if report["ok"] else "the closed loop did not work: " + "; ".join(
        report["why_not"])
    return (f"<!doctype html><meta charset=utf-8><title>nextric demo</title><h1>nextric demo: {e(report['scenario'])}"
            f", seed {report['seed']}</h1><p><b>{e(verdict)}</b></p><h2>Effects after t = {report['intent_at_s']} s "
            f"(paired per KPM period, 95 % intervals)</h2><table border=1 cellpadding=4><tr><th>where</th><th>slice"
            f"</th><th>KPI</th><th>controllers - static</th><th>intent effect (controllers + intent - controllers)"
            f"</th></tr>{''.join(rows)}</table><h2>Intents</h2>{''.join(intents)}"
            f"<img alt='KPIs per KPM period' src='data:image/png;base64,{img}'>\n")

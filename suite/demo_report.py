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

from nextric.palette import APPLIED_COLOR, slice_colors
from nextric.stats import Interval, mean_interval
from rapps.intent_agent.observe import area_kpis
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport

if TYPE_CHECKING:
    from suite.demo import LegResult

KPIS = ("loss", "p99_ms", "throughput_mbps")
SLA_LS = (0, (8, 3, 2, 3))  #: SLA ceilings: dash-dot, unlike any leg's line style
TARGET_LS = (0, (4, 2, 1, 2, 1, 2))  #: the intent's target: dash-dot-dot


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
    report["identical"] = [{"leg": a, "identical_to": b} for a, b in identical_legs(legs).items()]
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    png_path = out / "kpis.png"
    first = intent.outcomes[0].plan if intent.outcomes else None
    plot_kpis(sc, legs, after_s, target, _intent_target(report, target), png_path,
              applied=bool(first and first.get("applied_sim_s") is not None))
    html_path = out / "report.html"
    html_path.write_text(_html(report, png_path, slice_colors(names)))
    return [json_path, png_path, html_path]


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and bool(np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True))


def identical_legs(legs: list[LegResult]) -> dict[str, str]:
    """Each leg whose every KPM period (city, area, SCM) equals an earlier leg's -> that earlier leg's name."""
    out: dict[str, str] = {}
    for i, leg in enumerate(legs):
        s = leg.series
        for other in legs[:i]:
            o = other.series
            if s.t_end_s == o.t_end_s and s.city == o.city and s.area == o.area and _same(s.scm, o.scm):
                out[leg.name] = other.name
                break
    return out


def label_identical(series: list[tuple[str, list[float]]]) -> list[str]:
    """Legend labels of one panel's lines: a line equal to an earlier one says so ("identical to ...") instead of
    hiding beneath it."""
    labels = []
    for i, (name, ys) in enumerate(series):
        twin = next((n for n, o in series[:i] if _same(ys, o)), None)
        labels.append(name if twin is None else f"{name} (identical to {twin})")
    return labels


def _intent_target(report: dict[str, Any], target: tuple[str, str]) -> float | None:
    """The first intent's ceiling on ``target`` as its plan card shows it (the API's JSON), if any."""
    kpi = {"loss": "packet_loss", "p99_ms": "p99_latency_ms"}.get(target[1], target[1])
    for it in report["intents"][:1]:
        for t in ((it.get("plan") or {}).get("card") or {}).get("targets", []):
            if t.get("slice") == target[0] and t.get("kpi") == kpi and t.get("condition") == "IS_LESS_THAN":
                return float(t["value"])
    return None


def plot_kpis(sc: ScenarioParams, legs: list[LegResult], after_s: int, target: tuple[str, str],
              intent_ceiling: float | None, png_path: Path, applied: bool = True) -> list[list[str]]:
    """kpis.png: the intent's target KPI in its area, city URLLC p99 and city SCM per KPM period, one line per leg
    (line style), in the slice's palette colour, with SLA ceilings, the intent's target and the moment it was
    submitted (its plan applied then) marked; a leg equal to an earlier one is labelled so and drawn as markers.
    Returns each panel's legend labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    colors = slice_colors([s.name for s in sc.slices])
    sla = {s.name: s for s in sc.slices}
    tslice, tkpi = target
    scale, unit = (100.0, "%") if tkpi == "loss" else (1.0, "ms")
    panels: list[tuple[str, str | None, list[tuple[str, list[float]]]]] = [
        (f"hospital zone {tslice} {tkpi} per KPM period", tslice,
         [(leg.name, [scale * r[tkpi][tslice] if r else np.nan for r in leg.series.area]) for leg in legs]),
        ("city URLLC p99 delay per KPM period", "URLLC",
         [(leg.name, [r["p99_ms"]["URLLC"] for r in leg.series.city]) for leg in legs]),
        ("city SLA compliance margin per KPM period", None,
         [(leg.name, [100 * x for x in leg.series.scm]) for leg in legs])]
    ylabels = [f"{tkpi.replace('_ms', '')} ({unit})", "p99 delay (ms, log scale)", "SCM (%)"]
    styles = {"static": ":", "controllers": "--", "controllers + intent": "-"}
    greys = ["#999999", "#555555", "#111111"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for k, (ax, (title, sl, series)) in enumerate(zip(axes, panels, strict=True)):
        for j, ((name, ys), label) in enumerate(zip(series, label_identical(series), strict=True)):
            t = legs[j].series.t_end_s
            c = colors[sl] if sl else greys[j % len(greys)]
            if label != name:  # identical to an earlier line: markers on top of it, and the legend says so
                ax.plot(t, ys, ls="none", marker="o", ms=3.5, mfc="none", color=c, label=label)
            else:
                ax.plot(t, ys, styles.get(name, "-"), color=c, label=label, lw=1.4)
        ax.axvline(after_s, color=APPLIED_COLOR, lw=0.9,
                   label=f"intent submitted{', plan applied' if applied else ''} (t = {after_s} s)")
        ax.set(title=title, xlabel="simulated time since the RIC connected (s)", ylabel=ylabels[k])
        if k == 0 and tkpi == "loss":
            ax.axhline(100 * sla[tslice].sla_loss, color=colors[tslice], lw=1.2, ls=SLA_LS, alpha=0.8,
                       label=f"{tslice} SLA {100 * sla[tslice].sla_loss:g} %")
            if intent_ceiling is not None:
                ax.axhline(100 * intent_ceiling, color=colors[tslice], lw=1.2, ls=TARGET_LS, alpha=0.8,
                           label=f"intent target < {100 * intent_ceiling:g} %")
        if k == 1:
            ax.set_yscale("log")
            plain = FuncFormatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
            if sla["URLLC"].sla_p99_ms:
                ax.axhline(sla["URLLC"].sla_p99_ms, color=colors["URLLC"], lw=1.2, ls=SLA_LS, alpha=0.8,
                           label=f"URLLC SLA {sla['URLLC'].sla_p99_ms:g} ms")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    labels = [[str(x) for x in ax.get_legend_handles_labels()[1]] for ax in axes]
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return labels


def _plan_html(plan: dict[str, Any] | None, colors: dict[str, str]) -> str:
    """The plan as the operator page's card shows it (the API's ``card``): targets with the predicted effect, the risk
    and the warnings where its label contradicts the predictions; the agent's explanation collapsible."""
    e = html.escape
    if not plan:
        return "<p>no plan</p>"
    card = plan.get("card") or {}

    def val(v: float | None, unit: str) -> str:
        return "–" if v is None else (f"{100 * v:.2f} %" if unit == "fraction" else f"{v:.3g} {unit}")

    rows = []
    for t in card.get("targets", []):
        unit = t.get("effectUnit") or t.get("unit", "")
        goal = f"{t['target']} {t['condition']} {val(t['value'], t.get('unit', ''))}"
        if t.get("predicted"):
            b = t["benefit"]
            rows.append(f"<tr><td>{e(goal)}</td><td>{val(t['statusQuo'], unit)}</td><td>{val(t['plan'], unit)}</td>"
                        f"<td>{val(b['mean'], unit)} (90 % interval {val(b['lo'], unit)} to {val(b['hi'], unit)})</td>"
                        f"<td>{'meets it' if t['meetsWithPlan'] else 'misses it'}</td></tr>")
        else:
            rows.append(f"<tr><td>{e(goal)}</td><td colspan=4>not checked by the twin</td></tr>")
    warns = "".join(f"<li>{e(w['message'])}</li>" for w in card.get("warnings", []))
    exp = "".join(f"<tr><td style='border-left:4px solid {colors.get(x['slice'], '#666')}'>{e(x['slice'])}</td>"
                  f"<td>{100 * x['loss']:.2f} %</td><td>{x['p99_ms']:.1f} ms</td></tr>"
                  for x in plan.get("expected", []))
    return (f"<p>plan {e(str(plan.get('id')))} ({e(str(plan.get('candidate')))}): {e(str(plan.get('status')))}, "
            f"<b>risk {e(str(plan.get('risk')))}</b></p>"
            + (f"<div class=warn role=alert><b>Check:</b><ul>{warns}</ul></div>" if warns else "")
            + (f"<table><caption>targets: predicted effect (twin) against what ran</caption><tr><th>target</th>"
               f"<th>then</th><th>with the plan</th><th>improvement</th><th>verdict</th></tr>{''.join(rows)}</table>"
               if rows else "")
            + (f"<table><caption>city-wide with the plan (twin mean)</caption><tr><th>slice</th><th>loss</th>"
               f"<th>p99 delay</th></tr>{exp}</table>" if exp else "")
            + f"<details><summary>the agent's explanation</summary><p>{e(str(plan.get('explanation', '')))}</p>"
              f"</details>")


def _html(report: dict[str, Any], png: Path, colors: dict[str, str]) -> str:
    e = html.escape
    unit = {"loss": ("pp", 100.0), "p99_ms": ("ms", 1.0)}
    rows = []
    for where, per in report["effects"].items():
        for s, kk in per.items():
            for k, v in kk.items():
                d, c = v["intent_vs_controllers"], v["controllers_vs_static"]
                u, f = unit.get(k, ("", 1.0))
                rows.append(f"<tr><td>{e(where)}</td><td style='border-left:4px solid {colors.get(s, '#666')}'>{e(s)}"
                            f"</td><td>{e(k)} ({u})</td>"
                            f"<td>{f * c['mean']:+.3g} [{f * c['lo']:+.3g}, {f * c['hi']:+.3g}]</td>"
                            f"<td>{f * d['mean']:+.3g} [{f * d['lo']:+.3g}, {f * d['hi']:+.3g}]</td></tr>")
    intents = []
    for it in report["intents"]:
        rep = it["report"] or {}
        intents.append(f"<h3>{e(it['text'])}</h3><p>{e(it['lifecycle'])}; operator: {e(it['decision'])}</p>"
                       f"{_plan_html(it['plan'], colors)}<p>intent report: "
                       f"{e(str(rep.get('fulfilmentStatus')))} — {e(str(rep.get('why', '')))}</p>")
    same = "".join(f"<p class=identical><b>“{e(x['leg'])}” is identical to “{e(x['identical_to'])}”</b> in every KPM "
                   f"period (city, area and SCM): the plots draw it as markers on the other's line, not a second line."
                   f"</p>" for x in report.get("identical", []))
    legend = " ".join(f"<span><span style='display:inline-block;width:1.4em;height:.4em;background:{c}'></span> "
                      f"{e(n)}</span>" for n, c in colors.items())
    img = base64.b64encode(png.read_bytes()).decode()
    verdict = "the closed loop worked" if report["ok"] else "the closed loop did not work: " + "; ".join(
        report["why_not"])
    alt = (f"Three charts over simulated time: hospital zone {report['target']['slice']} {report['target']['kpi']}, "
           f"city URLLC p99 delay (log scale, SLA line) and city SCM per KPM period, one line per leg (static, "
           f"controllers, controllers + intent); a vertical line at t = {report['intent_at_s']} s marks the intent.")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>nextric demo</title>"
            f"<style>body{{font-family:system-ui,sans-serif;margin:1em 2em;color:#1d2430}}"
            f"table{{border-collapse:collapse;margin:.4em 0}}td,th{{border:1px solid #ccd;padding:3px 6px;"
            f"text-align:left}}caption{{text-align:left;font-weight:600}}"
            f".warn{{border:2px solid #b3261e;background:#fdf0ef;padding:.3em .8em}}"
            f".identical{{background:#fff6d5;padding:.3em .6em}}</style>"
            f"<h1>nextric demo: {e(report['scenario'])}, seed {report['seed']}</h1><p><b>{e(verdict)}</b></p>{same}"
            f"<h2>Effects after t = {report['intent_at_s']} s (paired per KPM period, 95 % intervals)</h2>"
            f"<p>Slice colours: {legend}</p><table><tr><th>where</th><th>slice</th><th>KPI (unit)</th>"
            f"<th>controllers - static</th><th>intent effect (controllers + intent - controllers)</th></tr>"
            f"{''.join(rows)}</table><h2>Intents</h2>{''.join(intents)}"
            f"<h2>KPIs per KPM period</h2><figure><img alt='{e(alt)}' src='data:image/png;base64,{img}'>"
            f"<figcaption>{e(alt)}</figcaption></figure></html>\n")

"""TS 28.312-style fulfilment info from KPIs (pure): FULFILLED, or NOT_FULFILLED with a state
(ACKNOWLEDGED, COMPLIANT, DEGRADED, SUSPENDED, TERMINATED, FULFILMENTFAILED), the achieved value of every target,
and what the plan changed against the running baseline.

**Baseline**: the intent's area over the KPM periods just before the plan was applied (what the controllers
achieved without it). **Change** of a target: mean over the periods since the plan minus mean over the baseline
periods, with a 90 % Welch t-interval over the KPM periods; when that interval includes zero the report says "no
measurable effect" for that target, whatever the achieved value. Cost targets are relative to the baseline: PRBs
in use per Mbit/s delivered after / before (resource and energy cost per bit; TS 28.554 energy efficiency is data
volume per energy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nextric.kpm import KpmReport
from nextric.stats import welch_interval
from rapps.intent_agent.compiler.spec import IntentSpec, Target
from rapps.intent_agent.observe import AreaKpis, area_kpis


@dataclass(frozen=True)
class Change:
    before: float
    after: float
    mean: float  #: after - before
    lo: float
    hi: float
    measurable: bool  #: the 90 % interval excludes zero


@dataclass(frozen=True)
class TargetResult:
    target: str
    condition: str
    value: float
    upper: float | None
    achieved: float | None
    met: bool | None
    source: str
    change: Change | None = None


@dataclass(frozen=True)
class Fulfilment:
    status: str  #: FULFILLED | NOT_FULFILLED
    state: str | None  #: when NOT_FULFILLED
    targets: tuple[TargetResult, ...] = ()
    reports_used: int = 0
    why: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def target_name(t: Target) -> str:
    kpi = {"p99_latency_ms": "p99LatencyMs", "packet_loss": "packetLossRate", "throughput_mbps": "throughputMbps",
           "resource_cost": "resourceCostRatio", "energy_cost": "energyCostRatio"}.get(t.kpi, t.kpi)
    return f"{t.slice}.{kpi}" if t.slice else kpi


def _value(t: Target, k: AreaKpis, base_prb_per_mbps: float | None) -> float | None:
    if t.kpi == "packet_loss" and t.slice:
        return k.loss.get(t.slice)
    if t.kpi == "p99_latency_ms" and t.slice:
        return k.p99_ms.get(t.slice)
    if t.kpi == "throughput_mbps" and t.slice:
        return k.throughput_mbps.get(t.slice)
    if t.kpi in ("resource_cost", "energy_cost"):
        if not base_prb_per_mbps:
            return None
        return k.prb_per_mbps / base_prb_per_mbps
    return None


def per_period(t: Target, reports: Sequence[KpmReport], cells: Sequence[int], names: Sequence[str]) -> list[float]:
    """The target's area value in each KPM period on its own (absolute targets only)."""
    out = []
    for r in reports:
        k = area_kpis([r], cells, names)
        v = None if k is None else _value(t, k, None)
        if v is not None:
            out.append(float(v))
    return out


def baseline_of(reports: Sequence[KpmReport], spec: IntentSpec, names: Sequence[str]) -> dict[str, Any] | None:
    """What held in the area before the plan: per-period values of each absolute target and the PRB cost."""
    cells = list(spec.context.cells)
    k = area_kpis(reports, cells, names)
    if k is None:
        return None
    return {"reports": len(reports), "prbPerMbps": k.prb_per_mbps, "area": asdict(k),
            "periods": {target_name(t): per_period(t, reports, cells, names) for t in spec.targets
                        if not t.relative}}


def evaluate(spec: IntentSpec, after: Sequence[KpmReport], cells: Sequence[int], names: Sequence[str],
             baseline: dict[str, Any] | None, needed: int) -> Fulfilment:
    """Fulfilment from the KPM periods since the plan was applied (``after``, oldest first)."""
    window = list(after)[-needed:]
    k = area_kpis(window, cells, names)
    if k is None or k.n_reports == 0:
        return Fulfilment("NOT_FULFILLED", "ACKNOWLEDGED", why="enacted; waiting for the first KPM period")
    base_cost = None if baseline is None else baseline.get("prbPerMbps")
    results = []
    for t in spec.targets:
        v = _value(t, k, base_cost)
        change = None
        before = (baseline or {}).get("periods", {}).get(target_name(t))
        if before and not t.relative:
            now = per_period(t, after, cells, names)
            if now:
                w = welch_interval(before, now)
                change = Change(float(np.mean(before)), float(np.mean(now)), w.mean, w.lo, w.hi, w.excludes_zero)
        results.append(TargetResult(target_name(t), t.condition, t.value, t.upper, v, None if v is None else t.holds(v),
                                    t.source, change))
    effect = "; ".join(
        f"{r.target} {_fmt(r.change.before)} -> {_fmt(r.change.after)} (change {_fmt(r.change.mean)}, 90 % interval "
        f"{_fmt(r.change.lo)} to {_fmt(r.change.hi)}" + ("" if r.change.measurable else ": no measurable effect") + ")"
        for r in results if r.change is not None and r.source == "intent")
    suffix = f"; against the baseline: {effect}" if effect else ""
    misses = [r for r in results if r.met is False]
    if misses:
        return Fulfilment("NOT_FULFILLED", "DEGRADED", tuple(results), k.n_reports,
                          "missed: " + ", ".join(f"{r.target} = {r.achieved:.4g} ({r.condition} {r.value:g})"
                                                 for r in misses) + suffix)
    if k.n_reports < needed:
        return Fulfilment("NOT_FULFILLED", "COMPLIANT", tuple(results), k.n_reports,
                          f"every target holds so far ({k.n_reports} of {needed} periods observed){suffix}")
    return Fulfilment("FULFILLED", None, tuple(results), k.n_reports,
                      f"every target held over the last {k.n_reports} KPM periods{suffix}")


def _fmt(v: float) -> str:
    return f"{v:.4g}"

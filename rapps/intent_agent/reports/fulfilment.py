"""TS 28.312-style fulfilment info from KPIs (pure): FULFILLED, or NOT_FULFILLED with a state
(ACKNOWLEDGED, COMPLIANT, DEGRADED, SUSPENDED, TERMINATED, FULFILMENTFAILED), and the achieved value of every
target. Cost targets are relative to the pre-intent baseline: PRBs in use per Mbit/s delivered after / before
enactment (resource and energy cost per bit; TS 28.554 energy efficiency is data volume per energy)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rapps.intent_agent.compiler.spec import IntentSpec, Target
from rapps.intent_agent.observe import AreaKpis


@dataclass(frozen=True)
class TargetResult:
    target: str
    condition: str
    value: float
    upper: float | None
    achieved: float | None
    met: bool | None
    source: str


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


def achieved(t: Target, after: AreaKpis, baseline: AreaKpis | None) -> float | None:
    if t.kpi == "packet_loss" and t.slice:
        return after.loss.get(t.slice)
    if t.kpi == "p99_latency_ms" and t.slice:
        return after.p99_ms.get(t.slice)
    if t.kpi == "throughput_mbps" and t.slice:
        return after.throughput_mbps.get(t.slice)
    if t.kpi in ("resource_cost", "energy_cost"):
        if baseline is None or baseline.prb_per_mbps <= 0:
            return None
        return after.prb_per_mbps / baseline.prb_per_mbps
    return None


def evaluate(spec: IntentSpec, after: AreaKpis | None, baseline: AreaKpis | None, needed: int) -> Fulfilment:
    """``after``: KPIs of the area since enactment (None = nothing observed yet)."""
    if after is None or after.n_reports == 0:
        return Fulfilment("NOT_FULFILLED", "ACKNOWLEDGED", why="enacted; waiting for the first KPM period")
    results = []
    for t in spec.targets:
        v = achieved(t, after, baseline)
        results.append(TargetResult(target_name(t), t.condition, t.value, t.upper, v,
                                    None if v is None else t.holds(v), t.source))
    misses = [r for r in results if r.met is False]
    if misses:
        return Fulfilment("NOT_FULFILLED", "DEGRADED", tuple(results), after.n_reports,
                          "missed: " + ", ".join(f"{r.target} = {r.achieved:.4g} ({r.condition} {r.value:g})"
                                                 for r in misses))
    if after.n_reports < needed:
        return Fulfilment("NOT_FULFILLED", "COMPLIANT", tuple(results), after.n_reports,
                          f"every target holds so far ({after.n_reports} of {needed} periods observed)")
    return Fulfilment("FULFILLED", None, tuple(results), after.n_reports,
                      f"every target held over the last {after.n_reports} KPM periods")

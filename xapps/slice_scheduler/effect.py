"""Did a control take effect? Checked against the acknowledge's applied echo and the next KPM reports (pure).

After a control for a cell, each later KPM report (from the acknowledged effective time on) is checked:
a slice may not use more PRBs than its max ratio allows, and a slice with unmet demand (offered load above
its throughput) must get at least ``min(min ratio, its demand)``; both with ``tolerance_pct`` of slack. The
control is *effective* at the first report that passes, *not effective* when ``reports`` reports in a row
fail (or at once when the echo differs from what was sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nextric.control.slices import Ratio, SliceObservation


@dataclass(frozen=True)
class PendingEffect:
    sent: Mapping[str, Ratio]
    effective_ms: int
    failed_reports: int = 0


@dataclass(frozen=True)
class EffectResult:
    status: str  #: "effective" | "pending" | "not_effective"
    check: str = ""  #: which check failed ("echo", "prb_max", "prb_min")
    pending: PendingEffect | None = None


def echo_matches(sent: Mapping[str, Ratio], echoed: Mapping[str, Ratio]) -> bool:
    return all(echoed.get(k) == v for k, v in sent.items())


def check_report(
    pending: PendingEffect,
    sim_ms: int,
    observations: Sequence[SliceObservation],
    n_prb: float,
    reports: int,
    tolerance_pct: float,
) -> EffectResult:
    if sim_ms <= pending.effective_ms:
        return EffectResult("pending", pending=pending)
    failed = ""
    for o in observations:
        ratio = pending.sent.get(o.key)
        if ratio is None or n_prb <= 0:
            continue
        used_pct = 100.0 * o.prb_used / n_prb
        if used_pct > ratio[2] + tolerance_pct:
            failed = "prb_max"
            break
        backlogged = o.offered_mbps > 1.05 * o.throughput_mbps + 1e-6
        if backlogged and o.throughput_mbps > 0 and o.prb_used > 0:
            demand_pct = 100.0 * o.offered_mbps * (o.prb_used / o.throughput_mbps) / n_prb
            if used_pct + tolerance_pct < min(ratio[1], demand_pct):
                failed = "prb_min"
                break
    if not failed:
        return EffectResult("effective")
    nxt = PendingEffect(pending.sent, pending.effective_ms, pending.failed_reports + 1)
    if nxt.failed_reports >= reports:
        return EffectResult("not_effective", failed)
    return EffectResult("pending", failed, nxt)

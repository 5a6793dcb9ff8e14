"""The scalar laws as they were before vectorisation (xapps/slice_scheduler/core.py and transport.py at ddf1e18),
kept as the oracle the batched laws in nextric/control must reproduce exactly (tests/control/test_laws.py)."""

# ruff: noqa
from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SliceSla:
    """SLA ceilings of one slice (from an A1 slice SLA policy, or the defaults in the settings)."""

    key: str  #: S-NSSAI key, "sst-sd"
    loss_ceiling: float  #: fraction
    p99_ceiling_ms: float | None = None
    priority: int = 0  #: higher = served first on equal headroom
    gua_mbps: float | None = None  #: guaranteed throughput (A1 guaThroughputKbps / 1000)


@dataclass(frozen=True)
class SliceObservation:
    """One slice of one cell over the last report period (KPM)."""

    key: str
    offered_mbps: float
    throughput_mbps: float
    prb_used: float
    loss: float
    p99_ms: float


@dataclass(frozen=True)
class PlanBounds:
    """The rApp's plan for one slice in one cell (percent of the cell's PRBs)."""

    lower_pct: int = 0  #: min ratio never below
    upper_pct: int = 100  #: min ratio never above
    max_pct: int = 100  #: max ratio sent
    target_pct: float | None = None  #: the plan's target min ratio (blended with the xApp's request)


@dataclass(frozen=True)
class AllocatorParams:
    margin: float = 1.15  #: PRBs asked per PRB of bare demand
    latency_margin: float = 3.0  #: the same for slices with a delay ceiling (bursts must not queue)
    gain: float = 2.0  #: extra request at zero headroom (x bare demand)
    floor_pct: int = 5  #: smallest min ratio of any slice
    latency_floor_pct: int = 20  #: smallest min ratio of a slice with a delay ceiling (burst reserve)
    burst_reserve: float = 1.5  #: a delay-ceiling slice keeps this x its demand even when others go first
    burst_reserve_cap_pct: int = 80  #: ... but at most this share of the cell
    max_step_pct: int = 25  #: largest change of a min ratio per period
    max_release_pct: int | None = 5  #: largest fall per period (None: max_step_pct); fast attack, slow release
    plan_weight: float = 0.5  #: weight of the rApp target against the xApp's own request
    dedicate_latency: bool = True  #: delay-ceiling slices get dedicated = min (never lent: no queue builds)


Ratio = tuple[int, int, int]  # (dedicated, min, max) percent
NO_PLAN = PlanBounds()


def headroom(obs: SliceObservation, sla: SliceSla) -> float:
    """min over the slice's ceilings of (1 - value / ceiling), floored at 0 (1 = idle, 0 = at a ceiling)."""
    parts = [1.0 - obs.loss / sla.loss_ceiling if sla.loss_ceiling > 0 else 1.0]
    if sla.p99_ceiling_ms:
        parts.append(1.0 - obs.p99_ms / sla.p99_ceiling_ms)
    return max(0.0, min(parts))


def demand_pct(
    observations: Sequence[SliceObservation], slas: Mapping[str, SliceSla], n_prb: float
) -> dict[str, float]:
    """Step 1: the PRBs each slice needs to carry its offered load (or guarantee), in percent of the cell."""
    used = sum(o.prb_used for o in observations)
    cell_yield = sum(o.throughput_mbps for o in observations) / used if used > 1e-6 else 0.0
    out: dict[str, float] = {}
    for o in observations:
        sla = slas[o.key]
        y = o.throughput_mbps / o.prb_used if o.prb_used > 0.5 and o.throughput_mbps > 0 else cell_yield
        load = o.offered_mbps
        if sla.gua_mbps is not None and o.offered_mbps > 0:
            load = max(load, min(sla.gua_mbps, o.offered_mbps * 2.0))
        need = load / y if y > 1e-9 else (n_prb / len(observations))
        out[o.key] = 100.0 * need / max(n_prb, 1e-9)
    return out


def requested_pct(
    observations: Sequence[SliceObservation], slas: Mapping[str, SliceSla], n_prb: float, params: AllocatorParams
) -> dict[str, float]:
    """Steps 1-2: the min ratio each slice asks for, in percent of the cell (unbounded)."""
    need = demand_pct(observations, slas, n_prb)
    out: dict[str, float] = {}
    for o in observations:
        sla = slas[o.key]
        urgency = 1.0 + params.gain * (1.0 - headroom(o, sla))
        margin = params.latency_margin if sla.p99_ceiling_ms else params.margin
        out[o.key] = need[o.key] * margin * urgency
    return out


def apply_plan(
    requests: Mapping[str, float], plan: Mapping[str, PlanBounds], weight: float
) -> dict[str, float]:
    """Step 3: blend with the rApp target and clip into the plan's bounds."""
    out: dict[str, float] = {}
    for key, r in requests.items():
        b = plan.get(key, NO_PLAN)
        if b.target_pct is not None:
            r = weight * b.target_pct + (1.0 - weight) * r
        out[key] = min(max(r, b.lower_pct), b.upper_pct, b.max_pct)
    return out


def arbitrate(
    requests: Mapping[str, float], order: Sequence[str], floor_pct: int, floors: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Step 4: integer min ratios with sum <= 100, served in ``order`` while later slices keep their floor."""
    fl = {k: max(floor_pct, (floors or {}).get(k, 0)) for k in order}
    remaining = 100
    out: dict[str, int] = {}
    for i, key in enumerate(order):
        reserve = sum(fl[k] for k in order[i + 1 :])
        want = max(fl[key], math.ceil(requests[key] - 1e-9))
        got = max(0, min(want, remaining - reserve))
        out[key] = got
        remaining -= got
    return out


def smooth(
    target: Mapping[str, int], previous: Mapping[str, int] | None, max_step: int, max_release: int | None = None,
    urgent: Collection[str] = (),
) -> dict[str, int]:
    """Step 5: limit each rise to ``max_step`` and each fall to ``max_release`` (default: the same); the rises
    of the ``urgent`` slices are paid for by the others falling faster towards their targets (at most
    ``max_step``); scale the remaining increases down if the sum would pass 100."""
    if previous is None:
        return dict(target)
    down = max_step if max_release is None else min(max_release, max_step)
    out = {k: previous.get(k, v) + max(-down, min(max_step, v - previous.get(k, v))) for k, v in target.items()}
    owed = min(sum(out.values()) - 100, sum(max(0, out[k] - previous.get(k, out[k])) for k in urgent if k in out))
    for k in sorted((k for k in out if k not in urgent), key=lambda k: target[k] - out[k]):
        if owed <= 0:
            break
        floor = max(target[k], previous.get(k, out[k]) - max_step)
        give = max(0, min(owed, out[k] - floor))
        out[k] -= give
        owed -= give
    excess = sum(out.values()) - 100
    if excess > 0:
        ups = {k: out[k] - previous.get(k, out[k]) for k in out if out[k] > previous.get(k, out[k])}
        total_up = sum(ups.values())
        for k, up in sorted(ups.items()):
            cut = min(up, math.ceil(excess * up / total_up))
            out[k] -= cut
        while sum(out.values()) > 100:  # rounding leftovers
            k = max(out, key=lambda key: out[key])
            out[k] -= 1
    return out


def allocate(
    observations: Sequence[SliceObservation],
    slas: Mapping[str, SliceSla],
    n_prb: float,
    previous_min: Mapping[str, int] | None = None,
    params: AllocatorParams | None = None,
    plan: Mapping[str, PlanBounds] | None = None,
) -> dict[str, Ratio]:
    """One control decision for one cell: {slice key: (dedicated, min, max)} percent.

    ``slas`` must hold every observed slice; ``plan`` (the rApp's bounds and targets) may hold some or none.
    """
    p = params or AllocatorParams()
    pl = plan or {}
    req = apply_plan(requested_pct(observations, slas, n_prb, p), pl, p.plan_weight)
    heads = {o.key: headroom(o, slas[o.key]) for o in observations}
    order = sorted(heads, key=lambda k: (round(heads[k], 2), -slas[k].priority, k))
    need = demand_pct(observations, slas, n_prb)
    floors = {  # a delay-ceiling slice's burst reserve: kept whoever is served first
        k: max(pl.get(k, NO_PLAN).lower_pct, min(math.ceil(need[k] * p.burst_reserve), p.burst_reserve_cap_pct)
               if slas[k].p99_ceiling_ms else 0, p.latency_floor_pct if slas[k].p99_ceiling_ms else 0)
        for k in order
    }
    latency = [k for k in order if slas[k].p99_ceiling_ms]  # their rises come first (bursts must not queue)
    mins = smooth(arbitrate(req, order, p.floor_pct, floors), previous_min, p.max_step_pct, p.max_release_pct,
                  latency)
    out: dict[str, Ratio] = {}
    for k, m in mins.items():
        b = pl.get(k, NO_PLAN)
        m = min(max(m, 0), b.max_pct)
        ded = m if p.dedicate_latency and slas[k].p99_ceiling_ms else 0
        out[k] = (ded, m, max(m, b.max_pct))
    return out

"""What a closed-loop twin rollout says about candidate plans, in the intent's own terms (pure).

Candidate 0 is always the status quo (the controllers with today's plan), and every candidate shares its seeds'
exogenous draws with it, so a per-seed difference is the plan's own effect (paired comparison).

* **Area KPIs** are computed the way the intent report computes them from KPM (:func:`observe.area_kpis`): loss
  volume-weighted over the area's cells and periods, p99 the worst area cell of each period averaged over
  periods, throughput the area's sum averaged over periods.
* **Benefit** on a target: the change towards it (lower loss or delay, higher throughput), per seed, against the
  status quo; changes within the target's resolution (:data:`RESOLUTION`) count as none. Its **expected effect**
  is the mean over seeds with a 90 % t-interval.
* **Violation**: the share of seeds where the plan breaks a slice's SLA (city-wide, or an SLA target the intent
  names for its area); **attainment** (``hold``) the share where every goal of the intent holds in the area (a goal
  missed is not an SLA violation: the plan may still bring it closer). **Harm**: the share of seeds where the plan
  breaks an SLA or a target that the status quo keeps in the same seed and is materially worse there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nextric.arrays import FloatArray
from nextric.stats import Interval, mean_interval
from nextric.topology import Topology
from rapps.intent_agent.compiler.spec import Target

#: smallest change that counts, per KPI (loss fraction, ms, Mbit/s, cost ratio)
RESOLUTION = {"packet_loss": 0.002, "p99_latency_ms": 0.5, "throughput_mbps": 0.5, "resource_cost": 0.005,
              "energy_cost": 0.005}
COST_KPIS = ("resource_cost", "energy_cost")
HARM_REL = 0.10  #: worse than the status quo by more than this (relative) ...
HARM_ABS = {"packet_loss": 1e-3, "p99_latency_ms": 0.5}  #: ... and this (absolute) counts as harm


@dataclass(frozen=True, eq=False)
class TwinOutcome:
    """A closed-loop rollout as the rApp received it: scm (N, M); loss / p99_ms (N, M, S) city-wide; cost (N, M);
    per slow step and cell cell_offered / cell_thp (Mbit/s), cell_loss, cell_p99_ms: (N, M, K, C, S)."""

    scm: FloatArray
    loss: FloatArray
    p99_ms: FloatArray
    cost: FloatArray
    cell_offered: FloatArray
    cell_thp: FloatArray
    cell_loss: FloatArray
    cell_p99_ms: FloatArray

    @property
    def n(self) -> int:
        return int(self.scm.shape[0])


def area_value(out: TwinOutcome, kpi: str, slice_index: int, cells: Sequence[int]) -> FloatArray:
    """(N, M) area KPI of one slice (see module docstring); ``cells`` are indices into the description's cells."""
    c = list(cells)
    if kpi == "packet_loss":
        off = out.cell_offered[..., c, slice_index]
        lost = off * out.cell_loss[..., c, slice_index]
        return np.asarray(np.where(off.sum((2, 3)) > 0, lost.sum((2, 3)) / np.maximum(off.sum((2, 3)), 1e-12), 0.0))
    if kpi == "p99_latency_ms":
        return np.asarray(out.cell_p99_ms[..., c, slice_index].max(3).mean(2))
    if kpi == "throughput_mbps":
        return np.asarray(out.cell_thp[..., c, slice_index].sum(3).mean(2))
    if kpi in COST_KPIS:  # the resources the laws commit, relative to the status quo in the same seed
        return np.asarray(out.cost / np.maximum(out.cost[0][None], 1e-12))
    raise KeyError(kpi)


def checkable(t: Target) -> bool:
    """Targets the twin can check: a slice's loss, p99 or throughput (absolute), and the resource or energy cost
    relative to what runs now (the control cost of the resources the laws commit)."""
    if t.kpi in COST_KPIS:
        return t.relative and t.condition in ("IS_LESS_THAN", "IS_WITHIN_RANGE")
    return t.slice is not None and t.kpi in RESOLUTION and not t.relative


def benefit(t: Target, value: FloatArray) -> FloatArray:
    """(N, M) change towards ``t`` against candidate 0 (the status quo) per seed; within the resolution: 0."""
    lower_is_better = t.condition == "IS_LESS_THAN" or t.kpi in COST_KPIS
    d = value[0][None] - value if lower_is_better else value - value[0][None]
    return np.asarray(np.where(np.abs(d) < RESOLUTION[t.kpi], 0.0, d))


@dataclass(frozen=True)
class Assessment:
    """Per candidate: what the twin predicts against the status quo (candidate 0)."""

    values: dict[str, FloatArray]  #: target name -> (N, M) area value
    effects: dict[str, list[Interval]]  #: target name -> per candidate expected benefit
    hold: FloatArray  #: (N,) share of seeds where every intent target holds in the area
    violation: FloatArray  #: (N,) share of seeds breaking an SLA (city, or an SLA target of the intent in the area)
    harm: FloatArray  #: (N,) share of seeds breaking one the status quo keeps, materially worse
    scm: FloatArray  #: (N,) mean city SCM
    cost: FloatArray  #: (N,) mean control cost
    breaks: dict[str, FloatArray]  #: what breaks: "<slice>.<kpi>" (city SLA) or the target name -> (N,) share


def target_name(t: Target) -> str:
    return f"{t.slice}.{t.kpi}" if t.slice else t.kpi


def goals_of(targets: Sequence[Target], priority_slices: Sequence[str]) -> list[Target]:
    """What the plan is for: the intent's own checkable targets, else the SLA targets of the slices it favours. A cost
    to keep within a range ("near the baseline") is a constraint the plan must respect, not what it is for."""
    own = [t for t in targets if t.source == "intent" and checkable(t)
           and not (t.kpi in COST_KPIS and t.condition == "IS_WITHIN_RANGE")]
    return own or [t for t in targets if checkable(t) and t.slice in priority_slices]


def assess(out: TwinOutcome, topo: Topology, targets: Sequence[Target], goals: Sequence[Target],
           area_cell_ids: Sequence[int]) -> Assessment:
    """``targets``: everything the plan must keep in the area; ``goals`` (a subset): what it should improve."""
    names = [s.name for s in topo.slices]
    area = [i for i, c in enumerate(topo.cells) if not area_cell_ids or c.cell_id in area_cell_ids]
    checked = [t for t in targets if checkable(t) and (t.slice in names or t.kpi in COST_KPIS)]
    values, effects = {}, {}
    n, m = out.scm.shape
    broken = np.zeros((n, m), dtype=bool)
    worse = np.zeros((n, m), dtype=bool)
    hold = np.ones((n, m), dtype=bool)
    breaks: dict[str, FloatArray] = {}
    for t in checked:
        v = area_value(out, t.kpi, names.index(t.slice) if t.slice in names else 0, area)
        name = target_name(t)
        values[name] = v
        ok = np.vectorize(t.holds)(v) if v.size else np.ones_like(v, dtype=bool)
        if t in goals:
            hold &= ok
            b = benefit(t, v)
            effects[name] = [mean_interval(b[i]) for i in range(n)]
        if t.source == "sla":
            broken |= ~ok
        breaks[f"{name} (area)"] = (~ok).mean(1)
        worse |= ~ok & ok[0][None] & _materially_worse(t, v)
    for j, s in enumerate(topo.slices):  # every slice's SLA city-wide (no plan may quietly trade one away)
        for kpi, ceil, v in (("packet_loss", s.sla_loss, out.loss[..., j]), ("p99_latency_ms", s.sla_p99_ms,
                                                                           out.p99_ms[..., j])):
            if ceil is None:
                continue
            bad = v >= ceil
            broken |= bad
            breaks[f"{s.name}.{kpi} (city SLA)"] = bad.mean(1)
            worse |= bad & ~bad[0][None] & (v > v[0][None] * (1 + HARM_REL) + HARM_ABS[kpi])
    return Assessment(values, effects, hold.mean(1), broken.mean(1), worse.mean(1), out.scm.mean(1),
                      out.cost.mean(1), breaks)


def _materially_worse(t: Target, v: FloatArray) -> FloatArray:
    base = v[0][None]
    if t.condition == "IS_LESS_THAN":
        return np.asarray(v > base * (1 + HARM_REL) + HARM_ABS.get(t.kpi, 0.0))
    return np.asarray(v < base * (1 - HARM_REL) - RESOLUTION.get(t.kpi, 0.0))


def choose(a: Assessment, harm_limit: float) -> int:
    """The candidate to propose (index >= 1): most seeds meeting every goal, then the largest expected benefit on the
    first goal, then the fewest SLA violations, then the lowest cost; candidates whose harm exceeds ``harm_limit``
    only when nothing else is left."""
    n = len(a.hold)
    first = next(iter(a.effects.values()), None)

    def key(i: int) -> tuple[float, ...]:
        gain = first[i].mean if first is not None else 0.0
        return (float(a.harm[i] <= harm_limit), float(a.hold[i]), gain, -float(a.violation[i]), -float(a.cost[i]))

    return max(range(1, n), key=key) if n > 1 else 0

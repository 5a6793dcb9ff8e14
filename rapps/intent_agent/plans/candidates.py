"""Candidate plans for an intent (pure): bounds the running control laws would work inside, built from the
intent, the topology and what the network shows now. The closed-loop twin then judges them against the status quo.

Every candidate keeps today's plan and the operator's explicit requests (RRMPolicyRatio reservations, caps and
floors the intent states: TS 28.541 min and max ratios become the law's lower bound and cap; a dedicated ratio the
law decides itself, so it is kept as a lower bound) and adds, for the slices the intent is about (its goals) in its
area:

* ``sla``: the intent's targets as the ceilings the slice law steers by there (a tighter loss or delay ceiling
  makes the law treat the slice as urgent sooner);
* ``transport x a``: on the links the area's traffic takes, a guaranteed share (lower bound) for each goal slice
  of ``a`` x its need (observed offered load x the steering's margin / capacity): under contention the transport
  law keeps it whatever the priority order;
* ``ran x a``: in the area's cells, a guaranteed PRB share (lower bound) of ``a`` x the share the slice uses now;
* ``rebalance x a``: the transport guarantee of ``transport x a`` plus a cap on the links for every other slice
  without a delay ceiling at its own need (observed load x the steering's margin): the guarantee is paid for by
  the slices with room to spare, not by the delay-critical one;
* ``transport+ran x a``: both guarantees;
* ``world models`` (or ``rules planner``, its fallback when the world models are unusable): the planner's shares for
  the area (PRB targets per cell, transport targets per link), so its proposal competes on the same terms;
* ``trim x a`` (when a goal is a resource or energy cost): in the area's cells, a cap on the min ratio of every slice
  without a delay ceiling at ``a`` x the share it uses now: the law commits less, the twin says what it costs.

Lower bounds are scaled down where they would not fit (per-cell sums <= 100 %, per-link sums <= 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from nextric.arrays import FloatArray
from nextric.control.policy import ControlPlan, SlaCeiling
from nextric.control.slices import PlanBounds
from nextric.control.transport import ShareBounds
from nextric.topology import Topology
from rapps.intent_agent.compiler.spec import ActionSet, Target

TRANSPORT_STRENGTHS = (1.0, 1.3, 1.6)
TRIM_STRENGTHS = (1.1, 1.3, 1.6)
RAN_STRENGTHS = (1.2, 1.5)
REBALANCE_STRENGTHS = (0.6, 0.8, 1.0)
MAX_LINK_FLOOR = 0.9
MAX_PRB_FLOOR_PCT = 80


@dataclass(frozen=True)
class Candidate:
    name: str
    family: str
    plan: ControlPlan
    why: str


@dataclass(frozen=True)
class Observed:
    """What the network shows now: per link the offered load per slice (Mbit/s) and capacity (from the transport
    steering's link state in SDL), per area cell the PRB share each slice uses (from KPM, fractions)."""

    link_offered: Mapping[str, Mapping[str, float]]
    link_capacity: Mapping[str, float]
    cell_prb_use: Mapping[str, Mapping[str, float]]  #: cell key -> slice key -> used / available


def operator_requests(plan: ControlPlan, actions: ActionSet, topo: Topology, cells: Sequence[str]) -> ControlPlan:
    """The intent's explicit PRB requests laid over ``plan`` in the area's cells (fractions -> integer percent)."""
    keys = {s.name: s.key for s in topo.slices}
    by_id = {c.cell_id: c.key for c in topo.cells}
    out = {ck: dict(v) for ck, v in plan.cells.items()}

    def lay(ck: str, name: str, lo: float | None, hi: float | None) -> None:
        if name not in keys:
            return
        cur = out.setdefault(ck, {}).get(keys[name], PlanBounds())
        lower = cur.lower_pct if lo is None else max(cur.lower_pct, math.ceil(100 * lo - 1e-9))
        cap = cur.max_pct if hi is None else min(cur.max_pct, math.floor(100 * hi + 1e-9))
        cap = max(cap, lower)
        out[ck][keys[name]] = replace(cur, lower_pct=lower, upper_pct=min(max(cur.upper_pct, lower), cap),
                                      max_pct=cap)

    for ck in cells:
        for name, cap in actions.slice_caps:
            lay(ck, name, None, cap)
        for name, floor in actions.slice_floors:
            lay(ck, name, floor, None)
    for r in actions.ratio_policies:
        for ck in ([by_id[r.cell]] if r.cell in by_id else cells):
            lo = max((x for x in (r.min, r.dedicated) if x is not None), default=None)
            lay(ck, r.slice, lo, r.max)
    return replace(plan, cells=out)


def _sla(plan: ControlPlan, goals: Sequence[Target], topo: Topology, cells: Sequence[str]) -> ControlPlan:
    keys = {s.name: s.key for s in topo.slices}
    slas = {ck: dict(v) for ck, v in plan.slas.items()}
    for t in goals:
        if t.slice not in keys or t.condition != "IS_LESS_THAN":
            continue
        for ck in cells:
            cur = slas.setdefault(ck, {}).get(keys[t.slice], SlaCeiling())
            if t.kpi == "packet_loss":
                cur = replace(cur, max_loss=min(t.value, cur.max_loss or 1.0))
            elif t.kpi == "p99_latency_ms":
                cur = replace(cur, max_p99_ms=min(t.value, cur.max_p99_ms or math.inf))
            slas[ck][keys[t.slice]] = cur
    return replace(plan, slas=slas)


def _per_link(plan: ControlPlan, keys: Sequence[str], links: Sequence[str], obs: Observed,
              margin: Mapping[str, float], bound: Callable[[ShareBounds, float], ShareBounds]) -> ControlPlan:
    """``bound(current, need)`` for each (link, slice) of ``keys`` on ``links``, need = the observed offered load x
    the law's margin over the capacity; the rows' lower bounds scaled down to sum <= 1."""
    out = {lid: dict(v) for lid, v in plan.links.items()}
    for lid in links:
        cap = obs.link_capacity.get(lid, 0.0)
        if cap <= 0:
            continue
        row = out.setdefault(lid, {})
        for k in keys:
            need = obs.link_offered.get(lid, {}).get(k, 0.0) * margin.get(k, 1.3) / cap
            row[k] = bound(row.get(k, ShareBounds()), need)
        total = sum(b.lower for b in row.values())
        if total > 1.0:
            row.update({k: replace(b, lower=math.floor(b.lower / total * 1e4) / 1e4) for k, b in row.items()})
    return replace(plan, links=out)


def _links(plan: ControlPlan, goal_keys: Sequence[str], links: Sequence[str], obs: Observed,
           margin: Mapping[str, float], strength: float) -> ControlPlan:
    """Floors on the goal slices' shares: ``strength`` x their need (at most ``MAX_LINK_FLOOR``)."""
    return _per_link(plan, goal_keys, links, obs, margin, lambda cur, need: replace(
        cur, lower=round(min(MAX_LINK_FLOOR, max(cur.lower, strength * need)), 4)))


def _caps(plan: ControlPlan, others: Sequence[str], links: Sequence[str], obs: Observed,
          margin: Mapping[str, float]) -> ControlPlan:
    """Caps on the other slices' shares at their need (at least 2 %), never below their floor."""
    return _per_link(plan, others, links, obs, margin, lambda cur, need: replace(
        cur, upper=round(max(cur.lower, min(cur.upper, max(need, 0.02))), 4)))


def _cells(plan: ControlPlan, goal_keys: Sequence[str], cells: Sequence[str], obs: Observed,
           strength: float) -> ControlPlan:
    out = {ck: dict(v) for ck, v in plan.cells.items()}
    for ck in cells:
        row = out.setdefault(ck, {})
        for k in goal_keys:
            use = obs.cell_prb_use.get(ck, {}).get(k, 0.0)
            cur = row.get(k, PlanBounds())
            # never past a cap already in the plan (the operator's explicit request wins)
            lo = min(MAX_PRB_FLOOR_PCT, cur.max_pct, max(cur.lower_pct, math.ceil(100 * strength * use)))
            row[k] = replace(cur, lower_pct=lo, upper_pct=max(cur.upper_pct, lo))
        total = sum(b.lower_pct for b in row.values())
        if total > 100:
            row.update({k: replace(b, lower_pct=b.lower_pct * 100 // total) for k, b in row.items()})
    return replace(plan, cells=out)


def _trim(plan: ControlPlan, keys: Sequence[str], cells: Sequence[str], obs: Observed, strength: float
          ) -> ControlPlan:
    out = {ck: dict(v) for ck, v in plan.cells.items()}
    for ck in cells:
        row = out.setdefault(ck, {})
        for k in keys:
            use = obs.cell_prb_use.get(ck, {}).get(k, 0.0)
            cur = row.get(k, PlanBounds())
            up = max(cur.lower_pct, min(cur.upper_pct, math.ceil(100 * strength * use) + 1))
            row[k] = replace(cur, upper_pct=up)
    return replace(plan, cells=out)


def _world_models(plan: ControlPlan, topo: Topology, cells: Sequence[str], links: Sequence[str],
                  prb: FloatArray, tn: FloatArray) -> ControlPlan:
    """The planner's (K, C, S) / (K, L, S) shares as targets for the area's cells and links."""
    ccells = {ck: dict(v) for ck, v in plan.cells.items()}
    for ci, c in enumerate(topo.cells):
        if c.key in cells:
            row = ccells.setdefault(c.key, {})
            for si, s in enumerate(topo.slices):
                cur = row.get(s.key, PlanBounds())
                row[s.key] = replace(cur, target_pct=round(100 * float(prb[:, ci, si].mean()), 2))
    clinks = {lid: dict(v) for lid, v in plan.links.items()}
    for li, lid in enumerate(topo.link_ids):
        if lid in links:
            lrow = clinks.setdefault(lid, {})
            for si, s in enumerate(topo.slices):
                lrow[s.key] = replace(lrow.get(s.key, ShareBounds()), target=round(float(tn[:, li, si].mean()), 4))
    return replace(plan, cells=ccells, links=clinks)


def _guarantees(base: ControlPlan, goal_keys: list[str], goal_names: str, topo: Topology, cells: list[str],
                links: list[str], obs: Observed, margin: Mapping[str, float]) -> list[Candidate]:
    """The transport, rebalance, ran and transport+ran families for the goal slices."""
    on = ", ".join(links)
    out = [Candidate(f"transport x{a:g}", "transport", _links(base, goal_keys, links, obs, margin, a),
                     f"a guaranteed share of {a:g} x the need of {goal_names} on {on}") for a in TRANSPORT_STRENGTHS]
    others = [s.key for s in topo.slices if s.key not in goal_keys and s.sla_p99_ms is None]
    payers = ", ".join(s.name for s in topo.slices if s.key in others) or "nobody"
    for a in REBALANCE_STRENGTHS:
        plan = _caps(_links(base, goal_keys, links, obs, margin, a), others, links, obs, margin)
        out.append(Candidate(f"rebalance x{a:g}", "rebalance", plan, f"a guaranteed share of {a:g} x the need of "
                             f"{goal_names} on {on}, paid for by capping {payers} at their own need there"))
    out += [Candidate(f"ran x{a:g}", "ran", _cells(base, goal_keys, cells, obs, a),
                      f"a guaranteed PRB share of {a:g} x today's use of {goal_names} in the area's cells")
            for a in RAN_STRENGTHS]
    both = _cells(_links(base, goal_keys, links, obs, margin, 1.3), goal_keys, cells, obs, 1.2)
    out.append(Candidate("transport+ran x1.3/1.2", "transport+ran", both,
                         f"both: 1.3 x the transport need and 1.2 x today's PRB use of {goal_names}"))
    return out


def candidates(goals: Sequence[Target], area_cell_ids: Sequence[int], topo: Topology, current: ControlPlan,
               obs: Observed, transport_margin: Mapping[str, float],
               planner: tuple[FloatArray, FloatArray] | None = None, actions: ActionSet | None = None,
               planner_name: str = "world models") -> list[Candidate]:
    """The candidate plans (module docstring), each a complete plan (today's plan, the operator's explicit requests,
    then the change)."""
    keys = {s.name: s.key for s in topo.slices}
    goal_keys = list(dict.fromkeys(keys[t.slice] for t in goals if t.slice in keys))
    cells = [c.key for c in topo.cells if not area_cell_ids or c.cell_id in area_cell_ids]
    cost_goal = any(t.kpi in ("resource_cost", "energy_cost") for t in goals)
    links = list(topo.area_links(area_cell_ids))
    goal_names = ", ".join(dict.fromkeys(t.slice or "" for t in goals)) or "none"
    if actions is not None:
        current = operator_requests(current, actions, topo, cells)
    base = _sla(current, goals, topo, cells)
    out = [Candidate("sla", "sla", base, f"the intent's targets for {goal_names} as the slice law's ceilings in the "
                                         f"area ({len(cells)} cells)")]
    if goal_keys:  # guarantees for the goal slices (a cost-only intent has none)
        out += _guarantees(base, goal_keys, goal_names, topo, cells, links, obs, transport_margin)
    if cost_goal:
        loss_only = [s.key for s in topo.slices if s.sla_p99_ms is None]
        for a in TRIM_STRENGTHS:
            out.append(Candidate(f"trim x{a:g}", "trim", _trim(base, loss_only, cells, obs, a),
                                 f"a cap on the min ratio of the slices without a delay ceiling at {a:g} x the PRB "
                                 f"share they use now in the area's cells"))
    if planner is not None:
        name = "world models" if planner_name in ("improved", "twm", "world models") else f"{planner_name} planner"
        out.append(Candidate(name, "planner", _world_models(base, topo, cells, links, *planner),
                             f"the {name} planner's shares as targets for the area's cells and links"))
    return out

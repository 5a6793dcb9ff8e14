"""What runs now, as the rApp reads it from SDL (never from the emulator): the plan in force, the control laws'
parameters as the xApps publish them, the controllers' state (ratios and shares in force, the slice law's
smoothing baseline) and the transport alarms and loads the steering publishes.

Keys read (namespaces are settings): ``<plan ns>/<plan key>`` (the plan), ``xapp.slice_scheduler/law`` and
``xapp.slice_scheduler/cell/<cell key>`` (slice scheduler), ``xapp.transport_steering/law`` and
``xapp.transport_steering/links`` (transport steering). Whatever is missing falls back to the laws' defaults and a
uniform split, and :attr:`Running.notes` says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nextric.arrays import BoolArray
from nextric.control.batch import ControllerState, LawSpec, SliceDefaults, uniform_state
from nextric.control.policy import ControlPlan, decode_plan
from nextric.control.slices import AllocatorParams
from nextric.control.transport import TransportParams, sla_params
from nextric.errors import ValidationError
from nextric.sdl.api import SdlBackend
from nextric.topology import Topology


@dataclass(frozen=True, eq=False)
class Running:
    plan: ControlPlan
    laws: LawSpec
    state: ControllerState
    link_up: BoolArray  #: (L,) transport alarms (all up when the steering published nothing)
    link_offered: dict[str, dict[str, float]]  #: link -> slice key -> Mbit/s over the steering's last period
    link_capacity: dict[str, float]
    defaults: list[SliceDefaults]  #: each slice's ceilings as the slice law's defaults have them
    a1_slas: dict[str, dict[str, tuple[float | None, float | None]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def default_laws(topo: Topology) -> LawSpec:
    """The laws with the xApps' default settings (used when they published nothing)."""
    tp = sla_params([(s.key, s.sla_loss, s.sla_p99_ms) for s in topo.slices])
    prio = [100.0 if s.sla_p99_ms else float(len(topo.slices) - 1 - i) for i, s in enumerate(topo.slices)]
    return LawSpec(AllocatorParams(max_step_pct=24), tp, tuple(topo.slice_keys), tuple(prio), 1, 5)


def laws_of(slice_law: Mapping[str, Any] | None, steer_law: Mapping[str, Any] | None, topo: Topology,
            notes: list[str]) -> tuple[LawSpec, list[SliceDefaults]]:
    base = default_laws(topo)
    alloc, tparams = base.allocator, base.transport
    prio = list(base.priority)
    s_period, t_period = base.slice_period_steps, base.transport_period_steps
    step_ms = round(topo.fast_step_s * 1000)
    defaults = [SliceDefaults(s.key, s.sla_loss, s.sla_p99_ms) for s in topo.slices]
    if slice_law:
        a = dict(slice_law["allocator"])
        alloc = AllocatorParams(**{k: a[k] for k in AllocatorParams.__dataclass_fields__ if k in a})
        s_period = max(1, int(slice_law.get("controlPeriodMs", step_ms)) // step_ms)
        by_key = {(f"{d['sst']}-{str(d.get('sd', '')).lower()}" if d.get("sd") else str(d["sst"])): d
                  for d in slice_law.get("slices", [])}
        prio = [float(by_key[k]["priority"]) if k in by_key else p for k, p in zip(topo.slice_keys, prio, strict=True)]
        defaults = [SliceDefaults(k, float(by_key[k]["loss_ceiling"]), by_key[k].get("p99_ceiling_ms"))
                    if k in by_key else d for k, d in zip(topo.slice_keys, defaults, strict=True)]
    else:
        notes.append("the slice scheduler published no law: its defaults are assumed")
    if steer_law:
        t = dict(steer_law["transport"])
        tparams = TransportParams(dict(t["margin"]), list(t["priority"]), float(t.get("default_margin", 1.2)),
                                  float(t["floor"]), float(t["max_step"]), float(t.get("plan_weight", 0.5)))
        t_period = max(1, int(steer_law.get("periodMs", 5 * step_ms)) // step_ms)
    else:
        notes.append("the transport steering published no law: its defaults are assumed")
    return LawSpec(alloc, tparams, tuple(topo.slice_keys), tuple(prio), s_period, t_period), defaults


async def read_running(sdl: SdlBackend, topo: Topology, plan_ns: str, plan_key: str, slice_ns: str,
                       steer_ns: str) -> Running:
    notes: list[str] = []
    try:
        plan = decode_plan((await sdl.get(plan_ns, [plan_key])).get(plan_key))
    except ValidationError as exc:
        notes.append(f"the plan in SDL is invalid ({exc}); treated as none")
        plan = ControlPlan()
    s_raw = (await sdl.get(slice_ns, ["law"])).get("law")
    t_raw = (await sdl.get(steer_ns, ["law", "links"]))
    laws, defaults = laws_of(json.loads(s_raw) if s_raw else None,
                             json.loads(t_raw["law"]) if "law" in t_raw else None, topo, notes)
    n_c, n_l, n_s = len(topo.cells), len(topo.links), len(topo.slices)
    st = uniform_state(n_c, n_l, n_s)
    ratio, prev, tn = st.ratio_pct.copy(), st.previous_min.copy(), st.tn_share.copy()
    cells = await sdl.find_and_get(slice_ns, "cell/*")
    seen = 0
    for i, c in enumerate(topo.cells):
        raw = cells.get(f"cell/{c.key}")
        if not raw:
            continue
        obj = json.loads(raw)
        seen += 1
        for j, k in enumerate(topo.slice_keys):
            if k in obj.get("sent", {}):
                ratio[i, j] = [float(x) for x in obj["sent"][k]]
            if obj.get("previous_min") and k in obj["previous_min"]:
                prev[i, j] = float(obj["previous_min"][k])
    if seen < n_c:
        notes.append(f"{n_c - seen} of {n_c} cells have no slice scheduler state: uniform ratios assumed there")
    link_up = np.ones(n_l, dtype=bool)
    offered: dict[str, dict[str, float]] = {}
    capacity = {ln.link_id: ln.capacity_mbps for ln in topo.links}
    if "links" in t_raw:
        obj = json.loads(t_raw["links"])
        keys = obj.get("keys", topo.slice_keys)
        for li, lid in enumerate(topo.link_ids):
            ln = obj.get("links", {}).get(lid)
            if ln is None:
                continue
            link_up[li] = bool(ln["up"])
            offered[lid] = {k: float(v) for k, v in zip(keys, ln["offeredMbps"], strict=False)}
            share = dict(zip(keys, ln["share"], strict=False))
            tn[li] = [float(share.get(k, tn[li, j])) for j, k in enumerate(topo.slice_keys)]
    else:
        notes.append("the transport steering published no link state: all links up, uniform shares assumed")
    return Running(plan, laws, ControllerState(ratio, prev, tn), link_up, offered, capacity, defaults, notes=notes)

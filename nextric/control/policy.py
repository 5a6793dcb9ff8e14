"""The plan the control laws run inside, as the rApp writes it to SDL and the xApps and the twin read it (pure).

SDL namespace ``rapp.intent_agent``, key ``slice_plan`` (JSON; a change is announced on the namespace's channel
``slice_plan`` with the new version, so the xApps reload it on notification, never on a timer)::

    {"planId": "...", "intentId": "...", "version": 3, "validFromMs": <sim ms>, "validUntilMs": <sim ms>,
     "cells": {"<cell key>" | "*": {"<sst-sd>": {"lowerPct", "upperPct", "maxPct", "targetPct"}}},
     "slas":  {"<cell key>" | "*": {"<sst-sd>": {"maxLoss", "maxP99Ms"}}},
     "links": {"<link id>" | "*": {"<sst-sd>": {"lower", "upper", "target"}}}}

``cells`` bound the slice PRB law (percent of the cell's PRBs, :class:`~nextric.control.slices.PlanBounds`),
``slas`` are the ceilings that law steers by in those cells (they override the A1 slice SLA targets there),
``links`` bound the transport share law (fractions of the link, :class:`~nextric.control.transport.ShareBounds`).
Outside ``[validFromMs, validUntilMs)`` of simulated time the plan is not in force. Every field is validated
(:func:`plan_from_json` raises :class:`~nextric.errors.ValidationError` naming the field), so a bad plan is
refused whole and the one in force stays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nextric.control.slices import NO_PLAN, PlanBounds, SliceSla
from nextric.control.transport import ShareBounds
from nextric.errors import ValidationError

PLAN_CHANNEL = "slice_plan"  #: SDL channel (in the plan's namespace) announcing a new plan version
WILDCARD = "*"


@dataclass(frozen=True)
class SlaCeiling:
    """Ceilings a plan sets for one slice in one cell (None: keep the A1 / default one)."""

    max_loss: float | None = None
    max_p99_ms: float | None = None


@dataclass(frozen=True)
class ControlPlan:
    """Bounds per cell/slice and link/slice plus the SLA ceilings the laws steer by (see module docstring)."""

    cells: Mapping[str, Mapping[str, PlanBounds]] = field(default_factory=dict)
    links: Mapping[str, Mapping[str, ShareBounds]] = field(default_factory=dict)
    slas: Mapping[str, Mapping[str, SlaCeiling]] = field(default_factory=dict)
    plan_id: str | None = None
    intent_id: str | None = None
    version: int = 0
    valid_from_ms: int | None = None
    valid_until_ms: int | None = None

    def in_force(self, now_ms: int) -> bool:
        return ((self.valid_from_ms is None or now_ms >= self.valid_from_ms)
                and (self.valid_until_ms is None or now_ms < self.valid_until_ms))

    def cell_bounds(self, cell_key: str, now_ms: int) -> dict[str, PlanBounds]:
        """The slice bounds in force in ``cell_key`` at ``now_ms`` (the cell's own over the wildcard's)."""
        if not self.in_force(now_ms):
            return {}
        return {**self.cells.get(WILDCARD, {}), **self.cells.get(cell_key, {})}

    def link_bounds(self, link_id: str, now_ms: int) -> dict[str, ShareBounds]:
        if not self.in_force(now_ms):
            return {}
        return {**self.links.get(WILDCARD, {}), **self.links.get(link_id, {})}

    def apply_slas(self, cell_key: str, now_ms: int, slas: Mapping[str, SliceSla]) -> dict[str, SliceSla]:
        """``slas`` with the plan's ceilings for ``cell_key`` laid over them."""
        out = dict(slas)
        if not self.in_force(now_ms):
            return out
        for key, c in {**self.slas.get(WILDCARD, {}), **self.slas.get(cell_key, {})}.items():
            base = out.get(key)
            if base is None:
                continue
            out[key] = SliceSla(key, base.loss_ceiling if c.max_loss is None else c.max_loss,
                                base.p99_ceiling_ms if c.max_p99_ms is None else c.max_p99_ms,
                                base.priority, base.gua_mbps)
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        for k, v in (("planId", self.plan_id), ("intentId", self.intent_id), ("validFromMs", self.valid_from_ms),
                     ("validUntilMs", self.valid_until_ms)):
            if v is not None:
                out[k] = v
        out["cells"] = {c: {s: _bounds_json(b) for s, b in v.items()} for c, v in self.cells.items()}
        out["slas"] = {c: {s: {k: x for k, x in (("maxLoss", b.max_loss), ("maxP99Ms", b.max_p99_ms))
                               if x is not None} for s, b in v.items()} for c, v in self.slas.items()}
        out["links"] = {ln: {s: {k: x for k, x in (("lower", b.lower), ("upper", b.upper), ("target", b.target))
                                 if x is not None} for s, b in v.items()} for ln, v in self.links.items()}
        return out

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True).encode()


EMPTY_PLAN = ControlPlan()


def _bounds_json(b: PlanBounds) -> dict[str, Any]:
    out: dict[str, Any] = {"lowerPct": b.lower_pct, "upperPct": b.upper_pct, "maxPct": b.max_pct}
    if b.target_pct is not None:
        out["targetPct"] = b.target_pct
    return out


def _num(obj: Mapping[str, Any], key: str, where: str, lo: float, hi: float, default: float | None) -> float | None:
    v = obj.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
        raise ValidationError(f"{where}.{key}: expected a finite number, got {v!r}")
    if not lo <= float(v) <= hi:
        raise ValidationError(f"{where}.{key}: {v} outside [{lo}, {hi}]")
    return float(v)


def _table(obj: Any, where: str) -> dict[str, dict[str, Any]]:
    if obj is None:
        return {}
    if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
        raise ValidationError(f"{where}: expected an object of objects per slice key")
    for name, per in obj.items():
        for sk, v in per.items():
            if not isinstance(v, dict):
                raise ValidationError(f"{where}.{name}.{sk}: expected an object")
    return obj


def _int_pct(obj: Mapping[str, Any], key: str, where: str, default: int) -> int:
    v = _num(obj, key, where, 0, 100, default)
    assert v is not None
    if v != int(v):
        raise ValidationError(f"{where}.{key}: RRMPolicyRatio percentages are integers, got {v}")
    return int(v)


def plan_from_json(obj: Any) -> ControlPlan:
    """Validate and decode a plan (see module docstring); raises :class:`ValidationError` naming the field."""
    if not isinstance(obj, dict):
        raise ValidationError("a plan is a JSON object")
    cells: dict[str, dict[str, PlanBounds]] = {}
    for ck, per in _table(obj.get("cells"), "cells").items():
        row: dict[str, PlanBounds] = {}
        for sk, v in per.items():
            w = f"cells.{ck}.{sk}"
            lo, up, mx = (_int_pct(v, "lowerPct", w, 0), _int_pct(v, "upperPct", w, 100),
                          _int_pct(v, "maxPct", w, 100))
            if not lo <= up or not lo <= mx:
                raise ValidationError(f"{w}: need lowerPct <= upperPct and lowerPct <= maxPct")
            row[sk] = PlanBounds(lo, up, mx, _num(v, "targetPct", w, 0, 100, None))
        if sum(b.lower_pct for b in row.values()) > 100:
            raise ValidationError(f"cells.{ck}: lowerPct sums to more than 100 (TS 28.541 min ratios)")
        cells[ck] = row
    slas: dict[str, dict[str, SlaCeiling]] = {}
    for ck, per in _table(obj.get("slas"), "slas").items():
        slas[ck] = {sk: SlaCeiling(_num(v, "maxLoss", f"slas.{ck}.{sk}", 1e-6, 1, None),
                                   _num(v, "maxP99Ms", f"slas.{ck}.{sk}", 0.1, 60_000, None))
                    for sk, v in per.items()}
    links: dict[str, dict[str, ShareBounds]] = {}
    for lid, per in _table(obj.get("links"), "links").items():
        lrow: dict[str, ShareBounds] = {}
        for sk, v in per.items():
            w = f"links.{lid}.{sk}"
            share_lo = _num(v, "lower", w, 0, 1, 0.0) or 0.0
            share_up = _num(v, "upper", w, 0, 1, 1.0)
            share_up = 1.0 if share_up is None else share_up
            if share_lo > share_up:
                raise ValidationError(f"{w}: need lower <= upper")
            lrow[sk] = ShareBounds(share_lo, share_up, _num(v, "target", w, 0, 1, None))
        if sum(b.lower for b in lrow.values()) > 1 + 1e-9:
            raise ValidationError(f"links.{lid}: lower shares sum to more than 1")
        links[lid] = lrow
    times = {k: obj.get(k) for k in ("validFromMs", "validUntilMs", "version")}
    for k, v in times.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValidationError(f"{k}: expected an integer, got {v!r}")
    for k in ("planId", "intentId"):
        if obj.get(k) is not None and not isinstance(obj[k], str):
            raise ValidationError(f"{k}: expected a string")
    return ControlPlan(cells, links, slas, obj.get("planId"), obj.get("intentId"), int(times["version"] or 0),
                       times["validFromMs"], times["validUntilMs"])


def decode_plan(raw: bytes | None) -> ControlPlan:
    """SDL bytes -> plan (missing or empty: no plan)."""
    if not raw:
        return EMPTY_PLAN
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise ValidationError(f"the plan is not JSON: {exc}") from exc
    return plan_from_json(obj) if obj else EMPTY_PLAN


__all__ = ["EMPTY_PLAN", "NO_PLAN", "PLAN_CHANNEL", "WILDCARD", "ControlPlan", "SlaCeiling", "decode_plan",
           "plan_from_json"]

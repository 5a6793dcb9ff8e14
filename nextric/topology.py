"""The network as the rApp knows it: the twin service's ``Describe`` (cells, zones, transport nodes and links,
slices and their SLAs, timing, cost weights, shock families, the served area and the subscriber population),
decoded into plain values, with the routing question planners ask of it.

Routing is the transport's own (:class:`nextric.routing.Router`): a cell's traffic enters at its aggregation node
and takes the shortest path of up links towards the hub (fewest hops, then least delay).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from nextric.arrays import FloatArray
from nextric.errors import ValidationError
from nextric.kpi import CostWeights
from nextric.kpm import SliceId
from nextric.routing import Router
from nextric.twin.v1 import twin_pb2


@dataclass(frozen=True)
class CellInfo:
    key: str
    cell_id: int
    name: str
    x_m: float
    y_m: float
    prb_count: int
    agg_node: str
    zones: tuple[str, ...]
    re_rate_per_prb: float = 0.0  #: RE/s per PRB x MIMO layers x (1 - overhead) (capacity = this x bit/RE)


@dataclass(frozen=True)
class LinkInfo:
    link_id: str
    src: str
    dst: str
    capacity_mbps: float
    delay_ms: float
    corridor: bool


@dataclass(frozen=True)
class SliceInfo:
    key: str
    name: str
    sst: int
    sd: str
    sla_loss: float
    sla_p99_ms: float | None
    packet_bytes: float = 0.0
    base_delay_ms: float = 0.0  #: processing + air-interface floor (no queueing)
    discard_ms: float = 0.0  #: PDCP discard timer


@dataclass(frozen=True)
class ZoneInfo:
    name: str
    kind: str
    points: tuple[tuple[float, float], ...]
    radius_m: float


@dataclass(frozen=True)
class UeGroupInfo:
    name: str
    slice_key: str
    zone: str | None  #: None = the whole area
    count: int
    mobility: str
    speed_mps: float


@dataclass(frozen=True)
class ShockInfo:
    """An exogenous shock family the twin can assume (hotspot surges near a zone, waves along a corridor)."""

    family: str
    zone: str
    intensity: tuple[float, ...]  #: peak demand multiplier per slice
    duration_s: float
    rate_per_slow_step: float
    radius_m: float


@dataclass(frozen=True, eq=False)
class Topology:
    scenario: str
    cells: tuple[CellInfo, ...]
    links: tuple[LinkInfo, ...]
    slices: tuple[SliceInfo, ...]
    zones: tuple[ZoneInfo, ...]
    nodes: tuple[tuple[str, float, float], ...]  #: (name, x m, y m)
    hub: str
    slow_steps_per_horizon: int
    fast_steps_per_slow: int
    fast_step_s: float
    width_m: float = 0.0
    height_m: float = 0.0
    cost: CostWeights = field(default_factory=lambda: CostWeights(1.0, 1.0, 1.0))
    shocks: tuple[ShockInfo, ...] = ()
    ue_groups: tuple[UeGroupInfo, ...] = ()

    @staticmethod
    def of(d: twin_pb2.TwinDescription) -> Topology:
        if not d.cells or not d.links or not d.slices:
            raise ValidationError("the twin's description has no topology (cells, links, slices)")
        hubs = [n.name for n in d.nodes if n.hub]
        if len(hubs) != 1:
            raise ValidationError(f"the description needs exactly one hub node, got {hubs}")
        names = {n.name for n in d.nodes}
        bad = [ln.link_id for ln in d.links if ln.src not in names or ln.dst not in names]
        bad += [c.cell_key for c in d.cells if c.agg_node not in names]
        if bad:
            raise ValidationError(f"the description names transport nodes it does not list: {bad}")
        keys = {s.key for s in d.slices}
        if any(g.slice_key not in keys for g in d.ue_groups):
            raise ValidationError("a UE group names a slice the description does not list")
        w = d.cost
        return Topology(
            d.scenario,
            tuple(CellInfo(c.cell_key, c.cell_id, c.name, c.position.x_m, c.position.y_m, c.prb_count, c.agg_node,
                           tuple(c.zones), c.re_rate_per_prb) for c in d.cells),
            tuple(LinkInfo(ln.link_id, ln.src, ln.dst, ln.capacity_mbps, ln.delay_ms, ln.corridor) for ln in d.links),
            tuple(SliceInfo(s.key, s.name, s.sst, s.sd, s.sla_loss, s.sla_p99_ms or None, s.packet_bytes,
                            s.base_delay_ms, s.discard_ms) for s in d.slices),
            tuple(ZoneInfo(z.name, z.kind, tuple((p.x_m, p.y_m) for p in z.points), z.radius_m) for z in d.zones),
            tuple((n.name, n.position.x_m, n.position.y_m) for n in d.nodes), hubs[0],
            d.slow_steps_per_horizon, d.fast_steps_per_slow, d.fast_step_s, d.area.width_m, d.area.height_m,
            CostWeights(w.w_prb, w.w_transport, w.w_change) if d.HasField("cost") else CostWeights(1.0, 1.0, 1.0),
            tuple(ShockInfo(f.family, f.zone, tuple(f.intensity), f.duration_s, f.rate_per_slow_step, f.radius_m)
                  for f in d.shock_families),
            tuple(UeGroupInfo(g.name, g.slice_key, g.zone or None, g.count, g.mobility, g.speed_mps)
                  for g in d.ue_groups))

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def n_links(self) -> int:
        return len(self.links)

    @property
    def n_slices(self) -> int:
        return len(self.slices)

    @property
    def slow_step_s(self) -> float:
        return self.fast_step_s * self.fast_steps_per_slow

    @property
    def slice_ids(self) -> list[SliceId]:
        """The slices as KPM decoding names them (:func:`nextric.kpm.report_of`)."""
        return [SliceId(s.sst, s.sd, s.name) for s in self.slices]

    @property
    def cell_ids_by_key(self) -> dict[str, int]:
        return {c.key: c.cell_id for c in self.cells}

    @property
    def cell_xy(self) -> FloatArray:
        """(C, 2) float64 m, cell sites."""
        return np.array([[c.x_m, c.y_m] for c in self.cells], dtype=np.float64)

    def shock(self, family: str) -> ShockInfo | None:
        return next((f for f in self.shocks if f.family == family), None)

    @cached_property
    def router(self) -> Router:
        """The transport's router over this topology (nodes in description order)."""
        idx = {n[0]: i for i, n in enumerate(self.nodes)}
        return Router(len(self.nodes), idx[self.hub], np.array([idx[ln.src] for ln in self.links], dtype=np.int64),
                      np.array([idx[ln.dst] for ln in self.links], dtype=np.int64),
                      np.array([ln.delay_ms for ln in self.links], dtype=np.float64),
                      np.array([idx[c.agg_node] for c in self.cells], dtype=np.int64))

    @property
    def cell_keys(self) -> list[str]:
        return [c.key for c in self.cells]

    @property
    def link_ids(self) -> list[str]:
        return [ln.link_id for ln in self.links]

    @property
    def slice_keys(self) -> list[str]:
        return [s.key for s in self.slices]

    def cell(self, cell_id: int) -> CellInfo:
        for c in self.cells:
            if c.cell_id == cell_id:
                return c
        raise ValidationError(f"unknown cell id {cell_id}")

    def route(self, node: str, down: Sequence[str] = ()) -> tuple[str, ...]:
        """Link ids from ``node`` to the hub over links not in ``down`` (fewest hops, then least delay); empty when
        ``node`` is the hub or cannot reach it."""
        names = [n[0] for n in self.nodes]
        if node not in names:
            raise ValidationError(f"unknown transport node {node!r}")
        up = np.array([ln.link_id not in down for ln in self.links], dtype=bool)
        return tuple(self.links[i].link_id for i in self.router.node_route(names.index(node), up))

    def area_links(self, cell_ids: Sequence[int]) -> tuple[str, ...]:
        """Links the area's traffic takes to the hub (primary routes), in topology order."""
        nodes = {c.agg_node for c in self.cells if not cell_ids or c.cell_id in cell_ids}
        used = {lid for n in nodes for lid in self.route(n)}
        return tuple(ln.link_id for ln in self.links if ln.link_id in used)

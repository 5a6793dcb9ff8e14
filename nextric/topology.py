"""The network as the rApp knows it: the twin service's ``Describe`` (cells, zones, transport nodes and links,
slices and their SLAs, timing), decoded into plain values, with the routing question planners ask of it.

Routing follows what the transport does on a healthy network: a cell's traffic enters at its aggregation node
and takes the shortest path of up links towards the hub (fewest hops, then least delay).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from nextric.errors import ValidationError
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


@dataclass(frozen=True)
class ZoneInfo:
    name: str
    kind: str
    points: tuple[tuple[float, float], ...]
    radius_m: float


@dataclass(frozen=True)
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

    @staticmethod
    def of(d: twin_pb2.TwinDescription) -> Topology:
        if not d.cells or not d.links or not d.slices:
            raise ValidationError("the twin's description has no topology (cells, links, slices)")
        hubs = [n.name for n in d.nodes if n.hub]
        if len(hubs) != 1:
            raise ValidationError(f"the description needs exactly one hub node, got {hubs}")
        return Topology(
            d.scenario,
            tuple(CellInfo(c.cell_key, c.cell_id, c.name, c.position.x_m, c.position.y_m, c.prb_count, c.agg_node,
                           tuple(c.zones)) for c in d.cells),
            tuple(LinkInfo(ln.link_id, ln.src, ln.dst, ln.capacity_mbps, ln.delay_ms, ln.corridor) for ln in d.links),
            tuple(SliceInfo(s.key, s.name, s.sst, s.sd, s.sla_loss, s.sla_p99_ms or None) for s in d.slices),
            tuple(ZoneInfo(z.name, z.kind, tuple((p.x_m, p.y_m) for p in z.points), z.radius_m) for z in d.zones),
            tuple((n.name, n.position.x_m, n.position.y_m) for n in d.nodes), hubs[0],
            d.slow_steps_per_horizon, d.fast_steps_per_slow, d.fast_step_s)

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
        dist: dict[str, float] = {node: 0.0}
        via: dict[str, LinkInfo] = {}
        heap: list[tuple[float, str]] = [(0.0, node)]
        while heap:
            d, v = heapq.heappop(heap)
            if v == self.hub:
                break
            if d > dist.get(v, float("inf")):
                continue
            for ln in self.links:
                if ln.src != v or ln.link_id in down:
                    continue
                nd = d + 1e3 + ln.delay_ms
                if nd < dist.get(ln.dst, float("inf")):
                    dist[ln.dst], via[ln.dst] = nd, ln
                    heapq.heappush(heap, (nd, ln.dst))
        if self.hub not in via:
            return ()
        out: list[str] = []
        v = self.hub
        while v != node:
            ln = via[v]
            out.append(ln.link_id)
            v = ln.src
        return tuple(reversed(out))

    def area_links(self, cell_ids: Sequence[int]) -> tuple[str, ...]:
        """Links the area's traffic takes to the hub (primary routes), in topology order."""
        nodes = {c.agg_node for c in self.cells if not cell_ids or c.cell_id in cell_ids}
        used = {lid for n in nodes for lid in self.route(n)}
        return tuple(ln.link_id for ln in self.links if ln.link_id in used)

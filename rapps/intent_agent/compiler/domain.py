"""What the compiler knows about the network it compiles for: slices with their SLAs, zones, cells, transport links
(pure; built from the twin service's description)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nextric.geometry import zone_distance
from nextric.topology import Topology


@dataclass(frozen=True)
class SliceInfo:
    name: str
    sst: int
    sd: str
    sla_loss: float
    sla_p99_ms: float | None
    base_delay_ms: float  #: the slice's processing + air-interface floor (no queueing)
    description: str = ""  #: what the slice carries in this scenario (its UE groups), for name resolution

    @property
    def key(self) -> str:
        return f"{self.sst}-{self.sd.lower()}" if self.sd else str(self.sst)


@dataclass(frozen=True)
class Domain:
    slices: tuple[SliceInfo, ...]
    zones: dict[str, tuple[int, ...]]  #: zone name -> cell ids serving it
    zone_kinds: dict[str, str]  #: zone name -> kind (hospital, fwa, corridor)
    cells: tuple[int, ...]
    min_transport_delay_ms: float
    links: tuple[str, ...] = ()  #: transport link names
    link_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  #: group name -> member links

    def slice(self, name: str) -> SliceInfo:
        return next(s for s in self.slices if s.name == name)

    def has_slice(self, name: str) -> bool:
        return any(s.name == name for s in self.slices)

    def slice_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slices)


def domain_of(topo: Topology) -> Domain:
    """Zones map to the cells whose site lies in them, else to the nearest cells (two at most)."""
    xy = topo.cell_xy
    zones: dict[str, tuple[int, ...]] = {}
    kinds: dict[str, str] = {}
    for z in topo.zones:
        d = zone_distance(z, xy)
        inside = [topo.cells[i].cell_id for i in np.flatnonzero(d <= z.radius_m)]
        if not inside:
            inside = [topo.cells[i].cell_id for i in np.argsort(d)[:2]]
        zones[z.name] = tuple(sorted(inside))
        kinds[z.name] = z.kind
    slices = tuple(SliceInfo(s.name, s.sst, s.sd, s.sla_loss, s.sla_p99_ms, s.base_delay_ms, _describe(topo, s.key))
                   for s in topo.slices)
    links = topo.links
    min_tn = min((lk.delay_ms for lk in links), default=0.0)
    groups: dict[str, tuple[str, ...]] = {"backhaul": tuple(lk.link_id for lk in links)}
    corridor = tuple(lk.link_id for lk in links if lk.corridor)
    if corridor:
        groups["corridor"] = corridor
    groups["hub"] = tuple(lk.link_id for lk in links if lk.dst == topo.hub)
    return Domain(slices, zones, kinds, tuple(c.cell_id for c in topo.cells), float(min_tn),
                  tuple(lk.link_id for lk in links), groups)


def _describe(topo: Topology, slice_key: str) -> str:
    """'<n> static UEs in fwa-west, ...' from the slice's UE groups (the description's subscriber population)."""
    parts = [f"{g.count} {g.mobility} UEs in {g.zone or 'the whole area'}" for g in topo.ue_groups
             if g.slice_key == slice_key]
    return ", ".join(parts)

"""What the compiler knows about the network it compiles for: slices with their SLAs, zones, cells (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.core.geometry import zone_distance
from testbed.core.params import ScenarioParams


@dataclass(frozen=True)
class SliceInfo:
    name: str
    sst: int
    sd: str
    sla_loss: float
    sla_p99_ms: float | None
    base_delay_ms: float  #: the slice's processing + air-interface floor (no queueing)

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

    def slice(self, name: str) -> SliceInfo:
        return next(s for s in self.slices if s.name == name)

    def slice_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slices)


def domain_of(sc: ScenarioParams) -> Domain:
    """Zones map to the cells whose site lies in them, else to the nearest cells (two at most)."""
    xy = np.array([[c.x_m, c.y_m] for c in sc.cells])
    zones: dict[str, tuple[int, ...]] = {}
    kinds: dict[str, str] = {}
    for z in sc.zones:
        d = zone_distance(z, xy)
        inside = [sc.cells[i].cell_id for i in np.flatnonzero(d <= z.radius_m)]
        if not inside:
            inside = [sc.cells[i].cell_id for i in np.argsort(d)[:2]]
        zones[z.name] = tuple(sorted(inside))
        kinds[z.name] = z.kind
    slices = tuple(SliceInfo(s.name, s.sst, s.sd, s.sla_loss, s.sla_p99_ms, s.base_delay_ms) for s in sc.slices)
    min_tn = min((lk.delay_ms for lk in sc.transport.links), default=0.0)
    return Domain(slices, zones, kinds, tuple(c.cell_id for c in sc.cells), float(min_tn))

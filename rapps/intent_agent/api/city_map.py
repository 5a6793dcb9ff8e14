"""The operator's city map (``GET /rapp/v1/map``), built from what the rApp already knows (pure): the network's
description (cells and transport nodes at their positions in metres, zones, links), the latest KPM report (each
cell's PRB use and per-slice loss, p99 delay and throughput), the transport state the steering xApp publishes in SDL
(each link up or down, offered load against capacity; :func:`rapps.intent_agent.network.read_running`) and the
intents' areas (the cells each intent and its plans act on).

Positions are the description's own (``TwinDescription`` cell and node positions, zone centres / polylines and
radii, the served area), so the page draws the city as the twin sees it; nothing is laid out here. The KPIs a cell
can be coloured by are listed with their unit, colour-scale domain and SLA ceiling, so the page's legend is data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, Field

from nextric.kpm import KpmReport
from nextric.topology import Topology
from rapps.intent_agent.network import Running

#: the KPI the map shows first
DEFAULT_KPI = "prb_use"
#: a colour scale with an SLA ceiling reaches this multiple of it (unless an observed value goes further)
SLA_HEADROOM = 2.0


class MapKpi(BaseModel):
    """A KPI cells can be coloured by: ``unit`` ``fraction`` (drawn as %) or ``ms``; the scale runs min..max."""

    id: str = Field(description="key into each cell's `values`: `prb_use`, `loss.<slice>`, `p99.<slice>`")
    label: str
    unit: str = Field(description="`fraction` (shown as %) or `ms`")
    slice: str | None = None
    min: float = 0.0
    max: float
    sla: float | None = Field(None, description="the slice's SLA ceiling in `unit`, drawn on the legend")


class MapCell(BaseModel):
    cellId: int
    key: str
    name: str
    xM: float
    yM: float
    aggNode: str
    zones: list[str]
    values: dict[str, float | None] = Field(description="KPI id -> value in the last KPM period (None: no data)")


class MapZone(BaseModel):
    name: str
    kind: str = Field(description="hospital, fwa, corridor ... as the scenario names it")
    points: list[tuple[float, float]] = Field(description="one centre (a disc) or a polyline (a corridor), metres")
    radiusM: float = Field(description="disc radius, or the corridor's half width")


class MapNode(BaseModel):
    name: str
    xM: float
    yM: float
    hub: bool


class MapLink(BaseModel):
    linkId: str
    src: str
    dst: str
    capacityMbps: float
    delayMs: float
    corridor: bool
    state: str = Field(description="`up`, `down` (transport alarm) or `unknown` (the steering published nothing)")
    offeredMbps: float | None = None
    utilisation: float | None = Field(None, description="offered / capacity over the steering's last period")


class MapArea(BaseModel):
    """The cells an intent (and the plans made for it) acts on; empty ``cellIds`` = every cell."""

    intentId: str
    name: str
    zone: str | None = None
    cellIds: list[int]
    planIds: list[str]


class LinkStateInfo(BaseModel):
    source: str = Field(description="where the link state comes from (the steering xApp's SDL key)")
    known: bool
    notes: list[str] = []


class MapClock(BaseModel):
    simTimeS: float | None = Field(None, description="end of the KPM period the colours show (simulated s)")
    clockStart: str = Field(description="time of day at simulated t = 0 (the clock intents' windows use)")
    timeOfDay: str | None = None


class CityMap(BaseModel):
    """`GET /rapp/v1/map`: field names in camelCase, as the rest of the API spells them."""

    scenario: str
    widthM: float
    heightM: float
    clock: MapClock
    kpis: list[MapKpi]
    defaultKpi: str = DEFAULT_KPI
    cells: list[MapCell]
    zones: list[MapZone]
    nodes: list[MapNode]
    links: list[MapLink]
    linkState: LinkStateInfo
    areas: list[MapArea]


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def cell_values(topo: Topology, report: KpmReport | None) -> dict[int, dict[str, float | None]]:
    """Per cell id: ``prb_use`` (fraction), ``loss.<slice>`` (fraction), ``p99.<slice>`` (ms), ``thp.<slice>``
    (Mbit/s) of ``report``; None where the report has no row for the cell."""
    ids = [k.id for k in kpi_list(topo, {})] + [f"thp.{s.name}" for s in topo.slices]
    out: dict[int, dict[str, float | None]] = {c.cell_id: dict.fromkeys(ids) for c in topo.cells}
    if report is None:
        return out
    for c in report.cells:
        if c.cell_id not in out:
            continue
        row = out[c.cell_id]
        row["prb_use"] = _finite(c.prb_used_dl / c.prb_avail_dl) if c.prb_avail_dl > 0 else None
        for s, k in zip(topo.slices, c.slices, strict=False):
            row[f"loss.{s.name}"] = _finite(k.packet_loss)
            row[f"p99.{s.name}"] = _finite(k.p99_delay_ms)
            row[f"thp.{s.name}"] = _finite(k.thp_dl_mbps)
    return out


def kpi_list(topo: Topology, values: dict[int, dict[str, float | None]]) -> list[MapKpi]:
    """PRB use, then each slice's loss and p99 delay; a scale reaches SLA_HEADROOM x the SLA and the largest value."""

    def top(kid: str) -> float:
        return max((v for row in values.values() if (v := row.get(kid)) is not None), default=0.0)

    out = [MapKpi(id="prb_use", label="PRB use (downlink)", unit="fraction", max=1.0)]
    for s in topo.slices:
        kid = f"loss.{s.name}"
        out.append(MapKpi(id=kid, label=f"{s.name} packet loss", unit="fraction", slice=s.name, sla=s.sla_loss,
                          max=min(1.0, max(SLA_HEADROOM * s.sla_loss, top(kid), 0.01))))
    for s in topo.slices:
        kid = f"p99.{s.name}"
        sla = s.sla_p99_ms
        out.append(MapKpi(id=kid, label=f"{s.name} p99 latency", unit="ms", slice=s.name, sla=sla,
                          max=max(SLA_HEADROOM * sla if sla else 0.0, top(kid), 1.0)))
    return out


def link_rows(topo: Topology, running: Running | None) -> list[MapLink]:
    """Each link with its state: ``unknown`` when the steering published nothing about it."""
    rows = []
    for i, ln in enumerate(topo.links):
        known = running is not None and ln.link_id in running.link_offered
        offered = sum(running.link_offered[ln.link_id].values()) if running is not None and known else None
        cap = running.link_capacity.get(ln.link_id, ln.capacity_mbps) if running is not None else ln.capacity_mbps
        state = "unknown" if running is None or not known else ("up" if bool(running.link_up[i]) else "down")
        rows.append(MapLink(linkId=ln.link_id, src=ln.src, dst=ln.dst, capacityMbps=cap, delayMs=ln.delay_ms,
                            corridor=ln.corridor, state=state, offeredMbps=offered,
                            utilisation=None if offered is None or cap <= 0 else _finite(offered / cap)))
    return rows


def city_map(topo: Topology, report: KpmReport | None, running: Running | None, areas: Sequence[MapArea],
             clock_start: str, time_of_day: str | None, link_source: str = "xapp.transport_steering/links",
             link_notes: Sequence[str] = ()) -> CityMap:
    """The map of ``topo`` coloured by ``report`` (the latest KPM period, None before the first) with the link state
    of ``running`` (None: not readable, every link ``unknown``) and the intents' ``areas``."""
    values = cell_values(topo, report)
    links = link_rows(topo, running)
    notes = list(link_notes)
    if running is not None:
        notes += [n for n in running.notes if "link" in n]
    return CityMap(
        scenario=topo.scenario,
        widthM=topo.width_m or max([c.x_m for c in topo.cells] + [n[1] for n in topo.nodes]) * 1.1,
        heightM=topo.height_m or max([c.y_m for c in topo.cells] + [n[2] for n in topo.nodes]) * 1.1,
        clock=MapClock(simTimeS=None if report is None else report.t_end_s, clockStart=clock_start,
                       timeOfDay=time_of_day),
        kpis=kpi_list(topo, values),
        cells=[MapCell(cellId=c.cell_id, key=c.key, name=c.name, xM=c.x_m, yM=c.y_m, aggNode=c.agg_node,
                       zones=list(c.zones), values=values[c.cell_id]) for c in topo.cells],
        zones=[MapZone(name=z.name, kind=z.kind, points=list(z.points), radiusM=z.radius_m) for z in topo.zones],
        nodes=[MapNode(name=n, xM=x, yM=y, hub=n == topo.hub) for n, x, y in topo.nodes],
        links=links,
        linkState=LinkStateInfo(source=f"SDL {link_source}",
                                known=any(x.state != "unknown" for x in links), notes=notes),
        areas=list(areas))

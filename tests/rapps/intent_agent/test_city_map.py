"""The operator's city map (api/city_map.py): every cell, zone, node and link of the description at its position,
cells' KPIs from the latest KPM report, links' state and utilisation from the steering's SDL record (read as the
rApp reads it), intents' areas; and the route serving it to viewers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from nextric.kpm import CellKpm, KpmReport, SliceKpm
from nextric.sdl.embedded import EmbeddedSdl
from nextric.topology import Topology
from rapps.intent_agent.api.city_map import MapArea, city_map
from rapps.intent_agent.app import build_agent, create_app
from rapps.intent_agent.network import Running, read_running
from rapps.intent_agent.settings import Grant, IntentAgentSettings
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of

STEER = "xapp.transport_steering"


@pytest.fixture(scope="module")
def topo() -> Topology:
    return topology_of(load_scenario("twm_poc"))


def _report(topo: Topology, t_end_s: float = 120.0) -> KpmReport:
    cells = []
    for c in topo.cells:
        sl = tuple(SliceKpm(s.sst, s.sd, s.name, 10.0 * (j + 1), 20.0, 3.0, 0.01 * c.cell_id, 5.0 * (j + 1) + c.cell_id,
                            12.0, (0.0, 0.0, 0.0)) for j, s in enumerate(topo.slices))
        cells.append(CellKpm(c.cell_id, 100.0, 10.0 * (c.cell_id % 10), sl))
    return KpmReport(t_end_s - 15.0, t_end_s, 15, tuple(cells))


async def _links(topo: Topology, down: str | None) -> EmbeddedSdl:
    sdl = EmbeddedSdl()
    keys = topo.slice_keys
    state = {"simTimeMs": 120_000, "keys": keys, "links": {
        ln.link_id: {"up": ln.link_id != down, "capacityMbps": ln.capacity_mbps,
                     "offeredMbps": [ln.capacity_mbps / 6] * len(keys), "share": [1 / len(keys)] * len(keys)}
        for ln in topo.links}}
    await sdl.set(STEER, {"links": json.dumps(state).encode()})
    return sdl


async def _running(topo: Topology, sdl: EmbeddedSdl) -> Running:
    return await read_running(sdl, topo, "rapp.intent_agent", "slice_plan", "xapp.slice_scheduler", STEER)


def test_geometry_is_the_descriptions(topo: Topology) -> None:
    m = city_map(topo, None, None, [], "18:30", None)
    assert (m.widthM, m.heightM) == (topo.width_m, topo.height_m) == (2000.0, 2000.0)
    assert [(c.cellId, c.xM, c.yM, c.aggNode) for c in m.cells] == [
        (c.cell_id, c.x_m, c.y_m, c.agg_node) for c in topo.cells]
    assert {z.name: z.kind for z in m.zones} == {"hospital": "hospital", "fwa-west": "fwa", "fwa-east": "fwa",
                                                 "fwa-south": "fwa", "corridor": "corridor"}
    corridor = next(z for z in m.zones if z.kind == "corridor")
    assert len(corridor.points) == 3  # a polyline; the discs have one centre
    assert [n.name for n in m.nodes if n.hub] == [topo.hub]
    assert [ln.linkId for ln in m.links] == topo.link_ids
    # before the first KPM report and with no link state: nothing invented
    assert m.clock.simTimeS is None
    assert all(v is None for c in m.cells for v in c.values.values())
    assert {ln.state for ln in m.links} == {"unknown"}
    assert all(ln.utilisation is None for ln in m.links)
    assert not m.linkState.known


def test_cells_carry_the_last_reports_kpis(topo: Topology) -> None:
    m = city_map(topo, _report(topo), None, [], "18:30", "18:32")
    assert m.clock.simTimeS == 120.0
    assert m.clock.timeOfDay == "18:32"
    c3 = next(c for c in m.cells if c.cellId == 3)
    assert c3.values["prb_use"] == pytest.approx(0.3)
    assert c3.values["loss.URLLC"] == pytest.approx(0.03)
    assert c3.values["p99.URLLC"] == pytest.approx(13.0)
    assert c3.values["thp.FWA"] == pytest.approx(30.0)
    ids = [k.id for k in m.kpis]
    assert ids[0] == m.defaultKpi == "prb_use"
    assert {f"loss.{s.name}" for s in topo.slices} | {f"p99.{s.name}" for s in topo.slices} <= set(ids)
    assert all(set(ids) <= set(c.values) for c in m.cells)
    k = {x.id: x for x in m.kpis}
    assert (k["prb_use"].unit, k["prb_use"].max) == ("fraction", 1.0)
    # a scale with an SLA ceiling shows it and reaches beyond it; observed values stay on the scale
    assert (k["loss.URLLC"].sla, k["loss.URLLC"].max) == (0.10, pytest.approx(0.2))
    assert (k["p99.URLLC"].unit, k["p99.URLLC"].sla, k["p99.URLLC"].max) == ("ms", 20.0, 40.0)
    assert (k["p99.eMBB"].sla, k["p99.eMBB"].max) == (None, pytest.approx(15.0))  # the largest value


def test_a_report_without_a_cell_leaves_it_blank(topo: Topology) -> None:
    r = _report(topo)
    r = KpmReport(r.t_start_s, r.t_end_s, r.n_steps, tuple(c for c in r.cells if c.cell_id != 5))
    m = city_map(topo, r, None, [], "18:30", None)
    assert all(v is None for v in next(c for c in m.cells if c.cellId == 5).values.values())


async def test_links_state_and_utilisation_from_the_steering(topo: Topology) -> None:
    running = await _running(topo, await _links(topo, "C-NE"))
    m = city_map(topo, None, running, [], "18:30", None)
    by = {ln.linkId: ln for ln in m.links}
    assert by["C-NE"].state == "down"
    assert {ln.state for ln in m.links if ln.linkId != "C-NE"} == {"up"}
    assert by["SW-HUB"].offeredMbps == pytest.approx(130.0)
    assert by["SW-HUB"].utilisation == pytest.approx(0.5)
    assert m.linkState.known
    assert m.linkState.source == "SDL xapp.transport_steering/links"
    # nothing published: read as the rApp reads it (all up for planning), drawn as unknown with the note
    bare = await _running(topo, EmbeddedSdl())
    m2 = city_map(topo, None, bare, [], "18:30", None)
    assert {ln.state for ln in m2.links} == {"unknown"}
    assert any("published no link state" in n for n in m2.linkState.notes)


def test_areas_pass_through(topo: Topology) -> None:
    a = MapArea(intentId="i1", name="hospital", zone="hospital", cellIds=[6, 9], planIds=["p1"])
    m = city_map(topo, None, None, [a], "18:30", None)
    assert m.areas == [a]
    assert m.model_dump()["areas"][0]["cellIds"] == [6, 9]


async def test_route_serves_viewers_with_a_documented_schema(topo: Topology, tmp_path: Path) -> None:
    settings = IntentAgentSettings(audit_path=str(tmp_path / "audit.db"),
                                   tokens=[Grant(name="eye", token=SecretStr("viewer-token"), roles=["viewer"])])
    sdl = await _links(topo, "H-HUB")
    agent = build_agent(settings, sdl, topo)
    try:
        await agent.on_kpm(_report(topo))
        app = create_app(settings, agent)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rapp") as c:
            assert (await c.get("/rapp/v1/map")).status_code == 401
            got = await c.get("/rapp/v1/map", headers={"Authorization": "Bearer viewer-token"})
            assert got.status_code == 200
            m = got.json()
            assert len(m["cells"]) == topo.n_cells
            assert m["clock"] == {"simTimeS": 120.0, "clockStart": settings.clock_start, "timeOfDay": "18:32"}
            assert [ln["linkId"] for ln in m["links"] if ln["state"] == "down"] == ["H-HUB"]
            assert m["areas"] == []
            api = (await c.get("/openapi.json")).json()
            ok = api["paths"]["/rapp/v1/map"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            assert ok == {"$ref": "#/components/schemas/CityMap"}
            assert {"MapCell", "MapLink", "MapZone", "MapKpi", "MapArea"} <= set(api["components"]["schemas"])
    finally:
        agent.audit.close()

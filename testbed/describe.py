"""The testbed's network as an inventory tells it (the twin service's ``Describe``): cells with their E2 identities,
zones, transport, slices and SLAs, timing, cost weights, shock families, the served area and the subscriber
population. The rApp knows the network only through this description (:class:`nextric.topology.Topology`).
"""

from __future__ import annotations

from collections.abc import Sequence

from nextric.e2 import ids
from nextric.e2.nodeinfo import cell_identity
from nextric.e2.v1 import common_pb2
from nextric.geometry import in_zone
from nextric.kpm import SliceId
from nextric.topology import Topology
from nextric.twin.v1 import twin_pb2
from testbed.core.params import ScenarioParams
from testbed.core.scenario import city_arrays

DEFAULT_PLMN = ("001", "01")


def cell_cgis(sc: ScenarioParams, plmn: tuple[str, str] = DEFAULT_PLMN) -> list[common_pb2.NrCgi]:
    """The NR CGI of every cell in scenario order: one gNB per cell site (gNB id = cell id + 1), local cell 1."""
    p = ids.make_plmn(*plmn)
    return [common_pb2.NrCgi(plmn=p, nr_cell_identity=cell_identity(c.cell_id + 1, 1)) for c in sc.cells]


def cell_keys(sc: ScenarioParams, plmn: tuple[str, str] = DEFAULT_PLMN) -> list[str]:
    return [ids.cell_key(c) for c in cell_cgis(sc, plmn)]


def slice_ids(sc: ScenarioParams) -> list[SliceId]:
    return [SliceId(s.sst, s.sd, s.name) for s in sc.slices]


def description(sc: ScenarioParams, name: str, keys: Sequence[str]) -> twin_pb2.TwinDescription:
    """``Describe``'s answer for scenario ``sc`` whose cells E2 names ``keys`` (scenario order)."""
    t = sc.timing
    arr = city_arrays(sc)
    zones_of = {z.name: in_zone(z, arr.cell_xy) for z in sc.zones}
    slice_keys = [s.key for s in slice_ids(sc)]
    shocks = []
    if sc.hotspot is not None:
        h = sc.hotspot
        shocks.append(twin_pb2.ShockFamily(family="hotspot", zone=h.zone, intensity=list(h.intensity),
                                           duration_s=h.duration_s, rate_per_slow_step=h.rate_per_slow_step,
                                           radius_m=h.radius_m))
    if sc.wave is not None:
        w = sc.wave
        shocks.append(twin_pb2.ShockFamily(family="wave", zone=w.zone, intensity=list(w.intensity),
                                           duration_s=w.duration_s, rate_per_slow_step=w.rate_per_slow_step,
                                           radius_m=w.width_m))
    return twin_pb2.TwinDescription(
        scenario=name,
        cell_keys=list(keys),
        slice_keys=slice_keys,
        link_ids=[link.name for link in sc.transport.links],
        slow_steps_per_horizon=t.slow_per_horizon,
        fast_steps_per_slow=t.fast_per_slow,
        fast_step_s=t.fast_step_s,
        cells=[twin_pb2.CellTopology(cell_key=key, cell_id=c.cell_id, name=c.name,
                                     position=twin_pb2.Point(x_m=c.x_m, y_m=c.y_m), prb_count=c.n_prb,
                                     agg_node=c.agg_node, zones=[z for z, m in zones_of.items() if m[i]],
                                     re_rate_per_prb=float(arr.bits_per_re_scale[i]))
               for i, (key, c) in enumerate(zip(keys, sc.cells, strict=True))],
        zones=[twin_pb2.ZoneTopology(name=z.name, kind=z.kind, radius_m=z.radius_m,
                                     points=[twin_pb2.Point(x_m=x, y_m=y) for x, y in z.points])
               for z in sc.zones],
        nodes=[twin_pb2.NodeTopology(name=n, position=twin_pb2.Point(x_m=xy[0], y_m=xy[1]), hub=n == sc.transport.hub)
               for n, xy in zip(sc.transport.nodes, sc.transport.node_xy, strict=True)],
        links=[twin_pb2.LinkTopology(link_id=ln.name, src=ln.src, dst=ln.dst, capacity_mbps=ln.capacity_mbps,
                                     delay_ms=ln.delay_ms, corridor=ln.corridor) for ln in sc.transport.links],
        slices=[twin_pb2.SliceDescription(key=k, name=s.name, sst=s.sst, sd=s.sd, sla_loss=s.sla_loss,
                                          sla_p99_ms=s.sla_p99_ms or 0.0, packet_bytes=int(s.packet_bytes),
                                          base_delay_ms=s.base_delay_ms, discard_ms=s.discard_ms)
                for k, s in zip(slice_keys, sc.slices, strict=True)],
        cost=twin_pb2.CostWeights(w_prb=sc.cost.w_prb, w_transport=sc.cost.w_transport, w_change=sc.cost.w_change),
        shock_families=shocks,
        area=twin_pb2.Area(width_m=sc.width_m, height_m=sc.height_m),
        ue_groups=[twin_pb2.UeGroup(name=g.name, slice_key=slice_keys[g.slice_index], zone=g.zone or "",
                                    count=g.count, mobility=g.mobility, speed_mps=g.speed_mps)
                   for g in sc.ue_groups],
    )


def topology_of(sc: ScenarioParams, name: str | None = None) -> Topology:
    """The rApp's view of scenario ``sc`` with the testbed's default E2 identities."""
    return Topology.of(description(sc, name or sc.name, cell_keys(sc)))

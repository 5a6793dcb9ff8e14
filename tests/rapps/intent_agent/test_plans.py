"""The plan core (pure): candidate bounds for the running laws, and what a closed-loop rollout says about them
against the status quo (paired per seed). Network: the PoC city as the twin service describes it."""

from __future__ import annotations

import numpy as np
import pytest

from nextric.control.policy import EMPTY_PLAN
from nextric.topology import Topology
from rapps.intent_agent.compiler.spec import Target
from rapps.intent_agent.plans.candidates import MAX_LINK_FLOOR, Observed, candidates
from rapps.intent_agent.plans.effect import TwinOutcome, assess, choose
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of

GOAL = Target("packet_loss", "IS_LESS_THAN", 0.10, slice="eMBB")


@pytest.fixture(scope="module")
def topo() -> Topology:
    return topology_of(load_scenario("twm_poc"))


def _observed(topo: Topology, load: float = 0.2) -> Observed:
    """Every slice offers ``load`` x the link's capacity on every link and uses 20 % of every cell's PRBs."""
    keys = topo.slice_keys
    return Observed({ln.link_id: {k: load * ln.capacity_mbps for k in keys} for ln in topo.links},
                    {ln.link_id: ln.capacity_mbps for ln in topo.links},
                    {c.key: {k: 0.2 for k in keys} for c in topo.cells})


def test_candidates_guarantee_the_goal_slice_on_the_area_links_only(topo: Topology) -> None:
    hospital = [c.cell_id for c in topo.cells if "hospital" in c.zones]
    assert hospital
    margin = {k: 1.3 for k in topo.slice_keys}
    cands = candidates([GOAL], hospital, topo, EMPTY_PLAN, _observed(topo), margin)
    names = [c.name for c in cands]
    assert names[0] == "sla"
    assert {"transport x1", "transport x1.3", "transport x1.6", "rebalance x0.6", "ran x1.2",
            "transport+ran x1.3/1.2"} <= set(names)
    area_links = set(topo.area_links(hospital))
    embb = next(s.key for s in topo.slices if s.name == "eMBB")
    floors = {}
    for c in cands:
        for lid, row in c.plan.links.items():
            assert lid in area_links  # nothing outside the area's routes
            assert sum(b.lower for b in row.values()) <= 1.0 + 1e-9
            for b in row.values():
                assert 0.0 <= b.lower <= MAX_LINK_FLOOR
                assert b.lower <= b.upper
        for ck in c.plan.cells:
            assert ck in {x.key for x in topo.cells if x.cell_id in hospital}
        if c.family == "transport":
            floors[c.name] = min(row[embb].lower for row in c.plan.links.values())
    assert floors["transport x1"] <= floors["transport x1.3"] <= floors["transport x1.6"]
    rebalance = next(c for c in cands if c.name == "rebalance x1")
    fwa = next(s.key for s in topo.slices if s.name == "FWA")
    assert all(row[fwa].upper < 1.0 for row in rebalance.plan.links.values())  # paid for by the slice with room
    sla = cands[0].plan.slas
    assert all(sla[ck][embb].max_loss == pytest.approx(0.10) for ck in sla)


def test_overfull_guarantees_are_scaled_to_fit(topo: Topology) -> None:
    margin = {k: 1.3 for k in topo.slice_keys}
    goals = [Target("packet_loss", "IS_LESS_THAN", 0.1, slice=s.name) for s in topo.slices]
    cands = candidates(goals, [], topo, EMPTY_PLAN, _observed(topo, load=5.0), margin)
    for c in cands:
        for row in c.plan.links.values():
            assert sum(b.lower for b in row.values()) <= 1.0 + 1e-9
        for row in c.plan.cells.values():
            assert sum(b.lower_pct for b in row.values()) <= 100


def _outcome(topo: Topology, embb_loss: list[float], urllc_p99: list[float], m: int = 6) -> TwinOutcome:
    """N candidates x m seeds with a per-candidate eMBB loss and URLLC p99 everywhere (seed noise on top)."""
    n, k, c, s = len(embb_loss), 2, topo.n_cells, topo.n_slices
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.002, (1, m, 1, 1))
    loss = np.zeros((n, m, k, c, s))
    loss[..., 0] = np.clip(np.array(embb_loss)[:, None, None, None] + noise, 0, 1)
    p99 = np.full((n, m, k, c, s), 5.0)
    p99[..., 1] = np.array(urllc_p99)[:, None, None, None]
    city_loss = loss.mean((2, 3))
    city_p99 = p99.max(3).mean(2)
    return TwinOutcome(np.full((n, m), 0.5), city_loss, city_p99, np.ones((n, m)), np.full((n, m, k, c, s), 50.0),
                       np.full((n, m, k, c, s), 45.0), loss, p99)


def test_effects_are_paired_against_the_status_quo_and_harm_is_relative(topo: Topology) -> None:
    # status quo: eMBB loss 15 %; plan 1 brings it to 8 %; plan 2 to 8 % but breaks URLLC's p99 SLA;
    # plan 3 changes nothing
    urllc_sla = next(s.sla_p99_ms for s in topo.slices if s.name == "URLLC")
    assert urllc_sla is not None
    out = _outcome(topo, [0.15, 0.08, 0.08, 0.15], [5.0, 5.0, 2 * urllc_sla, 5.0])
    a = assess(out, topo, [GOAL], [GOAL], [])
    eff = a.effects["eMBB.packet_loss"]
    assert eff[0].mean == 0.0
    assert eff[1].mean == pytest.approx(0.07, abs=1e-9)
    assert eff[1].lo > 0  # measurable: the interval excludes zero
    assert eff[3].mean == 0.0  # within the resolution: no effect
    assert a.hold.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert a.harm[1] == 0.0
    assert a.harm[2] == 1.0  # breaks an SLA the status quo keeps
    assert a.violation[2] == 1.0
    assert choose(a, harm_limit=0.2) == 1
    assert choose(a, harm_limit=1.0) in (1, 2)

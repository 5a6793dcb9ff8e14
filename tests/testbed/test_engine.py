"""Emulator facade: determinism, controls (validated, applied next step, echoed), reports, KPIs."""

from __future__ import annotations

import numpy as np
import pytest

from nextric.errors import ValidationError
from nextric.kpi import control_cost, cost_reduction, mixture_quantile, scm, uniform_cost
from testbed.core.engine import Emulator
from testbed.core.estimators import NmseTable
from testbed.core.params import ScenarioParams
from testbed.core.reports import BeamSwitch, ControlRequest, EstimatorMode, SlicePolicy, TransportShare
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime


@pytest.fixture(scope="module")
def table(city: ScenarioParams) -> NmseTable:
    return Emulator(city, seed=0, nmse_obs=2).nmse_table


def _run(city: ScenarioParams, table: NmseTable, seed: int, n: int = 30) -> list[float]:
    emu = Emulator(city, ShockRegime.parse("wave-OOD"), seed=seed, nmse_table=table)
    for _ in range(n):
        emu.step_fast()
    rep = emu.read_kpm()
    return [s.thp_dl_mbps for c in rep.cells for s in c.slices] + [s.p99_delay_ms for c in rep.cells for s in c.slices]


def test_same_seed_identical_trajectory(city: ScenarioParams, table: NmseTable) -> None:
    a = _run(city, table, 3)
    assert a == _run(city, table, 3)
    assert a != _run(city, table, 4)


def test_controls_validated_applied_next_step_and_echoed(city: ScenarioParams, table: NmseTable) -> None:
    emu = Emulator(city, seed=1, nmse_table=table)
    emu.step_fast()
    with pytest.raises(ValidationError, match="sum of min"):
        emu.submit(ControlRequest("bad", slice_policies=(SlicePolicy(1, 1, "000001", 0, 80, 100),)))
    with pytest.raises(ValidationError, match="unknown cell"):
        emu.submit(ControlRequest("bad2", slice_policies=(SlicePolicy(99, 1, "000001", 0, 10, 100),)))
    with pytest.raises(ValidationError, match="sum to"):
        emu.submit(ControlRequest("bad3", transport=(TransportShare("C-HUB", (0.6, 0.6, 0.1)),)))
    req = ControlRequest("ok", slice_policies=(SlicePolicy(6, 2, "000002", 10, 30, 80),),
                         beams=(BeamSwitch(0, 5, ttl_steps=3),), estimators=(EstimatorMode(6, "LS"),),
                         transport=(TransportShare("H-HUB", (0.3, 0.6, 0.1)),))
    emu.submit(req)
    assert emu.ratio_pct[5, 1].tolist() != [10, 30, 80]  # not yet applied
    acks = emu.step_fast()
    assert len(acks) == 1
    assert acks[0].applied == req
    assert acks[0].step_index == 1
    assert emu.ratio_pct[5, 1].tolist() == [10, 30, 80]
    assert emu.tn_share[4].tolist() == [0.3, 0.6, 0.1]
    assert emu.cell_mode[5] == 0
    assert emu.ues.beam[0] == 5 or emu.ues.beam_ttl[0] == 0  # forced unless a handover cleared it
    rep = emu.read_kpm()
    assert rep.cells[5].slices[1].ratio_pct == (10.0, 30.0, 80.0)


def test_reports_shapes_and_ranges(city: ScenarioParams, table: NmseTable) -> None:
    emu = Emulator(city, seed=2, nmse_table=table)
    with pytest.raises(ValidationError):
        emu.beam_report()
    emu.step_slow()
    rep = emu.read_kpm()
    assert rep.n_steps == 15
    assert rep.t_end_s == pytest.approx(15.0)
    for c in rep.cells:
        assert c.prb_used_dl <= c.prb_avail_dl + 1e-6
        for s in c.slices:
            assert 0 <= s.packet_loss <= 1
            assert s.thp_dl_mbps >= 0
            assert s.p99_delay_ms >= 0
    br = emu.beam_report()
    assert br.rsrp_dbm.shape == (len(emu.ue_ids), 8)
    assert (br.rsrp_dbm == np.round(br.rsrp_dbm)).all()
    assert br.rsrp_dbm.min() >= -140
    assert br.rsrp_dbm.max() <= -44
    g = emu.beam_genie()
    assert g.rsrp_dbm.shape == (len(emu.ue_ids), 32)
    # Set-B beams are Set-A beams: the genie's best Set-A RSRP is >= any Set-B value (noise-free)
    assert (g.rsrp_dbm.max(1) >= g.rsrp_dbm[:, br.set_b].max(1) - 1e-9).all()
    pr = emu.pilot_report(np.arange(5))
    assert pr.obs.y.shape == (5, 2, 24)
    assert len(pr.mode) == 5


def test_beam_override_changes_gain(city: ScenarioParams, table: NmseTable) -> None:
    emu = Emulator(city, ShockRegime.parse("none"), seed=5, nmse_table=table)
    emu.step_fast()
    g = emu.beam_genie()
    worst = int(np.argmin(g.rsrp_dbm[0]))
    emu.submit(ControlRequest("b", beams=(BeamSwitch(0, worst, ttl_steps=5),)))
    emu.step_fast()
    assert emu.ues.beam[0] == worst or emu.ues.beam_ttl[0] == 0  # forced unless a handover cleared it


def test_kpi_definitions() -> None:
    sl = load_scenario("twm_poc").slices
    loss = np.array([[0.125, 0.05, 0.1]])
    p99 = np.array([[0.0, 10.0, 0.0]])
    assert scm(loss, p99, sl)[0] == pytest.approx(0.5)  # min(1-.125/.25, 1-.05/.1, 1-.1/.2, 1-10/20)
    assert scm(np.array([[0.3, 0, 0]]), p99, sl)[0] == 0.0
    # p99 of one exponential: a + ln(100)/beta
    q = mixture_quantile(np.array([0.01]), np.array([100.0]), np.array([1.0]))
    assert q == pytest.approx(0.01 + np.log(100) / 100, rel=1e-6)
    cost = load_scenario("twm_poc").cost
    u = np.full((1, 12, 10, 3), 1 / 3)
    assert control_cost(u, u, cost)[0] == pytest.approx(uniform_cost(cost))
    assert cost_reduction(control_cost(u * 0.5, u * 0.5, cost), cost)[0] == pytest.approx(0.5)

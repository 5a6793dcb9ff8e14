"""The closed-loop twin: laws run inside the policies, common random numbers, observed start state, and its
fidelity against the emulator running the xApps' own decisions (bench/loop.py) on one context."""

from __future__ import annotations

import numpy as np
import pytest

from bench.loop import EmulatorLoop, default_laws, slice_defaults
from nextric.control.batch import plans_to_batch, take, uniform_state
from nextric.control.policy import ControlPlan
from nextric.control.transport import ShareBounds
from nextric.errors import ValidationError
from testbed.closed_loop import infer_state, mean_multiplier, rollout_policies
from testbed.core.engine import Emulator
from testbed.core.reports import CellKpm, KpmReport, SliceKpm
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.policies import uniform_shares
from testbed.twin import DigitalTwin


@pytest.fixture(scope="module")
def context() -> EmulatorLoop:
    sc = load_scenario("twm_poc")
    emu = Emulator(sc, ShockRegime.parse("hotspot-ID"), seed=11)
    prb, tn = uniform_shares(sc)
    emu.set_allocation(shares_to_ratios(prb, "isolated"), tn)
    loop = EmulatorLoop(emu)
    loop.run(90)
    return loop


def _twin(loop: EmulatorLoop, seed: int = 3) -> DigitalTwin:
    return DigitalTwin.from_observations(loop.emu.sc, loop.reports[-6:], ShockRegime.parse("hotspot-ID"),
                                         loop.emu.link_up, seed=seed)


def test_laws_matter_and_candidates_share_their_draws(context: EmulatorLoop) -> None:
    loop, sc = context, context.emu.sc
    plans = [ControlPlan(), ControlPlan(), ControlPlan()]
    batch = plans_to_batch(plans, loop.cell_keys, loop.link_ids, slice_defaults(loop.emu), 0,
                           [True, True, False], [True, True, False])
    res = rollout_policies(_twin(loop), infer_state(sc, loop.reports[-6:]), batch, default_laws(loop.emu),
                           uniform_state(sc.n_cells, sc.n_links, sc.n_slices), n_seeds=4, seed=1, horizon=4)
    assert res.scm.shape == (3, 4)
    np.testing.assert_array_equal(res.scm[0], res.scm[1])  # same policy, same draws: identical
    np.testing.assert_array_equal(res.cell_loss[0], res.cell_loss[1])
    assert not np.allclose(res.cell_loss[0], res.cell_loss[2])  # the laws change the outcome
    assert res.cell_offered.shape == (3, 4, 4, sc.n_cells, sc.n_slices)
    np.testing.assert_allclose(res.cell_offered[0], res.cell_offered[2])  # ... but not the demand
    # the static candidate keeps the ratios in force: it commits 1/3 of every cell to every slice
    np.testing.assert_allclose(res.committed_prb[2], 1 / 3, atol=1e-9)
    assert not np.allclose(res.committed_prb[0], 1 / 3)


def test_a_transport_bound_is_honoured_in_the_twin(context: EmulatorLoop) -> None:
    loop, sc = context, context.emu.sc
    keys = [d.key for d in slice_defaults(loop.emu)]
    floor = ControlPlan(links={"H-HUB": {keys[0]: ShareBounds(lower=0.6)}})
    batch = plans_to_batch([ControlPlan(), floor], loop.cell_keys, loop.link_ids, slice_defaults(loop.emu), 0)
    res = rollout_policies(_twin(loop), infer_state(sc, loop.reports[-6:]), batch, default_laws(loop.emu),
                           loop.state(), n_seeds=2, seed=2, horizon=3)
    li = loop.link_ids.index("H-HUB")
    assert (res.committed_tn[1, :, 1:, li, 0] >= 0.6 - 1e-6).all()  # after the first transport period
    assert res.committed_tn[0, :, 1:, li, 0].min() < 0.6


def test_observed_state_reads_surges_backlog_and_utilisation() -> None:
    sc = load_scenario("twm_poc")

    def report(offered: float, delay_ms: float, used: float) -> KpmReport:
        cells = tuple(CellKpm(c.cell_id, float(c.n_prb), used, tuple(
            SliceKpm(s.sst, s.sd, s.name, 10.0, used / 3, delay_ms, 0.0, 5.0, offered if c.cell_id == 6 else 5.0,
                     (0.0, 0.0, 0.0)) for s in sc.slices)) for c in sc.cells)
        return KpmReport(0.0, 15.0, 15, cells)

    st = infer_state(sc, [report(5.0, 8.0, 30.0)] * 4 + [report(15.0, 108.0, 60.0)])
    ci = [c.cell_id for c in sc.cells].index(6)
    assert st.surge[ci, 0] == pytest.approx(3.0)  # last period x3 the median: a shock in progress
    assert st.surge[[i for i in range(sc.n_cells) if i != ci]].max() == pytest.approx(1.0)
    assert st.ran_q_mbit[ci, 0] == pytest.approx(10.0 * 0.1)  # 10 Mbit/s x (108 - 8) ms above the base delay
    assert st.util0[ci] == pytest.approx(60.0 / sc.cells[ci].n_prb)
    with pytest.raises(ValidationError):
        infer_state(sc, [])
    mm = mean_multiplier(sc, ShockRegime.parse("hotspot-ID"))
    hot = infer_state(sc, [report(5.0, 8.0, 30.0)] * 5, mm)
    assert mm[ci, 1] > 1.5  # the hospital's URLLC runs well above its base under hotspots
    assert hot.base_mbps[ci, 1] == pytest.approx(5.0 / mm[ci, 1])  # what KPM shows = base x the mean shock
    assert hot.surge[ci, 1] == pytest.approx(mm[ci, 1])  # ... so a typical period is the mean surge
    np.testing.assert_array_equal(mean_multiplier(sc, ShockRegime.parse("none")), 1.0)


def test_a_link_that_is_down_stays_down_for_a_repair_time(context: EmulatorLoop) -> None:
    loop, sc = context, context.emu.sc
    down = np.ones(sc.n_links, dtype=bool)
    li = loop.link_ids.index("H-HUB")
    down[li] = False
    twin = DigitalTwin.from_observations(sc, loop.reports[-6:], ShockRegime.parse("none"), down, seed=5)
    batch = plans_to_batch([ControlPlan()], loop.cell_keys, loop.link_ids, slice_defaults(loop.emu), 0)
    res = rollout_policies(twin, infer_state(sc, loop.reports[-6:]), batch, default_laws(loop.emu), loop.state(),
                           n_seeds=8, seed=1, horizon=1)
    hosp = [i for i, c in enumerate(sc.cells) if c.cell_id in (6, 9)]
    # with the hospital uplink down the hospital's traffic takes the detour from the first sub-step: the first slow
    # step still delivers (the ring link), i.e. the twin neither drops it all nor repairs the link at once
    assert res.cell_thp[0, :, 0, hosp].sum() > 0


def test_policies_are_validated(context: EmulatorLoop) -> None:
    loop, sc = context, context.emu.sc
    batch = plans_to_batch([ControlPlan()], loop.cell_keys, loop.link_ids, slice_defaults(loop.emu), 0)
    bad = take(batch, [0])
    bad.prb_lower[0, 0, 0] = 250.0
    with pytest.raises(ValidationError, match="prb_lower"):
        rollout_policies(_twin(loop), infer_state(sc, loop.reports[-6:]), bad, default_laws(loop.emu), loop.state(),
                         n_seeds=1, seed=0, horizon=1)


def test_the_twin_tracks_the_emulator_on_one_context(context: EmulatorLoop) -> None:
    """The status quo and a static split, each on a copy of the emulator vs the twin's 90 % intervals: the static
    split is worse on both, and the emulator's SCM of each lies inside the twin's interval."""
    loop, sc = context, context.emu.sc
    truth = []
    for laws in (True, False):
        run = loop.fork()
        run.slice_law = run.transport_law = laws
        start = run.emu.step_index
        run.run(sc.timing.slow_per_horizon * sc.timing.fast_per_slow)
        truth.append(float(run.emu.kpis_since(start).scm[0]))
    batch = plans_to_batch([ControlPlan(), ControlPlan()], loop.cell_keys, loop.link_ids, slice_defaults(loop.emu),
                           0, [True, False], [True, False])
    twin = _twin(loop, 17)
    state = infer_state(sc, loop.reports[-8:], mean_multiplier(sc, twin.regime))
    res = rollout_policies(twin, state, batch, default_laws(loop.emu), loop.state(), n_seeds=16, seed=4)
    assert truth[0] > truth[1]
    assert res.scm[0].mean() > res.scm[1].mean()
    for i, t in enumerate(truth):
        lo, hi = np.quantile(res.scm[i], [0.05, 0.95])
        assert lo - 0.05 <= t <= hi + 0.05, (i, t, lo, hi)

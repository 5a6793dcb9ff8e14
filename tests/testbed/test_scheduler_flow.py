"""Scheduler ratio semantics, PRB capacity and traffic conservation (property tests)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nextric.errors import ValidationError
from testbed.core.flow import flow_step, initial_flow, link_capacity
from testbed.core.params import ScenarioParams
from testbed.core.scenario import city_arrays, router_of
from testbed.core.scheduler import allocate_prbs, shares_to_ratios, validate_ratios


@st.composite
def ratios(draw: st.DrawFn, n_s: int = 3) -> np.ndarray:
    mins = np.array(draw(st.lists(st.floats(0, 100), min_size=n_s, max_size=n_s)))
    if mins.sum() > 100:
        mins = mins * 100 / mins.sum() * 0.999
    ded = mins * np.array(draw(st.lists(st.floats(0, 1), min_size=n_s, max_size=n_s)))
    mx = mins + (100 - mins) * np.array(draw(st.lists(st.floats(0, 1), min_size=n_s, max_size=n_s)))
    return np.stack([ded, mins, mx], axis=-1)


@settings(max_examples=60, deadline=None)
@given(r=ratios(), demand=st.lists(st.floats(0, 400), min_size=3, max_size=3), n=st.sampled_from([24, 51, 106, 273]))
def test_allocation_invariants(r: np.ndarray, demand: list[float], n: int) -> None:
    d = np.array(demand)[None]
    a = allocate_prbs(d, np.array([float(n)]), r[None])[0]
    assert (a >= -1e-9).all()
    assert a.sum() <= n + 1e-6  # never exceed capacity
    assert (a <= d[0] + 1e-6).all()  # never more than needed
    assert (a <= r[:, 2] / 100 * n + 1e-6).all()  # max ratio honoured
    # min ratio guaranteed to a slice that needs it
    need = d[0] >= r[:, 1] / 100 * n
    assert (a[need] >= r[need, 1] / 100 * n - 1e-6).all()


def test_dedicated_is_not_shared() -> None:
    n = np.array([100.0])
    r = np.array([[[50, 50, 100], [0, 0, 100], [0, 0, 100]]], dtype=float)
    a = allocate_prbs(np.array([[0.0, 200.0, 0.0]]), n, r)
    assert a[0, 1] == pytest.approx(50.0)  # slice 0's dedicated half stays idle
    r2 = r.copy()
    r2[0, 0] = [0, 50, 100]  # same as min (prioritised): unused part is shared
    a2 = allocate_prbs(np.array([[0.0, 200.0, 0.0]]), n, r2)
    assert a2[0, 1] == pytest.approx(100.0)


def test_ratio_validation() -> None:
    validate_ratios(shares_to_ratios(np.full((10, 3), 1 / 3)))
    with pytest.raises(ValidationError, match="sum of min"):
        validate_ratios(np.array([[[0, 60, 100], [0, 50, 100], [0, 0, 100]]], dtype=float))
    with pytest.raises(ValidationError, match="dedicated ratio must be <= min"):
        validate_ratios(np.array([[[20, 10, 100]]], dtype=float))
    with pytest.raises(ValidationError, match="min ratio must be <= max"):
        validate_ratios(np.array([[[0, 50, 40]]], dtype=float))


@pytest.mark.parametrize("sharing", ["partitioned", "work_conserving"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), fail=st.lists(st.booleans(), min_size=10, max_size=10))
def test_flow_conservation_with_reroutes(city: ScenarioParams, sharing: str, seed: int, fail: list[bool]) -> None:
    rng = np.random.default_rng(seed)
    arr = dataclasses.replace(city_arrays(city), tn_work_conserving=sharing == "work_conserving")
    router = router_of(city, arr)
    b, c, s, n_l = 2, city.n_cells, city.n_slices, city.n_links
    up = np.stack([np.ones(n_l, bool), ~np.array(fail)])
    paths, reach = router.paths(up)
    assert not (paths & ~up[:, None, :]).any()  # traffic only on up links
    fs = initial_flow(b, c, s)
    shares = rng.dirichlet(np.ones(s), size=(b, c)) * rng.uniform(0.5, 1.0, (b, c, 1))
    tn = rng.dirichlet(np.ones(s), size=(b, n_l))
    for _ in range(5):
        arrivals = rng.uniform(0, 80, (b, c, s))
        mpp = rng.uniform(0.1, 3.0, (b, c, s))
        new, out = flow_step(fs, arr, 1.0, arrivals, mpp, shares_to_ratios(shares), tn, up, paths, reach, 8000.0)
        ran = arrivals + fs.ran_q - out.served - out.drop_ran - new.ran_q
        tnb = out.served + fs.tn_q - out.delivered - out.drop_tn - new.tn_q
        assert np.abs(ran).max() < 1e-8
        assert np.abs(tnb).max() < 1e-8
        assert (new.ran_q >= 0).all()
        assert (new.tn_q >= 0).all()
        assert (out.alloc_prb.sum(-1) <= arr.n_prb + 1e-6).all()
        assert (out.link_carried <= out.link_cap + 1e-6).all()
        # no link carries more than its capacity, whatever the sharing
        total = arr.link_cap_mbps[None] * up
        assert (out.link_carried.sum(-1) <= total + 1e-6).all()
        fs = new


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 100_000), levels=st.lists(st.integers(1, 3), min_size=3, max_size=3))
def test_work_conserving_link_sharing(seed: int, levels: list[int]) -> None:
    """Work-conserving transport: a slice gets at least min(load, guarantee), never more than its load; the link
    carries min(total load, capacity); a higher priority level is served before a lower one gets any excess."""
    rng = np.random.default_rng(seed)
    load = rng.uniform(0, 100, (2, 4, 3)) * (rng.random((2, 4, 3)) < 0.8)
    total = rng.uniform(10, 200, (2, 4))
    guaranteed = rng.dirichlet(np.ones(3), size=(2, 4)) * rng.uniform(0.5, 1.0, (2, 4, 1)) * total[..., None]
    prio = np.array(levels)
    got, cap, rate = link_capacity(load, guaranteed, total, prio, True)
    assert (got >= np.minimum(load, guaranteed) - 1e-9).all()
    assert (got <= load + 1e-9).all()
    assert np.allclose(got.sum(-1), np.minimum(load.sum(-1), np.maximum(total, guaranteed.sum(-1))))
    assert np.allclose(cap.sum(-1), np.maximum(total, got.sum(-1)))
    assert (rate >= got - 1e-9).all()
    top = prio == prio.min()  # the highest level's queue sees the whole link, shared by what its slices got
    assert np.allclose(rate[..., top].sum(-1), np.maximum(total, got[..., top].sum(-1)))
    for hi in set(levels):
        for lo in set(levels):
            if hi < lo:  # a lower level got excess only where every higher-level slice is fully served
                lo_extra = (got - np.minimum(load, guaranteed))[..., prio == lo].sum(-1) > 1e-9
                hi_short = (load - got)[..., prio == hi].sum(-1) > 1e-9
                assert not (lo_extra & hi_short).any()
    part, part_cap, part_rate = link_capacity(load, guaranteed, total, prio, False)
    assert part is guaranteed
    assert part_cap is guaranteed
    assert part_rate is guaranteed


def test_idle_transport_share_is_lent_only_when_work_conserving() -> None:
    load = np.array([[[90.0, 0.0, 10.0]]])
    guaranteed = np.array([[[30.0, 40.0, 30.0]]])
    total = np.array([[100.0]])
    got, _, rate = link_capacity(load, guaranteed, total, np.array([2, 1, 2]), True)
    assert got.tolist() == [[[90.0, 0.0, 10.0]]]
    # the idle priority slice would see the whole link; the two below share it as they got it
    assert rate.tolist() == [[[90.0, 100.0, 10.0]]]
    got, _, _ = link_capacity(load, guaranteed, total, np.array([2, 1, 2]), False)
    assert got.tolist() == guaranteed.tolist()


def test_a_priority_slice_keeps_a_short_tail_on_a_saturated_link() -> None:
    """Strict priority on a saturated link: the URLLC queue is served at the link's rate, not at its own load."""
    load = np.array([[[400.0, 20.0, 300.0]]])
    guaranteed = np.array([[[40.0, 20.0, 40.0]]])
    got, _, rate = link_capacity(load, guaranteed, np.array([[100.0]]), np.array([2, 1, 2]), True)
    assert got[0, 0, 1] == 20.0
    assert rate[0, 0, 1] == 100.0
    assert got[0, 0, [0, 2]].sum() == pytest.approx(80.0)


def test_reroute_when_primary_uplink_fails(city: ScenarioParams) -> None:
    arr = city_arrays(city)
    router = router_of(city, arr)
    names = [ln.name for ln in city.transport.links]
    up = np.ones((1, city.n_links), bool)
    p0, _ = router.paths(up)
    cell4 = 3
    assert p0[0, cell4, names.index("C-HUB")]
    up[0, names.index("C-HUB")] = False
    p1, r1 = router.paths(up)
    assert r1[0, cell4]
    assert not p1[0, cell4, names.index("C-HUB")]
    assert p1[0, cell4, names.index("C-NE")]
    assert p1[0, cell4, names.index("NE-HUB")]

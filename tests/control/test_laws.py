"""The batched control laws (nextric/control) against the scalar ones they replaced, and their own properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nextric.control import slices, transport
from tests.control import reference_slices as ref_s
from tests.control import reference_transport as ref_t

KEYS = ("1-000001", "2-000002", "1-000003")
SLAS = {"1-000001": (0.25, None, 1), "2-000002": (0.10, 20.0, 100), "1-000003": (0.20, None, 0)}

rate = st.floats(0.0, 400.0, allow_nan=False)
frac = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def cell_case(draw: st.DrawFn) -> tuple[list[tuple[float, ...]], float, dict[str, int] | None,
                                        dict[str, tuple[int, int, int, float | None]], dict[str, float | None]]:
    obs: list[tuple[float, ...]] = []
    for _ in KEYS:
        offered = draw(rate)
        thp = draw(st.floats(0.0, max(offered, 1e-3)))
        obs.append((offered, thp, draw(st.floats(0.0, 106.0)), draw(frac), draw(st.floats(0.0, 600.0))))
    n_prb = draw(st.sampled_from([25.0, 51.0, 106.0, 273.0]))
    prev = None
    if draw(st.booleans()):
        mins = [draw(st.integers(0, 60)) for _ in KEYS]
        prev = dict(zip(KEYS, mins, strict=True)) if sum(mins) <= 100 else None
    plan: dict[str, tuple[int, int, int, float | None]] = {}
    for k in KEYS:
        if draw(st.booleans()):
            lo = draw(st.integers(0, 40))
            hi = draw(st.integers(lo, 100))
            plan[k] = (lo, hi, draw(st.integers(hi, 100)), draw(st.none() | st.floats(0.0, 90.0)))
    gua = {k: draw(st.none() | st.floats(0.0, 100.0)) for k in KEYS}
    return obs, n_prb, prev, plan, gua


@settings(max_examples=400, deadline=None, derandomize=True)
@given(cell_case())
def test_slice_law_reproduces_the_scalar_allocator(case: tuple) -> None:  # type: ignore[type-arg]
    obs, n_prb, prev, plan, gua = case
    new_obs = [slices.SliceObservation(k, *o) for k, o in zip(KEYS, obs, strict=True)]
    old_obs = [ref_s.SliceObservation(k, *o) for k, o in zip(KEYS, obs, strict=True)]
    new_sla = {k: slices.SliceSla(k, v[0], v[1], v[2], gua[k]) for k, v in SLAS.items()}
    old_sla = {k: ref_s.SliceSla(k, v[0], v[1], v[2], gua[k]) for k, v in SLAS.items()}
    new_plan = {k: slices.PlanBounds(*b) for k, b in plan.items()}
    old_plan = {k: ref_s.PlanBounds(*b) for k, b in plan.items()}
    got = slices.allocate(new_obs, new_sla, n_prb, prev, None, new_plan)
    want = ref_s.allocate(old_obs, old_sla, n_prb, prev, None, old_plan)
    assert got == want


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(rate, min_size=3, max_size=3), st.floats(50.0, 400.0),
       st.none() | st.lists(st.floats(0.0, 0.5), min_size=3, max_size=3))
def test_transport_law_reproduces_the_scalar_one(offered: list[float], cap: float, prev: list[float] | None) -> None:
    params_new = transport.sla_params([(k, v[0], v[1]) for k, v in SLAS.items()])
    params_old = ref_t.TransportParams(margin=dict(params_new.margin), priority=list(params_new.priority))
    off = dict(zip(KEYS, offered, strict=True))
    previous = None if prev is None else dict(zip(KEYS, prev, strict=True))
    assert transport.link_shares(off, cap, params_new, previous) == ref_t.link_shares(off, cap, params_old, previous)


def test_batch_equals_one_cell_at_a_time() -> None:
    """allocate_batch over many cells = allocate per cell (the twin and the xApp run the same decisions)."""
    rng = np.random.default_rng(3)
    b = 64
    offered = rng.uniform(0, 120, (b, 3))
    kpm = slices.SliceKpm(offered, offered * rng.uniform(0.3, 1.0, (b, 3)), rng.uniform(0, 40, (b, 3)),
                          rng.uniform(0, 0.5, (b, 3)), rng.uniform(1, 400, (b, 3)), np.full(b, 51.0))
    sla = {k: slices.SliceSla(k, v[0], v[1], v[2]) for k, v in SLAS.items()}
    _, t1 = slices.cell_arrays([slices.SliceObservation(k, 1, 1, 1, 0, 1) for k in KEYS], sla, 51.0)
    prev = rng.integers(5, 33, (b, 3)).astype(np.float64)
    got = slices.allocate_batch(kpm, t1, prev, slices.AllocatorParams())
    for i in range(b):
        obs = [slices.SliceObservation(k, *(float(getattr(kpm, f)[i, j]) for f in
                                            ("offered_mbps", "throughput_mbps", "prb_used", "loss", "p99_ms")))
               for j, k in enumerate(KEYS)]
        one = slices.allocate(obs, sla, 51.0, {k: int(prev[i, j]) for j, k in enumerate(KEYS)})
        assert [one[k] for k in KEYS] == [tuple(int(x) for x in got[i, j]) for j in range(3)]


def test_ratios_are_valid_ts28541() -> None:
    rng = np.random.default_rng(5)
    b = 500
    offered = rng.uniform(0, 300, (b, 3))
    kpm = slices.SliceKpm(offered, offered * rng.uniform(0, 1, (b, 3)), rng.uniform(0, 51, (b, 3)),
                          rng.uniform(0, 1, (b, 3)), rng.uniform(0, 600, (b, 3)), np.full(b, 51.0))
    sla = {k: slices.SliceSla(k, v[0], v[1], v[2]) for k, v in SLAS.items()}
    _, t = slices.cell_arrays([slices.SliceObservation(k, 1, 1, 1, 0, 1) for k in KEYS], sla, 51.0)
    r = slices.allocate_batch(kpm, t, rng.integers(0, 34, (b, 3)).astype(np.float64), slices.AllocatorParams())
    assert (r >= 0).all()
    assert (r <= 100).all()
    assert (r[..., 0] <= r[..., 1]).all()
    assert (r[..., 1] <= r[..., 2]).all()
    assert (r[..., 1].sum(-1) <= 100).all()
    assert (r[..., 0].sum(-1) <= 100).all()


def test_transport_plan_floor_holds_under_contention() -> None:
    """A plan's lower bound on a link is the slice's floor when the link is short: the law keeps it."""
    params = transport.sla_params([(k, v[0], v[1]) for k, v in SLAS.items()])
    offered = {"1-000001": 300.0, "2-000002": 60.0, "1-000003": 200.0}
    free = transport.link_shares(offered, 220.0, params)
    planned = transport.link_shares(offered, 220.0, params, bounds={"1-000001": transport.ShareBounds(lower=0.4)})
    assert free["1-000001"] < 0.4 <= planned["1-000001"]
    assert sum(planned.values()) <= 1.0
    capped = transport.link_shares({"1-000001": 10.0, "2-000002": 10.0, "1-000003": 10.0}, 220.0, params,
                                   bounds={"1-000003": transport.ShareBounds(upper=0.1)})
    assert capped["1-000003"] <= 0.1


def test_down_link_keeps_its_shares() -> None:
    params = transport.sla_params([(k, v[0], v[1]) for k, v in SLAS.items()])
    prev = np.array([[[0.2, 0.5, 0.3], [0.3, 0.3, 0.3]]])
    out = transport.link_shares_batch(np.full((1, 2, 3), 50.0), np.array([[200.0, 200.0]]), KEYS, params, prev,
                                      up=np.array([[False, True]]))
    assert np.allclose(out[0, 0], prev[0, 0], atol=1e-6)
    assert not np.allclose(out[0, 1], prev[0, 1], atol=1e-3)

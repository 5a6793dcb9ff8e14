"""The sparse path index of the transport model (issue 20: flow cost linear in path links) gives exactly the
dense masks' results: every failure pattern of the PoC city, work-conserving and partitioned sharing, cells cut
off from the hub included, and random incidence with many cells per link and long paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testbed.core.flow import PathIndex, StepOut, flow_step, initial_flow
from testbed.core.params import CityArrays, ScenarioParams
from testbed.core.scenario import city_arrays, router_of
from testbed.core.scheduler import shares_to_ratios


def _both(arr: CityArrays, paths: np.ndarray, reach: np.ndarray, up: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c, n_l = paths.shape
    s = len(arr.slice_discard_s)
    fs_d = fs_s = initial_flow(1, c, s)
    shares = rng.dirichlet(np.ones(s), size=(1, c)) * rng.uniform(0.5, 1.0, (1, c, 1))
    tn = rng.dirichlet(np.ones(s), size=(1, n_l))
    index = PathIndex.of(paths, arr.link_delay_ms, s)
    for _ in range(4):
        arrivals = rng.uniform(0, 200, (1, c, s))
        mpp = rng.uniform(0.05, 3.0, (1, c, s))
        args = (arr, 1.0, arrivals, mpp, shares_to_ratios(shares), tn, up[None])
        fs_d, out_d = flow_step(fs_d, *args, paths[None], reach[None], 8000.0)
        fs_s, out_s = flow_step(fs_s, *args, index, reach[None], 8000.0)
        for f in dataclasses.fields(StepOut):
            np.testing.assert_array_equal(getattr(out_s, f.name), getattr(out_d, f.name), err_msg=f.name)
        for a, b in ((fs_s.ran_q, fs_d.ran_q), (fs_s.tn_q, fs_d.tn_q), (fs_s.prb_util, fs_d.prb_util)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sharing", ["partitioned", "work_conserving"])
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), fail=st.lists(st.booleans(), min_size=10, max_size=10))
def test_sparse_paths_equal_dense_masks(city: ScenarioParams, sharing: str, seed: int, fail: list[bool]) -> None:
    arr = dataclasses.replace(city_arrays(city), tn_work_conserving=sharing == "work_conserving")
    up = ~np.array(fail)
    paths, reach = router_of(city, arr).paths(up[None])
    _both(arr, paths[0], reach[0], up, seed)


def test_sparse_paths_equal_dense_masks_on_random_incidence(city: ScenarioParams) -> None:
    arr = city_arrays(city)
    rng = np.random.default_rng(3)
    c, n_l = city.n_cells, city.n_links
    for density in (0.05, 0.3, 0.9):  # a few cells without any link, up to long shared paths
        paths = rng.random((c, n_l)) < density
        arr_r = dataclasses.replace(arr, link_delay_ms=rng.uniform(0.1, 3.0, n_l))
        _both(arr_r, paths, np.asarray(paths.any(1)), np.ones(n_l, bool), int(density * 100))


def test_path_index_layout() -> None:
    paths = np.zeros((4, 3), bool)
    paths[0, [0, 2]] = True
    paths[2, 1] = True
    paths[3, [0, 1, 2]] = True
    ix = PathIndex.of(paths, np.array([1.0, 2.0, 4.0]), 2)
    assert ix.has_path.tolist() == [True, False, True, True]
    assert ix.cell_start.tolist() == [0, 2, 3]
    assert ix.link.tolist() == [0, 2, 1, 0, 1, 2]
    assert ix.by_link_cell.tolist() == [0, 3, 2, 3, 0, 3]
    assert ix.hop_s[0, :, 0].tolist() == pytest.approx([5e-3, 0.0, 2e-3, 7e-3])
    v = np.arange(6, dtype=float).reshape(1, 3, 2)
    assert ix.path_min(v)[0].tolist() == [[0, 1], [np.inf, np.inf], [2, 3], [0, 1]]
    x = np.ones((1, 4, 2))
    assert ix.link_sum(x)[0].tolist() == [[2, 2], [2, 2], [2, 2]]

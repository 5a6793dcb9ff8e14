"""nextric.parallel: every backend returns what the serial run returns, in input order, on a real twin sweep and on
real world-model data generation; a worker's error comes back naming the item. One Ray instance for the module
(its start-up takes seconds)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from bench.twin_sweep import serial_sweep, sweep_setup, twin_sweep
from nextric.errors import ConfigError
from nextric.parallel import ParallelSettings, ParallelTaskError, WorkerPool, parallel_map, split
from rapps.intent_agent.worldmodels.datagen import DataConfig, generate, generate_on
from suite.trainers.worldmodels import training_network

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_pool() -> Iterator[WorkerPool]:
    with WorkerPool(ParallelSettings("ray", 2)) as pool:
        yield pool


@pytest.fixture(scope="module")
def process_pool() -> Iterator[WorkerPool]:
    with WorkerPool(ParallelSettings("process", 2)) as pool:
        yield pool


@pytest.fixture(params=["serial", "process", "ray"])
def pool(request: pytest.FixtureRequest) -> Iterator[WorkerPool]:
    if request.param == "serial":
        with WorkerPool(ParallelSettings()) as p:
            yield p
    else:
        yield request.getfixturevalue(f"{request.param}_pool")


def test_split_keeps_order_and_sizes() -> None:
    assert split(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split([1, 2], 5) == [[1], [2]]
    assert split([], 2) == []
    with pytest.raises(ValueError, match="n_chunks"):
        split([1], 0)


def test_settings_take_the_cluster_from_the_given_environment() -> None:
    assert ParallelSettings.of("ray", 2, {"RAY_ADDRESS": "ray://10.0.0.5:10001"}).address == "ray://10.0.0.5:10001"
    assert ParallelSettings.of("ray", 2, {}).address is None
    assert ParallelSettings.of("process", 2, {"RAY_ADDRESS": "x:1"}).address is None
    with pytest.raises(ConfigError, match="choose one of serial, process, ray"):
        ParallelSettings.of("dask", 2)
    with pytest.raises(ConfigError, match="workers"):
        ParallelSettings("process", 0)


def test_map_returns_results_in_input_order(pool: WorkerPool) -> None:
    xs = [float(x) for x in range(40, 0, -1)]
    assert pool.map(math.sqrt, xs) == [math.sqrt(x) for x in xs]
    assert pool.starmap(pow, [(2, 10), (3, 3), (5, 0)]) == [1024, 27, 1]


def test_a_workers_error_names_the_item_and_keeps_its_cause(pool: WorkerPool) -> None:
    with pytest.raises(ParallelTaskError, match=r"item 1 of 3 \(math\.sqrt\) failed: ValueError: math domain error"
                       ) as info:
        pool.map(math.sqrt, [4.0, -1.0, 9.0])
    assert info.value.index == 1
    assert isinstance(info.value.__cause__, ValueError)
    assert pool.map(math.sqrt, [16.0]) == [4.0]  # the pool still works after a failure


def test_map_outside_its_block_is_refused() -> None:
    p = WorkerPool(ParallelSettings("process", 2))
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        p.map(math.sqrt, [1.0])
    assert parallel_map(math.sqrt, [1.0, 4.0], ParallelSettings("process", 2)) == [1.0, 2.0]


def test_twin_sweep_on_workers_is_bit_identical_to_the_serial_run(pool: WorkerPool) -> None:
    twin, prb, tn = sweep_setup(5)
    ref = serial_sweep(twin, prb, tn, [0, 1], 1)
    got, items = twin_sweep(twin, prb, tn, [0, 1], 1, pool, chunk=2)
    assert len(items) == 6  # 2 groups x chunks of 2, 2, 1 candidates
    assert got.scm.shape == (2, 5, 1)
    assert got.identical(ref)
    assert not np.array_equal(got.loss[0], got.loss[1]), "seed groups must differ (else the check proves little)"
    assert not np.array_equal(got.loss[0, 0], got.loss[0, 1]), "so must candidates"


@pytest.fixture(scope="module")
def datagen_ref() -> dict[str, np.ndarray]:
    return generate(training_network("twm_poc"), (91_000, 91_001), DataConfig(n_candidates=3, n_twin_seeds=1))


def test_datagen_on_workers_gives_the_serial_arrays(pool: WorkerPool, datagen_ref: dict[str, np.ndarray]) -> None:
    cfg = DataConfig(n_candidates=3, n_twin_seeds=1)
    net = training_network("twm_poc")
    assert net.rebuild is not None
    # the second chunk's network first makes the first seed's observation again (SeedChunk): without it, its rows
    # would differ (the testbed's observation source keeps the NMSE table of its first warm-up)
    got = generate_on(pool, net.rebuild, (91_000, 91_001), cfg, chunks=2)
    assert got.keys() == datagen_ref.keys()
    for k, v in datagen_ref.items():
        assert got[k].dtype == v.dtype
        np.testing.assert_array_equal(got[k], v, err_msg=k)

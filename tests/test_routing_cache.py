"""The router's per-failure-pattern cache is bounded (least recently used dropped) and never changes a result."""

from __future__ import annotations

import numpy as np

from nextric.routing import Router


def ring(n: int) -> Router:
    """Nodes 0..n-1, hub 0; links i -> i-1 and i -> i+1 (mod n); one cell per node."""
    src = np.array([i for i in range(n)] * 2, dtype=np.int64)
    dst = np.array([(i - 1) % n for i in range(n)] + [(i + 1) % n for i in range(n)], dtype=np.int64)
    return Router(n, 0, src, dst, np.ones(2 * n), np.arange(n, dtype=np.int64), max_patterns=4)


def test_cache_is_bounded_and_results_match_an_unbounded_router() -> None:
    bounded, fresh = ring(8), ring(8)
    rng = np.random.default_rng(0)
    for _ in range(50):
        up = rng.random((1, 16)) > 0.2
        p, r = bounded.paths(up)
        fresh_router = Router(fresh.n_nodes, fresh.hub, fresh.link_src, fresh.link_dst, fresh.link_delay_ms,
                              fresh.cell_agg)
        q, s = fresh_router.paths(up)
        np.testing.assert_array_equal(p, q)
        np.testing.assert_array_equal(r, s)
        assert len(bounded._cache) <= 4


def test_recently_used_pattern_stays() -> None:
    rt = ring(6)
    all_up = np.ones(12, dtype=bool)
    rt.paths(all_up[None])
    for k in range(10):
        up = all_up.copy()
        up[k] = False
        rt.paths(up[None])
        rt.paths(all_up[None])  # used again: never the oldest
    assert np.packbits(all_up).tobytes() in rt._cache

"""The benchmarks' timing rules: at least three repeats, median and spread, interleaved windows, a warning when
the system fell behind the offered load."""

from __future__ import annotations

import time

import pytest

from bench.timing import Spread, interleaved, offered_vs_achieved, timed


def test_spread_orders_and_counts() -> None:
    s = Spread.of([3.0, 1.0, 2.0, 10.0])
    assert (s.n, s.min, s.max, s.median) == (4, 1.0, 10.0, 2.5)
    assert s.q1 <= s.median <= s.q3
    with pytest.raises(ValueError, match="no samples"):
        Spread.of([])


def test_timed_refuses_fewer_than_three_repeats_and_runs_warmup() -> None:
    calls: list[int] = []
    with pytest.raises(ValueError, match="repeats"):
        timed(lambda: calls.append(1), repeats=2)
    t = timed(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5
    assert t.wall_s.n == 3
    assert t.utilisation >= 0.0


def test_interleaved_alternates_windows_and_ratios_per_pair() -> None:
    order: list[str] = []

    def slow() -> None:
        order.append("b")
        time.sleep(0.02)

    a, b, ratio = interleaved(lambda: order.append("a"), slow, repeats=3, warmup=1)
    assert order == ["a", "b"] * 4
    assert ratio.n == 3
    assert ratio.min > 1.0
    assert b.wall_s.median > a.wall_s.median
    # sleeping costs wall time, not CPU
    assert b.cpu_s.median < b.wall_s.median


def test_rate_warns_only_when_behind() -> None:
    ok = offered_vs_achieved(1000.0, 990.0)
    assert ok.kept_up
    assert ok.warning is None
    behind = offered_vs_achieved(1000.0, 297.0)
    assert not behind.kept_up
    assert behind.warning is not None
    assert "297.0/s of 1000.0/s" in behind.warning

"""Small statistics shared by the apps and the benchmarks: Student-t intervals of a mean (pure, no SciPy)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: two-sided Student-t quantiles t_{1-a/2, df} for df = 1..30 (standard table values); larger df use the normal
T_TABLE = {
    0.90: (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753,
           1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697),
    0.95: (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
           2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
}
NORMAL = {0.90: 1.645, 0.95: 1.960}


def t_quantile(df: float, level: float = 0.90) -> float:
    """Two-sided quantile of Student's t, ``df`` degrees of freedom (rounded down), ``level`` 0.90 or 0.95."""
    table = T_TABLE[level]
    d = math.floor(df)
    if d < 1:
        return math.inf
    return table[d - 1] if d <= len(table) else NORMAL[level]


@dataclass(frozen=True)
class Interval:
    mean: float
    lo: float
    hi: float
    n: int = 0

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi, "n": self.n}

    @property
    def excludes_zero(self) -> bool:
        return self.lo > 0 or self.hi < 0


def lower_tail_mean(x: np.ndarray, frac: float = 0.5) -> np.ndarray:
    """Mean of the lowest ``ceil(frac * n)`` (at least one) values along the last axis: CVaR of a score whose low
    values are the risk (e.g. SCM over twin seeds or futures)."""
    n = max(1, int(np.ceil(frac * x.shape[-1])))
    return np.asarray(np.sort(x, axis=-1)[..., :n].mean(-1))


def mean_interval(x: Sequence[float] | np.ndarray, level: float = 0.90) -> Interval:
    """Mean of ``x`` with its two-sided t-interval (one value: the value itself, no spread)."""
    a = np.asarray(x, dtype=np.float64)
    m = len(a)
    if m == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mu = float(a.mean())
    if m < 2:
        return Interval(mu, mu, mu, m)
    half = t_quantile(m - 1, level) * float(a.std(ddof=1)) / math.sqrt(m)
    return Interval(mu, mu - half, mu + half, m)


def welch_interval(before: Sequence[float], after: Sequence[float], level: float = 0.90) -> Interval:
    """mean(after) - mean(before) with the Welch t-interval (degenerate with fewer than 2 values on a side)."""
    a, b = np.asarray(after, dtype=np.float64), np.asarray(before, dtype=np.float64)
    d = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Interval(d, d, d, len(a) + len(b))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(d, d, d, len(a) + len(b))
    df = (va + vb) ** 2 / ((va**2 / (len(a) - 1)) + (vb**2 / (len(b) - 1)))
    half = t_quantile(df, level) * se
    return Interval(d, d - half, d + half, len(a) + len(b))

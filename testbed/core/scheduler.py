"""Per-cell PRB scheduler honouring TS 28.541 RRMPolicyRatio (dedicated / min / max), batched.

Semantics (all three ratios, percent of the cell's PRBs ``N``; srsRAN applies only min/max):

1. **dedicated** ``D_s = ded_s N``: reserved for slice ``s`` only; what it leaves unused stays idle.
2. **min** (prioritised) ``M_s = min_s N >= D_s``: slice ``s`` gets up to ``M_s - D_s`` more with
   priority; what it leaves unused joins the shared pool.
3. **max** ``X_s = max_s N``: upper bound on all PRBs given to ``s``.
4. The shared pool ``N - sum_s D_s - sum_s u2_s`` (``u2`` = prioritised PRBs actually used) is split among
   slices with remaining demand, capped by ``X_s``, proportionally to that capped demand
   (``a_s = pool r_s / sum r`` when the pool is short, else ``r_s``).

PRB counts are averages over a fast sub-step (fractional). Invariants (tested): ``0 <= alloc_s <=
demand_s``, ``alloc_s <= X_s``, ``sum_s alloc_s <= N``; a slice with ``demand_s >= M_s`` gets ``>= M_s``.
"""

from __future__ import annotations

import numpy as np

from nextric.errors import ValidationError
from testbed.core.types import FloatArray


def validate_ratios(ratio_pct: FloatArray, where: str = "RRMPolicyRatio") -> None:
    """Check (..., S, 3) percent ratios (ded, min, max): in [0, 100], ded <= min <= max,
    sum of min and of dedicated over slices <= 100. Raises :class:`ValidationError` naming the index."""
    r = np.asarray(ratio_pct, dtype=np.float64)
    if r.shape[-1] != 3:
        raise ValidationError(f"{where}: last axis must hold (dedicated, min, max), got shape {r.shape}")
    tol = 1e-6
    checks = (
        (~np.isfinite(r), "ratios must be finite"),
        ((r < -tol) | (r > 100 + tol), "ratios must be within 0..100 percent"),
        (r[..., 0] > r[..., 1] + tol, "dedicated ratio must be <= min ratio"),
        (r[..., 1] > r[..., 2] + tol, "min ratio must be <= max ratio"),
    )
    for bad, msg in checks:
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValidationError(f"{where}: {msg} (at index {idx}: {r[idx[:-1] if bad.ndim == r.ndim else idx]})")
    for k, name in ((1, "min"), (0, "dedicated")):
        tot = r[..., k].sum(axis=-1)
        if (tot > 100 + tol).any():
            idx = tuple(int(i) for i in np.argwhere(tot > 100 + tol)[0])
            raise ValidationError(f"{where}: sum of {name} ratios over slices is {float(tot[idx]):.2f} > 100 "
                                  f"(TS 28.541) at cell index {idx}")


def allocate_prbs(demand_prb: FloatArray, n_prb: FloatArray, ratio_pct: FloatArray) -> FloatArray:
    """PRBs granted per slice.

    demand_prb: (..., C, S) float64 PRBs each slice could use this sub-step (>= 0).
    n_prb: (C,) float64 PRBs of each cell. ratio_pct: (..., C, S, 3) float64 percent (ded, min, max),
    assumed valid (see :func:`validate_ratios`). Returns (..., C, S) float64 PRBs.
    """
    d = np.maximum(demand_prb, 0.0)
    frac = ratio_pct * (1.0 / 100.0)
    n = n_prb[:, None]
    ded = frac[..., 0] * n
    mn = np.maximum(frac[..., 1], frac[..., 0]) * n
    mx = np.maximum(frac[..., 2], frac[..., 1]) * n
    u1 = np.minimum(d, ded)
    u2 = np.minimum(d - u1, mn - ded)
    pool = np.maximum(n - ded.sum(-1, keepdims=True) - u2.sum(-1, keepdims=True), 0.0)
    rem = np.maximum(np.minimum(d - u1 - u2, mx - u1 - u2), 0.0)
    tot = rem.sum(-1, keepdims=True)
    scale = np.where(tot > pool, pool / np.maximum(tot, 1e-12), 1.0)
    return np.asarray(u1 + u2 + rem * scale, dtype=np.float64)


def plan_ratios(plan_shares: str, shares: FloatArray) -> FloatArray:
    """A plan's PRB shares (..., C, S) as ratios under the scenario's ``plan_shares`` (``isolated`` |
    ``guaranteed``; see :class:`testbed.core.params.ScenarioParams`)."""
    return shares_to_ratios(shares, "shared" if plan_shares == "guaranteed" else "isolated")


def shares_to_ratios(shares: FloatArray, mode: str = "isolated") -> FloatArray:
    """Map paper-style PRB shares (..., C, S) in [0, 1] (per-cell sums <= 1) to percent ratios (..., C, S, 3).

    ``isolated``: min = max = share (each slice gets up to its share; unallocated PRBs idle — the
    allocation cost is real). ``shared``: min = share, max = 100 (work-conserving borrowing).
    Dedicated is 0 in both.
    """
    p = np.clip(shares, 0.0, 1.0) * 100.0
    mx = p if mode == "isolated" else np.full_like(p, 100.0)
    return np.stack([np.zeros_like(p), p, mx], axis=-1)

"""Plans as arrays, for the closed-loop digital twin: N candidate policies (the bounds the laws run inside and the
SLA ceilings they steer by), the laws' parameters, and the controllers' state at the start of a rollout.

The rApp builds these from :class:`~nextric.control.policy.ControlPlan` values (:func:`plans_to_batch`) and sends
them in a ``nextric.twin.v1`` ``Rollout``; the twin runs :mod:`nextric.control.slices` and
:mod:`nextric.control.transport` inside them step by step. Axis order: cells and links as the twin's ``Describe``
lists them, slices likewise. Shapes: N candidates, C cells, L links, S slices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nextric.arrays import BoolArray, FloatArray, IntArray
from nextric.control.policy import ControlPlan
from nextric.control.slices import AllocatorParams
from nextric.control.transport import TransportParams
from nextric.errors import ValidationError


@dataclass(frozen=True, eq=False)
class PolicyBatch:
    """N candidate policies.

    prb_lower / prb_upper / prb_max (N, C, S) percent, prb_target (N, C, S) percent (nan: none); sla_loss
    (N, C, S) fraction and sla_p99_ms (N, C, S) ms (nan: no delay ceiling) the slice law steers by; tn_lower /
    tn_upper (N, L, S) fractions, tn_target (N, L, S) fraction (nan: none); slice_law / transport_law (N,) bool:
    whether each law runs (off: the ratios / shares in force at the start stay for the whole rollout)."""

    prb_lower: FloatArray
    prb_upper: FloatArray
    prb_max: FloatArray
    prb_target: FloatArray
    sla_loss: FloatArray
    sla_p99_ms: FloatArray
    tn_lower: FloatArray
    tn_upper: FloatArray
    tn_target: FloatArray
    slice_law: BoolArray
    transport_law: BoolArray

    @property
    def n(self) -> int:
        return int(self.prb_lower.shape[0])

    def validate(self, n_cells: int, n_links: int, n_slices: int) -> None:
        """Raise :class:`ValidationError` naming the first bad field (shape, range, ordering, sums)."""
        n = self.n
        cs, ls = (n, n_cells, n_slices), (n, n_links, n_slices)
        for name, shape in (("prb_lower", cs), ("prb_upper", cs), ("prb_max", cs), ("prb_target", cs),
                            ("sla_loss", cs), ("sla_p99_ms", cs), ("tn_lower", ls), ("tn_upper", ls),
                            ("tn_target", ls), ("slice_law", (n,)), ("transport_law", (n,))):
            got = getattr(self, name).shape
            if got != shape:
                raise ValidationError(f"policies.{name}: expected shape {shape}, got {got}")
        for name, lo, hi, nan_ok in (("prb_lower", 0, 100, False), ("prb_upper", 0, 100, False),
                                     ("prb_max", 0, 100, False), ("prb_target", 0, 100, True),
                                     ("sla_loss", 1e-6, 1, False), ("sla_p99_ms", 0.1, 60_000, True),
                                     ("tn_lower", 0, 1, False), ("tn_upper", 0, 1, False),
                                     ("tn_target", 0, 1, True)):
            x = getattr(self, name)
            finite = np.isfinite(x)
            if (~finite & ~(np.isnan(x) if nan_ok else np.zeros_like(finite))).any():
                raise ValidationError(f"policies.{name}: values must be finite" + (" or NaN" if nan_ok else ""))
            if ((x[finite] < lo) | (x[finite] > hi)).any():
                raise ValidationError(f"policies.{name}: values must lie in [{lo}, {hi}]")
        if (self.prb_lower > self.prb_upper).any() or (self.prb_lower > self.prb_max).any():
            raise ValidationError("policies: need prb_lower <= prb_upper and prb_lower <= prb_max")
        if (self.prb_lower.sum(-1) > 100 + 1e-6).any():
            raise ValidationError("policies.prb_lower: per-cell sums must be <= 100 (TS 28.541 min ratios)")
        if (self.tn_lower > self.tn_upper).any():
            raise ValidationError("policies: need tn_lower <= tn_upper")
        if (self.tn_lower.sum(-1) > 1 + 1e-6).any():
            raise ValidationError("policies.tn_lower: per-link sums must be <= 1")


@dataclass(frozen=True)
class LawSpec:
    """The laws as they run: the slice scheduler's allocator (with the guardrail's step limit applied) every
    ``slice_period_steps`` fast sub-steps, the transport steering every ``transport_period_steps``.

    ``priority`` (S,) is each slice's SLA priority (higher first on equal headroom); ``keys`` the S slice keys."""

    allocator: AllocatorParams
    transport: TransportParams
    keys: tuple[str, ...]
    priority: tuple[float, ...]
    slice_period_steps: int = 1
    transport_period_steps: int = 5

    def key_rank(self) -> IntArray:
        order = {k: i for i, k in enumerate(sorted(self.keys))}
        return np.array([order[k] for k in self.keys], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class ControllerState:
    """What runs at the start of a rollout: ratio_pct (C, S, 3) percent (dedicated, min, max) in force,
    previous_min (C, S) percent (the slice law's smoothing baseline; nan: unknown), tn_share (L, S) in force."""

    ratio_pct: FloatArray
    previous_min: FloatArray
    tn_share: FloatArray

    def validate(self, n_cells: int, n_links: int, n_slices: int) -> None:
        if self.ratio_pct.shape != (n_cells, n_slices, 3):
            raise ValidationError(f"initial.ratio_pct: expected ({n_cells}, {n_slices}, 3), got {self.ratio_pct.shape}")
        if self.previous_min.shape != (n_cells, n_slices):
            raise ValidationError(f"initial.previous_min: expected ({n_cells}, {n_slices}), "
                                  f"got {self.previous_min.shape}")
        if self.tn_share.shape != (n_links, n_slices):
            raise ValidationError(f"initial.tn_share: expected ({n_links}, {n_slices}), got {self.tn_share.shape}")
        r = self.ratio_pct
        if not np.isfinite(r).all() or (r < 0).any() or (r > 100).any():
            raise ValidationError("initial.ratio_pct: ratios must be finite percentages")
        if (r[..., 0] > r[..., 1]).any() or (r[..., 1] > r[..., 2]).any() or (r[..., 1].sum(-1) > 100 + 1e-6).any():
            raise ValidationError("initial.ratio_pct: need dedicated <= min <= max and min sums <= 100 (TS 28.541)")
        t = self.tn_share
        if not np.isfinite(t).all() or (t < 0).any() or (t > 1).any() or (t.sum(-1) > 1 + 1e-6).any():
            raise ValidationError("initial.tn_share: shares must lie in [0, 1] with per-link sums <= 1")
        p = self.previous_min[np.isfinite(self.previous_min)]
        if ((p < 0) | (p > 100)).any() or np.isinf(self.previous_min).any():
            raise ValidationError("initial.previous_min: percentages in [0, 100] or NaN")


def uniform_state(n_cells: int, n_links: int, n_slices: int) -> ControllerState:
    """1/S everywhere, isolated (min = max = share): the testbed's start before any control."""
    p = np.full((n_cells, n_slices), 100.0 / n_slices)
    return ControllerState(np.stack([np.zeros_like(p), p, p], -1), np.full((n_cells, n_slices), np.nan),
                           np.full((n_links, n_slices), 1.0 / n_slices))


@dataclass(frozen=True)
class SliceDefaults:
    """A slice's default SLA ceilings (what the slice law steers by where neither A1 nor a plan says otherwise)."""

    key: str
    max_loss: float
    max_p99_ms: float | None = None


def plans_to_batch(plans: Sequence[ControlPlan], cell_keys: Sequence[str], link_ids: Sequence[str],
                   defaults: Sequence[SliceDefaults], now_ms: int, slice_law: bool | Sequence[bool] = True,
                   transport_law: bool | Sequence[bool] = True,
                   a1_slas: Mapping[str, Mapping[str, tuple[float | None, float | None]]] | None = None
                   ) -> PolicyBatch:
    """N plans (as in force at ``now_ms``) -> arrays. ``a1_slas`` {cell key | "*": {slice key: (max loss, max
    p99 ms)}} are the A1 slice SLA ceilings under the plans (the plans' own ceilings win where they set one)."""
    n, c, ln, s = len(plans), len(cell_keys), len(link_ids), len(defaults)
    keys = [d.key for d in defaults]
    lo = np.zeros((n, c, s))
    up = np.full((n, c, s), 100.0)
    mx = np.full((n, c, s), 100.0)
    tg = np.full((n, c, s), np.nan)
    loss = np.tile(np.array([d.max_loss for d in defaults]), (n, c, 1))
    p99 = np.tile(np.array([np.nan if d.max_p99_ms is None else d.max_p99_ms for d in defaults]), (n, c, 1))
    t_lo = np.zeros((n, ln, s))
    t_up = np.ones((n, ln, s))
    t_tg = np.full((n, ln, s), np.nan)
    a1 = a1_slas or {}
    for ci, ck in enumerate(cell_keys):
        for sk, (ml, mp) in {**a1.get("*", {}), **a1.get(ck, {})}.items():
            if sk in keys:
                j = keys.index(sk)
                if ml is not None:
                    loss[:, ci, j] = ml
                if mp is not None:
                    p99[:, ci, j] = mp
    for i, plan in enumerate(plans):
        for ci, ck in enumerate(cell_keys):
            for sk, b in plan.cell_bounds(ck, now_ms).items():
                if sk in keys:
                    j = keys.index(sk)
                    lo[i, ci, j], up[i, ci, j], mx[i, ci, j] = b.lower_pct, b.upper_pct, b.max_pct
                    tg[i, ci, j] = np.nan if b.target_pct is None else b.target_pct
            for sk, sla in {**plan.slas.get("*", {}), **plan.slas.get(ck, {})}.items():
                if sk in keys and plan.in_force(now_ms):
                    j = keys.index(sk)
                    if sla.max_loss is not None:
                        loss[i, ci, j] = sla.max_loss
                    if sla.max_p99_ms is not None:
                        p99[i, ci, j] = sla.max_p99_ms
        for li, lid in enumerate(link_ids):
            for sk, sb in plan.link_bounds(lid, now_ms).items():
                if sk in keys:
                    j = keys.index(sk)
                    t_lo[i, li, j], t_up[i, li, j] = sb.lower, sb.upper
                    t_tg[i, li, j] = np.nan if sb.target is None else sb.target

    def flags(v: bool | Sequence[bool]) -> BoolArray:
        return np.full(n, bool(v)) if isinstance(v, bool) else np.asarray(list(v), dtype=bool)

    return PolicyBatch(lo, up, mx, tg, loss, p99, t_lo, t_up, t_tg, flags(slice_law), flags(transport_law))


def take(batch: PolicyBatch, index: Sequence[int] | IntArray) -> PolicyBatch:
    """The candidates ``index`` of ``batch`` (in that order)."""
    idx = np.asarray(index, dtype=np.int64)
    return PolicyBatch(*(getattr(batch, f)[idx] for f in (
        "prb_lower", "prb_upper", "prb_max", "prb_target", "sla_loss", "sla_p99_ms", "tn_lower", "tn_upper",
        "tn_target", "slice_law", "transport_law")))

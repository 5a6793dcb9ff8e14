"""The slice scheduler's per-cell decision state as arrays: rows are cells, columns slices.

What a decision round reads of each cell besides its observations: the min ratios the allocator smooths from
(``previous``, :func:`nextric.control.slices.allocate`'s ``previous_min``) and what the guardrail knows of the
cell (the ratios in force and when each last changed: a :class:`nextric.guardrail.GuardrailState` of one cell,
held as arrays). Kept across rounds so a round gathers every cell's state with one fancy index instead of a
walk over per-cell objects, and updated in place after each control. Pure bookkeeping: no I/O, time passed in.

Layout: ``previous`` (R, S) float (nan: none), ``has_previous`` (R,) (a baseline was recorded, possibly with
no slice in it); ``current`` (R, S, 3) int ratios in force in ``RrmPolicy.ratios()`` order (min, max,
dedicated), ``in_force`` (R, S), ``changed_at`` (R, S) seconds (nan: never). Rows and columns are allocated on
first sight and grow by doubling; a forgotten cell's row is reused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from nextric.arrays import BoolArray, FloatArray, IntArray
from nextric.control.slices import Ratio
from nextric.guardrail import GuardrailState, RrmPolicy, SNssai, prb_parameter
from xapps.slice_scheduler.decide import member_of


class SliceBook:
    """Per-cell decision state (see the module doc)."""

    def __init__(self, rows: int = 64, slices: int = 4) -> None:
        self.row: dict[str, int] = {}
        self.cell_of: list[str | None] = []
        self._free: list[int] = []
        self.col: dict[str, int] = {}
        self.keys: list[str] = []  #: column -> slice key
        self.members: list[SNssai] = []  #: column -> S-NSSAI
        self.previous: FloatArray = np.full((rows, slices), np.nan)
        self.has_previous: BoolArray = np.zeros(rows, dtype=bool)
        self.current: IntArray = np.zeros((rows, slices, 3), dtype=np.int64)
        self.in_force: BoolArray = np.zeros((rows, slices), dtype=bool)
        self.changed_at: FloatArray = np.full((rows, slices), np.nan)

    def __len__(self) -> int:
        return len(self.row)

    # ------------------------------------------------------------------ rows and columns
    def rows_of(self, cell_keys: Sequence[str]) -> IntArray:
        """The row of each cell (a new, empty row for a cell not seen yet)."""
        out = np.empty(len(cell_keys), dtype=np.int64)
        row = self.row
        for i, key in enumerate(cell_keys):
            r = row.get(key)
            out[i] = self._add_row(key) if r is None else r
        return out

    def columns_of(self, slice_keys: Sequence[str]) -> IntArray:
        """The column of each slice (a new column for a slice not seen yet)."""
        out = np.empty(len(slice_keys), dtype=np.int64)
        for i, key in enumerate(slice_keys):
            c = self.col.get(key)
            if c is None:
                c = len(self.keys)
                if c == self.previous.shape[1]:
                    self._grow(self.previous.shape[0], 2 * c)
                self.col[key] = c
                self.keys.append(key)
                self.members.append(member_of(key))
            out[i] = c
        return out

    def _add_row(self, cell_key: str) -> int:
        if self._free:
            r = self._free.pop()
            self.cell_of[r] = cell_key
        else:
            r = len(self.cell_of)
            if r == self.previous.shape[0]:
                self._grow(2 * r, self.previous.shape[1])
            self.cell_of.append(cell_key)
        self.row[cell_key] = r
        self._clear(r)
        return r

    def _clear(self, r: int) -> None:
        self.previous[r] = np.nan
        self.has_previous[r] = False
        self.current[r] = 0
        self.in_force[r] = False
        self.changed_at[r] = np.nan

    def _grow(self, rows: int, cols: int) -> None:
        r0, c0 = self.previous.shape

        def grown(a: np.ndarray, fill: float | bool | int) -> np.ndarray:
            out = np.full((rows, cols, *a.shape[2:]), fill, dtype=a.dtype)
            out[:r0, :c0] = a
            return out

        self.previous = grown(self.previous, np.nan)
        self.current = grown(self.current, 0)
        self.in_force = grown(self.in_force, False)
        self.changed_at = grown(self.changed_at, np.nan)
        prev = np.zeros(rows, dtype=bool)
        prev[:r0] = self.has_previous
        self.has_previous = prev

    def forget(self, cell_key: str) -> None:
        """Drop a cell (released to another replica): its row is reused."""
        r = self.row.pop(cell_key, None)
        if r is not None:
            self.cell_of[r] = None
            self._free.append(r)

    # ------------------------------------------------------------------ what a cell's state is
    def load(self, cell_key: str, previous_min: Mapping[str, int] | None, in_force: Mapping[str, Ratio],
             at_s: float | None) -> None:
        """Set a cell's state from its durable record (SDL): the smoothing baseline, and the ratios in force
        (law order: dedicated, min, max) as changed at ``at_s`` (none in force when ``at_s`` is None)."""
        r = int(self.rows_of([cell_key])[0])
        self._clear(r)
        if previous_min is not None:
            cols = self.columns_of(list(previous_min))
            self.previous[r, cols] = [float(v) for v in previous_min.values()]
            self.has_previous[r] = True
        if in_force and at_s is not None:
            cols = self.columns_of(list(in_force))
            self.current[r, cols] = [(mn, mx, ded) for ded, mn, mx in in_force.values()]
            self.in_force[r, cols] = True
            self.changed_at[r, cols] = at_s

    def node_restarted(self, cell_key: str) -> None:
        """The cell's node runs its defaults again: nothing is in force and the rate-limit clock is void (the
        smoothing baseline stays)."""
        r = self.row.get(cell_key)
        if r is not None:
            self.current[r] = 0
            self.in_force[r] = False
            self.changed_at[r] = np.nan

    def previous_min(self, cell_key: str) -> dict[str, int] | None:
        r = self.row.get(cell_key)
        if r is None or not self.has_previous[r]:
            return None
        return {k: int(v) for k, v in zip(self.keys, self.previous[r, :len(self.keys)].tolist(), strict=True)
                if not math.isnan(v)}

    def guard_state(self, cell_key: str) -> GuardrailState:
        """What the guardrail knows of the cell, as the :class:`GuardrailState` :func:`nextric.guardrail.check`
        reads (slices in slice-key order, as ``to_action`` lists them)."""
        r = self.row.get(cell_key)
        if r is None or not self.in_force[r].any():
            return GuardrailState()
        quota: dict[SNssai, RrmPolicy] = {}
        last: dict[str, float] = {}
        for c in sorted(np.flatnonzero(self.in_force[r]).tolist(), key=lambda c: self.keys[c]):
            m = self.members[c]
            mn, mx, ded = self.current[r, c].tolist()
            quota[m] = RrmPolicy(m, mn, mx, ded)
            t = float(self.changed_at[r, c])
            if not math.isnan(t):
                last[prb_parameter(cell_key, m)] = t
        return GuardrailState(MappingProxyType({cell_key: MappingProxyType(quota)}), MappingProxyType(last))

    # ------------------------------------------------------------------ after a decision
    def record(self, rows: IntArray, present: BoolArray, ratios: IntArray, now_s: float, applied: BoolArray) -> None:
        """After a round: every row's smoothing baseline becomes the min ratios decided for it (``present``
        (B, S) the slices decided, ``ratios`` (B, S, 3) law order: dedicated, min, max); where ``applied`` (B,)
        the ratios reached the network at ``now_s``: they are in force, and a slice whose ratios changed has
        its rate-limit clock restarted. Rows must be distinct."""
        if not len(rows):
            return
        s = present.shape[1]
        self.previous[rows, :s] = np.where(present, ratios[..., 1], np.nan)
        self.previous[rows, s:] = np.nan
        self.has_previous[rows] = True
        a = rows[applied]
        if not len(a):
            return
        pres = present[applied]
        new = ratios[applied][..., [1, 2, 0]]
        cur = self.current[a, :s]
        changed = pres & (~self.in_force[a, :s] | (cur != new).any(-1))
        self.changed_at[a, :s] = np.where(changed, now_s, self.changed_at[a, :s])
        self.current[a, :s] = np.where(pres[..., None], new, cur)
        self.in_force[a, :s] |= pres

    def record_cell(self, cell_key: str, ratios: Mapping[str, Ratio], now_s: float, applied: bool) -> None:
        """:meth:`record` of one cell, from its sent ratios (law order)."""
        r = self.rows_of([cell_key])
        cols = self.columns_of(list(ratios))
        s = len(self.keys)
        present = np.zeros((1, s), dtype=bool)
        present[0, cols] = True
        values = np.zeros((1, s, 3), dtype=np.int64)
        values[0, cols] = list(ratios.values())
        self.record(r, present, values, now_s, np.array([applied]))

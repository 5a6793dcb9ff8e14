"""What the engine knows about the network: current configuration, when each parameter last changed.

``Context`` is the per-check snapshot (time is passed in, never read); ``GuardrailState`` is the immutable
bookkeeping a caller keeps between checks and advances with :meth:`GuardrailState.applied`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from types import MappingProxyType

from nextric.guardrail.model import (
    Action,
    BeamSwitchAction,
    RrmPolicy,
    SlicePrbQuotaAction,
    SNssai,
    action_parameters,
    prb_parameter,
)
from nextric.guardrail.policy import DEFAULT_POLICY, GuardrailPolicy

CellQuota = Mapping[SNssai, RrmPolicy]


def _empty_cells() -> Mapping[str, CellQuota]:
    return MappingProxyType({})


def _empty_floats() -> Mapping[str, float]:
    return MappingProxyType({})


def _empty_strs() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a check depends on besides the action.

    ``now``: seconds on the caller's clock (simulated or wall), the same clock as ``last_update``.
    ``current_prb``: per cell, the RRM policies in force. ``last_update``: parameter key -> time of its last
    applied change. ``current_other``: parameter key -> current value of non-PRB parameters (beam, CE mode).
    ``approved``: an operator approved exactly this action (advisory mode).
    """

    now: float
    policy: GuardrailPolicy = DEFAULT_POLICY
    current_prb: Mapping[str, CellQuota] = field(default_factory=_empty_cells)
    last_update: Mapping[str, float] = field(default_factory=_empty_floats)
    current_other: Mapping[str, str] = field(default_factory=_empty_strs)
    approved: bool = False


def other_value(action: Action) -> str | None:
    """Current-value string of a non-PRB action (what ``current_other`` stores)."""
    if isinstance(action, SlicePrbQuotaAction):
        return None
    if isinstance(action, BeamSwitchAction):
        return str(action.beam_id)
    return action.mode


@dataclass(frozen=True, slots=True)
class GuardrailState:
    """Immutable network bookkeeping for in-process callers (xApps) and the policy service."""

    current_prb: Mapping[str, CellQuota] = field(default_factory=_empty_cells)
    last_update: Mapping[str, float] = field(default_factory=_empty_floats)
    current_other: Mapping[str, str] = field(default_factory=_empty_strs)

    def context(
        self, now: float, policy: GuardrailPolicy = DEFAULT_POLICY, approved: bool = False
    ) -> Context:
        return Context(now, policy, self.current_prb, self.last_update, self.current_other, approved)

    def applied(self, action: Action, now: float) -> GuardrailState:
        """State after ``action`` reached the network at ``now``: only parameters whose value changed count
        as updated for the rate limit."""
        last = dict(self.last_update)
        if isinstance(action, SlicePrbQuotaAction):
            cells = dict(self.current_prb)
            cell = dict(cells.pop(action.cell_id, {}))  # re-inserted last: the most recently applied cell
            for p in action.policies:
                if cell.get(p.member) != p:
                    last[prb_parameter(action.cell_id, p.member)] = now
                cell[p.member] = p
            cells[action.cell_id] = MappingProxyType(cell)
            return GuardrailState(MappingProxyType(cells), MappingProxyType(last), self.current_other)
        key = action_parameters(action)[0]
        value = other_value(action)
        assert value is not None
        other = dict(self.current_other)
        if other.pop(key, None) != value:
            last[key] = now
        other[key] = value
        return GuardrailState(self.current_prb, MappingProxyType(last), MappingProxyType(other))

    def bounded(self, max_cells: int, max_parameters: int) -> tuple[GuardrailState, Eviction]:
        """At most ``max_cells`` cells in ``current_prb`` and ``max_parameters`` keys in ``current_other``: the
        least recently applied go first, with their ``last_update`` entries (an evicted parameter's next change
        is judged as a first change: no rate limit, steps from the defaults)."""
        extra_cells = max(0, len(self.current_prb) - max_cells)
        extra_params = max(0, len(self.current_other) - max_parameters)
        if not extra_cells and not extra_params:
            return self, Eviction()
        cells, other, last = dict(self.current_prb), dict(self.current_other), dict(self.last_update)
        gone_cells = tuple(islice(cells, extra_cells))
        for cell_id in gone_cells:
            for member in cells.pop(cell_id):
                last.pop(prb_parameter(cell_id, member), None)
        gone_params = tuple(islice(other, extra_params))
        for key in gone_params:
            del other[key]
            last.pop(key, None)
        state = GuardrailState(MappingProxyType(cells), MappingProxyType(last), MappingProxyType(other))
        return state, Eviction(gone_cells, gone_params)


@dataclass(frozen=True, slots=True)
class Eviction:
    """What :meth:`GuardrailState.bounded` dropped: cell ids and parameter keys."""

    cells: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()

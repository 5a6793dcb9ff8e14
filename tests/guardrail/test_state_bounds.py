"""Bounded guardrail state: ``GuardrailState.bounded`` keeps the most recently applied cells and parameters and
drops the others with their update times; ``RollbackTracker.forget`` drops an evicted cell's tracks."""

from __future__ import annotations

from nextric.guardrail import (
    BeamSwitchAction,
    CeModeAction,
    Eviction,
    GuardrailState,
    RollbackTracker,
    RrmPolicy,
    SlicePrbQuotaAction,
    SNssai,
    prb_parameter,
)

A = SNssai(1, "000001")


def test_bounded_evicts_least_recently_applied_parameters() -> None:
    state = GuardrailState()
    for ue in ("u0", "u1", "u2"):
        state = state.applied(BeamSwitchAction("c1", ue, 3), 1.0)
    state = state.applied(BeamSwitchAction("c1", "u0", 3), 2.0)  # u0 applied again (same value): most recent
    state = state.applied(CeModeAction("c1", "g1", "lmmse"), 3.0)
    bounded, gone = state.bounded(max_cells=10, max_parameters=2)
    assert gone.parameters == ("beam:c1:u1", "beam:c1:u2")
    assert gone.cells == ()
    assert list(bounded.current_other) == ["beam:c1:u0", "ce_mode:c1:g1"]
    assert set(bounded.last_update) == {"beam:c1:u0", "ce_mode:c1:g1"}
    # within the limits nothing is copied or dropped
    same, none = bounded.bounded(max_cells=10, max_parameters=2)
    assert same is bounded
    assert none == Eviction()


def test_bounded_evicts_cells_with_their_parameters() -> None:
    state = GuardrailState()
    for cell in ("c0", "c1", "c2"):
        state = state.applied(SlicePrbQuotaAction(cell, (RrmPolicy(A, 20, 100, 0),)), 1.0)
    state = state.applied(SlicePrbQuotaAction("c0", (RrmPolicy(A, 30, 100, 0),)), 2.0)  # c0 most recent
    bounded, gone = state.bounded(max_cells=2, max_parameters=10)
    assert gone.cells == ("c1",)
    assert list(bounded.current_prb) == ["c2", "c0"]
    assert prb_parameter("c1", A) not in bounded.last_update
    assert bounded.last_update[prb_parameter("c0", A)] == 2.0


def test_forget_drops_the_tracks_of_evicted_cells() -> None:
    tracker = RollbackTracker()
    for cell in ("c0", "c1"):
        tracker = tracker.applied(SlicePrbQuotaAction(cell, (RrmPolicy(A, 20, 100, 0),)), {}, 1.0)
    assert {k[0] for k in tracker.forget(["c0"]).tracks} == {"c1"}
    assert tracker.forget([]) is tracker

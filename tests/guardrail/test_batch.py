"""The batched PRB check gives exactly the per-action verdicts, and its array rules find exactly the actions that
raise no reason (hypothesis-generated actions, states and policies, invalid ones included)."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from nextric.guardrail import (
    ApprovalMode,
    Bounds,
    Decision,
    GuardrailPolicy,
    GuardrailState,
    Risk,
    RrmPolicy,
    SliceBounds,
    SlicePrbQuotaAction,
    SNssai,
    check,
)
from nextric.guardrail.batch import check_prb_batch, prb_round, screen_prb
from nextric.guardrail.state import Context

MEMBERS = (SNssai(1, "000001"), SNssai(2, "000002"), SNssai(1, "000003"), SNssai(3))


@st.composite
def ratio(draw: st.DrawFn, sane: bool) -> tuple[int, int, int]:
    if sane:
        mn = draw(st.integers(0, 60))
        return mn, draw(st.integers(mn, 100)), draw(st.sampled_from([0, mn]))
    return tuple(draw(st.integers(-5, 110)) for _ in range(3))  # type: ignore[return-value]


@st.composite
def bounds(draw: st.DrawFn) -> Bounds:
    lo = draw(st.integers(0, 50))
    return Bounds(lo, draw(st.integers(lo, 100)))


@st.composite
def policies(draw: st.DrawFn) -> GuardrailPolicy:
    sb = {m: SliceBounds(draw(bounds()), draw(bounds()), draw(bounds()))
          for m in draw(st.lists(st.sampled_from((*MEMBERS, SNssai(1))), max_size=3, unique=True))}
    approval = {r: draw(st.sampled_from(list(ApprovalMode))) for r in Risk}
    medium = draw(st.integers(1, 30))
    return GuardrailPolicy(slice_bounds=MappingProxyType(sb), max_step_pp=draw(st.sampled_from([1, 3, 10, 24, 100])),
                           min_interval_s=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
                           approval=MappingProxyType(approval), medium_step_pp=medium,
                           high_step_pp=draw(st.integers(medium, 60)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[SlicePrbQuotaAction, Context]:
    cell = draw(st.sampled_from(["c1", "c2"]))
    sane = draw(st.booleans())
    members = draw(st.lists(st.sampled_from(MEMBERS), min_size=0, max_size=4, unique=not draw(st.booleans())))
    pols = tuple(RrmPolicy(m, *draw(ratio(sane))) for m in members)
    action = SlicePrbQuotaAction(cell, pols, draw(st.sampled_from(list(Risk))))
    state = GuardrailState()
    for _ in range(draw(st.integers(0, 2))):  # what is in force: earlier applied actions, at earlier times
        prev = tuple(RrmPolicy(m, *draw(ratio(True)))
                     for m in draw(st.lists(st.sampled_from(MEMBERS), max_size=4, unique=True)))
        state = state.applied(SlicePrbQuotaAction(cell, prev), draw(st.sampled_from([0.0, 1.0, 1.5])))
    policy = draw(st.sampled_from([GuardrailPolicy(), GuardrailPolicy(max_step_pp=24)]) | policies())
    return action, state.context(draw(st.sampled_from([1.0, 2.0, 2.5, 10.0])), policy)


@settings(max_examples=200, deadline=None)
@given(st.lists(cases(), min_size=1, max_size=12))
def test_batch_gives_the_per_action_verdicts(round_: list[tuple[SlicePrbQuotaAction, Context]]) -> None:
    actions = [a for a, _ in round_]
    contexts = [c for _, c in round_]
    want = [check(a, c) for a, c in round_]
    got = check_prb_batch(actions, contexts)
    assert got == want
    assert [[(r.code, r.message, r.parameter, r.detail) for r in v.reasons] for v in got] == \
        [[(r.code, r.message, r.parameter, r.detail) for r in v.reasons] for v in want]
    screen = screen_prb(prb_round(actions, contexts))
    assert screen.clean.tolist() == [v.decision is Decision.ALLOW and not v.reasons for v in want]
    assert [v.risk.rank for v, ok in zip(want, screen.clean.tolist(), strict=True) if ok] == \
        [int(r) for r, ok in zip(screen.risk.tolist(), screen.clean.tolist(), strict=True) if ok]


def test_the_steady_state_is_decided_by_the_arrays() -> None:
    """A running scheduler's round (small steps, a period after the last change) raises no reason: every cell is
    clean, so no cell falls back to the per-action check."""
    state = GuardrailState()
    actions, contexts = [], []
    for i in range(50):
        cell = f"c{i}"
        now = GuardrailState().applied(SlicePrbQuotaAction(cell, tuple(RrmPolicy(m, 20, 100, 0) for m in MEMBERS)),
                                       0.0)
        state = now
        actions.append(SlicePrbQuotaAction(cell, tuple(RrmPolicy(m, 20 + (i % 5), 100, 0) for m in MEMBERS)))
        contexts.append(state.context(1.0))
    screen = screen_prb(prb_round(actions, contexts))
    assert screen.clean.all()
    assert set(screen.risk.tolist()) == {0}
    assert check_prb_batch(actions, contexts) == [check(a, c) for a, c in zip(actions, contexts, strict=True)]


def test_a_step_window_that_yields_to_tightened_bounds_is_a_reason() -> None:
    """Bounds tightened under a running config: the ratio in force is far outside them, the request inside; the
    check allows it with a reason (the step limit yielded), so the arrays must not call it clean."""
    m = MEMBERS[0]
    policy = GuardrailPolicy(slice_bounds=MappingProxyType({m: SliceBounds(Bounds(0, 10))}), max_step_pp=1,
                             approval=MappingProxyType(dict.fromkeys(Risk, ApprovalMode.AUTONOMOUS)))
    state = GuardrailState().applied(SlicePrbQuotaAction("c1", (RrmPolicy(m, 50, 100, 0),)), 0.0)
    actions = [SlicePrbQuotaAction("c1", (RrmPolicy(m, 5, 100, 0),))]
    contexts = [state.context(5.0, policy)]
    want = [check(a, c) for a, c in zip(actions, contexts, strict=True)]
    assert want[0].decision is Decision.ALLOW
    assert want[0].reasons
    assert not screen_prb(prb_round(actions, contexts)).clean.any()
    assert check_prb_batch(actions, contexts) == want

"""Guardrail engine: each rule, and hypothesis invariants (bounds hold, clamp is idempotent, rate limit holds)."""

from __future__ import annotations

import itertools
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from nextric.guardrail import (
    ApprovalMode,
    BeamSwitchAction,
    Bounds,
    CeModeAction,
    Decision,
    ExpectedEffect,
    GuardrailPolicy,
    GuardrailState,
    Prediction,
    ReasonCode,
    Risk,
    RrmPolicy,
    SliceBounds,
    SlicePrbQuotaAction,
    SNssai,
    check,
    merge,
    prb_parameter,
)

A, B, C = SNssai(1, "000001"), SNssai(2, "000002"), SNssai(3)


def act(*ps: tuple[SNssai, int, int, int], cell: str = "c1", risk: Risk = Risk.LOW) -> SlicePrbQuotaAction:
    return SlicePrbQuotaAction(cell, tuple(RrmPolicy(m, lo, hi, d) for m, lo, hi, d in ps), risk)


def test_ts28541_rules() -> None:
    ctx = GuardrailState().context(0.0)
    assert check(act((A, 50, 100, 10), (B, 50, 100, 10)), ctx).decision is Decision.ALLOW
    assert ReasonCode.TS28541_MIN_SUM in check(act((A, 60, 100, 0), (B, 50, 100, 0)), ctx).codes()
    assert ReasonCode.TS28541_DEDICATED_SUM in check(act((A, 60, 100, 60), (B, 40, 100, 41)), ctx).codes()
    assert ReasonCode.TS28541_ORDER in check(act((A, 20, 10, 0)), ctx).codes()
    assert ReasonCode.TS28541_ORDER in check(act((A, 20, 30, 25)), ctx).codes()
    assert ReasonCode.TS28541_RANGE in check(act((A, 20, 130, 0)), ctx).codes()
    assert ReasonCode.DUPLICATE_MEMBER in check(act((A, 20, 30, 0), (A, 20, 30, 0)), ctx).codes()
    # max ratios may overlap (sum of max > 100 is fine)
    assert check(act((A, 10, 100, 0), (B, 10, 100, 0), (C, 10, 100, 0)), ctx).decision is Decision.ALLOW


def test_sums_include_slices_not_in_the_action() -> None:
    state = GuardrailState().applied(act((A, 40, 100, 0), (B, 40, 100, 0)), 0.0)
    v = check(act((C, 30, 100, 0)), state.context(10.0))
    assert v.decision is Decision.DENY
    assert ReasonCode.TS28541_MIN_SUM in v.codes()


def test_bounds_and_step_clamp() -> None:
    policy = GuardrailPolicy(
        slice_bounds=MappingProxyType({A: SliceBounds(min_prb_ratio=Bounds(10, 40))}), max_step_pp=5
    )
    v = check(act((A, 60, 100, 0)), GuardrailState().context(0.0, policy))
    assert v.decision is Decision.CLAMP
    assert v.action == act((A, 40, 100, 0))
    assert ReasonCode.BOUND_CLAMPED in v.codes()
    state = GuardrailState().applied(v.action, 0.0)
    v = check(act((A, 20, 100, 0)), state.context(5.0, policy))
    assert v.action == act((A, 35, 100, 0))
    assert ReasonCode.STEP_CLAMPED in v.codes()


def test_bounds_win_over_step_when_windows_do_not_meet() -> None:
    state = GuardrailState().applied(act((A, 80, 100, 0)), 0.0)
    policy = GuardrailPolicy(
        slice_bounds=MappingProxyType({A: SliceBounds(min_prb_ratio=Bounds(0, 40))}), max_step_pp=5
    )
    v = check(act((A, 80, 100, 0)), state.context(5.0, policy))
    assert v.action == act((A, 40, 100, 0))
    assert {ReasonCode.BOUND_CLAMPED, ReasonCode.STEP_YIELDED_TO_BOUND} <= v.codes()


def test_clamp_that_breaks_ordering_is_denied() -> None:
    policy = GuardrailPolicy(
        slice_bounds=MappingProxyType({A: SliceBounds(min_prb_ratio=Bounds(50, 60), max_prb_ratio=Bounds(0, 40))})
    )
    v = check(act((A, 30, 35, 0)), GuardrailState().context(0.0, policy))
    assert v.decision is Decision.DENY
    assert ReasonCode.CLAMP_INFEASIBLE in v.codes()


def test_rate_limit_counts_only_changed_parameters() -> None:
    state = GuardrailState().applied(act((A, 30, 100, 0), (B, 30, 100, 0)), 0.0)
    # B unchanged, A changed 0.5 s later: rate limited on A only
    v = check(act((A, 35, 100, 0), (B, 30, 100, 0)), state.context(0.5))
    assert v.decision is Decision.DENY
    assert [r.parameter for r in v.reasons] == [prb_parameter("c1", A)]
    assert check(act((A, 35, 100, 0)), state.context(1.0)).decision is Decision.ALLOW


AUTONOMOUS = MappingProxyType({r: ApprovalMode.AUTONOMOUS for r in Risk})


def test_prediction_and_approval() -> None:
    policy = GuardrailPolicy(violation_threshold=0.3, approval=AUTONOMOUS)
    ctx = GuardrailState().context(0.0, policy)
    assert check(act((A, 30, 100, 0)), ctx, Prediction(0.3)).decision is Decision.ALLOW
    assert check(act((A, 30, 100, 0)), ctx, Prediction(0.31)).codes() == {ReasonCode.PREDICTED_SLA_VIOLATION}
    # a 30-point change is high risk; high risk is advisory by default
    state = GuardrailState().applied(act((A, 10, 100, 0)), 0.0)
    v = check(act((A, 40, 100, 0)), state.context(5.0))
    assert v.risk is Risk.HIGH
    assert v.codes() == {ReasonCode.APPROVAL_REQUIRED}
    assert check(act((A, 40, 100, 0)), state.context(5.0, approved=True)).decision is Decision.ALLOW
    autonomous = GuardrailPolicy(approval=AUTONOMOUS)
    assert check(act((A, 40, 100, 0)), state.context(5.0, autonomous)).decision is Decision.ALLOW


def test_predicted_violation_raises_the_risk_and_so_the_approval_needed() -> None:
    """A small step is low risk by itself; a predicted SLA-violation probability makes it medium or high, and
    high risk needs an operator by default."""
    ctx = GuardrailState().context(0.0)
    assert check(act((A, 5, 100, 0)), ctx, Prediction(0.05)).risk is Risk.LOW
    assert check(act((A, 5, 100, 0)), ctx, Prediction(0.15)).risk is Risk.MEDIUM
    v = check(act((A, 5, 100, 0)), ctx, Prediction(0.4))
    assert v.risk is Risk.HIGH
    assert v.codes() == {ReasonCode.APPROVAL_REQUIRED}
    assert check(act((A, 5, 100, 0)), GuardrailState().context(0.0, approved=True), Prediction(0.4)).allowed


def test_harm_and_no_effect_are_refused() -> None:
    ctx = GuardrailState().context(0.0, GuardrailPolicy(approval=AUTONOMOUS))
    useful = ExpectedEffect("eMBB.packetLossRate", 0.1, 0.05, 0.15, "fraction")
    assert check(act((A, 5, 100, 0)), ctx, Prediction(0.05, harm_probability=0.1, effect=useful)).allowed
    harmful = check(act((A, 5, 100, 0)), ctx, Prediction(0.05, harm_probability=0.5, effect=useful))
    assert harmful.codes() == {ReasonCode.PREDICTED_HARM}
    useless = ExpectedEffect("URLLC.packetLossRate", 0.0, -0.001, 0.001, "fraction")
    v = check(act((A, 5, 100, 0)), ctx, Prediction(0.0, harm_probability=0.0, effect=useless))
    assert v.codes() == {ReasonCode.NO_EFFECT_EXPECTED}
    assert "no measurable effect expected" in v.reasons[0].message
    lenient = GuardrailState().context(0.0, GuardrailPolicy(approval=AUTONOMOUS, require_effect=False))
    assert check(act((A, 5, 100, 0)), lenient, Prediction(0.0, effect=useless)).allowed


def test_other_action_kinds() -> None:
    policy = GuardrailPolicy(kind_intervals=MappingProxyType({"beam_switch": 0.02}))
    state = GuardrailState()
    beam = BeamSwitchAction("c1", "ue7", 4)
    assert check(beam, state.context(0.0, policy)).decision is Decision.ALLOW
    state = state.applied(beam, 0.0)
    assert check(BeamSwitchAction("c1", "ue7", 5), state.context(0.01, policy)).codes() == {ReasonCode.RATE_LIMITED}
    assert check(BeamSwitchAction("c1", "ue7", 5), state.context(0.02, policy)).decision is Decision.ALLOW
    assert check(CeModeAction("c1", "cell", "magic"), state.context(0.0)).codes() == {ReasonCode.MODE_NOT_ALLOWED}
    assert check(CeModeAction("c1", "cell", "lmmse"), state.context(0.0)).decision is Decision.ALLOW


def test_merge_is_most_restrictive() -> None:
    p1 = GuardrailPolicy(
        slice_bounds=MappingProxyType({A: SliceBounds(min_prb_ratio=Bounds(10, 50))}),
        max_step_pp=20,
        min_interval_s=1.0,
        violation_threshold=0.5,
    )
    p2 = GuardrailPolicy(
        slice_bounds=MappingProxyType({A: SliceBounds(min_prb_ratio=Bounds(20, 70))}),
        max_step_pp=10,
        min_interval_s=2.0,
        violation_threshold=0.8,
        approval=MappingProxyType({r: ApprovalMode.ADVISORY for r in Risk}),
    )
    m = merge([p1, p2])
    assert m.bounds_for(A).min_prb_ratio == Bounds(20, 50)
    assert (m.max_step_pp, m.min_interval_s, m.violation_threshold) == (10, 2.0, 0.5)
    assert m.mode_for(Risk.LOW) is ApprovalMode.ADVISORY


# -- property-based invariants ------------------------------------------------------------------------------
MEMBERS = [A, B, C]
ratio = st.integers(0, 100)


@st.composite
def rrm(draw: st.DrawFn, member: SNssai) -> RrmPolicy:
    a, b, c = sorted(draw(st.lists(ratio, min_size=3, max_size=3)))
    return RrmPolicy(member, b, c, a)  # dedicated <= min <= max


@st.composite
def quota_actions(draw: st.DrawFn) -> SlicePrbQuotaAction:
    members = draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=3, unique=True))
    return SlicePrbQuotaAction("c1", tuple(draw(rrm(m)) for m in members), draw(st.sampled_from(list(Risk))))


@st.composite
def bounds(draw: st.DrawFn) -> Bounds:
    lo, hi = sorted(draw(st.lists(ratio, min_size=2, max_size=2)))
    return Bounds(lo, hi)


@st.composite
def policies(draw: st.DrawFn) -> GuardrailPolicy:
    sb = {m: SliceBounds(draw(bounds()), draw(bounds()), draw(bounds())) for m in MEMBERS if draw(st.booleans())}
    return GuardrailPolicy(
        slice_bounds=MappingProxyType(sb),
        max_step_pp=draw(st.integers(1, 100)),
        min_interval_s=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        approval=MappingProxyType({r: draw(st.sampled_from(list(ApprovalMode))) for r in Risk}),
    )


@st.composite
def states(draw: st.DrawFn) -> GuardrailState:
    state = GuardrailState()
    for _ in range(draw(st.integers(0, 2))):
        a = draw(quota_actions())
        if check(a, state.context(0.0)).decision is Decision.ALLOW:
            state = state.applied(a, draw(st.floats(0.0, 5.0)))
    return state


@settings(max_examples=300, deadline=None)
@given(quota_actions(), policies(), states(), st.floats(0.0, 10.0), st.booleans())
def test_allowed_action_never_violates_a_bound(
    a: SlicePrbQuotaAction, policy: GuardrailPolicy, state: GuardrailState, now: float, approved: bool
) -> None:
    v = check(a, state.context(now, policy, approved))
    if not v.allowed:
        return
    assert isinstance(v.action, SlicePrbQuotaAction)
    merged = dict(state.current_prb.get("c1", {}))
    for p in v.action.policies:
        b = policy.bounds_for(p.member)
        for i, value in enumerate(p.ratios()):
            assert b.for_field(i).lower <= value <= b.for_field(i).upper
        assert p.dedicated_prb_ratio <= p.min_prb_ratio <= p.max_prb_ratio
        merged[p.member] = p
    assert sum(p.min_prb_ratio for p in merged.values()) <= 100
    assert sum(p.dedicated_prb_ratio for p in merged.values()) <= 100


@settings(max_examples=300, deadline=None)
@given(quota_actions(), policies(), states(), st.floats(0.0, 10.0), st.booleans())
def test_clamp_is_idempotent(
    a: SlicePrbQuotaAction, policy: GuardrailPolicy, state: GuardrailState, now: float, approved: bool
) -> None:
    ctx = state.context(now, policy, approved)
    first = check(a, ctx)
    second = check(first.action, ctx)
    assert second.action == first.action
    if first.decision is Decision.CLAMP or first.decision is Decision.ALLOW:
        assert second.decision is Decision.ALLOW


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(quota_actions(), st.floats(0.0, 0.9)), min_size=1, max_size=15), st.sampled_from([0.5, 1.0, 2.0])
)
def test_rate_limit_holds(steps: list[tuple[SlicePrbQuotaAction, float]], interval: float) -> None:
    policy = GuardrailPolicy(
        min_interval_s=interval, approval=MappingProxyType({r: ApprovalMode.AUTONOMOUS for r in Risk})
    )
    state, now = GuardrailState(), 0.0
    updates: dict[str, list[float]] = {}
    for a, dt in steps:
        now += dt
        v = check(a, state.context(now, policy))
        if v.allowed:
            assert isinstance(v.action, SlicePrbQuotaAction)
            current = state.current_prb.get("c1", {})
            for p in v.action.policies:
                if current.get(p.member) != p:
                    updates.setdefault(prb_parameter("c1", p.member), []).append(now)
            state = state.applied(v.action, now)
    for times in updates.values():
        assert all(b - a >= interval for a, b in itertools.pairwise(times))

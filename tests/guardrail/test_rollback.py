"""Rollback tracker: last-known-good, N breached periods -> rollback, N healthy periods -> confirm."""

from __future__ import annotations

from nextric.guardrail import KpiSample, RollbackTracker, RrmPolicy, SlicePrbQuotaAction, SliceSla, SNssai
from nextric.guardrail.rollback import breaches_of

S = SNssai(1, "000001")
SLA = SliceSla(S, max_delay_ms=20.0, policy_id="sla")


def _apply(t: RollbackTracker, before: RrmPolicy | None, after: RrmPolicy, now: float) -> RollbackTracker:
    return t.applied(SlicePrbQuotaAction("c1", (after,)), {S: before} if before else {}, now)


def _period(t: RollbackTracker, delay: float, n: int = 2) -> tuple[RollbackTracker, list[object]]:
    samples = [KpiSample("c1", S, delay_ms=delay)]
    tracker, decisions = t.observe(breaches_of(samples, [SLA]), samples, lambda _: n)
    return tracker, list(decisions)


def test_breach_for_n_periods_rolls_back_to_last_known_good() -> None:
    good, bad = RrmPolicy(S, 30, 100, 0), RrmPolicy(S, 50, 100, 0)
    t = _apply(RollbackTracker(), None, good, 0.0)
    t, d = _period(t, 5.0)
    t, d = _period(t, 5.0)
    assert d == []  # confirmed: good is last-known-good
    t = _apply(t, good, bad, 1.0)
    t, d = _period(t, 50.0)
    assert d == []
    t, d = _period(t, 50.0)
    assert len(d) == 1
    assert d[0].restore == good  # type: ignore[attr-defined]
    t, d = _period(t, 50.0)
    assert d == []  # one rollback per probation


def test_healthy_period_resets_the_breach_count() -> None:
    good, bad = RrmPolicy(S, 30, 100, 0), RrmPolicy(S, 50, 100, 0)
    t = _apply(RollbackTracker(), None, good, 0.0)
    t = _apply(t, good, bad, 1.0)
    for delay in (50.0, 5.0, 50.0):
        t, d = _period(t, delay, n=3)
        assert d == []
    assert t.manual("c1")[0].restore == good


def test_manual_rollback_orders_slices_with_and_without_a_differentiator() -> None:
    """A cell holding the same SST with and without an SD (found by fuzzing the policy API: sorting the tracks
    compared ``None`` with a string and answered 500)."""
    bare, with_sd = SNssai(1), SNssai(1, "000001")
    assert sorted([with_sd, SNssai(0, "ffffff"), bare]) == [SNssai(0, "ffffff"), bare, with_sd]
    t = RollbackTracker()
    for m in (with_sd, bare):
        t = t.applied(SlicePrbQuotaAction("c1", (RrmPolicy(m, 10, 100, 0),)), {}, 0.0)
        t = t.applied(SlicePrbQuotaAction("c1", (RrmPolicy(m, 40, 100, 0),)), {m: RrmPolicy(m, 10, 100, 0)}, 1.0)
    decisions = t.manual("c1")
    assert [d.restore.member for d in decisions] == [bare, with_sd]
    assert t.manual("c1", bare)[0].restore == RrmPolicy(bare, 10, 100, 0)

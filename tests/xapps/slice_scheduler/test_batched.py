"""The batched round (``decide_cells``: one array call of the law, one batched guardrail check) decides every cell
as the per-cell path (``decide_cell``) does: same ratios, verdicts, reasons, headroom, over several periods of
hypothesis-generated observations, SLAs, plans, guardrail policies and states."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from nextric.control.slices import AllocatorParams, PlanBounds, SliceObservation, SliceSla
from nextric.guardrail import ApprovalMode, Bounds, GuardrailPolicy, GuardrailState, Risk, SliceBounds, SNssai
from xapps.slice_scheduler.decide import CellInput, decide_cell, decide_cells

KEYS = ("1-000001", "2-000002", "1-000003")
FLOAT = st.floats(0.0, 200.0, allow_nan=False, allow_infinity=False)


@st.composite
def observation(draw: st.DrawFn, key: str) -> SliceObservation:
    idle = draw(st.booleans())
    return SliceObservation(key, 0.0 if idle else draw(FLOAT), draw(FLOAT), draw(st.sampled_from([0.0, 0.3]) | FLOAT),
                            draw(st.floats(0.0, 0.5)), draw(st.floats(0.0, 60.0)))


@st.composite
def sla(draw: st.DrawFn, key: str) -> SliceSla:
    return SliceSla(key, draw(st.floats(0.01, 0.5)), draw(st.none() | st.floats(1.0, 50.0)), draw(st.integers(0, 3)),
                    draw(st.none() | st.floats(0.0, 50.0)))


@st.composite
def plan(draw: st.DrawFn) -> dict[str, PlanBounds] | None:
    if draw(st.booleans()):
        return None
    out = {}
    for k in draw(st.lists(st.sampled_from(KEYS), max_size=3, unique=True)):
        lo = draw(st.integers(0, 30))
        up = draw(st.integers(lo, 100))
        out[k] = PlanBounds(lo, up, draw(st.integers(up, 100)), draw(st.none() | st.floats(0.0, 100.0)))
    return out


@st.composite
def policy(draw: st.DrawFn) -> GuardrailPolicy:
    if draw(st.booleans()):
        return GuardrailPolicy()
    lo = draw(st.integers(0, 20))
    sb = {SNssai(2, "000002"): SliceBounds(Bounds(lo, draw(st.integers(lo, 100))))} if draw(st.booleans()) else {}
    modes = {r: draw(st.sampled_from(list(ApprovalMode))) for r in Risk}
    return GuardrailPolicy(slice_bounds=MappingProxyType(sb), max_step_pp=draw(st.sampled_from([3, 10, 24, 100])),
                           min_interval_s=draw(st.sampled_from([0.5, 1.0, 2.0])), approval=MappingProxyType(modes),
                           high_step_pp=draw(st.sampled_from([10, 25])))


@st.composite
def cell(draw: st.DrawFn, i: int) -> dict[str, object]:
    keys = list(KEYS) if draw(st.integers(0, 4)) else list(draw(st.permutations(KEYS)))[:2]  # odd cells too
    return {"key": f"c{i}", "obs": [draw(observation(k)) for k in keys], "slas": {k: draw(sla(k)) for k in KEYS},
            "n_prb": draw(st.sampled_from([51.0, 106.0, 273.0])), "plan": draw(plan()), "policy": draw(policy()),
            "prev": draw(st.none() | st.fixed_dictionaries({k: st.integers(0, 60) for k in keys[:2]}))}


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(*(cell(i) for i in range(n)))),
       st.lists(st.sampled_from([0.5, 1.0, 1.0, 2.0]), min_size=1, max_size=4),
       st.sampled_from([AllocatorParams(), AllocatorParams(max_release_pct=None, dedicate_latency=False)]))
def test_batched_round_decides_as_the_per_cell_path(cells: tuple[dict[str, object], ...], steps: list[float],
                                                    params: AllocatorParams) -> None:
    guards = {str(c["key"]): GuardrailState() for c in cells}
    now = 0.0
    for period, dt in enumerate(steps):
        now += dt
        inputs = [CellInput(str(c["key"]), c["obs"], c["slas"], float(c["n_prb"]),  # type: ignore[arg-type]
                            c["prev"] if period == 0 else None, guards[str(c["key"])],  # type: ignore[arg-type]
                            c["plan"], c["policy"])  # type: ignore[arg-type]
                  for c in cells]
        want = [decide_cell(x.cell_key, x.observations, x.slas, x.n_prb, x.previous_min, x.guard, now, params,
                            x.plan, x.policy) for x in inputs]
        got = decide_cells(inputs, now, params)
        assert got == want
        assert [[(r.code, r.message, r.detail) for r in d.verdict.reasons] for d in got] == \
            [[(r.code, r.message, r.detail) for r in d.verdict.reasons] for d in want]
        for d in want:
            if d.sent is not None:
                guards[d.cell_key] = guards[d.cell_key].applied(d.verdict.action, now)
        for c in cells:  # the next period sees a changed network
            c["obs"] = [SliceObservation(o.key, o.offered_mbps * 1.3 + 1.0, o.throughput_mbps, o.prb_used + 1.0,
                                         min(1.0, o.loss * 1.5), o.p99_ms + 4.0) for o in c["obs"]]  # type: ignore[attr-defined]


def test_an_empty_round() -> None:
    assert decide_cells([], 0.0) == []

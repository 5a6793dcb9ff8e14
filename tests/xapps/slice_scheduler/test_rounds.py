"""The round on the book (``decide_round``: the cells' state as arrays, one array call of the law, one array screen
of the guardrail rules) decides every cell as the per-cell path (``decide_cell`` on a ``GuardrailState``) does:
same ratios, verdicts, reasons, headroom, over several periods of hypothesis-generated observations, SLAs, plans,
guardrail policies and restored states; and the book holds the same state as the per-cell path after each."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from nextric.control.slices import AllocatorParams, PlanBounds, Ratio, SliceObservation, SliceSla
from nextric.guardrail import ApprovalMode, Bounds, GuardrailPolicy, GuardrailState, Risk, SliceBounds, SNssai
from xapps.slice_scheduler.book import SliceBook
from xapps.slice_scheduler.decide import decide_cell, to_action
from xapps.slice_scheduler.rounds import RoundCell, decide_round

KEYS = ("1-000001", "2-000002", "10-000003")  # "10-" sorts before "2-" as a key, after it as an S-NSSAI
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
def ratio(draw: st.DrawFn) -> Ratio:
    mn = draw(st.integers(0, 60))
    if not draw(st.integers(0, 3)):  # a corrupt record: dedicated above min
        return (mn + 1, mn, 100)
    return (draw(st.integers(0, mn)), mn, draw(st.integers(mn, 100)))


@st.composite
def cell(draw: st.DrawFn, i: int) -> dict[str, object]:
    keys = list(KEYS) if draw(st.integers(0, 4)) else list(draw(st.permutations(KEYS)))[:2]  # odd cells too
    return {"key": f"c{i}", "obs": [draw(observation(k)) for k in keys], "slas": {k: draw(sla(k)) for k in KEYS},
            "n_prb": draw(st.sampled_from([51.0, 106.0, 273.0])), "plan": draw(plan()), "policy": draw(policy()),
            "prev": draw(st.none() | st.fixed_dictionaries({k: st.integers(0, 60) for k in keys[:2]})),
            # restored from SDL: ratios in force (some for slices the cell no longer reports), changed at 0
            "in_force": draw(st.none() | st.dictionaries(st.sampled_from(KEYS), ratio(), min_size=1))}


def mins(sent: dict[str, Ratio]) -> dict[str, int]:
    return {k: r[1] for k, r in sent.items()}


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(*(cell(i) for i in range(n)))),
       st.lists(st.sampled_from([0.5, 1.0, 1.0, 2.0]), min_size=1, max_size=4),
       st.sampled_from([AllocatorParams(), AllocatorParams(max_release_pct=None, dedicate_latency=False)]))
def test_the_round_on_the_book_decides_as_the_per_cell_path(cells: tuple[dict[str, object], ...], steps: list[float],
                                                           params: AllocatorParams) -> None:
    book = SliceBook(rows=2, slices=1)  # grown on the way
    guards: dict[str, GuardrailState] = {}
    previous: dict[str, dict[str, int] | None] = {}
    for c in cells:
        key, force = str(c["key"]), c["in_force"]
        previous[key] = c["prev"]  # type: ignore[assignment]
        guards[key] = GuardrailState().applied(to_action(key, force), 0.0) if force else GuardrailState()  # type: ignore[arg-type]
        book.load(key, c["prev"], force or {}, 0.0 if force else None)  # type: ignore[arg-type]
    now = 0.0
    for dt in steps:
        now += dt
        want = [decide_cell(str(c["key"]), c["obs"], c["slas"], float(c["n_prb"]),  # type: ignore[arg-type]
                            previous[str(c["key"])], guards[str(c["key"])], now, params, c["plan"],  # type: ignore[arg-type]
                            c["policy"])  # type: ignore[arg-type]
                for c in cells]
        rnd = decide_round(book, [RoundCell(str(c["key"]), c["obs"], c["slas"], float(c["n_prb"]),  # type: ignore[arg-type]
                                            c["plan"], c["policy"]) for c in cells], now, params)  # type: ignore[arg-type]
        got = rnd.decisions()
        assert got == want
        assert [[(r.code, r.message, r.detail) for r in d.verdict.reasons] for d in got] == \
            [[(r.code, r.message, r.detail) for r in d.verdict.reasons] for d in want]
        rnd.record(book, now)
        for d in want:
            if d.sent is not None:
                guards[d.cell_key] = guards[d.cell_key].applied(d.verdict.action, now)
                previous[d.cell_key] = mins(d.sent)
        for c in cells:
            key = str(c["key"])
            assert book.previous_min(key) == previous[key]
            assert book.guard_state(key) == guards[key]
            # the next period sees a changed network
            c["obs"] = [SliceObservation(o.key, o.offered_mbps * 1.3 + 1.0, o.throughput_mbps, o.prb_used + 1.0,
                                         min(1.0, o.loss * 1.5), o.p99_ms + 4.0) for o in c["obs"]]  # type: ignore[attr-defined]


def test_an_empty_round() -> None:
    rnd = decide_round(SliceBook(), [], 0.0)
    assert len(rnd) == 0
    assert rnd.decisions() == []


def test_a_forgotten_cell_row_is_reused_empty_and_a_restarted_node_keeps_the_baseline() -> None:
    book = SliceBook(rows=1)
    book.load("a", {"1-000001": 30}, {"1-000001": (0, 30, 100)}, 5.0)
    assert book.guard_state("a").last_update == {"prb:a:1-000001": 5.0}
    book.node_restarted("a")
    assert book.guard_state("a") == GuardrailState()
    assert book.previous_min("a") == {"1-000001": 30}
    book.forget("a")
    assert book.previous_min("a") is None
    book.load("b", None, {}, None)
    assert book.row["b"] == 0
    assert book.previous_min("b") is None
    assert book.guard_state("b") == GuardrailState()
    book.record_cell("c", {"2-000002": (10, 10, 100)}, 7.0, applied=True)  # a new row and column, grown
    assert book.previous_min("c") == {"2-000002": 10}
    assert book.guard_state("c").current_prb["c"][SNssai(2, "000002")].ratios() == (10, 100, 10)


def test_a_corrupt_ratio_in_force_for_a_slice_not_reported_denies_as_check_does() -> None:
    slas = {k: SliceSla(k, 0.1) for k in KEYS}
    obs = [SliceObservation(k, 10.0, 9.0, 20.0, 0.0, 5.0) for k in KEYS[:2]]
    force: dict[str, Ratio] = {KEYS[2]: (31, 30, 100)}  # dedicated above min: TS 28.541 breaks with it in force
    book = SliceBook()
    book.load("c", None, force, 0.0)
    want = decide_cell("c", obs, slas, 106.0, None, GuardrailState().applied(to_action("c", force), 0.0), 5.0)
    got = decide_round(book, [RoundCell("c", obs, slas, 106.0)], 5.0).decision(0)
    assert got == want
    assert got.sent is None
    assert [r.parameter for r in got.verdict.reasons] == ["prb:c:10-000003"]

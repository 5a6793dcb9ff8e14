"""PRB shares: caps, floors and TS 28.541 RRMPolicyRatio reservations (dedicated / min / max per cell and
slice), with the standard's rules: each ratio within 0..100 %, dedicated <= min <= max, and per cell the
dedicated and the minimum ratios of all slices each add up to at most 100 % (pure)."""

from __future__ import annotations

from rapps.intent_agent.compiler.grammar import Clause, Findings, Frame
from rapps.intent_agent.compiler.lexicon import DEDICATED_WORDS
from rapps.intent_agent.compiler.mentions import Quantity
from rapps.intent_agent.compiler.spec import RatioReservation
from rapps.intent_agent.compiler.state import Build, Reservation
from rapps.intent_agent.compiler.targets import frame_words

CAP_VERBS = ("cap", "capping", "limit", "limiting", "restrict", "throttle", "curb", "contain", "squeeze")


def share_frame(b: Build, fnd: Findings, c: Clause, f: Frame, slices: list[str], cells: list[int]) -> None:
    """"reserve 20 % of cell 4 for URLLC", "cap eMBB at 40 %", "URLLC between 20 and 40 % of the PRBs"."""
    assert f.quantity is not None
    q: Quantity = f.quantity.value
    words = frame_words(fnd.low, c, f)
    if q.family == "multiple" or f.comparator == "by":
        b.ask("under_specified", f"'{words}': a PRB share is set as a percentage of the cell, not as a change.",
              "Which percentage of the cell's PRBs should the slice get?", f.quantity)
        return
    if q.family not in ("ratio", "none") or (q.family == "none" and not 0 < q.value <= 1):
        b.ask("infeasible", f"'{words}': a PRB share must be a percentage between 0 and 100.",
              "Which percentage of the cell's PRBs?", f.quantity)
        return
    hi = q.upper
    if q.value > 1.0 + 1e-9 or (hi is not None and hi > 1.0 + 1e-9):
        b.cite_id("ts28541-rrmpolicyratio")
        b.ask("infeasible", f"'{words}': {100 * max(q.value, hi or 0):g} % of a cell's PRBs is more than the cell "
              "has; TS 28.541 ratios are at most 100 %.", "Which share (at most 100 %) did you mean?", f.quantity)
        return
    if not slices:
        b.ask("under_specified", f"'{words}': the PRB share does not say which slice it is for.",
              f"Which slice ({', '.join(b.domain.slice_names())}) should get it?", f.quantity)
        return
    dedicated = c.dedicated and any(w in words or w in c.text for w in DEDICATED_WORDS)
    comp = f.comparator
    cap = comp == "below" or (comp in ("to", None, "equal") and c.verb in CAP_VERBS)
    b.cite_id("ts28541-rrmpolicyratio")
    b.meaningful = True
    where_cells: list[int | None] = list(cells) or [None]
    for s in slices:
        for cell in where_cells:
            r = b.reservations.setdefault((s, cell), Reservation())
            where = f"cell {cell}" if cell is not None else "every cell of the area"
            if comp == "range" and hi is not None:
                r.min, r.max = q.value, hi
                became = f"{s} min {100 * q.value:g} % / max {100 * hi:g} % of the PRBs in {where}"
            elif comp == "equal":
                r.min = r.max = q.value
                became = f"{s} exactly {100 * q.value:g} % of the PRBs in {where}"
            elif cap:
                r.max = q.value
                became = f"{s} max ratio {100 * q.value:g} % of the PRBs in {where}"
            elif dedicated:
                r.dedicated = q.value
                r.min = max(r.min or 0.0, q.value)
                became = f"{s} dedicated ratio {100 * q.value:g} % of the PRBs in {where}"
            else:
                r.min = q.value
                became = f"{s} min ratio {100 * q.value:g} % of the PRBs in {where}"
            r.words.append(words)
            b.map(words, became)
            f.quantity.use(became)
            for m in (*f.slices, *f.cells, *f.kpis):
                m.use(became)
    if not dedicated and comp not in ("below", "range", "equal") and not cap and \
            any(w in c.text for w in ("reserve", "reserved")):
        b.notes.append(f"'{words}': 'reserve' read as the guaranteed minimum ratio (lent to others when idle, "
                       "TS 28.541); say 'dedicated' to keep the PRBs for the slice alone")


def check_reservations(b: Build) -> None:
    """TS 28.541: dedicated <= min <= max per policy; per cell sum(dedicated) <= 100 % and sum(min) <= 100 %."""
    for (s, cell), r in b.reservations.items():
        where = f"cell {cell}" if cell is not None else "the area's cells"
        if r.min is not None and r.max is not None and r.min > r.max + 1e-9:
            b.ask("contradictory", f"{s} should get at least {100 * r.min:g} % and at most {100 * r.max:g} % of the "
                  f"PRBs of {where}.", f"Which share should {s} get?")
        if r.dedicated is not None and r.max is not None and r.dedicated > r.max + 1e-9:
            b.ask("contradictory", f"{s}: a dedicated ratio of {100 * r.dedicated:g} % exceeds its max ratio of "
                  f"{100 * r.max:g} % in {where} (TS 28.541: dedicated <= min <= max).", f"Which share should {s} get?")
    cells = {cell for _, cell in b.reservations}
    for cell in cells:
        rows = {s: r for (s, c), r in b.reservations.items() if c == cell or c is None}
        for field_name, label in (("min", "minimum"), ("dedicated", "dedicated")):
            total = sum(getattr(r, field_name) or 0.0 for r in rows.values())
            if total > 1.0 + 1e-9:
                where = f"cell {cell}" if cell is not None else "a cell"
                b.cite("RRMPolicyRatio sum of minimum ratios must not exceed 100", 1)
                b.ask("over_constrained", f"The {label} PRB ratios asked for {where} add up to {100 * total:g} %: "
                      f"TS 28.541 allows at most 100 % of a cell's PRBs as {label} ratios.",
                      "Which slice should get less?")
                return


def ratio_policies(b: Build) -> tuple[tuple[RatioReservation, ...], tuple[tuple[str, float], ...],
                                      tuple[tuple[str, float], ...]]:
    """(per-cell RRMPolicyRatio requests, area-wide floors, area-wide caps); floors / caps hold a slice's value
    when every reservation of that slice agrees on it (the planner's shaping reads them)."""
    pols = tuple(RatioReservation(s, cell, r.dedicated, r.min, r.max)
                 for (s, cell), r in sorted(b.reservations.items(), key=lambda x: (x[0][0], x[0][1] or -1)))
    floors: dict[str, set[float]] = {}
    caps: dict[str, set[float]] = {}
    for p in pols:
        if p.min is not None:
            floors.setdefault(p.slice, set()).add(p.min)
        if p.max is not None:
            caps.setdefault(p.slice, set()).add(p.max)
    fl = tuple(sorted((s, next(iter(v))) for s, v in floors.items() if len(v) == 1))
    cp = tuple(sorted((s, next(iter(v))) for s, v in caps.items() if len(v) == 1))
    for s, v in {**floors, **caps}.items():
        if len(v) > 1:
            b.notes.append(f"{s} has different PRB ratios per cell: they are kept per cell in the RRMPolicyRatio "
                           "requests")
    return pols, fl, cp

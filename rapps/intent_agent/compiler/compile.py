"""The deterministic compiler: findings -> targets, objective, action set, context; checked against the
slices' SLAs, TS 28.541 and the knowledge base, then held to the coverage check. Anything under-specified,
contradictory, over-constrained, infeasible or not understood becomes a :class:`Clarification` with a question
that names the words it is about (pure; no network; never raises).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rapps.intent_agent.compiler import lexicon as lx
from rapps.intent_agent.compiler import qualitative
from rapps.intent_agent.compiler.concepts import ConceptMatcher
from rapps.intent_agent.compiler.coverage import enforce
from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.grammar import Clause, Findings, Frame, parse
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.mentions import BadNumber, Mention, Quantity
from rapps.intent_agent.compiler.resolve import SliceNames
from rapps.intent_agent.compiler.semantic_step import resolve_unknowns
from rapps.intent_agent.compiler.shares import check_reservations, ratio_policies, share_frame
from rapps.intent_agent.compiler.spec import (
    ACTION_KINDS,
    ActionSet,
    Clarification,
    CompileResult,
    Context,
    IntentSpec,
    Issue,
    Objective,
    Target,
    TimeWindow,
)
from rapps.intent_agent.compiler.state import Build
from rapps.intent_agent.compiler.targets import FAMILY, latency_ok, quantity_target
from rapps.intent_agent.compiler.times import combine


class IntentCompiler:
    """The compiler for one network (domain + knowledge base), with an optional semantic layer."""

    def __init__(self, domain: Domain, kb: KnowledgeBase, semantic: ConceptMatcher | None = None) -> None:
        self.domain, self.kb, self.semantic = domain, kb, semantic
        self.names = SliceNames(domain, kb)

    def compile(self, text: str, now: str | None = None, baseline: Mapping[str, float] | None = None) -> CompileResult:
        """``now``: the agent's clock (HH:MM) for relative times; ``baseline``: current KPI values by
        ``"<slice>.<kpi>"`` for relative changes (absent: the target stays relative to the pre-intent value)."""
        if not text or not text.strip():
            return Clarification(text, (Issue("under_specified", "The intent is empty."),),
                                 "What should the network achieve, for which slice and where?")
        try:
            return self._compile(text, now, baseline or {})
        except Exception as exc:  # a bug must not take the intent API down: say so, never guess
            return Clarification(text, (Issue("internal_error", f"The compiler failed on this text: {exc!r}."),),
                                 "Could you rephrase the intent?", notes=(f"internal error: {exc!r}",))

    def _compile(self, text: str, now: str | None, baseline: Mapping[str, float]) -> CompileResult:
        fnd = parse(text, self.domain, self.names, now)
        b = Build(self.domain, self.kb, notes=list(fnd.notes))
        _bad_numbers(b, fnd)
        if self.semantic is not None:
            resolve_unknowns(b, fnd, self.semantic)
        ctx = _context(b, fnd)
        carry: list[tuple[Frame, str]] = []  #: last frame with a number and its KPI ("... but at most 30 %")
        for c in fnd.clauses:
            _clause(b, fnd, c, baseline, carry)
        _global_checks(b, fnd, ctx)
        enforce(b, fnd.mentions)
        if b.issues:
            return Clarification(text, tuple(b.issues), " ".join(dict.fromkeys(b.questions)),
                                 tuple(b.evidence.values()), tuple(b.notes), mapping=tuple(b.mapping))
        pols, floors, caps = ratio_policies(b)
        kinds = tuple(k for k in ACTION_KINDS if not b.kinds or k in b.kinds or k == "slice_prb_quota")
        objective = Objective(1.0, b.cost_weight, b.risk, b.risk_q, tuple(b.priority), b.verb)
        actions = ActionSet(kinds=kinds, slice_caps=caps, slice_floors=floors, headroom=b.headroom,
                            ratio_policies=pols)
        return IntentSpec(text, objective, tuple(_dedupe(b.targets)), ctx, actions, tuple(b.evidence.values()),
                          tuple(b.notes), mapping=tuple(b.mapping))


def compile_intent(text: str, domain: Domain, kb: KnowledgeBase, *, now: str | None = None,
                   baseline: Mapping[str, float] | None = None,
                   semantic: ConceptMatcher | None = None) -> CompileResult:
    return IntentCompiler(domain, kb, semantic).compile(text, now, baseline)


def _dedupe(targets: list[Target]) -> list[Target]:
    """One target per (kpi, slice, condition, links, relative): the intent's own beats the SLA's, the tighter
    bound wins."""
    out: dict[tuple[str, str | None, str, tuple[str, ...], bool], Target] = {}
    for t in targets:
        key = (t.kpi, t.slice, t.condition, t.links, t.relative)
        old = out.get(key)
        tighter = old is not None and old.source == t.source and (
            (t.condition == "IS_LESS_THAN" and t.value < old.value) or
            (t.condition == "IS_GREATER_THAN" and t.value > old.value))
        if old is None or (old.source != "intent" and t.source == "intent") or tighter:
            out[key] = t
    return list(out.values())


def _bad_numbers(b: Build, fnd: Findings) -> None:
    """Refuse numbers no target can hold, naming them: never replaced by a default (the SLA's) nor read without
    their sign."""
    for m in fnd.of("bad_number"):
        bad: BadNumber = m.value
        if bad.problem == "negative":
            b.ask("out_of_range", f"'{m.text}' is out of range: a latency, loss, throughput, share, cost or count "
                  "is never negative.", f"Which value (zero or above) did you mean by '{m.text}'?", m)
        else:
            b.ask("invalid_value", f"'{m.text}' is not a finite number: a target needs a real value, and NaN or "
                  "infinity would be no limit at all.", f"Which value did you mean instead of '{m.text}'?", m)


def _context(b: Build, fnd: Findings) -> Context:
    d = b.domain
    cells: list[int] = []
    for m in fnd.of("cell"):
        bad = [c for c in m.value if c not in d.cells]
        if bad:
            b.ask("unknown_reference", f"There is no cell {', '.join(map(str, bad))} in this network "
                  f"(cells {d.cells[0]}..{d.cells[-1]}).", "Which cells did you mean?", m)
            continue
        cells += list(m.value)
        m.use(f"context: cells {', '.join(map(str, m.value))}")
        b.map(m.text, f"area: cells {', '.join(map(str, m.value))}")
    zones = fnd.of("zone")
    zone = zones[0].value if zones else None
    for z in zones:
        z.use(f"context: zone {z.value}")
        b.map(z.text, f"area: {z.value} zone (cells {', '.join(map(str, d.zones[z.value]))})")
    if len(zones) > 1:
        b.notes.append(f"zones {', '.join(z.value for z in zones)}: the area is all their cells")
    for m in fnd.of("area_all"):
        m.use("context: every cell")
        b.map(m.text, "area: every cell")
    if not cells:
        cells = [c for z in zones for c in d.zones[z.value]]
    elif zones:
        b.notes.append("cells named together with a zone: the named cells are the area")
    times = fnd.of("time")
    window = combine([t.value for t in times])
    for t in times:
        if t.value.window is not None and window is not None:
            t.use(f"context: window {window[1]}-{window[2]}")
    if window is not None:
        b.map(" / ".join(t.text for t in times if t.used), f"time window {window[1]}-{window[2]}")
    events = fnd.of("event")
    event = events[0].value if events else None
    place = None
    if event is not None:
        for e in events:
            e.use(f"context: event {event}")
        b.map(events[0].text, f"event: {event}")
        place = zone or (f"cells {', '.join(map(str, sorted(set(cells))))}" if cells else None)
        if not cells and zone is None:
            b.ask("under_specified", f"A {event} event needs to know which cells serve it.",
                  f"Which cells serve the {event}?", events[0])
    return Context(zone, tuple(sorted(set(cells))), None if window is None else TimeWindow(*window), event, place)


def _inherit(frames: list[Frame]) -> None:
    """Frames without slices / KPIs / cells / links take the previous frame's (then the next one's)."""
    for attr in ("slices", "kpis", "cells"):
        for i in range(1, len(frames)):
            if not getattr(frames[i], attr):
                setattr(frames[i], attr, list(getattr(frames[i - 1], attr)))
        for i in range(len(frames) - 2, -1, -1):
            if not getattr(frames[i], attr):
                setattr(frames[i], attr, list(getattr(frames[i + 1], attr)))
    for i in range(1, len(frames)):
        frames[i].per = frames[i].per or frames[i - 1].per


def _slices(b: Build, fnd: Findings, f: Frame) -> list[str]:
    out: list[str] = []
    for m in f.slices:
        if len(m.value) == 1 or m.how == "all slices":
            out += [s for s in m.value if s not in out]
    if not out and not [m for m in f.slices if len(m.value) > 1]:
        single = [m for m in fnd.of("slice") if len(m.value) == 1]
        names = {m.value[0] for m in single}
        if len(names) == 1:
            out = [next(iter(names))]
            f.slices = single
    return out


def _kpi(c: Clause, f: Frame, prev: str | None) -> str | None:
    assert f.quantity is not None
    q: Quantity = f.quantity.value
    kpis = [k for k in f.kpi_names() if k != "coverage"]
    if "link_utilisation" in kpis or (f.links and not [k for k in kpis if k != "link_utilisation"]):
        return "link_utilisation"
    if "prb_share" in kpis:
        return "prb_share"
    if "energy_cost" in kpis:
        kpis = [k for k in kpis if k != "resource_cost"]
    if kpis:
        fitting = [k for k in kpis if FAMILY.get(k) == q.family]
        k = fitting[0] if fitting else kpis[0]
        if k == "reliability":
            return "reliability"
        return _per(k, f.per)
    share_words = any(w in c.text for w in lx.SHARE_WORDS)
    if q.family == "ratio" and (share_words or (f.cells and c.polarity in ("up", "down"))):
        return "prb_share"
    if q.family == "time":
        return "p99_latency_ms"
    if q.family == "rate":
        return _per("throughput_mbps", f.per)
    if q.family == "none" and share_words and 0 < q.value <= 1:
        return "prb_share"
    return prev


def _per(kpi: str, per: str | None) -> str:
    if kpi == "throughput_mbps" and per == "ue":
        return "ue_throughput_mbps"
    if kpi == "throughput_mbps" and per == "site":
        return "site_throughput_mbps"
    return kpi


def _clause(b: Build, fnd: Findings, c: Clause, baseline: Mapping[str, float],
            carry: list[tuple[Frame, str]]) -> None:
    if c.polarity == "prepare":
        qualitative.prepare(b, fnd, c)
    frames = c.frames
    _inherit(frames)
    prev: str | None = None
    if carry and frames[0].quantity is not None and not any(f.slices or f.kpis or f.links for f in frames):
        last, prev = carry[-1]
        for f in frames:  # a clause that only adds a number continues the previous one
            f.slices, f.kpis, f.cells, f.per = list(last.slices), list(last.kpis), list(last.cells), last.per
    for f in frames:
        slices = _slices(b, fnd, f)
        for m in fnd.of("per"):
            if f.per == m.value and (f.quantity is None or m in c.mentions):
                m.use(f"per-{m.value} throughput")
        vague = [m for m in f.slices if len(m.value) > 1 and m.how != "all slices"]
        if vague and not slices:
            m = vague[0]
            b.ask("under_specified", f"'{m.text}' is carried by several slices here: {', '.join(m.value)}.",
                  f"Which slice did you mean by '{m.text}'?", m, *([f.quantity] if f.quantity else []), *f.kpis)
            continue
        if f.quantity is None:
            qualitative.frame(b, fnd, c, f, slices)
            continue
        kpi = _kpi(c, f, prev)
        if kpi is None:
            continue  # the coverage check asks what the number applies to
        prev = kpi
        carry.append((f, kpi))
        if kpi == "prb_share":
            cells = [x for m in f.cells for x in m.value if x in b.domain.cells]
            share_frame(b, fnd, c, f, slices, cells)
        elif kpi == "reliability":
            _reliability_value(b, fnd, c, f, slices, baseline)
        else:
            quantity_target(b, fnd, c, f, kpi, slices, baseline)
        if f.quantity.used:  # the frame's words belong to what its number became (or to the question about it)
            for m in (*f.slices, *f.kpis, *f.cells, *f.links):
                m.use(f"with '{f.quantity.text}'")


def _reliability_value(b: Build, fnd: Findings, c: Clause, f: Frame, slices: list[str],
                       baseline: Mapping[str, float]) -> None:
    """"reliability of 99.999 %" = a loss ceiling of 1 - 0.99999 (TR 38.913: success probability)."""
    assert f.quantity is not None
    q: Quantity = f.quantity.value
    if q.family != "ratio" or not 0 < q.value < 1 or f.comparator in ("by",):
        b.ask("under_specified", f"'{f.quantity.text}': a reliability is a success probability below 100 %.",
              "Which reliability (e.g. 99.999 %)?", f.quantity)
        return
    b.cite_id("ts38913-urllc")
    ceiling = round(1.0 - q.value, 12)
    b.notes.append(f"reliability {100 * q.value:g} % read as a packet loss ceiling of {ceiling:g} (TR 38.913)")
    f.quantity.value = Quantity(ceiling, "fraction", "ratio")
    f.comparator = "below"
    b.risk, b.risk_q = 1.0, 0.1
    quantity_target(b, fnd, c, f, "packet_loss", slices, baseline)


def _global_checks(b: Build, fnd: Findings, ctx: Context) -> None:
    d = b.domain
    check_reservations(b)
    if not b.meaningful and not b.issues:
        b.ask("under_specified", "I could not find what the network should achieve: no KPI (latency, reliability, "
              "loss, throughput, cost, energy, coverage, link utilisation), PRB share or slice objective in the "
              "intent.", f"Which KPI of which slice ({', '.join(d.slice_names())}) should change, and where?")
    seen: dict[tuple[str, str | None, tuple[str, ...], bool], list[Target]] = {}
    for t in b.targets:
        if t.source == "intent":
            seen.setdefault((t.kpi, t.slice, t.links, t.relative), []).append(t)
    contradicted: set[tuple[str, str | None]] = set()
    for (kpi, sl, _, _), ts in seen.items():
        lo = max((t.value for t in ts if t.condition == "IS_GREATER_THAN"), default=None)
        hi = min((t.value for t in ts if t.condition == "IS_LESS_THAN"), default=None)
        if lo is not None and hi is not None and lo >= hi:
            contradicted.add((kpi, sl))
            b.ask("contradictory", f"{kpi} of {sl or 'the area'} must be above {lo:g} and below {hi:g} at once.",
                  "Which bound should hold?")
    for t, q in b.latency_checks:
        if (t.kpi, t.slice) not in contradicted and t.slice is not None and \
                not latency_ok(b, fnd, t.value, t.slice, q):
            b.targets.remove(t)
    cost_down = any(t.kpi in ("resource_cost", "energy_cost") and t.condition == "IS_LESS_THAN" and t.value < 1.0
                    for t in b.targets)
    floors = {s: r.min for (s, _), r in b.reservations.items() if r.min is not None}
    if cost_down and (b.grow_all or (len(floors) == len(d.slices) and sum(floors.values()) > 0.99)):
        b.cite("energy cost PRBs in use", 1)
        b.ask("over_constrained", "Cutting cost means fewer active PRBs, yet every slice should grow: both "
              "cannot hold at once.", "Which matters more: the cost cut or more capacity for every slice?")
    grows = [t for t in b.targets if t.source == "intent" and t.relative and t.condition == "IS_GREATER_THAN"
             and t.kpi.endswith("throughput_mbps")]
    if cost_down and len({t.slice for t in grows}) == len(d.slices):
        b.ask("over_constrained", "Cutting cost means fewer active PRBs, yet every slice's throughput should grow.",
              "Which matters more: the cost cut or more capacity for every slice?")
    if ctx.event and not any(c.polarity == "prepare" for c in fnd.clauses) and not b.issues and not b.meaningful:
        b.ask("under_specified", f"What should happen for the {ctx.event}?", "Should the cells prepare for it?")
    if re.search(r"\bconfirm\b", fnd.low) and not fnd.confirmed_stricter:
        b.notes.append("'confirm' read as an acknowledgement")


__all__ = ["IntentCompiler", "Mention", "compile_intent"]

"""The coverage check: every quantity, unit, place, time and named object of the intent ends up in the spec or
in a question that names it -- never silently dropped (pure).

``enforce`` runs at the end of every compile: a mention that became nothing turns into an issue naming its
words. ``llm_drops`` holds an LLM's spec to the same rule: each number of the text must appear in it.
"""

from __future__ import annotations

from rapps.intent_agent.compiler.mentions import COVERED, Mention, Quantity
from rapps.intent_agent.compiler.spec import IntentSpec
from rapps.intent_agent.compiler.state import Build
from rapps.intent_agent.compiler.times import TimeFind

KPI_LIST = ("p99 latency, packet loss, reliability, throughput (per slice, per UE or per site), PRB shares and "
            "RRMPolicyRatio reservations, resource and energy cost, transport link utilisation")


def uncovered(mentions: list[Mention]) -> list[Mention]:
    return [m for m in mentions if m.kind in COVERED and not m.used]


def enforce(b: Build, mentions: list[Mention]) -> None:
    """Ask about every mention that became nothing (the compiler's own guarantee against silent drops)."""
    for m in uncovered(mentions):
        if m.kind == "quantity":
            q: Quantity = m.value
            what = "a multiple" if q.family == "multiple" else "a number"
            b.ask("unaccounted", f"I could not tell what '{m.text}' ({what}) applies to: no KPI, share or slice "
                  "of the intent takes it.", f"What should '{m.text}' apply to (a KPI of which slice, or a PRB share)?",
                  m)
        elif m.kind == "place":
            zones = ", ".join(sorted(b.domain.zones))
            b.ask("unknown_reference", f"I do not know a place called '{m.text}' in this network; the known zones "
                  f"are {zones}.", f"Which zone or which cells is '{m.text}'?", m)
        elif m.kind == "object":
            if m.value == "link":
                b.ask("unknown_reference", f"There is no transport link '{m.text}'; the links are "
                      f"{', '.join(b.domain.links)} (groups: {', '.join(sorted(b.domain.link_groups))}).",
                      f"Which link did you mean by '{m.text}'?", m)
            else:
                b.ask("unknown_reference", f"I do not know '{m.text}': it is not a slice, service, customer, zone or "
                      "link of this network.", f"What is '{m.text}': which slice, customer or place?", m)
        elif m.kind == "unsupported":
            b.ask("unsupported", f"The agent cannot measure or steer {m.value} ('{m.text}'); it works with {KPI_LIST}.",
                  f"Which of these should stand in for '{m.text}'?", m)
        elif m.kind == "time":
            _time(b, m)
        elif m.kind == "slice":
            names = tuple(m.value)
            if len(names) > 1 and m.how not in ("all slices",):
                b.ask("under_specified", f"'{m.text}' is carried by several slices here: {', '.join(names)}.",
                      f"Which slice did you mean by '{m.text}'?", m)
            else:
                b.ask("unaccounted", f"I could not tell what should happen to '{m.text}' "
                      f"({', '.join(names) or 'no slice'}).", f"What should change for '{m.text}'?", m)
        else:
            b.ask("unaccounted", f"I could not tell what '{m.text}' means for the intent.",
                  f"What should happen with '{m.text}'?", m)


def _time(b: Build, m: Mention) -> None:
    t: TimeFind = m.value
    if t.problem == "needs_clock":
        b.ask("under_specified", f"'{m.text}' is relative to now, and this compile has no agent clock.",
              f"Which clock times does '{m.text}' mean (e.g. 18:00-20:00)?", m)
    elif t.problem == "date":
        b.ask("unsupported", f"'{m.text}' names a day or a span of days; intent windows are daily time-of-day ranges "
              "that repeat every day.", f"Which daily time window should '{m.text}' become (e.g. 07:00-09:00), "
              "or should the intent hold at all times?", m)
    else:
        b.ask("contradictory", f"'{m.text}' is a second time window; the intent can hold one.",
              "Which time window should hold?", m)


def _spec_values(spec: IntentSpec) -> list[float]:
    vals: list[float] = []
    for t in spec.targets:
        vals += [t.value, *([t.upper] if t.upper is not None else [])]
        if t.relative:
            vals += [round(1.0 - t.value, 9), round(t.value - 1.0, 9)]
    a = spec.actions
    vals += [v for _, v in a.slice_caps] + [v for _, v in a.slice_floors] + [a.headroom]
    for r in a.ratio_policies:
        vals += [v for v in (r.dedicated, r.min, r.max) if v is not None]
    vals += [float(c) for c in spec.context.cells]
    w = spec.context.window
    if w is not None:
        vals += [float(x) for x in (*w.start.split(":"), *w.end.split(":"))]
    return vals


def llm_drops(spec: IntentSpec, mentions: list[Mention]) -> list[str]:
    """Numbers of the text (as the grammar read them) that the LLM's spec does not hold anywhere."""
    vals = _spec_values(spec)
    out = []
    for m in mentions:
        if m.kind != "quantity":
            continue
        q: Quantity = m.value
        want = [q.value, *([q.upper] if q.upper is not None else [])]
        if q.family == "multiple":
            want = [q.value, round(1.0 / q.value, 9) if q.value else 0.0]
            if not any(abs(v - w) <= 1e-6 + 1e-3 * abs(w) for w in want for v in vals):
                out.append(m.text)
            continue
        if not all(any(abs(v - w) <= 1e-6 + 1e-3 * abs(w) or abs(v - 100 * w) <= 1e-6 for v in vals) for w in want):
            out.append(m.text)
    return out

"""What an intent mentions: quantities, cells, links, zones and places, times, events, slices (by name, service,
customer, SST or 5QI), KPIs, and named objects the compiler does not know (pure).

Each :class:`Mention` keeps its span in the normalised text and records what it became; the coverage check
(``coverage.py``) turns every mention that became nothing into a question that names it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from rapps.intent_agent.compiler import lexicon as lx
from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.resolve import SliceNames
from rapps.intent_agent.compiler.times import find_times

#: kinds the coverage check holds the compiler to (everything a number, unit, place, time or name stands for)
COVERED = ("quantity", "bad_number", "cell", "zone", "place", "link", "time", "event", "slice", "unsupported",
           "object")


@dataclass
class Quantity:
    value: float
    unit: str  #: canonical: ms, fraction, mbps, x (a multiple), "" (bare number)
    family: str  #: time | ratio | rate | multiple | none
    upper: float | None = None  #: a range "between a and b"


@dataclass(frozen=True)
class BadNumber:
    """A number the intent cannot hold: ``not_finite`` (NaN, infinity, a literal beyond the double range such as
    1e400) or ``negative`` (-5 ms, minus 5 ms: no KPI, share or cost of an intent is below zero)."""

    problem: str  #: not_finite | negative


@dataclass
class Mention:
    kind: str  #: quantity | bad_number | cell | zone | area_all | place | link | time | event | slice | kpi | per |
    #: sla | unsupported | object
    start: int
    end: int
    text: str
    value: Any = None
    how: str = ""  #: how a name was resolved (catalogue, SST, semantic match ...)
    became: list[str] = field(default_factory=list)  #: what the compiler made of it

    def use(self, what: str) -> None:
        if what not in self.became:
            self.became.append(what)

    @property
    def used(self) -> bool:
        return bool(self.became)


class _Taken:
    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in self.spans)

    def take(self, a: int, b: int) -> None:
        self.spans.append((a, b))


_UNIT = (r"ms|msec|milliseconds?|seconds?|secs?|s|us|µs|microseconds?|%|percent|per\s?cent|pct|permille|mbps|"
         r"mbit/s|mb/s|mbits/s|megabits?(?:\s+per\s+second)?|gbps|gbit/s|gb/s|gigabits?(?:\s+per\s+second)?|kbps|"
         r"kbit/s|x|times")
_NUMBER = r"\d+(?:\.\d+)?(?:e-?\d+)?"
_NUM_UNIT = re.compile(rf"(?<![\w.])({_NUMBER})\s*({_UNIT})?(?![\w/])", re.I)
_BETWEEN = re.compile(rf"\bbetween\s+({_NUMBER})\s*({_UNIT})?\s*(?:and|-|to)\s+({_NUMBER})\s*({_UNIT})?(?![\w/])",
                      re.I)
_DASH_RANGE = re.compile(rf"(?<![\w.])({_NUMBER})\s*(?:-|–|to)\s*({_NUMBER})\s*({_UNIT})(?![\w/])", re.I)
#: NaN / infinity written out, with an optional sign and unit ("below NaN ms", "under inf ms", "∞ %")
_NOT_FINITE = re.compile(rf"(?<![\w.])[-+−]?(?:nan|inf(?:inity)?|∞)(?![\w])(?:\s*(?:{_UNIT})(?![\w/]))?", re.I)
#: a number with a minus sign ("-5 ms", "−5 ms") or a spoken one after a comparison ("below minus 5 ms")
_NEGATIVE = re.compile(rf"(?<![\w.\-−–])(?P<sign>[-−]\s?{_NUMBER}(?:\s*(?:{_UNIT}))?)(?![\w/])|"
                       rf"(?:\b(?:below|under|above|over|than|to|at|of|is|be|exceeds?|within|by|most|least|about|around|near|"
                       rf"reach|equals?)|[<>=≤≥])\s+"
                       rf"(?P<word>(?:minus|negative)\s+{_NUMBER}(?:\s*(?:{_UNIT}))?)(?![\w/])", re.I)
_LIST = re.compile(rf"(?<![\w.])({_NUMBER})\s*(?:,|and|or|/)\s*(?:{_NUMBER}\s*(?:,|and|or|/)\s*)*({_NUMBER})\s*"
                   rf"({_UNIT})(?![\w/])", re.I)
_CELLS = re.compile(r"\b(?:cells?|sites?|gnbs?|gnodebs?)\s*(?:#|no\.?|number)?\s*(\d+(?:\s*(?:,|and|&|or|-|to)\s*"
                    r"(?:cells?\s*)?#?\s*\d+(?!\d)(?!\s*(?:%|percent|ms|mbps|x\b)))*)", re.I)
_ALL_AREA = re.compile(r"\b(?:all|every|each)\s+(?:the\s+)?cells?\b|\b(?:whole|entire)\s+(?:network|city|area)\b|"
                       r"\beverywhere\b|\bnetwork[\s-]wide\b|\bcity[\s-]wide\b|\bacross\s+the\s+(?:city|network)\b")
_ALL_SLICES = re.compile(r"\b(?:all|every|each)\s+(?:the\s+|of\s+the\s+)?slices?\b|\bevery\s+slice\b")
_SLA = re.compile(r"\bslas?\b|\bservice[\s-]level\b|\bagreed\s+(?:value|target|level)s?\b")
_PER_UE = re.compile(r"\bper[\s-](?:user|ue|subscriber|device|customer|household|home|terminal|connection)s?\b|"
                     r"\b(?:user|ue|subscriber|device)[\s-](?:throughput|speed|rate|bitrate)s?\b|"
                     r"\b(?:each|every)\s+(?:[a-z]+\s+)?(user|ue|subscriber|device|customer|household|home)\b")
_PER_SITE = re.compile(r"\bper[\s-](?:site|cell|gnb|gnodeb|sector)s?\b|\b(?:site|cell)[\s-](?:throughput|capacity)\b"
                       r"|\b(?:each|every)\s+(?:site|sector)\b")
VENUES = ("stadium", "arena", "venue", "hall", "dome")  #: a nameless venue is where the event's cells are
_CAPWORD = re.compile(r"(?<![\w'])([A-Z][A-Za-z0-9'&\-]+(?:\s+[A-Z][A-Za-z0-9'&\-]+)*)")


def _quantity(num: str, unit: str | None) -> Quantity:
    v = float(num)
    u = re.sub(r"\s+", "", (unit or "").lower())
    if u in ("x", "times"):
        return Quantity(v, "x", "multiple")
    if u.startswith("perc") or u in ("per-cent", "pct"):
        u = "%"
    elif u.startswith("megabit") or u == "mbits/s":
        u = "mbps"
    elif u.startswith("gigabit"):
        u = "gbps"
    elif u in ("secs", "sec", "seconds", "second"):
        u = "s"
    elif u == "permille":
        return Quantity(v * 0.001, "fraction", "ratio")
    fam, k = lx.UNITS.get(u, lx.UNITS.get(u.rstrip("s"), ("none", 1.0)))
    canon = {"time": "ms", "ratio": "fraction", "rate": "mbps"}.get(fam, "")
    return Quantity(round(v * k, 12), canon, fam)


def _cells(group: str) -> tuple[int, ...]:
    out: list[int] = []
    for m in re.finditer(r"(\d+)\s*(?:(?:-|to)\s*(\d+))?", group):
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        out += list(range(a, b + 1)) if 0 <= b - a <= 64 else [a, b]
    return tuple(dict.fromkeys(out))


def find_mentions(text: str, low: str, domain: Domain, names: SliceNames, now: str | None) -> list[Mention]:
    """All mentions of ``low`` (the lower-case normalised ``text``), non-overlapping, in text order."""
    out: list[Mention] = []
    taken = _Taken()

    def add(kind: str, a: int, b: int, value: Any = None, how: str = "") -> Mention | None:
        if not taken.free(a, b):
            return None
        taken.take(a, b)
        m = Mention(kind, a, b, text[a:b], value, how)
        out.append(m)
        return m

    for t in find_times(low, now):
        add("time", t.start, t.end, t)
    for m in _CELLS.finditer(low):
        add("cell", m.start(), m.end(), _cells(m.group(1)))
    _links(low, domain, add)
    for h in names.find(low):  # before zones: "hospital devices" is a service, "the hospital zone" a place
        add("slice", h.start, h.end, h.slices, f"{h.how} ({h.doc_id})")
    for name in sorted(domain.zones, key=len, reverse=True):
        pat = re.escape(name.lower()).replace(r"\-", r"[\s\-]")
        for m in re.finditer(rf"\b{pat}\b(?:\s+(?:zone|area|district))?", low):
            add("zone", m.start(), m.end(), name)
    for m in _ALL_AREA.finditer(low):
        add("area_all", m.start(), m.end())
    _places(text, low, domain, add)
    for e in lx.EVENTS:
        for m in re.finditer(rf"\b{e}(?:es|s)?\b", low):
            add("event", m.start(), m.end(), e)
    for m in _ALL_SLICES.finditer(low):
        add("slice", m.start(), m.end(), domain.slice_names(), "all slices")
    slice_words = {**lx.SLICE_WORDS, **{s.lower(): s for s in domain.slice_names()}}
    for w, s in slice_words.items():
        if not domain.has_slice(s):
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low):
            add("slice", m.start(), m.end(), (s,), "slice name")
    for w, label in lx.UNSUPPORTED_KPIS.items():
        for m in re.finditer(rf"\b{re.escape(w)}\b", low):
            add("unsupported", m.start(), m.end(), label)
    for m in _PER_UE.finditer(low):  # "every eMBB user": only the noun, the slice stays a slice
        a = m.start(1) if m.group(1) else m.start()
        add("per", a, m.end(), "ue")
    for m in _PER_SITE.finditer(low):
        add("per", m.start(), m.end(), "site")
    for m in re.finditer(r"\b(?:energy|power|electricity)\s+(?:cost|costs|consumption|use|usage|bill|draw)\b", low):
        add("kpi", m.start(), m.end(), "energy_cost")
    for m in re.finditer(r"\b(?:resource|prb|radio)\s+(?:cost|costs|usage|use|consumption)\b", low):
        add("kpi", m.start(), m.end(), "resource_cost")
    for w, k in lx.KPI_WORDS.items():
        for m in re.finditer(rf"\b{re.escape(w)}\b", low):
            add("kpi", m.start(), m.end(), k)
    for m in _SLA.finditer(low):
        add("sla", m.start(), m.end())
    _quantities(low, add)
    _objects(text, low, domain, taken, add)
    out.sort(key=lambda m: m.start)
    return out


def _links(low: str, domain: Domain, add: Any) -> None:
    for name in domain.links:
        for m in re.finditer(rf"(?:\b(?:the\s+)?links?\s+)?(?<![\w-]){re.escape(name.lower())}(?![\w-])(?:\s+links?)?",
                             low):
            add("link", m.start(), m.end(), (name, (name,)))
    for m in re.finditer(r"\blinks?\s+([a-z0-9]+-[a-z0-9]+)\b|(?<![\w-])([a-z0-9]+-hub)\b", low):
        add("object", m.start(), m.end(), "link", "unknown link")
    for g, members in sorted(domain.link_groups.items(), key=lambda x: -len(x[0])):
        pats = [rf"(?<![\w-])(?:the\s+)?{g}\s+(?:transport\s+|backhaul\s+)?links?\b",
                rf"\blinks?\s+(?:of|in|along|on|through|across)\s+the\s+{g}\b",
                rf"(?<![\w-]){g}\s+(?:backhaul|transport)(?:\s+network)?\b"]
        for p in pats:
            for m in re.finditer(p, low):
                add("link", m.start(), m.end(), (g, members))
    if "backhaul" in domain.link_groups:  # the generic words last: "corridor backhaul" is the corridor group
        for p in (r"\b(?:the\s+)?backhaul(?:\s+links?)?\b", r"\btransport\s+(?:network|links?)\b",
                  r"\ball\s+(?:the\s+)?links\b"):
            for m in re.finditer(p, low):
                add("link", m.start(), m.end(), ("backhaul", domain.link_groups["backhaul"]))


def _places(text: str, low: str, domain: Domain, add: Any) -> None:
    nouns = "|".join(lx.PLACE_NOUNS)
    generic = {"the", "area", "zone", "same", "whole", "entire", "this", "that", "our", "my", "its", "their", "an",
               "a", "cell", "cells", "network", "city"}
    word = r"(?!(?:at|in|for|near|around|the|to|and|or|of|on|with|while|during)\b)[a-z0-9'\-]+"
    for m in re.finditer(rf"\b(?:in|at|around|near|inside|across|by|outside|to|for)\s+(the\s+|an?\s+)?"
                         rf"((?:{word}\s+){{0,3}}(?:{nouns}))\b", low):
        words = m.group(2).split()
        article = (m.group(1) or "").strip()
        if all(w in generic for w in words[:-1]) and (words[-1] in ("area", "zone", "cell", "network") or
                                                       article in ("a", "an") or words[-1] in VENUES):
            continue  # "the area", "a stadium", "the stadium" (an event venue: its cells say where)
        add("place", m.start(2), m.end(2), m.group(2))
    for m in re.finditer(r"\b(?:at|in|near|around)\s+(?:the\s+)?([A-Z][\w'\-]*(?:\s+[A-Z][\w'\-]*)*)", text):
        phrase = m.group(1)
        if phrase.lower() in {z.lower() for z in domain.zones} or phrase.lower() in lx.SLICE_WORDS or \
                phrase.lower() in {s.lower() for s in domain.slice_names()}:
            continue
        add("place", m.start(1), m.end(1), phrase)
    for m in re.finditer(r"\b(downtown|city\s+cent(?:re|er)|the\s+airport|old\s+town|the\s+harbou?r|the\s+port)\b",
                         low):
        add("place", m.start(), m.end(), m.group(1))


def _finite(q: Quantity) -> bool:
    return math.isfinite(q.value) and (q.upper is None or math.isfinite(q.upper))


def _quantities(low: str, add: Any) -> None:
    def quantity(a: int, b: int, q: Quantity, how: str = "") -> None:
        if _finite(q):  # "1e400 ms" parses as inf: no quantity, a number the intent cannot hold
            add("quantity", a, b, q, how)
        else:
            add("bad_number", a, b, BadNumber("not_finite"))

    for m in _NOT_FINITE.finditer(low):
        add("bad_number", m.start(), m.end(), BadNumber("not_finite"))
    for m in _BETWEEN.finditer(low):
        unit = m.group(4) or m.group(2)
        q = _quantity(m.group(1), unit)
        q.upper = _quantity(m.group(3), unit).value
        quantity(m.start(), m.end(), q, "range")
    for m in _DASH_RANGE.finditer(low):
        q = _quantity(m.group(1), m.group(3))
        q.upper = _quantity(m.group(2), m.group(3)).value
        quantity(m.start(), m.end(), q, "range")
    for m in _NEGATIVE.finditer(low):  # after the ranges: "10-20 ms" and "10 - 20 ms" are ranges, not -20
        g = "sign" if m.group("sign") else "word"
        add("bad_number", m.start(g), m.end(g), BadNumber("negative"))
    shared: dict[int, str] = {}
    for m in _LIST.finditer(low):  # "10 and 50 ms": the first number shares the unit of the last
        for n in re.finditer(_NUMBER, m.group(0)[: m.start(2) - m.start()]):
            shared[m.start() + n.start()] = m.group(3)
    for m in _NUM_UNIT.finditer(low):
        unit = m.group(2) or shared.get(m.start())
        if unit is not None and unit.lower() == "s" and low[m.end(2):m.end(2) + 1] == "'":
            unit = None
        quantity(m.start(), m.end(), _quantity(m.group(1), unit), "shared unit" if m.group(2) is None and unit else "")
    for w, f in lx.MULTIPLIER_VERBS.items():
        for m in re.finditer(rf"\b{w}\b", low):
            add("quantity", m.start(), m.end(), Quantity(f, "x", "multiple"), "multiplier verb")


def _objects(text: str, low: str, domain: Domain, taken: _Taken, add: Any) -> None:
    """Capitalised names the compiler does not know ("Acme Corp", "Riverside Arena"): named objects."""
    known = set(lx.vocabulary(domain.slice_names() + tuple(domain.zones) + domain.links)) | lx.COMMON
    for m in _CAPWORD.finditer(text):
        a, b = m.start(1), m.end(1)
        sentence_start = a == 0 or re.search(r"[.!?;:]\s*$", text[:a]) is not None
        words = m.group(1).split()
        if sentence_start:
            if len(words) == 1:
                continue
            a += len(words[0]) + 1
            words = words[1:]
        if all(w.lower() in known or w.lower().rstrip("s") in known or (w.isupper() and len(w) <= 4 and
               w.lower() in known) for w in words):
            continue
        if not taken.free(a, b):
            continue
        if all(w.lower() in known for w in words):
            continue
        add("object", a, b, " ".join(words), "named object")

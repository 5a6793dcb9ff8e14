"""Grammar pass: natural language -> findings (clauses with verbs, slices, KPIs, numbers, area, time); pure.

The text is normalised (typos repaired against the lexicon, units attached to numbers, cell lists and time
ranges lifted out first), then split into clauses at connectives; each clause keeps its own verb polarity,
slices, KPIs, comparator and quantity so "keep X below 5 ms while limiting Y" yields two expectations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapps.intent_agent.compiler import lexicon as lx
from rapps.intent_agent.compiler.domain import Domain


@dataclass
class Quantity:
    value: float
    unit: str  #: canonical: ms, fraction, mbps, "" (bare number)
    family: str  #: time, ratio, rate, none
    upper: float | None = None  #: a range "between a and b"


@dataclass
class Clause:
    text: str
    polarity: str  #: up | keep | down | prepare | none
    slices: list[str] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)
    comparator: str | None = None  #: below | above | near | by
    quantity: Quantity | None = None
    negated: bool = False  #: "without violating ..."
    more: list[tuple[str | None, Quantity]] = field(default_factory=list)  #: further (comparator, quantity)


@dataclass
class Findings:
    text: str  #: normalised text
    clauses: list[Clause]
    zone: str | None
    unknown_areas: list[str]
    cells: list[int]
    window: tuple[str, str, str] | None  #: (label, start, end)
    event: str | None
    confirmed_stricter: bool
    notes: list[str]
    all_slices: list[str]


_CELLS = re.compile(r"\bcells?\s*#?\s*(\d+(?:\s*(?:,|and|&|or)\s*#?\s*\d+)*)", re.I)
_RANGE_TIME = re.compile(r"\b(?:from|between)\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm|h)?\s*(?:to|and|-|until)\s+"
                         r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|h)?", re.I)
_CLOCK_RANGE = re.compile(r"\b(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\b")
_NUM_UNIT = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*(ms|msec|milliseconds?|seconds?|secs?|s|us|µs|"
                       r"microseconds?|%|percent|per\s?cent|pct|mbps|mbit/s|mb/s|gbps|gbit/s|kbps|kbit/s)?(?![\w])",
                       re.I)
_BETWEEN = re.compile(r"\bbetween\s+(\d+(?:\.\d+)?)\s*(?:and|-|to)\s+(\d+(?:\.\d+)?)\s*([a-zµ%/]+)?", re.I)
_SPLIT = re.compile(r"\s*(?:;|,|\bwhile\b|\bwhilst\b|\bbut\b|\band also\b|\bas well as\b|\bplus\b|(?=\bwithout\b)"
                    r"|\band\s+(?=(?:keep|limit|reduce|preserve|maintain|ensure|prioriti[sz]e|maximi[sz]e|"
                    r"minimi[sz]e|increase|cut|lower|give|cap|improve|protect|guarantee)\b)"
                    r"|(?=\b(?:keeping|limiting|preserving|maintaining|ensuring|reducing|capping)\b))\s*", re.I)
_AREA_WORD = re.compile(r"\b(?:in|at|around|near|for)\s+(?:the\s+)?([a-z][a-z\-]+)\s+(zone|area|district)\b", re.I)


def _hhmm(h: str, m: str | None, ampm: str | None) -> str:
    hour = int(h) % 24
    if ampm and ampm.lower() == "pm" and hour < 12:
        hour += 12
    if ampm and ampm.lower() == "am" and hour == 12:
        hour = 0
    return f"{hour:02d}:{int(m or 0):02d}"


def _quantity(num: str, unit: str | None) -> Quantity:
    v = float(num.replace(",", "."))
    u = (unit or "").lower().replace(" ", "")
    if u in ("secs", "sec"):
        u = "s"
    if u.startswith("percent") or u == "percent":
        u = "%"
    fam, k = lx.UNITS.get(u, ("none", 1.0))
    canon = {"time": "ms", "ratio": "fraction", "rate": "mbps"}.get(fam, "")
    return Quantity(v * k, canon, fam)


def parse(raw: str, domain: Domain) -> Findings:
    vocab = lx.vocabulary(domain.slice_names() + tuple(domain.zones))
    text, notes = lx.repair_typos(" ".join(raw.split()), vocab)
    low = text.lower()
    cells: list[int] = []
    for m in _CELLS.finditer(text):
        cells += [int(x) for x in re.findall(r"\d+", m.group(1))]
    low = _CELLS.sub(" the cells ", low)
    window = None
    tm = _RANGE_TIME.search(low)
    if tm and (tm.group(3) or tm.group(6) or tm.group(2) or tm.group(5)):
        window = ("window", _hhmm(tm.group(1), tm.group(2), tm.group(3) or tm.group(6)),
                  _hhmm(tm.group(4), tm.group(5), tm.group(6)))
        low = low.replace(tm.group(0), " ")
    elif (m2 := _CLOCK_RANGE.search(low)) is not None:
        window = ("window", _hhmm(m2.group(1), m2.group(2), None), _hhmm(m2.group(3), m2.group(4), None))
        low = low.replace(m2.group(0), " ")
    else:
        for word, (w_start, w_end) in lx.WINDOWS.items():
            baseline = re.search(rf"\b{word}\s+(?:cost\s+)?baseline", low)
            if re.search(rf"\b{word}\b(?!\s+baseline)", low) and not baseline:
                if word == "daytime" and not re.search(r"\b(?:during|in|over|for)\s+(?:the\s+)?daytime", low):
                    continue
                window = (f"{word} peak" if word in ("evening", "morning") else word, w_start, w_end)
                break
    zone = None
    for name in sorted(domain.zones, key=len, reverse=True):
        pat = re.escape(name.lower()).replace(r"\-", r"[\s\-]")
        if re.search(rf"\b{pat}\b", low):
            zone = name
            low = re.sub(rf"\b{pat}\b(\s+(?:zone|area))?", " the area ", low)
            break
    unknown = [m.group(1) for m in _AREA_WORD.finditer(low) if m.group(1) not in ("the", "area")
               and m.group(1) not in {n.lower() for n in domain.zones}]
    event = next((e for e in lx.EVENTS if re.search(rf"\b{e}\b", low)), None)
    confirmed = any(c in low for c in lx.CONFIRM)
    slice_map = {**lx.SLICE_WORDS, **{s.lower(): s for s in domain.slice_names()}}
    canon = {s.lower(): s for s in domain.slice_names()}
    clauses: list[Clause] = []
    for part in _SPLIT.split(low):
        part = part.strip()
        if not part:
            continue
        words = re.findall(r"[a-zµ%<>=/\-]+|\d+(?:\.\d+)?", part)
        polarity = "none"
        for w in words:
            if w in lx.PREPARE_VERBS:
                polarity = "prepare"
            elif w in lx.DOWN_VERBS:
                polarity = "down"
            elif w in lx.UP_VERBS:
                polarity = "up"
            elif w in lx.KEEP_VERBS:
                polarity = "keep"
            else:
                continue
            break
        c = Clause(part, polarity, negated=bool(re.search(r"\bwithout\b|\bnot\b|\bnever\b", part)))
        if re.search(r"\b(?:all|every|each)\s+(?:the\s+)?slices?\b", part):
            c.slices = list(domain.slice_names())
        for w in words:
            s = slice_map.get(w)
            if s is not None and canon.get(s.lower()) and canon[s.lower()] not in c.slices:
                c.slices.append(canon[s.lower()])
            k = lx.KPI_WORDS.get(w)
            if k is not None and k not in c.kpis:
                c.kpis.append(k)
        if "energy_cost" in c.kpis and "resource_cost" in c.kpis:
            c.kpis.remove("resource_cost")
        if "low latency" in part and "URLLC" in canon.values() and not c.slices and "p99_latency_ms" not in c.kpis:
            c.kpis.append("p99_latency_ms")
        b = _BETWEEN.search(part)
        if b:
            q = _quantity(b.group(1), b.group(3))
            q.upper = _quantity(b.group(2), b.group(3)).value
            c.quantity, c.comparator = q, "range"
        else:
            for i, mm in enumerate(_NUM_UNIT.finditer(part)):
                q = _quantity(mm.group(1), mm.group(2))
                before = part[: mm.start()].split()[-3:]
                comp: str | None = None
                if "by" in before:
                    comp = "by"
                elif any(w in lx.ABOVE for w in before):
                    comp = "above"
                elif any(w in lx.BELOW for w in before) or ("than" in before and "less" in part):
                    comp = "below"
                elif any(w in lx.NEAR for w in before):
                    comp = "near"
                if i == 0:
                    c.quantity, c.comparator = q, comp
                else:
                    c.more.append((comp, q))
        if c.comparator is None and any(w in lx.NEAR for w in words) and "baseline" in part:
            c.comparator = "near"
        if c.comparator is None and "baseline" in part and re.search(r"\b(?:no more than|not above|at most)\b", part):
            c.comparator = "below"
        clauses.append(c)
    all_slices = [s for s in domain.slice_names() if any(s in c.slices for c in clauses)]
    return Findings(text, clauses, zone, unknown, cells, window, event, confirmed, notes, all_slices)

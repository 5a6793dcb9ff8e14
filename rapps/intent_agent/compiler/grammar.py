"""Grammar pass: natural language -> findings (mentions, clauses, frames); pure.

The text is normalised (abbreviations expanded, number words turned into digits, typos repaired against the
lexicon; every rewrite is a note), its mentions found (``mentions.py``), then split into clauses at
connectives. Each clause keeps its verb polarity and whether it is a constraint ("without ...", "unless ...");
within a clause every quantity opens a *frame* that binds the slices, KPIs, cells and links that belong to it
("URLLC latency under 10 ms and eMBB under 50 ms": two frames), with the comparator read from the words
before the number, negations included ("do not let X exceed 5 ms" is an upper bound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapps.intent_agent.compiler import lexicon as lx
from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.mentions import Mention, find_mentions
from rapps.intent_agent.compiler.numbers import normalise_numbers
from rapps.intent_agent.compiler.resolve import SliceNames


@dataclass
class Frame:
    quantity: Mention | None
    comparator: str | None  #: below | above | near | equal | by | to | from | range | None
    slices: list[Mention] = field(default_factory=list)
    kpis: list[Mention] = field(default_factory=list)
    cells: list[Mention] = field(default_factory=list)
    links: list[Mention] = field(default_factory=list)
    per: str | None = None  #: "ue" | "site": per-UE / per-site throughput
    text: str = ""

    def slice_names(self) -> list[str]:
        return list(dict.fromkeys(s for m in self.slices for s in m.value))

    def kpi_names(self) -> list[str]:
        return list(dict.fromkeys(str(m.value) for m in self.kpis))


@dataclass
class Clause:
    text: str
    start: int
    end: int
    polarity: str  #: up | keep | down | prepare | none
    verb: str | None
    constraint: bool  #: "without ...", "unless ...": a bound the rest must respect
    mentions: list[Mention]
    frames: list[Frame]
    sla: bool  #: the clause speaks of the SLA (relative changes apply to it)
    dedicated: bool  #: "dedicated" / "exclusive" reservation wording

    def of(self, kind: str) -> list[Mention]:
        return [m for m in self.mentions if m.kind == kind]


@dataclass
class Findings:
    text: str  #: normalised text
    low: str
    mentions: list[Mention]
    clauses: list[Clause]
    notes: list[str]
    confirmed_stricter: bool

    def of(self, kind: str) -> list[Mention]:
        return [m for m in self.mentions if m.kind == kind]

    @property
    def all_slices(self) -> list[str]:
        return list(dict.fromkeys(s for m in self.of("slice") for s in m.value if len(m.value) == 1))


_SPLIT = re.compile(r"\s*(?:;|\.\s|,\s*(?=(?:and\s+|but\s+|then\s+)?(?:keep|limit|reduce|preserve|maintain|ensure|"
                    r"prioriti[sz]e|maximi[sz]e|minimi[sz]e|increase|cut|lower|give|cap|improve|protect|guarantee|"
                    r"reserve|dedicate|halve|double|make|do|don't|never|also|raise|boost|prepare|allow|let|set|"
                    r"hold|grow|expand|without|unless|while|whilst))|,\s*(?=[a-z]+ing\b)|\bwhile\b|\bwhilst\b|\bbut\b|"
                    r"\band also\b|\bas well as\b|\bplus\b|(?=\bwithout\b)|(?=\bunless\b)|(?=\bprovided\b)|"
                    r"(?=\bas long as\b)|(?=\bso long as\b)"
                    r"|\band\s+(?=(?:then\s+)?(?:keep|limit|reduce|preserve|maintain|ensure|prioriti[sz]e|maximi[sz]e|"
                    r"minimi[sz]e|increase|cut|lower|give|cap|improve|protect|guarantee|reserve|dedicate|halve|"
                    r"double|make|do|never|raise|boost|prepare|allow|set|hold|grow|expand|let|save|decrease)\b)"
                    r"|(?=\b(?:keeping|limiting|preserving|maintaining|ensuring|reducing|capping|protecting)\b))\s*",
                    re.I)
_GLUE_TOKEN = re.compile(r"[a-z']+|[^\sa-z]", re.I)
_ATTACH = ("slice", "cell", "link")


def normalise(raw: str, domain: Domain) -> tuple[str, list[str]]:
    """Whitespace, units written together, abbreviations, number words, typos -> (text, notes)."""
    notes: list[str] = []
    t = " ".join(raw.replace("\u00a0", " ").split())
    t = re.sub(r"~\s*", "about ", t)
    t = re.sub(r"(\d)\s*mins?\b", r"\1 minutes", t, flags=re.I)
    t = re.sub(r"(\d)\s*(?:hrs?)\b", r"\1 hours", t, flags=re.I)
    t = re.sub(r"(<=|>=|≤|≥|<|>)", r" \1 ", t)
    for ab, full in sorted(lx.ABBREVIATIONS.items(), key=lambda x: -len(x[0])):
        pat = re.compile(rf"(?<![\w/]){re.escape(ab)}(?![\w/])", re.I)
        if pat.search(t):
            t = pat.sub(full, t)
            if ab.lower() != full.lower() and ab not in ("~",) and not ab.endswith("'t") and ab != "dont":
                notes.append(f"read '{ab}' as '{full}'")
    t, num_notes = normalise_numbers(t)
    notes += num_notes
    vocab = lx.vocabulary(domain.slice_names() + tuple(domain.zones) + domain.links)
    t, typo_notes = lx.repair_typos(t, vocab)
    notes += typo_notes
    return " ".join(t.split()), notes


def parse(raw: str, domain: Domain, names: SliceNames, now: str | None = None) -> Findings:
    text, notes = normalise(raw, domain)
    low = text.lower()
    mentions = find_mentions(text, low, domain, names, now)
    clauses = [_clause(low, a, b, mentions) for a, b in _clause_spans(low, mentions)]
    confirmed = any(c in low for c in lx.CONFIRM)
    return Findings(text, low, mentions, [c for c in clauses if c.text], notes, confirmed)


def _clause_spans(low: str, mentions: list[Mention]) -> list[tuple[int, int]]:
    inside = [(m.start, m.end) for m in mentions]
    cuts = [0]
    for m in _SPLIT.finditer(low):
        if any(a < m.start() < b for a, b in inside):
            continue
        cuts += [m.start(), m.end()]
    cuts.append(len(low))
    spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    return [(a, b) for a, b in spans if b > a]


def _polarity(words: list[str]) -> tuple[str, str | None]:
    for w in words:
        if w in lx.PREPARE_VERBS:
            return "prepare", w
        if w in lx.DOWN_VERBS:
            return "down", w
        if w in lx.UP_VERBS:
            return "up", w
        if w in lx.KEEP_VERBS:
            return "keep", w
    return "none", None


def _clause(low: str, a: int, b: int, mentions: list[Mention]) -> Clause:
    part = low[a:b]
    ms = [m for m in mentions if a <= m.start < b]
    words = re.findall(r"[a-zµ%<>=/\-']+", part)
    polarity, verb = _polarity(words)
    constraint = re.match(r"\s*(?:without|unless|provided|as long as|so long as)\b", part) is not None
    if constraint:
        polarity = "keep"
    c = Clause(part.strip(), a, b, polarity, verb, constraint, ms, [], any(m.kind == "sla" for m in ms),
               any(w in part for w in lx.DEDICATED_WORDS))
    c.frames = _frames(low, c)
    return c


def rebuild_frames(low: str, c: Clause) -> None:
    """Frames again after a mention was added to the clause (the semantic step)."""
    c.frames = _frames(low, c)


def _glue_only(low: str, a: int, b: int, ms: list[Mention]) -> bool:
    """Only glue words (and other attachable mentions) between ``a`` and ``b``."""
    gap = low[a:b]
    for m in ms:
        if a <= m.start and m.end <= b and m.kind in (*_ATTACH, "kpi", "per"):
            gap = gap[: m.start - a] + " " * (m.end - m.start) + gap[m.end - a:]
    return all(t in lx.GLUE for t in _GLUE_TOKEN.findall(gap))


def _frames(low: str, c: Clause) -> list[Frame]:
    qs = [m for m in c.mentions if m.kind == "quantity"]
    if not qs:
        f = Frame(None, None, c.of("slice"), c.of("kpi"), c.of("cell"), c.of("link"), text=c.text)
        f.per = next((m.value for m in c.of("per")), None)
        return [f]
    frames = [Frame(q, None, text=low[q.start:q.end]) for q in qs]
    for m in c.mentions:
        if m.kind not in (*_ATTACH, "kpi", "per"):
            continue
        i = _owner(low, m, qs, c)
        f = frames[i]
        if m.kind == "slice":
            f.slices.append(m)
        elif m.kind == "kpi":
            f.kpis.append(m)
        elif m.kind == "cell":
            f.cells.append(m)
        elif m.kind == "link":
            f.links.append(m)
        else:
            f.per = str(m.value)
    _distribute(c, frames)
    prev = c.start
    for f in frames:
        assert f.quantity is not None
        f.comparator = comparator(low[prev:f.quantity.start], f.quantity)
        prev = f.quantity.end
    return frames


def _owner(low: str, m: Mention, qs: list[Mention], c: Clause) -> int:
    """Index of the quantity a slice / KPI / cell / link mention belongs to."""
    after = [i for i, q in enumerate(qs) if q.start >= m.end]
    before = [i for i, q in enumerate(qs) if q.end <= m.start]
    if not before:
        return 0
    if not after:
        return before[-1]
    i, j = before[-1], after[0]
    if _glue_only(low, qs[i].end, m.start, c.mentions):
        return i  # "10 ms for URLLC and ...": trails its number
    return j


def _distribute(c: Clause, frames: list[Frame]) -> None:
    """"loss under 1 % and 5 % for URLLC and eMBB (respectively)": one slice per number, in order."""
    multi = [f for f in frames if len(f.slice_names()) > 1]
    if len(frames) < 2 or len(multi) != 1 or any(f.slices for f in frames if f is not multi[0]):
        return
    f0 = multi[0]
    names = f0.slice_names()
    if len(names) != len(frames) or any(len(m.value) > 1 for m in f0.slices):
        return
    by_name = {str(m.value[0]): m for m in f0.slices}
    for f, n in zip(frames, names, strict=True):
        f.slices = [by_name[n]]


def comparator(pre: str, q: Mention) -> str | None:
    """Read the bound of a number from the words before it (within its frame), negations included."""
    if q.how == "range":
        return "range"
    w = " " + re.sub(r"\s+", " ", pre.lower()) + " "
    w = w[-80:]
    if re.search(r"\bby\s+(?:about\s+|around\s+|roughly\s+|approximately\s+|another\s+|a further\s+)?$", w):
        return "by"
    if re.search(r"\bfrom\s+(?:the\s+current\s+|today's\s+|about\s+|around\s+)?$", w):
        return "from"
    if re.search(r"\b(?:down|up)\s+$", w):
        return "by"  # "bring the bill down 15 %"
    best: tuple[int, str, int] = (-1, "", 0)
    for words, kind in ((lx.BELOW_WORDS, "below"), (lx.ABOVE_WORDS, "above"), (lx.NEAR_WORDS, "near"),
                        (lx.RISE_WORDS, "rise"), (lx.FALL_WORDS, "fall"), (("exactly", "equal to", "="), "equal")):
        for word in words:
            for m in re.finditer(rf"(?<![\w]){re.escape(word)}(?![\w])", w):
                if m.end() > best[0] or (m.end() == best[0] and (kind in ("below", "above") or
                                                                 m.start() < best[2])):
                    best = (m.end(), kind, m.start())
    pos, kind, start = best
    if pos >= 0:
        head = w[:start]
        neg = re.search(rf"\b(?:{'|'.join(lx.NEGATORS)})\b", head) is not None
        phrase = w[:pos]
        if re.search(r"\b(?:no|not)\s+(?:more|greater|higher)\s+than\s*$", phrase) or \
                re.search(r"\bnot\s+to\s+exceed\s*$", phrase):
            return "below"
        if re.search(r"\b(?:no|not)\s+(?:less|lower|fewer)\s+than\s*$", phrase) or \
                re.search(r"\bnot\s+(?:below|under)\s*$", phrase):
            return "above"
        if kind in ("rise", "above") and neg and any(r in w[start:pos] for r in lx.RISE_WORDS):
            return "below"
        if kind in ("fall", "below") and neg and any(r in w[start:pos] for r in lx.FALL_WORDS):
            return "above"
        if kind in ("rise",):
            return "above"
        if kind in ("fall",):
            return "below"
        if (kind == "above" and w[pos:].strip() == "") or kind != "above":
            return kind
        return kind
    if re.search(r"\b(?:to|at)\s+(?:about\s+|around\s+)?$", w):
        return "to"
    return None

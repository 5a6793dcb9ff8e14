"""What the compiler builds while it reads one intent: targets, shares, issues, evidence, notes and the word
mapping (mutable, local to one compile call)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.mentions import Mention
from rapps.intent_agent.compiler.spec import Evidence, Issue, Target, WordMapping

KPI_LABEL = {"p99_latency_ms": "p99 latency", "packet_loss": "packet loss", "throughput_mbps": "throughput",
             "ue_throughput_mbps": "per-UE throughput", "site_throughput_mbps": "per-site throughput",
             "resource_cost": "resource cost", "energy_cost": "energy cost", "link_utilisation": "link utilisation",
             "prb_share": "PRB share", "reliability": "reliability", "coverage": "coverage"}


@dataclass
class Reservation:
    dedicated: float | None = None
    min: float | None = None
    max: float | None = None
    words: list[str] = field(default_factory=list)


@dataclass
class Build:
    domain: Domain
    kb: KnowledgeBase
    targets: list[Target] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    mapping: list[WordMapping] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    reservations: dict[tuple[str, int | None], Reservation] = field(default_factory=dict)
    cost_weight: float = 0.6
    risk: float = 0.5
    risk_q: float = 0.25
    verb: str = "ENSURE"
    headroom: float = 0.0
    grow_all: bool = False
    meaningful: bool = False
    kinds: set[str] = field(default_factory=set)  #: action kinds the intent needs (empty = all)
    latency_checks: list[tuple[Target, Mention]] = field(default_factory=list)  #: latency ceilings to check

    def ask(self, kind: str, message: str, question: str, *mentions: Mention) -> None:
        words = tuple(m.text for m in mentions)
        self.issues.append(Issue(kind, message, words))
        self.questions.append(question)
        for m in mentions:
            m.use(f"asked back ({kind})")

    def cite(self, query: str, k: int = 2) -> list[Evidence]:
        out = []
        for h in self.kb.search(query, k):
            ev = Evidence(h.passage.id, h.passage.source, h.passage.title, round(h.score, 3))
            self.evidence.setdefault(ev.doc_id, ev)
            out.append(ev)
        return out

    def cite_id(self, doc_id: str) -> None:
        try:
            p = self.kb.get(doc_id)
        except KeyError:
            return
        self.evidence.setdefault(doc_id, Evidence(p.id, p.source, p.title, 1.0))

    def map(self, words: str, became: str) -> None:
        wm = WordMapping(words.strip(), became)
        if wm not in self.mapping:
            self.mapping.append(wm)

    def prioritise(self, name: str) -> None:
        if name not in self.priority:
            self.priority.append(name)

    def add_target(self, t: Target, words: str, *mentions: Mention) -> None:
        self.meaningful = True
        self.targets.append(t)
        label = describe(t)
        self.map(words, label)
        for m in mentions:
            m.use(label)


def describe(t: Target) -> str:
    who = f"{t.slice}." if t.slice else ""
    where = f" on {', '.join(t.links)}" if t.links else ""
    rng = f"{t.value:g}..{t.upper:g}" if t.condition == "IS_WITHIN_RANGE" and t.upper is not None else f"{t.value:g}"
    unit = " x pre-intent value" if t.relative else (f" {t.unit}" if t.unit else "")
    return f"{who}{t.kpi}{where} {t.condition} {rng}{unit}"

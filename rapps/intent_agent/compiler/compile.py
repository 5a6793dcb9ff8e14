"""The deterministic compiler: findings -> targets, objective, action set, context; checked against the
slices' SLAs and the knowledge base. Anything under-specified, contradictory, over-constrained or infeasible
becomes a :class:`Clarification` with a question (pure; no network)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.grammar import Clause, Findings, parse
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.spec import (
    ActionSet,
    Clarification,
    CompileResult,
    Context,
    Evidence,
    IntentSpec,
    Issue,
    Objective,
    Target,
    TimeWindow,
)

SLICE_KPIS = ("p99_latency_ms", "packet_loss", "throughput_mbps", "reliability", "prb_share")
NEAR_BAND = 0.10  #: "near the baseline" = within +-10 %
LIMIT_SLACK = 1.05  #: "limit X" without a number = at most 5 % above the baseline


@dataclass
class _Build:
    targets: list[Target] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    floors: dict[str, float] = field(default_factory=dict)
    caps: dict[str, float] = field(default_factory=dict)
    cost_weight: float = 0.6
    risk: float = 0.5
    risk_q: float = 0.25
    verb: str = "ENSURE"
    headroom: float = 0.0
    grow_all: bool = False
    meaningful: bool = False

    def ask(self, kind: str, message: str, question: str) -> None:
        self.issues.append(Issue(kind, message))
        self.questions.append(question)

    def cite(self, kb: KnowledgeBase, query: str, k: int = 2) -> list[Evidence]:
        out = []
        for h in kb.search(query, k):
            ev = Evidence(h.passage.id, h.passage.source, h.passage.title, round(h.score, 3))
            self.evidence.setdefault(ev.doc_id, ev)
            out.append(ev)
        return out


def compile_intent(text: str, domain: Domain, kb: KnowledgeBase) -> CompileResult:
    if not text or not text.strip():
        return Clarification(text, (Issue("under_specified", "The intent is empty."),),
                             "What should the network achieve, for which slice and where?")
    f = parse(text, domain)
    b = _Build(notes=list(f.notes))
    _area_checks(f, domain, b)
    for c in f.clauses:
        _clause(c, f, domain, kb, b)
    _global_checks(f, domain, kb, b)
    if b.issues:
        return Clarification(text, tuple(b.issues), " ".join(dict.fromkeys(b.questions)),
                             tuple(b.evidence.values()), tuple(b.notes))
    cells = tuple(sorted(set(f.cells))) or (domain.zones[f.zone] if f.zone else ())
    ctx = Context(f.zone, cells, None if f.window is None else TimeWindow(*f.window), f.event)
    objective = Objective(1.0, b.cost_weight, b.risk, b.risk_q, tuple(b.priority), b.verb)
    actions = ActionSet(slice_caps=tuple(sorted(b.caps.items())), slice_floors=tuple(sorted(b.floors.items())),
                        headroom=b.headroom)
    return IntentSpec(text, objective, tuple(_dedupe(b.targets)), ctx, actions, tuple(b.evidence.values()),
                      tuple(b.notes))


def _dedupe(targets: list[Target]) -> list[Target]:
    """One target per (kpi, slice, condition): the intent's own beats the SLA's, the tighter bound wins."""
    out: dict[tuple[str, str | None, str], Target] = {}
    for t in targets:
        key = (t.kpi, t.slice, t.condition)
        old = out.get(key)
        tighter = old is not None and old.source == t.source and t.condition == "IS_LESS_THAN" and t.value < old.value
        if old is None or (old.source != "intent" and t.source == "intent") or tighter:
            out[key] = t
    return list(out.values())


def _area_checks(f: Findings, d: Domain, b: _Build) -> None:
    bad = [c for c in f.cells if c not in d.cells]
    if bad:
        b.ask("unknown_reference", f"There is no cell {', '.join(map(str, bad))} in this network "
              f"(cells {d.cells[0]}..{d.cells[-1]}).", "Which cells did you mean?")
    for name in f.unknown_areas:
        if f.zone is None:
            b.ask("unknown_reference", f"I do not know a '{name}' zone; the known zones are "
                  f"{', '.join(sorted(d.zones))}.", "Which zone or which cells should this apply to?")
    if f.event and not f.cells and f.zone is None:
        b.ask("under_specified", f"A {f.event} event needs to know which cells serve it.",
              f"Which cells serve the {f.event}?")


def _slices_of(c: Clause, f: Findings, d: Domain) -> list[str]:
    if c.slices:
        return c.slices
    if len(f.all_slices) == 1:
        return list(f.all_slices)
    return []


def _clause(c: Clause, f: Findings, d: Domain, kb: KnowledgeBase, b: _Build) -> None:
    kpis = list(c.kpis)
    if not kpis and c.polarity == "none":
        return
    slices = _slices_of(c, f, d)
    if c.polarity == "prepare":
        b.meaningful = True
        b.verb = "DELIVER"
        ev = b.cite(kb, f"planned {f.event or 'event'} stadium surge headroom", 1)
        b.headroom = float(kb.get("ops-events").facts.get("surge_headroom", 0.15)) if ev else 0.15
        b.notes.append(f"reserve {100 * b.headroom:.0f} % PRB headroom for the expected surge "
                       f"({kb.get('ops-events').source})")
        for info in d.slices:
            b.targets += _sla_targets(info.name, d, loss_only=info.sla_p99_ms is None)
        if "eMBB" in d.slice_names() and "eMBB" not in b.priority:
            b.priority.append("eMBB")
        kpis = [k for k in kpis if k not in ("reliability",)]
    for k in kpis:
        if k in ("reliability",):
            _reliability(c, slices, d, kb, b)
        elif k == "coverage":
            b.meaningful = True
            b.cite(kb, "coverage SLAs every slice served loss ceiling", 1)
            for info in d.slices:
                b.targets.append(Target("packet_loss", "IS_LESS_THAN", info.sla_loss, slice=info.name,
                                        unit="fraction", source="sla"))
        elif k in ("resource_cost", "energy_cost"):
            _cost(c, k, d, kb, b)
        elif k == "prb_share":
            _share(c, slices, kb, b)
        elif k in ("p99_latency_ms", "packet_loss", "throughput_mbps"):
            _kpi_target(c, k, slices, f, d, kb, b)
    if not kpis and c.polarity in ("up", "keep") and c.slices and c.quantity is None:
        b.meaningful = True  # "prioritize URLLC": protect its SLA
        for s in c.slices:
            if s not in b.priority:
                b.priority.append(s)
            b.targets += _sla_targets(s, d)


def _sla_targets(name: str, d: Domain, loss_only: bool = False) -> list[Target]:
    s = d.slice(name)
    out = [Target("packet_loss", "IS_LESS_THAN", s.sla_loss, slice=name, unit="fraction", source="sla")]
    if s.sla_p99_ms is not None and not loss_only:
        out.append(Target("p99_latency_ms", "IS_LESS_THAN", s.sla_p99_ms, slice=name, unit="ms", source="sla"))
    return out


def _reliability(c: Clause, slices: list[str], d: Domain, kb: KnowledgeBase, b: _Build) -> None:
    if not slices:
        b.ask("under_specified", "Reliability is a property of a slice, and the intent names none.",
              f"Whose reliability: which slice ({', '.join(d.slice_names())})?")
        return
    b.meaningful = True
    b.cite(kb, "URLLC reliability success probability delay budget loss", 1)
    if c.polarity in ("up", "keep", "none"):
        b.risk, b.risk_q = 1.0, 0.1
        if b.verb == "ENSURE":
            b.verb = "MAXIMIZE" if c.polarity == "up" else "ENSURE"
        for s in slices:
            if s not in b.priority:
                b.priority.append(s)
            b.targets += _sla_targets(s, d)
    else:
        b.ask("contradictory", f"Reducing the reliability of {', '.join(slices)} would break its SLA.",
              "Did you mean to reduce its resources while keeping its SLA?")


def _cost(c: Clause, k: str, d: Domain, kb: KnowledgeBase, b: _Build) -> None:
    b.meaningful = True
    label = "energy cost" if k == "energy_cost" else "resource cost"
    b.cite(kb, "energy efficiency PRBs in use energy cost" if k == "energy_cost" else
           "RRMPolicyRatio guaranteed PRB share resource partition", 1)
    q = c.quantity
    if c.comparator == "near" or (c.polarity in ("keep", "none") and q is None):
        b.targets.append(Target(k, "IS_WITHIN_RANGE", 1 - NEAR_BAND, 1 + NEAR_BAND, unit="ratio to baseline",
                                relative=True))
        b.notes.append(f"'{label} near the baseline' read as within +-{100 * NEAR_BAND:.0f} % of the pre-intent "
                       "baseline")
        b.cost_weight = max(b.cost_weight, 0.8)
        return
    if c.polarity in ("down",) or c.comparator in ("by", "below"):
        b.cost_weight = 1.0
        b.verb = "MINIMIZE" if b.verb == "ENSURE" else b.verb
        if q is None:
            b.targets.append(Target(k, "IS_LESS_THAN", LIMIT_SLACK, unit="ratio to baseline", relative=True))
            b.notes.append(f"'limit {label}' read as at most {100 * (LIMIT_SLACK - 1):.0f} % above the baseline")
            return
        if q.family != "ratio":
            b.ask("under_specified", f"'{c.text}': a {label} change needs a percentage.",
                  f"By how many percent should the {label} change?")
            return
        if c.comparator == "by" or c.polarity == "down":
            if q.value >= 1.0:
                b.ask("infeasible", f"A {100 * q.value:.0f} % reduction of the {label} would switch the network "
                      "off.", f"Which reduction of the {label} (below 100 %) do you want?")
                return
            b.targets.append(Target(k, "IS_LESS_THAN", round(1.0 - q.value, 6), unit="ratio to baseline",
                                    relative=True))
            return
    if c.polarity == "up":
        b.notes.append(f"'{c.text}': raising the {label} is not an objective; it stays a soft cost")


def _share(c: Clause, slices: list[str], kb: KnowledgeBase, b: _Build) -> None:
    q = c.quantity
    if q is None or not slices:
        return
    b.meaningful = True
    b.cite(kb, "RRMPolicyRatio sum of minimum ratios 100", 1)
    if q.family != "ratio" or q.value > 1.0:
        b.ask("infeasible", f"'{c.text}': a PRB share must be a percentage between 0 and 100.",
              "Which percentage of the cell's PRBs?")
        return
    for s in slices:
        if c.comparator == "above" or (c.polarity in ("up",) and c.comparator != "below"):
            b.floors[s] = q.value
        else:
            b.caps[s] = q.value


def _kpi_target(c: Clause, k: str, slices: list[str], f: Findings, d: Domain, kb: KnowledgeBase,
                b: _Build) -> None:
    name = {"p99_latency_ms": "p99 latency", "packet_loss": "packet loss", "throughput_mbps": "throughput"}[k]
    if not slices:
        if c.polarity == "up" and k == "throughput_mbps" and re.search(r"\b(all|every)\b", c.text):
            b.meaningful, b.grow_all = True, True
            return
        b.ask("under_specified", f"The {name} target does not say which slice it is for.",
              f"Which slice's {name} ({', '.join(d.slice_names())})?")
        return
    b.meaningful = True
    q = c.quantity
    if q is None:
        for s in slices:
            if c.polarity in ("up", "keep", "down") and k != "throughput_mbps":
                if s not in b.priority:
                    b.priority.append(s)
                b.targets += [t for t in _sla_targets(s, d) if t.kpi == k]
            elif k == "throughput_mbps" and c.polarity == "up" and s not in b.priority:
                b.priority.append(s)
        b.grow_all = b.grow_all or (k == "throughput_mbps" and c.polarity == "up" and len(slices) == len(d.slices))
        return
    want = {"p99_latency_ms": "time", "packet_loss": "ratio", "throughput_mbps": "rate"}[k]
    bounds = [(c.comparator, q), *c.more]
    los = [x.value for comp, x in bounds if comp == "above"]
    his = [x.value for comp, x in bounds if comp == "below"]
    if los and his and max(los) >= min(his):
        b.ask("contradictory", f"'{c.text}': the {name} cannot be above {max(los):g} and below {min(his):g} at "
              "once.", f"Which bound on the {name} should hold?")
        return
    if q.family != want:
        unit = {"time": "ms", "ratio": "%", "rate": "Mbit/s"}[want]
        got = "no unit" if q.family == "none" else f"a {q.family} unit"
        b.ask("under_specified", f"'{c.text}': the {name} value has {got}.", f"Did you mean {q.value:g} {unit}?")
        return
    cond = {"below": "IS_LESS_THAN", "above": "IS_GREATER_THAN", "range": "IS_WITHIN_RANGE", "near": "IS_WITHIN_RANGE"}
    condition = cond.get(c.comparator or "", "IS_LESS_THAN" if k != "throughput_mbps" else "IS_GREATER_THAN")
    if c.polarity == "up" and k == "throughput_mbps" and c.comparator is None:
        condition = "IS_GREATER_THAN"
    lo, hi = q.value, q.upper
    if c.comparator == "near":
        lo, hi = q.value * (1 - NEAR_BAND), q.value * (1 + NEAR_BAND)
    if hi is not None and hi < lo:
        b.ask("contradictory", f"'{c.text}': the range {lo:g}..{hi:g} is empty.", "Which range did you mean?")
        return
    unit = {"p99_latency_ms": "ms", "packet_loss": "fraction", "throughput_mbps": "Mbit/s"}[k]
    if len(slices) > 1 and len(bounds) == len(slices) and c.comparator != "range":
        for s, (comp, qq) in zip(slices, bounds, strict=True):  # "URLLC loss under 2 % and eMBB loss under 5 %"
            sub = Clause(c.text, c.polarity, [s], [k], comp or c.comparator, qq)
            _kpi_target(sub, k, [s], f, d, kb, b)
        return
    for s in slices:
        if k == "p99_latency_ms" and not _latency_ok(lo, s, f, d, kb, b):
            continue
        if k == "packet_loss" and lo >= 1.0:
            b.ask("infeasible", f"A loss of {100 * lo:.0f} % or more is no target.", "Which loss ceiling?")
            continue
        if s not in b.priority:
            b.priority.append(s)
        b.targets.append(Target(k, condition, lo, hi, slice=s, unit=unit))


def _latency_ok(value_ms: float, name: str, f: Findings, d: Domain, kb: KnowledgeBase, b: _Build) -> bool:
    s = d.slice(name)
    floor = s.base_delay_ms + d.min_transport_delay_ms
    if value_ms <= floor:
        b.cite(kb, "URLLC user plane latency 0.5 ms reliability", 1)
        b.ask("infeasible", f"A {name} p99 latency below {value_ms:g} ms is not reachable here: the slice's "
              f"processing and air-interface floor is {s.base_delay_ms:g} ms plus at least "
              f"{d.min_transport_delay_ms:g} ms of transport, {floor:g} ms before any queueing.",
              f"Would a target above {floor:g} ms do?")
        return False
    sla = s.sla_p99_ms
    ev = b.cite(kb, f"{'URLLC delay-critical GBR' if s.sst == 2 else 'Non-GBR broadband'} packet delay budget 5QI", 3)
    pdbs = [float(kb.get(e.doc_id).facts["pdb_ms"]) for e in ev if "pdb_ms" in kb.get(e.doc_id).facts]
    if sla is not None and value_ms < sla and not f.confirmed_stricter:
        tight = f" (the tightest standardized budget for such flows is {min(pdbs):g} ms, 5QI table)" if pdbs else ""
        b.ask("stricter_than_sla", f"The {name} slice is provisioned for a p99 latency of {sla:g} ms; {value_ms:g} ms "
              f"is {sla / value_ms:.1f}x stricter than its SLA{tight}. Meeting it needs more PRBs for {name} "
              "than its SLA type reserves, at the other slices' expense.",
              f"Do you want to tighten {name} to {value_ms:g} ms beyond its {sla:g} ms SLA (say 'confirm "
              f"stricter target'), or keep the SLA's {sla:g} ms?")
        return False
    if sla is not None and value_ms >= sla:
        b.notes.append(f"the {name} SLA ({sla:g} ms) is at least as strict as {value_ms:g} ms and stays in force")
    return True


def _global_checks(f: Findings, d: Domain, kb: KnowledgeBase, b: _Build) -> None:
    if not b.meaningful and not b.issues:
        b.ask("under_specified", "I could not find what the network should achieve: no KPI (latency, reliability, "
              "loss, throughput, cost, energy, coverage) or slice objective in the intent.",
              f"Which KPI of which slice ({', '.join(d.slice_names())}) should change, and where?")
    if sum(b.floors.values()) > 1.0 + 1e-9:
        b.cite(kb, "RRMPolicyRatio sum of minimum ratios must not exceed 100", 1)
        b.ask("over_constrained", f"The guaranteed PRB shares add up to {100 * sum(b.floors.values()):.0f} %: "
              "TS 28.541 allows at most 100 % of a cell's PRBs as minimum ratios.",
              "Which slice should get less?")
    for s, cap in b.caps.items():
        if s in b.floors and b.floors[s] > cap:
            b.ask("contradictory", f"{s} should get at least {100 * b.floors[s]:.0f} % and at most {100 * cap:.0f} % "
                  "of the PRBs.", f"Which share should {s} get?")
    seen: dict[tuple[str, str | None], list[Target]] = {}
    for t in b.targets:
        if t.source == "intent":
            seen.setdefault((t.kpi, t.slice), []).append(t)
    for (kpi, sl), ts in seen.items():
        lo = max((t.value for t in ts if t.condition == "IS_GREATER_THAN"), default=None)
        hi = min((t.value for t in ts if t.condition == "IS_LESS_THAN"), default=None)
        if lo is not None and hi is not None and lo >= hi:
            b.ask("contradictory", f"{kpi} of {sl or 'the area'} must be above {lo:g} and below {hi:g} at once.",
                  "Which bound should hold?")
    cost_down = any(t.kpi in ("resource_cost", "energy_cost") and t.condition == "IS_LESS_THAN" and t.value < 1.0
                    for t in b.targets)
    if cost_down and (b.grow_all or (len(b.floors) == len(d.slices) and sum(b.floors.values()) > 0.99)):
        b.cite(kb, "energy cost PRBs in use", 1)
        b.ask("over_constrained", "Cutting cost means fewer active PRBs, yet every slice should grow: both "
              "cannot hold at once.", "Which matters more: the cost cut or more capacity for every slice?")
    if f.event and not any(c.polarity == "prepare" for c in f.clauses) and not b.issues and not b.meaningful:
        b.ask("under_specified", f"What should happen for the {f.event}?", "Should the cells prepare for it?")

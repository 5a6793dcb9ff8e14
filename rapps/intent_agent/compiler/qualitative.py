"""Clauses without a number: "prioritize URLLC reliability", "keep cost near the baseline", "limit energy cost",
"prepare cells 4 and 8 for the match", "without violating coverage SLAs" (pure)."""

from __future__ import annotations

from rapps.intent_agent.compiler.grammar import Clause, Findings, Frame
from rapps.intent_agent.compiler.spec import Target
from rapps.intent_agent.compiler.state import KPI_LABEL, Build
from rapps.intent_agent.compiler.targets import NEAR_BAND, sla_targets

LIMIT_SLACK = 1.05  #: "limit X" without a number = at most 5 % above the baseline


def prepare(b: Build, fnd: Findings, c: Clause) -> None:
    b.meaningful = True
    b.verb = "DELIVER"
    event = next((m for m in fnd.of("event")), None)
    ev = b.cite(f"planned {event.value if event else 'event'} stadium surge headroom", 1)
    b.headroom = float(b.kb.get("ops-events").facts.get("surge_headroom", 0.15)) if ev else 0.15
    b.notes.append(f"reserve {100 * b.headroom:.0f} % PRB headroom for the expected surge "
                   f"({b.kb.get('ops-events').source})")
    b.map(c.text, f"event headroom {100 * b.headroom:.0f} % of the PRBs; every slice keeps its SLA")
    for info in b.domain.slices:
        b.targets += sla_targets(info.name, b, loss_only=info.sla_p99_ms is None)
    if b.domain.has_slice("eMBB"):
        b.prioritise("eMBB")
    if event is not None:
        event.use("context event")


def frame(b: Build, fnd: Findings, c: Clause, f: Frame, slices: list[str]) -> None:
    kpis = f.kpi_names()
    if c.polarity == "prepare":
        kpis = [k for k in kpis if k != "reliability"]
    words = c.text
    for k in kpis:
        kms = [m for m in f.kpis if m.value == k]
        if k == "reliability":
            _reliability(b, c, f, slices)
        elif k == "coverage":
            b.meaningful = True
            b.cite("coverage SLAs every slice served loss ceiling", 1)
            for info in b.domain.slices:
                b.targets.append(Target("packet_loss", "IS_LESS_THAN", info.sla_loss, slice=info.name,
                                        unit="fraction", source="sla"))
            b.map(words, "every slice's loss SLA (coverage)")
            for m in (*kms, *[m for m in c.mentions if m.kind == "sla"]):
                m.use("coverage: every slice's loss SLA")
        elif k in ("resource_cost", "energy_cost"):
            _cost(b, c, k, words, kms)
        elif k in ("p99_latency_ms", "packet_loss", "throughput_mbps", "ue_throughput_mbps",
                   "site_throughput_mbps"):
            _kpi(b, c, f, k, slices, words)
        elif k == "link_utilisation":
            links = f.links or [m for m in c.mentions if m.kind == "link"]
            if c.polarity == "down" and links:
                b.meaningful = True
                members = tuple(dict.fromkeys(x for m in links for x in m.value[1]))
                b.kinds.add("transport_share")
                b.add_target(Target("link_utilisation", "IS_LESS_THAN", LIMIT_SLACK, unit="ratio to pre-intent value",
                                    relative=True, links=members), words, *kms, *links)
                b.notes.append(f"'{words}': 'limit utilisation' read as at most {100 * (LIMIT_SLACK - 1):.0f} % above "
                               "today's")
            else:
                b.ask("under_specified", f"'{words}': what should the link utilisation be, and on which links?",
                      "Which utilisation ceiling, on which links?", *kms, *links)
    if (not kpis and c.polarity in ("up", "keep", "none") and f.slices and c.polarity != "none") or \
            (not kpis and c.constraint and f.slices):
        b.meaningful = True
        for s in slices:
            if c.polarity == "up":
                b.prioritise(s)
            b.targets += sla_targets(s, b)
        label = f"protect the SLA of {', '.join(slices)}" + (" (priority)" if c.polarity == "up" else "")
        b.map(words, label)
        for m in (*f.slices, *[m for m in c.mentions if m.kind == "sla"]):
            m.use(label)
    elif not kpis and c.polarity == "down" and f.slices:
        b.ask("under_specified", f"'{words}': reduce what of {', '.join(slices)}? A slice keeps its SLA unless you "
              "name a KPI and a value.", f"Which KPI of {', '.join(slices)} should go down, and by how much?",
              *f.slices)
    if not kpis and f.links and not f.quantity:
        b.ask("under_specified", f"'{words}': what should happen on {', '.join(m.text for m in f.links)}?",
              "Which link utilisation ceiling should hold there?", *f.links)


def _reliability(b: Build, c: Clause, f: Frame, slices: list[str]) -> None:
    kms = [m for m in f.kpis if m.value == "reliability"]
    if not slices:
        b.ask("under_specified", "Reliability is a property of a slice, and the intent names none.",
              f"Whose reliability: which slice ({', '.join(b.domain.slice_names())})?", *kms)
        return
    b.meaningful = True
    b.cite("URLLC reliability success probability delay budget loss", 1)
    if c.polarity in ("up", "keep", "none"):
        b.risk, b.risk_q = 1.0, 0.1
        if b.verb == "ENSURE" and c.polarity == "up":
            b.verb = "MAXIMIZE"
        for s in slices:
            b.prioritise(s)
            b.targets += sla_targets(s, b)
        label = f"reliability of {', '.join(slices)}: its loss and p99 SLA, low-risk planning"
        b.map(c.text, label)
        for m in (*kms, *f.slices):
            m.use(label)
    else:
        b.ask("contradictory", f"Reducing the reliability of {', '.join(slices)} would break its SLA.",
              "Did you mean to reduce its resources while keeping its SLA?", *kms, *f.slices)


def _cost(b: Build, c: Clause, k: str, words: str, kms: list) -> None:  # type: ignore[type-arg]
    b.meaningful = True
    label = KPI_LABEL[k]
    b.cite("energy efficiency PRBs in use energy cost" if k == "energy_cost" else
           "RRMPolicyRatio guaranteed PRB share resource partition", 1)
    near = "near" in c.text or "close" in c.text or "baseline" in c.text or "about" in c.text or "level" in c.text
    if c.polarity in ("keep", "none") or (near and c.polarity != "down"):
        t = Target(k, "IS_WITHIN_RANGE", 1 - NEAR_BAND, 1 + NEAR_BAND, unit="ratio to baseline", relative=True)
        b.add_target(t, words, *kms)
        b.notes.append(f"'{label} near the baseline' read as within +-{100 * NEAR_BAND:.0f} % of the pre-intent "
                       "baseline")
        b.cost_weight = max(b.cost_weight, 0.8)
        return
    if c.polarity == "down":
        b.cost_weight = 1.0
        b.verb = "MINIMIZE" if b.verb == "ENSURE" else b.verb
        b.add_target(Target(k, "IS_LESS_THAN", LIMIT_SLACK, unit="ratio to baseline", relative=True), words, *kms)
        b.notes.append(f"'limit {label}' read as at most {100 * (LIMIT_SLACK - 1):.0f} % above the baseline")
        return
    b.notes.append(f"'{words}': raising the {label} is not an objective; it stays a soft cost")
    for m in kms:
        m.use("soft cost")


def _kpi(b: Build, c: Clause, f: Frame, k: str, slices: list[str], words: str) -> None:
    name = KPI_LABEL[k]
    kms = [m for m in f.kpis if m.value == k]
    rate = k.endswith("throughput_mbps")
    if not slices:
        if (c.polarity == "up" and rate and any(m.value == b.domain.slice_names() for m in f.slices)) or \
                (c.polarity == "up" and rate and ("all" in words or "every" in words)):
            b.meaningful, b.grow_all = True, True
            b.map(words, "more throughput for every slice (objective)")
            for m in kms:
                m.use("grow every slice")
            return
        b.ask("under_specified", f"The {name} target does not say which slice it is for.",
              f"Which slice's {name} ({', '.join(b.domain.slice_names())})?", *kms)
        return
    b.meaningful = True
    if len(slices) == len(b.domain.slices) and rate and c.polarity == "up":
        b.grow_all = True
    for s in slices:
        if not rate and c.polarity in ("up", "keep", "down", "none"):
            b.prioritise(s)
            ts = [t for t in sla_targets(s, b) if t.kpi == k]
            b.targets += ts
            label = f"{s} {name} SLA" if ts else f"{s} priority ({name} has no SLA)"
        elif rate and c.polarity in ("up", "keep"):
            b.prioritise(s)
            label = f"{s} priority (more {name}; no number given)"
        else:
            label = f"{s} {name} (no number given: soft objective)"
        b.map(words, label)
        for m in (*kms, *f.slices):
            m.use(label)

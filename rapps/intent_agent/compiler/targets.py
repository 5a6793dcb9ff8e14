"""Frames with a number -> expectation targets (absolute, relative to the pre-intent value, or relative to the
SLA), with the SLA / feasibility checks of each KPI (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from rapps.intent_agent.compiler.grammar import Clause, Findings, Frame
from rapps.intent_agent.compiler.mentions import Mention, Quantity
from rapps.intent_agent.compiler.spec import Target
from rapps.intent_agent.compiler.state import KPI_LABEL, Build

NEAR_BAND = 0.10  #: "near X" = within +-10 %
LOWER_BETTER = ("p99_latency_ms", "packet_loss", "resource_cost", "energy_cost", "link_utilisation")
RATE_KPIS = ("throughput_mbps", "ue_throughput_mbps", "site_throughput_mbps")
FAMILY = {"p99_latency_ms": "time", "packet_loss": "ratio", "throughput_mbps": "rate", "ue_throughput_mbps": "rate",
          "site_throughput_mbps": "rate", "resource_cost": "ratio", "energy_cost": "ratio",
          "link_utilisation": "ratio", "prb_share": "ratio"}
UNIT = {"p99_latency_ms": "ms", "packet_loss": "fraction", "throughput_mbps": "Mbit/s", "ue_throughput_mbps": "Mbit/s",
        "site_throughput_mbps": "Mbit/s", "link_utilisation": "fraction"}
IMPROVE = ("improve", "improving", "enhance", "better", "optimise", "optimize", "boost")


def frame_words(low: str, c: Clause, f: Frame) -> str:
    ms = [*f.slices, *f.kpis, *f.cells, *f.links, *([f.quantity] if f.quantity else [])]
    if not ms:
        return c.text
    a, b = min(m.start for m in ms), max(m.end for m in ms)
    return low[a:b]


def direction(c: Clause, kpi: str) -> int:
    """+1 the verb raises the KPI, -1 lowers it, 0 keeps / says nothing; "improve" follows what is better."""
    if c.verb in IMPROVE:
        return -1 if kpi in LOWER_BETTER else 1
    return {"up": 1, "down": -1}.get(c.polarity, 0)


def quantity_target(b: Build, fnd: Findings, c: Clause, f: Frame, kpi: str, slices: list[str],
                    baseline: Mapping[str, float]) -> None:
    """One KPI target per slice (or one area-wide / link target) from a frame with a number."""
    assert f.quantity is not None
    q: Quantity = f.quantity.value
    words = frame_words(fnd.low, c, f)
    name = KPI_LABEL[kpi]
    if f.comparator == "from":
        f.quantity.use(f"the current {name} as stated")
        b.notes.append(f"'{f.quantity.text}' read as the current {name} (the starting point, not a target)")
        b.map(f.quantity.text, f"current {name} (context)")
        return
    cost_change = kpi in ("resource_cost", "energy_cost") and f.comparator is None and direction(c, kpi) != 0
    if q.family == "multiple" or (f.comparator == "by" and q.family == "ratio") or \
            (cost_change and q.family == "ratio"):
        _relative(b, fnd, c, f, kpi, slices, baseline, words)
        return
    if kpi in ("resource_cost", "energy_cost"):
        _cost_absolute(b, c, f, kpi, words)
        return
    if q.family != FAMILY[kpi]:
        if kpi == "packet_loss" and q.family == "none" and 0 < q.value < 1:
            b.notes.append(f"'{f.quantity.text}' read as a loss fraction ({100 * q.value:g} %)")
        elif kpi == "link_utilisation" and q.family == "none" and 0 < q.value <= 1:
            b.notes.append(f"'{f.quantity.text}' read as a utilisation fraction ({100 * q.value:g} %)")
        else:
            unit = {"time": "ms", "ratio": "%", "rate": "Mbit/s"}[FAMILY[kpi]]
            got = "no unit" if q.family == "none" else f"a {q.family} unit"
            b.ask("under_specified", f"'{words}': the {name} value has {got}.", f"Did you mean {q.value:g} {unit}?",
                  f.quantity)
            return
    cond, lo, hi = _condition(c, f, kpi, q)
    if hi is not None and hi < lo:
        b.ask("contradictory", f"'{words}': the range {lo:g}..{hi:g} is empty.", "Which range did you mean?",
              f.quantity)
        return
    if kpi == "link_utilisation":
        _link_target(b, c, f, cond, lo, hi, words)
        return
    if kpi == "packet_loss" and lo >= 1.0:
        b.ask("infeasible", f"A loss of {100 * lo:g} % or more is no target.", "Which loss ceiling?", f.quantity)
        return
    if not slices:
        b.ask("under_specified", f"The {name} target '{words}' does not say which slice it is for.",
              f"Which slice's {name} ({', '.join(b.domain.slice_names())})?", f.quantity, *f.kpis)
        return
    for s in slices:
        b.prioritise(s)
        t = Target(kpi, cond, lo, hi, slice=s, unit=UNIT[kpi])
        b.add_target(t, words, f.quantity, *f.kpis, *f.slices)
        if kpi == "p99_latency_ms" and cond == "IS_LESS_THAN":
            b.latency_checks.append((t, f.quantity))  # after the contradiction check (compile._global_checks)


def _condition(c: Clause, f: Frame, kpi: str, q: Quantity) -> tuple[str, float, float | None]:
    comp, lo, hi = f.comparator, q.value, q.upper
    if comp == "range" and hi is not None:
        return "IS_WITHIN_RANGE", lo, hi
    if comp == "near":
        return "IS_WITHIN_RANGE", round(lo * (1 - NEAR_BAND), 9), round(lo * (1 + NEAR_BAND), 9)
    if comp == "equal":
        return "IS_EQUAL_TO", lo, None
    if comp == "below":
        return "IS_LESS_THAN", lo, None
    if comp == "above":
        return "IS_GREATER_THAN", lo, None
    lower_is_better = kpi in LOWER_BETTER
    d = direction(c, kpi)
    if lower_is_better:
        return ("IS_GREATER_THAN" if d > 0 and comp == "to" and c.verb not in IMPROVE else "IS_LESS_THAN"), lo, None
    return ("IS_LESS_THAN" if d < 0 else "IS_GREATER_THAN"), lo, None


def _relative(b: Build, fnd: Findings, c: Clause, f: Frame, kpi: str, slices: list[str],
              baseline: Mapping[str, float], words: str) -> None:
    assert f.quantity is not None
    q: Quantity = f.quantity.value
    name = KPI_LABEL[kpi]
    d = direction(c, kpi)
    if q.family == "multiple":
        factor = q.value if not (d < 0 and q.value > 1) else 1.0 / q.value
    else:
        if d == 0:
            d = -1 if kpi in LOWER_BETTER else 1
            b.notes.append(f"'{words}': no verb says which way; read as an improvement of the {name}")
        if d < 0 and q.value >= 1.0:
            b.ask("infeasible", f"A {100 * q.value:g} % reduction of the {name} would take it to zero or below.",
                  f"Which reduction of the {name} (below 100 %) do you want?", f.quantity)
            return
        factor = 1.0 - q.value if d < 0 else 1.0 + q.value
    factor = round(factor, 6)
    cond = "IS_LESS_THAN" if (kpi in LOWER_BETTER or factor < 1.0) else "IS_GREATER_THAN"
    if kpi in ("resource_cost", "energy_cost"):
        b.cost_weight = 1.0
        if b.verb == "ENSURE":
            b.verb = "MINIMIZE"
        b.cite("energy efficiency PRBs in use energy cost" if kpi == "energy_cost" else
               "RRMPolicyRatio guaranteed PRB share resource partition", 1)
        b.add_target(Target(kpi, cond, factor, unit="ratio to baseline", relative=True), words, f.quantity, *f.kpis)
        return
    if kpi == "link_utilisation":
        _link_target(b, c, f, cond, factor, None, words, relative=True)
        return
    if not slices:
        b.ask("under_specified", f"The change of the {name} ('{words}') does not say which slice it is for.",
              f"Which slice's {name} ({', '.join(b.domain.slice_names())})?", f.quantity, *f.kpis)
        return
    sla_mentions = [m for m in c.mentions if m.kind == "sla"]
    for s in slices:
        info = b.domain.slice(s)
        b.prioritise(s)
        if c.sla:
            sla = info.sla_p99_ms if kpi == "p99_latency_ms" else info.sla_loss if kpi == "packet_loss" else None
            if sla is None:
                b.ask("under_specified", f"The {s} slice has no {name} SLA to change by '{f.quantity.text}'.",
                      f"Which {name} should {s} get (an absolute value)?", f.quantity, *sla_mentions)
                continue
            value = round(sla * factor, 6)
            b.notes.append(f"'{words}' applied to the {s} {name} SLA ({sla:g} {UNIT[kpi]}): {value:g} {UNIT[kpi]}; "
                           "an explicit change of the SLA, so no further confirmation is asked")
            b.add_target(Target(kpi, cond, value, slice=s, unit=UNIT[kpi]), words, f.quantity, *f.kpis,
                         *f.slices, *sla_mentions)
            continue
        key = f"{s}.{kpi}"
        if key in baseline:
            value = round(baseline[key] * factor, 6)
            b.notes.append(f"'{words}': {factor:g} x the current {s} {name} ({baseline[key]:g}) = {value:g}")
            b.add_target(Target(kpi, cond, value, slice=s, unit=UNIT[kpi]), words, f.quantity, *f.kpis, *f.slices)
            continue
        b.notes.append(f"'{words}': a target of {factor:g} x the {s} {name} before the intent")
        b.add_target(Target(kpi, cond, factor, slice=s, unit="ratio to pre-intent value", relative=True), words,
                     f.quantity, *f.kpis, *f.slices)


def _cost_absolute(b: Build, c: Clause, f: Frame, kpi: str, words: str) -> None:
    assert f.quantity is not None
    q: Quantity = f.quantity.value
    label = KPI_LABEL[kpi]
    if q.family != "ratio":
        b.ask("under_specified", f"'{words}': a {label} target needs a percentage of today's cost.",
              f"By how many percent should the {label} change?", f.quantity)
        return
    b.cite("energy efficiency PRBs in use energy cost" if kpi == "energy_cost" else
           "RRMPolicyRatio guaranteed PRB share resource partition", 1)
    cond, lo, hi = _condition(c, f, kpi, q)
    if (f.comparator == "to" and direction(c, kpi) < 0) or f.comparator in ("below", None):
        cond = "IS_LESS_THAN"
    b.cost_weight = max(b.cost_weight, 0.8)
    b.notes.append(f"'{words}': the {label} as a share of its pre-intent value")
    b.add_target(Target(kpi, cond, lo, hi, unit="ratio to baseline", relative=True), words, f.quantity, *f.kpis)


def _link_target(b: Build, c: Clause, f: Frame, cond: str, lo: float, hi: float | None, words: str,
                 relative: bool = False) -> None:
    assert f.quantity is not None
    links = f.links or [m for m in c.mentions if m.kind == "link"]
    if not links:
        b.ask("under_specified", f"'{words}': a link utilisation target needs the links it is on.",
              f"Which transport links ({', '.join(sorted(b.domain.link_groups))} or a link name)?", f.quantity)
        return
    if not relative and lo > 1.0:
        b.ask("infeasible", f"'{words}': a link cannot be used above 100 % of its capacity.",
              "Which utilisation ceiling (below 100 %)?", f.quantity)
        return
    members = tuple(dict.fromkeys(x for m in links for x in m.value[1]))
    label = ", ".join(str(m.value[0]) for m in links)
    b.kinds.add("transport_share")
    b.cite("transport links corridor utilisation", 1)
    b.notes.append(f"'{words}': link utilisation of {label} ({', '.join(members)})")
    b.add_target(Target("link_utilisation", cond, lo, hi, unit="ratio to pre-intent value" if relative else
                        "fraction", relative=relative, links=members), words, f.quantity, *f.kpis, *links)


def latency_ok(b: Build, fnd: Findings, value_ms: float, name: str, q: Mention) -> bool:
    s = b.domain.slice(name)
    floor = s.base_delay_ms + b.domain.min_transport_delay_ms
    if value_ms <= floor:
        b.cite("URLLC user plane latency 0.5 ms reliability", 1)
        b.ask("infeasible", f"A {name} p99 latency below {value_ms:g} ms is not reachable here: the slice's "
              f"processing and air-interface floor is {s.base_delay_ms:g} ms plus at least "
              f"{b.domain.min_transport_delay_ms:g} ms of transport, {floor:g} ms before any queueing.",
              f"Would a target above {floor:g} ms do?", q)
        return False
    sla = s.sla_p99_ms
    ev = b.cite(f"{'URLLC delay-critical GBR' if s.sst == 2 else 'Non-GBR broadband'} packet delay budget 5QI", 3)
    pdbs = [float(b.kb.get(e.doc_id).facts["pdb_ms"]) for e in ev if "pdb_ms" in b.kb.get(e.doc_id).facts]
    if sla is not None and value_ms < sla and not fnd.confirmed_stricter:
        tight = f" (the tightest standardized budget for such flows is {min(pdbs):g} ms, 5QI table)" if pdbs else ""
        b.ask("stricter_than_sla", f"The {name} slice is provisioned for a p99 latency of {sla:g} ms; {value_ms:g} ms "
              f"is {sla / value_ms:.1f}x stricter than its SLA{tight}. Meeting it needs more PRBs for {name} "
              "than its SLA type reserves, at the other slices' expense.",
              f"Do you want to tighten {name} to {value_ms:g} ms beyond its {sla:g} ms SLA (say 'confirm "
              f"stricter target'), or keep the SLA's {sla:g} ms?", q)
        return False
    if sla is not None and value_ms >= sla:
        b.notes.append(f"the {name} SLA ({sla:g} ms) is at least as strict as {value_ms:g} ms and stays in force")
    return True


def sla_targets(name: str, b: Build, loss_only: bool = False) -> list[Target]:
    s = b.domain.slice(name)
    out = [Target("packet_loss", "IS_LESS_THAN", s.sla_loss, slice=name, unit="fraction", source="sla")]
    if s.sla_p99_ms is not None and not loss_only:
        out.append(Target("p99_latency_ms", "IS_LESS_THAN", s.sla_p99_ms, slice=name, unit="ms", source="sla"))
    return out

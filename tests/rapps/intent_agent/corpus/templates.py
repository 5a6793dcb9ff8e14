"""Templated phrasings of the intent corpus (deterministic: the seed fixes every choice).

    python tests/rapps/intent_agent/corpus/templates.py   # rewrites templated.jsonl next to this file
    python tests/rapps/intent_agent/corpus/templates.py --seed 2027 --split fresh --out templated_fresh.jsonl

The second file is a held-out set drawn after development was done (other seed, texts already in the corpus
skipped); it is measured, never tuned to.

Each family draws slices, KPI words, comparators, values and units from its own lists; the split comes from
the draw too (one in four held out). Expected specs are computed here from the drawn *values*, never from the
compiler, so a compiler bug cannot make its own expectation.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("templated.jsonl")
LT, GT, RNG_ = "IS_LESS_THAN", "IS_GREATER_THAN", "IS_WITHIN_RANGE"
NUM_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 8: "eight", 10: "ten", 12: "twelve", 15: "fifteen",
             20: "twenty", 25: "twenty-five", 30: "thirty", 40: "forty", 45: "forty five", 50: "fifty",
             60: "sixty", 75: "seventy-five", 80: "eighty", 100: "one hundred", 150: "one hundred and fifty",
             200: "two hundred"}
LAT = ["latency", "p99 latency", "delay", "lat", "end-to-end delay"]
LOSS = ["packet loss", "loss", "pkt loss", "PLR", "loss rate"]
THR = ["throughput", "tput", "data rate", "thru", "bitrate"]
UPPER = ["below {v}", "under {v}", "less than {v}", "at most {v}", "no more than {v}", "not above {v}", "< {v}",
         "max {v}", "up to {v}", "no higher than {v}"]
LOWER = ["above {v}", "at least {v}", "over {v}", "no less than {v}", "more than {v}", "> {v}", "min {v}",
         "not below {v}"]
KEEP = ["Keep", "Hold", "Make sure", "Ensure", "Maintain", "Please keep"]
SERVICES = {"URLLC": ["URLLC", "the hospital devices", "remote surgery", "patient monitoring", "the URLLC slice"],
            "eMBB": ["eMBB", "the smartphones", "video streaming", "mobile broadband", "the eMBB slice"],
            "FWA": ["FWA", "home broadband", "the households", "fixed wireless access", "the FWA slice"]}
UNKNOWN_PLACES = ["Riverside Arena", "the airport zone", "Harbour Park", "the university campus", "Old Town Square",
                  "the convention centre", "Northgate Mall", "the fairgrounds"]
Entry = dict[str, Any]


def _t(kpi: str, s: str | None, cond: str, v: float, up: float | None = None, rel: bool = False,
       links: list[str] | None = None) -> list[Any]:
    return [kpi, s, cond, round(v, 9), None if up is None else round(up, 9), rel, links or []]


def spec(*targets: list[Any], **extra: Any) -> dict[str, Any]:
    return {"kind": "spec", "targets": list(targets), **extra}


def ask(*kinds: str, names: list[str] | None = None) -> dict[str, Any]:
    return {"kind": "clarification", "issues": list(kinds), "names": names or []}


def _num(r: random.Random, v: float, words: bool) -> str:
    return NUM_WORDS[int(v)] if words and int(v) == v and int(v) in NUM_WORDS else f"{v:g}"


def polarity(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["URLLC", "eMBB", "FWA"])
    kind = r.choice(["lat", "loss", "thr", "neg_up", "neg_low"])
    if kind in ("lat", "neg_up"):
        v = r.choice([25, 30, 40, 50, 80]) if s == "URLLC" else r.choice([15, 30, 50, 100])
        if kind == "lat":
            text = f"{r.choice(KEEP)} {s} {r.choice(LAT)} {r.choice(UPPER).format(v=f'{v} ms')}"
        else:
            text = r.choice([f"Do not let {s} {r.choice(LAT)} exceed {v} ms",
                             f"Never let the {s} {r.choice(LAT)} go above {v} ms",
                             f"{s} {r.choice(LAT)} must not exceed {v} ms",
                             f"Keep {s} {r.choice(LAT)} from rising above {v} ms"])
        return "polarity", text, spec(_t("p99_latency_ms", s, LT, v))
    if kind == "loss":
        v = r.choice([1, 2, 5, 8])
        return "polarity", f"{r.choice(KEEP)} {s} {r.choice(LOSS)} {r.choice(UPPER).format(v=f'{v} %')}", \
            spec(_t("packet_loss", s, LT, v / 100))
    v = r.choice([5, 10, 20, 50, 80])
    if kind == "thr":
        return "polarity", f"{r.choice(KEEP)} {s} {r.choice(THR)} {r.choice(LOWER).format(v=f'{v} Mbps')}", \
            spec(_t("throughput_mbps", s, GT, v))
    text = r.choice([f"Do not let {s} {r.choice(THR)} fall below {v} Mbps",
                     f"Never let the {s} {r.choice(THR)} drop below {v} Mbps",
                     f"{s} {r.choice(THR)} must not go under {v} Mbps"])
    return "polarity", text, spec(_t("throughput_mbps", s, GT, v))


def binding(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    a, b = r.sample(["URLLC", "eMBB", "FWA"], 2)
    if r.random() < 0.5:
        va, vb = r.choice([1, 2, 3]), r.choice([5, 8, 10])
        form = r.choice([
            f"Keep {a} loss under {va} % and {b} loss under {vb} %",
            f"Keep loss below {va} % for {a} and {vb} % for {b}",
            f"Keep packet loss under {va} % and {vb} % for {a} and {b} respectively",
            f"{a} loss under {va} %, {b} loss under {vb} %"])
        return "binding", form, spec(_t("packet_loss", a, LT, va / 100), _t("packet_loss", b, LT, vb / 100))
    la = r.choice([25, 30, 40]) if a == "URLLC" else r.choice([30, 60])
    tb = r.choice([10, 20, 50])
    form = r.choice([f"Keep {a} latency under {la} ms and {b} throughput above {tb} Mbps",
                     f"{b} throughput at least {tb} Mbps while {a} latency stays below {la} ms",
                     f"Hold {a} delay below {la} ms, and guarantee {b} at least {tb} Mbps of throughput"])
    return "binding", form, spec(_t("p99_latency_ms", a, LT, la), _t("throughput_mbps", b, GT, tb))


def number_words(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["eMBB", "FWA"])
    kind = r.choice(["lat", "thr", "frac"])
    if kind == "lat":
        v = r.choice([25, 30, 40, 50])
        return "number_words", f"Keep {s} latency under {NUM_WORDS[v]} milliseconds", \
            spec(_t("p99_latency_ms", s, LT, v))
    if kind == "thr":
        v = r.choice([20, 50, 100, 150, 200])
        return "number_words", f"Give {s} a throughput of at least {NUM_WORDS[v]} Mbps", \
            spec(_t("throughput_mbps", s, GT, v))
    frac, f = r.choice([("a fifth", 0.2), ("a quarter", 0.25), ("a tenth", 0.1), ("a third", 1 / 3),
                        ("half", 0.5)])
    kpi = r.choice(["energy cost", "resource cost"])
    k = "energy_cost" if kpi.startswith("energy") else "resource_cost"
    return "number_words", f"Cut the {kpi} by {frac}", spec(_t(k, None, LT, round(1 - round(f * 100, 2) / 100, 6),
                                                                rel=True))


def mixed_units(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["URLLC", "eMBB", "FWA"])
    kind = r.choice(["s", "us", "gbps", "kbps", "pc", "frac"])
    if kind == "s":
        v = r.choice([0.03, 0.05, 0.1])
        return "mixed_units", f"Keep {s} latency below {v:g} s", spec(_t("p99_latency_ms", s, LT, v * 1000))
    if kind == "us":
        v = r.choice([30000, 50000])
        return "mixed_units", f"Keep {s} p99 delay under {v} us", spec(_t("p99_latency_ms", s, LT, v / 1000))
    if kind == "gbps":
        v = r.choice([0.1, 0.2, 0.5])
        return "mixed_units", f"Keep {s} throughput above {v:g} Gbps", spec(_t("throughput_mbps", s, GT, v * 1000))
    if kind == "kbps":
        v = r.choice([500, 2000])
        return "mixed_units", f"Keep {s} throughput above {v} kbps", spec(_t("throughput_mbps", s, GT, v / 1000))
    if kind == "pc":
        v = r.choice([2, 4, 6])
        w = r.choice(["percent", "per cent", "pct", "%"])
        return "mixed_units", f"Keep {s} packet loss under {v} {w}", spec(_t("packet_loss", s, LT, v / 100))
    v = r.choice([0.01, 0.02, 0.05])
    return "mixed_units", f"Keep {s} loss below {v:g}", spec(_t("packet_loss", s, LT, v))


def relative(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    kind = r.choice(["by", "halve", "double", "sla", "cost", "improve"])
    s = r.choice(["URLLC", "eMBB", "FWA"])
    p = r.choice([10, 20, 25, 30, 40])
    if kind == "by":
        kpi, k = r.choice([("latency", "p99_latency_ms"), ("packet loss", "packet_loss")])
        verb = r.choice(["Reduce", "Cut", "Lower", "Decrease"])
        return "relative", f"{verb} {s} {kpi} by {p} %", spec(_t(k, s, LT, 1 - p / 100, rel=True))
    if kind == "halve":
        kpi, k = r.choice([("latency", "p99_latency_ms"), ("loss", "packet_loss")])
        return "relative", r.choice([f"Halve the {s} {kpi}", f"Cut {s} {kpi} in half"]), \
            spec(_t(k, s, LT, 0.5, rel=True))
    if kind == "double":
        return "relative", r.choice([f"Double the {s} throughput", f"Give {s} twice the throughput",
                                     f"Increase {s} throughput by 100 %"]), \
            spec(_t("throughput_mbps", s, GT, 2.0, rel=True))
    if kind == "sla":
        f = r.choice([0.5, 0.75])
        text = "Halve the URLLC latency SLA" if f == 0.5 else "Tighten the URLLC latency SLA by 25 %"
        return "relative", text, spec(_t("p99_latency_ms", "URLLC", LT, 20 * f))
    if kind == "cost":
        kpi, k = r.choice([("energy cost", "energy_cost"), ("resource cost", "resource_cost"),
                           ("power consumption", "energy_cost")])
        return "relative", f"{r.choice(['Reduce', 'Cut', 'Lower'])} {kpi} by {p} percent", \
            spec(_t(k, None, LT, 1 - p / 100, rel=True))
    return "relative", f"Improve {s} throughput by {p} %", spec(_t("throughput_mbps", s, GT, 1 + p / 100, rel=True))


def reservations(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["URLLC", "eMBB", "FWA"])
    c = r.choice([2, 4, 6, 8])
    p = r.choice([10, 20, 25, 30])
    kind = r.choice(["reserve", "cap", "floor", "dedicated", "two", "range"])
    if kind == "reserve":
        return "reservations", f"Reserve {p} % of cell {c}'s PRBs for {s}", spec(ratio=[[s, c, None, p / 100, None]])
    if kind == "cap":
        return "reservations", r.choice([f"Cap {s} at {p} % of the PRBs in cell {c}",
                                         f"Give {s} no more than {p} % of cell {c}",
                                         f"Limit {s} to {p} % of the radio resources of cell {c}"]), \
            spec(ratio=[[s, c, None, None, p / 100]])
    if kind == "floor":
        return "reservations", f"Guarantee {s} at least {p} % of the PRBs in cell {c}", \
            spec(ratio=[[s, c, None, p / 100, None]])
    if kind == "dedicated":
        return "reservations", f"Dedicate {p} % of cell {c} exclusively to {s}", \
            spec(ratio=[[s, c, p / 100, p / 100, None]])
    if kind == "range":
        return "reservations", f"Keep {s} between {p} and {p + 20} % of the PRBs of cell {c}", \
            spec(ratio=[[s, c, None, p / 100, (p + 20) / 100]])
    s2 = r.choice([x for x in ("URLLC", "eMBB", "FWA") if x != s])
    c2 = r.choice([x for x in (3, 5, 7, 9) if x != c])
    p2 = r.choice([15, 35, 40])
    return "reservations", f"Reserve {p} % of cell {c} for {s} and {p2} % of cell {c2} for {s2}", \
        spec(ratio=[[s, c, None, p / 100, None], [s2, c2, None, p2 / 100, None]])


def impossible(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["URLLC", "eMBB", "FWA"])
    c = r.choice([1, 4, 6])
    kind = r.choice(["over100", "sum", "loss", "reduce"])
    if kind == "over100":
        p = r.choice([110, 120, 150])
        return "impossible_ratios", f"Reserve {p} % of cell {c} for {s}", ask("infeasible")
    if kind == "sum":
        a, b = r.choice([(60, 50), (70, 40), (80, 30)])
        s2 = r.choice([x for x in ("URLLC", "eMBB", "FWA") if x != s])
        return "impossible_ratios", f"Give {s} at least {a} % and {s2} at least {b} % of the PRBs of cell {c}", \
            ask("over_constrained")
    if kind == "loss":
        return "impossible_ratios", f"Keep {s} loss under {r.choice([100, 120])} %", ask("infeasible")
    return "impossible_ratios", f"Reduce energy cost by {r.choice([100, 110, 150])} %", ask("infeasible")


def contradictions(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["eMBB", "FWA"])
    kind = r.choice(["lat", "share", "range", "thr"])
    if kind == "lat":
        a = r.choice([30, 40])
        return "contradictions", f"Keep {s} latency below {a} ms and above {a + 20} ms", ask("contradictory")
    if kind == "share":
        return "contradictions", f"Give {s} at least 40 % and at most 20 % of the PRBs", ask("contradictory")
    if kind == "range":
        return "contradictions", f"Keep {s} throughput between 80 and 50 Mbps", ask("contradictory")
    return "contradictions", f"{s} throughput must stay above 100 Mbps and must not exceed 60 Mbps", \
        ask("contradictory")


def over_constrained(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    p = r.choice([10, 15, 20, 30])
    return "over_constrained", r.choice([
        f"Reduce energy cost by {p} % while increasing throughput for all slices",
        f"Cut the energy cost by {p} % and grow throughput for every slice",
        "Give URLLC at least 60 % and eMBB at least 50 % of the PRBs",
        f"Reserve 50 % for URLLC, 40 % for eMBB and 30 % for FWA in cell {r.choice([2, 5])}"]), ask("over_constrained")


def unknown_places(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    place = r.choice(UNKNOWN_PLACES)
    kind = r.choice(["zone", "event", "cell"])
    if kind == "cell":
        c = r.choice([11, 12, 42, 99])
        return "unknown_places", f"Prioritize URLLC in cell {c}", ask("unknown_reference", names=[])
    name = place.removeprefix("the ").removesuffix(" zone")
    if kind == "event":
        ev = r.choice(["concert", "match", "festival"])
        return "unknown_places", f"Prepare for the {ev} at {place}", ask("unknown_reference", names=[name])
    return "unknown_places", f"Prioritize URLLC reliability at {place}", ask("unknown_reference", names=[name])


def services(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["URLLC", "eMBB", "FWA"])
    name = r.choice(SERVICES[s][1:4])
    if s == "URLLC":
        v = r.choice([25, 30, 50])
        return "services", f"Keep the latency of {name} below {v} ms", spec(_t("p99_latency_ms", s, LT, v))
    v = r.choice([5, 10, 25])
    return "services", f"Keep throughput for {name} above {v} Mbps", spec(_t("throughput_mbps", s, GT, v))


def times(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["eMBB", "FWA"])
    v = r.choice([10, 20, 40])
    phrase, window = r.choice([("from 7 pm to 11 pm", ["19:00", "23:00"]), ("between 18:00 and 22:00",
                               ["18:00", "22:00"]), ("for the next two hours", ["18:30", "20:30"]),
                               ("for the next 90 minutes", ["18:30", "20:00"]), ("until midnight", ["18:30", "00:00"]),
                               ("after 9 pm", ["21:00", "00:00"]), ("in 30 minutes for an hour", ["19:00", "20:00"]),
                               ("during the evening peak", ["18:00", "22:00"]), ("07:00-09:00", ["07:00", "09:00"])])
    return "times", r.choice([f"Keep {s} throughput above {v} Mbps {phrase}",
                              f"{phrase.capitalize()}, keep {s} throughput above {v} Mbps"]), \
        spec(_t("throughput_mbps", s, GT, v), window=window)


def transport(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    p = r.choice([60, 70, 80])
    kind = r.choice(["group", "link", "neg", "backhaul"])
    corridor = ["C-HUB", "NE-HUB", "C-NE"]
    if kind == "group":
        return "transport", r.choice([f"Keep utilisation of the corridor links below {p} %",
                                      f"Keep the corridor link utilization under {p} %",
                                      f"Corridor links: util < {p} %"]), \
            spec(_t("link_utilisation", None, LT, p / 100, links=corridor))
    if kind == "link":
        link = r.choice(["C-HUB", "H-HUB", "SW-HUB"])
        return "transport", f"Keep the {link} link below {p} % utilisation", \
            spec(_t("link_utilisation", None, LT, p / 100, links=[link]))
    if kind == "neg":
        return "transport", f"Do not let the corridor links exceed {p} % utilisation", \
            spec(_t("link_utilisation", None, LT, p / 100, links=corridor))
    return "transport", f"Keep the backhaul utilisation under {p} %", \
        spec(_t("link_utilisation", None, LT, p / 100, links=["SW-HUB", "SE-HUB", "C-HUB", "NE-HUB", "H-HUB",
                                                              "SW-C", "C-NE", "NE-SE", "SE-SW", "H-C"]))


def per_ue(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["eMBB", "FWA"])
    v = r.choice([2, 5, 10, 25])
    kind = r.choice(["ue", "site"])
    if kind == "ue":
        return "per_ue_site", r.choice([f"Give every {s} user at least {v} Mbps",
                                        f"Keep {s} throughput above {v} Mbps per user",
                                        f"{s} per-UE throughput at least {v} Mbps"]), \
            spec(_t("ue_throughput_mbps", s, GT, v))
    return "per_ue_site", r.choice([f"Keep {s} throughput above {v * 10} Mbps per site",
                                    f"{s} site throughput at least {v * 10} Mbps"]), \
        spec(_t("site_throughput_mbps", s, GT, v * 10))


TYPOS = {"latency": "latnecy", "throughput": "througput", "reliability": "relability", "prioritize": "prioritze",
         "hospital": "hosptial", "packet": "packte", "Keep": "Kepe", "utilisation": "utilisaton"}


def typos(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    fam = r.choice([polarity, binding, relative])
    _, text, exp = fam(r)
    for good, bad in TYPOS.items():
        if good in text and r.random() < 0.8:
            text = text.replace(good, bad, 1)
    return "typos", text, exp


def abbreviations(r: random.Random) -> tuple[str, str, dict[str, Any]]:
    s = r.choice(["URLLC", "eMBB", "FWA"])
    kind = r.choice(["lat", "tput", "pl", "contra"])
    if kind == "lat":
        v = r.choice([30, 45]) if s == "URLLC" else r.choice([20, 60])
        return "abbreviations", f"keep {s} lat < {v}ms", spec(_t("p99_latency_ms", s, LT, v))
    if kind == "tput":
        v = r.choice([10, 30])
        return "abbreviations", f"{s} tput >= {v} Mbps pls", spec(_t("throughput_mbps", s, GT, v))
    if kind == "pl":
        v = r.choice([1, 3])
        return "abbreviations", f"{s} pkt loss max {v} pct", spec(_t("packet_loss", s, LT, v / 100))
    return "abbreviations", f"keep {s} lat < 30ms and > 45ms", ask("contradictory")


FAMILIES: list[tuple[Callable[[random.Random], tuple[str, str, dict[str, Any]]], int]] = [
    (polarity, 30), (binding, 22), (number_words, 18), (mixed_units, 18), (relative, 24), (reservations, 22),
    (impossible, 14), (contradictions, 12), (over_constrained, 8), (unknown_places, 14), (services, 16),
    (times, 18), (transport, 16), (per_ue, 12), (typos, 16), (abbreviations, 14)]


def generate(seed: int = 17, split: str | None = None, skip: set[str] | None = None, prefix: str = "t") -> list[Entry]:
    r = random.Random(seed)
    out: list[Entry] = []
    seen: set[str] = set(skip or ())
    for fam, n in FAMILIES:
        made = tries = 0
        while made < n and tries < 20 * n:
            tries += 1
            cat, text, exp = fam(r)
            if text in seen:
                continue
            seen.add(text)
            draw = "heldout" if r.random() < 0.25 else "dev"
            out.append({"id": f"{prefix}-{fam.__name__}-{made:03d}", "category": cat, "split": split or draw,
                        "source": "template", "text": text, "expect": exp})
            made += 1
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--split", default=None, help="one split for every row (default: 1 in 4 heldout, else dev)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--scale", type=float, default=1.0, help="rows per family x this")
    args = ap.parse_args()
    out = args.out if args.out.is_absolute() else OUT.parent / args.out
    skip = set()
    for f in OUT.parent.glob("*.jsonl") if args.split is not None else ():  # a fresh set skips known texts
        if f.resolve() != out.resolve():
            skip |= {json.loads(x)["text"] for x in f.read_text(encoding="utf-8").splitlines() if x.strip()}
    global FAMILIES
    FAMILIES = [(fam, max(1, round(n * args.scale))) for fam, n in FAMILIES]
    rows = generate(args.seed, args.split, skip, "t" if args.split is None else f"t{args.seed}")
    out.write_text("".join(json.dumps(e) + "\n" for e in rows), encoding="utf-8")
    print(f"wrote {len(rows)} phrasings to {out}")


if __name__ == "__main__":
    main()

"""Domain lexicon of the grammar compiler: slices, KPIs, verbs, comparators, units, times, typo repair (pure)."""

from __future__ import annotations

import difflib
import re

#: words -> canonical slice name (matched case-insensitively against the scenario's slice names too)
SLICE_WORDS = {
    "urllc": "URLLC", "ultra-reliable": "URLLC", "mission-critical": "URLLC", "critical": "URLLC",
    "embb": "eMBB", "mbb": "eMBB",  # bare "broadband" is mobile or home broadband: the catalogue decides
    "fwa": "FWA", "fixed-wireless": "FWA",
}
#: words -> KPI family (reliability and coverage expand into SLA targets)
KPI_WORDS = {
    "latency": "p99_latency_ms", "delay": "p99_latency_ms", "p99": "p99_latency_ms", "lag": "p99_latency_ms",
    "reliability": "reliability", "reliable": "reliability", "availability": "reliability",
    "loss": "packet_loss", "drops": "packet_loss", "drop": "packet_loss",
    "throughput": "throughput_mbps", "speed": "throughput_mbps", "bitrate": "throughput_mbps",
    "capacity": "throughput_mbps", "bandwidth": "throughput_mbps",
    "cost": "resource_cost", "costs": "resource_cost", "spend": "resource_cost", "footprint": "resource_cost",
    "energy": "energy_cost", "power": "energy_cost", "electricity": "energy_cost",
    "coverage": "coverage",
    "prb": "prb_share", "prbs": "prb_share", "share": "prb_share", "quota": "prb_share",
    "utilisation": "link_utilisation", "utilization": "link_utilisation", "congestion": "link_utilisation",
    "latencies": "p99_latency_ms", "delays": "p99_latency_ms", "losses": "packet_loss", "plr": "packet_loss",
    "responsiveness": "p99_latency_ms", "goodput": "throughput_mbps", "speeds": "throughput_mbps",
}
#: KPIs operators ask for that the agent cannot measure or steer: named back in a question, never dropped
UNSUPPORTED_KPIS = {"jitter": "jitter", "handover": "handover success", "handovers": "handover success",
                    "rsrp": "RSRP", "sinr": "SINR", "cqi": "CQI", "mos": "MOS", "uplink": "uplink KPIs",
                    "ul": "uplink KPIs", "call drop": "call drop rate", "accessibility": "accessibility",
                    "retainability": "retainability", "interference": "interference", "temperature": "temperature"}
#: abbreviations expanded before anything else (word-bounded, case-insensitive)
ABBREVIATIONS = {
    "lat": "latency", "lat.": "latency", "thru": "throughput", "thrpt": "throughput", "thpt": "throughput",
    "tput": "throughput", "tp": "throughput", "xput": "throughput", "bw": "bandwidth", "pkt": "packet",
    "pkts": "packets", "pl": "packet loss", "rel": "reliability", "avail": "availability", "util": "utilisation",
    "utilz": "utilisation", "bh": "backhaul", "tn": "transport", "hosp": "hospital", "pct": "percent",
    "w/o": "without", "w/": "with", "approx": "approximately", "approx.": "approximately", "~": "about ",
    "dl": "downlink", "e2e": "end-to-end", "prio": "priority", "prioritise": "prioritize", "max.": "max",
    "min.": "min", "resp.": "respectively", "resp": "respectively", "ues": "UEs", "pwr": "power",
    "nrg": "energy", "ms.": "ms", "sla's": "slas", "sst1": "sst 1", "sst2": "sst 2", "sst3": "sst 3",
    "mins": "minutes", "hrs": "hours", "hr": "hour", "cust": "customers", "subs": "subscribers",
    "don't": "do not", "dont": "do not", "doesn't": "does not", "mustn't": "must not", "shouldn't": "should not",
    "won't": "will not", "can't": "cannot", "isn't": "is not", "never let": "do not let",
}
#: comparator words (after the normaliser: "no more than" etc. are handled with their negation)
BELOW_WORDS = ("below", "under", "less than", "fewer than", "lower than", "beneath", "at most", "at max",
               "max", "maximum", "up to", "within", "<", "<=", "≤", "no higher than", "not higher than",
               "no more than", "not more than", "no greater than", "not to exceed", "capped at", "cap at",
               "ceiling of", "smaller than", "shorter than", "tops", "or less", "or below", "or lower")
ABOVE_WORDS = ("above", "over", "more than", "greater than", "higher than", "at least", "min", "minimum", ">",
               ">=", "≥", "exceed", "exceeds", "exceeding", "beyond", "no lower than", "not lower than",
               "no less than", "not less than", "not below", "not under", "floor of", "or more", "or above",
               "or higher", "upwards of", "in excess of")
NEAR_WORDS = ("near", "around", "about", "approximately", "roughly", "close to", "circa", "~", "level with")
#: a negation that turns "exceed / rise above" into an upper bound and "fall below" into a lower bound
NEGATORS = ("not", "never", "no", "without", "unless", "from", "avoid", "prevent", "stop")
RISE_WORDS = ("exceed", "exceeds", "exceeding", "exceeded", "above", "over", "beyond", "rise", "rises", "rising",
              "go up", "goes up", "going up", "climb", "climbs", "climbing", "surpass", "surpasses", "top",
              "more than", "higher than", "greater than", "go over", "goes over", "going over")
FALL_WORDS = ("below", "under", "fall", "falls", "falling", "drop", "drops", "dropping", "dip", "dips",
              "dipping", "sink", "sinks", "less than", "lower than", "go under", "goes under")
#: words of a PRB share / radio-resource request
SHARE_WORDS = ("prb", "prbs", "share", "quota", "resources", "resource blocks", "radio resources", "capacity of",
               "of the cell", "of cell", "of the cells", "of each cell", "of its cell", "rrm", "rrmpolicy",
               "ratio", "bandwidth of", "reserve", "reserved", "dedicate", "dedicated", "guarantee", "guaranteed")
#: reservation kinds of TS 28.541 RRMPolicyRatio
DEDICATED_WORDS = ("dedicated", "dedicate", "exclusive", "exclusively", "not shared", "unshared", "isolated")
#: words that carry no meaning of their own between a number and the slice / cell it belongs to
GLUE = {"for", "of", "to", "on", "in", "at", "the", "slice", "slices", "traffic", "users", "'s", "its", "their",
        "cell's", "cells'", "prbs", "prb", "resources", "radio", "share", "capacity", "users'", "each", "every",
        "per", "ue", "ues", "subscriber", "subscribers"}
#: nouns that make "at the X" / "in the X <noun>" a place
PLACE_NOUNS = ("zone", "area", "district", "neighbourhood", "neighborhood", "quarter", "park", "square", "arena",
               "stadium", "station", "airport", "campus", "mall", "centre", "center", "harbour", "harbor", "port",
               "plaza", "street", "avenue", "hall", "venue", "fairground", "fairgrounds", "beach", "university",
               "downtown", "suburb", "suburbs", "village", "town", "terminal", "expo", "market", "dome")
#: multiplier verbs of relative changes: factor on the current value (or the SLA)
MULTIPLIER_VERBS = {"halve": 0.5, "halving": 0.5, "halved": 0.5, "double": 2.0, "doubling": 2.0, "doubled": 2.0,
                    "triple": 3.0, "tripling": 3.0, "tripled": 3.0, "quadruple": 4.0}
UP_VERBS = {"prioritize", "prioritise", "maximize", "maximise", "improve", "boost", "increase", "raise",
            "favour", "favor", "protect", "guarantee", "give", "reserve", "enhance", "serve", "increasing",
            "improving", "raising", "boosting", "prioritizing", "prioritising", "maximizing", "maximising"}
KEEP_VERBS = {"keep", "preserve", "preserving", "maintain", "ensure", "hold", "stay", "keeping", "maintaining",
              "ensuring", "sustain", "without", "respect"}
DOWN_VERBS = {"reduce", "lower", "cut", "minimize", "minimise", "limit", "limiting", "decrease", "save", "trim",
              "shrink", "reducing", "lowering", "cap", "capping", "restrict"}
PREPARE_VERBS = {"prepare", "ready", "provision", "anticipate", "prepping", "preparing"}
UP_VERBS |= {"grow", "expand", "allocate", "assign", "dedicate", "lift", "push", "upgrade", "ensure-more"}
DOWN_VERBS |= {"halve", "tighten", "bring", "drive", "slash", "curb", "contain", "throttle", "squeeze"}
KEEP_VERBS |= {"let", "guard", "secure", "honour", "honor", "meet", "deliver", "provide", "set", "hold", "stick"}
BELOW = {"below", "under", "less", "lower", "beneath", "<", "max", "maximum", "most", "within", "up-to", "<="}
ABOVE = {"above", "over", "more", "greater", "least", "minimum", ">", ">=", "min", "exceed"}
NEAR = {"near", "around", "close", "about", "approximately", "roughly", "level", "flat", "same", "baseline"}
CONFIRM = ("confirm", "even if stricter", "stricter than the sla", "override the sla", "i accept")
EVENTS = ("stadium", "concert", "festival", "match", "game", "parade", "marathon")
WINDOWS = {"evening": ("18:00", "22:00"), "morning": ("07:00", "09:00"), "daytime": ("08:00", "18:00"),
           "night": ("00:00", "06:00"), "overnight": ("00:00", "06:00")}
#: unit word -> (unit family, factor to the canonical unit: ms, fraction, Mbit/s)
UNITS = {
    "ms": ("time", 1.0), "msec": ("time", 1.0), "millisecond": ("time", 1.0), "milliseconds": ("time", 1.0),
    "s": ("time", 1000.0), "sec": ("time", 1000.0), "second": ("time", 1000.0), "seconds": ("time", 1000.0),
    "us": ("time", 0.001), "µs": ("time", 0.001), "microseconds": ("time", 0.001), "microsecond": ("time", 0.001),
    "%": ("ratio", 0.01), "percent": ("ratio", 0.01), "pct": ("ratio", 0.01), "per-cent": ("ratio", 0.01),
    "mbps": ("rate", 1.0), "mbit/s": ("rate", 1.0), "mb/s": ("rate", 1.0), "gbps": ("rate", 1000.0),
    "gbit/s": ("rate", 1000.0), "kbps": ("rate", 0.001), "kbit/s": ("rate", 0.001),
}
#: everyday words of intents that must never be "repaired" into a domain word
COMMON = {
    "while", "with", "without", "the", "and", "during", "demand", "peaks", "peak", "total", "resource", "near",
    "keeping", "cells", "cell", "zone", "area", "event", "for", "from", "this", "that", "then", "them", "than",
    "more", "most", "less", "least", "all", "every", "each", "slice", "slices", "sla", "slas", "violating",
    "violate", "time", "times", "hours", "hour", "today", "tonight", "please", "make", "sure", "also", "network",
    "users", "traffic", "service", "services", "level", "levels", "target", "targets", "value", "between",
    "some", "something", "better", "about", "into", "over", "under", "above", "below", "their", "there",
    "what", "when", "which", "where", "only", "much", "many", "high", "higher", "low", "lower", "budget",
    "stricter", "strict", "accept", "district", "airport", "downtown", "campus", "harbour", "harbor", "station",
    "city", "entire", "whole", "next", "same", "data", "load", "loads", "used", "usage", "rate", "rates",
    "doing", "things", "stuff", "should", "would", "could", "must", "need", "needs", "want", "wants",
    "exceed", "exceeds", "latest", "tomorrow", "minutes", "minute", "link", "links", "hub",
    "rest", "home", "homes", "user", "devices", "device", "phones", "cars", "robots", "video", "fixed", "wireless",
    "respectively", "sites", "site", "dedicated", "reserve", "utilisation", "utilization", "backhaul",
    "transport", "uplink", "downlink", "jitter", "halve", "double", "triple", "twice", "percentage", "points",
}


def vocabulary(extra: tuple[str, ...] = ()) -> list[str]:
    words = set(SLICE_WORDS) | set(KPI_WORDS) | UP_VERBS | KEEP_VERBS | DOWN_VERBS | PREPARE_VERBS
    words |= {"hospital", "corridor", "stadium", "concert", "evening", "morning", "daytime", "night", "baseline",
              "milliseconds", "percent", "microseconds", "seconds"}
    words |= {w.lower() for w in extra}
    return sorted(words)


_WORD = re.compile(r"[A-Za-zµ][A-Za-z\-]*")


def repair_typos(text: str, vocab: list[str]) -> tuple[str, list[str]]:
    """Replace words close to a domain word (difflib ratio >= 0.84, same first letter) by it; returns the text
    and notes."""
    known = set(vocab) | COMMON
    notes: list[str] = []

    def fix(m: re.Match[str]) -> str:
        w = m.group(0)
        lw = w.lower()
        if len(lw) < 4 or lw in known or lw.rstrip("s") in known:
            return w
        if "-" in w and all(p.isupper() or p.isdigit() for p in w.split("-") if p):
            return w  # an identifier such as "Z-HUB": named, never repaired into another name
        best = [v for v in difflib.get_close_matches(lw, vocab, n=3, cutoff=0.84) if v[0] == lw[0]][:1]
        if not best:
            return w
        notes.append(f"read '{w}' as '{best[0]}'")
        return best[0]

    return _WORD.sub(fix, text), notes

"""Domain lexicon of the grammar compiler: slices, KPIs, verbs, comparators, units, times, typo repair (pure)."""

from __future__ import annotations

import difflib
import re

#: words -> canonical slice name (matched case-insensitively against the scenario's slice names too)
SLICE_WORDS = {
    "urllc": "URLLC", "ultra-reliable": "URLLC", "mission-critical": "URLLC", "critical": "URLLC",
    "embb": "eMBB", "broadband": "eMBB", "mbb": "eMBB",
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
}
UP_VERBS = {"prioritize", "prioritise", "maximize", "maximise", "improve", "boost", "increase", "raise",
            "favour", "favor", "protect", "guarantee", "give", "reserve", "enhance", "serve", "increasing",
            "improving", "raising", "boosting", "prioritizing", "prioritising", "maximizing", "maximising"}
KEEP_VERBS = {"keep", "preserve", "preserving", "maintain", "ensure", "hold", "stay", "keeping", "maintaining",
              "ensuring", "sustain", "without", "respect"}
DOWN_VERBS = {"reduce", "lower", "cut", "minimize", "minimise", "limit", "limiting", "decrease", "save", "trim",
              "shrink", "reducing", "lowering", "cap", "capping", "restrict"}
PREPARE_VERBS = {"prepare", "ready", "provision", "anticipate", "prepping", "preparing"}
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
}


def vocabulary(extra: tuple[str, ...] = ()) -> list[str]:
    words = set(SLICE_WORDS) | set(KPI_WORDS) | UP_VERBS | KEEP_VERBS | DOWN_VERBS | PREPARE_VERBS
    words |= {"hospital", "corridor", "stadium", "concert", "evening", "morning", "daytime", "night", "baseline",
              "milliseconds", "percent", "microseconds", "seconds"}
    words |= {w.lower() for w in extra}
    return sorted(words)


_WORD = re.compile(r"[A-Za-zµ][A-Za-z\-]*")


def repair_typos(text: str, vocab: list[str]) -> tuple[str, list[str]]:
    """Replace words close to a domain word (difflib ratio >= 0.8) by it; returns the text and notes."""
    known = set(vocab) | COMMON
    notes: list[str] = []

    def fix(m: re.Match[str]) -> str:
        w = m.group(0)
        lw = w.lower()
        if len(lw) < 4 or lw in known or lw.rstrip("s") in known:
            return w
        best = difflib.get_close_matches(lw, vocab, n=1, cutoff=0.8)
        if not best:
            return w
        notes.append(f"read '{w}' as '{best[0]}'")
        return best[0]

    return _WORD.sub(fix, text), notes

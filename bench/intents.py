"""Intent compiler benchmark on the public corpus (tests/rapps/intent_agent/corpus/): accuracy per category and
split, silent drops, inverted constraints, compile latency p50/p99 -- the grammar-only compiler and the compiler
with the embedding layer, measured in the same run on the same phrasings.

    nextric bench intents [--split all|dev|heldout] [--repeats 3] [--out PATH]

A phrasing is *correct* when the compiler returns what the corpus expects: the same intent targets (kpi, slice,
condition, value, range, relative, links), RRMPolicyRatio requests, cells, zone and window where listed; or a
clarification whose issues include every expected kind and whose text names every expected word. A *silent
drop* is a spec that lacks an expected target, reservation or context item, or a spec where a question was
expected. An *inverted* constraint is a target or reservation with the right KPI, slice and value but the
opposite bound. Results are printed and saved to ``bench/results/intents.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.common import RESULTS_DIR, machine, percentile_ms, save_results
from bench.timing import MIN_REPEATS, Spread
from rapps.intent_agent.compiler.compile import IntentCompiler
from rapps.intent_agent.compiler.domain import domain_of
from rapps.intent_agent.compiler.kb import KnowledgeBase
from rapps.intent_agent.compiler.semantic.matcher import default_matcher
from rapps.intent_agent.compiler.spec import Clarification, CompileResult, IntentSpec
from testbed.core.scenario import load_scenario
from testbed.describe import topology_of

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "rapps" / "intent_agent" / "corpus"
CLOCK = "18:30"  #: the agent clock the corpus's relative times are written against (settings' default)
OPPOSITE = {"IS_LESS_THAN": "IS_GREATER_THAN", "IS_GREATER_THAN": "IS_LESS_THAN"}


@dataclass(frozen=True)
class Verdict:
    correct: bool
    silent_drop: bool
    inverted: bool
    why: str


def load_corpus(split: str = "all", path: Path = CORPUS) -> list[dict[str, Any]]:
    """Every phrasing once: a text written twice (by hand and by a template) counts once, and as ``dev`` if any
    copy is, so no held-out number is measured on a development text."""
    by_text: dict[str, dict[str, Any]] = {}
    for f in sorted(path.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            old = by_text.get(r["text"])
            if old is None or (r["split"] == "dev" and old["split"] != "dev"):
                by_text[r["text"]] = r
    return [r for r in by_text.values() if split == "all" or r["split"] == split]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-6 + 1e-4 * abs(b)


def _target_key(t: Any) -> tuple[Any, ...]:
    return (t.kpi, t.slice, t.condition, t.value, t.upper, t.relative, tuple(t.links))


def _same(got: tuple[Any, ...], want: list[Any]) -> bool:
    kpi, sl, cond, v, up, rel, links = want
    return (got[0], got[1], got[2], got[5], tuple(sorted(got[6]))) == (kpi, sl, cond, rel, tuple(sorted(links))) \
        and _close(got[3], v) and _close(got[4], up)


def judge(entry: dict[str, Any], result: CompileResult) -> Verdict:
    exp = entry["expect"]
    if exp["kind"] == "clarification":
        if isinstance(result, IntentSpec):
            return Verdict(False, True, False, "spec returned where a question was expected")
        kinds = {i.kind for i in result.issues}
        text = (result.explanation + " " + result.question + " " + " ".join(w for i in result.issues
                                                                             for w in i.words)).lower()
        missing = [k for k in exp["issues"] if k not in kinds]
        unnamed = [n for n in exp.get("names", []) if n.lower() not in text]
        ok = not missing and not unnamed
        return Verdict(ok, False, False, "" if ok else f"issues {sorted(kinds)}; missing {missing}; unnamed {unnamed}")
    if isinstance(result, Clarification):
        return Verdict(False, False, False, "asked: " + "; ".join(f"{i.kind}: {i.message[:80]}" for i in result.issues))
    got = [_target_key(t) for t in result.targets if t.source == "intent"]
    want = exp.get("targets", [])
    missing = [w for w in want if not any(_same(g, w) for g in got)]
    extra = [g for g in got if not any(_same(g, w) for w in want)]
    inverted = any(_same((g[0], g[1], OPPOSITE.get(g[2], g[2]), *g[3:]), w) for g in got for w in missing)
    drop = bool(missing) and not inverted
    why = []
    if missing:
        why.append(f"missing {missing}")
    if extra:
        why.append(f"extra {extra}")
    if "ratio" in exp:
        pols: list[list[Any]] = [[p.slice, p.cell, p.dedicated, p.min, p.max] for p in result.actions.ratio_policies]
        want_r = exp["ratio"]
        miss_r = [w for w in want_r if not any(p[0] == w[0] and p[1] == w[1] and all(_close(a, b) for a, b in
                                                                                        zip(p[2:], w[2:], strict=True))
                                               for p in pols)]
        if miss_r:
            swapped = any(p[0] == w[0] and p[1] == w[1] and _close(p[3], w[4]) and _close(p[4], w[3])
                          for p in pols for w in miss_r)
            inverted = inverted or swapped
            drop = drop or not swapped
            why.append(f"ratio policies {pols}, expected {want_r}")
        elif len(pols) != len(want_r):
            why.append(f"extra ratio policies {pols}")
    for key, have in (("cells", list(result.context.cells)), ("zone", result.context.zone),
                      ("window", None if result.context.window is None else [result.context.window.start,
                                                                             result.context.window.end])):
        if key in exp and exp[key] != have:
            why.append(f"{key} {have}, expected {exp[key]}")
            drop = drop or have in (None, [])
    return Verdict(not why, drop, inverted, "; ".join(why))


def run(split: str = "all", repeats: int = MIN_REPEATS) -> dict[str, Any]:
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be >= {MIN_REPEATS}, got {repeats}")
    domain, kb = domain_of(topology_of(load_scenario("twm_poc"))), KnowledgeBase.load()
    rows = load_corpus(split)
    t0 = time.perf_counter()
    matcher = default_matcher(domain.slice_names(), cache_size=0)  # every timed compile pays for the model
    matcher.match(["warm up"], ("slice", "kpi"))
    load_s = time.perf_counter() - t0
    compilers = {"grammar": IntentCompiler(domain, kb), "grammar+embeddings": IntentCompiler(domain, kb, matcher)}
    out: dict[str, Any] = {"machine": machine(), "corpus": {"phrasings": len(rows), "split": split,
                                                             "by_split": dict(_count(rows, "split")),
                                                             "by_source": dict(_count(rows, "source"))},
                           "clock": CLOCK, "embedding_load_s": round(load_s, 3), "paths": {}}
    for name, comp in compilers.items():
        lat: list[int] = []
        cpu: list[int] = []  #: this process's CPU per compile: the service time, whatever else runs on the host
        lat_model: list[int] = []  #: compiles in which the embedding model ran
        per_cat: dict[str, list[int]] = defaultdict(list)
        per_split: dict[str, list[int]] = defaultdict(list)
        drops = inverted = 0
        failures = []
        for r in rows:
            res = comp.compile(r["text"], now=CLOCK)
            for _ in range(repeats):
                calls = matcher.calls
                a, c = time.perf_counter_ns(), time.process_time_ns()
                comp.compile(r["text"], now=CLOCK)
                lat.append(time.perf_counter_ns() - a)
                cpu.append(time.process_time_ns() - c)
                if matcher.calls > calls:
                    lat_model.append(lat[-1])
            v = judge(r, res)
            per_cat[r["category"]].append(int(v.correct))
            per_split[r["split"]].append(int(v.correct))
            drops += v.silent_drop
            inverted += v.inverted
            if not v.correct:
                failures.append({"id": r["id"], "split": r["split"], "category": r["category"], "text": r["text"],
                                 "why": v.why})
        allc = [x for xs in per_cat.values() for x in xs]
        out["paths"][name] = {
            "accuracy": round(float(np.mean(allc)), 4),
            "accuracy_by_split": {k: round(float(np.mean(v)), 4) for k, v in sorted(per_split.items())},
            "accuracy_by_category": {k: round(float(np.mean(v)), 4) for k, v in sorted(per_cat.items())},
            "n_by_category": {k: len(v) for k, v in sorted(per_cat.items())},
            "silent_drops": drops, "silent_drop_share": round(drops / max(1, len(rows)), 4),
            "inverted_constraints": inverted,
            "latency_ms": {"p50": round(percentile_ms(lat, 50), 3), "p99": round(percentile_ms(lat, 99), 3),
                           "max": round(percentile_ms(lat, 100), 3), "samples": len(lat)},
            # pass k = the k-th timed compile of every phrasing: one distribution per pass, median and spread
            "latency_ms_per_pass": {f"p{q}": Spread.of([percentile_ms(lat[k::repeats], q)
                                                        for k in range(repeats)]).as_dict() for q in (50, 99)},
            "cpu_ms_per_pass": {f"p{q}": Spread.of([percentile_ms(cpu[k::repeats], q)
                                                     for k in range(repeats)]).as_dict() for q in (50, 99)},
            "utilisation": sum(cpu) / max(sum(lat), 1),  # CPU / wall over the timed compiles (1.0: never waited)
            "latency_ms_model_ran": {"p50": round(percentile_ms(lat_model, 50), 3) if lat_model else None,
                                     "p99": round(percentile_ms(lat_model, 99), 3) if lat_model else None,
                                     "samples": len(lat_model)},
            "failures": failures,
        }
    return out


def _count(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    c: dict[str, int] = defaultdict(int)
    for r in rows:
        c[r[key]] += 1
    return c


def print_table(payload: dict[str, Any], console: Console) -> None:
    paths = payload["paths"]
    t = Table(title=f"intent compiler on {payload['corpus']['phrasings']} phrasings ({payload['corpus']['split']})")
    t.add_column("category")
    for name in paths:
        t.add_column(name, justify="right")
    cats = sorted(next(iter(paths.values()))["accuracy_by_category"])
    n = next(iter(paths.values()))["n_by_category"]
    for c in cats:
        t.add_row(f"{c} ({n[c]})", *[f"{100 * p['accuracy_by_category'][c]:.1f} %" for p in paths.values()])
    t.add_row("overall", *[f"{100 * p['accuracy']:.1f} %" for p in paths.values()])
    for s in sorted(next(iter(paths.values()))["accuracy_by_split"]):
        t.add_row(f"split {s}", *[f"{100 * p['accuracy_by_split'][s]:.1f} %" for p in paths.values()])
    t.add_row("silent drops", *[f"{p['silent_drops']} ({100 * p['silent_drop_share']:.1f} %)" for p in paths.values()])
    t.add_row("inverted constraints", *[str(p["inverted_constraints"]) for p in paths.values()])
    t.add_row("compile p50 / p99 ms", *[f"{p['latency_ms']['p50']:.2f} / {p['latency_ms']['p99']:.2f}"
                                         for p in paths.values()])
    t.add_row("  when the model ran", *[f"{p['latency_ms_model_ran']['p50']:.2f} / "
                                        f"{p['latency_ms_model_ran']['p99']:.2f} "
                                        f"(n={p['latency_ms_model_ran']['samples']})"
                                        if p["latency_ms_model_ran"]["samples"] else "-" for p in paths.values()])
    t.add_row("  p99 per pass: median [min-max]", *[
        "{median:.2f} [{min:.2f}-{max:.2f}]".format(**p["latency_ms_per_pass"]["p99"]) for p in paths.values()])
    t.add_row("  CPU p50 / p99 ms (per pass, median)", *[
        f"{p['cpu_ms_per_pass']['p50']['median']:.2f} / {p['cpu_ms_per_pass']['p99']['median']:.2f}"
        for p in paths.values()])
    t.add_row("  CPU / wall over the compiles", *[f"{p['utilisation']:.2f}" for p in paths.values()])
    console.print(t)
    console.print(f"embedding layer load (model + concept anchors, once): {payload['embedding_load_s']:.2f} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="nextric bench intents", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["all", "dev", "heldout"], default="all")
    ap.add_argument("--repeats", type=int, default=MIN_REPEATS,
                    help="timed compiles per phrasing, after one untimed (>= 3: one latency distribution per pass)")
    ap.add_argument("--failures", action="store_true", help="print every phrasing judged wrong")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "intents.json")
    args = ap.parse_args(argv)
    console = Console()
    payload = run(args.split, args.repeats)
    print_table(payload, console)
    if args.failures:
        for name, p in payload["paths"].items():
            for f in p["failures"]:
                console.print(f"[{name}] {f['id']} ({f['category']}): {f['text']!r}: {f['why']}", markup=False)
    path = save_results(args.out.stem, payload, args.out.parent)
    console.print(f"saved {path}")


if __name__ == "__main__":
    main()

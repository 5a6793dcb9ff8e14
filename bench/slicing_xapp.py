"""Slice-scheduler xApp alone vs the static uniform split: SCM and control cost, plus decision latency.

In-process on the pure decision step (``xapps.slice_scheduler.rounds.decide_round``: allocator + guardrail over
every cell of a round on the cells' state as arrays, the code the app runs) and the testbed's :class:`Emulator`
(no gRPC): per scenario x seed, two legs over one horizon (``slow_per_horizon`` x ``fast_per_slow`` sub-steps)
from the same seed -- the uniform 1/3 isolated split and the xApp deciding every control period (one fast
sub-step, 1 s simulated). KPIs and cost come from :mod:`nextric.kpi`; the PRB share of a slice in a slow step is
the mean of max(min ratio, PRBs used / cell PRBs) (what the policy reserves, or what the slice took when it
borrowed more); transport shares stay uniform in both legs (this xApp does not touch transport). Decision
latency: every cell's decision of one period, timed, for the 10 PoC cells and 1000 synthetic cells: the per-cell
path (``decide_cell`` per cell on a ``GuardrailState``, the baseline) and the round the xApp runs
(``decide_round`` on the cells' state as arrays, the :class:`~xapps.slice_scheduler.book.SliceBook`) in
interleaved windows of rounds, with the same inputs, their decisions compared (target: p99 <= 20 ms per
1000-cell round). The per-cell decision objects the xApp builds for its send path after the round are timed
apart.

    python -m bench.slicing_xapp [--seeds 32] [--quick] [--workers 2] [--out bench/results/slicing_xapp.json]
    python -m bench.slicing_xapp --latency-only [--quick] [--repeats 5]   # -> slicing_xapp_latency.json
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from bench.timing import Spread, interleaved
from nextric.control.slices import SliceObservation, SliceSla
from nextric.guardrail import GuardrailState
from nextric.kpi import control_cost, cost_reduction, summarise
from testbed.core.engine import Emulator, StepRecord
from testbed.core.params import ScenarioParams
from testbed.core.reports import ControlRequest, SlicePolicy
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.policies import uniform_shares
from xapps.slice_scheduler.book import SliceBook
from xapps.slice_scheduler.decide import decide_cell
from xapps.slice_scheduler.rounds import RoundCell, decide_round

REGIMES = ("hotspot-ID", "hotspot-OOD", "wave-ID", "wave-OOD")
RAN_LIMITED = "ran_limited"  # bundled scenario (testbed/scenarios/ran_limited.yaml)


def slice_slas(sc: ScenarioParams) -> dict[str, SliceSla]:
    """Scenario ceilings as SLAs; delay-critical slices first on equal headroom."""
    out = {}
    for rank, s in enumerate(sc.slices):
        key = f"{s.sst}-{s.sd}"
        prio = 100 if s.sla_p99_ms else len(sc.slices) - rank
        out[key] = SliceSla(key, s.sla_loss, s.sla_p99_ms, priority=prio)
    return out


@dataclass
class Leg:
    scm: float
    cost: float
    loss: list[float]
    p99_ms: list[float]
    urllc_ok: bool


def _leg(sc: ScenarioParams, emu: Emulator, xapp: bool) -> Leg:
    timing = sc.timing
    steps = timing.fast_per_slow * timing.slow_per_horizon
    prb_u, tn_u = uniform_shares(sc)
    emu.set_allocation(shares_to_ratios(prb_u, "isolated"), tn_u)
    slas = slice_slas(sc)
    book = SliceBook()
    records: list[StepRecord] = []
    shares = np.zeros((timing.slow_per_horizon, sc.n_cells, sc.n_slices))
    n_prb = emu.arr.n_prb
    for t in range(steps):
        emu.step_fast()
        rec = emu._kpm_buf[-1]  # the sub-step just run (read before read_kpm resets the window)
        records.append(rec)
        used = rec.out.alloc_prb[0] / n_prb[:, None]
        shares[t // timing.fast_per_slow] += np.maximum(rec.ratio_pct[..., 1] / 100.0, used) / timing.fast_per_slow
        report = emu.read_kpm()
        if not xapp:
            continue
        policies: list[SlicePolicy] = []
        rnd = decide_round(book, [RoundCell(str(cell.cell_id), [
            SliceObservation(f"{s.sst}-{s.sd}", s.offered_mbps, s.thp_dl_mbps, s.prb_used_dl, s.packet_loss,
                             s.p99_delay_ms) for s in cell.slices], slas, cell.prb_avail_dl) for cell in report.cells],
                           emu.t_s)  # as the xApp does
        rnd.record(book, emu.t_s)
        for i, cell in enumerate(report.cells):
            d = rnd.decision(i)
            if d.sent is None:
                continue
            for s in cell.slices:
                ded, mn, mx = d.sent[f"{s.sst}-{s.sd}"]
                policies.append(SlicePolicy(cell.cell_id, s.sst, s.sd, ded, mn, mx))
        emu.submit(ControlRequest(f"xapp-{t}", tuple(policies)))

    def stack(name: str) -> np.ndarray:
        return np.stack([getattr(r.out, name)[0] for r in records])[None]

    k = summarise(stack("offered"), stack("drop_ran") + stack("drop_tn"), stack("delivered"), stack("delay_a_s"),
                  stack("delay_beta"), stack("alloc_prb"), n_prb, stack("link_carried"), stack("link_cap"),
                  steps * timing.fast_step_s, sc.slices)
    tn = np.broadcast_to(tn_u, (timing.slow_per_horizon, *tn_u.shape))
    j = float(control_cost(shares, tn, sc.cost, prev_prb=prb_u, prev_tn=tn_u))
    ui = next(i for i, s in enumerate(sc.slices) if s.sla_p99_ms)
    return Leg(float(k.scm[0]), j, k.loss[0].tolist(), k.p99_ms[0].tolist(), not bool(k.violation[0, ui]))


def run_pair(scenario: str, regime: str, seed: int, quick: bool) -> dict[str, Any]:
    sc = load_scenario(scenario)
    if quick:
        from dataclasses import replace

        sc = replace(sc, timing=replace(sc.timing, slow_per_horizon=4))
    first = Emulator(sc, ShockRegime.parse(regime), seed=seed)
    uni = _leg(sc, first, xapp=False)
    xa = _leg(sc, Emulator(sc, ShockRegime.parse(regime), seed=seed, nmse_table=first.nmse_table), xapp=True)
    return {"scenario": sc.name, "regime": regime, "seed": seed, "uniform": uni.__dict__, "xapp": xa.__dict__,
            "cost_reduction": float(cost_reduction(np.array(xa.cost), sc.cost))}


def _synthetic(n_cells: int, rng: np.random.Generator) -> list[tuple[str, list[SliceObservation], float]]:
    keys = ("1-000001", "2-000002", "1-000003")
    out = []
    for c in range(n_cells):
        off = rng.gamma(2.0, (20.0, 3.0, 12.0))
        thp = off * rng.uniform(0.7, 1.0, 3)
        used = thp / rng.uniform(0.3, 0.8, 3)
        obs = [SliceObservation(k, float(off[i]), float(thp[i]), float(used[i]), float(rng.uniform(0, 0.15)),
                                float(rng.uniform(2, 30))) for i, k in enumerate(keys)]
        out.append((f"cell-{c}", obs, 106.0))
    return out


@dataclass
class _Round:
    """One decision path's state across periods (per cell: the guardrail state and last min ratios; the round: its
    book) and the wall time of each round it ran."""

    guards: dict[str, GuardrailState]
    previous: dict[str, dict[str, int]]
    samples_ms: list[float]
    sent: list[str]  #: per round, a digest of what every cell may send (the rounds' own objects are not kept)
    book: SliceBook = field(default_factory=SliceBook)
    objects_ms: list[float] = field(default_factory=list)  #: the per-cell decision objects built after the round
    flagged: int = 0  #: decisions where some guardrail rule fired (the array screen hands those to ``check``)
    decided: int = 0


def _digest(sent: dict[str, dict[str, tuple[int, int, int]] | None]) -> str:
    """What a round may send, canonical and hashed: comparable across paths without keeping every round's objects
    alive (a growing heap the cyclic GC would walk inside the timed rounds)."""
    canon = sorted((k, None if v is None else sorted(v.items())) for k, v in sent.items())
    return hashlib.sha256(repr(canon).encode()).hexdigest()


def _per_cell_round(st: _Round, cells: list[tuple[str, list[SliceObservation], float]],
                    slas: dict[str, SliceSla], now: float) -> None:
    """The baseline: every cell decided alone (``decide_cell``), then its state updated."""
    t0 = time.perf_counter_ns()
    sent: dict[str, dict[str, tuple[int, int, int]] | None] = {}
    for key, obs, n_prb in cells:
        guard = st.guards.get(key, GuardrailState())
        d = decide_cell(key, obs, slas, n_prb, st.previous.get(key), guard, now)
        sent[key] = d.sent
        if d.sent is not None:
            st.guards[key] = guard.applied(d.verdict.action, now)
            st.previous[key] = {k: r[1] for k, r in d.sent.items()}
    st.samples_ms.append((time.perf_counter_ns() - t0) / 1e6)
    st.sent.append(_digest(sent))


def _book_round(st: _Round, cells: list[tuple[str, list[SliceObservation], float]],
                slas: dict[str, SliceSla], now: float) -> None:
    """What the xApp runs: the whole round in one ``decide_round`` call on the book, then the book updated (every
    allowed cell's ratios in force). Timed apart: the per-cell decision objects of the xApp's send path."""
    t0 = time.perf_counter_ns()
    rnd = decide_round(st.book, [RoundCell(key, obs, slas, n_prb) for key, obs, n_prb in cells], now)
    rnd.record(st.book, now)
    t1 = time.perf_counter_ns()
    decisions = rnd.decisions()
    st.objects_ms.append((time.perf_counter_ns() - t1) / 1e6)
    st.samples_ms.append((t1 - t0) / 1e6)
    st.sent.append(_digest({d.cell_key: d.sent for d in decisions}))
    st.decided += len(decisions)
    st.flagged += len(rnd.checked)


def decision_latency(n_cells: int, periods: int, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Wall time of one period's decisions (allocator + guardrail + state update) of ``n_cells`` cells, per-cell
    path (baseline) against the batched round, interleaved: ``repeats`` windows of ``periods`` rounds each (after
    one warm-up window), both paths fed the same observations and each keeping its own state. Per window the
    p50 / p99 of the round latency; the decisions of the two paths are compared round by round."""
    rng = np.random.default_rng(seed)
    sc = load_scenario("twm_poc")
    slas = slice_slas(sc)
    inputs = [_synthetic(n_cells, rng) for _ in range(periods * (repeats + 1))]
    # the pre-generated inputs are ~10^5-10^6 long-lived objects of the bench, not of the xApp: keep the cyclic
    # GC from walking them in every full collection (it would charge both paths for the bench's own heap)
    gc.collect()
    gc.freeze()
    base = _Round({}, {}, [], [])
    cand = _Round({}, {}, [], [])
    cursor = {"base": 0, "cand": 0}

    def window(st: _Round, name: str, fn: Any) -> None:
        for _ in range(periods):
            k = cursor[name]
            fn(st, inputs[k], slas, float(k))
            cursor[name] = k + 1

    tb, tc, ratio = interleaved(lambda: window(base, "base", _per_cell_round),
                                lambda: window(cand, "cand", _book_round), repeats=repeats, warmup=1)
    gc.unfreeze()
    identical = base.sent == cand.sent
    if not identical:
        raise AssertionError("the round on the book decided differently from the per-cell path")

    def per_window(samples: list[float], q: float) -> Spread:
        timed_windows = [samples[(w + 1) * periods:(w + 2) * periods] for w in range(repeats)]  # no warm-up
        return Spread.of([float(np.percentile(w, q)) for w in timed_windows])

    out: dict[str, Any] = {"cells": n_cells, "periods_per_window": periods, "repeats": repeats,
                           "decisions_identical": identical,
                           "guardrail_flagged_share": cand.flagged / max(cand.decided, 1)}
    for name, st, timing in (("per_cell", base, tb), ("round", cand, tc)):
        p50, p99 = per_window(st.samples_ms, 50), per_window(st.samples_ms, 99)
        out[name] = {"p50_ms": p50.as_dict(), "p99_ms": p99.as_dict(), "window": timing.as_dict(),
                     "per_cell_p50_us": p50.median * 1e3 / n_cells,
                     "cpu_ms_per_round": timing.cpu_s.median * 1e3 / periods}
    out["round"]["objects_p50_ms"] = per_window(cand.objects_ms, 50).as_dict()
    out["round"]["objects_p99_ms"] = per_window(cand.objects_ms, 99).as_dict()
    out["speedup_window"] = {"median": 1.0 / ratio.median, "min": 1.0 / ratio.max, "max": 1.0 / ratio.min}
    out["speedup_p99"] = out["per_cell"]["p99_ms"]["median"] / max(out["round"]["p99_ms"]["median"], 1e-12)
    return out


def print_latency(console: Console, lat: dict[str, Any]) -> None:
    for name in ("per_cell", "round"):
        r = lat[name]
        console.print(
            f"decision latency, {lat['cells']} cells, {name:8s}: p99 per round {r['p99_ms']['median']:.2f} ms "
            f"(windows {r['p99_ms']['min']:.2f}-{r['p99_ms']['max']:.2f}), p50 {r['p50_ms']['median']:.2f} ms "
            f"({r['per_cell_p50_us']:.1f} us per cell), CPU {r['cpu_ms_per_round']:.1f} ms per round, "
            f"utilisation {r['window']['utilisation']:.0%} of {r['window']['cores']} cores")
    obj = lat["round"]["objects_p99_ms"]
    console.print(f"  per-cell decision objects after the round (the send path): p99 {obj['median']:.2f} ms "
                  f"(windows {obj['min']:.2f}-{obj['max']:.2f})")
    console.print(f"  round vs per-cell: {lat['speedup_window']['median']:.1f}x faster per window "
                  f"(pairs {lat['speedup_window']['min']:.1f}-{lat['speedup_window']['max']:.1f}x), p99 ratio "
                  f"{lat['speedup_p99']:.1f}x; decisions identical: {lat['decisions_identical']}; guardrail rule "
                  f"fired (per-action check) in {lat['guardrail_flagged_share']:.1%} of decisions")


def summarise_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted({(r["scenario"], r["regime"]) for r in runs}):
        sel = [r for r in runs if (r["scenario"], r["regime"]) == key]

        def mean(leg: str, field: str, rows: list[dict[str, Any]] = sel) -> float:
            return float(np.mean([r[leg][field] for r in rows]))

        out[f"{key[0]}/{key[1]}"] = {
            "seeds": len(sel),
            "scm_uniform": mean("uniform", "scm"),
            "scm_xapp": mean("xapp", "scm"),
            "cost_uniform": mean("uniform", "cost"),
            "cost_xapp": mean("xapp", "cost"),
            "cost_reduction": float(np.mean([r["cost_reduction"] for r in sel])),
            "urllc_sla_kept_uniform": mean("uniform", "urllc_ok"),
            "urllc_sla_kept_xapp": mean("xapp", "urllc_ok"),
            "scm_better_or_equal_share": float(np.mean([r["xapp"]["scm"] >= r["uniform"]["scm"] - 1e-9 for r in sel])),
        }
    return out


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for off, leg in ((-0.2, "uniform"), (0.2, "xapp")):
        axes[0].bar(x + off, [summary[n][f"scm_{leg}"] for n in names], 0.4, label=leg)
        axes[1].bar(x + off, [summary[n][f"cost_{leg}"] for n in names], 0.4, label=leg)
    for ax, title in ((axes[0], "mean SLA compliance margin"), (axes[1], "mean control cost J")):
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
        ax.set_title(title)
        ax.legend()
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _periods(n_cells: int, quick: bool) -> int:
    if n_cells <= 10:
        return 20 if quick else 100
    return 5 if quick else 30


def latency_main(quick: bool, repeats: int, out: Path) -> int:
    """Decision latency alone: 10 and 1000 cells, per-cell vs the round on the book, interleaved windows."""
    console = Console()
    t0 = time.perf_counter()
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    latency = []
    with Progress(*cols, console=console) as progress:
        task = progress.add_task("decision latency (per-cell vs round)", total=2)
        for n in (10, 1000):
            latency.append(decision_latency(n, _periods(n, quick), max(3, repeats)))
            progress.advance(task)
    for lat in latency:
        print_latency(console, lat)
    target = next(lat for lat in latency if lat["cells"] == 1000)["round"]["p99_ms"]["median"]
    payload = {
        "bench": "slicing_xapp_latency",
        "command": "python -m bench.slicing_xapp --latency-only" + (" --quick" if quick else "")
        + f" --repeats {max(3, repeats)}",
        "machine": machine(),
        "wall_s": time.perf_counter() - t0,
        "what": "one decision round (allocator + guardrail + state update) of every cell; windows of rounds, "
                "per-cell path (decide_cell per cell on a GuardrailState, the baseline) and the round on the "
                "cells' state as arrays (decide_round + record on the SliceBook) interleaved; the per-cell "
                "decision objects built after the round for the send path timed apart (objects_*)",
        "target": {"p99_ms_1000_cells": 20.0, "round_p99_ms_median": target, "met": target <= 20.0},
        "decision_latency": latency,
    }
    path = save_results(out.stem, payload, out.parent)
    console.print(f"saved {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--quick", action="store_true", help="4 seeds, 4 slow steps, fewer latency periods")
    ap.add_argument("--extra-seeds", type=int, default=8, help="seeds of the RAN-limited variant city")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "slicing_xapp.json")
    ap.add_argument("--latency-only", action="store_true",
                    help="only the decision latency, per-cell vs batched (saved as slicing_xapp_latency.json)")
    ap.add_argument("--repeats", type=int, default=5, help="latency windows per path (>= 3)")
    args = ap.parse_args(argv)
    if args.latency_only:
        return latency_main(args.quick, args.repeats, args.out.parent / "slicing_xapp_latency.json")
    seeds = 4 if args.quick else args.seeds
    extra = 2 if args.quick else args.extra_seeds
    jobs = [("twm_poc", r, seed) for r in REGIMES for seed in range(seeds)]
    jobs += [(str(RAN_LIMITED), r, seed) for r in REGIMES for seed in range(extra)]
    console = Console()
    t0 = time.perf_counter()
    runs: list[dict[str, Any]] = []
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*cols, console=console) as progress, ProcessPoolExecutor(args.workers) as pool:
        task = progress.add_task("scenario x regime x seed (uniform + xApp)", total=len(jobs))
        futures = [pool.submit(run_pair, s, r, seed, args.quick) for s, r, seed in jobs]
        for f in futures:
            runs.append(f.result())
            progress.advance(task)
        lat_task = progress.add_task("decision latency (per-cell vs batched)", total=2)
        latency = []
        for n in (10, 1000):
            latency.append(decision_latency(n, _periods(n, args.quick), max(3, args.repeats)))
            progress.advance(lat_task)
    summary = summarise_runs(runs)
    table = Table(title="slice scheduler xApp vs static uniform split (means over seeds)")
    table.add_column("scenario/regime", no_wrap=True)
    for col in ( "SCM uniform", "SCM xApp", "J uniform", "J xApp", "cost red.", "URLLC kept u/x"):
        table.add_column(col, justify="right")
    for name, row in summary.items():
        table.add_row(name, f"{row['scm_uniform']:.3f}", f"{row['scm_xapp']:.3f}", f"{row['cost_uniform']:.3f}",
                      f"{row['cost_xapp']:.3f}", f"{100 * row['cost_reduction']:.1f} %",
                      f"{100 * row['urllc_sla_kept_uniform']:.0f} / {100 * row['urllc_sla_kept_xapp']:.0f} %")
    console.print(table)
    for lat in latency:
        print_latency(console, lat)
    payload = {
        "bench": "slicing_xapp",
        "command": "python -m bench.slicing_xapp"
        + (" --quick" if args.quick else f" --seeds {seeds} --extra-seeds {extra}"),
        "machine": machine(),
        "wall_s": time.perf_counter() - t0,
        "horizon": "slow_per_horizon x fast_per_slow sub-steps of each scenario; one decision per sub-step",
        "cost_share_definition": "mean over the slow step of max(min ratio, PRBs used / cell PRBs); TN uniform",
        "summary": summary,
        "decision_latency": latency,
        "runs": runs,
    }
    path = save_results(args.out.stem, payload, args.out.parent)
    plot(summary, path.with_suffix(".png"))
    console.print(f"saved {path} and {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

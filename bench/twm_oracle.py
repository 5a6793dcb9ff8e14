"""Hindsight ceiling of the TWM proof of concept: the best library plan per horizon, chosen *after* seeing it.

Same protocol as :mod:`bench.twm_poc` (emulator warm-up 4 slow steps under uniform, the same evaluation
horizon seeds, the library generated from the same observations), but instead of planning, every one of the
first ``--plans`` library plans is executed for the 12-step horizon on its own copy of the emulator (common
random numbers: same UEs, shocks and failures) and the best executed SCM is kept. No causal planner that picks
one plan from this library can beat it on that horizon; an adaptive planner that changes the plan mid-horizon
can, in principle, so the ceiling is a reference for the level an SCM target asks for, not a proof of
infeasibility. The planners' per-seed results of the committed ``bench/results/twm_poc.json`` on the same seeds
are set beside it (the runs are deterministic given their seeds).

Two more reference levels on the same horizons (``--futures F`` > 0):

* **adaptive hindsight**: the best per-step choice over the library, in hindsight and greedily: at each slow step
  every library plan's action for that step is run one slow step on a copy of the committed emulator, and the one
  whose horizon-so-far SCM is highest (ties: the smallest worst value/ceiling ratio) is committed. A reference
  level that changes plan mid-horizon, not a bound (greedy is not optimal);
* **perfect-twin choice**: what a planner with a *perfect* twin (the emulator itself, copied from the exact state
  the network is in: every UE, queue, shock and failure) and unlimited calls reaches when it picks one library plan
  without knowing the future: each plan runs on ``F`` other exogenous futures of the same state
  (:meth:`~testbed.core.engine.Emulator.reseed`), the plan with the best mean SCM (and, as a risk-averse variant,
  the best mean of its worst half, CVaR 50 %) is executed on the real future. No twin built from observations can
  know more than this one, so it is the ceiling of choosing a fixed plan from this library.

    python -m bench.twm_oracle [--seeds 8] [--plans 128] [--futures 0] [--city twm_poc] [--quick]
                                                                                   (nextric bench twm-oracle)

Saves ``bench/results/twm_oracle.json`` (per horizon: the best SCM and its plan, or where every plan is at SCM 0
the plan closest to feasible, i.e. with the smallest worst value/ceiling ratio; its per-slice loss, p99 and cost
reduction) and ``twm_oracle.png`` (SCM per scenario: hindsight best vs the planners).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from bench.twm_poc import HISTORY, SCENARIOS, WARMUP, executed_cost
from nextric.parallel import BACKENDS, ParallelSettings, WorkerPool
from nextric.stats import lower_tail_mean, mean_interval
from rapps.intent_agent.planner.library import Plans, library
from rapps.intent_agent.worldmodels.features import CityRaster, Context
from rapps.intent_agent.worldmodels.seeds import EVAL_SEEDS
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.describe import topology_of
from testbed.warmup import warm_up

COMPARE = ("uniform", "dt-fair", "rules", "twm", "improved")


@dataclass(frozen=True)
class Executed:
    """Executed outcome of one plan on one horizon."""

    scm: float
    dcost: float
    loss: tuple[float, ...]
    p99_ms: tuple[float, ...]


def execute_static(emu: Emulator, sc: ScenarioParams, prb: np.ndarray, tn: np.ndarray) -> Executed:
    """Run one K-step plan (prb (K, C, S), tn (K, L, S)) without monitoring on ``emu`` (mutated)."""
    t_start = emu.step_index
    for k in range(len(prb)):
        emu.set_allocation(plan_ratios(sc.plan_shares, prb[k]), tn[k])
        emu.step_slow()
    kp = emu.kpis_since(t_start)
    return Executed(float(kp.scm[0]), executed_cost(sc, prb, tn)[1], tuple(map(float, kp.loss[0])),
                    tuple(map(float, kp.p99_ms[0])))


def worst_ceiling_ratio(e: Executed, sc: ScenarioParams) -> float:
    """The largest value / ceiling over every SLA ceiling (loss per slice, p99 where set): < 1 iff SCM > 0."""
    r = [e.loss[i] / s.sla_loss for i, s in enumerate(sc.slices)]
    r += [e.p99_ms[i] / s.sla_p99_ms for i, s in enumerate(sc.slices) if s.sla_p99_ms is not None]
    return float(max(r))


def horizon_library(sc: ScenarioParams, scen: str, seed: int, n_plans: int,
                    ras: CityRaster | None = None) -> tuple[Emulator, Plans]:
    """The emulator after warm-up and the library a planner would generate from its observations (``ras``:
    the city's raster, built here when not given)."""
    regime = ShockRegime.parse(scen)
    reps, up, emu = warm_up(sc, regime, seed, WARMUP)
    topo = topology_of(sc)
    ctx = Context.observed(topo, reps[-HISTORY:], f"{regime.family}-ID", up)
    lib = library(ras or CityRaster.build(topo), ctx, n_plans, sc.timing.slow_per_horizon, seed)
    return emu, lib


def committed_methods(path: Path, seeds: list[int]) -> dict[str, dict[str, list[float]]]:
    """Per-seed executed SCM of the planners from a ``twm_poc.json`` for ``seeds`` (empty if absent)."""
    if not path.exists():
        return {}
    per = json.loads(path.read_text()).get("per_seed", {})
    out: dict[str, dict[str, list[float]]] = {}
    for m in COMPARE:
        for scen, runs in per.get(m, {}).items():
            by_seed = {int(r["seed"]): float(r["scm"]) for r in runs}
            if all(s in by_seed for s in seeds):
                out.setdefault(m, {})[scen] = [by_seed[s] for s in seeds]
    return out


def adaptive_hindsight(emu: Emulator, sc: ScenarioParams, lib: Plans) -> Executed:
    """Greedy best per-step choice in hindsight: at every slow step each plan's action for that step is tried for
    one slow step on a copy of the committed emulator and the best horizon-so-far SCM is committed (``emu``
    mutated)."""
    t_start = emu.step_index
    prb_exec, tn_exec = [], []
    for k in range(lib.prb.shape[1]):
        best: tuple[float, float, int] | None = None
        for i in range(len(lib)):
            e = copy.deepcopy(emu)
            e.set_allocation(plan_ratios(sc.plan_shares, lib.prb[i, k]), lib.tn[i, k])
            e.step_slow()
            kp = e.kpis_since(t_start)
            so_far = Executed(float(kp.scm[0]), 0.0, tuple(map(float, kp.loss[0])), tuple(map(float, kp.p99_ms[0])))
            key = (so_far.scm, -worst_ceiling_ratio(so_far, sc), -i)
            if best is None or key > best:
                best = key
        assert best is not None
        i = -best[2]
        prb_exec.append(lib.prb[i, k])
        tn_exec.append(lib.tn[i, k])
        emu.set_allocation(plan_ratios(sc.plan_shares, lib.prb[i, k]), lib.tn[i, k])
        emu.step_slow()
    kp = emu.kpis_since(t_start)
    return Executed(float(kp.scm[0]), executed_cost(sc, np.stack(prb_exec), np.stack(tn_exec))[1],
                    tuple(map(float, kp.loss[0])), tuple(map(float, kp.p99_ms[0])))


def horizon(city: str, scen: str, seed: int, n_plans: int, futures: int) -> dict[str, Any]:
    """Every reference level on one horizon (one process: the jobs run in a pool)."""
    sc = load_scenario(city)
    emu, lib = horizon_library(sc, scen, seed, n_plans)
    ex = [execute_static(copy.deepcopy(emu), sc, lib.prb[i], lib.tn[i]) for i in range(len(lib))]
    scm = np.array([e.scm for e in ex])
    worst = np.array([worst_ceiling_ratio(e, sc) for e in ex])
    b = int(scm.argmax()) if scm.max() > 0 else int(worst.argmin())  # else: the plan closest to feasible
    row: dict[str, Any] = {
        "seed": seed, "best_scm": float(scm.max()),
        "best_plan": lib.names[b] if scm[b] > 0 else None,  # None: every plan at SCM 0
        "plan_shown": lib.names[b], "plan_shown_worst_ceiling_ratio": float(worst[b]),
        "plan_shown_dcost": ex[b].dcost, "plan_shown_loss": list(ex[b].loss),
        "plan_shown_p99_ms": list(ex[b].p99_ms),
        "share_plans_scm_pos": float((scm > 0).mean()), "mean_scm": float(scm.mean()),
        "uniform_plan_scm": float(scm[0])}
    if futures > 0:
        ad = adaptive_hindsight(copy.deepcopy(emu), sc, lib)
        row["adaptive_scm"], row["adaptive_dcost"] = ad.scm, ad.dcost
        other = np.zeros((len(lib), futures))
        for f in range(futures):
            for i in range(len(lib)):
                e = copy.deepcopy(emu)
                e.reseed(f + 1)
                other[i, f] = execute_static(e, sc, lib.prb[i], lib.tn[i]).scm
        for name, score in (("mean", other.mean(1)), ("cvar50", lower_tail_mean(other))):
            i = int(score.argmax())
            row[f"perfect_twin_{name}_scm"] = float(scm[i])
            row[f"perfect_twin_{name}_predicted"] = float(score[i])
            row[f"perfect_twin_{name}_plan"] = lib.names[i]
            row[f"perfect_twin_{name}_dcost"] = ex[i].dcost
        row["future_vs_future_best_agree"] = float(np.mean([int(other[:, f].argmax()) == int(scm.argmax())
                                                            for f in range(futures)]))
    return row


LEVELS = {"best_scm": "hindsight best (static)", "adaptive_scm": "adaptive hindsight (greedy per step)",
          "perfect_twin_mean_scm": "perfect twin, mean", "perfect_twin_cvar50_scm": "perfect twin, CVaR 50 %"}


def run(scenarios: tuple[str, ...], seeds: list[int], n_plans: int, prog: Progress, city: str = "twm_poc",
        futures: int = 0, parallel: ParallelSettings | None = None) -> dict[str, Any]:
    jobs = [(city, scen, seed, n_plans, futures) for scen in scenarios for seed in seeds]
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in scenarios}
    with WorkerPool(parallel or ParallelSettings()) as pool:
        for j, row in zip(jobs, pool.starmap(horizon, jobs, prog, "reference levels: horizons"), strict=True):
            rows[j[1]].append(row)
    out: dict[str, Any] = {}
    for scen in scenarios:
        best = np.array([r["best_scm"] for r in rows[scen]])
        d: dict[str, Any] = {"best_scm": float(best.mean()), "best_scm_zero_share": float((best <= 0).mean()),
                             "mean_plan_scm": float(np.mean([r["mean_scm"] for r in rows[scen]]))}
        for key in LEVELS:
            if key in rows[scen][0]:
                v = [r[key] for r in rows[scen]]
                d[key] = float(np.mean(v))
                d[f"{key}_ci95"] = mean_interval(v, 0.95).to_json() if len(v) >= 2 else None
        d["per_seed"] = rows[scen]
        out[scen] = d
    return out


def plot(res: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scen = res["scenarios"]
    series = {label: [res["hindsight"][s][key] for s in scen] for key, label in LEVELS.items()
              if key in res["hindsight"][scen[0]]}
    for m, by in res["methods_same_seeds"].items():
        series[m] = [float(np.mean(by[s])) if s in by else 0.0 for s in scen]
    fig, ax = plt.subplots(figsize=(8, 4))
    w = 0.8 / len(series)
    for i, (name, vals) in enumerate(series.items()):
        ax.bar(np.arange(len(scen)) + i * w, vals, w, label=name,
               hatch="//" if name in LEVELS.values() else None, edgecolor="white")  # hatched: reference levels
    ax.axhline(0.5, color="k", ls="--", lw=1, label="target avg SCM 0.5")
    ax.set_xticks(np.arange(len(scen)) + 0.4 - w / 2, scen)
    ax.set_ylabel("mean executed SCM")
    ax.set_title(f"TWM PoC ({res['scenario']}): reference levels over {res['plans']} library plans vs planners\n"
                 f"({len(res['seeds'])} evaluation horizons per scenario; reference levels, not bounds)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.twm_oracle", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8, help="evaluation horizon seeds per scenario (first N)")
    ap.add_argument("--plans", type=int, default=128, help="library plans executed per horizon")
    ap.add_argument("--quick", action="store_true", help="1 seed, 8 plans, 2 scenarios (smoke run)")
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "twm_oracle.json")
    ap.add_argument("--city", default="twm_poc", help="the scenario file (bundled name or path)")
    ap.add_argument("--futures", type=int, default=0,
                    help="other exogenous futures per plan for the perfect-twin choice, and the adaptive hindsight "
                    "level (0: static hindsight only)")
    ap.add_argument("--compare", type=Path, default=None,
                    help="the twm_poc results whose planners are set beside (default bench/results/twm_poc.json, "
                    "twm_poc_<city>.json for another city when it exists)")
    ap.add_argument("--workers", type=int, default=1, help="workers (horizons run in parallel; same numbers)")
    ap.add_argument("--backend", choices=BACKENDS, default=None, help="where the horizons run (default: process "
                    "with --workers > 1, else serial; ray: local, or the cluster at RAY_ADDRESS)")
    a = ap.parse_args(argv)
    if a.seeds < 1 or a.plans < 1 or a.futures < 0 or a.workers < 1:
        ap.error("--seeds, --plans and --workers must be >= 1, --futures >= 0")
    unknown = set(a.scenarios) - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
    seeds = list(EVAL_SEEDS[:1 if a.quick else a.seeds])
    n_plans = 8 if a.quick else a.plans
    scenarios = tuple(a.scenarios[:2] if a.quick else a.scenarios)
    compare = a.compare
    if compare is None:
        named = RESULTS_DIR / f"twm_poc_{Path(a.city).stem.removeprefix('twm_poc_')}.json"
        compare = RESULTS_DIR / "twm_poc.json" if a.city == "twm_poc" or not named.exists() else named
    console = Console(width=max(Console().width, 120))
    t0 = time.perf_counter()
    with Progress(console=console) as prog:
        backend = a.backend or ("process" if a.workers > 1 else "serial")
        hind = run(scenarios, seeds, n_plans, prog, a.city, a.futures, ParallelSettings.of(backend, a.workers,
                                                                                           os.environ))
    res: dict[str, Any] = {
        "host": machine(), "scenario": a.city, "scenarios": list(scenarios), "seeds": seeds, "plans": n_plans,
        "futures": a.futures,
        "command": f"python -m bench.twm_oracle --seeds {len(seeds)} --plans {n_plans} --futures {a.futures} "
                   f"--city {a.city}" + ("" if a.out == RESULTS_DIR / "twm_oracle.json" else f" --out {a.out}"),
        "protocol": f"bench.twm_poc protocol (warm-up {WARMUP}, {HISTORY} KPM reports); each of the first "
                    f"{n_plans} library plans executed without monitoring on a copy of the same horizon; best "
                    "executed SCM kept (chosen in hindsight)"
                    + ("; adaptive hindsight: greedy best per-step choice over the same plans; perfect twin: the "
                       f"plan with the best mean (or CVaR 50 %) SCM over {a.futures} other futures of the exact "
                       "state, executed on the real one" if a.futures else ""),
        "levels": {k: v for k, v in LEVELS.items() if k in hind[scenarios[0]]},
        "hindsight": hind,
        "hindsight_average_scm": float(np.mean([hind[s]["best_scm"] for s in scenarios])),
        "average": {k: float(np.mean([hind[s][k] for s in scenarios])) for k in LEVELS if k in hind[scenarios[0]]},
        "compared_with": compare.name,
        "methods_same_seeds": committed_methods(compare, seeds),
        "wall_s": time.perf_counter() - t0}
    t = Table(title=f"reference levels over {n_plans} library plans vs planners (mean executed SCM, "
                    f"{len(seeds)} horizons, {a.city})")
    t.add_column("scenario")
    for k in res["levels"]:
        t.add_column(LEVELS[k], justify="right")
    t.add_column("horizons with best = 0", justify="right")
    for m in res["methods_same_seeds"]:
        t.add_column(m, justify="right")
    for s in scenarios:
        t.add_row(s, *[f"{hind[s][k]:.3f}" for k in res["levels"]], f"{hind[s]['best_scm_zero_share']:.2f}",
                  *[f"{np.mean(by[s]):.3f}" if s in by else "-" for by in res["methods_same_seeds"].values()])
    t.add_row("average", *[f"{res['average'][k]:.3f}" for k in res["levels"]], "",
              *[f"{np.mean([np.mean(by[s]) for s in scenarios if s in by]):.3f}"
                for by in res["methods_same_seeds"].values()])
    console.print(t)
    console.print(f"hindsight average SCM {res['hindsight_average_scm']:.3f} (target for the improved planner: "
                  f">= 0.5) in {res['wall_s']:.0f} s")
    path = save_results(a.out.stem, res, a.out.parent)
    png = plot(res, path.with_suffix(".png"))
    console.print(f"saved {path} and {png}")
    return res


if __name__ == "__main__":
    main()

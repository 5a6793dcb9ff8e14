"""Hindsight ceiling of the TWM proof of concept: the best library plan per horizon, chosen *after* seeing it.

Same protocol as :mod:`bench.twm_poc` (emulator warm-up 4 slow steps under uniform, the same evaluation
horizon seeds, the library generated from the same observations), but instead of planning, every one of the
first ``--plans`` library plans is executed for the 12-step horizon on its own copy of the emulator (common
random numbers: same UEs, shocks and failures) and the best executed SCM is kept. No causal planner that picks
one plan from this library can beat it on that horizon; an adaptive planner that changes the plan mid-horizon
can, in principle, so the ceiling is a reference for the level an SCM target asks for, not a proof of
infeasibility. The planners' per-seed results of the committed ``bench/results/twm_poc.json`` on the same seeds
are set beside it (the runs are deterministic given their seeds).

    python -m bench.twm_oracle [--seeds 8] [--plans 128] [--quick]     (nextric bench twm-oracle)

Saves ``bench/results/twm_oracle.json`` (per horizon: the best SCM and its plan, or where every plan is at SCM 0
the plan closest to feasible, i.e. with the smallest worst value/ceiling ratio; its per-slice loss, p99 and cost
reduction) and ``twm_oracle.png`` (SCM per scenario: hindsight best vs the planners).
"""

from __future__ import annotations

import argparse
import copy
import json
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


def run(scenarios: tuple[str, ...], seeds: list[int], n_plans: int, prog: Progress) -> dict[str, Any]:
    sc = load_scenario("twm_poc")
    task = prog.add_task("hindsight: library plans x horizons", total=len(scenarios) * len(seeds) * n_plans)
    ras = CityRaster.build(topology_of(sc))
    out: dict[str, Any] = {}
    for scen in scenarios:
        rows = []
        for seed in seeds:
            emu, lib = horizon_library(sc, scen, seed, n_plans, ras)
            ex = []
            for i in range(len(lib)):
                ex.append(execute_static(copy.deepcopy(emu), sc, lib.prb[i], lib.tn[i]))
                prog.advance(task)
            scm = np.array([e.scm for e in ex])
            worst = np.array([worst_ceiling_ratio(e, sc) for e in ex])
            b = int(scm.argmax()) if scm.max() > 0 else int(worst.argmin())  # else: the plan closest to feasible
            rows.append({"seed": seed, "best_scm": float(scm.max()),
                         "best_plan": lib.names[b] if scm[b] > 0 else None,  # None: every plan at SCM 0
                         "plan_shown": lib.names[b], "plan_shown_worst_ceiling_ratio": float(worst[b]),
                         "plan_shown_dcost": ex[b].dcost, "plan_shown_loss": list(ex[b].loss),
                         "plan_shown_p99_ms": list(ex[b].p99_ms),
                         "share_plans_scm_pos": float((scm > 0).mean()), "mean_scm": float(scm.mean()),
                         "uniform_plan_scm": float(scm[0])})
        best = np.array([r["best_scm"] for r in rows])
        out[scen] = {"best_scm": float(best.mean()), "best_scm_zero_share": float((best <= 0).mean()),
                     "mean_plan_scm": float(np.mean([r["mean_scm"] for r in rows])), "per_seed": rows}
    return out


def plot(res: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scen = res["scenarios"]
    series = {"hindsight best": [res["hindsight"][s]["best_scm"] for s in scen]}
    for m, by in res["methods_same_seeds"].items():
        series[m] = [float(np.mean(by[s])) if s in by else 0.0 for s in scen]
    fig, ax = plt.subplots(figsize=(8, 4))
    w = 0.8 / len(series)
    for i, (name, vals) in enumerate(series.items()):
        ax.bar(np.arange(len(scen)) + i * w, vals, w, label=name)
    ax.axhline(0.5, color="k", ls="--", lw=1, label="target avg SCM 0.5")
    ax.set_xticks(np.arange(len(scen)) + 0.4 - w / 2, scen)
    ax.set_ylabel("mean executed SCM")
    ax.set_title(f"TWM PoC: hindsight best of {res['plans']} library plans vs planners ({len(res['seeds'])} horizons)")
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
    a = ap.parse_args(argv)
    if a.seeds < 1 or a.plans < 1:
        ap.error("--seeds and --plans must be >= 1")
    unknown = set(a.scenarios) - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
    seeds = list(EVAL_SEEDS[:1 if a.quick else a.seeds])
    n_plans = 8 if a.quick else a.plans
    scenarios = tuple(a.scenarios[:2] if a.quick else a.scenarios)
    console = Console(width=max(Console().width, 120))
    t0 = time.perf_counter()
    with Progress(console=console) as prog:
        hind = run(scenarios, seeds, n_plans, prog)
    res: dict[str, Any] = {
        "host": machine(), "scenarios": list(scenarios), "seeds": seeds, "plans": n_plans,
        "protocol": f"bench.twm_poc protocol (warm-up {WARMUP}, {HISTORY} KPM reports); each of the first "
                    f"{n_plans} library plans executed without monitoring on a copy of the same horizon; best "
                    "executed SCM kept (chosen in hindsight)",
        "hindsight": hind,
        "hindsight_average_scm": float(np.mean([hind[s]["best_scm"] for s in scenarios])),
        "methods_same_seeds": committed_methods(RESULTS_DIR / "twm_poc.json", seeds),
        "wall_s": time.perf_counter() - t0}
    t = Table(title=f"hindsight best of {n_plans} library plans vs planners (mean executed SCM, {len(seeds)} horizons)")
    t.add_column("scenario")
    t.add_column("hindsight best", justify="right")
    t.add_column("horizons with best = 0", justify="right")
    for m in res["methods_same_seeds"]:
        t.add_column(m, justify="right")
    for s in scenarios:
        t.add_row(s, f"{hind[s]['best_scm']:.3f}", f"{hind[s]['best_scm_zero_share']:.2f}",
                  *[f"{np.mean(by[s]):.3f}" if s in by else "-" for by in res["methods_same_seeds"].values()])
    console.print(t)
    console.print(f"hindsight average SCM {res['hindsight_average_scm']:.3f} (target for the improved planner: "
                  f">= 0.5) in {res['wall_s']:.0f} s")
    path = save_results(a.out.stem, res, a.out.parent)
    png = plot(res, path.with_suffix(".png"))
    console.print(f"saved {path} and {png}")
    return res


if __name__ == "__main__":
    main()

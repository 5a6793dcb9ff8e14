"""Calibration of the PoC city by method-independent rules, on tuning seeds only.

The rules (none of them looks at a planner):

* **planning tension**: the uniform plan's mean SCM in each scenario is low (0 to ``UNIFORM_MAX``);
* **room to win**: the best *fixed* library plan per horizon, chosen in hindsight, averages at least ``BEST_MIN``
  in every scenario;
* **OOD is harder, not hopeless**: the OOD hindsight level is within ``OOD_GAP`` of the ID one per shock family;
* **a loaded but not saturated transport**: under ID shocks and the uniform plan, the busiest link's offered load
  over its capacity at the 95th percentile of a horizon's sub-steps (mean over the horizons) is near ``LINK_P95``.

Per (scenario, tuning seed): the emulator warms up ``--warmup`` slow steps under the uniform plan; the planner
library (:func:`rapps.intent_agent.planner.library.library`, ``--plans`` candidates from the observed context, the
first of them the uniform family's centre) is executed one horizon each on a copy of the same emulator (common
random numbers), plus the uniform plan itself. The tuning seeds are ``TUNE_SEEDS`` of
:mod:`rapps.intent_agent.worldmodels.seeds` (never the evaluation seeds 0-31); ``--evaluate`` runs the frozen
scenario once on the evaluation seeds.

    python -m bench.calibration [--scenario twm_poc_calibrated | path.yaml] [--seeds 8] [--plans 32] [--warmup 6]
                                [--evaluate]

Prints the rule table and saves ``bench/results/calibration.json`` (``calibration_eval.json`` with
``--evaluate``), with the scenario's SHA-256.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from nextric.parallel import BACKENDS, ParallelSettings, WorkerPool
from rapps.intent_agent.planner.library import library
from rapps.intent_agent.worldmodels.features import CityRaster, Context
from rapps.intent_agent.worldmodels.seeds import EVAL_SEEDS, TUNE_SEEDS
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.core.types import FloatArray
from testbed.describe import topology_of
from testbed.policies import uniform_shares
from testbed.warmup import warm_up

REGIMES = ("hotspot-ID", "hotspot-OOD", "wave-ID", "wave-OOD")
UNIFORM_MAX = 0.15
BEST_MIN = 0.5
OOD_GAP = 0.10
LINK_P95 = 0.7
HISTORY = 4


def scenario_hash(sc: ScenarioParams) -> str:
    """SHA-256 of the scenario file as loaded, a path or a bundled scenario (the frozen calibration is this file)."""
    if not sc.source:
        return ""
    p = Path(sc.source)
    data = p.read_bytes() if p.is_file() else resources.files("testbed.scenarios").joinpath(p.name).read_bytes()
    return hashlib.sha256(data).hexdigest()


def execute(emu: Emulator, sc: ScenarioParams, prb: FloatArray, tn: FloatArray) -> tuple[Any, FloatArray]:
    """One horizon of a fixed plan (prb (K, C, S), tn (K, L, S)) on ``emu`` (mutated): its KPIs and the links'
    offered load over capacity per sub-step (T, L)."""
    start = emu.step_index
    for k in range(len(prb)):
        emu.set_allocation(plan_ratios(sc.plan_shares, prb[k]), tn[k])
        emu.step_slow()
    return emu.kpis_since(start), emu.link_load_ratios(emu.step_index - start)


def run_context(source: str, regime: str, seed: int, warmup: int, n_plans: int) -> dict[str, Any]:
    sc = load_scenario(source)
    reps, up, emu = warm_up(sc, ShockRegime.parse(regime), seed, warmup)
    topo = topology_of(sc)
    family = regime.split("-")[0]
    ctx = Context.observed(topo, reps[-HISTORY:], f"{family}-ID", up)
    k = sc.timing.slow_per_horizon
    lib = library(CityRaster.build(topo), ctx, n_plans, k, seed)
    p0, t0 = uniform_shares(sc)
    u, ratio = execute(copy.deepcopy(emu), sc, np.broadcast_to(p0, (k, *p0.shape)),
                       np.broadcast_to(t0, (k, *t0.shape)))
    kps = [execute(copy.deepcopy(emu), sc, lib.prb[i], lib.tn[i])[0] for i in range(len(lib))]
    scms = [float(x.scm[0]) for x in kps]
    best = int(np.argmax(scms))
    return {"regime": regime, "seed": seed, "uniform_scm": float(u.scm[0]), "best_scm": float(scms[best]),
            "uniform_loss": u.loss[0].tolist(), "uniform_p99_ms": u.p99_ms[0].tolist(),
            "best_loss": kps[best].loss[0].tolist(), "best_p99_ms": kps[best].p99_ms[0].tolist(),
            "best_plan": lib.names[best], "library_scm_mean": float(np.mean(scms)),
            "library_scm_positive": float(np.mean(np.array(scms) > 0)),
            "link_ratio_p95": np.quantile(ratio, 0.95, axis=0).tolist(),
            "link_ratio_max": ratio.max(0).tolist()}


def rules(sc: ScenarioParams, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rule table: per scenario the uniform and best-fixed levels, per family the OOD gap, the busiest link."""
    per: dict[str, Any] = {}
    for r in REGIMES:
        rows = [x for x in runs if x["regime"] == r]
        if not rows:
            continue
        per[r] = {"uniform_scm": float(np.mean([x["uniform_scm"] for x in rows])),
                  "best_fixed_scm": float(np.mean([x["best_scm"] for x in rows])),
                  "library_scm_mean": float(np.mean([x["library_scm_mean"] for x in rows])),
                  "uniform_zero_share": float(np.mean([x["uniform_scm"] <= 0 for x in rows]))}
    gaps = {f: per[f"{f}-ID"]["best_fixed_scm"] - per[f"{f}-OOD"]["best_fixed_scm"]
            for f in ("hotspot", "wave") if f"{f}-ID" in per and f"{f}-OOD" in per}
    id_rows = [x for x in runs if x["regime"].endswith("-ID")]
    # a typical ID horizon's p95 per link (the mean over the horizons), not the worst horizon's
    p95 = np.mean([x["link_ratio_p95"] for x in id_rows], axis=0) if id_rows else np.zeros(sc.n_links)
    links = {ln.name: float(v) for ln, v in zip(sc.transport.links, p95, strict=True)}
    busiest = max(links, key=lambda k: links[k]) if links else ""
    checks = {
        "uniform_low": all(0.0 <= v["uniform_scm"] <= UNIFORM_MAX for v in per.values()),
        "best_fixed_high": all(v["best_fixed_scm"] >= BEST_MIN for v in per.values()),
        "ood_gap": all(abs(g) <= OOD_GAP for g in gaps.values()),
        "busiest_link": abs(links.get(busiest, 0.0) - LINK_P95) <= 0.1,
    }
    return {"per_scenario": per, "ood_gap": gaps, "link_p95_id_uniform": links, "busiest_link": busiest,
            "checks": checks, "all_met": all(checks.values())}


def render(res: dict[str, Any], console: Console) -> None:
    r = res["rules"]
    t = Table(title=f"{res['scenario']}: calibration rules on {res['seed_set']} seeds "
                    f"{res['seeds'][0]}-{res['seeds'][-1]} "
                    f"({len(res['seeds'])} per scenario, {res['plans']} library plans)")
    for col in ("scenario", "uniform SCM", "uniform SCM = 0", "best fixed plan", "library mean"):
        t.add_column(col, justify="right" if col != "scenario" else "left")
    for name, v in r["per_scenario"].items():
        t.add_row(name, f"{v['uniform_scm']:.3f}", f"{100 * v['uniform_zero_share']:.0f} %",
                  f"{v['best_fixed_scm']:.3f}", f"{v['library_scm_mean']:.3f}")
    console.print(t)
    console.print("OOD gap (ID - OOD best fixed): " + ", ".join(f"{k} {v:+.3f}" for k, v in r["ood_gap"].items()))
    console.print("busiest links (p95 offered / capacity, ID, uniform): " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(r["link_p95_id_uniform"].items(), key=lambda kv: -kv[1])[:4]))
    console.print("rules: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in r["checks"].items()))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.calibration", description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="twm_poc_calibrated",
                    help="bundled name or a YAML path (extends: twm_poc ...)")
    ap.add_argument("--seeds", type=int, default=8, help="tuning seeds per scenario (from TUNE_SEEDS)")
    ap.add_argument("--evaluate", action="store_true", help="once the scenario is frozen: the same rules on the "
                    "first --seeds evaluation seeds (EVAL_SEEDS), saved beside the tuning result")
    ap.add_argument("--plans", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=6, help="slow steps under the uniform plan before the horizon")
    ap.add_argument("--regimes", nargs="+", default=list(REGIMES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=BACKENDS, default="process",
                    help="where the horizons run (ray: local, or the cluster at RAY_ADDRESS); same numbers")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "calibration.json")
    a = ap.parse_args(argv)
    sc = load_scenario(a.scenario)
    seeds = list((EVAL_SEEDS if a.evaluate else TUNE_SEEDS)[:a.seeds])
    if a.evaluate and a.out == RESULTS_DIR / "calibration.json":
        a.out = RESULTS_DIR / "calibration_eval.json"
    console = Console(width=max(Console().width, 130))
    t0 = time.perf_counter()
    jobs = [(a.scenario, r, s, a.warmup, a.plans) for r in a.regimes for s in seeds]
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    settings = ParallelSettings.of(a.backend, a.workers, os.environ)
    with Progress(*cols, console=console) as prog, WorkerPool(settings) as pool:
        runs = pool.starmap(run_context, jobs, prog, "horizons (uniform + library plans)")
    res: dict[str, Any] = {"host": machine(), "scenario": sc.name, "scenario_file": sc.source,
                           "seed_set": "evaluation" if a.evaluate else "tuning",
                           "scenario_sha256": scenario_hash(sc), "seeds": seeds, "plans": a.plans,
                           "warmup_slow_steps": a.warmup,
                           "horizon_s": sc.timing.slow_per_horizon * sc.timing.slow_step_s,
                           "targets": {"uniform_scm_max": UNIFORM_MAX, "best_fixed_min": BEST_MIN,
                                       "ood_gap_max": OOD_GAP, "busiest_link_p95": LINK_P95},
                           "rules": rules(sc, runs), "runs": runs, "wall_s": time.perf_counter() - t0}
    render(res, console)
    save_results(a.out.stem, res, a.out.parent)
    return res


if __name__ == "__main__":
    main()

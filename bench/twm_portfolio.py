"""Fit the improved planner's plan portfolio on tuning horizons (never on evaluation seeds) and freeze it.

Per shock family (the planners always assume the ID regime of the family, so the portfolio is fitted on ID
horizons only; OOD stays a distribution shift): every tuning horizon of ``TUNE_SEEDS`` follows the
:mod:`bench.twm_poc` protocol (warm-up under uniform, the last KPM reports and link alarms observed). The
candidate parameter vectors are the library's (``--plans`` per horizon, the same generator the planner uses; the
family centres appear once). Every candidate is instantiated from each horizon's own observations with
:func:`rapps.intent_agent.planner.run.instantiate` (what the planner sends to the twin) and executed for the
12-step horizon on a copy of that horizon's emulator (common random numbers). Utility = SCM + 0.25 x cost
reduction (the planner's default objective weights). :func:`rapps.intent_agent.planner.portfolio.greedy_cover`
then picks ``--size`` members.

    python -m bench.twm_portfolio [--city twm_poc_calibrated] [--models rapps/intent_agent/model_calibrated]
                                  [--seeds 8] [--plans 32] [--size 3] [--workers 2]

Writes ``portfolio.json`` and its model card ``portfolio.card.json`` into ``--models`` (tuning seeds, the
city's SHA-256, the candidate count, the coverage curve on the tuning horizons) and
``bench/results/twm_portfolio.json`` (the utility matrix summary). Deterministic given its arguments.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.calibration import scenario_hash
from bench.common import RESULTS_DIR, machine, save_results
from bench.twm_oracle import execute_static
from bench.twm_poc import HISTORY, WARMUP
from nextric.datacard import DataCard, save_card, validate_card
from nextric.parallel import BACKENDS, ParallelSettings, WorkerPool
from rapps.intent_agent.planner.api import ObjectiveWeights, PlanRequest
from rapps.intent_agent.planner.library import library
from rapps.intent_agent.planner.portfolio import CARD, Portfolio, coverage_curve, greedy_cover, save
from rapps.intent_agent.planner.run import instantiate
from rapps.intent_agent.worldmodels.features import CityRaster, Context
from rapps.intent_agent.worldmodels.seeds import TUNE_SEEDS
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.describe import topology_of
from testbed.warmup import kpm_messages, warm_up

FAMILIES = ("hotspot", "wave")


def candidates(city: str, family: str, seeds: list[int], n_plans: int) -> np.ndarray:
    """The library's parameter vectors over the tuning horizons of a family, duplicates (family centres) once."""
    sc = load_scenario(city)
    topo = topology_of(sc)
    ras = CityRaster.build(topo)
    out: list[np.ndarray] = []
    seen: set[bytes] = set()
    for seed in seeds:
        reps, up, _ = warm_up(sc, ShockRegime.parse(f"{family}-ID"), seed, WARMUP)
        ctx = Context.observed(topo, reps[-HISTORY:], f"{family}-ID", up)
        for u in library(ras, ctx, n_plans, sc.timing.slow_per_horizon, seed).u:
            key = np.round(u, 9).tobytes()
            if key not in seen:
                seen.add(key)
                out.append(u)
    return np.stack(out)


def horizon_utility(city: str, family: str, seed: int, us: np.ndarray, w: ObjectiveWeights) -> dict[str, Any]:
    """Executed SCM, cost reduction and utility of every candidate on one tuning horizon."""
    sc = load_scenario(city)
    topo = topology_of(sc)
    reps, up, emu = warm_up(sc, ShockRegime.parse(f"{family}-ID"), seed, WARMUP)
    req = PlanRequest(topo, tuple(kpm_messages(sc, reps[-HISTORY:])), f"{family}-ID", up, method="improved",
                      seed=seed)
    scm, dcost = [], []
    for u in us:
        res = instantiate(req, u, "portfolio tuning")
        ex = execute_static(copy.deepcopy(emu), sc, res.prb, res.tn)
        scm.append(ex.scm)
        dcost.append(ex.dcost)
    s, d = np.array(scm), np.array(dcost)
    return {"seed": seed, "scm": s, "dcost": d, "utility": w.scm * s + w.cost * d}


def fit(city: str, seeds: list[int], n_plans: int, size: int, parallel: ParallelSettings, console: Console
        ) -> tuple[Portfolio, dict[str, Any]]:
    w = ObjectiveWeights()
    members: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {}
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*cols, console=console) as prog, WorkerPool(parallel) as pool:
        for fam in FAMILIES:
            us = candidates(city, fam, seeds, n_plans)
            rows = pool.starmap(horizon_utility, [(city, fam, s, us, w) for s in seeds], prog,
                                f"{fam}: {len(us)} candidates x {len(seeds)} tuning horizons")
            util = np.stack([r["utility"] for r in rows], axis=1)  # (U, H)
            scm = np.stack([r["scm"] for r in rows], axis=1)
            dcost = np.stack([r["dcost"] for r in rows], axis=1)
            order = greedy_cover(util, size)
            members[fam] = us[order]
            report[fam] = {
                "candidates": len(us), "horizons": len(seeds), "chosen": order,
                "member_mean_scm": [float(scm[i].mean()) for i in order],
                "member_mean_dcost": [float(dcost[i].mean()) for i in order],
                "coverage_utility": coverage_curve(util, order),
                "coverage_scm_best_member": [float(scm[order[:n]][util[order[:n]].argmax(0),
                                                                   np.arange(len(seeds))].mean())
                                             for n in range(1, len(order) + 1)],
                "hindsight_best_scm": float(scm.max(0).mean()),
                "mean_candidate_scm": float(scm.mean()),
                "uniform_family_centre_scm": float(scm[0].mean())}
    return Portfolio(members), report


def card(city: str, seeds: list[int], n_plans: int, size: int, report: dict[str, Any], sha: str) -> DataCard:
    fams = sorted(report)
    return validate_card({
        "kind": "model", "name": f"twm-plan-portfolio-{city}",
        "task": {"name": "plan portfolio for the improved TWM planner",
                 "description": "Per shock family, the library plan parameter vectors that between them did best "
                                "on tuning horizons (greedy coverage of executed utility); the planner instantiates "
                                "them from the observed load and lets the twin judge them."},
        "configuration": {"scenario": city, "plans_per_horizon": n_plans, "size": size,
                          "objective": "SCM + 0.25 x cost reduction (executed)",
                          "selection": "greedy coverage of the per-horizon best (rapps.intent_agent.planner."
                                       "portfolio.greedy_cover)"},
        "provenance": {"source": f"python -m bench.twm_portfolio --city {city} --seeds {len(seeds)} "
                                 f"--plans {n_plans} --size {size}",
                       "simulator": {"name": "nextric testbed emulator", "version": "1"},
                       "scenario": city, "scenario_sha256": sha, "channel_model": "3GPP TR 38.901 UMa (emulated)",
                       "seeds": seeds, "seed_set": "TUNE_SEEDS (never the evaluation seeds 0-31)"},
        "environment": {"setting": "emulated multi-cell gNB city with transport", "topology": city},
        "protocol": {"layer": "CROSS-DOMAIN", "timescale_s": 60.0},
        "policy": {"objectives": ["SLA compliance margin", "control cost"],
                   "logging_policy": "every library candidate executed open loop on every tuning horizon"},
        "model": {"name": "portfolio", "format": "json", "inputs": "parameter vectors (D_THETA)",
                  "outputs": "plans via plans_from_params"},
        "validity_range": {"scenario": {"values": [city]}, "shock_family": {"values": fams},
                           "horizon_steps": {"min": 12, "max": 12}},
        "evaluation": {"baselines": ["hindsight best of the candidates", "uniform family centre"],
                       "distribution_shifts": ["OOD shock regimes are not tuned on"],
                       "failure_criteria": ["none: a prior for the twin, judged by the executed PoC benchmark"],
                       "tuning": report},
    }, "portfolio card")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.twm_portfolio", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--city", default="twm_poc_calibrated")
    ap.add_argument("--models", type=Path, default=Path("rapps/intent_agent/model_calibrated"))
    ap.add_argument("--seeds", type=int, default=len(TUNE_SEEDS))
    ap.add_argument("--plans", type=int, default=32)
    ap.add_argument("--size", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=BACKENDS, default="process",
                    help="where the horizons run (ray: local, or the cluster at RAY_ADDRESS); same numbers")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "twm_portfolio.json")
    a = ap.parse_args(argv)
    if not 1 <= a.seeds <= len(TUNE_SEEDS) or a.plans < 1 or a.size < 1 or a.workers < 1:
        ap.error(f"--seeds must be 1..{len(TUNE_SEEDS)}; --plans, --size, --workers >= 1")
    seeds = list(TUNE_SEEDS[:a.seeds])
    console = Console()
    t0 = time.perf_counter()
    port, report = fit(a.city, seeds, a.plans, a.size, ParallelSettings.of(a.backend, a.workers, os.environ), console)
    sha = scenario_hash(load_scenario(a.city))
    save(port, a.models)
    save_card(card(a.city, seeds, a.plans, a.size, report, sha), a.models / CARD)
    res = {"host": machine(), "city": a.city, "scenario_sha256": sha, "seeds": seeds, "plans": a.plans,
           "size": a.size, "portfolio_sha256": port.sha256(), "families": report, "wall_s": time.perf_counter() - t0}
    for fam, r in report.items():
        console.print(f"{fam}: {r['candidates']} candidates; members' mean SCM "
                      f"{[round(x, 3) for x in r['member_mean_scm']]}; coverage (utility) "
                      f"{[round(x, 3) for x in r['coverage_utility']]}; hindsight best SCM "
                      f"{r['hindsight_best_scm']:.3f}")
    save_results(a.out.stem, res, a.out.parent)
    return res


if __name__ == "__main__":
    main()

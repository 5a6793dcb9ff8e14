"""The TWM paper's proof of concept (section X), measured side by side: every method on the same horizons.

Per scenario (hotspot/wave x ID/OOD) and evaluation horizon seed (``EVAL_SEEDS``, disjoint from the world
models' training/held-out seeds and the planner-tuning seeds): the emulator (the "network") runs 4 slow steps
under uniform shares; its KPM reports and link alarms are all a planner sees. Each method then plans from those
observations and its plan is executed for one 12-step horizon on a copy of the same emulator (common random
numbers: same UEs, shocks and failures), with Phase-2 monitoring after every slow step for ``twm`` and
``improved``. Planners always assume the ID version of the shock family (OOD is a real distribution shift for
the twin and the world models alike). KPIs and cost come from ``nextric.kpi`` (SCM over the executed
horizon; control cost of the executed shares with the uniform policy in force before the plan).

DT-FAIR is budget-matched as in the paper: one twin search of 24 library candidates x 16 twin seeds = 384 twin
calls per scenario (on the scenario's first horizon); the parameters it picks are re-instantiated from the
observed load of every later horizon (0 further calls). TWM and the improved planner spend 12 per horizon
(3 candidates x 4 seeds), 384 per scenario of 32 horizons.

Also measured in the same run: surrogate (FWM + CDWM via onnxruntime) vs twin speed for 256 candidates, and the
empirical coverage of the CDWM's 90 % SCM interval against the executed outcome of the chosen plans.

The speed section alone (both sides warmed up, >= 3 alternated repeats, per-candidate cost with spread) re-runs
with ``python -m bench.twm_poc --speed-only [--city twm_poc_calibrated --out ...]``, which replaces only the
``speed`` entry of the results file.

Run: ``python -m bench.twm_poc [--quick] [--seeds N]`` (``make bench-twm``); saves ``bench/results/twm_poc.json``
(``{"methods": {method: {scenario: {scm, dcost, twin_calls, decision_s, ...}}}, ...}``) and the plots
``twm_poc_pareto.png`` (Fig. 6) and ``twm_poc_scm.png`` (Fig. 7).
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from bench.timing import MIN_REPEATS, CpuMeter, Spread, Timing, interleaved
from nextric.errors import ValidationError
from nextric.kpi import control_cost, cost_reduction
from nextric.stats import mean_interval
from rapps.intent_agent.planner.api import PlanRequest, PlanResult
from rapps.intent_agent.planner.library import library
from rapps.intent_agent.planner.run import DEFAULT_CONFIG, PlannerConfig, instantiate, monitor, plan
from rapps.intent_agent.planner.twin import rollout_shares
from rapps.intent_agent.worldmodels.features import CityRaster, Context
from rapps.intent_agent.worldmodels.seeds import EVAL_SEEDS, HELDOUT_SEEDS, TRAIN_SEEDS, TUNE_CHECK_SEEDS, TUNE_SEEDS
from rapps.intent_agent.worldmodels.serving import MODEL_DIR, WorldModels
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.describe import cell_keys, topology_of
from testbed.twin_service import TwinService
from testbed.warmup import kpm_messages, warm_up

SCENARIOS = ("hotspot-ID", "hotspot-OOD", "wave-ID", "wave-OOD")
METHODS = ("uniform", "dt-fair", "fwm-only", "cdwm-only", "rules", "twm", "improved")
LABELS = {"uniform": "uniform 1/3", "dt-fair": "DT-FAIR", "fwm-only": "FWM-only", "cdwm-only": "CDWM-only",
          "rules": "WM-free agent", "twm": "TWM (paper)", "improved": "TWM+ (ours)"}
WARMUP = 4
HISTORY = 4  #: KPM reports handed to the planner


def executed_cost(sc: ScenarioParams, prb: np.ndarray, tn: np.ndarray) -> tuple[float, float]:
    """Control cost J and cost reduction vs uniform of executed shares prb (K, C, S), tn (K, L, S), with the
    uniform policy in force before the plan."""
    s = sc.n_slices
    j = float(control_cost(prb, tn, sc.cost, np.full((sc.n_cells, s), 1 / s), np.full((sc.n_links, s), 1 / s)))
    return j, float(cost_reduction(np.asarray(j), sc.cost))


def execute(emu: Emulator, sc: ScenarioParams, req: PlanRequest, first: PlanResult, wm: WorldModels,
            monitored: bool, cfg: PlannerConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    """Run the plan for its horizon on ``emu`` with Phase-2 monitoring; KPIs, cost and the decision log."""
    k = len(first.prb)
    t_start = emu.step_index
    hist = list(req.kpm_history)
    topo = req.topology
    cur = first
    mon_s, switches, corners = [], 0, 0
    prb_exec, tn_exec = [], []
    for step in range(k):
        p, t = cur.step_action(step)
        prb_exec.append(p)
        tn_exec.append(t)
        emu.set_allocation(plan_ratios(emu.sc.plan_shares, p), t)
        emu.step_slow()
        hist = [*hist[1:], *kpm_messages(sc, [emu.read_kpm()])]
        if monitored and step + 1 < k:
            t0 = time.perf_counter()
            v = monitor(PlanRequest(topo, tuple(hist), req.regime, emu.link_up, method=req.method,
                                    seed=req.seed, objective=req.objective), cur, step + 1, wm, cfg)
            mon_s.append(time.perf_counter() - t0)
            corners += int(v.corner_case)
            switches += int(v.gate_passed)
            cur = v.plan
    kp = emu.kpis_since(t_start)
    j, dcost = executed_cost(sc, np.stack(prb_exec), np.stack(tn_exec))
    return {"scm": float(kp.scm[0]), "loss": kp.loss[0].tolist(), "p99_ms": kp.p99_ms[0].tolist(),
            "dcost": dcost, "cost": j, "monitor_s": mon_s,
            "switches": switches, "corner_cases": corners}


def run(scenarios: tuple[str, ...], seeds: list[int], methods: tuple[str, ...], wm: WorldModels,
        progress: Progress | None = None, city: str = "twm_poc", cfg: PlannerConfig = DEFAULT_CONFIG
        ) -> dict[str, Any]:
    sc = load_scenario(city)
    topo = topology_of(sc)
    twin = TwinService(sc, sc.name, cell_keys(sc))  # in process: the planners reach it through its Rollout
    task = progress.add_task("TWM PoC horizons", total=len(scenarios) * len(seeds)) if progress else None
    per: dict[str, dict[str, list[dict[str, Any]]]] = {m: {s: [] for s in scenarios} for m in methods}
    dtfair_u: dict[str, np.ndarray] = {}
    table = None
    for scen in scenarios:
        regime = ShockRegime.parse(scen)
        assumed = f"{regime.family}-ID"
        for seed in seeds:
            reps, up, emu = warm_up(sc, regime, seed, WARMUP, table)
            table = emu.nmse_table
            msgs = tuple(kpm_messages(sc, reps[-HISTORY:]))
            for m in methods:
                e = copy.deepcopy(emu)
                req = PlanRequest(topo, msgs, assumed, up, method=m, seed=seed)
                t0 = time.perf_counter()
                if m == "dt-fair" and scen in dtfair_u:  # budget-matched: one 384-call search per scenario
                    res = instantiate(req, dtfair_u[scen], "DT-FAIR policy chosen by this scenario's search")
                else:
                    res = plan(req, twin, wm, cfg)
                    if m == "dt-fair":
                        dtfair_u[scen] = np.asarray(res.trace.extra["u"])
                dec = time.perf_counter() - t0
                out = execute(e, sc, req, res, wm, m in ("twm", "improved"), cfg)
                out.update({"seed": seed, "twin_calls": res.twin_calls, "decision_s": dec, "fallback": res.fallback})
                if res.expected is not None:
                    out["pred_scm"] = res.expected.scm
                    out["pred_scm_lo"], out["pred_scm_hi"] = res.expected.scm_lo, res.expected.scm_hi
                    out["pred_dcost"] = res.expected.cost_reduction
                out["why"] = res.trace.why
                per[m][scen].append(out)
            if progress is not None and task is not None:
                progress.advance(task)
    return {"per_seed": per, "summary": summarise(per, sc)}


def _paired_vs_twm(per: dict[str, dict[str, list[dict[str, Any]]]], m: str,
                   scen: str | None) -> dict[str, float] | None:
    """95 % interval of the method's executed SCM minus paper-faithful TWM's, paired by horizon (same scenario and
    seed: common random numbers); ``scen`` None pools every scenario. None without a ``twm`` run."""
    if m == "twm" or "twm" not in per:
        return None
    scens = [scen] if scen is not None else list(per[m])
    diff = []
    for sc_name in scens:
        twm = {r["seed"]: r["scm"] for r in per["twm"].get(sc_name, [])}
        diff += [r["scm"] - twm[r["seed"]] for r in per[m].get(sc_name, []) if r["seed"] in twm]
    return mean_interval(diff, 0.95).to_json() if len(diff) >= 2 else None


def summarise(per: dict[str, dict[str, list[dict[str, Any]]]], sc: ScenarioParams) -> dict[str, Any]:
    names = [s.name for s in sc.slices]
    out: dict[str, Any] = {}
    for m, by in per.items():
        out[m] = {}
        for scen, runs in by.items():
            if not runs:
                continue
            scm = np.array([r["scm"] for r in runs])
            loss = np.array([r["loss"] for r in runs]).mean(0)
            p99 = np.array([r["p99_ms"] for r in runs])
            mon = [x for r in runs for x in r["monitor_s"]]
            d: dict[str, Any] = {
                "scm": float(scm.mean()), "scm_zero_share": float((scm <= 0).mean()),
                "dcost": float(np.mean([r["dcost"] for r in runs])),
                "loss": dict(zip(names, map(float, loss), strict=True)),
                "urllc_p99_ms": float(p99[:, 1].mean()), "urllc_p99_ms_median": float(np.median(p99[:, 1])),
                "twin_calls": float(np.mean([r["twin_calls"] for r in runs])),
                "twin_calls_per_scenario": int(sum(r["twin_calls"] for r in runs)),
                "decision_s": float(np.mean([r["decision_s"] for r in runs])),
                "monitor_step_s": float(np.mean(mon)) if mon else 0.0,
                "fallback_share": float(np.mean([r["fallback"] for r in runs])),
                "switches_per_horizon": float(np.mean([r["switches"] for r in runs])),
                "horizons": len(runs)}
            pred = [r for r in runs if "pred_scm" in r]
            if pred:
                d["pred_scm"] = float(np.mean([r["pred_scm"] for r in pred]))
                d["interval90_covers_executed_scm"] = float(np.mean(
                    [r["pred_scm_lo"] <= r["scm"] <= r["pred_scm_hi"] for r in pred]))
            out[m][scen] = d
            d["scm_ci95"] = mean_interval(scm, 0.95).to_json()
            d["scm_minus_twm_ci95"] = _paired_vs_twm(per, m, scen)
        vals = list(out[m].values())
        if vals:
            pooled = [r["scm"] for runs in by.values() for r in runs]
            out[m]["average"] = {"scm_ci95": mean_interval(pooled, 0.95).to_json(),
                                 "scm_minus_twm_ci95": _paired_vs_twm(per, m, None),
                                 "scm": float(np.mean([v["scm"] for v in vals])),
                                 "dcost": float(np.mean([v["dcost"] for v in vals])),
                                 "twin_calls_per_scenario": float(np.mean([v["twin_calls_per_scenario"]
                                                                           for v in vals])),
                                 "decision_s": float(np.mean([v["decision_s"] for v in vals]))}
    return out


def speed(wm: WorldModels, seed: int = 30_000, city: str = "twm_poc", repeats: int = MIN_REPEATS,
          n_cand: int = 256) -> dict[str, Any]:
    """Twin vs surrogate for ``n_cand`` candidates in one context (a TUNE seed): both warmed up (one call each on
    16 of the candidates: same code paths, caches and sessions), then surrogate / twin windows alternated
    ``repeats`` times; per-candidate and per-rollout cost of each (median and spread) and the twin/surrogate ratio
    per pair."""
    sc = load_scenario(city)
    topo = topology_of(sc)
    reps, up, _ = warm_up(sc, ShockRegime.parse("hotspot-ID"), seed, WARMUP)
    ras = CityRaster.build(topo)
    ctx = Context.observed(topo, reps, "hotspot-ID", up)
    lib = library(ras, ctx, n_cand, sc.timing.slow_per_horizon, seed)
    twin_seeds = DEFAULT_CONFIG.verify_seeds
    twin = TwinService(sc, sc.name, cell_keys(sc))
    msgs = kpm_messages(sc, reps)

    def run_twin(k: int = n_cand) -> None:
        rollout_shares(twin, topo, msgs, "hotspot-ID", up, lib.prb[:k], lib.tn[:k], twin_seeds, 1)

    def run_surrogate(k: int = n_cand) -> None:
        wm.forecast(ras, ctx, lib.prb[:k], lib.tn[:k], n_samples=DEFAULT_CONFIG.n_samples, seed=1)

    run_twin(min(16, n_cand))  # warm-up, both sides
    run_surrogate(min(16, n_cand))
    host, own = CpuMeter.host(), CpuMeter()
    host.start()
    own.start()
    sur, tw, ratio = interleaved(run_surrogate, run_twin, repeats=repeats, warmup=0)
    host_cpu, own_cpu = host.stop(), own.stop()
    n_paths = wm.members * (1 + DEFAULT_CONFIG.n_samples)

    def per(t: Timing, units: int, cpu: bool = False) -> dict[str, Any]:
        w = t.cpu_s if cpu else t.wall_s
        return Spread(w.n, *(1e3 * v / units for v in (w.median, w.min, w.max, w.q1, w.q3))).as_dict()

    ratio_d = ratio.as_dict()
    per_rollout = {k: (v * n_paths / twin_seeds if k != "n" else v) for k, v in ratio_d.items()}
    return {"candidates": n_cand, "twin_seeds": twin_seeds, "twin_rollouts": n_cand * twin_seeds,
            "surrogate_paths_per_candidate": n_paths, "surrogate_rollouts": n_cand * n_paths,
            "repeats": repeats, "warmup": "one call of each on 16 candidates, then surrogate/twin alternated",
            "twin_s": tw.wall_s.median, "surrogate_s": sur.wall_s.median,
            "twin_ms_per_candidate": per(tw, n_cand), "surrogate_ms_per_candidate": per(sur, n_cand),
            "twin_cpu_ms_per_candidate": per(tw, n_cand, cpu=True),
            "surrogate_cpu_ms_per_candidate": per(sur, n_cand, cpu=True),
            "twin_ms_per_rollout": per(tw, n_cand * twin_seeds), "surrogate_ms_per_rollout": per(sur, n_cand * n_paths),
            "speedup_per_candidate": ratio_d, "speedup_per_rollout": per_rollout,
            # CPU time does not wait for a busy shared machine: the steadier figure when the host is loaded
            "cpu_speedup_per_candidate_of_medians": tw.cpu_s.median / max(sur.cpu_s.median, 1e-12),
            "twin_timing": tw.as_dict(), "surrogate_timing": sur.as_dict(),
            # cores busy over all the windows: this process, and the rest of the (shared) machine
            "own_cores": own_cpu.cores, "other_cores": host_cpu.cores - own_cpu.cores}


def plots(summary: dict[str, Any], scenarios: tuple[str, ...], out_dir: Path, stem: str = "twm_poc") -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for i, (m, d) in enumerate(summary.items()):
        a = d.get("average")
        if a is None:
            continue
        ax.scatter(100 * a["dcost"], 100 * a["scm"], s=160 if m == "improved" else 80,
                   marker="*" if m in ("twm", "improved") else "o", label=LABELS[m])
        ax.annotate(LABELS[m], (100 * a["dcost"], 100 * a["scm"]), textcoords="offset points",
                    xytext=(5, 5 if i % 2 == 0 else -12), fontsize=8)  # alternate sides: near points stay legible
    ax.set_xlabel("cost reduction vs uniform (%)")
    ax.set_ylabel("SLA Compliance Margin (%)")
    ax.set_title("Cost-compliance trade-off (mean of 4 scenarios)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.grid(alpha=0.3)
    p = out_dir / f"{stem}_pareto.png"
    fig.tight_layout()
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    fig, ax = plt.subplots(figsize=(9, 4))
    ms = [m for m in summary if "average" in summary[m]]
    wdt = 0.8 / max(len(ms), 1)
    for i, m in enumerate(ms):
        ys = [100 * summary[m][s]["scm"] if s in summary[m] else 0 for s in scenarios]
        ax.bar(np.arange(len(scenarios)) + i * wdt, ys, wdt, label=LABELS[m])
    ax.set_xticks(np.arange(len(scenarios)) + 0.4 - wdt / 2)
    ax.set_xticklabels(scenarios)
    ax.set_ylabel("SCM (%)")
    ax.set_title("SLA Compliance Margin by method and scenario")
    ax.legend(fontsize=7, ncol=4)
    ax.grid(axis="y", alpha=0.3)
    p = out_dir / f"{stem}_scm.png"
    fig.tight_layout()
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    return paths


def render(res: dict[str, Any], console: Console) -> None:
    summ = res["methods"]
    t = Table(title=f"TWM PoC: SCM / cost reduction per scenario ({res['seeds_per_scenario']} horizons each)")
    t.add_column("method")
    for s in res["scenarios"]:
        t.add_column(s, justify="right")
    for col in ("avg SCM", "avg dcost", "twin calls/scen.", "decision s", "URLLC p99 ms"):
        t.add_column(col, justify="right")
    for m, d in summ.items():
        if "average" not in d:
            continue
        a = d["average"]
        p99 = np.mean([d[s]["urllc_p99_ms_median"] for s in res["scenarios"] if s in d])
        t.add_row(LABELS[m], *[f"{100 * d[s]['scm']:.0f} % / {100 * d[s]['dcost']:.0f} %" if s in d else "-"
                               for s in res["scenarios"]],
                  f"{100 * a['scm']:.1f} %", f"{100 * a['dcost']:.1f} %", f"{a['twin_calls_per_scenario']:.0f}",
                  f"{a['decision_s']:.2f}", f"{p99:.0f}")
    console.print(t)
    if res["speed"] is not None:
        render_speed(res["speed"], console)


def render_speed(sp: dict[str, Any], console: Console) -> None:
    def cell(d: dict[str, Any], fmt: str) -> str:
        return f"{d['median']:{fmt}} \\[{d['min']:{fmt}}-{d['max']:{fmt}}]"

    console.print(f"surrogate vs twin, {sp['candidates']} candidates (median \\[min-max] of {sp['repeats']} "
                  f"alternated windows, both warmed up): twin {cell(sp['twin_ms_per_candidate'], '.2f')} ms per "
                  f"candidate ({sp['twin_seeds']} rollouts each), FWM+CDWM "
                  f"{cell(sp['surrogate_ms_per_candidate'], '.3f')} ms per candidate "
                  f"({sp['surrogate_paths_per_candidate']} paths each): "
                  f"{cell(sp['speedup_per_candidate'], '.0f')}x per candidate, "
                  f"{cell(sp['speedup_per_rollout'], '.0f')}x per rollout; CPU ms per candidate twin "
                  f"{cell(sp['twin_cpu_ms_per_candidate'], '.2f')}, surrogate "
                  f"{cell(sp['surrogate_cpu_ms_per_candidate'], '.3f')} "
                  f"({sp['cpu_speedup_per_candidate_of_medians']:.0f}x); process utilisation twin "
                  f"{sp['twin_timing']['utilisation']:.2f}, surrogate {sp['surrogate_timing']['utilisation']:.2f} "
                  f"of {sp['twin_timing']['cores']} cores; other load on the machine {sp['other_cores']:.2f} cores")


def planner_config(ap: argparse.ArgumentParser, overrides: list[str]) -> PlannerConfig:
    """DEFAULT_CONFIG with ``key=value`` overrides (typed like the field; a bad key or value is a CLI error)."""
    fields = {f: type(getattr(DEFAULT_CONFIG, f)) for f in DEFAULT_CONFIG.__dataclass_fields__}
    kw: dict[str, Any] = {}
    for item in overrides:
        key, sep, val = item.partition("=")
        if not sep or key not in fields:
            ap.error(f"--planner {item!r}: expected KEY=VALUE with KEY one of {sorted(fields)}")
        try:
            kw[key] = fields[key](val)
        except ValueError:
            ap.error(f"--planner {item!r}: {val!r} is not a {fields[key].__name__}")
    try:
        return replace(DEFAULT_CONFIG, **kw)
    except ValidationError as exc:
        ap.error(str(exc))
        raise


def speed_only(out: Path, city: str, models: Path | None, n_cand: int = 256) -> dict[str, Any]:
    """Re-measure the speed section alone and merge it into ``out`` (the evaluation's numbers are left as they
    are); a missing ``out`` gets a file with the speed section only."""
    import json

    console = Console(width=max(Console().width, 150))
    wm = WorldModels(models or MODEL_DIR, enforce_cards=False)
    res: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {"scenario": city}
    if res.get("scenario", city) != city:
        raise SystemExit(f"{out} holds the {res['scenario']!r} city's results, not {city!r}: pass --city")
    res["speed"] = speed(wm, city=city, n_cand=n_cand)
    res["speed"]["host"] = machine()
    shown = f"bench/results/{out.name}" if out.resolve().parent == RESULTS_DIR else str(out)
    res["speed"]["command"] = f"python -m bench.twm_poc --speed-only --city {city} --out {shown}"
    render_speed(res["speed"], console)
    save_results(out.stem, res, out.parent)
    return res


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.twm_poc")
    ap.add_argument("--quick", action="store_true", help="4 horizon seeds per scenario (CI)")
    ap.add_argument("--seeds", type=int, default=None, help="horizon seeds per scenario (default 32, quick 4)")
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "twm_poc.json")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--tune", action="store_true", help="run on the planner-tuning seeds instead of EVAL_SEEDS")
    ap.add_argument("--tune-check", action="store_true",
                    help="run on TUNE_CHECK_SEEDS (tuning horizons no portfolio was fitted on)")
    ap.add_argument("--planner", nargs="*", default=[], metavar="KEY=VALUE",
                    help="PlannerConfig overrides, e.g. replan=off judge=cvar50 (default: the frozen config)")
    ap.add_argument("--models", type=Path, default=None, help="world-model directory (default: the committed)")
    ap.add_argument("--city", default="twm_poc", help="the scenario file (bundled name or path), e.g. the "
                    "recalibrated twm_poc_calibrated")
    ap.add_argument("--speed-candidates", type=int, default=256,
                    help="candidates in the surrogate vs twin timing (0: skip it; tests use a few)")
    ap.add_argument("--speed-only", action="store_true",
                    help="only the surrogate vs twin timing; replaces the 'speed' section of --out, keeps the rest")
    a = ap.parse_args(argv)
    if a.speed_only:
        if a.speed_candidates < 1:
            ap.error("--speed-only needs --speed-candidates >= 1")
        return speed_only(a.out, a.city, a.models, a.speed_candidates)
    pool = TUNE_CHECK_SEEDS if a.tune_check else TUNE_SEEDS if a.tune else EVAL_SEEDS
    n = a.seeds if a.seeds is not None else (4 if a.quick else len(pool))
    seeds = list(pool[:n])
    cfg = planner_config(ap, a.planner)
    console = Console(width=max(Console().width, 150))
    t0 = time.perf_counter()
    # the PoC measures what the models do, whatever their cards say (their failures are reported beside it)
    wm = WorldModels(a.models or MODEL_DIR, enforce_cards=False)
    with Progress(console=console) as prog:
        r = run(tuple(a.scenarios), seeds, tuple(a.methods), wm, prog, a.city, cfg)
    res: dict[str, Any] = {
        "host": machine(), "scenario": a.city, "scenarios": list(a.scenarios), "seeds": seeds,
        "seeds_per_scenario": n,
        "mode": ("tune-check-" if a.tune_check else "tune-" if a.tune else "") + ("quick" if a.quick else "full"),
        "planner_overrides": a.planner,
        "seed_ranges": {"eval": [min(seeds), max(seeds)], "train": [TRAIN_SEEDS[0], TRAIN_SEEDS[-1]],
                        "heldout": [HELDOUT_SEEDS[0], HELDOUT_SEEDS[-1]], "tune": [TUNE_SEEDS[0], TUNE_SEEDS[-1]]},
        "protocol": f"emulator warm-up {WARMUP} slow steps under uniform; planners see the last {HISTORY} KPM "
                    "reports and link alarms; one 12-step horizon executed on a copy of the same emulator per "
                    "method; planners assume the ID shock regime of the family",
        "models": wm.describe(),
        "world_models": {"fwm_heldout_r2": wm.fwm_card.raw["evaluation"]["heldout_r2_mean"],
                         "cdwm": wm.cdwm_card.raw["evaluation"]["heldout"],
                         "card_failures": wm.failures},
        "methods": r["summary"],
        "speed": speed(wm, city=a.city, n_cand=a.speed_candidates) if a.speed_candidates else None,
        "wall_s": 0.0, "per_seed": r["per_seed"]}
    res["wall_s"] = time.perf_counter() - t0
    render(res, console)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if not a.no_plots:
        res["plots"] = [p.name for p in plots(res["methods"], tuple(a.scenarios), a.out.parent, a.out.stem)]
    save_results(a.out.stem, res, a.out.parent)
    return res


if __name__ == "__main__":
    main()

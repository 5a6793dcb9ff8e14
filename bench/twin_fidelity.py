"""Twin fidelity: the closed-loop digital twin against the closed-loop emulator, plan by plan, on held-out seeds;
today's open-loop twin measured in the same run.

Per context (a held-out emulator seed, warmed up ``--warmup`` sub-steps with the controllers running under no
plan, :class:`bench.loop.EmulatorLoop`):

* the **plans**: the status quo (no plan), a static split (both laws off, the ratios and shares in force kept) and
  the intent agent's candidate plans (:mod:`rapps.intent_agent.plans.candidates`) for four goals spanning the
  city's zones and slices (hospital eMBB loss, hospital URLLC p99, FWA-zone FWA loss, corridor eMBB loss);
* the **emulator's truth** of each plan: the emulator copied (same UEs, shocks and failures: common random numbers
  across plans) and run one horizon with the xApps' own decision steps inside the plan;
* the **closed-loop twin** (:func:`testbed.closed_loop.rollout_policies`, the code the twin service runs), built
  from the KPM the rApp received and the controllers' state, ``--twin-seeds`` seeds per plan;
* the **open-loop twin** as the rApp used it before: :meth:`testbed.twin.DigitalTwin.rollout` of static shares (the
  shares in force, the plan's lower bounds and targets laid over them), no control law.

Reported per twin: mean absolute error of the per-slice loss and p99 (twin mean vs emulator), coverage of the twin's
90 % intervals (5-95 % over its seeds) for SCM, loss and p99, and Spearman's rank correlation of plan SCM between
twin and emulator (within each context over its plans, averaged; and pooled over every plan and context).

    python -m bench.twin_fidelity [--contexts 8] [--twin-seeds 16] [--quick]     (nextric bench twin-fidelity)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from bench.loop import EmulatorLoop, default_laws, slice_defaults
from nextric.control.batch import plans_to_batch
from nextric.control.policy import EMPTY_PLAN, ControlPlan
from nextric.parallel import BACKENDS, ParallelSettings, WorkerPool
from nextric.topology import Topology
from rapps.intent_agent.compiler.spec import Target
from rapps.intent_agent.plans.candidates import Observed, candidates
from testbed.closed_loop import infer_state, rollout_policies
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.policies import uniform_shares
from testbed.twin import DigitalTwin
from testbed.twin_service import TwinService

SCENARIO = "twm_poc"
EVAL_SEED0 = 7000  #: held-out context seeds start here (disjoint from every tuning and training range)
GOALS = (("hospital", Target("packet_loss", "IS_LESS_THAN", 0.10, slice="eMBB")),
         ("hospital", Target("p99_latency_ms", "IS_LESS_THAN", 10.0, slice="URLLC")),
         ("fwa", Target("packet_loss", "IS_LESS_THAN", 0.05, slice="FWA")),
         ("corridor", Target("packet_loss", "IS_LESS_THAN", 0.10, slice="eMBB")))


def zone_cells(topo: Topology, kind: str) -> tuple[int, ...]:
    kinds = {z.name: z.kind for z in topo.zones}
    return tuple(c.cell_id for c in topo.cells if any(kinds.get(z) == kind for z in c.zones))


def plan_set(loop: EmulatorLoop, topo: Topology, n_plans: int) -> list[tuple[str, ControlPlan, bool]]:
    """(name, plan, laws on) for the context: status quo, static, then the candidates of each goal in turn."""
    emu = loop.emu
    offered, _ = emu.link_loads(loop.report_steps)
    keys = list(topo.slice_keys)
    link_off = {ln.link_id: {k: float(offered[i, j]) for j, k in enumerate(keys)} for i, ln in enumerate(topo.links)}
    use = {}
    last = loop.reports[-1]
    for c in topo.cells:
        cell = next(x for x in last.cells if x.cell_id == c.cell_id)
        use[c.key] = {k: cell.slices[j].prb_used_dl / max(c.prb_count, 1) for j, k in enumerate(keys)}
    obs = Observed(link_off, {ln.link_id: ln.capacity_mbps for ln in topo.links}, use)
    margin = default_laws(emu).transport.margin
    out: list[tuple[str, ControlPlan, bool]] = [("status quo", EMPTY_PLAN, True), ("static", EMPTY_PLAN, False)]
    per_goal = [[(f"{zone} {g.slice} {g.kpi}: {c.name}", c.plan) for c in
                 candidates([g], zone_cells(topo, zone), topo, EMPTY_PLAN, obs, margin)] for zone, g in GOALS]
    i = 0
    while len(out) < n_plans and any(per_goal):  # round robin over the goals: every family of every goal early
        group = per_goal[i % len(per_goal)]
        if group:
            name, plan = group.pop(0)
            out.append((name, plan, True))
        i += 1
    return out


def _static_shares(loop: EmulatorLoop, plan: ControlPlan, topo: Topology, now_ms: int) -> tuple[Any, Any]:
    """What the open-loop twin rolls out for a plan: the shares in force with the plan's floors/targets laid over."""
    st = loop.state()
    prb = st.ratio_pct[..., 1] / 100.0
    tn = st.tn_share.copy()
    for ci, c in enumerate(topo.cells):
        for k, b in plan.cell_bounds(c.key, now_ms).items():
            j = topo.slice_keys.index(k)
            prb[ci, j] = max(b.lower_pct, b.target_pct or 0.0) / 100.0 if (b.lower_pct or b.target_pct) else prb[ci, j]
    for li, lid in enumerate(topo.link_ids):
        for k, sb in plan.link_bounds(lid, now_ms).items():
            j = topo.slice_keys.index(k)
            tn[li, j] = max(sb.lower, sb.target or 0.0) if (sb.lower or sb.target) else tn[li, j]
    prb = prb / np.maximum(prb.sum(-1, keepdims=True), 1.0)
    tn = tn / np.maximum(tn.sum(-1, keepdims=True), 1.0)
    return prb, tn


def run_context(regime: str, seed: int, warmup: int, n_plans: int, twin_seeds: int, futures: int = 2,
                history: int = 32, city: str = SCENARIO) -> dict[str, Any]:
    sc = load_scenario(city)
    emu = Emulator(sc, ShockRegime.parse(regime), seed=seed)
    prb0, tn0 = uniform_shares(sc)
    emu.set_allocation(plan_ratios(sc.plan_shares, prb0), tn0)
    loop = EmulatorLoop(emu)
    loop.run(warmup)
    svc = TwinService(sc, city, loop.cell_keys)
    topo = Topology.of(svc.description())
    plans = plan_set(loop, topo, n_plans)
    now_ms = round(emu.t_s * 1000)
    k = sc.timing.slow_per_horizon
    steps = k * sc.timing.fast_per_slow
    # the emulator's truth, one copy per plan (common random numbers); future f > 0 reseeds every copy alike: the
    # same network from the same state with another exogenous future (how much one future says about a plan)
    truth: list[list[tuple[float, list[float], list[float]]]] = []
    for f in range(futures):
        row = []
        for _, plan, laws_on in plans:
            run = loop.fork()
            if f:
                run.emu.reseed(f)
            run.plan, run.slice_law, run.transport_law = plan, laws_on, laws_on
            start = run.emu.step_index
            run.run(steps)
            kp = run.emu.kpis_since(start)
            row.append((float(kp.scm[0]), kp.loss[0].tolist(), kp.p99_ms[0].tolist()))
        truth.append(row)
    reports = loop.reports[-history:]
    twin = DigitalTwin.from_observations(sc, reports, ShockRegime.parse(regime), emu.link_up, seed=seed + 1)
    batch = plans_to_batch([p for _, p, _ in plans], topo.cell_keys, topo.link_ids, slice_defaults(emu), now_ms,
                           [on for *_, on in plans], [on for *_, on in plans])
    t0 = time.perf_counter()
    state = infer_state(sc, reports, svc.mean_multiplier(twin))
    closed = rollout_policies(twin, state, batch, default_laws(emu), loop.state(), twin_seeds, 1)
    t_closed = time.perf_counter() - t0
    shares = [_static_shares(loop, p, topo, now_ms) for _, p, _ in plans]
    prb = np.stack([np.broadcast_to(s[0], (k, *s[0].shape)) for s in shares])
    tn = np.stack([np.broadcast_to(s[1], (k, *s[1].shape)) for s in shares])
    t0 = time.perf_counter()
    opened = twin.rollout(prb, tn, n_seeds=twin_seeds, seed=1)
    t_open = time.perf_counter() - t0
    return {"regime": regime, "seed": seed, "plans": [n for n, _, _ in plans],
            "emulator": {"scm": [t[0] for t in truth[0]], "loss": [t[1] for t in truth[0]],
                         "p99_ms": [t[2] for t in truth[0]]},
            "futures": [{"scm": [t[0] for t in row], "loss": [t[1] for t in row], "p99_ms": [t[2] for t in row]}
                        for row in truth],
            "closed": {"scm": closed.scm.tolist(), "loss": closed.loss.tolist(), "p99_ms": closed.p99_ms.tolist(),
                       "wall_s": t_closed},
            "open": {"scm": opened.scm.tolist(), "loss": opened.loss.tolist(), "p99_ms": opened.p99_ms.tolist(),
                     "wall_s": t_open}}


def ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their positions)."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x), dtype=np.float64)
    for v in np.unique(x):
        sel = x == v
        if sel.sum() > 1:
            r[sel] = r[sel].mean()
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = ranks(np.asarray(a, dtype=np.float64)), ranks(np.asarray(b, dtype=np.float64))
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def figures(runs: list[dict[str, Any]], which: str, names: list[str]) -> dict[str, Any]:
    emu_scm = np.array([r["emulator"]["scm"] for r in runs])  # (E, P)
    emu_loss, emu_p99 = (np.array([r["emulator"][k] for r in runs]) for k in ("loss", "p99_ms"))  # (E, P, S)
    tw_scm = np.array([r[which]["scm"] for r in runs])  # (E, P, M)
    tw_loss, tw_p99 = (np.array([r[which][k] for r in runs]) for k in ("loss", "p99_ms"))  # (E, P, M, S)

    def cover(samples: np.ndarray, truth: np.ndarray) -> float:
        lo, hi = np.quantile(samples, 0.05, axis=2), np.quantile(samples, 0.95, axis=2)
        return float(((truth >= lo - 1e-9) & (truth <= hi + 1e-9)).mean())

    per_ctx = [spearman(tw_scm[e].mean(1), emu_scm[e]) for e in range(len(runs))]
    valid = [x for x in per_ctx if np.isfinite(x)]
    fut_scm = np.array([[f["scm"] for f in r["futures"]] for r in runs])  # (E, F, P)
    fut_loss = np.array([[f["loss"] for f in r["futures"]] for r in runs])  # (E, F, P, S)
    fut_p99 = np.array([[f["p99_ms"] for f in r["futures"]] for r in runs])
    vs_mean = _finite_mean([spearman(tw_scm[e].mean(1), fut_scm[e].mean(0)) for e in range(len(runs))])

    def cover_all(samples: np.ndarray, truth: np.ndarray) -> float:  # truth (E, F, P): every future a sample
        lo, hi = np.quantile(samples, 0.05, axis=2), np.quantile(samples, 0.95, axis=2)
        return float(((truth >= lo[:, None] - 1e-9) & (truth <= hi[:, None] + 1e-9)).mean())

    return {
        "spearman_scm_vs_future_mean": vs_mean,
        "coverage_90_all_futures": {"scm": cover_all(tw_scm, fut_scm),
                                    **{f"{n}_loss": cover_all(tw_loss[..., j], fut_loss[..., j])
                                       for j, n in enumerate(names)},
                                    **{f"{n}_p99": cover_all(tw_p99[..., j], fut_p99[..., j])
                                       for j, n in enumerate(names)}},
        "loss_mae": {n: float(np.abs(tw_loss.mean(2)[..., j] - emu_loss[..., j]).mean()) for j, n in enumerate(names)},
        "p99_mae_ms": {n: float(np.abs(tw_p99.mean(2)[..., j] - emu_p99[..., j]).mean()) for j, n in enumerate(names)},
        "scm_mae": float(np.abs(tw_scm.mean(2) - emu_scm).mean()),
        "coverage_90": {"scm": cover(tw_scm, emu_scm),
                        **{f"{n}_loss": cover(tw_loss[..., j], emu_loss[..., j]) for j, n in enumerate(names)},
                        **{f"{n}_p99": cover(tw_p99[..., j], emu_p99[..., j]) for j, n in enumerate(names)}},
        "spearman_scm_per_context": per_ctx,
        "spearman_scm_mean": float(np.mean(valid)) if valid else float("nan"),
        "spearman_scm_pooled": spearman(tw_scm.mean(2).ravel(), emu_scm.ravel()),
        "wall_s_mean": float(np.mean([r[which]["wall_s"] for r in runs])),
    }


def _compact(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-context record as saved: every SCM value as computed (the rank figures are recomputed from them),
    the twins' per-slice loss and p99 summarised per plan (mean, 5 % and 95 % over the twin seeds), the emulator's
    rounded to 6 digits."""
    def r6(x: Any) -> Any:
        return [r6(v) for v in x] if isinstance(x, list) else round(float(x), 6)

    out = []
    for r in runs:
        c = dict(r)
        for which in ("closed", "open"):
            t = r[which]
            c[which] = {"scm": t["scm"], "wall_s": t["wall_s"],
                        **{k: {q: r6(np.quantile(np.asarray(t[k]), p, axis=1).tolist() if q != "mean"
                                     else np.asarray(t[k]).mean(1).tolist())
                               for q, p in (("mean", 0.0), ("p05", 0.05), ("p95", 0.95))}
                           for k in ("loss", "p99_ms")}}
        c["emulator"] = {k: (v if k == "scm" else r6(v)) for k, v in r["emulator"].items()}
        c["futures"] = [{k: (v if k == "scm" else r6(v)) for k, v in f.items()} for f in r["futures"]]
        out.append(c)
    return out


def _finite_mean(xs: list[float]) -> float:
    v = [x for x in xs if np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def ceiling(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """How well one exogenous future ranks the plans of another: Spearman of plan SCM between futures 0 and f of
    the same context, averaged (the best any predictor can score against a single future), and the share of plans
    whose SCM is 0 in one future and not the other."""
    out: dict[str, Any] = {"futures": len(runs[0]["futures"])}
    if out["futures"] < 2:
        return out
    per = [spearman(np.array(r["futures"][0]["scm"]), np.array(r["futures"][f]["scm"]))
           for r in runs for f in range(1, len(r["futures"]))]
    out["spearman_scm_future_vs_future"] = _finite_mean(per)
    out["spearman_scm_future_vs_future_per_context"] = per
    # the twins on the same contexts (a context whose futures leave every plan at one SCM has no ranking to match)
    ok = [i for i, r in enumerate(runs) if np.isfinite(per[i * (len(r["futures"]) - 1)])]
    for which in ("closed", "open"):
        out[f"{which}_spearman_scm_same_contexts"] = _finite_mean(
            [spearman(np.array(runs[i][which]["scm"]).mean(1), np.array(runs[i]["futures"][0]["scm"])) for i in ok])
    out["contexts_with_a_ranking"] = len(ok)
    flips = [np.mean((np.array(r["futures"][0]["scm"]) <= 0) != (np.array(r["futures"][f]["scm"]) <= 0))
             for r in runs for f in range(1, len(r["futures"]))]
    out["scm_zero_flip_share"] = float(np.mean(flips))
    return out


def plot(payload: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = payload["runs"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, which, title in ((axes[0], "closed", "closed-loop twin"), (axes[1], "open", "open-loop twin (before)")):
        emu = np.concatenate([r["emulator"]["scm"] for r in runs])
        tw = np.array([s for r in runs for s in r[which]["scm"]])
        lo, hi = np.quantile(tw, 0.05, axis=1), np.quantile(tw, 0.95, axis=1)
        ax.errorbar(emu, tw.mean(1), yerr=[tw.mean(1) - lo, hi - tw.mean(1)], fmt="o", ms=3, alpha=0.5, lw=0.6,
                    label="plan x context (mean, 90 % interval over twin seeds)")
        ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="twin = emulator")
        f = payload[which]
        ax.set(title=f"{title}: Spearman {f['spearman_scm_mean']:.2f}, coverage {f['coverage_90']['scm']:.2f}",
               xlabel="emulator SCM of the plan (one horizon)", ylabel="twin SCM", xlim=(-0.05, 1), ylim=(-0.05, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="nextric bench twin-fidelity", description=__doc__.splitlines()[0])
    ap.add_argument("--contexts", type=int, default=8, help="held-out emulator seeds per regime")
    ap.add_argument("--regimes", default="hotspot-ID,wave-ID")
    ap.add_argument("--plans", type=int, default=34, help="plans per context (status quo and static included)")
    ap.add_argument("--twin-seeds", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=600, help="sub-steps the controllers run before the horizon (the "
                    "shock processes start empty: several mean shock durations bring them to steady state)")
    ap.add_argument("--history", type=int, default=32, help="KPM reports (slow steps) the twins are built from")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=BACKENDS, default="process",
                    help="where the contexts run (ray: local, or the cluster at RAY_ADDRESS); same numbers")
    ap.add_argument("--futures", type=int, default=2, help="exogenous futures of the emulator per context (>= 2 "
                    "measures the ceiling: how well one future ranks the plans of another)")
    ap.add_argument("--quick", action="store_true", help="2 contexts of one regime, 10 plans, 8 twin seeds")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "twin_fidelity.json")
    ap.add_argument("--city", default=SCENARIO, help="the scenario (e.g. the recalibrated twm_poc_calibrated)")
    args = ap.parse_args(argv)
    regimes = args.regimes.split(",")[:1] if args.quick else args.regimes.split(",")
    n_ctx, n_plans, m = (2, 10, 8) if args.quick else (args.contexts, args.plans, args.twin_seeds)
    jobs = [(r, EVAL_SEED0 + 100 * i + c, args.warmup, n_plans, m, args.futures, args.history, args.city)
            for i, r in enumerate(regimes) for c in range(n_ctx)]
    console = Console()
    t0 = time.perf_counter()
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    settings = ParallelSettings.of(args.backend, args.workers, os.environ)
    with Progress(*cols, console=console) as progress, WorkerPool(settings) as pool:
        runs: list[dict[str, Any]] = pool.starmap(run_context, jobs, progress,
                                                  f"contexts ({n_plans} plans each on the emulator and both twins)")
    names = [s.name for s in load_scenario(args.city).slices]
    payload: dict[str, Any] = {
        "bench": "twin_fidelity",
        "command": "python -m bench.twin_fidelity" + (" --quick" if args.quick else
                                                     f" --contexts {n_ctx} --regimes {','.join(regimes)} --plans "
                                                     f"{n_plans} --twin-seeds {m} --warmup {args.warmup} "
                                                     f"--futures {args.futures} --history {args.history}")
                   + ("" if args.city == SCENARIO else f" --city {args.city} --out {args.out}"),
        "machine": machine(), "wall_s": time.perf_counter() - t0, "scenario": args.city, "regimes": regimes,
        "context_seeds": sorted({j[1] for j in jobs}), "plans_per_context": n_plans, "twin_seeds": m,
        "targets": {"coverage_90": [0.85, 0.95], "spearman_scm": 0.8},
        "closed": figures(runs, "closed", names), "open": figures(runs, "open", names), "ceiling": ceiling(runs),
        "runs": _compact(runs),
    }
    table = Table(title=f"twin vs emulator, {len(runs)} held-out contexts x {n_plans} plans (regimes "
                        f"{', '.join(regimes)})")
    table.add_column("figure")
    table.add_column("closed-loop twin", justify="right")
    table.add_column("open-loop twin (before)", justify="right")
    c, o = payload["closed"], payload["open"]
    table.add_row("Spearman SCM (mean per context)", f"{c['spearman_scm_mean']:.3f}", f"{o['spearman_scm_mean']:.3f}")
    table.add_row("Spearman SCM (pooled)", f"{c['spearman_scm_pooled']:.3f}", f"{o['spearman_scm_pooled']:.3f}")
    table.add_row("Spearman SCM vs the mean of the futures", f"{c['spearman_scm_vs_future_mean']:.3f}",
                  f"{o['spearman_scm_vs_future_mean']:.3f}")
    ceil = payload["ceiling"]
    if "spearman_scm_future_vs_future" in ceil:
        n_ok = ceil["contexts_with_a_ranking"]
        table.add_row(f"ceiling: Spearman of one future vs another ({n_ok} contexts with a ranking)",
                      f"{ceil['spearman_scm_future_vs_future']:.3f}", "(same)")
        table.add_row(f"Spearman SCM on those {n_ok} contexts", f"{ceil['closed_spearman_scm_same_contexts']:.3f}",
                      f"{ceil['open_spearman_scm_same_contexts']:.3f}")
    table.add_row("SCM mean abs. error", f"{c['scm_mae']:.3f}", f"{o['scm_mae']:.3f}")
    for key in c["coverage_90"]:
        table.add_row(f"90 % coverage {key}", f"{c['coverage_90'][key]:.2f}", f"{o['coverage_90'][key]:.2f}")
    for n in names:
        table.add_row(f"{n} loss MAE (pp)", f"{100 * c['loss_mae'][n]:.2f}", f"{100 * o['loss_mae'][n]:.2f}")
        table.add_row(f"{n} p99 MAE (ms)", f"{c['p99_mae_ms'][n]:.1f}", f"{o['p99_mae_ms'][n]:.1f}")
    table.add_row("rollout wall time per context (s)", f"{c['wall_s_mean']:.2f}", f"{o['wall_s_mean']:.2f}")
    console.print(table)
    path = save_results(args.out.stem, payload, args.out.parent)
    png = plot(payload, path.with_suffix(".png"))
    console.print(f"saved {path} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""BM-Case2 (prediction ahead of time): the best Set-A beam 1 and 2 report periods ahead, from a moving UE's last
Set-B reports, against "last best beam" and a classical angle tracker, per UE speed, in one run.

Data: :func:`testbed.beam_data.draw_samples` with one report per UE every sub-step (the xApp's report period, 1 s
simulated) on the wide-Set-B PoC city (``twm_poc_wide_b``), held-out seeds 1000-1003 (the trainer uses 0-11 and
validates on 500-501). A sample is one UE at report ``t`` whose serving cell stays the same up to ``t + 2`` (beam
indices of two cells are unrelated; the share left out by handovers is in the JSON); the label is the genie's best
Set-A beam at ``t + 1`` and ``t + 2`` (noise-free sweep). Methods, all on the same samples:

* ``model_ahead``: the committed BM-Case2 model (``xapps/beam_predictor/model_ahead``, onnxruntime, the serving
  path) on the last 4 reports (:func:`xapps.beam_predictor.core.ahead_features`).
* ``last_best_beam``: the BM-Case1 model's prediction from the latest report (``model/``), held.
* ``kalman_tracker``: a constant-velocity Kalman filter on the angle (``u = sin(angle)``) of the BM-Case1 model's
  beam in each report, predicted ``h`` periods ahead, the Set-A beam nearest the predicted angle (noise
  parameters chosen on the validation seeds 500-501, never on the benchmark's).
* ``linear_extrapolation``: the same angle, ``u_t + h (u_t - u_(t-1))``.
* references: ``genie_now_held`` (the true best beam at ``t``, held: what a perfect BM-Case1 gives ahead) and
  ``best_in_set_b_held``.

Metrics: top-1 and P(RSRP loss <= 1 dB) against the true best beam at ``t + h``, per speed class (static 0 m/s,
pedestrian 0.8 / 1.4 m/s, vehicular 12 m/s) and overall, with 95 % intervals from a bootstrap over whole UE tracks
(as ``bench/beam.py``); the model-minus-baseline differences get their own paired intervals.

    python -m bench.beam_ahead [--quick] [--out bench/results/beam_ahead.json]
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.beam import BOOTSTRAP, TEST_SEEDS, _cluster_ci
from bench.common import machine, quick_or_full_main
from testbed.beam_data import beam_config, draw_samples
from testbed.core.scenario import load_scenario
from xapps.beam_predictor.core import AHEAD_HISTORY, ahead_features, codebook_u, features, history_index
from xapps.beam_predictor.model import BeamModel, load_ahead_model, load_model
from xapps.beam_predictor.settings import AHEAD_MODEL_DIR, MODEL_DIR

SCENARIO = "twm_poc_wide_b"
HORIZONS = (1, 2)  #: report periods ahead
VAL_SEEDS = (500, 501)  #: the trainer's validation seeds: the tracker's noise parameters are chosen on them
SPEED_CLASSES = (("static", 0.0, 0.1), ("pedestrian", 0.1, 5.0), ("vehicular", 5.0, np.inf))
KALMAN_GRID = tuple((q, r) for q in (1e-5, 1e-4, 1e-3, 1e-2) for r in (1e-3, 1e-2))  #: (velocity noise, meas. noise)


def ahead_windows(d: dict[str, np.ndarray], n_runs: int, n_steps: int, n_hist: int = AHEAD_HISTORY,
                  horizons: tuple[int, ...] = HORIZONS, genie: bool = True) -> dict[str, np.ndarray]:
    """BM-Case2 samples from per-sub-step reports (``draw_samples(..., every=1)``, run-time-UE order).

    Returns, for every UE report ``t`` whose serving cell is the same at ``t + max(horizons)`` (flattened over
    run, time, UE): ``hist`` (M, n_hist, B_B) dBm the last reports within the UE's stay in its cell (padded with
    the oldest), ``y`` (M, H) the best Set-A beam at ``t + h``, ``set_a_ahead`` (M, H, B_A) the genie's sweeps
    there (only with ``genie``), and per report ``rsrp_b_dbm``, ``best_beam`` (at ``t``), ``speed_mps``,
    ``track`` (run x UE), ``t`` (index), ``cell_id``, ``flat`` (row in ``d``); ``kept`` the share of reports kept."""
    u = len(d["ue_id"]) // (n_runs * n_steps)

    def tu(k: str) -> np.ndarray:
        a = d[k]
        return a.reshape(n_runs, n_steps, u, *a.shape[1:])

    cell, rsrp = tu("cell_id"), tu("rsrp_b_dbm")
    hmax = max(horizons)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("hist", "y", "set_a_ahead", "rsrp_b_dbm", "best_beam",
                                                        "speed_mps", "track", "t", "cell_id", "flat")}
    n_all = 0
    best, speed, seta = tu("best_beam"), tu("speed_mps"), tu("set_a_rsrp_dbm") if genie else None
    for r in range(n_runs):
        hi = history_index(cell[r], n_hist)  # (T, U, n)
        t_len = n_steps - hmax
        n_all += n_steps * u
        tt, uu = np.meshgrid(np.arange(t_len), np.arange(u), indexing="ij")
        ok = np.ones((t_len, u), dtype=bool)
        for h in horizons:
            ok &= cell[r, h:h + t_len] == cell[r, :t_len]
        tt, uu = tt[ok], uu[ok]
        out["hist"].append(rsrp[r][hi[tt, uu], uu[:, None]])
        out["y"].append(np.stack([best[r, tt + h, uu] for h in horizons], axis=1))
        if seta is not None:
            out["set_a_ahead"].append(np.stack([seta[r, tt + h, uu] for h in horizons], axis=1))
        out["rsrp_b_dbm"].append(rsrp[r, tt, uu])
        out["best_beam"].append(best[r, tt, uu])
        out["speed_mps"].append(speed[r, tt, uu])
        out["track"].append(r * u + uu)
        out["t"].append(tt)
        out["cell_id"].append(cell[r, tt, uu])
        out["flat"].append((r * n_steps + tt) * u + uu)
    res = {k: np.concatenate(v) for k, v in out.items() if v}
    res["kept"] = np.asarray(len(res["y"]) / n_all)
    return res


def beam_angles(beams: np.ndarray, set_a: int) -> np.ndarray:
    return np.asarray(codebook_u(set_a)[beams])


def nearest_beam(u: np.ndarray, set_a: int) -> np.ndarray:
    """Set-A beam whose direction is nearest ``u`` (clipped to the codebook's ends)."""
    return np.clip(np.floor((np.asarray(u) + 1.0) * set_a / 2.0), 0, set_a - 1).astype(np.int64)


def track_angles(meas_u: np.ndarray, reset: np.ndarray, q: float, r: float, horizons: tuple[int, ...] = HORIZONS
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Constant-velocity Kalman filter on the angle, per UE, over time-major measurements ``meas_u`` (T, U);
    ``reset`` (T, U) restarts a UE's filter (handover: another array). Returns the predicted angle ``h`` periods
    ahead (T, U, H) and, for comparison, linear extrapolation from the last two measurements (T, U, H).
    Process noise: white acceleration of variance ``q`` per period^2 (u units); measurement variance ``r``."""
    t_len, n = meas_u.shape
    x = np.zeros((n, 2))
    p = np.zeros((n, 2, 2))
    f = np.array([[1.0, 1.0], [0.0, 1.0]])
    qm = q * np.array([[0.25, 0.5], [0.5, 1.0]])
    kal = np.empty((t_len, n, len(horizons)))
    lin = np.empty((t_len, n, len(horizons)))
    prev = meas_u[0].copy()
    for t in range(t_len):
        z = meas_u[t]
        new = reset[t] if t else np.ones(n, dtype=bool)
        # predict
        x = x @ f.T
        p = f @ p @ f.T + qm
        # update (scalar measurement of the angle)
        s = p[:, 0, 0] + r
        k = p[:, :, 0] / s[:, None]
        innov = z - x[:, 0]
        x = x + k * innov[:, None]
        p = p - k[:, :, None] * p[:, None, 0, :]
        x[new] = np.stack([z[new], np.zeros(int(new.sum()))], axis=1)
        p[new] = np.array([[r, 0.0], [0.0, 0.01]])
        vel = np.where(new, 0.0, z - prev)
        for j, h in enumerate(horizons):
            kal[t, :, j] = x[:, 0] + h * x[:, 1]
            lin[t, :, j] = z + h * vel
        prev = z
    return kal, lin


def tracker_beams(model_now: np.ndarray, d: dict[str, np.ndarray], n_runs: int, n_steps: int, set_a: int,
                  q: float, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Tracker predictions (N, H) per report of ``d`` (the per-sub-step samples, run-time-UE order) from the
    BM-Case1 model's beams ``model_now`` (N,): Kalman and linear extrapolation, nearest Set-A beam."""
    u = len(d["ue_id"]) // (n_runs * n_steps)
    meas = beam_angles(model_now, set_a).reshape(n_runs, n_steps, u)
    cell = d["cell_id"].reshape(n_runs, n_steps, u)
    kal, lin = [], []
    for i in range(n_runs):
        reset = np.zeros((n_steps, u), dtype=bool)
        reset[1:] = cell[i, 1:] != cell[i, :-1]
        k, li = track_angles(meas[i], reset, q, r)
        kal.append(k)
        lin.append(li)
    h = len(HORIZONS)
    return (nearest_beam(np.stack(kal).reshape(-1, h), set_a), nearest_beam(np.stack(lin).reshape(-1, h), set_a))


def _speed_masks(speed: np.ndarray) -> dict[str, np.ndarray]:
    out = {"all": np.ones(len(speed), dtype=bool)}
    for name, lo, hi in SPEED_CLASSES:
        out[name] = (speed >= lo) & (speed < hi)
    return out


def choose_tracker(model: BeamModel, seeds: tuple[int, ...], n_steps: int, set_a: int, prog: Progress
                   ) -> dict[str, Any]:
    """Kalman noise parameters with the best top-1 one period ahead on ``seeds`` (the trainer's validation seeds)."""
    sc = load_scenario(SCENARIO)
    task = prog.add_task("validation samples (tracker tuning)", total=len(seeds) * n_steps)
    d = draw_samples(sc, seeds, n_steps, 1, on_step=lambda: prog.advance(task))
    w = ahead_windows(d, len(seeds), n_steps, genie=False)
    now = model.predict(features(d["rsrp_b_dbm"])).argmax(1)
    grid = []
    for q, r in KALMAN_GRID:
        kal, _ = tracker_beams(now, d, len(seeds), n_steps, set_a, q, r)
        grid.append({"q": q, "r": r, "top1_t+1": float((kal[w["flat"], 0] == w["y"][:, 0]).mean())})
    best = max(grid, key=lambda g: g["top1_t+1"])
    return {"seeds": list(seeds), "q": best["q"], "r": best["r"], "grid": grid}


def run(quick: bool = False, console: Console | None = None) -> dict[str, Any]:
    console = console or Console()
    sc = load_scenario(SCENARIO)
    bc = beam_config(sc)
    m1, ma = load_model(MODEL_DIR), load_ahead_model(AHEAD_MODEL_DIR)
    seeds = TEST_SEEDS[:2] if quick else TEST_SEEDS
    n_steps = 100 if quick else 300
    set_a = bc["set_a_size"]
    with Progress(console=console, transient=True) as prog:
        tracker = choose_tracker(m1, VAL_SEEDS[:1] if quick else VAL_SEEDS, n_steps, set_a, prog)
        task = prog.add_task("held-out samples, one report per sub-step", total=len(seeds) * n_steps)
        d = draw_samples(sc, seeds, n_steps, 1, on_step=lambda: prog.advance(task))
    w = ahead_windows(d, len(seeds), n_steps, ma.history, ma.horizons)
    now_all = m1.predict(features(d["rsrp_b_dbm"])).argmax(1)
    kal, lin = tracker_beams(now_all, d, len(seeds), n_steps, set_a, tracker["q"], tracker["r"])
    h_n = len(ma.horizons)
    preds: dict[str, np.ndarray] = {
        "model_ahead": ma.predict(ahead_features(w["hist"])).argmax(-1),
        "last_best_beam": np.repeat(now_all[w["flat"]][:, None], h_n, 1),
        "kalman_tracker": kal[w["flat"]],
        "linear_extrapolation": lin[w["flat"]],
        "genie_now_held": np.repeat(w["best_beam"].astype(np.int64)[:, None], h_n, 1),
        "best_in_set_b_held": np.repeat(np.asarray(bc["set_b"])[np.argmax(w["rsrp_b_dbm"], 1)][:, None], h_n, 1),
    }
    _, cluster = np.unique(w["track"], return_inverse=True)
    masks = _speed_masks(w["speed_mps"])
    rng = np.random.default_rng(0)
    n = len(cluster)
    results: dict[str, Any] = {}
    baselines = ("last_best_beam", "kalman_tracker")
    for j, h in enumerate(ma.horizons):
        a = w["set_a_ahead"][:, j].astype(np.float64)
        y = w["y"][:, j]
        block: dict[str, Any] = {}
        for cls, sel in masks.items():
            if sel.sum() < 50:
                continue
            hits, names = [], []
            for name, p in preds.items():
                loss = a.max(1) - a[np.arange(n), p[:, j]]
                hits += [(p[:, j] == y).astype(np.float64), (loss <= 1.0).astype(np.float64)]
                names += [(name, "top1"), (name, "p_within_1db")]
            for b in baselines:
                hits.append(hits[names.index(("model_ahead", "top1"))] - hits[names.index((b, "top1"))])
                names.append((f"model_minus_{b}", "top1"))
            hs = np.stack(hits)[:, sel]
            _, cl = np.unique(cluster[sel], return_inverse=True)
            lo, hi = _cluster_ci(hs, cl, rng)
            row: dict[str, Any] = {"n": int(sel.sum()), "ue_tracks": int(cl.max()) + 1}
            for i, (name, metric) in enumerate(names):
                row.setdefault(name, {})[metric] = float(hs[i].mean())
                row[name][f"{metric}_ci95"] = [float(lo[i]), float(hi[i])]
            better = max(baselines, key=lambda b: row[b]["top1"])
            row["better_baseline"] = better
            row["model_minus_better_baseline_top1"] = row["model_ahead"]["top1"] - row[better]["top1"]
            block[cls] = row
        results[f"t+{h}"] = block
    veh = results["t+1"]["vehicular"]
    target = {"metric": "top-1 one period ahead, vehicular UEs", "required_margin": 0.05,
              "model": veh["model_ahead"]["top1"], "better_baseline": veh["better_baseline"],
              "better_baseline_top1": veh[veh["better_baseline"]]["top1"],
              "margin": veh["model_minus_better_baseline_top1"],
              "margin_ci95": veh[f"model_minus_{veh['better_baseline']}"]["top1_ci95"],
              "met": bool(veh["model_minus_better_baseline_top1"] >= 0.05)}
    lat_x = ahead_features(w["hist"][:64])
    for _ in range(200):
        ma.predict(lat_x)
    ts = np.empty(2000 if quick else 20000)
    for i in range(len(ts)):
        t0 = time.perf_counter_ns()
        ma.predict(ahead_features(w["hist"][:64]))
        ts[i] = time.perf_counter_ns() - t0
    return {"bench": "beam_ahead", "machine": machine(), "model_ahead": ma.version, "model_now": m1.version,
            "model_size_bytes": ma.card.raw["model"]["size_bytes"], "history_reports": ma.history,
            "horizons": list(ma.horizons), "report_period_ms": ma.report_period_ms,
            "data": {"scenario": SCENARIO, "seeds": list(seeds), "sub_steps": n_steps, "every": 1,
                     "samples": n, "ue_tracks": int(cluster.max()) + 1,
                     "kept_share": float(w["kept"]),
                     "kept_rule": f"serving cell unchanged from t to t + {max(ma.horizons)}"},
            "speed_classes": {c: [lo, None if not np.isfinite(hi) else hi] for c, lo, hi in SPEED_CLASSES},
            "ci": f"95 % percentile bootstrap over UE tracks (run, ue), {BOOTSTRAP} resamples, per speed class",
            "tracker": tracker, "results": results, "target": target,
            "latency": {"model_p50_ms_batch64": float(np.percentile(ts, 50) / 1e6),
                        "model_p99_ms_batch64": float(np.percentile(ts, 99) / 1e6), "runs": len(ts)}}


NAMES = {"model_ahead": "BM-Case2 model (last 4 reports)", "last_best_beam": "last best beam (BM-Case1, held)",
         "kalman_tracker": "Kalman angle tracker", "linear_extrapolation": "linear angle extrapolation",
         "genie_now_held": "true best beam now, held (ref.)", "best_in_set_b_held": "best Set-B beam, held"}


def plot(payload: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = [c for c in ("all", "static", "pedestrian", "vehicular") if c in payload["results"]["t+1"]]
    fig, axes = plt.subplots(2, len(payload["horizons"]), figsize=(12, 7.5), squeeze=False)
    x = np.arange(len(classes))
    wdt = 0.8 / len(NAMES)
    for j, h in enumerate(payload["horizons"]):
        block = payload["results"][f"t+{h}"]
        for row, metric in enumerate(("top1", "p_within_1db")):
            ax = axes[row, j]
            for i, (name, lab) in enumerate(NAMES.items()):
                v = np.array([block[c][name][metric] for c in classes])
                ci = np.array([block[c][name][f"{metric}_ci95"] for c in classes])
                ax.bar(x + (i - len(NAMES) / 2 + 0.5) * wdt, v, wdt, yerr=[v - ci[:, 0], ci[:, 1] - v], capsize=2,
                       label=lab, hatch="//" if name == "genie_now_held" else None)
            ax.set_xticks(x, classes)
            ax.set_ylabel(f"{'top-1' if metric == 'top1' else 'P(RSRP loss <= 1 dB)'} at t + {h}")
            ax.grid(alpha=0.3, axis="y")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"BM-Case2: best Set-A beam 1 and 2 report periods ({payload['report_period_ms']} ms) ahead, "
                 f"held-out seeds ({payload['data']['samples']} reports, 95 % UE-track bootstrap)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_table(payload: dict[str, Any], console: Console) -> None:
    for h in payload["horizons"]:
        block = payload["results"][f"t+{h}"]
        t = Table(title=f"BM-Case2, t + {h} ({payload['data']['samples']} reports): top-1 / P(loss <= 1 dB) [95 % CI]")
        t.add_column("method")
        classes = [c for c in ("all", "static", "pedestrian", "vehicular") if c in block]
        for c in classes:
            t.add_column(f"{c} (n={block[c]['n']})", justify="right")
        for name in NAMES:
            t.add_row(name, *[f"{block[c][name]['top1']:.3f} [{block[c][name]['top1_ci95'][0]:.3f}, "
                              f"{block[c][name]['top1_ci95'][1]:.3f}] / {block[c][name]['p_within_1db']:.3f}"
                              for c in classes])
        console.print(t)
    tg = payload["target"]
    console.print(f"must-show: vehicular top-1 at t + 1 >= better baseline + 0.05: {'met' if tg['met'] else 'NOT met'}"
                  f" (model {tg['model']:.3f}, {tg['better_baseline']} {tg['better_baseline_top1']:.3f}, margin "
                  f"{tg['margin']:+.3f}, 95 % CI {tg['margin_ci95'][0]:+.3f} .. {tg['margin_ci95'][1]:+.3f})")


def main(argv: list[str] | None = None) -> None:
    quick_or_full_main(argv, "beam_ahead", __doc__, "2 seeds, 100 sub-steps", run, print_table, plot)


if __name__ == "__main__":
    main()

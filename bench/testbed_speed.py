"""Testbed speed at scale (issue 20): the emulator's fast step for the default city (twm_poc, 10 cells) and synthetic
grid cities of 100, 1000 and 10,000 cells, against a baseline commit measured side by side in the same run, and
the digital twin's batched rollouts (256 candidates).

Baseline: the emulator of ``--baseline-rev`` (default 132ec17, main before the scale work), checked out read-only
with ``git worktree add`` into a temporary directory (removed afterwards) or given as ``--baseline-root``. Each
city runs in two long-lived worker processes, this file run as a script with ``PYTHONPATH`` at the baseline tree
or at this tree, each holding a warmed-up emulator of the same city and seed; the parent asks them for windows of
fast steps in turn (baseline, candidate, baseline, ... :func:`bench.timing.interleaved`), so a noisy neighbour on
the shared 2-core host slows both alike. A window is whole slow steps: ``fast_per_slow`` (15) fast steps of 1 s
simulated, with one KPM read per slow step (the emulator's hot path as the E2 node drives it).

Reported per city, for baseline and candidate: ms per fast step and x real time (median and spread over the
windows), worker CPU utilisation, speedup (one baseline/candidate ratio per interleaved pair: median, min, max),
cost per cell relative to the 100-cell city of the same code, emulator build time, RSS after build and peak RSS.

Run: ``python -m bench.testbed_speed [--quick]`` (``--quick``: 10/100/1000 cells, 3 pairs, < 1 min); saves
``bench/results/testbed_speed.json`` and ``.png`` (cost per cell vs cells, baseline and candidate).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario, load_scenario_dict
from testbed.core.shocks import ShockRegime

RESULTS = Path(__file__).parent / "results" / "testbed_speed.json"
ROOT = Path(__file__).resolve().parent.parent
BASELINE_REV = "132ec17"
REGIME = "hotspot-ID"
TARGET_X_REAL_TIME_1000 = 100.0  #: 1000 cells: <= 10 ms per 1-s fast step (KPM read included)
TARGET_DEFAULT_SPEEDUP = 2.0  #: default city vs the baseline
TARGET_PER_CELL_FLAT = 1.3  #: cost per cell within x1.3 from 100 to 10,000 cells


def synthetic_city(n_cells: int, ues_per_cell: int = 35) -> ScenarioParams:
    """A square grid city with ``n_cells`` cells (500 m spacing), one aggregation node per 10 cells."""
    return load_scenario_dict(synthetic_city_doc(n_cells, ues_per_cell), f"synthetic grid {n_cells}")


def synthetic_city_doc(n_cells: int, ues_per_cell: int = 35) -> dict[str, Any]:
    """The scenario document of :func:`synthetic_city` (what a scenario file of that city holds)."""
    side = int(np.ceil(np.sqrt(n_cells)))
    size = side * 500.0
    n_agg = max(1, n_cells // 10)
    nodes = [{"name": "HUB", "position": [size / 2, size / 2], "hub": True}]
    nodes += [{"name": f"A{i}", "position": [size * (i + 0.5) / n_agg, size / 3]} for i in range(n_agg)]
    links = [{"src": f"A{i}", "dst": "HUB", "capacity_mbps": 2000} for i in range(n_agg)]
    links += [{"src": f"A{i}", "dst": f"A{(i + 1) % n_agg}", "capacity_mbps": 1000} for i in range(n_agg) if n_agg > 1]
    cells = [{"cell_id": i + 1, "pci": i % 1008, "position": [250 + 500 * (i % side), 250 + 500 * (i // side)],
              "agg_node": f"A{min(i // 10, n_agg - 1)}"} for i in range(n_cells)]
    doc: dict[str, Any] = {
        "name": f"grid{n_cells}", "area": {"width_m": size, "height_m": size},
        "timing": {"fast_step_s": 1.0, "fast_steps_per_slow": 15, "slow_steps_per_horizon": 12},
        "slices": [{"name": "eMBB", "sst": 1, "sd": 1, "packet_bytes": 1200, "base_delay_ms": 8, "discard_ms": 600,
                    "sla_loss": 0.25},
                   {"name": "URLLC", "sst": 2, "sd": 2, "packet_bytes": 200, "base_delay_ms": 2, "discard_ms": 300,
                    "sla_loss": 0.1, "sla_p99_ms": 20},
                   {"name": "FWA", "sst": 1, "sd": 3, "packet_bytes": 1400, "base_delay_ms": 8, "discard_ms": 600,
                    "sla_loss": 0.2}],
        "radio": {"n_candidate_cells": 8},
        "cell_cfg": {"band": 78, "dl_arfcn": 630000, "channel_bandwidth_MHz": 50, "common_scs": 30},
        "cells": cells,
        "zones": [{"name": "h", "kind": "hospital", "center": [size / 4, size / 4], "radius_m": 400},
                  {"name": "road", "kind": "corridor", "polyline": [[0, size / 2], [size, size / 2]],
                   "half_width_m": 200}],
        "ue_groups": [{"name": "e", "slice": "eMBB", "count": 20 * n_cells, "rate_mbps": 1.0},
                      {"name": "u", "slice": "URLLC", "count": 8 * n_cells, "rate_mbps": 0.3},
                      {"name": "f", "slice": "FWA", "count": (ues_per_cell - 28) * n_cells, "mobility": "static",
                       "rate_mbps": 2.0}],
        "transport": {"nodes": nodes, "links": links, "failure": {"prob_per_s": 0.0002, "mttr_s": 60}},
        "shocks": {"hotspot": {"zone": "h", "rate_per_slow_step": 0.5, "radius_m": 300, "intensity": [1.5, 3, 1],
                               "duration_s": 60}},
    }
    return doc


def city(name: str) -> ScenarioParams:
    """``"grid<N>"``: :func:`synthetic_city` of N cells; anything else: a bundled scenario."""
    return synthetic_city(int(name[4:])) if name.startswith("grid") else load_scenario(name)


# ---------------------------------------------------------------------------------------------------------- worker
def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(city_name: str, seed: int) -> None:
    """Line protocol on stdin/stdout (JSON replies): build the emulator, warm it up, then ``run N`` -> N fast steps
    with a KPM read every slow step; ``quit`` -> peak RSS. Imports only the emulator API both trees share."""
    t0 = time.perf_counter()
    sc = city(city_name)
    emu = Emulator(sc, ShockRegime.parse(REGIME), seed=seed, nmse_obs=4)
    build_s = time.perf_counter() - t0
    per = sc.timing.fast_per_slow
    for _ in range(3):  # first steps (caches, allocator); the parent's warm-up window follows
        emu.step_fast()
    emu.read_kpm()
    print(json.dumps({"cells": sc.n_cells, "ues": len(emu.ue_ids), "fast_step_s": sc.timing.fast_step_s,
                      "fast_per_slow": per, "build_s": build_s, "rss_mb": _rss_mb()}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        n = int(cmd[1])
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(n):
            emu.step_fast()
            if (i + 1) % per == 0:
                emu.read_kpm()
        print(json.dumps({"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0}), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak, "rss_mb": _rss_mb()}), flush=True)


class Worker:
    """A worker process running the emulator of the tree at ``root``."""

    def __init__(self, root: Path, city_name: str, seed: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
        self.p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", city_name,
                                   "--seed", str(seed)], cwd=root, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.info = self._reply()
        self.cpu: list[float] = []
        self.wall: list[float] = []

    def _reply(self) -> dict[str, Any]:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"worker exited with {self.p.wait()}")
        out: dict[str, Any] = json.loads(line)
        return out

    def _send(self, text: str) -> dict[str, Any]:
        assert self.p.stdin is not None
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        return self._reply()

    def window(self, n_steps: int) -> None:
        r = self._send(f"run {n_steps}")
        self.wall.append(r["wall_s"])
        self.cpu.append(r["cpu_s"])

    def close(self) -> dict[str, Any]:
        r = self._send("quit")
        self.p.wait(timeout=60)
        return r


# ---------------------------------------------------------------------------------------------------------- parent
def _side(w: Worker, timing: Any, n_steps: int, warm: int) -> dict[str, Any]:
    from bench.timing import Spread

    dt = w.info["fast_step_s"]
    walls, cpus = w.wall[warm:], w.cpu[warm:]  # the worker's own clocks, warm-up windows dropped
    ms = Spread.of([x / n_steps * 1e3 for x in walls])
    xrt = Spread.of([n_steps * dt / x for x in walls])
    cpu_ms = Spread.of([x / n_steps * 1e3 for x in cpus])  # less sensitive to neighbours than wall time
    return {"ms_per_fast_step": ms.as_dict(), "x_real_time": xrt.as_dict(), "cpu_ms_per_fast_step": cpu_ms.as_dict(),
            "utilisation_worker": sum(cpus) / max(sum(walls), 1e-12), "window_wall_s_parent": timing.as_dict(),
            "build_s": w.info["build_s"], "rss_after_build_mb": w.info["rss_mb"]}


def measure_city(name: str, base_root: Path, seed: int, n_steps: int, repeats: int) -> dict[str, Any]:
    """Interleaved windows of ``n_steps`` fast steps, baseline then candidate, ``repeats`` pairs after a warm-up."""
    from bench.timing import interleaved

    base = Worker(base_root, name, seed)
    cand = Worker(ROOT, name, seed)
    try:
        t_a, t_b, ratio = interleaved(lambda: base.window(n_steps), lambda: cand.window(n_steps), repeats=repeats)
    finally:
        end_a, end_b = base.close(), cand.close()
    res: dict[str, Any] = {"city": name, "cells": cand.info["cells"], "ues": cand.info["ues"],
                           "window_fast_steps": n_steps, "pairs": repeats,
                           "baseline": _side(base, t_a, n_steps, 1), "candidate": _side(cand, t_b, n_steps, 1)}
    res["baseline"]["peak_rss_mb"] = end_a["peak_rss_mb"]
    res["candidate"]["peak_rss_mb"] = end_b["peak_rss_mb"]
    # speedup of each pair = baseline wall / candidate wall = 1 / (candidate / baseline)
    res["speedup"] = {"median": 1.0 / ratio.median, "min": 1.0 / ratio.max, "max": 1.0 / ratio.min, "n": ratio.n}
    return res


def rng_floor(name: str, repeats: int) -> dict[str, Any]:
    """The random numbers one fast step must draw (bit-identical seeded runs: the same blocks, in the same order):
    per UE heading (1), candidate-change shadowing and LOS (2K, when C > K; drawn whenever any UE changes
    candidates, nearly every step at scale), shadowing/LOS/cluster/rate innovations (2K + P + 1), Set-B
    measurement noise and CQI error (B_B + 1). Their draw time is a floor on the step time of any numpy
    implementation that keeps the golden trajectories."""
    from bench.timing import timed

    sc = city(name)
    u = sum(g.count for g in sc.ue_groups)
    k = min(sc.radio.n_candidate_cells, sc.n_cells)
    p, b = sc.radio.n_clusters, len(sc.radio.set_b)
    blocks = [u] + ([u * k, u * k] if sc.n_cells > k else []) + [u * (2 * k + p + 1), u * (b + 1)]
    rng = np.random.default_rng(0)
    t = timed(lambda: [rng.standard_normal(n) for n in blocks], repeats=max(repeats, 5), warmup=1)
    ms = t.wall_s.median * 1e3
    return {"city": name, "cells": sc.n_cells, "ues": u, "normals_per_step": sum(blocks), "timing": t.as_dict(),
            "ms_per_step": ms, "max_x_real_time": sc.timing.fast_step_s * 1e3 / ms}


def twin_speed(n_cand: int, n_seeds: int, repeats: int) -> dict[str, Any]:
    from bench.timing import timed
    from testbed.twin import DigitalTwin

    sc = load_scenario("twm_poc")
    emu = Emulator(sc, seed=0, nmse_obs=2)
    emu.step_slow()
    twin = DigitalTwin.from_observations(sc, [emu.read_kpm()], seed=0)
    k = sc.timing.slow_per_horizon
    rng = np.random.default_rng(0)
    prb = rng.dirichlet(np.ones(sc.n_slices), size=(n_cand, k, sc.n_cells))
    tn = rng.dirichlet(np.ones(sc.n_slices), size=(n_cand, k, sc.n_links))
    t = timed(lambda: twin.rollout(prb, tn, n_seeds=n_seeds), repeats=repeats, warmup=1)
    return {"candidates": n_cand, "seeds": n_seeds, "horizon_slow_steps": k, "timing": t.as_dict(),
            "rollouts_per_s": n_cand * n_seeds / t.wall_s.median,
            "rollouts_per_s_spread": [n_cand * n_seeds / t.wall_s.max, n_cand * n_seeds / t.wall_s.min]}


def _worktree(rev: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="tb-base-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True,
                   capture_output=True)
    return path


def _rev(root: Path) -> str:
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or str(root)


def _drop_worktree(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False,
                   capture_output=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10/100/1000 cells, 3 pairs (< 1 min)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision measured as the baseline")
    ap.add_argument("--baseline-root", type=Path, default=None, help="an existing checkout to use as the baseline")
    ap.add_argument("--cities", default=None, help="comma-separated city names (twm_poc, grid<N>)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--floor-only", action="store_true", help="add the random-number floor to an existing --out")
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.worker, a.seed)
        return {}
    from rich.progress import Progress

    if a.floor_only:
        old: dict[str, Any] = json.loads(a.out.read_text())
        old["rng_floor"] = [rng_floor(c["city"], 5) for c in old["cities"]]
        a.out.write_text(json.dumps(old, indent=2) + "\n")
        _render(old)
        return old
    names = a.cities.split(",") if a.cities else (
        ["twm_poc", "grid100", "grid1000"] if a.quick else ["twm_poc", "grid100", "grid1000", "grid10000"])
    # window: whole slow steps (15 fast steps), about 0.1-1 s of candidate time each
    steps = {"twm_poc": 90 if a.quick else 150, "grid100": 30 if a.quick else 45}
    repeats = 3 if a.quick else 5
    base_root = a.baseline_root or _worktree(a.baseline_rev)
    res: dict[str, Any] = {
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
                 "load_avg_at_start": os.getloadavg()},
        "baseline": {"rev": _rev(base_root), "root": str(base_root)},
        "regime": REGIME, "seed": a.seed, "quick": a.quick, "cities": []}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with Progress() as prog:
            task = prog.add_task("testbed speed (baseline | candidate, interleaved)", total=len(names) + 1)
            for name in names:
                prog.update(task, description=f"testbed speed: {name}")
                big = name == "grid10000"  # the baseline takes seconds per step there: 3 pairs
                res["cities"].append(measure_city(name, base_root, a.seed, steps.get(name, 15),
                                                  3 if big else repeats))
                a.out.with_suffix(".partial.json").write_text(json.dumps(res, indent=2) + "\n")  # long runs
                prog.advance(task)
            prog.update(task, description="random-number floor")
            res["rng_floor"] = [rng_floor(n, repeats) for n in names]
            prog.update(task, description="twin rollouts")
            res["twin"] = twin_speed(256, 1 if a.quick else 4, repeats=3)
            prog.advance(task)
    finally:
        if a.baseline_root is None:
            _drop_worktree(base_root)
    _derive(res)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2) + "\n")
    a.out.with_suffix(".partial.json").unlink(missing_ok=True)
    _plot(res, a.out.with_suffix(".png"))
    _render(res)
    return res


def _derive(res: dict[str, Any]) -> None:
    """Cost per cell relative to the 100-cell city (same code, same run) and the issue's targets."""
    by = {c["cells"]: c for c in res["cities"] if c["city"].startswith("grid")}
    for side in ("baseline", "candidate"):
        ref = by.get(100)
        for c in res["cities"]:
            s = c[side]
            s["ms_per_cell_step"] = s["ms_per_fast_step"]["median"] / c["cells"]
            s["cpu_ms_per_cell_step"] = s["cpu_ms_per_fast_step"]["median"] / c["cells"]
            if ref is not None:
                s["per_cell_vs_100"] = s["ms_per_cell_step"] / (ref[side]["ms_per_fast_step"]["median"] / 100)
                # CPU time per step: what a neighbour on the shared host inflates least (the target uses it)
                s["cpu_per_cell_vs_100"] = s["cpu_ms_per_cell_step"] / (ref[side]["cpu_ms_per_fast_step"]["median"]
                                                                        / 100)
    default = next((c for c in res["cities"] if c["city"] == "twm_poc"), None)
    t: dict[str, Any] = {}
    if 1000 in by:
        x = by[1000]["candidate"]["x_real_time"]["median"]
        t["x_real_time_1000_cells"] = {"target": TARGET_X_REAL_TIME_1000, "value": x,
                                      "met": x >= TARGET_X_REAL_TIME_1000}
    if default is not None:
        sp = default["speedup"]["median"]
        t["default_city_speedup"] = {"target": TARGET_DEFAULT_SPEEDUP, "value": sp, "met": sp >= TARGET_DEFAULT_SPEEDUP}
    if 10000 in by and 100 in by:
        v = by[10000]["candidate"]["cpu_per_cell_vs_100"]
        t["per_cell_10000_vs_100_cpu"] = {"target": TARGET_PER_CELL_FLAT, "value": v,
                                          "met": v <= TARGET_PER_CELL_FLAT,
                                          "wall": by[10000]["candidate"]["per_cell_vs_100"]}
    res["targets"] = t


def _plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for side, style in (("baseline", "o--"), ("candidate", "s-")):
        cs = sorted(res["cities"], key=lambda c: c["cells"])
        grid = [c for c in cs if c["city"].startswith("grid")]
        ax.plot([c["cells"] for c in grid], [c[side]["cpu_ms_per_cell_step"] * 1e3 for c in grid], style,
                label=f"{side} ({res['baseline']['rev']})" if side == "baseline" else "candidate")
        ax2.plot([c["cells"] for c in cs], [c[side]["x_real_time"]["median"] for c in cs], style, label=side)
    ax.set(xscale="log", xlabel="cells (grid cities, 35 UEs/cell)", ylabel="CPU µs per cell per 1-s fast step",
           title="cost per cell (median window, worker CPU time)")
    ax2.axhline(TARGET_X_REAL_TIME_1000, color="grey", lw=0.8, ls=":")
    ax2.set(xscale="log", yscale="log", xlabel="cells", ylabel="x real time", title="simulated s per wall s")
    for x in (ax, ax2):
        x.grid(alpha=0.3)
        x.legend()
    fig.suptitle(f"testbed speed, baseline vs candidate interleaved ({'quick' if res['quick'] else 'full'} run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _render(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"testbed speed: candidate vs baseline {res['baseline']['rev']} (interleaved windows; "
                    "ms per 1-s fast step incl. a KPM read per 15)")
    for col in ("city", "UEs", "ms/step base", "ms/step new", "x real time new", "speedup (min-max)",
                "CPU per cell vs 100 (base / new)", "peak RSS MB (base / new)"):
        t.add_column(col, justify="left" if col == "city" else "right")
    for c in res["cities"]:
        b, n, sp = c["baseline"], c["candidate"], c["speedup"]
        pc = (f"{b['cpu_per_cell_vs_100']:.2f} / {n['cpu_per_cell_vs_100']:.2f}" if "per_cell_vs_100" in n else "")
        t.add_row(f"{c['city']} ({c['cells']} cells)", str(c["ues"]), f"{b['ms_per_fast_step']['median']:.2f}",
                  f"{n['ms_per_fast_step']['median']:.2f} [{n['ms_per_fast_step']['min']:.2f}-"
                  f"{n['ms_per_fast_step']['max']:.2f}]", f"{n['x_real_time']['median']:.0f}",
                  f"x{sp['median']:.2f} ({sp['min']:.2f}-{sp['max']:.2f})", pc,
                  f"{b['peak_rss_mb']:.0f} / {n['peak_rss_mb']:.0f}")
    console = Console(width=max(Console().width, 140))
    console.print(t)
    tw = res["twin"]
    console.print(f"twin: {tw['candidates']} candidates x {tw['seeds']} seeds in {tw['timing']['wall_s']['median']:.2f}"
                  f" s (median of {tw['timing']['wall_s']['n']}) = {tw['rollouts_per_s']:.0f} rollouts/s")
    for f in res.get("rng_floor", []):
        console.print(f"random-number floor {f['city']}: {f['normals_per_step'] / 1e6:.2f} M normals per step = "
                      f"{f['ms_per_step']:.2f} ms -> at most {f['max_x_real_time']:.0f}x real time")
    for k, v in res["targets"].items():
        console.print(f"target {k}: {v['value']:.2f} vs {v['target']} -> {'met' if v['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()

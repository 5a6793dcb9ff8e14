"""Testbed speed: simulated seconds per wall second for the default city, cost growth for 10/100/1000
cells, and digital-twin batched rollouts per second (256 candidates).

Every figure comes with its baseline from the same run: speed as a multiple of real time (simulated s per
wall s; real time = 1x, target 1000x), and the synthetic cities' cost per sub-step and per cell relative to
the 10-cell city of the same run (linear growth = per-cell ratio 1). The loop is the emulator's hot path:
``step_fast`` (full per-UE radio every sub-step) with a KPM read every slow step. The host is a shared 2-core
VM whose speed varies with its neighbours, so the median slow step is reported beside the overall mean.

Run: ``python -m bench.testbed_speed [--quick]``; prints and saves ``bench/results/testbed_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario, load_scenario_dict
from testbed.core.shocks import ShockRegime
from testbed.twin import DigitalTwin

RESULTS = Path(__file__).parent / "results" / "testbed_speed.json"


def synthetic_city(n_cells: int, ues_per_cell: int = 35) -> ScenarioParams:
    """A square grid city with ``n_cells`` cells (500 m spacing), one aggregation node per 10 cells."""
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
    return load_scenario_dict(doc, f"synthetic grid {n_cells}")


TARGET_X_REAL_TIME = 1000.0


def emulator_speed(sc: ScenarioParams, n_steps: int) -> dict[str, float]:
    """Fast sub-steps with a KPM read every slow step; returns timing figures (real time = 1x)."""
    emu = Emulator(sc, ShockRegime.parse("hotspot-ID"), seed=0, nmse_obs=4)
    for _ in range(3):
        emu.step_fast()
    emu.read_kpm()
    per = sc.timing.fast_per_slow
    slow_walls: list[float] = []
    t0 = t_slow = time.perf_counter()
    for i in range(n_steps):
        emu.step_fast()
        if (i + 1) % per == 0:
            emu.read_kpm()
            now = time.perf_counter()
            slow_walls.append(now - t_slow)
            t_slow = now
    wall = time.perf_counter() - t0
    sim = n_steps * sc.timing.fast_step_s
    med = float(np.median(slow_walls)) / per if slow_walls else wall / n_steps
    return {"cells": sc.n_cells, "ues": len(emu.ue_ids), "fast_steps": n_steps, "wall_s": wall,
            "ms_per_fast_step": wall / n_steps * 1e3, "x_real_time": sim / wall,
            "ms_per_fast_step_median_slow_step": med * 1e3, "x_real_time_median": sc.timing.fast_step_s / med}


def twin_speed(sc: ScenarioParams, n_cand: int, n_seeds: int) -> dict[str, float]:
    emu = Emulator(sc, seed=0, nmse_obs=2)
    emu.step_slow()
    twin = DigitalTwin.from_observations(sc, [emu.read_kpm()], seed=0)
    k = sc.timing.slow_per_horizon
    rng = np.random.default_rng(0)
    prb = rng.dirichlet(np.ones(sc.n_slices), size=(n_cand, k, sc.n_cells))
    tn = rng.dirichlet(np.ones(sc.n_slices), size=(n_cand, k, sc.n_links))
    t0 = time.perf_counter()
    twin.rollout(prb, tn, n_seeds=n_seeds)
    wall = time.perf_counter() - t0
    return {"candidates": n_cand, "seeds": n_seeds, "horizon_slow_steps": k, "wall_s": wall,
            "rollouts_per_s": n_cand * n_seeds / wall}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps (smoke run)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    steps = 60 if a.quick else 600
    res: dict[str, Any] = {"host": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                    "machine": platform.machine()}}
    with Progress() as prog:
        task = prog.add_task("testbed speed", total=5)
        res["default_city"] = emulator_speed(load_scenario("twm_poc"), steps)
        prog.advance(task)
        scaling = []
        for n in (10, 100, 1000):
            scaling.append(emulator_speed(synthetic_city(n), max(15, steps // (1 if n == 10 else n // 10))))
            prog.advance(task)
        res["scaling"] = scaling
        base = scaling[0]
        for s in scaling:
            s["cost_ratio_vs_10"] = s["ms_per_fast_step"] / base["ms_per_fast_step"]
            s["per_cell_cost_ratio_vs_10"] = (s["ms_per_fast_step"] / s["cells"]) / (
                base["ms_per_fast_step"] / base["cells"])
        res["twin"] = twin_speed(load_scenario("twm_poc"), 256, 1 if a.quick else 4)
        prog.advance(task)
    d = res["default_city"]
    res["target"] = {"x_real_time": TARGET_X_REAL_TIME, "met": d["x_real_time"] >= TARGET_X_REAL_TIME,
                     "met_median": d["x_real_time_median"] >= TARGET_X_REAL_TIME}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2) + "\n")
    _render(res)
    return res


def _render(res: dict[str, Any]) -> None:
    t = Table(title="testbed speed (baseline: real time = 1x; cost vs the 10-cell city of this run)")
    for col in ("what", "ms / sub-step", "x real time", "median x", "cost vs 10 cells", "per cell vs 10"):
        t.add_column(col, justify="right" if col != "what" else "left")
    d = res["default_city"]
    t.add_row(f"default city ({d['cells']} cells, {d['ues']} UEs)", f"{d['ms_per_fast_step']:.3f}",
              f"{d['x_real_time']:.0f}", f"{d['x_real_time_median']:.0f}", "", "")
    for s in res["scaling"]:
        t.add_row(f"grid {s['cells']} cells ({s['ues']} UEs)", f"{s['ms_per_fast_step']:.2f}",
                  f"{s['x_real_time']:.0f}", f"{s['x_real_time_median']:.0f}", f"x{s['cost_ratio_vs_10']:.1f}",
                  f"x{s['per_cell_cost_ratio_vs_10']:.2f}")
    tw = res["twin"]
    console = Console(width=max(Console().width, 120))
    console.print(t)
    console.print(f"twin: {tw['wall_s']:.2f} s = {tw['rollouts_per_s']:.0f} rollouts/s; target "
                  f"{TARGET_X_REAL_TIME:.0f}x real time met: {res['target']['met']} "
                  f"(median slow step: {res['target']['met_median']})")


if __name__ == "__main__":
    main()

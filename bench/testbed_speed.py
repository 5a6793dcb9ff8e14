"""Testbed speed: simulated seconds per wall second for the default city, cost growth for 10/100/1000
cells, and digital-twin batched rollouts per second (256 candidates).

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
from rich.progress import Progress

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


def emulator_speed(sc: ScenarioParams, n_steps: int) -> dict[str, float]:
    """Fast sub-steps with a KPM read every slow step; returns timing figures."""
    emu = Emulator(sc, ShockRegime.parse("hotspot-ID"), seed=0, nmse_obs=4)
    for _ in range(3):
        emu.step_fast()
    emu.read_kpm()
    t0 = time.perf_counter()
    for i in range(n_steps):
        emu.step_fast()
        if (i + 1) % sc.timing.fast_per_slow == 0:
            emu.read_kpm()
    wall = time.perf_counter() - t0
    sim = n_steps * sc.timing.fast_step_s
    return {"cells": sc.n_cells, "ues": len(emu.ue_ids), "fast_steps": n_steps, "wall_s": wall,
            "ms_per_fast_step": wall / n_steps * 1e3, "x_real_time": sim / wall}


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
        base = scaling[0]["ms_per_fast_step"]
        for s in scaling:
            s["cost_ratio_vs_10"] = s["ms_per_fast_step"] / base
        res["twin"] = twin_speed(load_scenario("twm_poc"), 256, 1 if a.quick else 4)
        prog.advance(task)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()

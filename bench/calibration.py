"""Calibration of the default city: static uniform 1/3 vs hand-tuned shares, per PoC shock regime, over seeds.

Each (regime, seed) runs one horizon (``slow_per_horizon`` slow steps) of the emulator twice, once per static
allocation (PRB shares as RRMPolicyRatio min = max, transport shares per link), with common random numbers: the
same seed gives both policies the same UEs, shocks and link failures. Reported per regime and policy: mean SCM,
share of seeds with SCM = 0, mean loss and p99 per slice, and the ceiling closest to (or furthest beyond) its limit.

Run: ``python -m bench.calibration [--seeds 8] [--scenario twm_poc]``; prints a table and saves
``bench/results/calibration.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.core.types import FloatArray
from testbed.policies import hand_tuned_shares, uniform_shares

REGIMES = ("hotspot-ID", "hotspot-OOD", "wave-ID", "wave-OOD")
POLICIES = {"uniform": uniform_shares, "hand-tuned": hand_tuned_shares}


def run_horizon(sc: ScenarioParams, regime: ShockRegime, seed: int, prb: FloatArray, tn: FloatArray,
                emu_kw: dict[str, Any]) -> dict[str, Any]:
    """One horizon under a static allocation; KPIs over the whole horizon (batch of 1)."""
    emu = Emulator(sc, regime, seed=seed, **emu_kw)
    emu.set_allocation(shares_to_ratios(prb), tn)
    for _ in range(sc.timing.slow_per_horizon):
        emu.step_slow()
    k = emu.kpis_since(0)
    return {"scm": float(k.scm[0]), "loss": k.loss[0].tolist(), "p99_ms": k.p99_ms[0].tolist(),
            "emu": emu}


def worst_ceiling(sc: ScenarioParams, loss: FloatArray, p99: FloatArray) -> str:
    """The SLA ceiling with the highest value / limit ratio, e.g. ``URLLC p99 242 ms`` or ``eMBB loss 12 %``."""
    cands = [(loss[i] / s.sla_loss, f"{s.name} loss {100 * loss[i]:.0f} %") for i, s in enumerate(sc.slices)]
    cands += [(p99[i] / s.sla_p99_ms, f"{s.name} p99 {p99[i]:.0f} ms") for i, s in enumerate(sc.slices)
              if s.sla_p99_ms is not None]
    return max(cands)[1]


def calibrate(sc: ScenarioParams, regimes: tuple[str, ...], seeds: list[int], nmse_obs: int,
              progress: Progress | None = None) -> dict[str, Any]:
    """Per regime and policy: per-seed SCM/loss/p99 and their summaries."""
    task = progress.add_task("calibration", total=len(regimes) * len(seeds) * len(POLICIES)) if progress else None
    tables: dict[int, Any] = {}  # the NMSE start-up table depends on the seed only: build it once per seed
    out: dict[str, Any] = {}
    for rname in regimes:
        regime = ShockRegime.parse(rname)
        per_policy: dict[str, Any] = {}
        for pname, fn in POLICIES.items():
            prb, tn = fn(sc)
            runs = []
            for s in seeds:
                kw: dict[str, Any] = {"nmse_table": tables[s]} if s in tables else {"nmse_obs": nmse_obs}
                r = run_horizon(sc, regime, s, prb, tn, kw)
                tables.setdefault(s, r.pop("emu").nmse_table)
                runs.append(r)
                if progress is not None and task is not None:
                    progress.advance(task)
            scm = np.array([r["scm"] for r in runs])
            loss = np.array([r["loss"] for r in runs]).mean(0)
            p99 = np.array([r["p99_ms"] for r in runs]).mean(0)
            per_policy[pname] = {
                "mean_scm": float(scm.mean()), "zero_scm_share": float((scm <= 0.0).mean()),
                "mean_loss": dict(zip([s.name for s in sc.slices], loss.tolist(), strict=True)),
                "mean_p99_ms": dict(zip([s.name for s in sc.slices], p99.tolist(), strict=True)),
                "worst_ceiling": worst_ceiling(sc, loss, p99), "per_seed": runs}
        u, h = (np.array([r["scm"] for r in per_policy[p]["per_seed"]]) for p in ("uniform", "hand-tuned"))
        per_policy["paired_scm_gain"] = {"mean": float((h - u).mean()), "hand_tuned_better_share":
                                         float((h > u).mean())}
        out[rname] = per_policy
    return out


def render(res: dict[str, Any], console: Console) -> None:
    t = Table(title=f"Calibration: mean SCM / share of seeds with SCM = 0 ({len(res['seeds'])} seeds, "
                    f"{res['horizon_s']:.0f} s horizon, static allocations)")
    t.add_column("regime")
    for p in POLICIES:
        t.add_column(p)
    t.add_column("hand-tuned - uniform (paired)", justify="right")
    for rname, r in res["regimes"].items():
        cells = [f"{r[p]['mean_scm']:.2f} / {100 * r[p]['zero_scm_share']:.0f} %  ({r[p]['worst_ceiling']})"
                 for p in POLICIES]
        g = r["paired_scm_gain"]
        t.add_row(rname, *cells, f"{g['mean']:+.2f} (better in {100 * g['hand_tuned_better_share']:.0f} %)")
    console.print(t)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.calibration")
    ap.add_argument("--seeds", type=int, default=8, help="number of seeds (0 .. N-1) per regime")
    ap.add_argument("--scenario", default="twm_poc")
    ap.add_argument("--regimes", nargs="+", default=list(REGIMES))
    ap.add_argument("--nmse-obs", type=int, default=4, help="pilot observations per NMSE-table grid point")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "calibration.json")
    a = ap.parse_args(argv)
    sc = load_scenario(a.scenario)
    console = Console(width=max(Console().width, 130))
    t0 = time.perf_counter()
    with Progress(console=console) as prog:
        regimes = calibrate(sc, tuple(a.regimes), list(range(a.seeds)), a.nmse_obs, prog)
    res: dict[str, Any] = {"host": machine(), "scenario": sc.name, "seeds": list(range(a.seeds)),
                           "horizon_s": sc.timing.slow_per_horizon * sc.timing.slow_step_s,
                           "allocation": "static shares, RRMPolicyRatio min = max (isolated)",
                           "wall_s": time.perf_counter() - t0, "regimes": regimes}
    render(res, console)
    save_results(a.out.stem, res, a.out.parent)
    return res


if __name__ == "__main__":
    main()

"""Command-line entry (``python -m testbed ...``).

* ``plots --out DIR [--scenario twm_poc] [--regime hotspot-ID] [--seed 0]``: city map + KPI time series PNGs.
* ``export --out DIR [--scenario twm_poc ...] [--regime hotspot-ID ...] [--seeds 0 1 ...] [--steps 180]
  [--policy uniform|hand-tuned|random] [--policy-seed 0] [--nmse-obs 8]``: per-sub-step KPM trajectories
  under a behaviour policy, one ``.npz`` + ``.card.json`` data card per (scenario, regime)
  (:mod:`testbed.datasets`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from nextric.errors import NextricError
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.datasets import POLICIES, Behaviour, export_trajectories


def _export(a: argparse.Namespace, console: Console) -> int:
    behaviour = Behaviour(a.policy, a.policy_seed)
    pairs = [(load_scenario(s), ShockRegime.parse(r)) for s in a.scenario for r in a.regime]
    total = len(pairs) * len(a.seeds) * a.steps
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("sub-steps"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as prog:
        task = prog.add_task(f"export ({behaviour.label})", total=total)
        for sc, regime in pairs:
            prog.update(task, description=f"{sc.name} {regime.label} ({behaviour.label})")
            res = export_trajectories(a.out, sc, regime, a.seeds, a.steps, behaviour, a.nmse_obs,
                                      on_step=lambda: prog.advance(task))
            console.print(f"{res.npz}  sha256 {res.sha256[:16]}…  card {res.card_path}", soft_wrap=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("plots", help="city map + KPI time series PNGs")
    pp.add_argument("--out", type=Path, default=Path("bench/results/plots"))
    pp.add_argument("--scenario", default="twm_poc")
    pp.add_argument("--regime", default="hotspot-ID")
    pp.add_argument("--seed", type=int, default=0)
    ep = sub.add_parser("export", help="per-sub-step KPM trajectories under a behaviour policy (.npz + data card)")
    ep.add_argument("--out", type=Path, required=True, help="output directory")
    ep.add_argument("--scenario", nargs="+", default=["twm_poc"], help="scenario names (testbed/scenarios)")
    ep.add_argument("--regime", nargs="+", default=["hotspot-ID"], help="shock regimes, e.g. hotspot-ID wave-OOD")
    ep.add_argument("--seeds", nargs="+", type=int, default=[0], help="emulator seeds (one run each)")
    ep.add_argument("--steps", type=int, default=180, help="fast sub-steps per run")
    ep.add_argument("--policy", choices=POLICIES, default="uniform", help="behaviour (logging) policy")
    ep.add_argument("--policy-seed", type=int, default=0, help="seed of the random policy")
    ep.add_argument("--nmse-obs", type=int, default=8, help="pilot observations per NMSE-table grid point")
    a = ap.parse_args(argv)
    console = Console()
    if a.cmd == "export":
        try:
            return _export(a, console)
        except NextricError as exc:
            console.print(f"[red]error:[/red] {exc}")
            return 2
    from testbed.plots import plot_city  # matplotlib only for this command

    for p in plot_city(a.out, a.scenario, a.regime, a.seed):
        print(p)
    return 0

"""Command-line entry: ``python -m testbed plots --out DIR [--scenario twm_poc]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from testbed.plots import plot_city


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("plots", help="city map + KPI time series PNGs")
    pp.add_argument("--out", type=Path, default=Path("bench/results/plots"))
    pp.add_argument("--scenario", default="twm_poc")
    pp.add_argument("--regime", default="hotspot-ID")
    pp.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    for p in plot_city(a.out, a.scenario, a.regime, a.seed):
        print(p)
    return 0

"""Shared helpers of the benchmarks: percentiles, machine description, saving results, the quick/full entry point."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile_ms(samples_ns: list[int] | np.ndarray, q: float) -> float:
    if len(samples_ns) == 0:
        return float("nan")
    return float(np.percentile(np.asarray(samples_ns, dtype=np.float64), q) / 1e6)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save_results(name: str, payload: dict[str, Any], out_dir: Path | None = None) -> Path:
    target = (out_dir or RESULTS_DIR) / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return target


Payload = dict[str, Any]


def quick_or_full_main(argv: list[str] | None, name: str, description: str | None, quick_help: str,
                       run: Callable[[bool, Console], Payload], print_table: Callable[[Payload, Console], None],
                       plot: Callable[[Payload, Path], Path]) -> None:
    """The entry point of a benchmark with a ``--quick`` mode: run, print its table, save the JSON under
    ``bench/results/<name>.json`` (or ``--out``) and its plot next to it."""
    ap = argparse.ArgumentParser(prog=f"nextric bench {name}", description=description,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / f"{name}.json")
    args = ap.parse_args(argv)
    console = Console()
    payload = run(args.quick, console)
    print_table(payload, console)
    path = save_results(args.out.stem, payload, args.out.parent)
    png = plot(payload, path.with_suffix(".png"))
    console.print(f"saved {path} and {png}")

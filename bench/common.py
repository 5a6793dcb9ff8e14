"""Shared helpers of the benchmarks: percentiles, machine description, saving results."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

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

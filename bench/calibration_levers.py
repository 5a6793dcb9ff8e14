"""The calibration's levers: a few numbers -> the PoC city overlay (``extends: twm_poc``), links dimensioned by rule.

The search over levers (``bench/results/calibration_search.json``) judged every candidate by the rules of
:mod:`bench.calibration` on tuning seeds only; the frozen city is the overlay of the chosen levers
(``testbed/scenarios/twm_poc_calibrated.yaml``, whose header records them).

Levers (all optional; defaults = the base city's values):

* ``embb``, ``embb_c``, ``urllc_h``, ``fwa``: multipliers of the per-UE rate of the eMBB city / eMBB corridor /
  URLLC hospital / FWA zone groups (``embb_c`` defaults to ``embb``);
* ``hs_int``, ``hs_dur``, ``hs_rate``; ``wv_int``, ``wv_dur``, ``wv_rate``, ``wv_fail``: hotspot and wave shock
  intensity per slice, duration (s), arrival rate per slow step, wave link-failure multiplier;
* ``ood_int``, ``ood_dur``, ``ood_fail``: the OOD amplification of intensity, duration and failure hazard (the
  arrival rate is never amplified);
* ``fail``, ``mttr``: base link failure hazard per second and mean time to repair (s);
* ``dim``: every uplink's capacity is set so that its 95th-percentile offered load under ID shocks and the uniform
  plan (mean over ``DIM_SEEDS`` tuning-seed horizons, measured with unconstrained links) is ``dim`` of it; a ring
  link gets the capacity of its source node's uplink (a detour as wide as the path it replaces).

Fixed by design, not levers: 4-s fast steps, 60-s slow steps, a 12-minute horizon (the paper's slow steps are
minutes), guaranteed PRB shares (a plan's share is a guarantee, idle PRBs are shared) and work-conserving transport
with URLLC first.

    python -m bench.calibration_levers '{"embb": 2.2, ...}' --out city.yaml
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.calibration import run_context
from nextric.parallel import BACKENDS, ParallelSettings, WorkerPool
from rapps.intent_agent.worldmodels.seeds import TUNE_SEEDS

BASE = "twm_poc"
TIMING = {"fast_step_s": 4.0, "fast_steps_per_slow": 15, "slow_steps_per_horizon": 12}
UNCONSTRAINED_MBPS = 5000.0
DIM_SEEDS = TUNE_SEEDS
DIM_REGIMES = ("hotspot-ID", "wave-ID")
RATE_LEVERS = {"embb-city": "embb", "embb-corridor": "embb_c", "urllc-hospital": "urllc_h", "fwa-west": "fwa",
               "fwa-east": "fwa", "fwa-south": "fwa"}


def base_document() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(resources.files("testbed.scenarios").joinpath(f"{BASE}.yaml").read_text())
    return doc


def overlay(levers: dict[str, Any], capacities: dict[str, float] | None = None) -> dict[str, Any]:
    """The overlay document for ``levers``; ``capacities`` per link name (None: every link unconstrained)."""
    base = base_document()
    lv = dict(levers)
    lv.setdefault("embb_c", lv.get("embb", 1.0))
    groups = copy.deepcopy(base["ue_groups"])
    for g in groups:
        key = RATE_LEVERS.get(g["name"])
        if key is not None:
            g["rate_mbps"] = round(float(g["rate_mbps"]) * float(lv.get(key, 1.0)), 4)
    transport = copy.deepcopy(base["transport"])
    for ln in transport["links"]:
        ln["capacity_mbps"] = float((capacities or {}).get(ln["name"], UNCONSTRAINED_MBPS))
    transport["sharing"] = "work_conserving"
    transport["failure"] = {"prob_per_s": float(lv.get("fail", transport["failure"]["prob_per_s"])),
                            "mttr_s": float(lv.get("mttr", 120.0))}
    hs: dict[str, Any] = dict(base["shocks"]["hotspot"])
    wv: dict[str, Any] = dict(base["shocks"]["wave"])
    hs.update(intensity=list(lv.get("hs_int", hs["intensity"])), duration_s=float(lv.get("hs_dur", 180.0)),
              rate_per_slow_step=float(lv.get("hs_rate", hs["rate_per_slow_step"])))
    wv.update(intensity=list(lv.get("wv_int", wv["intensity"])), duration_s=float(lv.get("wv_dur", wv["duration_s"])),
              rate_per_slow_step=float(lv.get("wv_rate", wv["rate_per_slow_step"])),
              link_fail_mult=float(lv.get("wv_fail", 5.0)))
    ood = {"intensity_mult": float(lv.get("ood_int", 1.25)), "duration_mult": float(lv.get("ood_dur", 1.5)),
           "fail_mult": float(lv.get("ood_fail", 2.0)), "rate_mult": 1.0}
    return {"extends": BASE, "name": f"{BASE}_calibrated", "timing": dict(TIMING), "plan_shares": "guaranteed",
            "ue_groups": groups, "transport": transport, "shocks": {"hotspot": hs, "wave": wv, "ood": ood}}


HEADER = """# The TWM PoC city recalibrated by method-independent rules (bench/calibration.py), on tuning seeds only.
# Generated, do not edit: python -m bench.calibration_levers '<levers below>' --out <this file>
# Judged: python -m bench.calibration --scenario twm_poc_calibrated (tuning seeds -> bench/results/calibration.json),
# then once on evaluation seeds: ... --evaluate (bench/results/calibration_eval.json); both record this file's SHA-256.
# The search over levers: bench/results/calibration_search.json. What the levers mean: bench/calibration_levers.py.
"""


def _write(doc: dict[str, Any], path: Path, levers: dict[str, Any] | None = None) -> Path:
    head = "" if levers is None else HEADER + f"# levers: {json.dumps(levers, sort_keys=True)}\n"
    path.write_text(head + yaml.safe_dump(doc, sort_keys=False))
    return path


def dimension(levers: dict[str, Any], target: float, parallel: ParallelSettings | None = None) -> dict[str, float]:
    """Link capacities (Mbit/s, rounded to 10) by the ``dim`` rule (module docstring); the dimensioning horizons
    run on ``parallel`` (default: a process pool of 2)."""
    doc = overlay(levers)
    links = [ln["name"] for ln in doc["transport"]["links"]]
    with tempfile.TemporaryDirectory() as tmp:
        src = str(_write(doc, Path(tmp) / "unconstrained.yaml"))
        with WorkerPool(parallel or ParallelSettings("process", 2)) as pool:
            runs = pool.starmap(run_context, [(src, r, s, 6, 1) for r in DIM_REGIMES for s in DIM_SEEDS])
    p95 = np.mean([np.asarray(r["link_ratio_p95"]) * UNCONSTRAINED_MBPS for r in runs], axis=0)
    caps = {n: float(round(max(float(p), 1.0) / target, -1)) for n, p in zip(links, p95, strict=True)}
    node_uplink = {ln["src"]: ln["name"] for ln in doc["transport"]["links"] if ln["dst"] == "HUB"}
    for ln in doc["transport"]["links"]:
        if ln["dst"] != "HUB":
            caps[ln["name"]] = caps[node_uplink[ln["src"]]]
    return caps


def city(levers: dict[str, Any], parallel: ParallelSettings | None = None) -> dict[str, Any]:
    """The overlay with its links dimensioned."""
    return overlay(levers, dimension(levers, float(levers.get("dim", 0.7)), parallel))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.calibration_levers", description=__doc__.splitlines()[0])
    ap.add_argument("levers", help="JSON object of levers (see the module docstring)")
    ap.add_argument("--out", type=Path, required=True, help="where to write the overlay YAML")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=BACKENDS, default="process",
                    help="where the dimensioning horizons run (ray: local, or the cluster at RAY_ADDRESS)")
    a = ap.parse_args(argv)
    try:
        levers = json.loads(a.levers)
    except json.JSONDecodeError as e:
        ap.error(f"levers: not JSON ({e})")
    if not isinstance(levers, dict):
        ap.error("levers: expected a JSON object")
    doc = city(levers, ParallelSettings.of(a.backend, a.workers, os.environ))
    _write(doc, a.out, levers)
    print(json.dumps({"out": str(a.out), "capacities": {ln["name"]: ln["capacity_mbps"]
                                                         for ln in doc["transport"]["links"]}}))
    return doc


if __name__ == "__main__":
    main()

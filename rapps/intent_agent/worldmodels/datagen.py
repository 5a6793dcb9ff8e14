"""Training data for the world models: emulator warm-ups -> observation-initialised twin -> batched rollouts.

Per context seed (``TRAIN_SEEDS`` / ``HELDOUT_SEEDS``, disjoint from the planner-tuning and benchmark seeds in
:mod:`rapps.intent_agent.worldmodels.seeds`): the emulator runs ``warmup`` slow steps under the static uniform
allocation (in-distribution shocks only: ``hotspot-ID`` for even, ``wave-ID`` for odd seeds), its KPM reports
initialise a :class:`testbed.twin.DigitalTwin` (observations only), and the twin rolls out ``n_candidates``
behaviour-policy plans x ``n_twin_seeds`` exogenous seeds with per-slow-step KPIs.

Behaviour policy (recorded in the data card): ``library-perturbed`` — parameter vectors drawn around the
planner-library family centres (:func:`rapps.intent_agent.planner.library.sample_params`) with Gaussian
spread ``spread`` (wider than the planner library, to cover the region the CEM search visits).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from rapps.intent_agent.planner.library import plans_from_params, sample_params
from rapps.intent_agent.worldmodels.features import CityRaster, Context, context_vector, fwm_grid, fwm_targets
from rapps.intent_agent.worldmodels.seeds import HELDOUT_SEEDS, TRAIN_SEEDS
from testbed.core.engine import Emulator
from testbed.core.estimators import NmseTable
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.policies import uniform_shares
from testbed.twin import DigitalTwin

BEHAVIOUR_POLICY = "library-perturbed"
#: per-step CDWM targets: loss (3), log1p p99 ms (3), throughput / 100 Mbit/s (3), PRB utilisation (3),
#: cumulative loss (3)
KPI_NAMES = ("loss_embb", "loss_urllc", "loss_fwa", "lp99_embb", "lp99_urllc", "lp99_fwa",
             "thp_embb", "thp_urllc", "thp_fwa", "prbu_embb", "prbu_urllc", "prbu_fwa",
             "cum_loss_embb", "cum_loss_urllc", "cum_loss_fwa")
N_KPI = len(KPI_NAMES)


@dataclass(frozen=True)
class DataConfig:
    scenario: str = "twm_poc"
    n_candidates: int = 48
    n_twin_seeds: int = 2
    spread: float = 1.5
    warmup_min: int = 2
    warmup_max: int = 6
    nmse_obs: int = 4


def observe(sc: ScenarioParams, regime: ShockRegime, seed: int, warmup: int,
            nmse_table: NmseTable | None = None) -> tuple[list[KpmReport], np.ndarray, Emulator]:
    """Run the emulator ``warmup`` slow steps under uniform shares; KPM reports, link alarms, the emulator."""
    emu = Emulator(sc, regime, seed=seed, nmse_obs=4, nmse_table=nmse_table)
    p, t = uniform_shares(sc)
    emu.set_allocation(shares_to_ratios(p), t)
    reps = []
    for _ in range(warmup):
        emu.step_slow()
        reps.append(emu.read_kpm())
    return reps, emu.link_up, emu


def kpi_targets(steps: Any) -> np.ndarray:
    """(N, M, K, N_KPI) float32 per-step targets from :class:`testbed.twin.StepKpis`."""
    return np.concatenate([steps.loss, np.log1p(steps.p99_ms), steps.throughput_mbps / 100.0, steps.prb_util,
                           steps.cum_loss], axis=-1).astype(np.float32)


def generate(sc: ScenarioParams, seeds: tuple[int, ...], cfg: DataConfig,
             progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Arrays (one row per context x candidate): grid0, fwm_y, ctx, prb, tn, kpi (M seeds), scm, cost."""
    ras = CityRaster.build(sc)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("grid0", "fwm_y", "ctx", "prb", "tn", "kpi", "scm",
                                                         "p99_h", "loss_h", "context_seed")}
    task = progress.add_task("world-model data", total=len(seeds)) if progress else None
    table: NmseTable | None = None
    for seed in seeds:
        regime = ShockRegime("hotspot" if seed % 2 == 0 else "wave", False)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
        warm = int(rng.integers(cfg.warmup_min, cfg.warmup_max + 1))
        reps, up, emu = observe(sc, regime, seed, warm, table)
        table = emu.nmse_table
        tw = DigitalTwin.from_observations(sc, reps, regime, up, seed=seed)
        ctx = Context.of_twin(tw)
        u, _ = sample_params(ras, cfg.n_candidates, rng, spread=cfg.spread)
        prb, tn = plans_from_params(ras, ctx, u, sc.timing.slow_per_horizon)
        r = tw.rollout(prb, tn, cfg.n_twin_seeds, seed=seed, per_step=True)
        assert r.steps is not None
        out["grid0"].append(fwm_grid(ras, ctx, prb[:, 0], tn[:, 0]).astype(np.float16))
        out["fwm_y"].append(fwm_targets(r.steps, ras, ctx))
        out["ctx"].append(np.broadcast_to(context_vector(ctx), (cfg.n_candidates, len(context_vector(ctx)))).copy())
        out["prb"].append(prb.astype(np.float32))
        out["tn"].append(tn.astype(np.float32))
        out["kpi"].append(kpi_targets(r.steps))
        out["scm"].append(r.scm.astype(np.float32))
        out["p99_h"].append(r.p99_ms.astype(np.float32))
        out["loss_h"].append(r.loss.astype(np.float32))
        out["context_seed"].append(np.full(cfg.n_candidates, seed, dtype=np.int64))
        if progress is not None and task is not None:
            progress.advance(task)
    return {k: np.concatenate(v) for k, v in out.items()}


def load_or_generate(cache: Path, sc: ScenarioParams, cfg: DataConfig, progress: Progress | None = None
                     ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Train and held-out arrays (cached as ``.npz`` under ``cache``) and the dataset section of the card."""
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(repr((cfg, TRAIN_SEEDS, HELDOUT_SEEDS)).encode()).hexdigest()[:12]
    parts: list[dict[str, np.ndarray]] = []
    info: dict[str, Any] = {"behaviour_policy": BEHAVIOUR_POLICY, "config": cfg.__dict__, "files": {}}
    for name, seeds in (("train", TRAIN_SEEDS), ("heldout", HELDOUT_SEEDS)):
        f = cache / f"wm_{name}_{key}.npz"
        if not f.exists():
            arrays = generate(sc, seeds, cfg, progress)
            with f.open("wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]
        with np.load(f) as z:
            arrays = {k: z[k] for k in z.files}
        parts.append(arrays)
        info["files"][name] = {"file": f.name, "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
                               "rows": len(arrays["ctx"]), "context_seeds": list(seeds)}
    return parts[0], parts[1], info

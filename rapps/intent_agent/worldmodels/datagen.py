"""Training data for the world models: observed contexts -> the twin service's batched per-step rollouts.

Per context seed (``TRAIN_SEEDS`` / ``HELDOUT_SEEDS``, disjoint from the planner-tuning and benchmark seeds in
:mod:`rapps.intent_agent.worldmodels.seeds`): the network's observation source (:class:`TrainingNetwork`) hands the
KPM of ``warmup`` slow steps under the static uniform allocation (in-distribution shocks only: ``hotspot-ID`` for
even, ``wave-ID`` for odd seeds) with the link alarms, and the twin service rolls ``n_candidates`` behaviour-policy
plans x ``n_twin_seeds`` exogenous seeds out from those observations with per-slow-step detail. The rApp sees the
network only through these interfaces; the composition root wires them (``nextric train fwm``: the testbed's
emulator warm-ups and its twin service in process).

Behaviour policy (recorded in the data card): ``library-perturbed`` — parameter vectors drawn around the
planner-library family centres (:func:`rapps.intent_agent.planner.library.sample_params`) with Gaussian
spread ``spread`` (wider than the planner library, to cover the region the CEM search visits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from nextric.arrays import BoolArray
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.kpm import report_of
from nextric.parallel import WorkerPool, split
from nextric.topology import Topology
from rapps.intent_agent.planner.library import plans_from_params, sample_params
from rapps.intent_agent.planner.twin import StepDetail, TwinPort, rollout_shares
from rapps.intent_agent.worldmodels.features import CityRaster, Context, context_vector, fwm_grid, fwm_targets
from rapps.intent_agent.worldmodels.seeds import HELDOUT_SEEDS, TRAIN_SEEDS

#: (regime label, context seed, warm-up slow steps) -> (KPM messages, one per slow step; link alarms (L,))
Observe = Callable[[str, int, int], tuple[Sequence[kpm_pb2.KpmIndicationMessage], BoolArray]]


@dataclass(frozen=True, eq=False)
class TrainingNetwork:
    """What the training talks to: the network's description, the twin service, an observation source, and the
    simulator facts for the model cards' provenance."""

    topology: Topology
    twin: TwinPort
    observe: Observe
    provenance: dict[str, Any] = field(default_factory=dict)
    #: how to build this network again in a worker process (picklable, e.g. ``functools.partial`` of a module
    #: function); None: the data is generated in this process only
    rebuild: Callable[[], TrainingNetwork] | None = None

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


def kpi_targets(steps: StepDetail) -> np.ndarray:
    """(N, M, K, N_KPI) float32 per-step targets from the twin's per-step detail."""
    return np.concatenate([steps.loss, np.log1p(steps.p99_ms), steps.throughput_mbps / 100.0, steps.prb_util,
                           steps.cum_loss], axis=-1).astype(np.float32)


def _observation(seed: int, cfg: DataConfig) -> tuple[str, np.random.Generator, int]:
    """A context seed's regime, its random stream (warm-up length drawn, the plans drawn next) and warm-up steps."""
    regime = "hotspot-ID" if seed % 2 == 0 else "wave-ID"
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    return regime, rng, int(rng.integers(cfg.warmup_min, cfg.warmup_max + 1))


def generate(net: TrainingNetwork, seeds: tuple[int, ...], cfg: DataConfig,
             progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Arrays (one row per context x candidate): grid0, fwm_y, ctx, prb, tn, kpi (M seeds), scm, cost."""
    topo = net.topology
    ras = CityRaster.build(topo)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("grid0", "fwm_y", "ctx", "prb", "tn", "kpi", "scm",
                                                         "p99_h", "loss_h", "context_seed")}
    task = progress.add_task("world-model data", total=len(seeds)) if progress else None
    for seed in seeds:
        regime, rng, warm = _observation(seed, cfg)
        msgs, up = net.observe(regime, seed, warm)
        reps = [report_of([m], topo.cell_ids_by_key, topo.slice_ids, strict=True) for m in msgs]
        ctx = Context.observed(topo, reps, regime, up)
        u, _ = sample_params(ras, cfg.n_candidates, rng, spread=cfg.spread)
        prb, tn = plans_from_params(ras, ctx, u, topo.slow_steps_per_horizon)
        r = rollout_shares(net.twin, topo, msgs, regime, up, prb, tn, cfg.n_twin_seeds, seed, per_step=True)
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


@dataclass(frozen=True, eq=False)
class SeedChunk:
    """One worker's share of :func:`generate_on`: :func:`generate` over a chunk of seeds on a network of its own.

    An observation source may keep state from its first observation (the testbed's keeps the estimators' NMSE
    table its first warm-up measured), so a chunk's network first makes the serial run's first observation
    (``first_seed``) again: every chunk then sees the network the serial run saw, and the rows are identical."""

    make_net: Callable[[], TrainingNetwork]
    cfg: DataConfig
    first_seed: int

    def __call__(self, seeds: tuple[int, ...]) -> dict[str, np.ndarray]:
        net = self.make_net()
        if seeds and seeds[0] != self.first_seed:
            regime, _, warm = _observation(self.first_seed, self.cfg)
            net.observe(regime, self.first_seed, warm)
        return generate(net, seeds, self.cfg)


def generate_on(pool: WorkerPool, make_net: Callable[[], TrainingNetwork], seeds: tuple[int, ...], cfg: DataConfig,
                progress: Progress | None = None, chunks: int | None = None) -> dict[str, np.ndarray]:
    """:func:`generate` with the seeds cut into ``chunks`` (default: the pool's workers) contiguous chunks run on
    ``pool``'s workers, each on a network from ``make_net``; the same arrays as ``generate(make_net(), seeds,
    cfg)``, row for row."""
    if not seeds:
        raise ValueError("generate_on needs at least one seed")
    parts = pool.map(SeedChunk(make_net, cfg, seeds[0]), [tuple(c) for c in split(seeds, chunks or pool.workers)],
                     progress, f"world-model data ({len(seeds)} context seeds)")
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def load_or_generate(cache: Path, net: TrainingNetwork, cfg: DataConfig, progress: Progress | None = None,
                     pool: WorkerPool | None = None
                     ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Train and held-out arrays (cached as ``.npz`` under ``cache``) and the dataset section of the card; with a
    ``pool`` and a network that can be rebuilt (``net.rebuild``), generated on the pool's workers (same arrays)."""
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(repr((cfg, TRAIN_SEEDS, HELDOUT_SEEDS, net.topology.scenario,
                               net.provenance.get("simulator"))).encode()).hexdigest()[:12]
    parts: list[dict[str, np.ndarray]] = []
    info: dict[str, Any] = {"behaviour_policy": BEHAVIOUR_POLICY, "config": cfg.__dict__, "files": {}}
    for name, seeds in (("train", TRAIN_SEEDS), ("heldout", HELDOUT_SEEDS)):
        f = cache / f"wm_{name}_{key}.npz"
        if not f.exists():
            if pool is not None and net.rebuild is not None and pool.settings.backend != "serial":
                arrays = generate_on(pool, net.rebuild, seeds, cfg, progress)
            else:
                arrays = generate(net, seeds, cfg, progress)
            with f.open("wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]
        with np.load(f) as z:
            arrays = {k: z[k] for k in z.files}
        parts.append(arrays)
        info["files"][name] = {"file": f.name, "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
                               "rows": len(arrays["ctx"]), "context_seeds": list(seeds)}
    return parts[0], parts[1], info

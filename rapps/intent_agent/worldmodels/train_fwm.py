"""Train the Field World Model (``nextric train fwm``): a small CNN, MSE regression, ONNX export + model card.

Input: the FWM grid (B, 18, 16, 16) of :func:`rapps.intent_agent.worldmodels.features.fwm_grid` (city layout,
demand, capacity, PRB and transport shares of one slow step's action, link state, zones, mobility prior).
Output: the 12 field features per cell (B, C, 12) of the first slow step under that action (twin rollouts,
mean over twin seeds). Normalisation is inside the exported graph, so serving feeds raw grids.

Run: ``python -m rapps.intent_agent.worldmodels.train_fwm [--epochs 40] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress
from torch import nn

from nextric.parallel import BACKENDS, ParallelSettings, WorkerPool
from rapps.intent_agent.worldmodels.datagen import BEHAVIOUR_POLICY, DataConfig, TrainingNetwork, load_or_generate
from rapps.intent_agent.worldmodels.features import CHANNELS, FIELD_FEATURES, N_CH, N_FIELD
from rapps.intent_agent.worldmodels.seeds import HELDOUT_SEEDS, TRAIN_SEEDS
from rapps.intent_agent.worldmodels.training import (
    CACHE_DIR,
    MODEL_DIR,
    export_onnx,
    model_card,
    r2_per_feature,
    seed_all,
    train_command,
    write_card,
)

FWM_FAILURE_CHECKS = [{"metric": "heldout_r2.*", "min": 0.8}]  #: every field feature, held out


class FieldWorldModel(nn.Module):
    """3 conv layers (16x16 -> 8x8 -> 4x4) + a 2-layer head to (C, 12); normalisation as buffers."""

    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def __init__(self, n_cells: int, x_mean: np.ndarray, x_std: np.ndarray, y_mean: np.ndarray,
                 y_std: np.ndarray, width: int = 24) -> None:
        super().__init__()
        self.n_cells = n_cells
        self.conv = nn.Sequential(
            nn.Conv2d(N_CH, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 16, 128), nn.ReLU(),
                                  nn.Linear(128, n_cells * N_FIELD))
        self.register_buffer("x_mean", torch.tensor(x_mean, dtype=torch.float32).view(1, N_CH, 1, 1))
        self.register_buffer("x_std", torch.tensor(x_std, dtype=torch.float32).view(1, N_CH, 1, 1))
        self.register_buffer("y_mean", torch.tensor(y_mean, dtype=torch.float32).view(1, n_cells, N_FIELD))
        self.register_buffer("y_std", torch.tensor(y_std, dtype=torch.float32).view(1, n_cells, N_FIELD))

    def normalised(self, grid: torch.Tensor) -> torch.Tensor:
        z: torch.Tensor = self.head(self.conv((grid - self.x_mean) / self.x_std))
        return z.view(-1, self.n_cells, N_FIELD)

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        return self.normalised(grid) * self.y_std + self.y_mean


def train(data: dict[str, np.ndarray], epochs: int, seed: int, progress: Progress | None = None
          ) -> FieldWorldModel:
    seed_all(seed)
    x = data["grid0"].astype(np.float32)
    y = data["fwm_y"].astype(np.float32)
    n_cells = y.shape[1]
    xm, xs = x.mean((0, 2, 3)), x.std((0, 2, 3)) + 1e-3
    ym, ys = y.mean(0), y.std(0) + 1e-3
    model = FieldWorldModel(n_cells, xm, xs, ym, ys)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xt, yt = torch.from_numpy(x), torch.from_numpy((y - ym) / ys)
    g = torch.Generator().manual_seed(seed)
    task = progress.add_task("FWM epochs", total=epochs) if progress else None
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 128):
            idx = perm[i:i + 128]
            loss = ((model.normalised(xt[idx]) - yt[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
        sched.step()
        if progress is not None and task is not None:
            progress.advance(task)
    model.eval()
    return model


def predict(model: FieldWorldModel, grid: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(grid[i:i + 512].astype(np.float32))).numpy()
                               for i in range(0, len(grid), 512)])


def main(argv: list[str] | None, net: TrainingNetwork) -> dict[str, Any]:
    """``nextric train fwm`` on the training network ``net`` (wired by the composition root)."""
    ap = argparse.ArgumentParser(prog="nextric train fwm")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--cache", type=Path, default=CACHE_DIR)
    ap.add_argument("--backend", choices=BACKENDS, default="serial", help="where the training data is generated "
                    "when it is not cached (ray: a local instance, or the cluster at RAY_ADDRESS); same arrays")
    ap.add_argument("--workers", type=int, default=2, help="workers of the process / ray backend")
    a = ap.parse_args(argv)
    console = Console()
    sc = net.topology
    t0 = time.perf_counter()
    with Progress(console=console) as prog:
        with WorkerPool(ParallelSettings.of(a.backend, a.workers, os.environ)) as pool:
            train_d, held, info = load_or_generate(a.cache, net, DataConfig(scenario=net.topology.scenario), prog,
                                                   pool)
        t1 = time.perf_counter()
        model = train(train_d, a.epochs, a.seed, prog)
    r2 = r2_per_feature(held["fwm_y"], predict(model, held["grid0"]))
    r2_train = r2_per_feature(train_d["fwm_y"][:2048], predict(model, train_d["grid0"][:2048]))
    n_params = sum(p.numel() for p in model.parameters())
    path = a.out / "fwm.onnx"
    dummy = torch.from_numpy(held["grid0"][:2].astype(np.float32))
    sha = export_onnx(model, (dummy,), path, ["grid"], ["fields"], {"grid": {0: "batch"}, "fields": {0: "batch"}})
    r2_named = dict(zip(FIELD_FEATURES, map(float, r2), strict=True))
    ev = {"heldout_r2_mean": float(r2.mean()), "heldout_r2": r2_named,
          "train_r2_mean": float(r2_train.mean()), "heldout_rows": len(held["ctx"]),
          "data_s": t1 - t0, "train_s": time.perf_counter() - t1}
    card = model_card(
        sc, "intent-agent-fwm", "field world model",
        "per-cell field features (per-slice capacity, load, stress, transport bottleneck, PRB use, SINR-eq) of "
        "the next slow step from a grid of observed fields and one candidate action",
        list(TRAIN_SEEDS) + list(HELDOUT_SEEDS), BEHAVIOUR_POLICY,
        {"name": "fwm", "format": "onnx", "file": path.name, "sha256": sha, "params": int(n_params),
         "bytes": path.stat().st_size, "inputs": {"grid": f"(B, {N_CH}, 16, 16) float32: {', '.join(CHANNELS)}"},
         "outputs": {"fields": f"(B, {sc.n_cells}, {N_FIELD}) float32: {', '.join(FIELD_FEATURES)}"},
         "architecture": "3 conv (24, 48 s2, 48 s2) + MLP 768-128-120, MSE on standardised targets",
         "training": {"epochs": a.epochs, "seed": a.seed, "optimiser": "Adam 2e-3 cosine", "batch": 128,
                      "train_context_seeds": list(TRAIN_SEEDS), "heldout_context_seeds": list(HELDOUT_SEEDS),
                      "command": train_command("fwm", net.topology.scenario)}},
        ev, {**info, "config": DataConfig(scenario=net.topology.scenario).__dict__}, FWM_FAILURE_CHECKS, net.provenance)
    write_card(card, a.out / "fwm.card.json")
    console.print(f"FWM: held-out R^2 {ev['heldout_r2_mean']:.3f} (train {ev['train_r2_mean']:.3f}), "
                  f"{n_params} params, {path.stat().st_size / 1e3:.0f} kB -> {path}")
    for k, v in r2_named.items():
        console.print(f"  {k:14s} R^2 {v:.3f}")
    return ev


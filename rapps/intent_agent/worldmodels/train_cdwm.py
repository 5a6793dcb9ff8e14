"""Train the Control/Dynamics World Model (``nextric train cdwm``): an RSSM ensemble trained with the ELBO.

Each member (paper: 3 members, 96 deterministic + 32 stochastic dims):

* ``h_0 = tanh(W [ctx, m * fields])`` from the observed context and the FWM field features of the plan's mean
  action (``m`` = field mask: dropped with probability 0.25 in training, so that the same network has a
  field-free mode for the CDWM-only ablation);
* ``h_k = GRU(h_{k-1}, MLP([z_{k-1}, a_k]))`` with the action a_k = (PRB shares 10x3, transport shares 10x3);
* prior ``p(z_k | h_k)``, posterior ``q(z_k | h_k, y_k)`` (diagonal Gaussians), decoder
  ``p(y_k | h_k, z_k)`` (diagonal Gaussian, learned std) over 18 standardised KPIs per step: loss, log1p p99,
  throughput, PRB use per slice, cumulative loss per slice, and (last step only) the horizon log1p p99.

Loss per sequence: ``sum_k [ -log p(y_k | h_k, z_k) + beta max(KL(q || p), free_nats) ]`` (z ~ q, reparameterised).
Members see different bootstrap resamples and initialisations. The exported graph runs the prior rollout
(imagination) of all members for a batch of candidates with the noise passed in (eps_z, eps_y), so serving is
deterministic given its seed. A noise temperature is fitted on calibration contexts (the last
``--calib-contexts`` of the training seeds, not used for fitting) so that the 90 % intervals cover 90 %.

Run: ``python -m rapps.intent_agent.worldmodels.train_cdwm [--epochs 30] [--seed 0]`` (after ``train_fwm``).
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

from nextric.kpi import scm as scm_of
from nextric.parallel import BACKENDS, ParallelSettings, WorkerPool
from nextric.topology import Topology
from rapps.intent_agent.worldmodels.datagen import (
    BEHAVIOUR_POLICY,
    KPI_NAMES,
    DataConfig,
    TrainingNetwork,
    load_or_generate,
)
from rapps.intent_agent.worldmodels.features import CityRaster, context_from_vector
from rapps.intent_agent.worldmodels.seeds import HELDOUT_SEEDS, TRAIN_SEEDS
from rapps.intent_agent.worldmodels.serving import N_Y, Y_CUM, Y_HP99, WorldModels, _session
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

H, Z, E = 96, 32, 3
FREE_NATS = 1.0
Y_NAMES = (*KPI_NAMES, "hp99_embb", "hp99_urllc", "hp99_fwa")


#: held-out per-step R^2 of every output, the horizon SCM's rank with the data, calibrated 90 % intervals
CDWM_FAILURE_CHECKS = [{"metric": "heldout.per_step_r2.*", "min": 0.8},
                       {"metric": "heldout.horizon_scm_corr", "min": 0.7},
                       {"metric": "heldout.coverage90_horizon", "min": 0.85, "max": 0.95},
                       {"metric": "heldout.coverage90_scm", "min": 0.85, "max": 0.95}]


def _gauss(x: torch.Tensor, lo: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    mu, s = x.chunk(2, dim=-1)
    return mu, nn.functional.softplus(s) + lo


class Member(nn.Module):
    """One RSSM (see module docstring); GRU written out so that the ONNX graph has plain ops."""

    def __init__(self, d_ctx: int, d_f: int, d_a: int) -> None:
        super().__init__()
        self.init = nn.Linear(d_ctx + d_f, H)
        self.inp = nn.Sequential(nn.Linear(Z + d_a, H), nn.ELU())
        self.gx = nn.Linear(H, 3 * H)
        self.gh = nn.Linear(H, 3 * H)
        self.prior = nn.Sequential(nn.Linear(H, H), nn.ELU(), nn.Linear(H, 2 * Z))
        self.post = nn.Sequential(nn.Linear(H + N_Y, H), nn.ELU(), nn.Linear(H, 2 * Z))
        self.dec = nn.Sequential(nn.Linear(H + Z, H), nn.ELU(), nn.Linear(H, 2 * N_Y))

    def gru(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        xr, xz, xn = self.gx(x).chunk(3, -1)
        hr, hz, hn = self.gh(h).chunk(3, -1)
        r = torch.sigmoid(xr + hr)
        u = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - u) * n + u * h

    def h0(self, ctx: torch.Tensor, fields: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.init(torch.cat([ctx, fields * mask], -1)))

    def elbo(self, ctx: torch.Tensor, fields: torch.Tensor, mask: torch.Tensor, act: torch.Tensor,
             y: torch.Tensor, ymask: torch.Tensor) -> torch.Tensor:
        """Negative ELBO per sequence (B,); y (B, K, Y) standardised, ymask (K, Y) 1 where supervised."""
        h = self.h0(ctx, fields, mask)
        z = torch.zeros(ctx.shape[0], Z)
        total = torch.zeros(ctx.shape[0])
        for k in range(act.shape[1]):
            h = self.gru(self.inp(torch.cat([z, act[:, k]], -1)), h)
            mp, sp = _gauss(self.prior(h))
            mq, sq = _gauss(self.post(torch.cat([h, y[:, k]], -1)))
            z = mq + sq * torch.randn_like(sq)
            my, sy = _gauss(self.dec(torch.cat([h, z], -1)), lo=0.02)
            nll = (0.5 * ((y[:, k] - my) / sy) ** 2 + torch.log(sy)) * ymask[k]
            kl = (torch.log(sp / sq) + (sq**2 + (mq - mp) ** 2) / (2 * sp**2) - 0.5).sum(-1)
            total = total + nll.sum(-1) + torch.clamp(kl, min=FREE_NATS)
        return total

    def imagine(self, ctx: torch.Tensor, fields: torch.Tensor, mask: torch.Tensor, act: torch.Tensor,
                eps_z: torch.Tensor, eps_y: torch.Tensor) -> torch.Tensor:
        """Prior rollout: standardised outputs (B, K, Y) with the given noise (B, K, Z), (B, K, Y)."""
        h = self.h0(ctx, fields, mask)
        z = torch.zeros(ctx.shape[0], Z)
        outs = []
        for k in range(act.shape[1]):
            h = self.gru(self.inp(torch.cat([z, act[:, k]], -1)), h)
            mp, sp = _gauss(self.prior(h))
            z = mp + sp * eps_z[:, k]
            my, sy = _gauss(self.dec(torch.cat([h, z], -1)), lo=0.02)
            outs.append(my + sy * eps_y[:, k])
        return torch.stack(outs, 1)


class Ensemble(nn.Module):
    """E members + standardisation buffers; forward = the exported imagination graph (denormalised)."""

    c_mean: torch.Tensor
    c_std: torch.Tensor
    f_mean: torch.Tensor
    f_std: torch.Tensor
    a_mean: torch.Tensor
    a_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def __init__(self, d_ctx: int, d_f: int, d_a: int, stats: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.members = nn.ModuleList([Member(d_ctx, d_f, d_a) for _ in range(E)])
        for k, v in stats.items():
            self.register_buffer(k, torch.tensor(v, dtype=torch.float32))

    def _member(self, i: int) -> Member:
        m = self.members[i]
        assert isinstance(m, Member)
        return m

    def norm_inputs(self, ctx: torch.Tensor, fields: torch.Tensor, act: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return ((ctx - self.c_mean) / self.c_std, (fields - self.f_mean) / self.f_std,
                (act - self.a_mean) / self.a_std)

    def forward(self, ctx: torch.Tensor, fields: torch.Tensor, actions: torch.Tensor, eps_z: torch.Tensor,
                eps_y: torch.Tensor, field_mask: torch.Tensor) -> torch.Tensor:
        c, f, a = self.norm_inputs(ctx, fields, actions)
        ys = [self._member(i).imagine(c, f, field_mask, a, eps_z[i], eps_y[i]) for i in range(len(self.members))]
        return torch.stack(ys, 0) * self.y_std + self.y_mean


def targets(d: dict[str, np.ndarray]) -> np.ndarray:
    """(R*M, K, 18) per-step targets (+ horizon log1p p99 on the last step) from the data arrays."""
    kpi = d["kpi"]  # (R, M, K, 15)
    r, m, k, _ = kpi.shape
    hp = np.zeros((r, m, k, 3), dtype=np.float32)
    hp[:, :, -1] = np.log1p(d["p99_h"])
    return np.concatenate([kpi, hp], -1).reshape(r * m, k, N_Y)


def fields_for(d: dict[str, np.ndarray], wm: WorldModels, sc: Topology) -> np.ndarray:
    """FWM features (R, C*12) of each row's mean action, via the exported FWM (as in serving)."""
    ras = CityRaster.build(sc)
    out = np.zeros((len(d["ctx"]), sc.n_cells * 12), dtype=np.float32)
    seeds = d["context_seed"]
    for s in np.unique(seeds):
        idx = np.flatnonzero(seeds == s)
        ctx = context_from_vector(d["ctx"][idx[0]], sc.n_cells, sc.n_slices, sc.n_links)
        out[idx] = wm.fields(ras, ctx, d["prb"][idx].mean(1), d["tn"][idx].mean(1)).reshape(len(idx), -1)
    return out


def arrays(d: dict[str, np.ndarray], f: np.ndarray) -> dict[str, np.ndarray]:
    m = d["kpi"].shape[1]
    r, k = d["prb"].shape[:2]
    act = np.concatenate([d["prb"].reshape(r, k, -1), d["tn"].reshape(r, k, -1)], -1)
    return {"ctx": np.repeat(d["ctx"], m, 0), "fields": np.repeat(f, m, 0), "act": np.repeat(act, m, 0),
            "y": targets(d), "seed": np.repeat(d["context_seed"], m, 0)}


def train(a: dict[str, np.ndarray], epochs: int, seed: int, progress: Progress | None = None) -> Ensemble:
    seed_all(seed)
    stats = {"c_mean": a["ctx"].mean(0), "c_std": a["ctx"].std(0) + 1e-3,
             "f_mean": a["fields"].mean(0), "f_std": a["fields"].std(0) + 1e-3,
             "a_mean": a["act"].mean((0, 1)), "a_std": a["act"].std((0, 1)) + 1e-3}
    y = a["y"]
    ymask = np.ones(y.shape[1:], dtype=np.float32)
    ymask[:-1, 15:] = 0.0
    yw = y[:, -1]
    stats["y_mean"] = np.concatenate([y[:, :, :15].mean((0, 1)), yw[:, 15:].mean(0)])
    stats["y_std"] = np.concatenate([y[:, :, :15].std((0, 1)), yw[:, 15:].std(0)]) + 1e-3
    model = Ensemble(a["ctx"].shape[1], a["fields"].shape[1], a["act"].shape[2], stats)
    ct, ft, at = model.norm_inputs(*(torch.from_numpy(a[k].astype(np.float32)) for k in ("ctx", "fields", "act")))
    yt = torch.from_numpy(((y - stats["y_mean"]) / stats["y_std"]).astype(np.float32)) * torch.from_numpy(ymask)
    ym = torch.from_numpy(ymask)
    g = torch.Generator().manual_seed(seed)
    n = len(ct)
    task = progress.add_task("CDWM members x epochs", total=E * epochs) if progress else None
    for mem in model.members:
        assert isinstance(mem, Member)
        boot = torch.randint(0, n, (n,), generator=g)  # bootstrap resample per member
        opt = torch.optim.Adam(mem.parameters(), lr=2e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
        for _ in range(epochs):
            perm = boot[torch.randperm(n, generator=g)]
            for i in range(0, n, 256):
                idx = perm[i:i + 256]
                mask = (torch.rand(len(idx), 1, generator=g) > 0.25).float()
                loss = mem.elbo(ct[idx], ft[idx], mask, at[idx], yt[idx], ym).mean()
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(mem.parameters(), 10.0)
                opt.step()
            sched.step()
            if progress is not None and task is not None:
                progress.advance(task)
    model.eval()
    return model


def run_onnx(path: Path, a: dict[str, np.ndarray], n_samples: int, temperature: float, seed: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic member paths (E, R, K, Y) and samples (E*n, R, K, Y) from the exported graph."""
    sess = _session(path)
    rng = np.random.default_rng(seed)
    r, k = a["act"].shape[:2]
    reps = 1 + n_samples
    b = r * reps
    feed = {"ctx": np.repeat(a["ctx"], reps, 0).astype(np.float32),
            "fields": np.repeat(a["fields"], reps, 0).astype(np.float32),
            "actions": np.repeat(a["act"], reps, 0).astype(np.float32),
            "eps_z": (rng.standard_normal((E, b, k, Z)) * temperature).astype(np.float32),
            "eps_y": (rng.standard_normal((E, b, k, N_Y)) * temperature).astype(np.float32),
            "field_mask": np.ones((b, 1), dtype=np.float32)}
    det = (np.arange(b) % reps) == 0
    feed["eps_z"][:, det] = 0.0
    feed["eps_y"][:, det] = 0.0
    y = sess.run(None, feed)[0].reshape(E, r, reps, k, N_Y)
    return y[:, :, 0], y[:, :, 1:].transpose(0, 2, 1, 3, 4).reshape(E * n_samples, r, k, N_Y)


def coverage(samples: np.ndarray, y: np.ndarray, cols: slice | list[int], last_only: bool = False) -> float:
    """Share of true values inside the 5-95 % interval of the samples (per row, step, column)."""
    s = samples[:, :, -1:, cols] if last_only else samples[..., cols]
    t = y[:, -1:, cols] if last_only else y[..., cols]
    lo, hi = np.quantile(s, 0.05, axis=0), np.quantile(s, 0.95, axis=0)
    return float(((t >= lo) & (t <= hi)).mean())


def evaluate(path: Path, a: dict[str, np.ndarray], sc: Topology, temperature: float, n_samples: int = 16
             ) -> dict[str, Any]:
    det, smp = run_onnx(path, a, n_samples, temperature, seed=99)
    y = a["y"]
    mean = det.mean(0)
    per_step_cols = list(range(15))
    r2 = r2_per_feature(y[:, :, :15], mean[:, :, :15])
    mae = np.abs(y[:, :, :15] - mean[:, :, :15]).mean((0, 1))
    hl_true, hl_pred = y[:, -1, Y_CUM], np.clip(mean[:, -1, Y_CUM], 0, 1)
    hp_true, hp_pred = np.expm1(y[:, -1, Y_HP99]), np.maximum(np.expm1(mean[:, -1, Y_HP99]), 0)
    scm_true = scm_of(hl_true, hp_true, sc.slices)
    scm_pred = scm_of(hl_pred, hp_pred, sc.slices)
    smp_scm = scm_of(np.clip(smp[:, :, -1, Y_CUM], 0, 1), np.maximum(np.expm1(smp[:, :, -1, Y_HP99]), 0), sc.slices)
    lo, hi = np.quantile(smp_scm, 0.05, 0), np.quantile(smp_scm, 0.95, 0)
    return {
        "per_step_r2_mean": float(r2.mean()), "per_step_r2": dict(zip(KPI_NAMES, map(float, r2), strict=True)),
        "per_step_mae": dict(zip(KPI_NAMES, map(float, mae), strict=True)),
        "cumulative_loss_mae": [float(x) for x in np.abs(hl_true - hl_pred).mean(0)],
        "horizon_p99_mae_ms": [float(x) for x in np.abs(hp_true - hp_pred).mean(0)],
        "horizon_lp99_r2": [float(x) for x in r2_per_feature(y[:, -1, Y_HP99], mean[:, -1, Y_HP99])],
        "horizon_scm_mae": float(np.abs(scm_true - scm_pred).mean()),
        "horizon_scm_corr": float(np.corrcoef(scm_true, scm_pred)[0, 1]) if scm_true.std() > 0 else float("nan"),
        "coverage90_per_step": coverage(smp, y, per_step_cols),
        "coverage90_horizon": coverage(smp, y, list(range(12, 18)), last_only=True),
        "coverage90_scm": float(((scm_true >= lo) & (scm_true <= hi)).mean()),
        "rows": len(y), "samples_per_member": n_samples, "noise_temperature": temperature,
    }


def fit_temperature(path: Path, a: dict[str, np.ndarray], target: float = 0.9) -> float:
    """Noise temperature whose per-step 90 % interval coverage on the calibration rows is closest to 0.9."""
    best, best_err = 1.0, 1e9
    for t in (0.8, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5):
        _, smp = run_onnx(path, a, 16, t, seed=5)
        c = 0.5 * coverage(smp, a["y"], list(range(15))) + 0.5 * coverage(smp, a["y"], list(range(12, 18)), True)
        if abs(c - target) < best_err:
            best, best_err = t, abs(c - target)
    return best


def main(argv: list[str] | None, net: TrainingNetwork) -> dict[str, Any]:
    """``nextric train cdwm`` on the training network ``net`` (wired by the composition root)."""
    ap = argparse.ArgumentParser(prog="nextric train cdwm")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calib-contexts", type=int, default=16)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--cache", type=Path, default=CACHE_DIR)
    ap.add_argument("--backend", choices=BACKENDS, default="serial", help="where the training data is generated "
                    "when it is not cached (ray: a local instance, or the cluster at RAY_ADDRESS); same arrays")
    ap.add_argument("--workers", type=int, default=2, help="workers of the process / ray backend")
    a = ap.parse_args(argv)
    console = Console()
    sc = net.topology
    t0 = time.perf_counter()
    wm_fwm = WorldModels.__new__(WorldModels)  # FWM only (the CDWM does not exist yet)
    wm_fwm._fwm = _session(a.out / "fwm.onnx")
    with Progress(console=console) as prog:
        with WorkerPool(ParallelSettings.of(a.backend, a.workers, os.environ)) as pool:
            train_d, held, info = load_or_generate(a.cache, net, DataConfig(scenario=net.topology.scenario), prog,
                                                   pool)
        all_tr = arrays(train_d, fields_for(train_d, wm_fwm, sc))
        ho = arrays(held, fields_for(held, wm_fwm, sc))
        calib_seeds = set(TRAIN_SEEDS[-a.calib_contexts:])
        is_cal = np.isin(all_tr["seed"], list(calib_seeds))
        tr = {k: v[~is_cal] for k, v in all_tr.items()}
        cal = {k: v[is_cal] for k, v in all_tr.items()}
        t1 = time.perf_counter()
        model = train(tr, a.epochs, a.seed, prog)
    r = len(ho["ctx"])
    path = a.out / "cdwm.onnx"
    dummy = (torch.from_numpy(ho["ctx"][:2]), torch.from_numpy(ho["fields"][:2]),
             torch.from_numpy(ho["act"][:2].astype(np.float32)), torch.zeros(E, 2, ho["act"].shape[1], Z),
             torch.zeros(E, 2, ho["act"].shape[1], N_Y), torch.ones(2, 1))
    sha = export_onnx(model, dummy, path, ["ctx", "fields", "actions", "eps_z", "eps_y", "field_mask"], ["kpis"],
                      {"ctx": {0: "batch"}, "fields": {0: "batch"}, "actions": {0: "batch"},
                       "eps_z": {1: "batch"}, "eps_y": {1: "batch"}, "field_mask": {0: "batch"},
                       "kpis": {1: "batch"}})
    temp = fit_temperature(path, cal)
    ev = evaluate(path, ho, sc, temp)
    ev_cal = evaluate(path, cal, sc, temp)
    n_params = sum(p.numel() for p in model.parameters())
    ev_all = {"heldout": ev, "calibration_split": {k: ev_cal[k] for k in ("coverage90_per_step",
                                                                           "coverage90_horizon", "coverage90_scm")},
              "heldout_rows": r, "data_s": t1 - t0, "train_s": time.perf_counter() - t1}
    card = model_card(
        sc, "intent-agent-cdwm", "control/dynamics world model",
        "per-slice KPI trajectories (loss, p99 latency, throughput, PRB use, cumulative loss, horizon p99) of a "
        "12-step shares plan from the observed context and FWM features, with ensemble + stochastic intervals",
        list(TRAIN_SEEDS) + list(HELDOUT_SEEDS), BEHAVIOUR_POLICY,
        {"name": "cdwm", "format": "onnx", "file": path.name, "sha256": sha, "params": int(n_params),
         "bytes": path.stat().st_size, "members": E, "deter_dim": H, "stoch_dim": Z,
         "horizon_steps": sc.slow_steps_per_horizon, "noise_temperature": temp,
         "inputs": {"ctx": "(B, 71) observed context", "fields": "(B, 120) FWM features of the mean action",
                    "actions": "(B, 12, 60) PRB shares 10x3 + transport shares 10x3 per step",
                    "eps_z": f"(3, B, 12, {Z}) prior noise", "eps_y": f"(3, B, 12, {N_Y}) decoder noise",
                    "field_mask": "(B, 1) 1 = use FWM features, 0 = field-free (ablation)"},
         "outputs": {"kpis": f"(3, B, 12, {N_Y}) per member: {', '.join(Y_NAMES)}"},
         "architecture": "RSSM: GRU 96 deterministic + 32 stochastic (diag. Gaussian prior/posterior), "
                         "MLP decoder with learned std; ELBO with free nats 1.0; bootstrap ensemble of 3",
         "training": {"epochs": a.epochs, "seed": a.seed, "optimiser": "Adam 2e-3 cosine", "batch": 256,
                      "field_dropout": 0.25, "train_context_seeds": sorted(set(TRAIN_SEEDS) - calib_seeds),
                      "calibration_context_seeds": sorted(calib_seeds),
                      "heldout_context_seeds": list(HELDOUT_SEEDS),
                      "command": train_command("cdwm", net.topology.scenario)}},
        ev_all, {**info, "config": DataConfig(scenario=net.topology.scenario).__dict__}, CDWM_FAILURE_CHECKS,
        net.provenance)
    write_card(card, a.out / "cdwm.card.json")
    console.print(f"CDWM: {n_params} params, {path.stat().st_size / 1e3:.0f} kB, temperature {temp}")
    console.print(f"  held-out per-step R^2 {ev['per_step_r2_mean']:.3f}, horizon SCM MAE {ev['horizon_scm_mae']:.3f} "
                  f"(corr {ev['horizon_scm_corr']:.2f}), coverage90 per-step {ev['coverage90_per_step']:.3f}, "
                  f"horizon {ev['coverage90_horizon']:.3f}, SCM {ev['coverage90_scm']:.3f}")
    return ev_all


"""``nextric train beam-ahead``: train the BM-Case2 beam predictor (best Set-A beam 1 and 2 report periods ahead
from a UE's last Set-B reports), export ONNX + model card.

Data: :func:`testbed.beam_data.draw_samples` with one report per UE every sub-step (the xApp's report period) on
the wide-Set-B PoC city (``twm_poc_wide_b``), windows from :func:`bench.beam_ahead.ahead_windows` (the last
:data:`~xapps.beam_predictor.core.AHEAD_HISTORY` reports within the UE's stay in its cell; samples whose cell
changes before ``t + 2`` are left out). Training seeds 0-11, validation 500-501, the benchmark 1000-1003.
Model: an MLP over :func:`xapps.beam_predictor.core.ahead_features` with one softmax head per horizon, output
``probs`` (N, H, B_A). Seeded, one thread: the same command writes byte-identical artefacts.

    python -m suite.trainers.beam_ahead [--out xapps/beam_predictor/model_ahead] [--epochs 12] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress

from bench.beam_ahead import HORIZONS, SPEED_CLASSES, ahead_windows
from nextric.datacard import DataCard, validate_card
from testbed.beam_data import BeamDataSpec, beam_config, beam_dataset_card, draw_samples
from testbed.core.scenario import load_scenario
from testbed.datacards import simulator_version
from xapps.beam_predictor.core import AHEAD_HISTORY, DELTA_CLIP, RSRP_SCALE_DB, ahead_features

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "xapps" / "beam_predictor" / "model_ahead"
ARTEFACT, CARD = "beam_ahead.onnx", "beam_ahead.card.json"
OPSET = 17


@dataclass(frozen=True)
class AheadTrainConfig:
    scenario: str = "twm_poc_wide_b"
    train_seeds: tuple[int, ...] = tuple(range(12))
    val_seeds: tuple[int, ...] = (500, 501)
    n_steps: int = 300
    history: int = AHEAD_HISTORY
    horizons: tuple[int, ...] = HORIZONS
    hidden: int = 128
    epochs: int = 12
    batch: int = 1024
    lr: float = 2e-3
    seed: int = 0


class AheadMlp(torch.nn.Module):
    """features (N, F) -> logits (N, H, B_A)."""

    def __init__(self, n_in: int, n_out: int, n_h: int, hidden: int) -> None:
        super().__init__()
        self.n_out, self.n_h = n_out, n_h
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.ReLU(), torch.nn.Linear(hidden, n_h * n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.net(x)).reshape(-1, self.n_h, self.n_out)

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.forward(x), dim=-1)


class _Export(torch.nn.Module):
    def __init__(self, m: AheadMlp) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m.probs(x)


def export_onnx(model: AheadMlp, n_in: int) -> bytes:
    """ONNX bytes (opset 17, TorchScript exporter): input ``rsrp_hist`` (N, F), output ``probs`` (N, H, B_A)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Export(model).eval(), (torch.zeros(1, n_in),), buf,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET, input_names=["rsrp_hist"], output_names=["probs"],
                          dynamic_axes={"rsrp_hist": {0: "n"}, "probs": {0: "n"}})
    return buf.getvalue()


def _metrics(probs: np.ndarray, w: dict[str, np.ndarray], horizons: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    top = probs.argmax(-1)
    for j, h in enumerate(horizons):
        a = w["set_a_ahead"][:, j].astype(np.float64)
        loss = a.max(1) - a[np.arange(len(a)), top[:, j]]
        row: dict[str, Any] = {"top1": float((top[:, j] == w["y"][:, j]).mean()),
                               "p_within_1db": float((loss <= 1.0).mean())}
        for name, lo, hi in SPEED_CLASSES:
            sel = (w["speed_mps"] >= lo) & (w["speed_mps"] < hi)
            if sel.any():
                row[f"top1_{name}"] = float((top[sel, j] == w["y"][sel, j]).mean())
        out[f"t+{h}"] = {k: round(v, 4) for k, v in row.items()}
    return out


def train(cfg: AheadTrainConfig, console: Console | None = None) -> tuple[bytes, DataCard, AheadMlp]:
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    sc = load_scenario(cfg.scenario)
    bc = beam_config(sc)
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("testbed samples (every sub-step)",
                             total=(len(cfg.train_seeds) + len(cfg.val_seeds)) * cfg.n_steps)
        tr = draw_samples(sc, cfg.train_seeds, cfg.n_steps, 1, on_step=lambda: prog.advance(task))
        va = draw_samples(sc, cfg.val_seeds, cfg.n_steps, 1, on_step=lambda: prog.advance(task))
        wt = ahead_windows(tr, len(cfg.train_seeds), cfg.n_steps, cfg.history, cfg.horizons, genie=False)
        wv = ahead_windows(va, len(cfg.val_seeds), cfg.n_steps, cfg.history, cfg.horizons)
        x = torch.from_numpy(ahead_features(wt["hist"]))
        y = torch.from_numpy(wt["y"].astype(np.int64))
        model = AheadMlp(x.shape[1], bc["set_a_size"], len(cfg.horizons), cfg.hidden)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
        gen = torch.Generator().manual_seed(cfg.seed)
        epoch_task = prog.add_task("training", total=cfg.epochs)
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(x), generator=gen)
            model.train()
            for i in range(0, len(x), cfg.batch):
                b = perm[i:i + cfg.batch]
                logits = model(x[b])
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, bc["set_a_size"]), y[b].reshape(-1))
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
            sched.step()
            prog.advance(epoch_task)
    model.eval()
    with torch.no_grad():
        pv = model.probs(torch.from_numpy(ahead_features(wv["hist"]))).numpy()
    val = _metrics(pv, wv, cfg.horizons)
    data = export_onnx(model, int(x.shape[1]))
    spec_tr = BeamDataSpec(cfg.scenario, cfg.train_seeds, cfg.n_steps, 1)
    spec_va = BeamDataSpec(cfg.scenario, cfg.val_seeds, cfg.n_steps, 1)
    card = model_card(cfg, bc, data, beam_dataset_card(sc, spec_tr, tr, name=f"{sc.name}-beam-bm-case2"),
                      beam_dataset_card(sc, spec_va, va, name=f"{sc.name}-beam-bm-case2-validation"), val,
                      sum(p.numel() for p in model.parameters()), int(x.shape[1]), len(wt["y"]),
                      float(wt["kept"]), len(wv["y"]), int(sc.timing.fast_step_s * 1000))
    return data, card, model


def model_card(cfg: AheadTrainConfig, bc: dict[str, Any], data: bytes, train_card: DataCard, val_card: DataCard,
               val: dict[str, Any], n_params: int, n_in: int, n_train: int, kept: float, n_val: int,
               period_ms: int) -> DataCard:
    tc = dict(train_card.raw)
    hs = list(cfg.horizons)
    n_b, n_a = len(bc["set_b"]), bc["set_a_size"]
    speeds = tc["dataset"]["speed_mps_values"]
    doc: dict[str, Any] = {
        "kind": "model", "schema_version": "1.0", "name": f"beam-predictor-bm-case2-{bc['set_b_kind']}",
        "task": {"name": "beam prediction ahead of time (3GPP BM-Case2, temporal domain)",
                 "description": f"best of {n_a} Set-A beams {hs} report periods ({period_ms} ms each) ahead from "
                                f"the UE's last {cfg.history} Set-B reports ({n_b} {bc['set_b_kind']} beams, "
                                f"{bc['set_b_elements']} elements each)",
                 "prediction_target": "best Set-A beam at t + h for each horizon h; softmax per horizon",
                 "horizons_report_periods": hs},
        "configuration": {**tc["configuration"], "report_period_ms": period_ms, "history_reports": cfg.history},
        "provenance": {**tc["provenance"], "validation_seeds": list(cfg.val_seeds),
                       "trainer": "suite.trainers.beam_ahead", "command": "nextric train beam-ahead",
                       "torch": torch.__version__, "train_config": asdict(cfg),
                       "windows": "bench.beam_ahead.ahead_windows: reports whose serving cell is unchanged up to "
                                  f"t + {max(hs)} ({kept:.1%} of the training reports); history restarts at a "
                                  "handover (xapps.beam_predictor.core.history_index / ReportHistory)"},
        "environment": {**tc["environment"], "speeds_mps_in_training": speeds,
                        "speed_classes": {n: [lo, None if not np.isfinite(hi) else hi] for n, lo, hi in SPEED_CLASSES},
                        "geometries_in_training": "PoC city (twm_poc_wide_b): pedestrians random-walking, tethered "
                                                  "to their zones (0.8 and 1.4 m/s), vehicles along the one corridor "
                                                  "polyline at 12 m/s with lateral offsets, static FWA at 4-6 m; "
                                                  "7 sectorised cells; LOS K 9 dB + 4 clusters decorrelating over "
                                                  "20 m"},
        "protocol": {"layer": "PHY", "timescale_s": period_ms / 1000,
                     "interface": "E2 BEAM indications (one per report period) in, E2SM-RC beam switch out"},
        "policy": {"objectives": ["top-1 accuracy at t + h (cross-entropy summed over horizons)"],
                   "logging_policy": tc["policy"]["logging_policy"]},
        "evaluation": {"baselines": ["last best beam (BM-Case1 model on the latest report, held)",
                                     "constant-velocity Kalman tracker on the BM-Case1 beam angle",
                                     "linear extrapolation of that angle"],
                       "distribution_shifts": [*tc["evaluation"]["distribution_shifts"],
                                               "UE speeds outside those seen in training (e.g. > 12 m/s: highway)",
                                               "another report period (the history spacing is learnt)",
                                               "other street geometries (one corridor in training)"],
                       "failure_criteria": ["top-1 at t + 1 for vehicular UEs below the better of last-best-beam "
                                            "and the Kalman tracker (bench/beam_ahead.py)",
                                            "top-1 at t + 1 for any speed class below last best beam",
                                            "configuration or report period outside validity_range -> the BM-Case1 "
                                            "decision (model or classical)"],
                       "validation": val,
                       "benchmark": "bench/beam_ahead.py (held-out seeds 1000-1003; bench/results/beam_ahead.json)"},
        "model": {"name": "beam-ahead-mlp", "format": "onnx", "opset": OPSET,
                  "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data), "parameters": int(n_params),
                  "architecture": f"MLP {n_in}-{cfg.hidden}-{cfg.hidden}-{len(hs)}x{n_a}, ReLU, softmax per horizon",
                  "inputs": {"rsrp_hist": f"(N, {n_in}) float32, xapps.beam_predictor.core.ahead_features of the "
                                          f"last {cfg.history} reports (N, {cfg.history}, {n_b}) dBm, oldest first: "
                                          f"each relative to its strongest / {RSRP_SCALE_DB:g} dB, then the "
                                          f"report-to-report changes / {RSRP_SCALE_DB:g} dB clipped to "
                                          f"+-{DELTA_CLIP:g}; columns in configuration.set_b order"},
                  "outputs": {"probs": f"(N, {len(hs)}, {n_a}) float32: per horizon {hs}, probability of each "
                                       "Set-A beam being best then"},
                  "serving": "onnxruntime, CPU, 1 thread"},
        "confidence": {"measure": "softmax margin p1 - p2 of the served horizon", "min_margin": 0.0,
                       "rule": "no low-confidence fallback (the BM-Case1 decision is not better ahead of time)"},
        "datasets": {"train": tc["name"], "validation": val_card.name, "train_samples": n_train,
                     "validation_samples": n_val, "train_card": tc},
        "validity_range": {**tc["validity_range"], "report_period_ms": {"values": [period_ms]}},
        "simulator_version": simulator_version(),
    }
    return validate_card(doc, "beam-ahead model card")


def write(out: Path, data: bytes, card: DataCard) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, card_path = out / ARTEFACT, out / CARD
    onnx_path.write_bytes(data)
    card_path.write_text(json.dumps(card.raw, indent=2, sort_keys=True) + "\n")
    return onnx_path, card_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="nextric train beam-ahead", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for beam_ahead.onnx and its card")
    ap.add_argument("--epochs", type=int, default=AheadTrainConfig.epochs)
    ap.add_argument("--quick", action="store_true", help="2 training seeds, 60 sub-steps, 2 epochs (smoke run)")
    args = ap.parse_args(argv)
    cfg = AheadTrainConfig(epochs=args.epochs)
    if args.quick:
        cfg = AheadTrainConfig(train_seeds=(0, 1), val_seeds=(500,), n_steps=60, epochs=2)
    console = Console()
    data, card, _ = train(cfg, console)
    onnx_path, card_path = write(args.out, data, card)
    console.print(f"wrote {onnx_path} ({len(data)} bytes, sha256 {card.raw['model']['sha256'][:12]}) and {card_path}")
    console.print(f"validation: {json.dumps(card.raw['evaluation']['validation'])}")


if __name__ == "__main__":
    main()

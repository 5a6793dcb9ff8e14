"""``nextric train beam``: train the beam predictor (BM-Case1, Set B -> best Set-A beam), export ONNX + model card.

Data: :func:`testbed.beam_data.draw_samples` on the PoC city with a wide-beam Set B (``twm_poc_wide_b``; with
``--scenario twm_poc`` the Set-B-subset model) (training seeds and validation seeds kept apart;
the benchmark uses other seeds again). Model: an MLP over the 8 Set-B L1-RSRPs relative to the strongest one
(:func:`xapps.beam_predictor.core.features`), two hidden ReLU layers, a softmax over the Set-A beams.
Everything is seeded and runs on one thread, so the same command writes byte-identical ``beam.onnx`` and
``beam.card.json`` (checked by ``tests/xapps/beam_predictor/test_model.py`` on a small configuration).

    python -m suite.trainers.beam [--scenario twm_poc_wide_b] [--out xapps/beam_predictor/model] [--epochs 20]
                                  [--quick]
    python -m suite.trainers.beam --scenario twm_poc --out xapps/beam_predictor/model_subset
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress

from nextric.datacard import DataCard, validate_card
from testbed.beam_data import BeamDataSpec, beam_config, beam_dataset_card, draw_samples
from testbed.core.scenario import load_scenario
from testbed.datacards import simulator_version
from xapps.beam_predictor.core import RSRP_SCALE_DB, best_set_b, features, rank

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "xapps" / "beam_predictor" / "model"
OPSET = 17


@dataclass(frozen=True)
class TrainConfig:
    scenario: str = "twm_poc_wide_b"  #: wide Set B; "twm_poc" trains the Set-B-subset model
    train_seeds: tuple[int, ...] = tuple(range(12))
    val_seeds: tuple[int, ...] = (500, 501)
    n_steps: int = 300
    every: int = 5
    hidden: int = 96
    epochs: int = 20
    batch: int = 512
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    margin_grid: tuple[float, ...] = field(default=tuple(round(0.01 * i, 2) for i in range(0, 51)))


class BeamMlp(torch.nn.Module):
    """features (N, B_B) -> logits (N, B_A); :meth:`probs` adds the softmax that the ONNX graph carries."""

    def __init__(self, n_in: int, n_out: int, hidden: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.ReLU(), torch.nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.net(x))

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.forward(x), dim=-1)


class _Export(torch.nn.Module):
    def __init__(self, m: BeamMlp) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m.probs(x)


def export_onnx(model: BeamMlp, n_in: int) -> bytes:
    """ONNX bytes (opset 17, TorchScript exporter: deterministic) with input ``rsrp_rel`` (N, B_B) and output
    ``probs`` (N, B_A)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Export(model).eval(), (torch.zeros(1, n_in),), buf,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET,
                          input_names=["rsrp_rel"], output_names=["probs"],
                          dynamic_axes={"rsrp_rel": {0: "n"}, "probs": {0: "n"}})
    return buf.getvalue()


def net_from_onnx(data: bytes) -> BeamMlp:
    """Rebuild the PyTorch module from an exported artefact's weights (for the ONNX-vs-PyTorch agreement test)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load_from_string(data).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    state = {k.removeprefix("m."): torch.tensor(v.copy()) for k, v in inits.items() if k.startswith("m.net.")}
    w0, w2 = state["net.0.weight"], state["net.4.weight"]
    m = BeamMlp(int(w0.shape[1]), int(w2.shape[0]), int(w0.shape[0]))
    m.load_state_dict(state)
    return m.eval()


def _metrics(probs: np.ndarray, d: dict[str, np.ndarray], set_b: list[int]) -> dict[str, float]:
    r = rank(probs, 3)
    y = d["best_beam"].astype(np.int64)
    a = d["set_a_rsrp_dbm"].astype(np.float64)
    loss = a.max(1) - a[np.arange(len(y)), r.top[:, 0]]
    cls = best_set_b(d["rsrp_b_dbm"], set_b)
    return {"top1": float((r.top[:, 0] == y).mean()), "top3": float((r.top == y[:, None]).any(1).mean()),
            "p_within_1db": float((loss <= 1.0).mean()), "mean_rsrp_loss_db": float(loss.mean()),
            "best_in_set_b_top1": float((cls == y).mean())}


def calibrate_margin(probs: np.ndarray, d: dict[str, np.ndarray], set_b: list[int],
                     grid: tuple[float, ...]) -> tuple[float, list[dict[str, float]]]:
    """Largest margin threshold below which the classical choice loses no more RSRP than the model on average
    (so a low-confidence fallback never costs RSRP on the validation set); 0 when there is none."""
    r = rank(probs, 2)
    a = d["set_a_rsrp_dbm"].astype(np.float64)
    rows = np.arange(len(a))
    loss_m = a.max(1) - a[rows, r.top[:, 0]]
    loss_c = a.max(1) - a[rows, best_set_b(d["rsrp_b_dbm"], set_b)]
    best, table = 0.0, []
    for t in grid:
        sel = r.margin < t
        if not sel.any():
            continue
        lm, lc = float(loss_m[sel].mean()), float(loss_c[sel].mean())
        table.append({"margin_below": t, "share": float(sel.mean()), "model_loss_db": lm, "classical_loss_db": lc})
        if lc <= lm:
            best = t
    return best, table


def train(cfg: TrainConfig, console: Console | None = None) -> tuple[bytes, DataCard, BeamMlp]:
    """Draw the data, train, calibrate, export; returns (ONNX bytes, model card, the PyTorch model)."""
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    sc = load_scenario(cfg.scenario)
    bc = beam_config(sc)
    set_b = bc["set_b"]
    n_steps = (len(cfg.train_seeds) + len(cfg.val_seeds)) * cfg.n_steps
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("testbed samples", total=n_steps)
        tr = draw_samples(sc, cfg.train_seeds, cfg.n_steps, cfg.every, on_step=lambda: prog.advance(task))
        va = draw_samples(sc, cfg.val_seeds, cfg.n_steps, cfg.every, on_step=lambda: prog.advance(task))
        x = torch.from_numpy(features(tr["rsrp_b_dbm"]))
        y = torch.from_numpy(tr["best_beam"].astype(np.int64))
        model = BeamMlp(len(set_b), bc["set_a_size"], cfg.hidden)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
        gen = torch.Generator().manual_seed(cfg.seed)
        epoch_task = prog.add_task("training", total=cfg.epochs)
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(x), generator=gen)
            model.train()
            for i in range(0, len(x), cfg.batch):
                b = perm[i:i + cfg.batch]
                loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
            sched.step()
            prog.advance(epoch_task)
    model.eval()
    with torch.no_grad():
        pv = model.probs(torch.from_numpy(features(va["rsrp_b_dbm"]))).numpy()
    val = _metrics(pv, va, set_b)
    margin, table = calibrate_margin(pv, va, set_b, cfg.margin_grid)
    data = export_onnx(model, len(set_b))
    spec_tr = BeamDataSpec(cfg.scenario, cfg.train_seeds, cfg.n_steps, cfg.every)
    spec_va = BeamDataSpec(cfg.scenario, cfg.val_seeds, cfg.n_steps, cfg.every)
    card = model_card(cfg, sc.name, bc, data, beam_dataset_card(sc, spec_tr, tr),
                      beam_dataset_card(sc, spec_va, va, name=f"{sc.name}-beam-bm-case1-validation"),
                      val, margin, table, sum(p.numel() for p in model.parameters()))
    return data, card, model


def model_card(cfg: TrainConfig, scenario: str, bc: dict[str, Any], data: bytes, train_card: DataCard,
               val_card: DataCard, val: dict[str, float], margin: float, table: list[dict[str, float]],
               n_params: int) -> DataCard:
    tc = dict(train_card.raw)
    doc: dict[str, Any] = {
        "kind": "model", "schema_version": "1.0", "name": f"beam-predictor-bm-case1-{bc['set_b_kind']}",
        "task": {"name": "beam prediction (3GPP BM-Case1, spatial domain)",
                 "description": f"best of {bc['set_a_size']} Set-A beams from {len(bc['set_b'])} Set-B L1-RSRPs "
                                f"({bc['set_b_kind']} Set B, {bc['set_b_elements']} elements per Set-B beam; "
                                f"{1 - len(bc['set_b']) / bc['set_a_size']:.0%} fewer beams measured)",
                 "prediction_target": "best Set-A beam; top-K list; softmax margin as confidence"},
        "configuration": tc["configuration"],
        "provenance": {**tc["provenance"], "validation_seeds": list(cfg.val_seeds),
                       "trainer": "suite.trainers.beam", "command": "nextric train beam",
                       "torch": torch.__version__, "train_config": {k: v for k, v in asdict(cfg).items()
                                                                    if k != "margin_grid"}},
        "environment": tc["environment"],
        "protocol": {"layer": "PHY", "timescale_s": tc["protocol"]["timescale_s"],
                     "interface": "E2 BEAM indication in, E2SM-RC beam switch out"},
        "policy": {"objectives": ["top-1 accuracy (cross-entropy)"],
                   "logging_policy": tc["policy"]["logging_policy"]},
        "evaluation": {"baselines": ["best measured Set-B beam", "last serving beam"],
                       "distribution_shifts": tc["evaluation"]["distribution_shifts"],
                       "failure_criteria": ["top-1 at or below best-in-Set-B",
                                            "configuration outside validity_range -> classical fallback"],
                       "validation": {k: round(v, 4) for k, v in val.items()},
                       "benchmark": "bench/beam.py (held-out seeds; bench/results/beam.json)"},
        "model": {"name": "beam-mlp", "format": "onnx", "opset": OPSET, "sha256": hashlib.sha256(data).hexdigest(),
                  "size_bytes": len(data), "parameters": int(n_params),
                  "architecture": f"MLP {len(bc['set_b'])}-{cfg.hidden}-{cfg.hidden}-{bc['set_a_size']}, ReLU, softmax",
                  "inputs": {"rsrp_rel": f"(N, {len(bc['set_b'])}) float32: Set-B L1-RSRP minus the UE's strongest, "
                                         f"/ {RSRP_SCALE_DB:g} dB, columns in configuration.set_b order"},
                  "outputs": {"probs": f"(N, {bc['set_a_size']}) float32: probability of each Set-A beam being best"},
                  "serving": "onnxruntime, CPU, 1 thread"},
        "confidence": {"measure": "softmax margin p1 - p2", "min_margin": margin,
                       "rule": "largest threshold whose low-margin validation samples lose no more RSRP with the "
                               "best Set-B beam than with the model's top-1",
                       "calibration": [{k: round(v, 4) for k, v in row.items()} for row in table[::5]]},
        "datasets": {"train": tc["name"], "validation": val_card.name,
                     "train_samples": tc["dataset"]["samples"],
                     "validation_samples": val_card.raw["dataset"]["samples"],
                     "train_card": tc},
        "validity_range": tc["validity_range"],
        "simulator_version": simulator_version(),
    }
    return validate_card(doc, "beam model card")


def write(out: Path, data: bytes, card: DataCard) -> tuple[Path, Path]:
    """Write the pair (the artefact first: a watching app rejects the new artefact until the card matches)."""
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, card_path = out / "beam.onnx", out / "beam.card.json"
    onnx_path.write_bytes(data)
    card_path.write_text(json.dumps(card.raw, indent=2, sort_keys=True) + "\n")
    return onnx_path, card_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="nextric train beam", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for beam.onnx and beam.card.json")
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--scenario", default=TrainConfig.scenario,
                    help="scenario whose Set B the model serves (twm_poc_wide_b: wide beams, the default model; "
                         "twm_poc: Set-B subset of Set A, written with --out xapps/beam_predictor/model_subset)")
    ap.add_argument("--quick", action="store_true", help="2 training seeds, 60 sub-steps, 2 epochs (smoke run)")
    args = ap.parse_args(argv)
    cfg = TrainConfig(scenario=args.scenario, epochs=args.epochs)
    if args.quick:
        cfg = TrainConfig(scenario=args.scenario, train_seeds=(0, 1), val_seeds=(500,), n_steps=60, epochs=2)
    console = Console()
    data, card, _ = train(cfg, console)
    onnx_path, card_path = write(args.out, data, card)
    val = card.raw["evaluation"]["validation"]
    console.print(f"wrote {onnx_path} ({len(data)} bytes, sha256 {card.raw['model']['sha256'][:12]}) and {card_path}")
    console.print(f"validation: top-1 {val['top1']:.3f}, top-3 {val['top3']:.3f}, P(loss<=1 dB) "
                  f"{val['p_within_1db']:.3f}, mean loss {val['mean_rsrp_loss_db']:.2f} dB "
                  f"(best-in-Set-B top-1 {val['best_in_set_b_top1']:.3f}); "
                  f"min margin {card.raw['confidence']['min_margin']}")


if __name__ == "__main__":
    main()

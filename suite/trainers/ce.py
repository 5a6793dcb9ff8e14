"""``nextric train ce``: train the lightweight neural channel estimator, export ONNX + model card.

Data: TR 38.901 TDL-A/B/C channels (Jakes Doppler) on the NR DMRS type-1 grid of a 4-PRB block, 30 kHz SCS,
DMRS symbols 2 and 11 (:mod:`testbed.core.pilots`, the testbed's own generator), with SNR, delay spread and
Doppler drawn per observation from the ranges that become the card's validity range. Half of the training
observations have one pilot filled in from its neighbours (what the xApp's leave-one-out proxy feeds the model).

Model (:class:`CeNet`): a gated mixture of K complex-linear experts. A small MLP gate looks at the SNR estimate
and at power-normalised frequency (lags 1-3) and time correlations of the LS pilots and weighs K linear maps
from all pilots of the slot (both DMRS symbols jointly) to the channel on the DMRS symbols; a fixed linear time
interpolation (the same as LS/LMMSE use) fills the slot. Linear in the pilots for a given gate, so it is
scale-equivariant and exact at high SNR. The experts start at LS interpolation.
Everything is seeded and runs on one thread: the same command writes the same ``ce.onnx`` and ``ce.card.json``.

    python -m suite.trainers.ce [--out xapps/ce_selector/model] [--epochs 12] [--quick]
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

from nextric.datacard import DataCard, validate_card
from nextric.phy.estimators import LMMSEEstimatedCov, LSEstimator, interp_matrix, pooled_rms_delay_spread
from nextric.phy.grid import N_SYMBOLS, PilotObservation
from nextric.phy.proxy import fill_held_out
from testbed.core.pilots import PilotConfig, generate_pilots, tdl_channel, tdl_profile
from testbed.datacards import simulator_version

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "xapps" / "ce_selector" / "model"
OPSET = 17
PROFILES = ("TDL-A", "TDL-B", "TDL-C")


@dataclass(frozen=True)
class TrainConfig:
    n_prb: int = 4
    scs_khz: int = 30
    additional_positions: int = 1
    snr_db: tuple[float, float] = (-8.0, 33.0)  #: drawn uniformly
    delay_spread_ns: tuple[float, float] = (20.0, 400.0)  #: drawn log-uniformly
    doppler_hz: tuple[float, float] = (0.0, 600.0)  #: drawn uniformly
    card_snr_db: tuple[float, float] = (-7.0, 32.0)  #: validity range written to the card (inside the training range)
    card_doppler_hz: tuple[float, float] = (0.0, 550.0)
    train_samples: int = 98_304
    val_samples: int = 8_192
    obs_per_draw: int = 64  #: observations per (profile, delay spread) draw
    fill_share: float = 0.5  #: share of training observations with one pilot filled in
    experts: int = 8
    gate_hidden: int = 32
    epochs: int = 12
    batch: int = 512
    lr: float = 3e-3
    seed: int = 0


def draw(cfg: TrainConfig, n: int, rng: np.random.Generator
         ) -> tuple[PilotObservation, np.ndarray, dict[str, np.ndarray]]:
    """``n`` observations (one batched PilotObservation), the true channels (n, 14, n_sc) and their parameters."""
    pc = PilotConfig(cfg.n_prb, cfg.scs_khz, cfg.additional_positions)
    obs_l: list[PilotObservation] = []
    h_l: list[np.ndarray] = []
    meta: dict[str, list[float]] = {"profile": [], "ds_ns": [], "snr_db": [], "doppler_hz": []}
    for i in range(0, n, cfg.obs_per_draw):
        m = min(cfg.obs_per_draw, n - i)
        prof = PROFILES[int(rng.integers(len(PROFILES)))]
        lo, hi = np.log(cfg.delay_spread_ns[0]), np.log(cfg.delay_spread_ns[1])
        ds = float(np.exp(rng.uniform(lo, hi)))
        snr = rng.uniform(*cfg.snr_db, m)
        dop = rng.uniform(*cfg.doppler_hz, m)
        d, p = tdl_profile(prof, ds)
        h = tdl_channel(d, p, dop, pc, rng)
        obs_l.append(generate_pilots(h, snr, dop, pc, prof, ds, rng))
        h_l.append(h)
        meta["profile"] += [PROFILES.index(prof)] * m
        meta["ds_ns"] += [ds] * m
        meta["snr_db"] += list(snr)
        meta["doppler_hz"] += list(dop)
    o0 = obs_l[0]
    obs = PilotObservation(np.concatenate([o.y for o in obs_l]), np.concatenate([o.x for o in obs_l]), o0.pilot_sc,
                           o0.dmrs_sym, np.concatenate([o.noise_var for o in obs_l]),
                           np.concatenate([o.snr_db_est for o in obs_l]),
                           np.concatenate([o.doppler_hz_est for o in obs_l]), pc)
    return obs, np.concatenate(h_l), {k: np.asarray(v) for k, v in meta.items()}


def fill_some(obs: PilotObservation, share: float, rng: np.random.Generator) -> PilotObservation:
    """Fill one random pilot (held out on every DMRS symbol) of a ``share`` of the observations."""
    y = obs.y.copy()
    n_p = len(obs.pilot_sc)
    pick = rng.random(obs.n) < share
    which = rng.integers(n_p, size=obs.n)
    for j in range(n_p):
        sel = np.flatnonzero(pick & (which == j))
        if len(sel):
            held = np.arange(n_p) == j
            y[sel] = fill_held_out(obs.rows(sel), held).y
    return PilotObservation(y, obs.x, obs.pilot_sc, obs.dmrs_sym, obs.noise_var, obs.snr_db_est, obs.doppler_hz_est,
                            obs.cfg)


def as_inputs(obs: PilotObservation) -> tuple[np.ndarray, np.ndarray]:
    h = obs.y / obs.x
    return (np.stack([h.real, h.imag], axis=1).astype(np.float32),
            np.asarray(obs.snr_db_est, dtype=np.float32)[:, None])


class CeNet(torch.nn.Module):
    """h_ls (N, 2, S, P), snr_db (N, 1) -> h_hat (N, 2, 14, K_sc): gated mixture of complex-linear experts."""

    def __init__(self, pilot_sc: np.ndarray, dmrs_sym: np.ndarray, n_sc: int, experts: int, hidden: int) -> None:
        super().__init__()
        s, p = len(dmrs_sym), len(pilot_sc)
        self.s, self.p, self.k_sc, self.e = s, p, n_sc, experts
        ls = interp_matrix(pilot_sc, np.arange(n_sc))  # (K_sc, P)
        w0 = np.kron(np.eye(s), ls)  # (S*K_sc, S*P): LS per symbol
        g = torch.Generator().manual_seed(1)
        self.wr = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float32)[None].repeat(experts, 1, 1)
                                     + 0.01 * torch.randn(experts, s * n_sc, s * p, generator=g))
        self.wi = torch.nn.Parameter(0.01 * torch.randn(experts, s * n_sc, s * p, generator=g))
        self.gate = torch.nn.Sequential(torch.nn.Linear(5, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, experts))
        self.register_buffer("t_interp", torch.tensor(interp_matrix(dmrs_sym, np.arange(N_SYMBOLS)),
                                                      dtype=torch.float32))  # (14, S)

    def forward(self, h_ls: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        n = h_ls.shape[0]
        xr, xi = h_ls[:, 0], h_ls[:, 1]  # (N, S, P)
        scale = torch.sqrt((xr * xr + xi * xi).mean(dim=(1, 2), keepdim=True) + 1e-9)  # (N, 1, 1)
        xr, xi = xr / scale, xi / scale

        def corr(ar: torch.Tensor, ai: torch.Tensor, br: torch.Tensor, bi: torch.Tensor) -> torch.Tensor:
            re = (ar * br + ai * bi).mean(dim=(1, 2))
            im = (ai * br - ar * bi).mean(dim=(1, 2))
            return torch.sqrt(re * re + im * im + 1e-9)

        feats = [snr_db[:, 0] / 10.0]
        for lag in (1, 2, 3):
            feats.append(corr(xr[:, :, lag:], xi[:, :, lag:], xr[:, :, :-lag], xi[:, :, :-lag]))
        feats.append(corr(xr[:, 1:], xi[:, 1:], xr[:, :-1], xi[:, :-1]))
        g = torch.softmax(self.gate(torch.stack(feats, dim=1)), dim=1)  # (N, E)
        fr, fi = xr.reshape(n, -1), xi.reshape(n, -1)  # (N, S*P)
        e, o = self.e, self.s * self.k_sc
        wr, wi = self.wr.reshape(e * o, -1), self.wi.reshape(e * o, -1)
        yr = (fr @ wr.T - fi @ wi.T).reshape(n, e, o)
        yi = (fr @ wi.T + fi @ wr.T).reshape(n, e, o)
        yr = (g[:, :, None] * yr).sum(1).reshape(n, self.s, self.k_sc)
        yi = (g[:, :, None] * yi).sum(1).reshape(n, self.s, self.k_sc)
        tr = torch.einsum("ts,nsk->ntk", self.t_interp, yr) * scale
        ti = torch.einsum("ts,nsk->ntk", self.t_interp, yi) * scale
        return torch.stack([tr, ti], dim=1)


def export_onnx(model: CeNet) -> bytes:
    """ONNX bytes (opset 17, TorchScript exporter: deterministic)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(1, 2, model.s, model.p), torch.zeros(1, 1)),
                          buf,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET, do_constant_folding=False,  # keep "wr", "wi" named
                          input_names=["h_ls", "snr_db"], output_names=["h_hat"],
                          dynamic_axes={"h_ls": {0: "n"}, "snr_db": {0: "n"}, "h_hat": {0: "n"}})
    return buf.getvalue()


def net_from_onnx(data: bytes, cfg: TrainConfig) -> CeNet:
    """Rebuild the PyTorch module from an exported artefact's weights (for the ONNX-vs-PyTorch agreement test)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load_from_string(data).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    pc = PilotConfig(cfg.n_prb, cfg.scs_khz, cfg.additional_positions)
    from nextric.phy.grid import dmrs_subcarriers, dmrs_symbols

    m = CeNet(dmrs_subcarriers(pc.n_prb), np.array(dmrs_symbols(pc.additional_positions)), pc.n_sc, cfg.experts,
              cfg.gate_hidden)
    state = m.state_dict()
    state.update({k: torch.tensor(v.copy()) for k, v in inits.items() if k in state})
    m.load_state_dict(state)
    return m.eval()


def _nmse_db(h_hat: np.ndarray, h: np.ndarray) -> float:
    return float(10 * np.log10((np.abs(h_hat - h) ** 2).sum() / (np.abs(h) ** 2).sum()))


def train(cfg: TrainConfig, console: Console | None = None) -> tuple[bytes, DataCard, CeNet]:
    """Draw the data, train, export; returns (ONNX bytes, model card, the PyTorch model)."""
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("pilots", total=2)
        tr_obs, tr_h, _ = draw(cfg, cfg.train_samples, rng)
        tr_obs = fill_some(tr_obs, cfg.fill_share, rng)
        prog.advance(task)
        va_obs, va_h, va_meta = draw(cfg, cfg.val_samples, np.random.default_rng(cfg.seed + 1000))
        prog.advance(task)
        x, s = (torch.from_numpy(a) for a in as_inputs(tr_obs))
        y = torch.from_numpy(np.stack([tr_h.real, tr_h.imag], axis=1).astype(np.float32))
        model = CeNet(tr_obs.pilot_sc, tr_obs.dmrs_sym, tr_obs.cfg.n_sc, cfg.experts, cfg.gate_hidden)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        steps = cfg.epochs * ((len(x) + cfg.batch - 1) // cfg.batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps)
        gen = torch.Generator().manual_seed(cfg.seed)
        ep = prog.add_task("training", total=cfg.epochs)
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(x), generator=gen)
            model.train()
            for i in range(0, len(x), cfg.batch):
                b = perm[i:i + cfg.batch]
                err = ((model(x[b], s[b]) - y[b]) ** 2).mean(dim=(1, 2, 3))
                loss = torch.log(err + 1e-5).mean()  # per-observation MSE in log: every SNR counts the same
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
                sched.step()
            prog.advance(ep)
    model.eval()
    with torch.no_grad():
        pv = model(*(torch.from_numpy(a) for a in as_inputs(va_obs))).numpy()
    h_nn = pv[:, 0] + 1j * pv[:, 1]
    val = {"nmse_db_neural": _nmse_db(h_nn, va_h), "nmse_db_ls": _nmse_db(LSEstimator().estimate(va_obs), va_h),
           "nmse_db_lmmse_est": _nmse_db(LMMSEEstimatedCov().estimate(va_obs), va_h)}
    group = cfg.obs_per_draw // 2  # validity is checked on group windows: pooled estimate per half draw
    ds_est = np.array([pooled_rms_delay_spread(va_obs.rows(np.arange(i, i + group))) * 1e9
                       for i in range(0, va_obs.n - group + 1, group)])
    data = export_onnx(model)
    card = model_card(cfg, data, val, ds_est, va_meta, sum(p.numel() for p in model.parameters()),
                      tr_obs.pilot_sc, tr_obs.dmrs_sym)
    return data, card, model


def model_card(cfg: TrainConfig, data: bytes, val: dict[str, float], ds_est_ns: np.ndarray,
               va_meta: dict[str, np.ndarray], n_params: int, pilot_sc: np.ndarray, dmrs_sym: np.ndarray) -> DataCard:
    ds_lo, ds_hi = (float(np.round(v, 1)) for v in np.percentile(ds_est_ns, [1, 99]))
    dmrs = [int(s) for s in dmrs_sym]
    doc: dict[str, Any] = {
        "kind": "model", "schema_version": "1.0", "name": "ce-neural-moe",
        "task": {"name": "channel estimation (PDSCH DMRS, one slot)",
                 "description": "full-slot channel of a 4-PRB block from the LS estimates at its DMRS pilots",
                 "prediction_target": "H (14 symbols x 48 subcarriers) complex; loss: log per-observation MSE",
                 "latency_budget_s": 0.0005},
        "configuration": {"n_prb": cfg.n_prb, "n_pilot": len(pilot_sc), "scs_khz": cfg.scs_khz,
                          "dmrs_type": 1, "dmrs_symbols": dmrs, "dmrs_additional_position": cfg.additional_positions,
                          "mapping": ("PDSCH mapping type A, l0 = 2, single-symbol DMRS, CDM group 0 "
                                      "(TS 38.211 7.4.1.1)"),
                          "pilots": "QPSK, unit power; channel normalised to unit average power"},
        "provenance": {"source": "simulation", "simulator": {"name": "nextric-testbed", "version": simulator_version()},
                       "generator": "testbed.core.pilots.tdl_channel + generate_pilots", "scenario": "TDL link level",
                       "channel_model": "3GPP TR 38.901 TDL-A/B/C (Tables 7.7.2-1..3), Jakes Doppler, 16 sinusoids/tap",
                       "receiver_estimates": "SNR N(0, 0.5 dB) error, Doppler 10 % error",
                       "seeds": [cfg.seed, cfg.seed + 1000], "trainer": "suite.trainers.ce",
                       "command": "nextric train ce", "torch": torch.__version__,
                       "train_config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}},
        "environment": {"setting": "link level, one UE, single antenna", "topology": "TDL-A/B/C, one 4-PRB block"},
        "protocol": {"layer": "PHY", "timescale_s": 0.0005,
                     "interface": "E2 PILOT indication (rx, ref pilots) in; E2SM-RC estimator mode out (xApp)"},
        "policy": {"objectives": ["NMSE of the full-slot channel"],
                   "logging_policy": "uniform draws, no behaviour policy"},
        "evaluation": {"baselines": ["LS + linear interpolation", "LMMSE with estimated covariance",
                                     "LMMSE with the true covariance (reference)"],
                       "distribution_shifts": ["Doppler above the range (time variation inside the slot)",
                                               "other numerology, PRB count or DMRS pattern (other input geometry)",
                                               "delay spread beyond the range"],
                       "failure_criteria": ["NMSE above LS on the held-out draws",
                                            "configuration outside validity_range -> classical fallback"],
                       "validation": {k: round(v, 3) for k, v in val.items()} | {"samples": cfg.val_samples},
                       "benchmark": "bench/ce.py (bench/results/ce.json)"},
        "model": {"name": "ce-moe", "format": "onnx", "opset": OPSET, "sha256": hashlib.sha256(data).hexdigest(),
                  "size_bytes": len(data), "parameters": int(n_params),
                  "architecture": (f"gated mixture of {cfg.experts} complex-linear experts "
                                   f"({2 * len(pilot_sc)} pilots -> {2 * 12 * cfg.n_prb} DMRS-symbol values), "
                                   f"gate MLP 5-{cfg.gate_hidden}-{cfg.experts} on SNR and pilot correlations, "
                                   "fixed linear time interpolation"),
                  "inputs": {"h_ls": f"(N, 2, {len(dmrs)}, {len(pilot_sc)}) float32: real, imag of y/x at the pilots",
                             "snr_db": "(N, 1) float32: the receiver's SNR estimate"},
                  "outputs": {"h_hat": f"(N, 2, 14, {12 * cfg.n_prb}) float32: real, imag of the slot's channel"},
                  "serving": "onnxruntime, CPU, 1 thread"},
        "validity_range": {
            "snr_db": {"min": cfg.card_snr_db[0], "max": cfg.card_snr_db[1]},
            "doppler_hz": {"min": cfg.card_doppler_hz[0], "max": cfg.card_doppler_hz[1]},
            "delay_spread_ns": {"min": ds_lo, "max": ds_hi},
            "scs_khz": {"values": [cfg.scs_khz]},
            "n_prb": {"values": [cfg.n_prb]},
            "dmrs_type": {"values": [1]},
            "dmrs_symbols": {"values": [dmrs]},
        },
        "validity_notes": {
            "snr_db": "the report's SNR estimate (group median); training drew -8..33 dB",
            "doppler_hz": (f"the report's Doppler estimate (group median); training drew {cfg.doppler_hz[0]:g}.."
                           f"{cfg.doppler_hz[1]:g} Hz"),
            "delay_spread_ns": ("RMS delay spread fitted on the pilots' autocorrelation pooled over a group window "
                                "(nextric.phy.estimators.pooled_rms_delay_spread); 1..99 % of the validation "
                                f"groups of {cfg.obs_per_draw // 2} observations, "
                                f"whose configured spreads were {cfg.delay_spread_ns[0]:g}.."
                                f"{cfg.delay_spread_ns[1]:g} ns"),
        },
        "datasets": {"train_samples": cfg.train_samples, "validation_samples": cfg.val_samples,
                     "validation_doppler_hz_max": float(va_meta["doppler_hz"].max())},
        "simulator_version": simulator_version(),
    }
    return validate_card(doc, "channel estimator model card")


def write(out: Path, data: bytes, card: DataCard) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, card_path = out / "ce.onnx", out / "ce.card.json"
    onnx_path.write_bytes(data)
    card_path.write_text(json.dumps(card.raw, indent=2, sort_keys=True) + "\n")
    return onnx_path, card_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="nextric train ce", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for ce.onnx and ce.card.json")
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--quick", action="store_true", help="4096 samples, 2 epochs (smoke run)")
    args = ap.parse_args(argv)
    cfg = TrainConfig(epochs=args.epochs)
    if args.quick:
        cfg = TrainConfig(train_samples=4096, val_samples=1024, epochs=2)
    console = Console()
    data, card, _ = train(cfg, console)
    onnx_path, card_path = write(args.out, data, card)
    val = card.raw["evaluation"]["validation"]
    console.print(f"wrote {onnx_path} ({len(data)} bytes, sha256 {card.raw['model']['sha256'][:12]}) and {card_path}")
    console.print(f"validation NMSE: neural {val['nmse_db_neural']:.2f} dB, LS {val['nmse_db_ls']:.2f} dB, "
                  f"LMMSE (estimated covariance) {val['nmse_db_lmmse_est']:.2f} dB")


if __name__ == "__main__":
    main()

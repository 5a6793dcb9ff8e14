"""The learned channel estimator served with onnxruntime (never torch): artefact + model card.

Graph contract (``ce.onnx``, written by ``nextric train ce``): inputs ``h_ls`` float32 (N, 2, n_dmrs, n_pilot)
[real, imag of the LS pilot estimates y/x] and ``snr_db`` float32 (N, 1) [the receiver's SNR estimate]; output
``h_hat`` float32 (N, 2, 14, n_sc) [real, imag of the full-slot estimate]. The geometry (n_dmrs, n_pilot, n_sc)
is fixed by the card's ``configuration``; cross-validation feeds it a filled-in held-out pilot
(:func:`nextric.phy.proxy.fill_held_out`) rather than a shorter comb.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nextric.datacard import DataCard, load_card
from nextric.errors import ValidationError
from nextric.onnx import ort, session_options
from nextric.phy.estimators import ls_pilots
from nextric.phy.grid import N_SYMBOLS, BoolArray, ComplexArray, PilotObservation
from nextric.phy.proxy import fill_held_out

ARTEFACT = "ce.onnx"
CARD = "ce.card.json"


def session_of(data: bytes, threads: int = 1) -> ort.InferenceSession:
    so = session_options(threads, sequential=True)
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


@dataclass(frozen=True, eq=False)
class OnnxCeEstimator:
    """A :class:`~nextric.phy.estimators.ChannelEstimator` (mode ``NEURAL``) backed by an ONNX session."""

    session: ort.InferenceSession
    card: DataCard
    sha256: str
    n_dmrs: int
    n_pilot: int
    n_sc: int
    name: str = "NEURAL"

    @property
    def version(self) -> str:
        return f"{self.card.name}@{self.sha256[:12]}"

    def infer(self, h_ls: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
        """Raw graph call: (N, 2, n_dmrs, n_pilot) and (N, 1) float32 -> (N, 2, 14, n_sc) float32."""
        if len(h_ls) == 0:
            return np.zeros((0, 2, N_SYMBOLS, self.n_sc), dtype=np.float32)
        out = self.session.run(["h_hat"], {"h_ls": np.ascontiguousarray(h_ls, dtype=np.float32),
                                           "snr_db": np.ascontiguousarray(snr_db, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)

    def estimate(self, obs: PilotObservation) -> ComplexArray:
        h = ls_pilots(obs)
        if h.shape[1:] != (self.n_dmrs, self.n_pilot) or obs.cfg.n_sc != self.n_sc:
            raise ValidationError(f"the neural estimator takes {self.n_dmrs} DMRS symbols x {self.n_pilot} pilots "
                                  f"over {self.n_sc} subcarriers, got {h.shape[1:]} over {obs.cfg.n_sc}")
        x = np.stack([h.real, h.imag], axis=1).astype(np.float32)
        out = self.infer(x, np.asarray(obs.snr_db_est, dtype=np.float32)[:, None])
        return np.asarray(out[:, 0] + 1j * out[:, 1], dtype=np.complex128)

    def estimate_masked(self, obs: PilotObservation, keep: BoolArray) -> ComplexArray:
        """Estimate without the pilots outside ``keep``: they are filled from their kept neighbours."""
        return self.estimate(fill_held_out(obs, ~np.asarray(keep, dtype=bool)))


def load_ce_model(folder: Path, threads: int = 1) -> OnnxCeEstimator:
    """Load ``ce.onnx`` + ``ce.card.json`` from ``folder``; :class:`ValidationError` says what is wrong."""
    onnx_path, card_path = folder / ARTEFACT, folder / CARD
    if not onnx_path.is_file():
        raise ValidationError(f"model artefact {onnx_path} does not exist")
    card = load_card(card_path)
    if card.kind != "model":
        raise ValidationError(f"{card_path}: kind must be 'model', got {card.kind!r}")
    data = onnx_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    m: Mapping[str, Any] = card.raw["model"]
    if m.get("sha256") not in (None, digest):
        raise ValidationError(f"{card_path}: model.sha256 does not match {onnx_path.name}: not a pair")
    cfg = card.raw.get("configuration", {})
    try:
        n_dmrs, n_pilot, n_sc = len(cfg["dmrs_symbols"]), int(cfg["n_pilot"]), 12 * int(cfg["n_prb"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"{card_path}: configuration.dmrs_symbols, n_pilot and n_prb are required") from exc
    try:
        session = session_of(data, threads)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ValidationError(f"{onnx_path}: onnxruntime cannot load it: {exc}") from exc
    model = OnnxCeEstimator(session, card, digest, n_dmrs, n_pilot, n_sc)
    probe = model.infer(np.zeros((2, 2, n_dmrs, n_pilot), np.float32) + 0.5, np.full((2, 1), 10.0, np.float32))
    if probe.shape != (2, 2, N_SYMBOLS, n_sc) or not np.isfinite(probe).all():
        raise ValidationError(f"{onnx_path}: smoke inference gave shape {probe.shape}")
    return model

"""The served beam model: an ONNX artefact run by onnxruntime, with its model card (validity range, Set-B order,
confidence threshold). :class:`ModelStore` reloads a new artefact + card pair without stopping the app.

Serving never imports torch. A model is loaded, checked (card valid, inputs and outputs of the expected shape,
one smoke inference) and only then swapped in; a broken pair leaves the running model in place.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from nextric.datacard import DataCard, load_card, validity_violations
from nextric.errors import ValidationError
from nextric.onnx import ort, session_options
from xapps.beam_predictor.core import SUBSET, WIDE, CellBeamConfig, FloatArray

log = logging.getLogger("xapp.beam_predictor.model")

ARTEFACT = "beam.onnx"
CARD = "beam.card.json"
AHEAD_ARTEFACT = "beam_ahead.onnx"  #: the BM-Case2 model (prediction ahead of time) and its card
AHEAD_CARD = "beam_ahead.card.json"


@dataclass(frozen=True)
class BeamModel:
    """A loaded model: ``predict`` maps features (U, B_B) to probabilities (U, B_A)."""

    session: ort.InferenceSession
    card: DataCard
    set_b: tuple[int, ...]  #: Set-A indices of the model's inputs, in input order
    set_a_size: int
    sha256: str
    min_margin: float  #: the card's recommended confidence threshold
    set_b_kind: str = SUBSET  #: the card's configuration.set_b_kind (cards from before the field: subset)

    @property
    def version(self) -> str:
        return f"{self.card.name}@{self.sha256[:12]}"

    def predict(self, x: FloatArray) -> FloatArray:
        if len(x) == 0:
            return np.zeros((0, self.set_a_size), dtype=np.float32)
        out = self.session.run(["probs"], {"rsrp_rel": np.ascontiguousarray(x, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)

    def violations(self, config: CellBeamConfig) -> list[str]:
        """Why ``config`` lies outside the card's validity range (empty = inside). The Set-B kind is checked even
        when the card's validity range predates it: a model of one kind never serves the other."""
        out = validity_violations(self.card, config.as_mapping())
        if "set_b_kind" not in self.card.validity_range and config.set_b_kind != self.set_b_kind:
            out.append(f"set_b_kind={config.set_b_kind!r} not the model's {self.set_b_kind!r}")
        return out


def _session(data: bytes, threads: int) -> ort.InferenceSession:
    so = session_options(threads, sequential=True)
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def load_model(folder: Path, threads: int = 1) -> BeamModel:
    """Load ``beam.onnx`` + ``beam.card.json`` from ``folder``; :class:`ValidationError` says what is wrong."""
    onnx_path, card_path = folder / ARTEFACT, folder / CARD
    if not onnx_path.is_file():
        raise ValidationError(f"model artefact {onnx_path} does not exist")
    card = load_card(card_path)
    if card.kind != "model":
        raise ValidationError(f"{card_path}: kind must be 'model', got {card.kind!r}")
    data = onnx_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    m: Mapping[str, Any] = card.raw["model"]
    want = m.get("sha256")
    if want is not None and want != digest:
        raise ValidationError(f"{card_path}: model.sha256 {want[:12]}... does not match {onnx_path.name} "
                              f"({digest[:12]}...): artefact and card are not a pair")
    cfg = card.raw.get("configuration", {})
    try:
        set_b = tuple(int(b) for b in cfg["set_b"])
        set_a = int(cfg["set_a_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"{card_path}: configuration.set_b and configuration.set_a_size are required") from exc
    try:
        session = _session(data, threads)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ValidationError(f"{onnx_path}: onnxruntime cannot load it: {exc}") from exc
    ins = {i.name: i.shape for i in session.get_inputs()}
    outs = {o.name: o.shape for o in session.get_outputs()}
    if "rsrp_rel" not in ins or ins["rsrp_rel"][-1] != len(set_b):
        raise ValidationError(f"{onnx_path}: needs input 'rsrp_rel' (N, {len(set_b)}), has {ins}")
    if "probs" not in outs or outs["probs"][-1] != set_a:
        raise ValidationError(f"{onnx_path}: needs output 'probs' (N, {set_a}), has {outs}")
    conf = card.raw.get("confidence", {})
    kind = str(cfg.get("set_b_kind", SUBSET))
    if kind not in (SUBSET, WIDE):
        raise ValidationError(f"{card_path}: configuration.set_b_kind must be {SUBSET!r} or {WIDE!r}, got {kind!r}")
    model = BeamModel(session, card, set_b, set_a, digest, float(conf.get("min_margin", 0.0)), kind)
    probe = model.predict(np.zeros((2, len(set_b)), dtype=np.float32))
    if probe.shape != (2, set_a) or not np.isfinite(probe).all():
        raise ValidationError(f"{onnx_path}: smoke inference gave {probe.shape}, finite={np.isfinite(probe).all()}")
    return model


@dataclass(frozen=True)
class AheadModel:
    """A loaded BM-Case2 model: ``predict`` maps :func:`~xapps.beam_predictor.core.ahead_features` (U, F) of the
    last ``history`` reports to probabilities (U, H, B_A), one row per horizon of ``horizons`` (report periods)."""

    session: ort.InferenceSession
    card: DataCard
    set_b: tuple[int, ...]
    set_a_size: int
    sha256: str
    history: int
    horizons: tuple[int, ...]
    report_period_ms: int
    set_b_kind: str = WIDE

    @property
    def version(self) -> str:
        return f"{self.card.name}@{self.sha256[:12]}"

    @property
    def n_features(self) -> int:
        return (2 * self.history - 1) * len(self.set_b)

    def predict(self, x: FloatArray) -> FloatArray:
        if len(x) == 0:
            return np.zeros((0, len(self.horizons), self.set_a_size), dtype=np.float32)
        out = self.session.run(["probs"], {"rsrp_hist": np.ascontiguousarray(x, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)

    def violations(self, config: CellBeamConfig, report_period_ms: int) -> list[str]:
        """Why ``config`` at this report period lies outside the card's validity range (empty = inside)."""
        return validity_violations(self.card, {**config.as_mapping(), "report_period_ms": report_period_ms})


def load_ahead_model(folder: Path, threads: int = 1) -> AheadModel:
    """Load ``beam_ahead.onnx`` + ``beam_ahead.card.json``: the same checks as :func:`load_model` (pair, shapes,
    smoke inference) plus the card's history length, horizons and report period."""
    onnx_path, card_path = folder / AHEAD_ARTEFACT, folder / AHEAD_CARD
    if not onnx_path.is_file():
        raise ValidationError(f"model artefact {onnx_path} does not exist")
    card = load_card(card_path)
    if card.kind != "model":
        raise ValidationError(f"{card_path}: kind must be 'model', got {card.kind!r}")
    data = onnx_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    want = card.raw["model"].get("sha256")
    if want is not None and want != digest:
        raise ValidationError(f"{card_path}: model.sha256 {want[:12]}... does not match {onnx_path.name} "
                              f"({digest[:12]}...): artefact and card are not a pair")
    cfg = card.raw.get("configuration", {})
    try:
        set_b = tuple(int(b) for b in cfg["set_b"])
        set_a = int(cfg["set_a_size"])
        history = int(cfg["history_reports"])
        period = int(cfg["report_period_ms"])
        horizons = tuple(int(h) for h in card.raw["task"]["horizons_report_periods"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"{card_path}: configuration.set_b, set_a_size, history_reports, report_period_ms and "
                              "task.horizons_report_periods are required") from exc
    kind = str(cfg.get("set_b_kind", SUBSET))
    if kind not in (SUBSET, WIDE) or history < 1 or not horizons or "report_period_ms" not in card.validity_range:
        raise ValidationError(f"{card_path}: bad set_b_kind {kind!r}, history {history}, horizons {horizons} or no "
                              "report_period_ms in validity_range")
    try:
        session = _session(data, threads)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ValidationError(f"{onnx_path}: onnxruntime cannot load it: {exc}") from exc
    model = AheadModel(session, card, set_b, set_a, digest, history, horizons, period, kind)
    ins = {i.name: i.shape for i in session.get_inputs()}
    outs = {o.name: o.shape for o in session.get_outputs()}
    if "rsrp_hist" not in ins or ins["rsrp_hist"][-1] != model.n_features:
        raise ValidationError(f"{onnx_path}: needs input 'rsrp_hist' (N, {model.n_features}), has {ins}")
    if "probs" not in outs or list(outs["probs"][1:]) != [len(horizons), set_a]:
        raise ValidationError(f"{onnx_path}: needs output 'probs' (N, {len(horizons)}, {set_a}), has {outs}")
    probe = model.predict(np.zeros((2, model.n_features), dtype=np.float32))
    if probe.shape != (2, len(horizons), set_a) or not np.isfinite(probe).all():
        raise ValidationError(f"{onnx_path}: smoke inference gave {probe.shape}, finite={np.isfinite(probe).all()}")
    return model


def ahead_store(folder: Path, threads: int = 1) -> ModelStore[AheadModel]:
    """Hot-reloading store of the BM-Case2 model in ``folder``."""
    return ModelStore(folder, threads, load_ahead_model, (AHEAD_ARTEFACT, AHEAD_CARD))


def _stamp(folder: Path, files: tuple[str, ...] = (ARTEFACT, CARD)) -> tuple[tuple[int, int], ...] | None:
    try:
        return tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (folder / f for f in files))
    except OSError:
        return None


M = TypeVar("M", BeamModel, AheadModel)


class ModelStore(Generic[M]):
    """The current model of a folder, swapped atomically when the artefact or card changes on disk.

    ``current`` is read by the decision path without locks (one attribute read); :meth:`poll` loads a changed
    pair in a worker thread, so reports keep flowing through the old model until the new one is ready.
    ``loader``/``files``: the BM-Case1 model (default) or the BM-Case2 one (:func:`ahead_store`).
    """

    def __init__(self, folder: Path, threads: int = 1,
                 loader: Callable[[Path, int], M] = load_model,  # type: ignore[assignment]
                 files: tuple[str, ...] = (ARTEFACT, CARD)) -> None:
        self.folder = folder
        self.threads = threads
        self.loader: Callable[[Path, int], M] = loader
        self.files = files
        self.current: M | None = None
        self.last_error: str | None = None
        self._stamp: tuple[tuple[int, int], ...] | None = None

    def load_now(self) -> M | None:
        """Synchronous first load (at start-up); a failure is kept in ``last_error`` (the app runs classical)."""
        self._stamp = _stamp(self.folder, self.files)
        try:
            self.current = self.loader(self.folder, self.threads)
            self.last_error = None
        except ValidationError as exc:
            self.last_error = str(exc)
            log.error("no usable beam model: classical fallback only", extra={"error": str(exc)})
        return self.current

    async def poll(self) -> str | None:
        """Reload when the files changed: ``"loaded"``, ``"rejected"`` (old model kept), or None (no change)."""
        stamp = _stamp(self.folder, self.files)
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            model = await asyncio.to_thread(self.loader, self.folder, self.threads)
        except ValidationError as exc:
            self.last_error = str(exc)
            log.error("model reload rejected; the running model stays", extra={"error": str(exc)})
            return "rejected"
        old = self.current.version if self.current else None
        self.current = model
        self.last_error = None
        log.info("model reloaded", extra={"old": old, "new": model.version})
        return "loaded"

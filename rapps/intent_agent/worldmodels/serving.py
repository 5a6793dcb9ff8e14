"""Serving the world models with onnxruntime (no torch): batched FWM fields and CDWM rollouts of many candidates.

:class:`WorldModels` loads ``fwm.onnx`` and ``cdwm.onnx`` with their cards, checks each card's failure criteria
against its own evaluation (:attr:`WorldModels.failures`; a model that fails its card is unusable for decisions:
the planner falls back and says so, see :meth:`WorldModels.require_usable`), refuses a request outside the cards'
validity ranges (:meth:`WorldModels.check_validity`) and offers:

* :meth:`fields` — FWM field features (B, C, 12) for a context and one action per row;
* :meth:`forecast` — CDWM predictive samples for N candidate plans: per member the deterministic path
  (prior means, no decoder noise) and ``n_samples`` stochastic paths (prior z and decoder noise, scaled by the
  card's calibrated temperature), horizon loss / p99 per slice and the SCM of every sample
  (:func:`nextric.kpi.scm`), violation risk, ensemble disagreement, 90 % intervals.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nextric.arrays import FloatArray
from nextric.datacard import DataCard, failed_criteria, load_card, validity_violations
from nextric.errors import ValidationError
from nextric.kpi import scm as scm_of
from nextric.onnx import ort, session_options
from rapps.intent_agent.worldmodels.features import CityRaster, Context, context_vector, fwm_grid

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
#: column layout of the CDWM outputs (Y = 18): see rapps.intent_agent.worldmodels.datagen.KPI_NAMES + horizon p99
Y_LOSS, Y_LP99, Y_THP, Y_PRBU, Y_CUM, Y_HP99 = (slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 12), slice(12, 15),
                                                 slice(15, 18))
N_Y = 18


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), sess_options=session_options(1), providers=["CPUExecutionProvider"])


@dataclass(frozen=True, eq=False)
class Forecast:
    """CDWM predictions for N candidates; samples axis Q = members x n_samples."""

    loss: FloatArray  #: (Q, N, S) horizon loss samples
    p99_ms: FloatArray  #: (Q, N, S) horizon p99 samples
    scm: FloatArray  #: (Q, N) SCM of each sample
    member_scm: FloatArray  #: (E, N) SCM of each member's deterministic path
    step_mean: FloatArray  #: (N, K, 18) ensemble mean of the deterministic per-step outputs (denormalised)
    thp_mbps: FloatArray  #: (N, S) mean throughput over the horizon

    def scm_mean(self) -> FloatArray:
        return np.asarray(self.scm.mean(0))

    def scm_quantile(self, q: float) -> FloatArray:
        return np.asarray(np.quantile(self.scm, q, axis=0))

    def risk(self) -> FloatArray:
        """Share of predictive samples with SCM = 0 (N,)."""
        return np.asarray((self.scm <= 0.0).mean(0))

    def disagreement(self) -> FloatArray:
        """Std over members of the deterministic-path SCM (N,)."""
        return np.asarray(self.member_scm.std(0))


class WorldModels:
    """Both ONNX world models and their cards (load once, reuse for every decision)."""

    def __init__(self, model_dir: Path = MODEL_DIR, enforce_cards: bool = True) -> None:
        """``enforce_cards=False`` serves models that fail their cards' criteria anyway (benchmarks that measure
        what such a model does); decisions keep the default."""
        self.dir = model_dir
        for f in ("fwm.onnx", "cdwm.onnx", "fwm.card.json", "cdwm.card.json"):
            if not (model_dir / f).exists():
                raise ValidationError(f"world model artefact missing: {model_dir / f} (run `nextric train fwm` "
                                      "and `nextric train cdwm`)")
        self.fwm_card: DataCard = load_card(model_dir / "fwm.card.json")
        self.cdwm_card: DataCard = load_card(model_dir / "cdwm.card.json")
        self._fwm = _session(model_dir / "fwm.onnx")
        self._cdwm = _session(model_dir / "cdwm.onnx")
        m: dict[str, Any] = dict(self.cdwm_card.raw["model"])
        self.members = int(m["members"])
        self.z_dim = int(m["stoch_dim"])
        self.temperature = float(m.get("noise_temperature", 1.0))
        self.horizon = int(m["horizon_steps"])
        #: the cards' failure criteria the models meet (empty = both pass their own evaluation)
        self.failures: list[str] = failed_criteria(self.fwm_card) + failed_criteria(self.cdwm_card)
        self.enforce_cards = enforce_cards

    @property
    def usable(self) -> bool:
        return not (self.enforce_cards and self.failures)

    def require_usable(self) -> None:
        """Raise :class:`ValidationError` when a model fails its card (and cards are enforced)."""
        if not self.usable:
            raise ValidationError("world models fail their cards: " + "; ".join(self.failures))

    def describe(self) -> dict[str, str]:
        """Model name -> card name and artefact SHA-256 (for plan traces)."""
        out = {}
        for name, card in (("fwm", self.fwm_card), ("cdwm", self.cdwm_card)):
            sha = hashlib.sha256((self.dir / f"{name}.onnx").read_bytes()).hexdigest()
            out[name] = f"{card.name} sha256:{sha[:16]}"
        return out

    def check_validity(self, config: dict[str, Any]) -> list[str]:
        """Reasons why ``config`` (scenario, shock_family, horizon_steps) is outside either card's range."""
        return validity_violations(self.fwm_card, config) + validity_violations(self.cdwm_card, config)

    def fields(self, ras: CityRaster, ctx: Context, prb: FloatArray, tn: FloatArray) -> FloatArray:
        """FWM field features (B, C, 12) for actions prb (B, C, S), tn (B, L, S)."""
        grid = fwm_grid(ras, ctx, prb, tn)
        out = self._fwm.run(None, {"grid": grid})[0]
        return np.asarray(out, dtype=np.float64)

    def forecast(self, ras: CityRaster, ctx: Context, prb: FloatArray, tn: FloatArray, n_samples: int = 4,
                 seed: int = 0, use_fields: bool = True, fields: FloatArray | None = None) -> Forecast:
        """CDWM predictive distribution of N plans prb (N, K, C, S), tn (N, K, L, S).

        ``use_fields=False`` masks the FWM conditioning (the CDWM-only ablation; the CDWM was trained with
        field dropout so that it has a field-free mode). ``fields`` (N, C, 12) reuses computed FWM features."""
        n, k = prb.shape[:2]
        if k != self.horizon:
            raise ValidationError(f"CDWM horizon is {self.horizon} slow steps, plan has {k}")
        sc = ras.topo
        if fields is None:
            fields = self.fields(ras, ctx, prb.mean(1), tn.mean(1)) if use_fields else np.zeros(
                (n, sc.n_cells, 12))
        reps = 1 + n_samples
        b = n * reps
        cv = np.broadcast_to(context_vector(ctx), (b, len(context_vector(ctx)))).astype(np.float32)
        fw = np.repeat(fields.reshape(n, -1), reps, axis=0).astype(np.float32)
        act = np.concatenate([prb.reshape(n, k, -1), tn.reshape(n, k, -1)], axis=-1)
        act = np.repeat(act, reps, axis=0).astype(np.float32)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 4_242]))
        e = self.members
        eps_z = rng.standard_normal((e, b, k, self.z_dim)).astype(np.float32) * self.temperature
        eps_y = rng.standard_normal((e, b, k, N_Y)).astype(np.float32) * self.temperature
        det = (np.arange(b) % reps) == 0
        eps_z[:, det] = 0.0
        eps_y[:, det] = 0.0
        mask = np.full((b, 1), 1.0 if use_fields else 0.0, dtype=np.float32)
        y = self._cdwm.run(None, {"ctx": cv, "fields": fw, "actions": act, "eps_z": eps_z, "eps_y": eps_y,
                                  "field_mask": mask})[0]  # (E, B, K, 18)
        y = np.asarray(y, dtype=np.float64).reshape(e, n, reps, k, N_Y)
        det_y = y[:, :, 0]  # (E, N, K, Y)
        smp = y[:, :, 1:].transpose(0, 2, 1, 3, 4).reshape(e * n_samples, n, k, N_Y)
        loss = np.clip(smp[:, :, -1, Y_CUM], 0.0, 1.0)
        p99 = np.maximum(np.expm1(smp[:, :, -1, Y_HP99]), 0.0)
        d_loss = np.clip(det_y[:, :, -1, Y_CUM], 0.0, 1.0)
        d_p99 = np.maximum(np.expm1(det_y[:, :, -1, Y_HP99]), 0.0)
        return Forecast(loss=loss, p99_ms=p99, scm=scm_of(loss, p99, sc.slices),
                        member_scm=scm_of(d_loss, d_p99, sc.slices), step_mean=det_y.mean(0),
                        thp_mbps=np.maximum(det_y[..., Y_THP].mean((0, 2)) * 100.0, 0.0))


def load_card_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))

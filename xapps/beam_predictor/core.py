"""Pure beam-prediction logic (3GPP BM-Case1): Set-B L1-RSRP in, per-UE serving-beam choice out. No I/O.

Per UE: the model's probabilities over the Set-A beams give the top-K beams and a confidence, the softmax
margin ``p1 - p2`` between the two most likely beams. The choice falls back to the classical one, the best
measured Set-B beam (for wide Set-B beams: the Set-A beam at its centre), when there is no model, when the
cell's configuration lies outside the model card's validity range (another codebook size, Set-B pattern,
Set-B kind or beam width, array or carrier), or when the margin is below the configured threshold; each
decision says which and why.

Top-K refinement (BM-Case1 as deployed): the cell then measures ``K`` Set-A beams of the UE -- the model's top-K,
or for a fallback the ``K`` angular neighbours of the best Set-B beam -- and the strongest measured is served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

RSRP_SCALE_DB = 10.0  #: feature scale: 10 dB below the strongest Set-B beam -> -1

MODEL = "model"
FALLBACK = "fallback"
NO_MODEL = "no_model"
VALIDITY = "validity"
LOW_CONFIDENCE = "low_confidence"
REASONS = (NO_MODEL, VALIDITY, LOW_CONFIDENCE)

SUBSET = "subset"  #: Set B is a subset of Set A
WIDE = "wide"  #: Set B is a codebook of wide beams pointed at Set-A directions


@dataclass(frozen=True)
class CellBeamConfig:
    """What the model's validity range is checked against, for one cell.

    ``set_a_size``, ``set_b``, ``set_b_kind`` and ``set_b_elements`` come from the BEAM indication,
    ``carrier_mhz`` from E2 setup (NR-ARFCN), ``n_antennas`` from the xApp's configuration (E2 setup does not
    carry the array geometry). ``set_b_kind`` says what ``set_b`` holds: ``subset`` (Set-A beams) or ``wide``
    (the Set-A directions of wide beams); ``set_b_elements`` 0 means the full array.
    """

    set_a_size: int
    set_b: tuple[int, ...]
    n_antennas: int
    carrier_mhz: float
    set_b_kind: str = SUBSET
    set_b_elements: int = 0

    def as_mapping(self) -> dict[str, Any]:
        """Keys of the model card's ``validity_range``."""
        return {"set_a_size": self.set_a_size, "set_b": list(self.set_b), "set_b_kind": self.set_b_kind,
                "set_b_elements": self.set_b_elements or self.n_antennas, "n_antennas": self.n_antennas,
                "carrier_mhz": self.carrier_mhz}


def features(rsrp_dbm: npt.ArrayLike) -> FloatArray:
    """Model input (U, B_B) float32 from Set-B L1-RSRP (U, B_B) dBm: each beam relative to the UE's strongest
    Set-B beam, in units of :data:`RSRP_SCALE_DB` (0 for the strongest, negative below). Scale-free: the
    absolute level (path loss, transmit power) does not enter."""
    r = np.array(rsrp_dbm, dtype=np.float32)  # a copy: computed in place below (same float32 steps, fewer buffers)
    if r.ndim != 2 or r.shape[1] == 0:
        raise ValueError(f"rsrp_dbm must be (U, B_B) with B_B >= 1, got shape {r.shape}")
    np.subtract(r, r.max(axis=1, keepdims=True), out=r)
    np.divide(r, np.float32(RSRP_SCALE_DB), out=r)
    return r


def input_order(reported: Sequence[int], model_set_b: Sequence[int]) -> IntArray | None:
    """Column permutation that puts a report's beams (``reported``, Set-A indices in report order) in the
    model's Set-B order; None when the two are not the same set (the Set-B pattern differs)."""
    pos = {int(b): i for i, b in enumerate(reported)}
    if len(pos) != len(reported) or len(reported) != len(model_set_b) or set(pos) != {int(b) for b in model_set_b}:
        return None
    return np.array([pos[int(b)] for b in model_set_b], dtype=np.int64)


@dataclass(frozen=True)
class Ranking:
    """Top-K beams (U, K) Set-A indices, their probabilities (U, K), and the margin p1 - p2 (U,)."""

    top: IntArray
    prob: FloatArray
    margin: FloatArray


def rank(probs: npt.ArrayLike, k: int) -> Ranking:
    """Top-``k`` of per-UE beam probabilities (U, B_A), most likely first (ties: lower index first)."""
    p = np.asarray(probs, dtype=np.float32)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be (U, B_A) with B_A >= 2, got shape {p.shape}")
    k = max(1, min(k, p.shape[1]))
    order = np.argsort(-p, axis=1, kind="stable")
    top = order[:, :k].astype(np.int64)
    rows = np.arange(len(p))[:, None]
    two = p[rows, order[:, :2]]
    return Ranking(top, p[rows, top], np.asarray(two[:, 0] - two[:, 1], dtype=np.float32))


@dataclass(frozen=True)
class UeDecision:
    """The serving beam chosen for one UE and why."""

    ue_id: int
    beam: int  #: Set-A index to serve the UE with
    source: str  #: MODEL or FALLBACK
    reason: str | None  #: for a fallback: NO_MODEL, VALIDITY or LOW_CONFIDENCE
    confidence: float  #: softmax margin p1 - p2 (0 without a model prediction)
    top_k: tuple[int, ...]  #: the model's top-K beams (empty without a model prediction)
    best_set_b: int  #: the classical choice: best measured Set-B beam (Set-A index)
    measured: tuple[int, ...] = ()  #: beams measured in refinement (empty: not refined, ``beam`` is the prediction)
    prob: tuple[float, ...] = ()  #: the model's probabilities of ``top_k`` (empty without a model prediction)


def best_set_b(rsrp_dbm: npt.ArrayLike, beam_ids: Sequence[int]) -> IntArray:
    """Classical choice (U,): the Set-A index of each UE's strongest measured beam (first on ties); for wide Set-B
    beams ``beam_ids`` are their Set-A directions, so this is the Set-A beam at the strongest wide beam's centre."""
    r = np.asarray(rsrp_dbm)
    return np.asarray(np.asarray(beam_ids, dtype=np.int64)[np.argmax(r, axis=1)], dtype=np.int64)


def decide(ue_ids: Sequence[int], rsrp_dbm: npt.ArrayLike, beam_ids: Sequence[int], ranking: Ranking | None,
           violations: Sequence[str], min_margin: float) -> list[UeDecision]:
    """Per-UE decisions for one report batch.

    ``ranking`` is None when no model could run (no model loaded, or the configuration is out of validity:
    ``violations`` non-empty). A model decision serves the top-1 beam; a fallback the best Set-B beam.
    """
    classical = best_set_b(rsrp_dbm, beam_ids)
    out: list[UeDecision] = []
    for i, ue in enumerate(ue_ids):
        cb = int(classical[i])
        if ranking is None:
            reason = VALIDITY if violations else NO_MODEL
            out.append(UeDecision(int(ue), cb, FALLBACK, reason, 0.0, (), cb))
            continue
        top = tuple(int(b) for b in ranking.top[i])
        prob = tuple(float(x) for x in ranking.prob[i])
        conf = float(ranking.margin[i])
        if conf < min_margin:
            out.append(UeDecision(int(ue), cb, FALLBACK, LOW_CONFIDENCE, conf, top, cb, prob=prob))
        else:
            out.append(UeDecision(int(ue), top[0], MODEL, None, conf, top, cb, prob=prob))
    return out


def codebook_u(set_a_size: int) -> npt.NDArray[np.float64]:
    """Spatial frequencies (B_A,) of the Set-A DFT codebook, ``u_b = -1 + (2b + 1)/B_A`` (``u = sin(angle)``)."""
    return np.asarray(-1.0 + (2.0 * np.arange(set_a_size) + 1.0) / set_a_size, dtype=np.float64)


def neighbour_candidates(rsrp_dbm: npt.ArrayLike, beam_ids: Sequence[int], set_a_size: int, k: int) -> IntArray:
    """Classical refinement candidates (U, k): the ``k`` Set-A beams nearest in angle to each UE's strongest Set-B
    beam (its Set-A direction, for wide beams), nearest first; at equal distance the side of the second-strongest
    Set-B beam first. Distances are taken in ``u`` modulo 2 (the half-wavelength DFT codebook wraps at endfire).
    ``k = 1`` is the classical choice itself (:func:`best_set_b`)."""
    r = np.asarray(rsrp_dbm, dtype=np.float64)
    ids_ = np.asarray(beam_ids, dtype=np.int64)
    u = codebook_u(set_a_size)
    k = max(1, min(k, set_a_size))
    order = np.argsort(-r, axis=1, kind="stable")
    u1 = u[ids_[order[:, 0]]]
    d2 = (u[ids_[order[:, 1]]] - u1 + 1.0) % 2.0 - 1.0 if r.shape[1] > 1 else np.zeros(len(r))
    side = np.where(d2 < 0, -1.0, 1.0)
    d = (u[None, :] - u1[:, None] + 1.0) % 2.0 - 1.0  # (U, B_A) signed
    key = np.abs(d) + 1e-6 * (np.sign(d) != side[:, None])
    return np.asarray(np.argsort(key, axis=1, kind="stable")[:, :k], dtype=np.int64)


PRIOR_WEIGHT_DB = 0.75
"""Weight (dB per nat) of the model's log-probability added to a refinement measurement: the Gaussian
log-likelihood of a measurement with the report's ~1 dB L1-RSRP error puts it near sigma^2 = 1 dB; 0.75 was
the best of 0, 0.25, ..., 3 for K = 2, 3, 4 on the trainer's validation seeds (500, 501), never on the
benchmark's held-out seeds."""


def refine(candidates: npt.ArrayLike, measured_dbm: npt.ArrayLike, prob: npt.ArrayLike | None = None,
           prior_weight_db: float = 0.0) -> IntArray:
    """Beam refinement: per UE (U,) the candidate (U, K) Set-A index with the strongest measured L1-RSRP (U, K) dBm
    -- plus ``prior_weight_db * ln(prob)`` when the candidates' model probabilities ``prob`` (U, K) are given
    (measurement and prediction fused; 0 = the strongest measured). Ties: the earlier (more likely) candidate."""
    c = np.asarray(candidates, dtype=np.int64)
    m = np.asarray(measured_dbm, dtype=np.float64)
    if c.shape != m.shape or c.ndim != 2 or c.shape[1] == 0:
        raise ValueError(f"candidates {c.shape} and measurements {m.shape} must be the same (U, K), K >= 1")
    if prob is not None and prior_weight_db > 0:
        m = m + prior_weight_db * np.log(np.maximum(np.asarray(prob, dtype=np.float64).reshape(c.shape), 1e-9))
    return np.asarray(c[np.arange(len(c)), np.argmax(m, axis=1)], dtype=np.int64)


def refinement_candidates(decision: UeDecision, rsrp_dbm: npt.ArrayLike, beam_ids: Sequence[int], set_a_size: int,
                          k: int) -> tuple[int, ...]:
    """The ``k`` beams to measure for one UE: the model's top-k for a model decision, the angular neighbours of the
    best Set-B beam for a fallback (whatever its reason: no model, validity, low confidence)."""
    if decision.source == MODEL and len(decision.top_k) >= k:
        return decision.top_k[:k]
    row = np.asarray(rsrp_dbm, dtype=np.float64).reshape(1, -1)
    return tuple(int(b) for b in neighbour_candidates(row, beam_ids, set_a_size, k)[0])


def refined(decision: UeDecision, candidates: Sequence[int], measured_dbm: Sequence[float],
            prior_weight_db: float = 0.0) -> UeDecision:
    """``decision`` with its beam replaced by the best measured candidate (source and reason kept); the model's
    probabilities enter (``prior_weight_db``) when the candidates are its top-K."""
    cand = tuple(int(b) for b in candidates)
    prob = decision.prob[:len(cand)] if decision.source == MODEL and decision.top_k[:len(cand)] == cand else None
    beam = int(refine(np.asarray([cand]), np.asarray([measured_dbm]), None if prob is None else np.asarray([prob]),
                      prior_weight_db)[0])
    return replace(decision, beam=beam, measured=cand)


def switches_needed(decisions: Sequence[UeDecision], serving: Mapping[int, int]) -> list[UeDecision]:
    """Decisions whose beam differs from the UE's current serving beam (only those become controls)."""
    return [d for d in decisions if serving.get(d.ue_id) != d.beam]


@dataclass(frozen=True)
class PendingSwitch:
    """A switch acknowledged by the node, to be confirmed by the UE's next report."""

    beam: int
    effective_ms: int


def outcome(pending: PendingSwitch, report_ms: int, serving_beam: int) -> str | None:
    """``confirmed`` when a report after the switch took effect shows the beam serving, ``not_applied`` when it
    shows another beam (handover, node reset, or a later override), None while too early. The node applies a
    control at the start of its next sub-step, so only reports stamped after ``effective_ms`` can show it."""
    if report_ms <= pending.effective_ms:
        return None
    return "confirmed" if serving_beam == pending.beam else "not_applied"


# ---------------------------------------------------------------------------------------------------------------
# BM-Case2: prediction ahead of time (temporal domain) from the last reports of a UE

AHEAD = "model_ahead"  #: decision source of the BM-Case2 model (``PREDICT_AHEAD`` > 0)
AHEAD_HISTORY = 4  #: Set-B reports per UE the BM-Case2 model reads (the latest and the 3 before)
DELTA_CLIP = 3.0  #: report-to-report RSRP changes are clipped to +-30 dB (in units of RSRP_SCALE_DB)


def ahead_features(hist_dbm: npt.ArrayLike) -> FloatArray:
    """BM-Case2 model input (U, (2N - 1) B_B) float32 from a UE's last ``N`` Set-B reports (U, N, B_B) dBm, oldest
    first: each report relative to its own strongest beam (as :func:`features`, N B_B columns, oldest first),
    then the report-to-report changes of every beam's absolute L1-RSRP / :data:`RSRP_SCALE_DB`, clipped to
    +-:data:`DELTA_CLIP` ((N - 1) B_B columns). A UE with fewer reports repeats its oldest one (changes 0)."""
    h = np.asarray(hist_dbm, dtype=np.float32)
    if h.ndim != 3 or h.shape[1] < 1 or h.shape[2] == 0:
        raise ValueError(f"hist_dbm must be (U, N, B_B) with N, B_B >= 1, got shape {h.shape}")
    u, n, b = h.shape
    rel = features(h.reshape(u * n, b)).reshape(u, n * b)
    delta = np.clip(np.diff(h, axis=1) / np.float32(RSRP_SCALE_DB), -DELTA_CLIP, DELTA_CLIP).reshape(u, (n - 1) * b)
    return np.ascontiguousarray(np.concatenate([rel, delta], axis=1), dtype=np.float32)


def history_index(cell: npt.ArrayLike, n: int) -> IntArray:
    """For time-major per-UE reports with serving cells ``cell`` (T, U): (T, U, n) time indices of the last ``n``
    reports of each UE, oldest first, within the UE's current stay in its cell (a handover restarts the history:
    beam indices of two cells are unrelated); missing reports repeat the oldest available. The offline twin of
    :class:`ReportHistory`."""
    c = np.asarray(cell)
    t_len = c.shape[0]
    start = np.zeros(c.shape, dtype=np.int64)
    for t in range(1, t_len):
        start[t] = np.where(c[t] == c[t - 1], start[t - 1], t)
    t_idx = np.arange(t_len)[:, None, None] - np.arange(n - 1, -1, -1)[None, None, :]
    return np.asarray(np.maximum(t_idx, start[:, :, None]), dtype=np.int64)


class ReportHistory:
    """Per-UE ring of the last ``n`` Set-B reports (model input order), the online twin of :func:`history_index`.

    A UE's history restarts when it reports from another cell or after a gap of more than ``max_gap_ms`` (a missed
    report: the model was trained on consecutive reports). Pure state, no I/O; :meth:`prune` forgets UEs that
    stopped reporting."""

    def __init__(self, n: int, max_gap_ms: int) -> None:
        if n < 1:
            raise ValueError("n must be >= 1")
        self.n = n
        self.max_gap_ms = max_gap_ms
        self._h: dict[Any, tuple[str, int, list[npt.NDArray[np.float32]]]] = {}

    def __len__(self) -> int:
        return len(self._h)

    def push(self, keys: Sequence[Any], cell: str, now_ms: int, rsrp_dbm: npt.ArrayLike) -> FloatArray:
        """Add one report per UE (``keys[i]``: a UE key unique across nodes; ``rsrp_dbm`` (U, B_B) in the model's
        Set-B order) and return the UEs' histories (U, n, B_B) dBm, oldest first, padded with the oldest report."""
        r = np.asarray(rsrp_dbm, dtype=np.float32)
        out = np.empty((len(keys), self.n, r.shape[1] if r.ndim == 2 else 0), dtype=np.float32)
        for i, key in enumerate(keys):
            prev = self._h.get(key)
            rows: list[npt.NDArray[np.float32]] = []
            if prev is not None and prev[0] == cell and prev[2][-1].shape == r[i].shape and self.n > 1:
                gap = now_ms - prev[1]
                if 0 < gap <= self.max_gap_ms:
                    rows = prev[2][-(self.n - 1):]
                elif gap == 0:  # the same period again: its report replaces the stored one
                    rows = prev[2][:-1][-(self.n - 1):]
            rows = [*rows, r[i].copy()]
            self._h[key] = (cell, now_ms, rows)
            pad = [rows[0]] * (self.n - len(rows))
            out[i] = np.stack(pad + rows)
        return out

    def prune(self, now_ms: int) -> int:
        """Forget UEs whose last report is older than ``max_gap_ms``; returns how many were dropped."""
        old = [k for k, v in self._h.items() if now_ms - v[1] > self.max_gap_ms]
        for k in old:
            del self._h[k]
        return len(old)


def decide_ahead(ue_ids: Sequence[int], ranking: Ranking, now: Sequence[UeDecision]) -> list[UeDecision]:
    """BM-Case2 decisions: each UE is served the beam the model predicts best ``PREDICT_AHEAD`` periods ahead
    (source :data:`AHEAD`); ``now`` are the same UEs' BM-Case1 decisions, whose classical choice is kept."""
    out = []
    for i, ue in enumerate(ue_ids):
        top = tuple(int(b) for b in ranking.top[i])
        out.append(UeDecision(int(ue), top[0], AHEAD, None, float(ranking.margin[i]), top, now[i].best_set_b,
                              prob=tuple(float(x) for x in ranking.prob[i])))
    return out

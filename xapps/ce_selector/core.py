"""Pure selection logic of the channel-estimator selector: pilot reports in, per-group estimator choice out.

Per cell or UE group, on a window of recent PILOT reports (never the true channel):

1. *Observed configuration* (:func:`observed_config`): SNR, Doppler and RMS delay spread as the receiver sees
   them (group medians), numerology, PRB count and DMRS pattern; checked against the neural model card's
   validity range. Outside it the neural estimator is not a candidate at all, and the group is flagged as
   needing data.
2. *Scores* (:func:`nextric.phy.proxy.score`): leave-one-pilot-out cross-validation of every candidate.
3. *Decision* (:func:`decide`): among the eligible candidates (within the latency budget; the neural one also
   within its validity range and the uncertainty budget), the one with the lowest proxy NMSE. A challenger
   replaces the current estimator only when its paired gain is at least ``hysteresis_db`` and significant
   (z >= ``min_z``): the choice does not flap on noise, and LS is left only on evidence. An ineligible current
   estimator (the neural one after the configuration left its range) is replaced at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nextric.datacard import DataCard, validity_violations
from nextric.phy.estimators import ChannelEstimator, pooled_rms_delay_spread
from nextric.phy.grid import PilotConfig, PilotObservation
from nextric.phy.proxy import ProxyScores, score

LS, LMMSE, NEURAL = "LS", "LMMSE", "NEURAL"
CANDIDATES = (LS, LMMSE, NEURAL)
CLASSICAL = (LS, LMMSE)

# why a candidate is not eligible
VALIDITY, NO_MODEL, LATENCY, UNCERTAINTY = "validity", "no_model", "latency", "uncertainty"


@dataclass(frozen=True)
class SelectorParams:
    hysteresis_db: float = 1.0  #: a challenger must beat the current estimator's proxy NMSE by this much
    min_z: float = 2.0  #: ... with this paired z-score (mean difference / its standard error)
    uncertainty_budget_db: float = 1.0  #: the neural estimator is trusted only if its proxy's std error is below
    latency_budget_us: float = 500.0  #: per 4-PRB block (one slot), as measured by the app
    min_reports: int = 8  #: observations of a group before it is decided


@dataclass(frozen=True)
class GroupConfig:
    """What a group's pilot reports say about its configuration (the keys of the card's validity range)."""

    snr_db: float
    doppler_hz: float
    delay_spread_ns: float
    scs_khz: int
    n_prb: int
    dmrs_type: int
    dmrs_symbols: tuple[int, ...]

    def as_mapping(self) -> dict[str, Any]:
        return {"snr_db": self.snr_db, "doppler_hz": self.doppler_hz, "delay_spread_ns": self.delay_spread_ns,
                "scs_khz": self.scs_khz, "n_prb": self.n_prb, "dmrs_type": self.dmrs_type,
                "dmrs_symbols": list(self.dmrs_symbols)}


def dmrs_type_of(pilot_sc: Sequence[int]) -> int:
    """1 for a comb of every other subcarrier (configuration type 1), 2 otherwise (pairs, type 2)."""
    d = np.diff(np.asarray(pilot_sc))
    return 1 if len(d) and bool((d == 2).all()) else 2


def observed_config(obs: PilotObservation) -> GroupConfig:
    """Group medians of the receiver's SNR and Doppler estimates; the RMS delay spread fitted on the pilots'
    frequency autocorrelation pooled over the group."""
    return GroupConfig(
        snr_db=round(float(np.median(obs.snr_db_est)), 2),
        doppler_hz=round(float(np.median(obs.doppler_hz_est)), 1),
        delay_spread_ns=round(pooled_rms_delay_spread(obs) * 1e9, 1),
        scs_khz=obs.cfg.scs_khz, n_prb=obs.cfg.n_prb, dmrs_type=dmrs_type_of(obs.pilot_sc.tolist()),
        dmrs_symbols=tuple(int(s) for s in obs.dmrs_sym))


def observation_from_report(rx: Sequence[float], ref: Sequence[float], dmrs_symbols: Sequence[int],
                            dmrs_subcarriers: Sequence[int], n_prb: int, scs_khz: int, snr_db: float,
                            doppler_hz: float) -> PilotObservation:
    """One UE PILOT report (interleaved re/im, symbol-major) -> a one-row :class:`PilotObservation`.

    Raises ValueError when the lengths do not match the geometry."""
    s, p = len(dmrs_symbols), len(dmrs_subcarriers)
    y, x = np.asarray(rx, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if s < 1 or p < 2 or y.shape != (2 * s * p,) or x.shape != (2 * s * p,):
        raise ValueError(f"PILOT report with {len(rx)} rx / {len(ref)} ref values for {s} symbols x {p} pilots")
    yc = (y[0::2] + 1j * y[1::2]).reshape(1, s, p)
    xc = (x[0::2] + 1j * x[1::2]).reshape(1, s, p)
    if np.any(np.abs(xc) < 1e-6) or max(dmrs_subcarriers) >= 12 * n_prb or max(dmrs_symbols) > 13:
        raise ValueError("PILOT report with a zero reference or pilots outside the block")
    return PilotObservation(yc, xc, np.asarray(dmrs_subcarriers, dtype=np.int64),
                            np.asarray(dmrs_symbols, dtype=np.int64), np.array([10 ** (-snr_db / 10)]),
                            np.array([snr_db]), np.array([doppler_hz]),
                            PilotConfig(n_prb=n_prb, scs_khz=scs_khz, additional_positions=max(0, s - 1)))


def stack(observations: Sequence[PilotObservation]) -> PilotObservation:
    """Rows of several observations of one geometry as one batch."""
    o0 = observations[0]
    return PilotObservation(np.concatenate([o.y for o in observations]), np.concatenate([o.x for o in observations]),
                            o0.pilot_sc, o0.dmrs_sym, np.concatenate([o.noise_var for o in observations]),
                            np.concatenate([o.snr_db_est for o in observations]),
                            np.concatenate([o.doppler_hz_est for o in observations]), o0.cfg)


@dataclass(frozen=True)
class CandidateScore:
    """One candidate on one group window."""

    name: str
    proxy_nmse_db: float | None  #: None when not scored (not eligible before scoring)
    se_db: float | None
    latency_us: float | None
    eligible: bool
    reason: str | None  #: why not eligible: VALIDITY, NO_MODEL, LATENCY or UNCERTAINTY


@dataclass(frozen=True)
class Decision:
    choice: str
    previous: str
    switched: bool
    fallback: bool  #: the neural estimator was ruled out by its validity range (data requested)
    violations: tuple[str, ...]
    scores: tuple[CandidateScore, ...]
    why: str
    gain_db: float = 0.0  #: proxy gain of the choice over the previous estimator (0 when kept)


def pre_eligibility(neural_loaded: bool, violations: Sequence[str], latency_us: Mapping[str, float],
                    params: SelectorParams) -> dict[str, str | None]:
    """Candidate -> reason it cannot run (None = may be scored). LS is always eligible: it is the baseline."""
    out: dict[str, str | None] = {}
    for c in CANDIDATES:
        reason: str | None = None
        if c == NEURAL and not neural_loaded:
            reason = NO_MODEL
        elif c == NEURAL and violations:
            reason = VALIDITY
        elif c != LS and latency_us.get(c, 0.0) > params.latency_budget_us:
            reason = LATENCY
        out[c] = reason
    return out


def decide(current: str, scores: ProxyScores, pre: Mapping[str, str | None], latency_us: Mapping[str, float],
           violations: Sequence[str], params: SelectorParams) -> Decision:
    """Choose the estimator of one group (see the module docstring). ``scores`` holds every candidate whose
    ``pre`` reason is None."""
    table: list[CandidateScore] = []
    eligible: list[str] = []
    for c in CANDIDATES:
        reason = pre.get(c, NO_MODEL)
        nm = se = None
        if reason is None and c in scores.cv:
            nm, se = scores.nmse_db(c), scores.se_db(c)
            if c == NEURAL and se > params.uncertainty_budget_db:
                reason = UNCERTAINTY
        elif reason is None:
            reason = NO_MODEL
        if reason is None:
            eligible.append(c)
        table.append(CandidateScore(c, nm, se, latency_us.get(c), reason is None, reason))
    fallback = bool(violations) and pre.get(NEURAL) == VALIDITY
    best = min(eligible, key=lambda c: scores.nmse_db(c))

    def out(choice: str, why: str, gain: float = 0.0) -> Decision:
        return Decision(choice, current, choice != current, fallback, tuple(violations), tuple(table), why, gain)

    if current not in eligible:
        return out(best, f"{current} not eligible", scores.gain_db(best, current)[0] if current in scores.cv else 0.0)
    if best == current:
        return out(current, "current is best")
    gain, z = scores.gain_db(best, current)
    if gain >= params.hysteresis_db and z >= params.min_z:
        return out(best, f"{best} better by {gain:.2f} dB (z={z:.1f})", gain)
    return out(current, f"{best} better by only {gain:.2f} dB (z={z:.1f}): hysteresis")

def evaluate_window(obs: PilotObservation, estimators: Mapping[str, ChannelEstimator], card: DataCard | None,
                    latency_us: Mapping[str, float], current: str, params: SelectorParams
                    ) -> tuple[GroupConfig, Decision]:
    """The whole per-window step: observed configuration, validity of the neural card, proxy scores of the
    eligible candidates, decision. ``estimators`` maps candidate names to estimators (``NEURAL`` absent = no
    model; ``card`` is the neural model's card)."""
    cfg = observed_config(obs)
    violations = validity_violations(card, cfg.as_mapping()) if card is not None and NEURAL in estimators else []
    pre = pre_eligibility(NEURAL in estimators, violations, latency_us, params)
    sc = score({c: estimators[c] for c in CANDIDATES if pre[c] is None}, obs)
    return cfg, decide(current, sc, pre, latency_us, violations, params)

"""Scoring channel estimators without ground truth: cross-validation over the pilots.

The receiver (and the xApp) never sees the channel, only the received DMRS ``y`` and the reference ``x``, so
``h_ls = y / x = h + n`` at the pilots. Leave-one-pilot-out cross-validation: for every pilot subcarrier p
(held out on every DMRS symbol at once), an estimator sees all the other pilots and predicts the channel at p;
its held-out error against the held-out LS value is

    E |h_hat_p - h_ls,p|^2 = E |h_hat_p - h_p|^2 + sigma^2,

because the noise on a held-out pilot is independent of an estimate that never saw it. So the cross-validated
error minus the noise variance is an unbiased estimate of the estimator's MSE at positions it did not observe,
i.e. exactly its interpolation + denoising error, with a ``sigma^2`` offset that is the same for every
candidate. Candidates are therefore ranked on ``cv_mse`` directly (the offset cancels), per observation
(paired, so the fading of each observation cancels too); the proxy NMSE reported is
``sum_i (cv_mse_i - sigma_i^2) / sum_i (P_i - sigma_i^2)`` with ``P_i`` the mean ``|h_ls|^2``.

What it measures is the estimator on the full comb with one gap (a local spacing of 4 subcarriers instead of
2 around the held-out pilot). Leave-one-out matters: with 2 interleaved folds the estimators see a comb twice as
sparse everywhere, which inflates the model-mismatch error of LMMSE with an estimated covariance and misranks it
against LS at high SNR (16 % of a TDL grid during development, against 2 % for leave-one-out). Fixed-geometry
estimators (the ONNX network) get the held-out pilot *filled* by linear interpolation of its neighbours instead of
removed (:func:`fill_held_out`), so nothing of the held-out value reaches them. The proxy ranks estimators like
their true NMSE, ``E||h_hat - h||^2 / E||h||^2``, because the errors that separate them (noise averaging,
interpolation bias, covariance mismatch) show at a held-out pilot as they do between pilots;
``tests/xapps/ce_selector/test_proxy.py`` and ``bench/ce.py`` check the ranking against the true NMSE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np

from nextric.phy.estimators import ChannelEstimator, interp_matrix, ls_pilots
from nextric.phy.grid import BoolArray, ComplexArray, FloatArray, PilotObservation

DEFAULT_FOLDS: int | None = None  #: None = leave-one-out (one fold per pilot subcarrier)


@runtime_checkable
class MaskableEstimator(Protocol):
    """An estimator with a fixed input geometry that takes a pilot mask instead of a pilot subset."""

    def estimate_masked(self, obs: PilotObservation, keep: BoolArray) -> ComplexArray: ...


def folds(n_pilot: int, k: int | None = DEFAULT_FOLDS) -> list[BoolArray]:
    """Held-out masks (n_pilot,) of ``k`` interleaved folds (fold f holds out pilot indices = f mod k);
    ``k=None``: leave-one-out."""
    kk = n_pilot if k is None else k
    idx = np.arange(n_pilot)
    return [np.asarray(idx % kk == f) for f in range(kk)]


def fill_held_out(obs: PilotObservation, held_out: BoolArray) -> PilotObservation:
    """``obs`` with the received value of every held-out pilot replaced so that its LS estimate is the linear
    interpolation (edge: hold) of the kept pilots of the same symbol: the geometry stays, the held-out values
    are gone."""
    held = np.asarray(held_out, dtype=bool)
    keep = ~held
    h = ls_pilots(obs)
    m = interp_matrix(obs.pilot_sc[keep], obs.pilot_sc[held])  # (n_held, n_keep)
    y = obs.y.copy()
    y[:, :, held] = np.einsum("hk,nsk->nsh", m, h[:, :, keep]) * obs.x[:, :, held]
    return replace(obs, y=y)


def estimate_without(est: ChannelEstimator, obs: PilotObservation, held_out: BoolArray) -> ComplexArray:
    """Full-grid estimate (N, 14, n_sc) from the pilots outside ``held_out`` only."""
    keep = ~np.asarray(held_out, dtype=bool)
    if isinstance(est, MaskableEstimator):
        return est.estimate_masked(obs, keep)
    return est.estimate(obs.pilots_subset(keep))


def cv_mse(est: ChannelEstimator, obs: PilotObservation, k: int | None = DEFAULT_FOLDS) -> FloatArray:
    """Cross-validated error (N,): mean over folds and held-out pilots of ``|h_hat_p - h_ls,p|^2``."""
    h_ls = ls_pilots(obs)
    tot = np.zeros(obs.n)
    cnt = 0
    for held in folds(len(obs.pilot_sc), k):
        h_hat = estimate_without(est, obs, held)[:, obs.dmrs_sym][:, :, obs.pilot_sc[held]]
        tot += (np.abs(h_hat - h_ls[:, :, held]) ** 2).sum((1, 2))
        cnt += h_hat.shape[1] * h_hat.shape[2]
    return np.asarray(tot / cnt)


@dataclass(frozen=True)
class ProxyScores:
    """Cross-validation scores of several candidates on the same observations."""

    cv: Mapping[str, FloatArray]  #: name -> (N,) cross-validated error (linear, channel power units)
    noise_var: FloatArray  #: (N,) the receiver's noise-variance estimate
    power: FloatArray  #: (N,) mean |h_ls|^2 over the pilots

    @property
    def n(self) -> int:
        return len(self.noise_var)

    def nmse_db(self, name: str) -> float:
        """Proxy NMSE (dB): ``sum(cv - sigma^2) / sum(P - sigma^2)``, floored at -60 dB."""
        num = float((self.cv[name] - self.noise_var).sum())
        den = float(np.maximum(self.power - self.noise_var, 1e-6).sum())
        return 10.0 * float(np.log10(max(num / den, 1e-6)))

    def se_db(self, name: str) -> float:
        """Relative standard error (dB) of the candidate's mean cross-validated error over the observations: how
        precisely the window measures it (large for few or very unequal observations)."""
        cv = self.cv[name]
        if self.n < 2:
            return float("inf")
        rel = float(cv.std(ddof=1)) / np.sqrt(self.n) / max(float(cv.mean()), 1e-12)
        return float(10.0 * np.log10(1.0 + rel))

    def gain_db(self, better: str, than: str) -> tuple[float, float]:
        """Paired comparison: (proxy NMSE of ``than`` minus that of ``better`` in dB, z-score of the paired
        difference of their cross-validated errors: mean / standard error). Positive = ``better`` is better."""
        gain = self.nmse_db(than) - self.nmse_db(better)
        diff = self.cv[than] - self.cv[better]
        if self.n < 2:
            return gain, 0.0
        se = float(diff.std(ddof=1)) / np.sqrt(self.n)
        return gain, float(diff.mean()) / se if se > 0 else (np.inf if diff.mean() > 0 else 0.0)


def score(estimators: Mapping[str, ChannelEstimator], obs: PilotObservation,
          k: int | None = DEFAULT_FOLDS) -> ProxyScores:
    """Cross-validation scores of every candidate on ``obs``."""
    h_ls = ls_pilots(obs)
    return ProxyScores({name: cv_mse(e, obs, k) for name, e in estimators.items()}, np.asarray(obs.noise_var),
                       np.asarray((np.abs(h_ls) ** 2).mean((1, 2))))

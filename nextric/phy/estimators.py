"""Channel estimators on DMRS observations: LS, LMMSE (true or observation-estimated covariance), a generic
neural plug point; NMSE.

Every estimator maps a :class:`~nextric.phy.grid.PilotObservation` to a full-grid estimate (N, 14, n_sc)
complex. Frequency: LS interpolates linearly between pilots (holding the edge values); LMMSE applies
``W = R_{k,p} (R_{p,p} + sigma^2 I)^{-1}`` to the LS pilot estimates. Time: linear interpolation between the
DMRS symbols (hold at the edges) for LS and LMMSE.

LMMSE with the *true* covariance (:class:`LMMSETrueCov`) needs the configured TDL profile and delay spread: it
is the textbook reference. :class:`LMMSEEstimatedCov` is what a receiver (and the testbed's ``LMMSE`` mode)
runs: it fits an exponential power-delay profile, ``R(df) = 1 / (1 + j 2 pi df tau)``, whose RMS delay spread
``tau`` comes from the magnitude of the LS pilots' frequency autocorrelation at lags 1..3
(:func:`estimate_rms_delay_spread`, the noise bias removed from lag 0), per observation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nextric.errors import ConfigError
from nextric.phy.channel import freq_covariance, tdl_profile
from nextric.phy.grid import N_SYMBOLS, ComplexArray, FloatArray, IntArray, PilotObservation


class ChannelEstimator(Protocol):
    """An estimator: ``estimate(obs) -> (N, 14, n_sc) complex``."""

    @property
    def name(self) -> str: ...

    def estimate(self, obs: PilotObservation) -> ComplexArray: ...


def interp_matrix(src: IntArray, dst: IntArray) -> FloatArray:
    """Linear-interpolation matrix (len(dst), len(src)), holding values beyond the ends."""
    eye = np.eye(len(src))
    return np.stack([np.interp(dst, src, eye[i]) for i in range(len(src))], axis=1)


def time_interp(h_sym: ComplexArray, obs: PilotObservation) -> ComplexArray:
    """(N, n_dmrs, n_sc) estimates on the DMRS symbols -> (N, 14, n_sc), linear in time, held at the edges."""
    m = interp_matrix(obs.dmrs_sym, np.arange(N_SYMBOLS))  # (14, n_dmrs)
    return np.asarray(np.einsum("ts,nsk->ntk", m, h_sym), dtype=np.complex128)


def ls_pilots(obs: PilotObservation) -> ComplexArray:
    """LS estimates at the pilots (N, n_dmrs, n_pilot): y / x."""
    return np.asarray(obs.y / obs.x, dtype=np.complex128)


@dataclass(frozen=True)
class LSEstimator:
    """Least squares + linear interpolation."""

    name: str = "LS"

    def estimate(self, obs: PilotObservation) -> ComplexArray:
        m = interp_matrix(obs.pilot_sc, np.arange(obs.cfg.n_sc))
        return time_interp(np.einsum("kp,nsp->nsk", m, ls_pilots(obs)), obs)


def lmmse_apply(h_ls: ComplexArray, r_kp: ComplexArray, r_pp: ComplexArray, noise_var: FloatArray) -> ComplexArray:
    """``R_kp (R_pp + sigma^2 I)^-1 h_ls`` per observation: h_ls (N, S, P), r_kp (N, K, P), r_pp (N, P, P)."""
    n_p = r_pp.shape[-1]
    a = r_pp + noise_var[:, None, None] * np.eye(n_p)
    w = np.linalg.solve(np.swapaxes(a, -1, -2).conj(), np.swapaxes(r_kp, -1, -2).conj())
    w = np.swapaxes(w, -1, -2).conj()  # (N, n_sc, n_p) = R_kp A^-1
    return np.asarray(np.einsum("nkp,nsp->nsk", w, h_ls), dtype=np.complex128)


@dataclass(frozen=True)
class LMMSETrueCov:
    """LMMSE with the true frequency covariance of the configured TDL profile and delay spread (reference)."""

    name: str = "LMMSE"

    def estimate(self, obs: PilotObservation) -> ComplexArray:
        if not obs.tdl_profile:
            raise ConfigError("LMMSE with the true covariance needs the observation's TDL profile")
        d, p = tdl_profile(obs.tdl_profile, obs.delay_spread_ns)
        k = np.arange(obs.cfg.n_sc)
        r_kp = freq_covariance(d, p, obs.cfg.scs_khz, k, obs.pilot_sc)
        r_pp = freq_covariance(d, p, obs.cfg.scs_khz, obs.pilot_sc, obs.pilot_sc)
        n = obs.y.shape[0]
        h = lmmse_apply(ls_pilots(obs), np.broadcast_to(r_kp, (n, *r_kp.shape)),
                        np.broadcast_to(r_pp, (n, *r_pp.shape)), obs.noise_var)
        return time_interp(h, obs)


def estimate_rms_delay_spread(obs: PilotObservation) -> FloatArray:
    """RMS delay spread (N,) s from the LS pilots' frequency autocorrelation, exponential-PDP fit:
    |r(df)|^2 = 1 / (1 + (2 pi df tau)^2), noise bias removed from lag 0."""
    h = ls_pilots(obs)
    spacing = float(obs.pilot_sc[1] - obs.pilot_sc[0]) * obs.cfg.scs_khz * 1e3
    p0 = np.maximum((np.abs(h) ** 2).mean((1, 2)) - obs.noise_var, 1e-3)
    taus = []
    for lag in (1, 2, 3):
        r = np.abs((h[:, :, lag:] * h[:, :, :-lag].conj()).mean((1, 2))) / p0
        r = np.clip(r, 1e-3, 0.999)
        taus.append(np.sqrt(1.0 / r**2 - 1.0) / (2 * np.pi * lag * spacing))
    return np.asarray(np.median(np.stack(taus), axis=0))


def pooled_rms_delay_spread(obs: PilotObservation) -> float:
    """One RMS delay spread (s) for a group of observations with the same delay profile: the fit of
    :func:`estimate_rms_delay_spread` on the autocorrelation pooled over all of them (noise bias removed from lag
    0 with each observation's noise variance). Far steadier at low SNR than the median of per-observation fits."""
    h = ls_pilots(obs)
    spacing = float(obs.pilot_sc[1] - obs.pilot_sc[0]) * obs.cfg.scs_khz * 1e3
    p0 = max(float(((np.abs(h) ** 2).mean((1, 2)) - obs.noise_var).sum()), 1e-3 * obs.n)
    taus = []
    for lag in (1, 2, 3):
        r = float(np.abs((h[:, :, lag:] * h[:, :, :-lag].conj()).mean((1, 2)).sum())) / p0
        r = min(max(r, 1e-3), 0.999)
        taus.append(np.sqrt(1.0 / r**2 - 1.0) / (2 * np.pi * lag * spacing))
    return float(np.median(taus))


@dataclass(frozen=True)
class LMMSEEstimatedCov:
    """LMMSE with a covariance estimated from the observation (exponential PDP, fitted RMS delay spread)."""

    name: str = "LMMSE-est"

    def estimate(self, obs: PilotObservation) -> ComplexArray:
        tau = estimate_rms_delay_spread(obs)
        df = obs.cfg.scs_khz * 1e3
        k = np.arange(obs.cfg.n_sc)

        def cov(rows: IntArray, cols: IntArray) -> ComplexArray:
            dk = (rows[:, None] - cols[None, :]) * df
            return np.asarray(1.0 / (1.0 + 2j * np.pi * dk[None] * tau[:, None, None]), dtype=np.complex128)

        h = lmmse_apply(ls_pilots(obs), cov(k, obs.pilot_sc), cov(obs.pilot_sc, obs.pilot_sc), obs.noise_var)
        return time_interp(h, obs)


@dataclass(frozen=True)
class NeuralEstimator:
    """Generic plug point for a learned estimator: ``infer`` maps float32 (N, 2, n_dmrs, n_pilot) [real, imag
    of the LS pilots] to float32 (N, 2, 14, n_sc) [real, imag of the full-grid estimate].

    The ONNX-served estimator of the channel-estimator selector is :class:`nextric.phy.neural.OnnxCeEstimator`.
    """

    infer: Callable[[np.ndarray], np.ndarray]
    name: str = "NEURAL"

    def estimate(self, obs: PilotObservation) -> ComplexArray:
        h = ls_pilots(obs)
        out = np.asarray(self.infer(np.stack([h.real, h.imag], axis=1).astype(np.float32)))
        if out.shape != (h.shape[0], 2, N_SYMBOLS, obs.cfg.n_sc):
            raise ConfigError(f"neural estimator returned shape {out.shape}, expected "
                              f"{(h.shape[0], 2, N_SYMBOLS, obs.cfg.n_sc)}")
        return np.asarray(out[:, 0] + 1j * out[:, 1], dtype=np.complex128)


def nmse(h_hat: ComplexArray, h: ComplexArray) -> FloatArray:
    """Per-observation NMSE (N,) linear: ||h_hat - h||^2 / ||h||^2."""
    ax = tuple(range(1, h.ndim))
    return np.asarray((np.abs(h_hat - h) ** 2).sum(ax) / np.maximum((np.abs(h) ** 2).sum(ax), 1e-30))

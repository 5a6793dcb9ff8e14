"""Pluggable channel estimators on DMRS observations: LS, LMMSE (true or observation-estimated
covariance) and a neural plug point; NMSE look-up tables that feed effective SINR.

Every estimator maps a :class:`~testbed.core.pilots.PilotObservation` to a full-grid estimate
(N, 14, n_sc) complex. Frequency: LS interpolates linearly; LMMSE applies
``W = R_{k,p} (R_{p,p} + sigma^2 I)^{-1}`` to the LS pilot estimates. Time: linear interpolation
between DMRS symbols (hold at the edges) for all estimators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nextric.errors import ConfigError
from testbed.core.pilots import (
    N_SYMBOLS,
    PilotConfig,
    PilotObservation,
    freq_covariance,
    generate_pilots,
    tdl_channel,
    tdl_profile,
)
from testbed.core.types import ComplexArray, FloatArray, IntArray

MODES = ("LS", "LMMSE", "NEURAL")


class ChannelEstimator(Protocol):
    """An estimator: ``estimate(obs) -> (N, 14, n_sc) complex``."""

    @property
    def name(self) -> str: ...

    def estimate(self, obs: PilotObservation) -> ComplexArray: ...


def _interp_matrix(src: IntArray, dst: IntArray) -> FloatArray:
    """Linear-interpolation matrix (len(dst), len(src)), holding values beyond the ends."""
    eye = np.eye(len(src))
    return np.stack([np.interp(dst, src, eye[i]) for i in range(len(src))], axis=1)


def _time_interp(h_sym: ComplexArray, obs: PilotObservation) -> ComplexArray:
    m = _interp_matrix(obs.dmrs_sym, np.arange(N_SYMBOLS))  # (14, n_dmrs)
    return np.asarray(np.einsum("ts,nsk->ntk", m, h_sym), dtype=np.complex128)


def ls_pilots(obs: PilotObservation) -> ComplexArray:
    """LS estimates at the pilots (N, n_dmrs, n_pilot): y / x."""
    return obs.y / obs.x


@dataclass(frozen=True)
class LSEstimator:
    """Least squares + linear interpolation."""

    name: str = "LS"

    def estimate(self, obs: PilotObservation) -> ComplexArray:
        m = _interp_matrix(obs.pilot_sc, np.arange(obs.cfg.n_sc))
        return _time_interp(np.einsum("kp,nsp->nsk", m, ls_pilots(obs)), obs)


def _lmmse_apply(h_ls: ComplexArray, r_kp: ComplexArray, r_pp: ComplexArray, noise_var: FloatArray) -> ComplexArray:
    n_p = r_pp.shape[-1]
    a = r_pp + noise_var[:, None, None] * np.eye(n_p)
    w = np.linalg.solve(np.swapaxes(a, -1, -2).conj(), np.swapaxes(r_kp, -1, -2).conj())
    w = np.swapaxes(w, -1, -2).conj()  # (N, n_sc, n_p) = R_kp A^-1
    return np.asarray(np.einsum("nkp,nsp->nsk", w, h_ls), dtype=np.complex128)


@dataclass(frozen=True)
class LMMSETrueCov:
    """LMMSE with the true frequency covariance of the configured TDL profile and delay spread."""

    name: str = "LMMSE"

    def estimate(self, obs: PilotObservation) -> ComplexArray:
        d, p = tdl_profile(obs.tdl_profile, obs.delay_spread_ns)
        k = np.arange(obs.cfg.n_sc)
        r_kp = freq_covariance(d, p, obs.cfg.scs_khz, k, obs.pilot_sc)
        r_pp = freq_covariance(d, p, obs.cfg.scs_khz, obs.pilot_sc, obs.pilot_sc)
        n = obs.y.shape[0]
        h = _lmmse_apply(ls_pilots(obs), np.broadcast_to(r_kp, (n, *r_kp.shape)),
                         np.broadcast_to(r_pp, (n, *r_pp.shape)), obs.noise_var)
        return _time_interp(h, obs)


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

        h = _lmmse_apply(ls_pilots(obs), cov(k, obs.pilot_sc), cov(obs.pilot_sc, obs.pilot_sc), obs.noise_var)
        return _time_interp(h, obs)


@dataclass(frozen=True)
class NeuralEstimator:
    """Plug point for a learned estimator (issue Part 06, served with onnxruntime).

    ``infer`` maps float32 (N, 2, n_dmrs, n_pilot) [real, imag of the LS pilots] to float32
    (N, 2, 14, n_sc) [real, imag of the full-grid estimate].
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


@dataclass(frozen=True)
class EstimatorBank:
    """Mode -> estimator. ``NEURAL`` falls back to LMMSE-est when no neural model is plugged in."""

    ls: ChannelEstimator
    lmmse: ChannelEstimator
    neural: ChannelEstimator | None = None

    @staticmethod
    def default(neural: ChannelEstimator | None = None) -> EstimatorBank:
        return EstimatorBank(LSEstimator(), LMMSEEstimatedCov(), neural)

    def get(self, mode: str) -> tuple[ChannelEstimator, bool]:
        """(estimator, fell_back) for ``mode`` in :data:`MODES`."""
        if mode == "LS":
            return self.ls, False
        if mode == "LMMSE":
            return self.lmmse, False
        if mode == "NEURAL":
            return (self.neural, False) if self.neural is not None else (self.lmmse, True)
        raise ConfigError(f"unknown estimator mode {mode!r}; expected one of {list(MODES)}")


def nmse(h_hat: ComplexArray, h: ComplexArray) -> FloatArray:
    """Per-observation NMSE (N,) linear: ||h_hat - h||^2 / ||h||^2."""
    ax = tuple(range(1, h.ndim))
    return np.asarray((np.abs(h_hat - h) ** 2).sum(ax) / np.maximum((np.abs(h) ** 2).sum(ax), 1e-30))


SNR_GRID_DB = np.arange(-10.0, 41.0, 5.0)
DOPPLER_GRID_HZ = np.array([0.0, 30.0, 100.0, 300.0, 1000.0])


@dataclass(frozen=True, eq=False)
class NmseTable:
    """Measured NMSE (dB) of each mode on generated pilots: (n_modes, n_profiles, n_snr, n_doppler)."""

    nmse_db: FloatArray
    profile_of_cell: IntArray  #: (C,) index into the profile axis


def build_nmse_table(profiles: list[tuple[str, float, int]], profile_of_cell: IntArray, bank: EstimatorBank,
                     rng: np.random.Generator, cfg_prb: int = 4, n_obs: int = 8) -> NmseTable:
    """Run every estimator mode on generated pilots for each (profile, delay spread ns, SCS kHz) on the
    SNR x Doppler grid; returns mean NMSE in dB."""
    out = np.zeros((len(MODES), len(profiles), len(SNR_GRID_DB), len(DOPPLER_GRID_HZ)))
    for pi, (name, ds, scs) in enumerate(profiles):
        cfg = PilotConfig(n_prb=cfg_prb, scs_khz=scs)
        d, p = tdl_profile(name, ds)
        snr = np.repeat(SNR_GRID_DB, len(DOPPLER_GRID_HZ) * n_obs)
        dop = np.tile(np.repeat(DOPPLER_GRID_HZ, n_obs), len(SNR_GRID_DB))
        h = tdl_channel(d, p, dop, cfg, rng)
        obs = generate_pilots(h, snr, dop, cfg, name, ds, rng)
        for mi, mode in enumerate(MODES):
            est, _ = bank.get(mode)
            e = nmse(est.estimate(obs), h).reshape(len(SNR_GRID_DB), len(DOPPLER_GRID_HZ), n_obs).mean(-1)
            out[mi, pi] = 10 * np.log10(np.maximum(e, 1e-6))
    return NmseTable(nmse_db=out, profile_of_cell=profile_of_cell)


def lookup_nmse(table: NmseTable, mode_idx: IntArray, serving: IntArray, snr_db: FloatArray,
                doppler_hz: FloatArray) -> FloatArray:
    """Bilinear look-up of NMSE (U,) linear for each UE's mode, serving cell profile, SNR and Doppler."""
    n_s, n_d = len(SNR_GRID_DB), len(DOPPLER_GRID_HZ)
    s = np.minimum(np.maximum(snr_db, SNR_GRID_DB[0]), SNR_GRID_DB[-1])
    fs = (s - SNR_GRID_DB[0]) / (SNR_GRID_DB[1] - SNR_GRID_DB[0])
    i0 = np.minimum(fs.astype(np.int64), n_s - 2)
    ws = fs - i0
    dop = np.minimum(np.maximum(doppler_hz, 0.0), DOPPLER_GRID_HZ[-1])
    j0 = np.minimum(np.maximum(np.searchsorted(DOPPLER_GRID_HZ, dop, side="right") - 1, 0), n_d - 2)
    wd = (dop - DOPPLER_GRID_HZ[j0]) / (DOPPLER_GRID_HZ[j0 + 1] - DOPPLER_GRID_HZ[j0])
    # flat indices into (mode, profile, snr, doppler): four gathers of (U,) instead of a (U, n_snr, n_dop) copy
    n_p = table.nmse_db.shape[1]
    flat = table.nmse_db.reshape(-1)
    k00 = ((mode_idx * n_p + table.profile_of_cell[serving]) * n_s + i0) * n_d + j0
    v = ((1 - ws) * (1 - wd) * flat[k00] + ws * (1 - wd) * flat[k00 + n_d]
         + (1 - ws) * wd * flat[k00 + 1] + ws * wd * flat[k00 + n_d + 1])
    return np.asarray(np.exp(v * (np.log(10.0) / 10.0)))  # 10^(v/10)

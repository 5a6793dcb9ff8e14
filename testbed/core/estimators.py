"""Pluggable channel estimators of the emulated PHY: the mode bank (LS / LMMSE / NEURAL) and the NMSE look-up
tables that feed effective SINR.

The estimator numerics (LS, LMMSE with true or observation-estimated covariance, the neural plug point, NMSE)
live in :mod:`nextric.phy.estimators`, shared with the channel-estimator selector xApp; they are re-exported
here so the testbed's imports stay as they were. The ONNX-served learned estimator is
:class:`nextric.phy.neural.OnnxCeEstimator` (plugged in with ``EstimatorBank.default(neural)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextric.errors import ConfigError
from nextric.phy.estimators import (
    ChannelEstimator,
    LMMSEEstimatedCov,
    LMMSETrueCov,
    LSEstimator,
    NeuralEstimator,
    estimate_rms_delay_spread,
    interp_matrix,
    lmmse_apply,
    ls_pilots,
    nmse,
    time_interp,
)
from testbed.core.pilots import PilotConfig, generate_pilots, tdl_channel, tdl_profile
from testbed.core.types import FloatArray, IntArray

__all__ = ["DOPPLER_GRID_HZ", "MODES", "SNR_GRID_DB", "ChannelEstimator", "EstimatorBank", "LMMSEEstimatedCov",
           "LMMSETrueCov", "LSEstimator", "NeuralEstimator", "NmseTable", "build_nmse_table",
           "estimate_rms_delay_spread", "interp_matrix", "lmmse_apply", "lookup_nmse", "ls_pilots", "nmse",
           "time_interp"]

MODES = ("LS", "LMMSE", "NEURAL")


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

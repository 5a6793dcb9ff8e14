"""OFDM pilots: TR 38.901 TDL-A/B/C channels with Jakes Doppler on the NR DMRS type 1 grid (TS 38.211 7.4.1.1),
received pilot generation. Channels are normalised to unit average power.

The pure geometry, the observation type and the TDL statistics live in :mod:`nextric.phy` (shared with the
apps); they are re-exported here so the testbed's imports stay as they were.
"""

from __future__ import annotations

import numpy as np

from nextric.phy.channel import TDL_TABLES, bessel_j0, freq_covariance, tdl_profile
from nextric.phy.grid import N_SYMBOLS, PilotConfig, PilotObservation, dmrs_subcarriers, dmrs_symbols
from testbed.core.types import ComplexArray, FloatArray

__all__ = ["N_SINUSOIDS", "N_SYMBOLS", "TDL_TABLES", "PilotConfig", "PilotObservation", "bessel_j0",
           "dmrs_subcarriers", "dmrs_symbols", "freq_covariance", "generate_pilots", "tdl_channel", "tdl_profile"]

N_SINUSOIDS = 16


def tdl_channel(delays_s: FloatArray, powers: FloatArray, doppler_hz: FloatArray, cfg: PilotConfig,
                rng: np.random.Generator) -> ComplexArray:
    """Time-frequency channel (N, 14, n_sc) complex for N UEs/observations with Jakes fading.

    doppler_hz: (N,) maximum Doppler per observation. Each tap is a sum of 16 sinusoids with random
    arrival angles and phases (Rayleigh, classic Jakes spectrum).
    """
    n = len(doppler_hz)
    n_taps = len(delays_s)
    t = np.arange(N_SYMBOLS) * cfg.symbol_s
    alpha = rng.uniform(0, 2 * np.pi, (n, n_taps, N_SINUSOIDS))
    phi = rng.uniform(0, 2 * np.pi, (n, n_taps, N_SINUSOIDS))
    t0 = rng.uniform(0, 1.0, (n, 1, 1, 1))
    fd = doppler_hz[:, None, None, None] * np.cos(alpha)[..., None]
    a = np.exp(1j * (2 * np.pi * fd * (t + t0) + phi[..., None])).sum(2) / np.sqrt(N_SINUSOIDS)  # (N, L, T)
    a = a * np.sqrt(powers)[None, :, None]
    k = np.arange(cfg.n_sc)
    ph = np.exp(-2j * np.pi * np.outer(delays_s, k) * cfg.scs_khz * 1e3)  # (L, K)
    return np.asarray(np.einsum("nlt,lk->ntk", a, ph), dtype=np.complex128)


def generate_pilots(h: ComplexArray, snr_db: FloatArray, doppler_hz: FloatArray, cfg: PilotConfig,
                    profile: str, ds_ns: float, rng: np.random.Generator) -> PilotObservation:
    """Received DMRS ``y = h x + n`` on the type-1 grid for channels ``h`` (N, 14, n_sc).

    snr_db (N,) true SNR; the receiver's SNR/Doppler estimates carry small errors (0.5 dB, 10 %).
    """
    n = h.shape[0]
    sc_idx = dmrs_subcarriers(cfg.n_prb)
    sym = np.array(dmrs_symbols(cfg.additional_positions), dtype=np.int64)
    hp = h[:, sym][:, :, sc_idx]
    x = (rng.choice([-1.0, 1.0], hp.shape) + 1j * rng.choice([-1.0, 1.0], hp.shape)) / np.sqrt(2)
    nv = 10 ** (-snr_db / 10)
    noise = np.sqrt(nv / 2)[:, None, None] * (rng.standard_normal(hp.shape) + 1j * rng.standard_normal(hp.shape))
    snr_est = snr_db + rng.normal(0.0, 0.5, n)
    return PilotObservation(y=hp * x + noise, x=x, pilot_sc=sc_idx, dmrs_sym=sym, noise_var=10 ** (-snr_est / 10),
                            snr_db_est=snr_est, doppler_hz_est=doppler_hz * (1 + rng.normal(0.0, 0.1, n)),
                            cfg=cfg, tdl_profile=profile, delay_spread_ns=ds_ns)

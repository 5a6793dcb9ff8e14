"""OFDM pilots: TR 38.901 TDL-A/B/C power-delay profiles with Jakes Doppler, NR DMRS type 1 positions
(TS 38.211 7.4.1.1), received pilot generation. Channels are normalised to unit average power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextric.errors import ConfigError
from testbed.core.types import ComplexArray, FloatArray, IntArray

#: TR 38.901 Tables 7.7.2-1..3: (normalised delay, power dB) per tap.
TDL_TABLES: dict[str, tuple[tuple[float, float], ...]] = {
    "TDL-A": ((0.0, -13.4), (0.3819, 0.0), (0.4025, -2.2), (0.5868, -4.0), (0.4610, -6.0), (0.5375, -8.2),
              (0.6708, -9.9), (0.5750, -10.5), (0.7618, -7.5), (1.5375, -15.9), (1.8978, -6.6),
              (2.2242, -16.7), (2.1718, -12.4), (2.4942, -15.2), (2.5119, -10.8), (3.0582, -11.3),
              (4.0810, -12.7), (4.4579, -16.2), (4.5695, -18.3), (4.7966, -18.9), (5.0066, -16.6),
              (5.3043, -19.9), (9.6586, -29.7)),
    "TDL-B": ((0.0, 0.0), (0.1072, -2.2), (0.2155, -4.0), (0.2095, -3.2), (0.2870, -9.8), (0.2986, -1.2),
              (0.3752, -3.4), (0.5055, -5.2), (0.3681, -7.6), (0.3697, -3.0), (0.5700, -8.9), (0.5283, -9.0),
              (1.1021, -4.8), (1.2756, -5.7), (1.5474, -7.5), (1.7842, -1.9), (2.0169, -7.6), (2.8294, -12.2),
              (3.0219, -9.8), (3.6187, -11.4), (4.1067, -14.9), (4.2790, -9.2), (4.7834, -11.3)),
    "TDL-C": ((0.0, -4.4), (0.2099, -1.2), (0.2219, -3.5), (0.2329, -5.2), (0.2176, -2.5), (0.6366, 0.0),
              (0.6448, -2.2), (0.6560, -3.9), (0.6584, -7.4), (0.7935, -7.1), (0.8213, -10.7), (0.9336, -11.1),
              (1.2285, -5.1), (1.3083, -6.8), (2.1704, -8.7), (2.7105, -13.2), (4.2589, -13.9), (4.6003, -13.9),
              (5.4902, -15.8), (5.6077, -17.1), (6.3065, -16.0), (6.6374, -15.7), (7.0427, -21.6),
              (8.6523, -22.8)),
}
N_SYMBOLS = 14
N_SINUSOIDS = 16


def tdl_profile(name: str, ds_ns: float) -> tuple[FloatArray, FloatArray]:
    """Tap delays (L,) s and linear powers (L,) summing to 1 for profile ``name`` scaled to ``ds_ns``."""
    if name not in TDL_TABLES:
        raise ConfigError(f"unknown TDL profile {name!r}; expected one of {sorted(TDL_TABLES)}")
    t = np.array(TDL_TABLES[name])
    p = 10 ** (t[:, 1] / 10)
    return t[:, 0] * ds_ns * 1e-9, p / p.sum()


def dmrs_symbols(additional_positions: int = 1, l0: int = 2) -> tuple[int, ...]:
    """PDSCH mapping type A DMRS symbols in a 14-symbol slot (TS 38.211 Table 7.4.1.1.2-3, single symbol)."""
    table = {0: (l0,), 1: (l0, 11), 2: (l0, 7, 11), 3: (l0, 5, 8, 11)}
    if additional_positions not in table:
        raise ConfigError(f"dmrs-AdditionalPosition must be 0..3, got {additional_positions}")
    return table[additional_positions]


def dmrs_subcarriers(n_prb: int, cdm_group: int = 0) -> IntArray:
    """DMRS configuration type 1 subcarriers k = 4n + 2k' + Delta (Delta = cdm_group): every other subcarrier."""
    return np.arange(cdm_group, 12 * n_prb, 2, dtype=np.int64)


@dataclass(frozen=True)
class PilotConfig:
    """Pilot observation geometry for one UE report."""

    n_prb: int = 4
    scs_khz: int = 30
    additional_positions: int = 1

    @property
    def n_sc(self) -> int:
        return 12 * self.n_prb

    @property
    def symbol_s(self) -> float:
        return 1e-3 / (self.scs_khz / 15) / N_SYMBOLS


def freq_covariance(delays_s: FloatArray, powers: FloatArray, scs_khz: int, k_rows: IntArray,
                    k_cols: IntArray) -> ComplexArray:
    """True frequency covariance E[h_k h_k'^*] = sum_l P_l exp(-j 2 pi (k - k') df tau_l) (rows x cols)."""
    dk = (k_rows[:, None] - k_cols[None, :]).astype(np.float64) * scs_khz * 1e3
    return np.asarray(np.einsum("l,rcl->rc", powers, np.exp(-2j * np.pi * dk[..., None] * delays_s)),
                      dtype=np.complex128)


def bessel_j0(x: FloatArray) -> FloatArray:
    """J0(x) = (1/pi) int_0^pi cos(x sin t) dt (64-point midpoint rule; |err| < 1e-9 for |x| < 30)."""
    t = (np.arange(64) + 0.5) * np.pi / 64
    return np.asarray(np.cos(np.asarray(x)[..., None] * np.sin(t)).mean(-1), dtype=np.float64)


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


@dataclass(frozen=True, eq=False)
class PilotObservation:
    """What a receiver sees (no ground truth): received DMRS, pilot symbols and configured statistics."""

    y: ComplexArray  #: (N, n_dmrs_sym, n_pilot) received pilots
    x: ComplexArray  #: (N, n_dmrs_sym, n_pilot) transmitted QPSK pilots
    pilot_sc: IntArray  #: (n_pilot,) subcarrier indices
    dmrs_sym: IntArray  #: (n_dmrs_sym,) symbol indices
    noise_var: FloatArray  #: (N,) noise variance (channel power = 1), as estimated by the receiver
    snr_db_est: FloatArray  #: (N,) SNR estimate dB
    doppler_hz_est: FloatArray  #: (N,) Doppler estimate Hz
    cfg: PilotConfig
    tdl_profile: str  #: configured profile (scenario config, not the truth)
    delay_spread_ns: float  #: configured delay spread


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

"""TR 38.901 TDL-A/B/C power-delay profiles and the frequency covariance they imply (the LMMSE reference)."""

from __future__ import annotations

import numpy as np

from nextric.errors import ConfigError
from nextric.phy.grid import ComplexArray, FloatArray, IntArray

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


def tdl_profile(name: str, ds_ns: float) -> tuple[FloatArray, FloatArray]:
    """Tap delays (L,) s and linear powers (L,) summing to 1 for profile ``name`` scaled to ``ds_ns``."""
    if name not in TDL_TABLES:
        raise ConfigError(f"unknown TDL profile {name!r}; expected one of {sorted(TDL_TABLES)}")
    t = np.array(TDL_TABLES[name])
    p = 10 ** (t[:, 1] / 10)
    return t[:, 0] * ds_ns * 1e-9, p / p.sum()


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

"""3GPP TR 38.901 (v17) Table 7.4.1-1 path loss and Table 7.4.2-1 LOS probability, UMi street canyon and UMa.

Distances in metres, carrier frequency in GHz, heights in metres; results in dB. Shadow fading
standard deviations and decorrelation distances (Table 7.5-6) are exposed for the radio model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nextric.errors import ConfigError
from testbed.core.types import BoolArray, FloatArray

C_LIGHT = 299_792_458.0


@dataclass(frozen=True)
class PathLossModel:
    """Per-scenario constants (TR 38.901 Tables 7.4.1-1 and 7.5-6)."""

    name: str
    sigma_sf_los_db: float
    sigma_sf_nlos_db: float
    sf_decorr_los_m: float
    sf_decorr_nlos_m: float
    los_decorr_m: float


UMI = PathLossModel("UMi", 4.0, 7.82, 10.0, 13.0, 50.0)
UMA = PathLossModel("UMa", 4.0, 6.0, 37.0, 50.0, 50.0)


def model_by_name(name: str) -> PathLossModel:
    """``"UMi"`` or ``"UMa"`` (case-insensitive); :class:`ConfigError` otherwise."""
    key = name.lower()
    if key == "umi":
        return UMI
    if key == "uma":
        return UMA
    raise ConfigError(f"unknown path-loss scenario {name!r}: expected 'UMi' or 'UMa' (TR 38.901)")


def _d3d(d2d: FloatArray, h_bs: float | FloatArray, h_ut: float | FloatArray) -> FloatArray:
    return np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)


def pathloss_umi(d2d: FloatArray, fc_ghz: float | FloatArray, h_bs: float | FloatArray = 10.0,
                 h_ut: float | FloatArray = 1.5) -> tuple[
    FloatArray, FloatArray
]:
    """UMi street canyon LOS and NLOS path loss (dB), each the shape of ``d2d`` (m, clipped to >= 10 m)."""
    d2d = np.maximum(d2d, 10.0)
    d3d = _d3d(d2d, h_bs, h_ut)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc_ghz * 1e9 / C_LIGHT
    pl1 = 32.4 + 21.0 * np.log10(d3d) + 20.0 * np.log10(fc_ghz)
    pl2 = (32.4 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc_ghz)
           - 9.5 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    pl_los = np.where(d2d <= d_bp, pl1, pl2)
    pl_nlos_p = 35.3 * np.log10(d3d) + 22.4 + 21.3 * np.log10(fc_ghz) - 0.3 * (h_ut - 1.5)
    return pl_los, np.maximum(pl_los, pl_nlos_p)


def pathloss_uma(d2d: FloatArray, fc_ghz: float | FloatArray, h_bs: float | FloatArray = 25.0,
                 h_ut: float | FloatArray = 1.5) -> tuple[
    FloatArray, FloatArray
]:
    """UMa LOS and NLOS path loss (dB), each the shape of ``d2d`` (m, clipped to >= 10 m); h_E = 1 m."""
    d2d = np.maximum(d2d, 10.0)
    d3d = _d3d(d2d, h_bs, h_ut)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc_ghz * 1e9 / C_LIGHT
    pl1 = 28.0 + 22.0 * np.log10(d3d) + 20.0 * np.log10(fc_ghz)
    pl2 = (28.0 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc_ghz)
           - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    pl_los = np.where(d2d <= d_bp, pl1, pl2)
    pl_nlos_p = 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc_ghz) - 0.6 * (h_ut - 1.5)
    return pl_los, np.maximum(pl_los, pl_nlos_p)


def los_probability(model: PathLossModel, d2d: FloatArray, h_ut: float | FloatArray = 1.5) -> FloatArray:
    """TR 38.901 Table 7.4.2-1 LOS probability for UMi / UMa (outdoor UE), shape of ``d2d``."""
    d = np.maximum(d2d, 1e-3)
    r = 18.0 / d
    if model.name == "UMi":  # p = r + exp(-d / 36) (1 - r), in place (same floats, fewer temporaries)
        p = np.negative(d)
        p /= 36.0
        np.exp(p, out=p)
        p *= 1.0 - r
        p += r
        np.maximum(p, 0.0, out=p)
        np.minimum(p, 1.0, out=p)
        return np.where(d <= 18.0, 1.0, p)
    else:
        c_h = np.where(np.asarray(h_ut) <= 13.0, 0.0, (np.clip(np.asarray(h_ut), 13.0, 23.0) - 13.0) / 10.0) ** 1.5
        p = (r + np.exp(-d / 63.0) * (1.0 - r)) * (
            1.0 + c_h * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0))
    return np.where(d <= 18.0, 1.0, np.minimum(np.maximum(p, 0.0), 1.0))


def pathloss(model: PathLossModel, d2d: FloatArray, los: BoolArray, fc_ghz: float | FloatArray,
             h_bs: float | FloatArray, h_ut: float | FloatArray = 1.5) -> FloatArray:
    """Path loss (dB) selecting LOS/NLOS per element; ``d2d`` m and ``los`` bool broadcast together."""
    fn = pathloss_umi if model.name == "UMi" else pathloss_uma
    pl_los, pl_nlos = fn(d2d, fc_ghz, h_bs, h_ut)
    return np.where(los, pl_los, pl_nlos)


@dataclass(frozen=True)
class PathLossCoef:
    """Coefficients of the Table 7.4.1-1 formulas in the shared form (dB; ``L = log10 d3D``)::

        PL1 = a + m1 L + f_los log10 fc ;  PL2 = a + 40 L + f_los log10 fc - bp log10(d_BP^2 + (h_BS - h_UT)^2)
        PL_NLOS' = c_n + m_n L + f_n log10 fc - h_n (h_UT - 1.5)
    """

    a: float
    m1: float
    bp: float
    m_n: float
    c_n: float
    f_n: float
    h_n: float


COEF = {"UMi": PathLossCoef(32.4, 21.0, 9.5, 35.3, 22.4, 21.3, 0.3),
        "UMa": PathLossCoef(28.0, 22.0, 9.0, 39.08, 13.54, 20.0, 0.6)}


@dataclass(frozen=True, eq=False)
class PathLossTerms:
    """Distance-independent terms of :func:`pathloss` for fixed (fc, h_BS, h_UT), each of one broadcast shape."""

    coef: PathLossCoef
    dh2: FloatArray  #: (h_BS - h_UT)^2 m^2
    d_bp: FloatArray  #: breakpoint distance d'_BP (m)
    c1: FloatArray  #: dB a + 20 log10 fc  (PL1 = c1 + m1 L)
    c2: FloatArray  #: dB a + 20 log10 fc - bp log10(d_BP^2 + (h_BS - h_UT)^2)  (PL2 = c2 + 40 L)
    cn: FloatArray  #: dB c_n + f_n log10 fc - h_n (h_UT - 1.5)  (PL_NLOS' = cn + m_n L)


def pathloss_terms(model: PathLossModel, fc_ghz: FloatArray, h_bs: FloatArray, h_ut: FloatArray) -> PathLossTerms:
    """Pre-compute the terms of :func:`pathloss` that do not depend on distance (cache them while fc, heights hold)."""
    k = COEF[model.name]
    fc, hb, hu = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (fc_ghz, h_bs, h_ut)))
    lf = np.log10(fc)
    d_bp = 4.0 * (hb - 1.0) * (hu - 1.0) * fc * 1e9 / C_LIGHT
    dh2 = (hb - hu) ** 2
    c1 = k.a + 20.0 * lf
    return PathLossTerms(coef=k, dh2=dh2, d_bp=d_bp, c1=c1, c2=c1 - k.bp * np.log10(d_bp**2 + dh2),
                         cn=k.c_n + k.f_n * lf - k.h_n * (hu - 1.5))


def pathloss_cached(t: PathLossTerms, d2d: FloatArray, los: BoolArray) -> FloatArray:
    """:func:`pathloss` (dB) with the distance-independent terms from :func:`pathloss_terms` (equal up to
    floating-point rounding: ``log10 d3D`` is formed as ``0.5 log10(d2D^2 + dh^2)``)."""
    k = t.coef
    d2 = np.maximum(d2d, 10.0)
    if d2.shape != t.dh2.shape:  # in-place updates below need the full broadcast shape
        d2 = np.maximum(np.broadcast_to(d2d, np.broadcast_shapes(d2.shape, t.dh2.shape, np.shape(los))), 10.0)
    near = d2 <= t.d_bp
    lg = np.multiply(d2, d2, out=d2)
    lg += t.dh2
    np.log10(lg, out=lg)
    lg *= 0.5
    # in place: the same expressions as np.where(near, m1 lg + c1, 40 lg + c2) etc., fewer temporaries
    pl_los = 40.0 * lg
    pl_los += t.c2
    pl1 = k.m1 * lg
    pl1 += t.c1
    np.copyto(pl_los, pl1, where=near)
    nlos = np.multiply(k.m_n, lg, out=pl1)
    nlos += t.cn
    np.maximum(nlos, pl_los, out=nlos)
    np.copyto(nlos, pl_los, where=los)
    return nlos

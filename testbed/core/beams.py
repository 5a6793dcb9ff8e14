"""DFT beam codebook of a half-wavelength ULA and closed-form beam gains over a geometric channel.

A Set-A codebook of ``B`` DFT beams points at spatial frequencies ``u_b = -1 + (2b + 1) / B``
(``u = sin(angle from broadside)``). The array gain of beam ``b`` towards a path at ``u`` is the
Fejér kernel ``|sum_n exp(j pi n (u - u_b))|^2 / N = sin^2(N x / 2) / (N sin^2(x / 2))``,
``x = pi (u - u_b)``, peaking at ``N`` (``10 log10 N`` dBi). The geometric channel per UE is a LOS
path (Rician K factor) plus ``P`` clusters with angular offsets and exponential powers; the
received power in beam ``b`` is ``sum_p w_p G_b(u_p)`` (powers ``w`` sum to 1).

Set B comes in two kinds (3GPP TR 38.843 BM-Case1): ``subset`` -- Set B is a subset of the Set-A beams (same
``N``-element kernel) -- and ``wide`` -- Set B is its own codebook of wide beams: beam ``k`` is the DFT beam of an
``M``-element sub-array (``M < N``, unit-norm weights ``1/sqrt(M)`` on elements ``0..M-1``) pointed at the Set-A
direction ``u_{s_k}``. Its gain is the same kernel with ``M`` elements, ``G^M(u - u_{s_k})`` (peak ``M``); the
main lobe is ``N/M`` times wider (first nulls at ``+-2/M``).
"""

from __future__ import annotations

import numpy as np

from testbed.core.types import FloatArray, IntArray

RSRP_MIN_DBM = -140.0
RSRP_MAX_DBM = -44.0


def codebook_u(n_beams: int) -> FloatArray:
    """Spatial frequencies (B,) float64 of a DFT codebook covering u in [-1, 1)."""
    return -1.0 + (2.0 * np.arange(n_beams) + 1.0) / n_beams


def array_gain(u_path: FloatArray, u_beam: FloatArray, n_ant: int) -> FloatArray:
    """Fejér-kernel array gain (linear, max ``n_ant``); shapes broadcast."""
    x = np.pi * (u_path - u_beam)
    s = np.sin(0.5 * x)
    small = np.abs(s) < 1e-9
    num = np.sin(0.5 * n_ant * x)
    g = np.where(small, float(n_ant), num**2 / (n_ant * np.where(small, 1.0, s) ** 2))
    return g


GAIN_TABLE_POINTS = 16384


def gain_table(n_ant: int) -> FloatArray:
    """Fejér kernel sampled on ``u - u_b`` in [-2, 2] (GAIN_TABLE_POINTS,) for fast nearest look-up."""
    return array_gain(np.linspace(-2.0, 2.0, GAIN_TABLE_POINTS), np.zeros(1), n_ant)


_LUT_SCALE = (GAIN_TABLE_POINTS - 1) / 4.0


def _lookup(table: FloatArray, du: FloatArray) -> FloatArray:
    idx = ((du + 2.0) * _LUT_SCALE + 0.5).astype(np.int64)
    return table[idx]


def path_gains(u_paths: FloatArray, u_beams: FloatArray, table: FloatArray) -> FloatArray:
    """Per-path gains (U, B, P) float64 linear of beams (B,) towards paths (U, P), by nearest table look-up.

    The table index ``round((u_p - u_b + 2) s)`` is formed as ``(u_p s + 2 s + 1/2) - u_b s`` (one broadcast
    subtraction instead of four passes over (U, B, P)); it can differ from :func:`beam_gains`'s by one entry
    only when the exact value is within rounding error of a half-integer."""
    a = u_paths * _LUT_SCALE
    a += 2.0 * _LUT_SCALE + 0.5
    idx = (a[:, None, :] - (u_beams * _LUT_SCALE)[None, :, None]).astype(np.int64)
    return np.asarray(table.take(idx), dtype=np.float64)


def path_gains_t(u_paths: FloatArray, u_beams: FloatArray, table: FloatArray) -> FloatArray:
    """:func:`path_gains` in the UE-last layout: paths (P, U) -> gains (B, P, U) float64 linear."""
    a = u_paths * _LUT_SCALE
    a += 2.0 * _LUT_SCALE + 0.5
    # the difference cast to int64 on output (the same truncating cast as ``astype``, without a float temporary)
    idx = np.empty((len(u_beams), *a.shape), dtype=np.int64)
    np.subtract(a[None, :, :], (u_beams * _LUT_SCALE)[:, None, None], out=idx, casting="unsafe")
    return np.asarray(table.take(idx), dtype=np.float64)


def beam_path_gains_t(u_paths: FloatArray, u_beam: FloatArray, table: FloatArray) -> FloatArray:
    """Per-path gains (P, U) float64 linear of one beam per UE (``u_beam`` (U,)) towards paths (P, U)."""
    return np.asarray(_lookup(table, u_paths - u_beam[None, :]), dtype=np.float64)


def beam_gains(u_paths: FloatArray, w_paths: FloatArray, u_beams: FloatArray, n_ant: int,
               table: FloatArray | None = None) -> FloatArray:
    """Received gain per beam: (U, P) path u, (U, P) weights, (B,) beams -> (U, B) float64 linear.

    With ``table`` (from :func:`gain_table`) the kernel is looked up instead of evaluated."""
    du = u_paths[:, None, :] - u_beams[None, :, None]  # (U, B, P)
    g = _lookup(table, du) if table is not None else array_gain(du, np.zeros(1), n_ant)
    return np.asarray(np.einsum("ubp,up->ub", g, w_paths), dtype=np.float64)


def serving_gain(u_paths: FloatArray, w_paths: FloatArray, beam: IntArray, u_codebook: FloatArray,
                 n_ant: int, table: FloatArray | None = None) -> FloatArray:
    """Gain (U,) float64 linear of each UE's serving beam index ``beam`` (U,) int64."""
    du = u_paths - u_codebook[beam][:, None]
    g = _lookup(table, du) if table is not None else array_gain(du, np.zeros(1), n_ant)
    return np.asarray((g * w_paths).sum(axis=1), dtype=np.float64)


def path_geometry_t(az_ue_rad: FloatArray, cluster_off_rad: FloatArray, cluster_pow: FloatArray,
                    los: np.ndarray, k_factor_lin: float) -> tuple[FloatArray, FloatArray]:
    """:func:`path_geometry` in the UE-last layout: cluster offsets and powers (P, U) -> (u, w) each (P+1, U)."""
    n_p, u = cluster_off_rad.shape
    ang = np.empty((n_p + 1, u))
    ang[0] = az_ue_rad
    np.add(az_ue_rad, cluster_off_rad, out=ang[1:])
    w_los = np.where(los, k_factor_lin / (k_factor_lin + 1.0), 0.0)
    w = np.empty((n_p + 1, u))
    w[0] = w_los
    np.multiply(1.0 - w_los, cluster_pow, out=w[1:])
    return np.sin(ang, out=ang), w


def quantise_rsrp(rsrp_dbm: FloatArray) -> FloatArray:
    """L1-RSRP reporting: round to 1 dB, clip to [-140, -44] dBm (TS 38.133 range)."""
    q = np.rint(rsrp_dbm)
    return np.minimum(np.maximum(q, RSRP_MIN_DBM, out=q), RSRP_MAX_DBM, out=q)


def measure_rsrp(rsrp_dbm: FloatArray, noise_db: float, rng: np.random.Generator) -> FloatArray:
    """L1-RSRP measurement of beams with true L1-RSRP ``rsrp_dbm`` (any shape) dBm: Gaussian error of ``noise_db``
    dB std per measurement, then :func:`quantise_rsrp` (the error model of the Set-B report, applied to any beam:
    Set-A refinement measurements, sweeps)."""
    return quantise_rsrp(np.asarray(rsrp_dbm, dtype=np.float64) + noise_db * rng.standard_normal(np.shape(rsrp_dbm)))


def path_geometry(az_ue_rad: FloatArray, cluster_off_rad: FloatArray, cluster_pow: FloatArray,
                  los: np.ndarray, k_factor_lin: float) -> tuple[FloatArray, FloatArray]:
    """Path spatial frequencies and weights for each UE's serving-cell channel.

    az_ue_rad: (U,) azimuth of the UE seen from the array broadside (rad); cluster_off_rad (U, P) and
    cluster_pow (U, P) (rows sum to 1); los: (U,) bool. Returns (u (U, P+1), w (U, P+1)), weights sum to 1:
    the LOS path gets K/(K+1) when LOS, else 0.
    """
    u, n_p = cluster_off_rad.shape
    ang = np.empty((u, n_p + 1))
    ang[:, 0] = az_ue_rad
    np.add(az_ue_rad[:, None], cluster_off_rad, out=ang[:, 1:])
    w_los = np.where(los, k_factor_lin / (k_factor_lin + 1.0), 0.0)
    w = np.empty((u, n_p + 1))
    w[:, 0] = w_los
    np.multiply((1.0 - w_los)[:, None], cluster_pow, out=w[:, 1:])
    return np.sin(ang, out=ang), w

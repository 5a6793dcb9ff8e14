"""NR tables: PRB counts (TS 38.101-1), CQI/MCS (TS 38.214), peak-rate formula (TS 38.306).

All tables are module-level *constants* (immutable tuples), never mutable globals.
"""

from __future__ import annotations

import math

import numpy as np

from nextric.errors import ConfigError
from testbed.core.types import FloatArray, IntArray

#: TS 38.101-1 Table 5.3.2-1: maximum transmission bandwidth configuration N_RB (FR1),
#: keyed by (SCS kHz, channel bandwidth MHz).
PRB_TABLE_FR1: dict[tuple[int, int], int] = {
    **{(15, bw): n for bw, n in ((5, 25), (10, 52), (15, 79), (20, 106), (25, 133), (30, 160),
                                  (35, 188), (40, 216), (45, 242), (50, 270))},
    **{(30, bw): n for bw, n in ((5, 11), (10, 24), (15, 38), (20, 51), (25, 65), (30, 78), (35, 92),
                                  (40, 106), (45, 119), (50, 133), (60, 162), (70, 189), (80, 217),
                                  (90, 245), (100, 273))},
    **{(60, bw): n for bw, n in ((10, 11), (15, 18), (20, 24), (25, 31), (30, 38), (35, 44), (40, 51),
                                  (45, 58), (50, 65), (60, 79), (70, 93), (80, 107), (90, 121),
                                  (100, 135))},
}


def n_prb(bandwidth_mhz: int, scs_khz: int) -> int:
    """Number of PRBs for an FR1 carrier (TS 38.101-1 Table 5.3.2-1).

    Raises :class:`ConfigError` for a bandwidth/SCS combination the table does not define.
    """
    key = (int(scs_khz), int(bandwidth_mhz))
    if key not in PRB_TABLE_FR1:
        valid = sorted(bw for scs, bw in PRB_TABLE_FR1 if scs == key[0])
        if not valid:
            raise ConfigError(f"subcarrier spacing {scs_khz} kHz is not an FR1 SCS (15, 30 or 60)")
        raise ConfigError(
            f"channel bandwidth {bandwidth_mhz} MHz is not defined for SCS {scs_khz} kHz in "
            f"TS 38.101-1 Table 5.3.2-1; valid bandwidths: {valid}"
        )
    return PRB_TABLE_FR1[key]


#: TS 38.214 Table 5.2.2.1-2 (4-bit CQI table 1): (modulation order, code rate x 1024, efficiency) for CQI 1..15.
CQI_TABLE_1: tuple[tuple[int, int, float], ...] = (
    (2, 78, 0.1523), (2, 120, 0.2344), (2, 193, 0.3770), (2, 308, 0.6016), (2, 449, 0.8770),
    (2, 602, 1.1758), (4, 378, 1.4766), (4, 490, 1.9141), (4, 616, 2.4063), (6, 466, 2.7305),
    (6, 567, 3.3223), (6, 666, 3.9023), (6, 772, 4.5234), (6, 873, 5.1152), (6, 948, 5.5547),
)

#: SINR (dB) at which each CQI 1..15 reaches 10 % BLER on AWGN (widely used link-level fit).
CQI_SINR_THRESHOLD_DB: tuple[float, ...] = (
    -6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3, 18.7, 21.0, 22.7,
)

#: TS 38.214 Table 5.1.3.1-1 (MCS index table 1, 64QAM): (Qm, R x 1024, spectral efficiency) for MCS 0..28.
MCS_TABLE_1: tuple[tuple[int, int, float], ...] = (
    (2, 120, 0.2344), (2, 157, 0.3066), (2, 193, 0.3770), (2, 251, 0.4902), (2, 308, 0.6016),
    (2, 379, 0.7402), (2, 449, 0.8770), (2, 526, 1.0273), (2, 602, 1.1758), (2, 679, 1.3262),
    (4, 340, 1.3281), (4, 378, 1.4766), (4, 434, 1.6953), (4, 490, 1.9141), (4, 553, 2.1602),
    (4, 616, 2.4063), (4, 658, 2.5703), (6, 438, 2.5664), (6, 466, 2.7305), (6, 517, 3.0293),
    (6, 567, 3.3223), (6, 616, 3.6094), (6, 666, 3.9023), (6, 719, 4.2129), (6, 772, 4.5234),
    (6, 822, 4.8164), (6, 873, 5.1152), (6, 910, 5.3320), (6, 948, 5.5547),
)

_CQI_EFF = np.array([e for _, _, e in CQI_TABLE_1])
_CQI_THR = np.array(CQI_SINR_THRESHOLD_DB)
MCS_EFFICIENCY: FloatArray = np.array([e for _, _, e in MCS_TABLE_1])
#: 10 %-BLER SINR threshold (dB) of every MCS, interpolated from the CQI fit by spectral efficiency.
MCS_SINR_THRESHOLD_DB: FloatArray = np.interp(MCS_EFFICIENCY, _CQI_EFF, _CQI_THR)
#: Slope (1/dB) of the logistic BLER curve around the threshold.
BLER_SLOPE_PER_DB = 1.5


def sinr_to_cqi(sinr_db: FloatArray) -> IntArray:
    """Highest CQI (0..15) whose 10 %-BLER threshold is below ``sinr_db``; 0 = out of range.

    sinr_db: any shape, float64, dB. Returns int64 of the same shape.
    """
    return np.searchsorted(_CQI_THR, sinr_db, side="right").astype(np.int64)


def select_mcs(sinr_est_db: FloatArray, backoff_db: float = 0.0) -> IntArray:
    """Link adaptation: highest MCS (0..28) whose 10 %-BLER threshold <= estimated SINR - backoff.

    sinr_est_db: any shape, float64, dB. Returns int64 of the same shape (MCS 0 when below all).
    """
    idx = np.searchsorted(MCS_SINR_THRESHOLD_DB, sinr_est_db - backoff_db, side="right") - 1
    return np.minimum(np.maximum(idx, 0), len(MCS_TABLE_1) - 1).astype(np.int64)


def bler(mcs: IntArray, sinr_db: FloatArray) -> FloatArray:
    """Block error rate of ``mcs`` at true ``sinr_db``: logistic, 10 % at the MCS threshold.

    BLER = 1 / (1 + 9 exp(a (SINR - thr_mcs))), a = :data:`BLER_SLOPE_PER_DB`. Shapes broadcast; float64.
    """
    x = np.minimum(np.maximum(BLER_SLOPE_PER_DB * (sinr_db - MCS_SINR_THRESHOLD_DB[mcs]), -50.0), 50.0)
    return 1.0 / (1.0 + 9.0 * np.exp(x))


def goodput_efficiency(sinr_est_db: FloatArray, sinr_db: FloatArray) -> FloatArray:
    """Delivered bits per resource element: SE(MCS(sinr_est)) x (1 - BLER(MCS, sinr)).

    Both inputs any (broadcastable) shape, float64, dB. Returns bit/RE, float64.
    """
    mcs = select_mcs(sinr_est_db)
    eff = MCS_EFFICIENCY[mcs] * (1.0 - bler(mcs, sinr_db))
    below = sinr_est_db < MCS_SINR_THRESHOLD_DB[0] - 3.0
    return np.where(below, 0.0, eff)


def bits_per_prb_per_second(scs_khz: int, overhead: float = 0.14, layers: int = 1) -> float:
    """Resource elements per PRB per second times layers and (1 - overhead) (TS 38.306 4.1.2).

    Multiply by a spectral efficiency (bit/RE) to get bit/s per PRB. 12 subcarriers x 14 symbols per
    slot, slot duration 1 ms / 2^mu.
    """
    mu = round(math.log2(scs_khz / 15))
    slots_per_s = 1000.0 * 2**mu
    return float(layers * 12 * 14 * slots_per_s * (1.0 - overhead))

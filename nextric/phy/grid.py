"""NR DMRS geometry (TS 38.211 7.4.1.1, configuration type 1, mapping type A) and the pilot observation type."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from nextric.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ComplexArray = npt.NDArray[np.complex128]

N_SYMBOLS = 14  #: OFDM symbols per slot (normal cyclic prefix)


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
    tdl_profile: str = ""  #: configured profile (scenario config, not the truth); "" when unknown (an xApp)
    delay_spread_ns: float = 0.0  #: configured delay spread; 0 when unknown

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    def pilots_subset(self, keep: BoolArray) -> PilotObservation:
        """The same observations with only the pilot subcarriers where ``keep`` (n_pilot,) is true."""
        k = np.asarray(keep, dtype=bool)
        if k.shape != self.pilot_sc.shape or k.sum() < 2:
            raise ConfigError(f"a pilot subset needs a ({len(self.pilot_sc)},) mask keeping >= 2 pilots")
        return replace(self, y=self.y[:, :, k], x=self.x[:, :, k], pilot_sc=self.pilot_sc[k])

    def rows(self, sel: IntArray | BoolArray) -> PilotObservation:
        """The observations ``sel`` (indices or a (N,) mask) only."""
        return replace(self, y=self.y[sel], x=self.x[sel], noise_var=self.noise_var[sel],
                       snr_db_est=self.snr_db_est[sel], doppler_hz_est=self.doppler_hz_est[sel])

"""Spot values against the standards: PRB table, path loss, LOS probability, CQI/MCS, DMRS."""

from __future__ import annotations

import numpy as np
import pytest

from nextric.errors import ConfigError
from testbed.core import nrtables, pathloss
from testbed.core.pilots import dmrs_subcarriers, dmrs_symbols
from testbed.core.scenario import arfcn_to_ghz


@pytest.mark.parametrize(("bw", "scs", "n"), [(5, 15, 25), (20, 15, 106), (50, 15, 270), (20, 30, 51),
                                               (40, 30, 106), (100, 30, 273), (100, 60, 135), (10, 60, 11)])
def test_prb_table(bw: int, scs: int, n: int) -> None:
    assert nrtables.n_prb(bw, scs) == n


def test_invalid_bandwidth_scs_is_clear_error() -> None:
    with pytest.raises(ConfigError, match="not defined for SCS 15"):
        nrtables.n_prb(100, 15)
    with pytest.raises(ConfigError, match="not an FR1 SCS"):
        nrtables.n_prb(20, 120)


def test_umi_pathloss_spot_values() -> None:
    # d2D = 100 m, hBS 10, hUT 1.5, fc 3.5 GHz: d3D = 100.36, breakpoint 4*9*0.5*3.5e9/c = 210 m -> PL1
    los, nlos = pathloss.pathloss_umi(np.array([100.0]), 3.5, 10.0, 1.5)
    assert los[0] == pytest.approx(32.4 + 21 * np.log10(np.hypot(100, 8.5)) + 20 * np.log10(3.5), abs=1e-9)
    assert los[0] == pytest.approx(85.31, abs=0.01)
    nlos_p = 35.3 * np.log10(np.hypot(100, 8.5)) + 22.4 + 21.3 * np.log10(3.5)
    assert nlos[0] == pytest.approx(max(los[0], nlos_p), abs=1e-9)
    assert nlos[0] == pytest.approx(104.64, abs=0.01)
    # beyond the breakpoint the slope is 40 dB/decade
    los2, _ = pathloss.pathloss_umi(np.array([1000.0, 2000.0]), 3.5, 10.0, 1.5)
    assert los2[1] - los2[0] == pytest.approx(40 * np.log10(np.hypot(2000, 8.5) / np.hypot(1000, 8.5)), abs=1e-6)


def test_uma_pathloss_spot_value() -> None:
    los, nlos = pathloss.pathloss_uma(np.array([200.0]), 2.0, 25.0, 1.5)
    d3 = np.hypot(200, 23.5)
    assert los[0] == pytest.approx(28.0 + 22 * np.log10(d3) + 20 * np.log10(2.0), abs=1e-9)
    assert nlos[0] == pytest.approx(13.54 + 39.08 * np.log10(d3) + 20 * np.log10(2.0), abs=1e-9)


def test_los_probability() -> None:
    p = pathloss.los_probability(pathloss.UMI, np.array([10.0, 18.0, 100.0]))
    assert p[0] == 1.0
    assert p[1] == 1.0
    assert p[2] == pytest.approx(0.18 + np.exp(-100 / 36) * 0.82, abs=1e-12)


def test_cqi_mcs_and_bler() -> None:
    assert nrtables.CQI_TABLE_1[14] == (6, 948, 5.5547)
    assert nrtables.MCS_TABLE_1[0][2] == pytest.approx(0.2344)
    mcs = nrtables.select_mcs(np.array([-20.0, 30.0]))
    assert mcs.tolist() == [0, 28]
    b = nrtables.bler(np.array([10]), nrtables.MCS_SINR_THRESHOLD_DB[[10]])
    assert b[0] == pytest.approx(0.1)
    assert nrtables.bits_per_prb_per_second(30, 0.0, 1) == 12 * 14 * 2000


def test_dmrs_positions_and_arfcn() -> None:
    assert dmrs_symbols(0) == (2,)
    assert dmrs_symbols(1) == (2, 11)
    assert dmrs_symbols(3) == (2, 5, 8, 11)
    assert dmrs_subcarriers(1).tolist() == [0, 2, 4, 6, 8, 10]
    assert arfcn_to_ghz(630000) == pytest.approx(3.45)
    assert arfcn_to_ghz(368500) == pytest.approx(1.8425)

"""The emulator's fast-path kernels equal the reference formulas they replace (up to rounding)."""

from __future__ import annotations

import numpy as np
import pytest

from testbed.core import beams as bm
from testbed.core import pathloss as pl
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.radio import channel_paths, link_budget, rsrp_set
from testbed.core.records import evolve


@pytest.mark.parametrize("model", [pl.UMI, pl.UMA])
def test_cached_pathloss_equals_table_formula(model: pl.PathLossModel) -> None:
    rng = np.random.default_rng(0)
    d = rng.uniform(0.0, 3000.0, (6, 200))
    los = rng.random((6, 200)) < 0.5
    fc = rng.choice([2.0, 3.45, 6.0], (6, 1))
    h_bs = np.full((6, 1), 10.0 if model is pl.UMI else 25.0)
    h_ut = rng.choice([1.5, 5.0, 12.0], (1, 200))
    ref = pl.pathloss(model, d, los, fc, h_bs, h_ut)
    got = pl.pathloss_cached(pl.pathloss_terms(model, fc, h_bs, h_ut), d, los)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


def test_fused_gain_lookup_equals_reference() -> None:
    rng = np.random.default_rng(1)
    u_p = np.sin(rng.uniform(-1.5, 1.5, (5, 400)))  # (P, U)
    w = rng.dirichlet(np.ones(5), 400).T
    beams = bm.codebook_u(32)
    table = bm.gain_table(16)
    ref = bm.beam_gains(u_p.T, w.T, beams, 16, table)  # (U, B)
    got = np.einsum("bpu,pu->ub", bm.path_gains_t(u_p, beams, table), w)
    # the fused index can round to the neighbouring table entry only at exact half-integers
    assert np.mean(np.isclose(got, ref, rtol=1e-12, atol=0)) > 0.999
    np.testing.assert_allclose(got, bm.beam_gains(u_p.T, w.T, beams, 16), rtol=0.02, atol=1e-3)  # vs closed form


def test_beam_genie_matches_measured_set_b(city: ScenarioParams) -> None:
    emu = Emulator(city, seed=4, nmse_obs=2)
    emu.step_fast()
    lb = link_budget(city, emu.cr, emu.ues)
    u_p, w_p = channel_paths(city, emu.ues, lb)
    clean = rsrp_set(emu.cr, emu.ues, lb, u_p, w_p, emu.cr.set_b, city.radio.n_antennas)
    measured = emu.beam_report().rsrp_dbm
    # the report is the noise-free Set-B RSRP + N(0, 1 dB), rounded and clipped
    err = measured - clean
    inside = (measured > -140) & (measured < -44)
    assert abs(err[inside].mean()) < 0.1
    assert 0.9 < err[inside].std() < 1.2


def test_evolve_copies_and_checks_fields(city: ScenarioParams) -> None:
    emu = Emulator(city, seed=0, nmse_obs=2)
    st = emu.ues
    new = evolve(st, beam=st.beam + 1)
    assert new.beam[0] == st.beam[0] + 1
    assert new.xy is st.xy
    assert type(new) is type(st)
    with pytest.raises(TypeError, match="no field"):
        evolve(st, nope=1)

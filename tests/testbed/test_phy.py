"""Pilots and estimators: LMMSE beats LS by roughly the textbook margin; neural plug point; NMSE table."""

from __future__ import annotations

import numpy as np
import pytest

from testbed.core.estimators import (
    EstimatorBank,
    LMMSEEstimatedCov,
    LMMSETrueCov,
    LSEstimator,
    NeuralEstimator,
    nmse,
)
from testbed.core.pilots import PilotConfig, generate_pilots, tdl_channel, tdl_profile


def _obs(profile: str, ds: float, snr: float, n: int = 64, seed: int = 0) -> tuple[np.ndarray, object]:
    rng = np.random.default_rng(seed)
    cfg = PilotConfig(n_prb=4, scs_khz=30)
    d, p = tdl_profile(profile, ds)
    h = tdl_channel(d, p, np.full(n, 10.0), cfg, rng)
    return h, generate_pilots(h, np.full(n, snr), np.full(n, 10.0), cfg, profile, ds, rng)


def test_tdl_power_normalised() -> None:
    _, p = tdl_profile("TDL-A", 100)
    assert p.sum() == pytest.approx(1.0)
    h, _ = _obs("TDL-C", 300, 10.0, n=256)
    assert float(np.mean(np.abs(h) ** 2)) == pytest.approx(1.0, rel=0.15)


@pytest.mark.parametrize(("profile", "ds"), [("TDL-A", 30.0), ("TDL-C", 100.0)])
def test_lmmse_beats_ls_by_textbook_margin(profile: str, ds: float) -> None:
    h, obs = _obs(profile, ds, 10.0)
    e_ls = 10 * np.log10(nmse(LSEstimator().estimate(obs), h).mean())  # type: ignore[arg-type]
    e_lm = 10 * np.log10(nmse(LMMSETrueCov().estimate(obs), h).mean())  # type: ignore[arg-type]
    e_est = 10 * np.log10(nmse(LMMSEEstimatedCov().estimate(obs), h).mean())  # type: ignore[arg-type]
    gain = e_ls - e_lm
    assert 6.0 <= gain <= 20.0, gain  # about 10 dB at 10 dB SNR with the true covariance
    assert e_est < e_ls - 3.0  # the observation-estimated covariance still helps


def test_neural_plug_point_and_fallback() -> None:
    h, obs = _obs("TDL-A", 30.0, 20.0, n=4)

    def perfect(x: np.ndarray) -> np.ndarray:
        return np.stack([h.real, h.imag], axis=1).astype(np.float32)

    est = NeuralEstimator(perfect)
    assert nmse(est.estimate(obs), h).max() < 1e-10  # type: ignore[arg-type]
    bank = EstimatorBank.default()
    e, fell_back = bank.get("NEURAL")
    assert fell_back
    assert e.name == "LMMSE-est"
    assert EstimatorBank.default(est).get("NEURAL") == (est, False)

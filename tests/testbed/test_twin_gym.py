"""Digital twin (observations only, cannot see the future) and the Gymnasium env."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.shocks import ShockRegime
from testbed.gym_env import SlicingEnv
from testbed.policies import hand_tuned_shares, uniform_shares
from testbed.twin import DigitalTwin, MismatchKnobs


def _policies(city: ScenarioParams, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    u, ut = uniform_shares(city)
    h, ht = hand_tuned_shares(city)
    prb = np.stack([np.repeat(u[None], k, 0), np.repeat(h[None], k, 0)])
    tn = np.stack([np.repeat(ut[None], k, 0), np.repeat(ht[None], k, 0)])
    return prb, tn


def test_twin_cannot_see_emulator_future(city: ScenarioParams) -> None:
    emu = Emulator(city, ShockRegime.parse("hotspot-ID"), seed=11, nmse_obs=2)
    hist = []
    for _ in range(3):
        emu.step_slow()
        hist.append(emu.read_kpm())
    twin = DigitalTwin.from_observations(city, hist, ShockRegime.parse("hotspot-ID"), emu.link_up, seed=5)
    # the twin holds no reference to the emulator or its state
    for f in dataclasses.fields(twin):
        assert not isinstance(getattr(twin, f.name), Emulator)
    prb, tn = _policies(city)
    r1 = twin.rollout(prb, tn, n_seeds=3)
    # the emulator's future unfolds (and its hidden shocks change); the twin's prediction cannot change
    for _ in range(4):
        emu.step_slow()
    emu.shocks = dataclasses.replace(emu.shocks, hs_active=np.ones_like(emu.shocks.hs_active))
    r2 = twin.rollout(prb, tn, n_seeds=3)
    np.testing.assert_array_equal(r1.scm, r2.scm)
    np.testing.assert_array_equal(r1.loss, r2.loss)
    assert r1.scm.shape == (2, 3)
    assert r1.cost.shape == (2,)


def test_twin_batched_and_mismatch(city: ScenarioParams) -> None:
    emu = Emulator(city, seed=1, nmse_obs=2)
    emu.step_slow()
    hist = [emu.read_kpm()]
    prb, tn = _policies(city, 1)
    base = DigitalTwin.from_observations(city, hist, seed=1).rollout(prb, tn, n_seeds=2)
    heavy = DigitalTwin.from_observations(city, hist, seed=1, mismatch=MismatchKnobs(demand_scale=3.0)).rollout(
        prb, tn, n_seeds=2)
    assert heavy.loss.sum() > base.loss.sum()
    # common random numbers: a candidate evaluated alone equals its row in a batch
    single = DigitalTwin.from_observations(city, hist, seed=1).rollout(prb[:1], tn[:1], n_seeds=2)
    np.testing.assert_allclose(single.scm[0], base.scm[0])


def test_twin_rollouts_carry_a_data_card(city: ScenarioParams) -> None:
    emu = Emulator(city, ShockRegime.parse("wave-ID"), seed=2, nmse_obs=2)
    emu.step_slow()
    twin = DigitalTwin.from_observations(city, [emu.read_kpm()], ShockRegime.parse("wave-ID"), seed=4)
    prb, tn = _policies(city, 1)
    res = twin.rollout(prb, tn, n_seeds=3, seed=9)
    card = twin.rollout_card(res, seed=9, logging_policy="uniform and hand-tuned")
    raw = card.raw
    assert raw["provenance"]["seeds"] == [4, 9]
    assert raw["provenance"]["shock_regime"] == "wave-ID"
    assert raw["policy"]["logging_policy"] == "uniform and hand-tuned"
    assert raw["batch"]["candidates"] == 2
    assert raw["batch"]["seeds_per_candidate"] == 3
    assert raw["batch"]["initialised_from"].startswith("KPM reports")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_gym_env_passes_check_env() -> None:
    env = SlicingEnv("twm_poc", "hotspot-ID")
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    a = {"prb": np.full((10, 3), 0.5, np.float32), "transport": np.full((10, 3), 0.2, np.float32)}
    _, r, term, _trunc, info = env.step(a)
    assert np.isfinite(r)
    assert not term
    assert 0 <= info["scm"] <= 1

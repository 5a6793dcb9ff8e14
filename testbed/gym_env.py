"""Gymnasium env over the emulator core: one step = one slow step (a RIC decision).

Action (TWM paper, section X): ``{"prb": [0,1]^(C x S), "transport": [0,1]^(L x S)}``; rows whose sum
exceeds 1 are scaled down to sum 1 (per-cell / per-link constraint). PRB shares map to RRMPolicyRatio
min = max = share (``scheduler.shares_to_ratios``, isolated mode).
Observation: float32 vector of per-(cell, slice) offered load, throughput (both / 100 Mbit/s), loss,
p99 delay / 100 ms, PRB share used, then per-link utilisation and link-up flags.
Reward: SCM of the slow step minus ``cost_weight`` x the step's normalised control cost.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from nextric.kpi import control_cost
from testbed.core.engine import Emulator
from testbed.core.estimators import NmseTable
from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.core.types import FloatArray


def _project(x: FloatArray) -> FloatArray:
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    s = x.sum(-1, keepdims=True)
    return np.where(s > 1.0, x / np.maximum(s, 1e-12), x)


class SlicingEnv(gym.Env[np.ndarray, dict[str, np.ndarray]]):
    """Cross-domain RAN + transport slicing env (see module docstring)."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, scenario: ScenarioParams | str = "twm_poc", regime: str = "hotspot-ID",
                 cost_weight: float = 0.1) -> None:
        self.sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
        self.regime = ShockRegime.parse(regime)
        self.cost_weight = cost_weight
        c, s, n_l = self.sc.n_cells, self.sc.n_slices, self.sc.n_links
        self.action_space = spaces.Dict({  # type: ignore[assignment]
            "prb": spaces.Box(0.0, 1.0, (c, s), dtype=np.float32),
            "transport": spaces.Box(0.0, 1.0, (n_l, s), dtype=np.float32)})
        n_obs = 5 * c * s + 2 * n_l
        self.observation_space = spaces.Box(0.0, np.inf, (n_obs,), dtype=np.float32)
        self._nmse: NmseTable | None = None
        self._emu: Emulator | None = None
        self._prev: tuple[FloatArray, FloatArray] | None = None
        self._k = 0

    def _obs(self) -> np.ndarray:
        assert self._emu is not None
        k = self._emu.read_kpm()
        v = np.array([[(s.offered_mbps / 100, s.thp_dl_mbps / 100, s.packet_loss, s.p99_delay_ms / 100,
                        s.prb_used_dl / max(c.prb_avail_dl, 1)) for s in c.slices] for c in k.cells])
        lu = self._last_link_util
        return np.concatenate([v.transpose(2, 0, 1).ravel(), lu, self._emu.link_up.astype(np.float64)]).astype(
            np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[
        np.ndarray, dict[str, Any]
    ]:
        super().reset(seed=seed)
        run_seed = int(self.np_random.integers(0, 2**31 - 1))
        self._emu = Emulator(self.sc, self.regime, seed=run_seed, nmse_obs=4, nmse_table=self._nmse)
        self._nmse = self._emu.nmse_table
        self._k = 0
        s = self.sc.n_slices
        self._prev = (np.full((self.sc.n_cells, s), 1 / s), np.full((self.sc.n_links, s), 1 / s))
        self._emu.set_allocation(plan_ratios(self._emu.sc.plan_shares, self._prev[0]), self._prev[1])
        self._emu.step_slow()
        self._last_link_util = np.zeros(self.sc.n_links)
        return self._obs(), {"t_s": self._emu.t_s}

    def step(self, action: dict[str, np.ndarray]) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        assert self._emu is not None
        assert self._prev is not None
        prb = _project(action["prb"])
        tn = _project(action["transport"])
        self._emu.set_allocation(plan_ratios(self._emu.sc.plan_shares, prb), tn)
        self._emu.step_slow()
        kp = self._emu.window_kpis()
        self._last_link_util = self._emu.link_utilisation()
        cost = float(control_cost(prb[None], tn[None], self.sc.cost, self._prev[0], self._prev[1]))
        self._prev = (prb, tn)
        self._k += 1
        reward = float(kp.scm[0]) - self.cost_weight * cost
        info = {"scm": float(kp.scm[0]), "cost": cost, "loss": kp.loss[0].tolist(), "p99_ms": kp.p99_ms[0].tolist(),
                "t_s": self._emu.t_s}
        return self._obs(), reward, False, self._k >= self.sc.timing.slow_per_horizon, info

"""Disjoint seed ranges (recorded in the cards and the benchmark JSON; never tune on the evaluation seeds).

* ``TRAIN_SEEDS``: emulator/twin contexts the world models are trained on;
* ``HELDOUT_SEEDS``: contexts for the world models' held-out R^2, per-step errors and interval coverage;
* ``TUNE_SEEDS``: horizons on which planner settings (weights, thresholds, CEM sizes) were chosen;
* ``TUNE_CHECK_SEEDS``: more tuning horizons, to compare planner settings without reusing the horizons a
  portfolio or threshold was fitted on (still never the evaluation seeds);
* ``EVAL_SEEDS``: the benchmark's horizon seeds (``bench/twm_poc.py``), 32 per scenario.
"""

from __future__ import annotations

TRAIN_SEEDS: tuple[int, ...] = tuple(range(10_000, 10_160))
HELDOUT_SEEDS: tuple[int, ...] = tuple(range(20_000, 20_016))
TUNE_SEEDS: tuple[int, ...] = tuple(range(30_000, 30_008))
TUNE_CHECK_SEEDS: tuple[int, ...] = tuple(range(30_008, 30_016))
EVAL_SEEDS: tuple[int, ...] = tuple(range(0, 32))

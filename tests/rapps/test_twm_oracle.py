"""The hindsight ceiling of the TWM PoC (bench/twm_oracle.py): common random numbers, the best really is the
best executed plan, and the JSON layout. The full run's numbers are in docs/rapps/world_models.md."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from bench import twm_oracle
from nextric.stats import lower_tail_mean
from testbed.core.scenario import load_scenario


def test_executing_a_plan_on_copies_is_reproducible_and_plans_differ() -> None:
    sc = load_scenario("twm_poc")
    emu, lib = twm_oracle.horizon_library(sc, "wave-ID", 0, 6)
    assert len(lib) == 6
    runs = [twm_oracle.execute_static(copy.deepcopy(emu), sc, lib.prb[i], lib.tn[i]) for i in (0, 0, 3)]
    assert runs[0] == runs[1]  # same horizon, same plan: identical outcome (common random numbers)
    assert runs[0].loss != runs[2].loss  # another plan changes the executed KPIs
    assert lib.names[0] == "library/uniform-0"  # reported as uniform_plan_scm
    assert all(0.0 <= r.scm <= 1.0 for r in runs)
    for r in runs:  # SCM > 0 exactly when every value is below its ceiling
        assert (twm_oracle.worst_ceiling_ratio(r, sc) < 1.0) == (r.scm > 0.0)


@pytest.mark.slow
def test_quick_run_keeps_the_best_executed_plan(tmp_path: Path) -> None:
    out = tmp_path / "twm_oracle.json"
    twm_oracle.main(["--quick", "--out", str(out)])
    res = json.loads(out.read_text())
    assert res["plans"] == 8
    assert res["seeds"] == [0]
    sc = load_scenario("twm_poc")
    for scen in res["scenarios"]:
        row = res["hindsight"][scen]["per_seed"][0]
        emu, lib = twm_oracle.horizon_library(sc, scen, 0, 8)
        scm = np.array([twm_oracle.execute_static(copy.deepcopy(emu), sc, lib.prb[i], lib.tn[i]).scm
                        for i in range(8)])
        assert row["best_scm"] == pytest.approx(scm.max())
        assert row["uniform_plan_scm"] == pytest.approx(scm[0])
        assert (row["best_plan"] is None) == (scm.max() <= 0)
    assert res["hindsight_average_scm"] == pytest.approx(
        np.mean([res["hindsight"][s]["best_scm"] for s in res["scenarios"]]))
    assert (tmp_path / "twm_oracle.png").stat().st_size > 0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(SystemExit):
        twm_oracle.main(["--plans", "0"])
    with pytest.raises(SystemExit):
        twm_oracle.main(["--scenarios", "hotspot-XX"])


def test_reference_levels_on_one_horizon() -> None:
    """Adaptive hindsight and the perfect-twin choice on a small library: the perfect twin executes one of the
    library's plans (so never above the static hindsight best on the same future), and it is reproducible."""
    sc = load_scenario("twm_poc")
    row = twm_oracle.horizon("twm_poc", "wave-ID", 0, 4, 2)
    _, lib = twm_oracle.horizon_library(sc, "wave-ID", 0, 4)
    for name in ("mean", "cvar50"):
        assert row[f"perfect_twin_{name}_plan"] in lib.names
        assert 0.0 <= row[f"perfect_twin_{name}_scm"] <= row["best_scm"] + 1e-12
    assert 0.0 <= row["adaptive_scm"] <= 1.0
    assert 0.0 <= row["future_vs_future_best_agree"] <= 1.0
    assert twm_oracle.horizon("twm_poc", "wave-ID", 0, 4, 2) == row
    np.testing.assert_allclose(lower_tail_mean(np.array([[0.0, 1.0, 0.5, 0.2]])), [0.1])


def test_futures_must_not_be_negative() -> None:
    with pytest.raises(SystemExit):
        twm_oracle.main(["--futures", "-1"])

"""Seeds in, same numbers out: two runs of the whole suite on one seed (both control xApps over gRPC, the rApp
following KPM, a plan changed mid-run through SDL as the rApp does it) give identical KPIs and identical control
counts. Nothing in the loop waits on a wall-clock timer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nextric.control.policy import PLAN_CHANNEL, ControlPlan
from nextric.control.slices import PlanBounds
from nextric.control.transport import ShareBounds
from suite.stack import drive, start_stack, stop_stack
from testbed.core.scenario import load_scenario

STEPS = 60


async def one_run(out: Path) -> dict[str, Any]:
    st = await start_stack(load_scenario("twm_poc"), "twm_poc", "hotspot-ID", 3, out, children=False,
                           warmup_steps=30)
    warm = st.emu.step_index
    try:
        async def on_step(done: int) -> None:
            if done == 20:  # a plan arrives mid-run, as the rApp writes it
                ck = st.gnbs.bindings[5].cell_key
                plan = ControlPlan(cells={ck: {"2-000002": PlanBounds(30, 70, 100)}},
                                   links={"H-HUB": {"1-000001": ShareBounds(lower=0.3)}}, plan_id="d", version=1,
                                   valid_from_ms=round(st.emu.t_s * 1000))
                await st.sdl.set_and_publish("rapp.intent_agent", {"slice_plan": plan.encode()}, PLAN_CHANNEL, b"1")

        await drive(st, STEPS, on_step)
        k = st.emu.kpis_since(warm)
        return {"loss": k.loss, "p99": k.p99_ms, "thp": k.throughput_mbps, "ratios": st.emu.ratio_pct.copy(),
                "tn": st.emu.tn_share.copy(), "sent": st.scheduler.sent, "steer": st.steering.decisions,
                "kpm": [[(c.cell_id, s.offered_mbps, s.packet_loss) for c in r.cells for s in c.slices]
                        for r in st.agent.env.history.reports]}
    finally:
        await stop_stack(st)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_two_runs_of_one_seed_are_identical(tmp_path: Path) -> None:
    a = await one_run(tmp_path / "a")
    b = await one_run(tmp_path / "b")
    for key in ("loss", "p99", "thp", "ratios", "tn"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert a["sent"] == b["sent"] > 0
    assert a["steer"] == b["steer"] == STEPS // 5
    assert a["kpm"] == b["kpm"]
    assert len(a["kpm"]) >= STEPS // 15

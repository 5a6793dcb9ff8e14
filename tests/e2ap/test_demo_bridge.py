"""The demo's closed loop through the E2AP bridge: the "controllers + intent" leg of ``make demo`` (suite/demo.py on
suite/stack.py: testbed, policy service, slice scheduler, transport steering, the intent agent rApp; the operator
submits the hospital-zone intent and the one with no effect), once with the E2 of the slice scheduler and the rApp
over the testbed's gRPC and once through testbed -> E2AP agents -> e2term bridge (TCP framing, 127.0.0.1, port 0) ->
the bridge's gRPC hub, same seed, lock-step. Every KPM period's KPIs (the emulator's city and SCM, the hospital zone
as the rApp's KPM shows it), the control and steering counts and the intents' outcomes (intent state, the plan the
twin scored and the gate decided, what was applied, the fulfilment reports) are identical."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rich.progress import Progress

from nextric.e2ap.transport import Transport
from suite.demo import SCENARIO, USELESS_AT_S, IntentOutcome, LegResult, run_suite
from testbed.core.scenario import load_scenario

SEED = 7
STEPS = USELESS_AT_S + 60  #: both intents, then four KPM periods after the first one's plan (its fulfilment reports)

PLAN_FIELDS = ("status", "risk", "refusal", "prediction", "expected", "effects", "cost_ratio", "violation_risk",
               "method", "rank", "applied_sim_s", "cells", "alternatives")
REPORT_FIELDS = ("fulfilmentStatus", "achievedValues", "simTimeS", "reportsUsed", "why", "notFulfilledState")


def outcome(o: IntentOutcome) -> dict[str, Any]:
    """What an intent came to, without the ids and wall-clock times that differ between any two runs."""
    plan = o.plan or {}
    applied = plan.get("plan") or {}
    return {"text": o.text, "decision": o.decision.replace(o.intent["id"], "<intent>"),
            "lifecycle": o.intent["lifecycleStatus"], "expression": o.intent["expression"],
            "plan": {k: plan.get(k) for k in PLAN_FIELDS},
            "applied": {k: applied.get(k) for k in ("cells", "links", "slas", "version", "validFromMs")},
            "reports": [{k: r.get(k) for k in REPORT_FIELDS} for r in o.reports]}


async def leg(tmp_path: Path, e2ap: Transport | None) -> tuple[LegResult, float]:
    t0 = time.perf_counter()
    with Progress(disable=True) as progress:
        result = await run_suite(load_scenario(SCENARIO), SEED, STEPS, tmp_path / (e2ap or "grpc"), progress,
                                 with_intents=True, e2ap=e2ap, children=False)
    return result, time.perf_counter() - t0


@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_demo_closed_loop_through_the_e2ap_bridge_matches_grpc(tmp_path: Path) -> None:
    direct, direct_s = await leg(tmp_path, None)
    via, via_s = await leg(tmp_path, "tcp")
    print(f"controls-and-intent leg, {STEPS} simulated s: gRPC {direct_s:.1f} s, E2AP bridge {via_s:.1f} s wall; "
          f"{via.e2ap}")
    assert (direct.e2_path, via.e2_path) == ("gRPC", "E2AP bridge (tcp)")
    n_cells = len(load_scenario(SCENARIO).cells)
    period = load_scenario(SCENARIO).timing.fast_per_slow
    # every report the slice scheduler (every second) and the rApp (at once, then every KPM period) acted on crossed
    # the bridge, and the bridge had nothing to complain about
    assert via.e2ap == {"indications": n_cells * (STEPS + 1 + STEPS // period), "error_indications": 0}
    # the loop acted, so that the comparison means something
    assert direct.controls > 0
    assert direct.steerings > 0
    assert [o.plan and o.plan["status"] for o in direct.outcomes] == ["applied", "refused"]
    # the same numbers, period by period
    assert via.series.t_end_s == direct.series.t_end_s
    assert len(direct.series.t_end_s) == STEPS // period
    assert via.series.city == direct.series.city
    assert via.series.scm == direct.series.scm
    assert via.series.area == direct.series.area
    assert (via.controls, via.steerings) == (direct.controls, direct.steerings)
    # the same intent outcome
    assert [outcome(o) for o in via.outcomes] == [outcome(o) for o in direct.outcomes]
    assert len(direct.outcomes[0].reports) >= 2

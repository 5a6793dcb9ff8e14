"""End to end on the whole suite (suite.stack: testbed over E2, policy service, the slice scheduler and the transport
steering, the rApp): an intent the controllers do not meet on their own is planned against what runs (closed-loop
twin), needs an approval that acknowledges its risk, reaches both xApps as one plan (PRB and transport bounds) and
is rolled back as one; an intent whose targets already hold is refused for having no effect; an intent that would
starve a slice is refused for the harm it would do."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from nextric.control.policy import decode_plan
from suite.stack import Stack, drive, start_stack, stop_stack
from testbed.core.scenario import load_scenario

TMF = "/tmf-api/intentManagement/v5"
EMBB = "Keep eMBB packet loss in the hospital zone below 10 % during evening peaks"
HOLDS = ("Prioritize URLLC reliability in the hospital zone during evening demand peaks while keeping total "
         "resource cost near the daytime baseline")
STARVE = "Cap URLLC at 5 % of the PRBs in the hospital zone"


async def submit(h: httpx.AsyncClient, text: str) -> dict[str, Any]:
    r = await h.post(f"{TMF}/intent", json={"naturalLanguage": text, "mode": "advisory"})
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    for _ in range(2400):
        it: dict[str, Any] = (await h.get(f"{TMF}/intent/{iid}")).json()
        if it["lifecycleStatus"] not in ("planning", "acknowledged"):
            return it
        await asyncio.sleep(0.05)
    raise AssertionError("planning did not finish")


@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_plan_approve_apply_rollback_and_refusals(tmp_path: Path) -> None:
    st: Stack = await start_stack(load_scenario("twm_poc"), "twm_poc", "hotspot-ID", 7, tmp_path, children=False,
                                  warmup_steps=300)  # a city that has been running: its shocks in steady state
    seen: dict[str, Any] = {}
    try:
        async def on_step(done: int) -> None:
            async with st.http() as h:
                if done == 120:
                    it = await submit(h, EMBB)
                    assert it["lifecycleStatus"] == "planned", it
                    plan = (await h.get(f"/rapp/v1/plans/{it['plans'][0]}")).json()
                    assert plan["status"] == "awaiting_approval"
                    seen["plan"], seen["intent"] = plan, it["id"]
                    if plan["risk"] != "low":  # the approval must see the risk it accepts
                        r = await h.post(f"/rapp/v1/plans/{plan['id']}/approve")
                        assert r.status_code == 400, r.text
                        assert "acknowledgeRisk" in r.text
                        assert (await h.get(f"/rapp/v1/plans/{plan['id']}")).json()["status"] == "awaiting_approval"
                    r = await h.post(f"/rapp/v1/plans/{plan['id']}/approve", json={"acknowledgeRisk": plan["risk"]})
                    assert r.status_code == 200, r.text
                    assert r.json()["status"] == "applied"
                    assert (await h.post(f"/rapp/v1/plans/{plan['id']}/approve")).status_code == 409
                if done == 121:
                    raw = (await st.sdl.get("rapp.intent_agent", ["slice_plan"]))["slice_plan"]
                    seen["applied"] = decode_plan(raw)
                    seen["xapps_v"] = (st.scheduler.plan.version, st.steering.plan.version)
                if done == 135:
                    seen["holds"] = await submit(h, HOLDS)
                if done == 150:
                    seen["starve"] = await submit(h, STARVE)
                if done == 195:
                    r = await h.post(f"/rapp/v1/plans/{seen['plan']['id']}/rollback", json={"comment": "test"})
                    assert r.status_code == 200, r.text
                if done == 196:
                    seen["after_rollback"] = (st.scheduler.plan, st.steering.plan)

        await drive(st, 210, on_step)
        async with st.http() as h:
            reps = (await h.get(f"{TMF}/intent/{seen['intent']}/intentReport")).json()
            audit = (await h.get("/rapp/v1/audit", params={"limit": 1000})).json()
            holds_plan = (await h.get(f"/rapp/v1/plans/{seen['holds']['plans'][0]}")).json()
            starve_plan = (await h.get(f"/rapp/v1/plans/{seen['starve']['plans'][0]}")).json()
        async with st.http("policy") as p:
            pol = (await p.get("/audit/v1/records", params={"kind": "policy_put", "limit": 1000})).json()["items"]
    finally:
        await stop_stack(st)

    plan = seen["plan"]
    tools = [c["tool"] for c in plan["trace"]["calls"]]
    for t in ("query_kpi", "get_config", "read_network", "plan_slicing", "propose_plans", "run_twin", "run_fwm",
              "run_cdwm", "check_guardrail"):
        assert t in tools
    assert all(c["ok"] for c in plan["trace"]["calls"]), [c for c in plan["trace"]["calls"] if not c["ok"]]
    twin = next(c for c in plan["trace"]["calls"] if c["tool"] == "run_twin")["outputs"]
    assert twin["candidates"][0]["name"] == "status quo"  # judged against what runs now
    assert len(twin["candidates"]) >= 8
    assert any("closed-loop digital twin" in e for e in plan["evidence"])
    # what the gate was told: absolute violation, harm against the status quo, the expected effect on the goal
    pred = plan["prediction"]
    assert {"slaViolationProbability", "harmProbability", "expectedEffect"} <= set(pred)
    assert pred["expectedEffect"]["target"] == "eMBB.packet_loss"
    assert pred["expectedEffect"]["lo"] > 0  # a measurable benefit, or the gate would have refused it
    assert plan["effects"][0]["statusQuo"] > plan["effects"][0]["plan"]
    assert plan["alternatives"]
    # applied as one plan: both xApps run its version, with the SLA ceiling and every bound the twin scored
    applied = seen["applied"]
    assert applied.plan_id == plan["id"]
    assert seen["xapps_v"] == (applied.version, applied.version)
    assert applied.to_json()["cells"] == plan["plan"]["cells"]
    assert applied.to_json()["links"] == plan["plan"]["links"]
    assert any(s.max_loss == 0.1 for per in applied.slas.values() for s in per.values())
    assert any(r["kind"] == "policy_put" and "rapp-" in r["subject"] for r in pol)
    # rolled back as one: the plan before (none) with a newer version, in both xApps
    sched, steer = seen["after_rollback"]
    assert sched.plan_id is None
    assert steer.plan_id is None
    assert sched.version == steer.version == applied.version + 1
    kinds = [a["kind"] for a in audit["items"] if a["subject"] == seen["intent"]]
    assert kinds[:4] == ["compile", "plan", "approve", "apply"]
    assert "rollback" in kinds
    assert any(r["notFulfilledState"] == "ACKNOWLEDGED" for r in reps)
    assert any(t.get("change") for r in reps for t in r["achievedValues"])  # against the running baseline
    # targets that already hold: no measurable effect expected, refused, nothing applied
    assert seen["holds"]["lifecycleStatus"] == "refused", (holds_plan["effects"], holds_plan["candidate"])
    assert holds_plan["status"] == "refused"
    assert any("no measurable effect expected" in r for r in holds_plan["refusal"])
    # starving URLLC: the twin sees it break what runs now keeps; refused
    assert seen["starve"]["lifecycleStatus"] == "refused"
    assert all(b["lowerPct"] <= 5 <= b["maxPct"] and b["maxPct"] <= 5 for b in
               (c["2-000002"] for c in starve_plan["plan"]["cells"].values()))
    assert any("harm" in r or "SLA-violation" in r for r in starve_plan["refusal"]), starve_plan["refusal"]

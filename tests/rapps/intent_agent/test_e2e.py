"""End to end on the whole suite (suite.stack: testbed over E2, policy service, slice scheduler, beam predictor
when present, the rApp): intent -> plan -> approval -> applied through the slice scheduler -> FULFILLED in the
hotspot-ID scenario with trace and audit; and an intent the guardrail must refuse, refused with its reason."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from suite.stack import Stack, drive, start_stack, stop_stack
from testbed.core.scenario import load_scenario

TMF = "/tmf-api/intentManagement/v5"
HOSPITAL = ("Prioritize URLLC reliability in the hospital zone during evening demand peaks while keeping total "
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
@pytest.mark.timeout(300)
async def test_intent_to_fulfilled_and_a_refusal(tmp_path: Path) -> None:
    st: Stack = await start_stack(load_scenario("twm_poc"), "twm_poc", "hotspot-ID", 7, tmp_path, children=False)
    seen: dict[str, Any] = {}
    try:
        async def on_step(done: int) -> None:
            async with st.http() as h:
                if done == 45:
                    it = await submit(h, HOSPITAL)
                    assert it["lifecycleStatus"] == "planned"
                    plan = (await h.get(f"/rapp/v1/plans/{it['plans'][0]}")).json()
                    assert plan["status"] == "awaiting_approval"
                    seen["plan"], seen["intent"] = plan, it["id"]
                    r = await h.post(f"/rapp/v1/plans/{plan['id']}/approve")
                    assert r.status_code == 200
                    assert r.json()["status"] == "applied"
                    assert (await h.post(f"/rapp/v1/plans/{plan['id']}/approve")).status_code == 409
                if done == 60:
                    seen["refused"] = await submit(h, STARVE)

        await drive(st, 150, on_step)
        async with st.http() as h:
            reps = (await h.get(f"{TMF}/intent/{seen['intent']}/intentReport")).json()
            audit = (await h.get("/rapp/v1/audit", params={"limit": 1000})).json()
            refused_reps = (await h.get(f"{TMF}/intent/{seen['refused']['id']}/intentReport")).json()
            refused_plan = (await h.get(f"/rapp/v1/plans/{seen['refused']['plans'][0]}")).json()
        async with st.http("policy") as p:
            pol = (await p.get("/audit/v1/records", params={"limit": 1000})).json()["items"]
        sdl_plan = await st.agent.env.sdl.get("rapp.intent_agent", ["slice_plan"])
    finally:
        await stop_stack(st)

    # the plan, its trace and evidence
    plan = seen["plan"]
    tools = [c["tool"] for c in plan["trace"]["calls"]]
    for t in ("query_kpi", "get_config", "retrieve_3gpp_constraint", "run_fwm", "run_cdwm", "plan_slicing",
              "run_twin", "compare_estimators", "check_guardrail"):
        assert t in tools
    assert all(c["ok"] for c in plan["trace"]["calls"])
    assert any("digital twin" in e for e in plan["evidence"])
    # the world models predict for the plan as applied: FWM fields per cell, CDWM horizon KPIs with intervals
    fwm = next(c for c in plan["trace"]["calls"] if c["tool"] == "run_fwm")["outputs"]
    cdwm = next(c for c in plan["trace"]["calls"] if c["tool"] == "run_cdwm")["outputs"]
    assert len(fwm["cells"]) == 10
    assert all(len(v) == 12 for v in fwm["cells"].values())
    assert 0.0 <= cdwm["scm"]["p05"] <= cdwm["scm"]["mean"] <= cdwm["scm"]["p95"] <= 1.0
    urllc = cdwm["slices"]["URLLC"]["p99_ms"]
    assert urllc["p05"] <= urllc["mean"] <= urllc["p95"]
    assert any(e.startswith("CDWM forecast SCM") for e in plan["evidence"])
    assert any(e.startswith("FWM: highest URLLC stress") for e in plan["evidence"])
    assert "guardrail" in plan["evidence"]
    twin_call = next(c for c in plan["trace"]["calls"] if c["tool"] == "run_twin")
    assert twin_call["versions"]["twin"].startswith("nextric-testbed twin")
    assert plan["rollback_conditions"]
    # ranked: the runners-up the planner scored, best first, with their verdicts
    alts = plan["alternatives"]
    assert [a["rank"] for a in alts] == list(range(2, 2 + len(alts)))
    assert alts
    assert all(a["verdict"] and isinstance(a["utility"], float) for a in alts)
    assert [a["utility"] for a in alts] == sorted((a["utility"] for a in alts), reverse=True)
    assert plan["assumptions"]
    assert "hospital zone" in plan["explanation"]
    assert {e["slice"] for e in plan["expected"]} == {"eMBB", "URLLC", "FWA"}
    assert plan["expected"][1]["p99_lo"] <= plan["expected"][1]["p99_ms"] <= plan["expected"][1]["p99_hi"]
    # applied through the slice scheduler's inputs: the SDL plan it reads and the A1 SLA policy
    assert b'"lowerPct"' in sdl_plan["slice_plan"]
    assert st.scheduler.plan.get("planId") == plan["id"]
    assert any(r["kind"] == "policy_put" and "rapp-" in r["subject"] for r in pol)
    assert any(r["kind"] == "verdict" and seen["intent"] in (r["why"] or "") for r in pol)
    # fulfilment from the KPIs that arrived after the approval
    assert reps[0]["fulfilmentStatus"] == "FULFILLED", reps[0]
    assert {t["target"] for t in reps[0]["achievedValues"]} == {"URLLC.packetLossRate", "URLLC.p99LatencyMs",
                                                                 "resourceCostRatio"}
    assert any(r["notFulfilledState"] == "ACKNOWLEDGED" for r in reps)
    kinds = [a["kind"] for a in audit["items"] if a["subject"] == seen["intent"]]
    assert kinds[:3] == ["compile", "plan", "apply"]
    assert "report" in kinds
    assert audit["items"][1]["data"]["trace"]["calls"]
    # the refusal, with the guardrail's reason reported back
    assert seen["refused"]["lifecycleStatus"] == "refused"
    assert refused_plan["status"] == "refused"
    assert any("predicted SLA-violation probability" in r for r in refused_plan["refusal"])
    assert refused_reps[0]["notFulfilledState"] == "FULFILMENTFAILED"
    assert "predicted SLA-violation" in refused_reps[0]["why"]

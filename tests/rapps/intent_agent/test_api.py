"""The TMF921-style intent API over real HTTP on 127.0.0.1 port 0 (no testbed running: the network comes from an
inventory file, as ``NEXTRIC_RAPP_NETWORK_FILE`` gives it; compile, store, report, auth)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr

from nextric.obs.serve import start_http
from nextric.sdl.embedded import EmbeddedSdl
from rapps.intent_agent.app import build_agent, create_app, load_description
from rapps.intent_agent.settings import Grant, IntentAgentSettings
from testbed.core.scenario import load_scenario
from testbed.describe import cell_keys, description

TMF = "/tmf-api/intentManagement/v5"
OP, VIEW = "op-token-1", "view-token-1"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntentAgentSettings(audit_path=str(tmp_path / "audit.db"), tokens=[
        Grant(name="noc", token=SecretStr(OP), roles=["operator"]),
        Grant(name="screen", token=SecretStr(VIEW), roles=["viewer"])])
    sdl = EmbeddedSdl()
    sc = load_scenario("twm_poc")
    inventory = tmp_path / "network.json"
    inventory.write_text(json_format.MessageToJson(description(sc, "twm_poc", cell_keys(sc))), encoding="utf-8")
    agent = build_agent(settings, sdl, load_description(inventory))
    srv = await start_http(create_app(settings, agent), "127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {OP}"}) as c:
        yield c
    await srv.stop()
    agent.audit.close()


async def test_auth(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{TMF}/intent", json={"naturalLanguage": "Keep URLLC loss below 1 %"}, headers={
        "Authorization": f"Bearer {VIEW}"})
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    r = await api.get(f"{TMF}/intent", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = await api.get(f"{TMF}/intent", headers={"Authorization": f"Bearer {VIEW}"})
    assert r.status_code == 200


async def test_clarification_round_trip(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{TMF}/intent", json={"name": "tight", "naturalLanguage": "Keep URLLC p99 latency below 5 ms"})
    assert r.status_code == 201
    it = r.json()
    assert r.headers["location"] == f"{TMF}/intent/{it['id']}"
    assert it["lifecycleStatus"] == "needsClarification"
    assert it["compilation"]["issues"][0]["kind"] == "stricter_than_sla"
    assert "confirm stricter target" in it["compilation"]["question"]
    reps = (await api.get(f"{TMF}/intent/{it['id']}/intentReport")).json()
    assert reps[0]["fulfilmentStatus"] == "NOT_FULFILLED"
    assert reps[0]["notFulfilledState"] == "FULFILMENTFAILED"
    # the operator answers by amending the intent (PATCH): it compiles now and goes to planning
    r = await api.patch(f"{TMF}/intent/{it['id']}", json={
        "naturalLanguage": "Keep URLLC p99 latency below 5 ms, confirm stricter target", "mode": "shadow"})
    assert r.status_code == 200
    got = r.json()
    assert got["mode"] == "shadow"
    assert got["compilation"]["kind"] == "spec"
    exp = got["expression"]["expressionValue"]["intentExpectations"][0]
    assert {"targetName": "URLLC.p99LatencyMs", "targetCondition": "IS_LESS_THAN", "targetValueRange": 5.0,
            "targetUnit": "ms", "source": "intent"} in exp["expectationTargets"]
    assert (await api.delete(f"{TMF}/intent/{it['id']}")).status_code == 204
    assert (await api.get(f"{TMF}/intent/{it['id']}")).status_code == 404


async def test_structured_expectations_and_errors(api: httpx.AsyncClient) -> None:
    exp = {"expectationVerb": "ENSURE", "expectationObject": {"objectContexts": [
        {"contextAttribute": "sliceProfile", "contextCondition": "IS_ONE_OF", "contextValueRange": ["URLLC"]}]},
        "expectationTargets": [{"targetName": "URLLC.packetLossRate", "targetCondition": "IS_LESS_THAN",
                                "targetValueRange": 0.05}],
        "expectationContexts": [{"contextAttribute": "coverageArea", "contextCondition": "IS_ONE_OF",
                                 "contextValueRange": ["cell-6", "cell-9"]}]}
    r = await api.post(f"{TMF}/intent", json={"expression": {"expressionValue": {"intentExpectations": [exp]}}})
    assert r.status_code == 201
    spec = r.json()["compilation"]["spec"]
    assert spec["context"]["cells"] == [6, 9]
    assert spec["targets"][0]["value"] == 0.05
    bad = {**exp, "expectationTargets": [{"targetName": "URLLC.p99LatencyMs", "targetCondition": "IS_ABOUT",
                                           "targetValueRange": 5}]}
    r = await api.post(f"{TMF}/intent", json={"expression": {"expressionValue": {"intentExpectations": [bad]}}})
    assert r.status_code == 400
    assert "targetCondition" in r.json()["detail"]
    assert (await api.post(f"{TMF}/intent", json={"name": "empty"})).status_code == 400
    assert (await api.post(f"{TMF}/intent", json={"naturalLanguage": "x", "mode": "yolo"})).status_code == 400
    assert (await api.get(f"{TMF}/intent/nope")).status_code == 404
    assert (await api.post("/rapp/v1/plans/nope/approve")).status_code == 404


async def test_planning_without_observations_fails_loudly(api: httpx.AsyncClient) -> None:
    import asyncio

    r = await api.post(f"{TMF}/intent", json={"naturalLanguage": "Keep URLLC loss below 1 % in cell 6"})
    iid = r.json()["id"]
    for _ in range(200):
        it = (await api.get(f"{TMF}/intent/{iid}")).json()
        if it["lifecycleStatus"] != "planning":
            break
        await asyncio.sleep(0.05)
    assert it["lifecycleStatus"] == "planningFailed"
    rep = (await api.get(f"{TMF}/intent/{iid}/intentReport")).json()[0]
    assert "planning failed" in rep["why"]
    audit = (await api.get("/rapp/v1/audit")).json()["items"]
    assert [a["kind"] for a in audit if a["subject"] == iid] == ["compile", "plan_failed"]
    tools = (await api.get("/rapp/v1/tools")).json()
    assert {t["name"] for t in tools} >= {"query_kpi", "get_config", "retrieve_3gpp_constraint", "run_fwm", "run_cdwm",
                                          "run_twin", "compare_estimators", "plan_slicing", "check_guardrail",
                                          "apply_policy", "rollback"}
    assert {t["permission"] for t in tools if t["name"] in ("apply_policy", "rollback")} == {"act"}

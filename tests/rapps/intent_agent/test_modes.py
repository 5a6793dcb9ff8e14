"""Plan modes against a real policy service over HTTP (127.0.0.1, port 0) and a real twin service over gRPC: an
autonomous intent is applied without an operator only when the guardrail's verdicts allow it (low risk, autonomous
approval for that level), never when no guardrail answers, and never when the twin's predicted SLA-violation
probability makes it high risk: then the operator must approve it, acknowledging that risk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from nextric.errors import ValidationError
from nextric.obs.serve import HttpServer, start_http
from nextric.sdl.embedded import EmbeddedSdl
from policy.app import create_app as policy_app
from policy.settings import PolicySettings, Role, TokenGrant
from rapps.intent_agent.service import IntentAgent
from rapps.intent_agent.settings import Grant, IntentAgentSettings, PolicyClientSettings
from tests.rapps.intent_agent.network import Network, network

EMBB = "Keep eMBB packet loss in the hospital zone below 10 % during evening peaks"
GUARDRAIL_TYPE = "NEXTRIC_Guardrail_1.0.0"
OP = "modes-operator-0123456789abcdef"  # 22+ characters: weak tokens are refused


@pytest.fixture
async def policy(tmp_path: Path) -> AsyncIterator[HttpServer]:
    pset = PolicySettings(backend="sqlite", sqlite_path=tmp_path / "policy.db", log_json=False,
                          tokens=[TokenGrant(name="noc", token=SecretStr(OP), roles=[Role.OPERATOR, Role.XAPP])])
    srv = await start_http(policy_app(pset), "127.0.0.1", 0)
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def net() -> AsyncIterator[Network]:
    async with network() as n:
        yield n


async def agent_with(tmp_path: Path, policy_url: str | None, net: Network) -> tuple[IntentAgent, EmbeddedSdl]:
    settings = IntentAgentSettings(audit_path=str(tmp_path / "rapp.db"),
                                   tokens=[Grant(name="noc", token=SecretStr(OP), roles=["operator"])],
                                   policy=PolicyClientSettings(url=policy_url, token=SecretStr(OP)))
    sdl = EmbeddedSdl()
    agent = net.agent(settings, sdl)
    await net.feed(agent, 8)  # eight 15 s KPM periods: what the twin and the world models are conditioned on
    return agent, sdl


async def planned(agent: IntentAgent, mode: str) -> dict[str, Any]:
    rec, _ = await agent.create({"naturalLanguage": EMBB, "mode": mode}, "noc")
    for _ in range(1200):
        if not agent.tasks:
            break
        await asyncio.sleep(0.05)
    rec = agent.get(rec.id)
    assert rec.plans, rec.lifecycle
    return agent.plan(rec.plans[0]).to_json()


async def put_guardrail(policy: HttpServer, low_risk: str, predicted_risk: bool = False) -> None:
    """The guardrail policy in force: its approval mode for low-risk actions (medium and high need approval);
    ``predicted_risk``: the twin's SLA-violation probability raises the risk level (the default thresholds), else
    this city's steady violations (the status quo breaks an SLA in most seeds) are tolerated."""
    body: dict[str, Any] = {"scope": {}, "slaViolationProbabilityThreshold": 1.0,
                            "approval": {"low": low_risk, "medium": "advisory", "high": "advisory"}}
    if not predicted_risk:
        body["riskThresholds"] = {"mediumViolationProbability": 1.0, "highViolationProbability": 1.0}
    async with httpx.AsyncClient(base_url=policy.base_url, headers={"Authorization": f"Bearer {OP}"}) as c:
        r = await c.put(f"/A1-P/v2/policytypes/{GUARDRAIL_TYPE}/policies/g", json=body)
        assert r.status_code == 201, r.text


@pytest.mark.timeout(240)
async def test_autonomous_applies_only_with_the_guardrails_low_risk_verdict(tmp_path: Path, policy: HttpServer,
                                                                            net: Network) -> None:
    await put_guardrail(policy, low_risk="autonomous")
    agent, sdl = await agent_with(tmp_path, policy.base_url, net)
    try:
        plan = await planned(agent, "autonomous")
        assert plan["verdicts"]
        assert {v["risk"] for v in plan["verdicts"]} == {"low"}
        assert plan["status"] == "applied", (plan["status"], plan["refusal"])
        raw = (await sdl.get("rapp.intent_agent", ["slice_plan"]))["slice_plan"]
        assert json.loads(raw)["planId"] == plan["id"]
        assert plan["prediction"]["expectedEffect"]["lo"] > 0
        kinds = [r["kind"] for r in agent.audit.query(limit=100)]
        assert kinds[:3] == ["compile", "plan", "apply"]
    finally:
        agent.audit.close()


@pytest.mark.timeout(240)
async def test_an_advisory_approval_matrix_needs_the_operator_even_in_autonomous_mode(
        tmp_path: Path, policy: HttpServer, net: Network) -> None:
    await put_guardrail(policy, low_risk="advisory")
    agent, sdl = await agent_with(tmp_path, policy.base_url, net)
    try:
        plan = await planned(agent, "autonomous")
        assert plan["status"] == "awaiting_approval"
        assert await sdl.get("rapp.intent_agent", ["slice_plan"]) == {}
    finally:
        agent.audit.close()


@pytest.mark.timeout(240)
async def test_autonomous_without_a_guardrail_waits_for_the_operator(tmp_path: Path, net: Network) -> None:
    agent, sdl = await agent_with(tmp_path, None, net)
    try:
        plan = await planned(agent, "autonomous")
        assert plan["status"] == "awaiting_approval"
        assert "guardrail (no policy service configured)" in plan["evidence"]
        assert await sdl.get("rapp.intent_agent", ["slice_plan"]) == {}
    finally:
        agent.audit.close()


@pytest.mark.timeout(240)
async def test_a_predicted_violation_makes_it_high_risk_and_the_approval_must_see_it(
        tmp_path: Path, policy: HttpServer, net: Network) -> None:
    await put_guardrail(policy, low_risk="autonomous", predicted_risk=True)
    agent, sdl = await agent_with(tmp_path, policy.base_url, net)
    try:
        plan = await planned(agent, "autonomous")
        assert plan["prediction"]["slaViolationProbability"] >= 0.3  # this city breaks an SLA in most seeds
        assert plan["risk"] == "high"
        assert plan["status"] == "awaiting_approval"  # never applied without an operator
        assert await sdl.get("rapp.intent_agent", ["slice_plan"]) == {}
        with pytest.raises(ValidationError, match="acknowledgeRisk"):
            await agent.approve(plan["id"], "noc")
        with pytest.raises(ValidationError):
            await agent.approve(plan["id"], "noc", "medium")
        applied = await agent.approve(plan["id"], "noc", "high")
        assert applied.status == "applied"
        kinds = [r["kind"] for r in agent.audit.query(limit=100)]
        assert "approve" in kinds
    finally:
        agent.audit.close()

"""Plan modes against a real policy service over HTTP (127.0.0.1, port 0): an autonomous intent is applied
without an operator only when the guardrail's verdicts allow it (low risk, autonomous approval for that
level), and never when no guardrail answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from nextric.obs.serve import HttpServer, start_http
from nextric.sdl.embedded import EmbeddedSdl
from policy.app import create_app as policy_app
from policy.settings import PolicySettings, Role, TokenGrant
from rapps.intent_agent.app import build_agent
from rapps.intent_agent.service import IntentAgent
from rapps.intent_agent.settings import Grant, IntentAgentSettings, PolicyClientSettings
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime

HOSPITAL = ("Prioritize URLLC reliability in the hospital zone during evening demand peaks while keeping total "
            "resource cost near the daytime baseline")
GUARDRAIL_TYPE = "NEXTRIC_Guardrail_1.0.0"
OP = "modes-operator"


@pytest.fixture
async def policy(tmp_path: Path) -> AsyncIterator[HttpServer]:
    pset = PolicySettings(backend="sqlite", sqlite_path=tmp_path / "policy.db", log_json=False,
                          tokens=[TokenGrant(name="noc", token=SecretStr(OP), roles=[Role.OPERATOR, Role.XAPP])])
    srv = await start_http(policy_app(pset), "127.0.0.1", 0)
    try:
        yield srv
    finally:
        await srv.stop()


async def agent_with(tmp_path: Path, policy_url: str | None) -> tuple[IntentAgent, EmbeddedSdl]:
    settings = IntentAgentSettings(audit_path=str(tmp_path / "rapp.db"),
                                   tokens=[Grant(name="noc", token=SecretStr(OP), roles=["operator"])],
                                   policy=PolicyClientSettings(url=policy_url, token=SecretStr(OP)))
    sdl = EmbeddedSdl()
    agent = build_agent(settings, sdl)
    emu = Emulator(load_scenario("twm_poc"), ShockRegime.parse("hotspot-ID"), seed=3)
    for _ in range(8):  # eight 15 s KPM periods: what the twin and the world models are conditioned on
        for _ in range(15):
            emu.step_fast()
        await agent.on_kpm(emu.read_kpm())
    return agent, sdl


async def planned(agent: IntentAgent, mode: str) -> dict[str, Any]:
    rec = await agent.create({"naturalLanguage": HOSPITAL, "mode": mode}, "noc")
    for _ in range(1200):
        if not agent.tasks:
            break
        await asyncio.sleep(0.05)
    rec = agent.get(rec.id)
    assert rec.plans, rec.lifecycle
    return agent.plan(rec.plans[0]).to_json()


async def put_guardrail(policy: HttpServer, low_risk: str) -> None:
    """The guardrail policy in force: its approval mode for low-risk actions (medium and high need approval)."""
    async with httpx.AsyncClient(base_url=policy.base_url, headers={"Authorization": f"Bearer {OP}"}) as c:
        r = await c.put(f"/A1-P/v2/policytypes/{GUARDRAIL_TYPE}/policies/g", json={
            "scope": {}, "slaViolationProbabilityThreshold": 0.5,
            "approval": {"low": low_risk, "medium": "advisory", "high": "advisory"}})
        assert r.status_code == 201, r.text


@pytest.mark.timeout(240)
async def test_autonomous_applies_only_with_the_guardrails_low_risk_verdict(tmp_path: Path,
                                                                            policy: HttpServer) -> None:
    await put_guardrail(policy, low_risk="autonomous")
    agent, sdl = await agent_with(tmp_path, policy.base_url)
    try:
        plan = await planned(agent, "autonomous")
        assert plan["verdicts"]
        assert {v["risk"] for v in plan["verdicts"]} == {"low"}
        assert plan["status"] == "applied", plan["status"]
        raw = (await sdl.get("rapp.intent_agent", ["slice_plan"]))["slice_plan"]
        assert json.loads(raw)["planId"] == plan["id"]
        kinds = [r["kind"] for r in agent.audit.query(limit=100)]
        assert kinds[:3] == ["compile", "plan", "apply"]
    finally:
        agent.audit.close()


@pytest.mark.timeout(240)
async def test_an_advisory_approval_matrix_needs_the_operator_even_in_autonomous_mode(
        tmp_path: Path, policy: HttpServer) -> None:
    await put_guardrail(policy, low_risk="advisory")
    agent, sdl = await agent_with(tmp_path, policy.base_url)
    try:
        plan = await planned(agent, "autonomous")
        assert plan["status"] == "awaiting_approval"
        assert await sdl.get("rapp.intent_agent", ["slice_plan"]) == {}
    finally:
        agent.audit.close()


@pytest.mark.timeout(240)
async def test_autonomous_without_a_guardrail_waits_for_the_operator(tmp_path: Path) -> None:
    agent, sdl = await agent_with(tmp_path, None)
    try:
        plan = await planned(agent, "autonomous")
        assert plan["status"] == "awaiting_approval"
        assert "guardrail (no policy service configured)" in plan["evidence"]
        assert await sdl.get("rapp.intent_agent", ["slice_plan"]) == {}
    finally:
        agent.audit.close()

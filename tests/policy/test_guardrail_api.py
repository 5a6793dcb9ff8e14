"""Guardrail over HTTP: check -> applied, rate limit, approval, automatic and manual rollback, audit trail."""

from __future__ import annotations

from typing import Any

from tests.policy.a1_bodies import GUARD, SLA, guard_body, policy_url, sla_body
from tests.policy.conftest import FakeClock, Running, Tokens, auth

S1 = {"sst": 1, "sd": "000001"}
S2 = {"sst": 2, "sd": "000002"}


def quota(min1: int, max1: int = 100, ded1: int = 0, cell: str = "c1") -> dict[str, Any]:
    return {
        "kind": "slice_prb_quota",
        "cellId": cell,
        "policies": [
            {"member": S1, "minPrbRatio": min1, "maxPrbRatio": max1, "dedicatedPrbRatio": ded1},
            {"member": S2, "minPrbRatio": 20, "maxPrbRatio": 100, "dedicatedPrbRatio": 0},
        ],
    }


async def _check(svc: Running, token: str, action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = await svc.client.post("/guardrail/v1/check", json={"action": action, **extra}, headers=auth(token))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _applied(svc: Running, token: str, **body: Any) -> dict[str, Any]:
    r = await svc.client.post("/guardrail/v1/applied", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _report(svc: Running, token: str, delay_ms: float, at: float) -> dict[str, Any]:
    sample = {"cellId": "c1", "sliceId": S1, "packetDelayMs": delay_ms}
    r = await svc.client.post("/guardrail/v1/kpi-reports", json={"samples": [sample], "at": at}, headers=auth(token))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_check_apply_rate_limit_and_clamp(svc: Running, tokens: Tokens) -> None:
    await svc.client.put(policy_url(GUARD, "g"), json=guard_body(), headers=auth(tokens.operator))
    v = await _check(svc, tokens.xapp, quota(30), at=0.0)
    assert v["decision"] == "allow"
    assert v["reasons"] == []
    await _applied(svc, tokens.xapp, verdictId=v["verdictId"], at=0.0)
    # 0.5 s later the same parameter may not change again (min interval 1 s)
    v = await _check(svc, tokens.xapp, quota(35), at=0.5)
    assert v["decision"] == "deny"
    assert [r["code"] for r in v["reasons"]] == ["rate_limited"]
    # a second later a 25-point jump is clamped to the 10-point step
    v = await _check(svc, tokens.xapp, quota(55), at=1.5)
    assert v["decision"] == "clamp"
    assert v["action"]["policies"][0]["minPrbRatio"] == 40
    assert v["requestedAction"]["policies"][0]["minPrbRatio"] == 55
    # TS 28.541: sum of min ratios above 100 is denied outright
    bad = quota(90)
    v = await _check(svc, tokens.xapp, bad, at=3.0)
    assert v["decision"] == "deny"
    assert "ts28541_min_sum" in [r["code"] for r in v["reasons"]]


async def test_applied_is_idempotent_and_refuses_denied_verdicts(svc: Running, tokens: Tokens) -> None:
    v = await _check(svc, tokens.xapp, quota(30), at=0.0)
    first = await _applied(svc, tokens.xapp, verdictId=v["verdictId"], at=0.0)
    again = await _applied(svc, tokens.xapp, verdictId=v["verdictId"], at=0.0)
    assert again == {"auditId": first["auditId"], "duplicate": True}
    denied = await _check(svc, tokens.xapp, quota(40), at=0.1)
    r = await svc.client.post(
        "/guardrail/v1/applied", json={"verdictId": denied["verdictId"]}, headers=auth(tokens.xapp)
    )
    assert r.status_code == 409
    r = await svc.client.post("/guardrail/v1/applied", json={"verdictId": "nope"}, headers=auth(tokens.xapp))
    assert r.status_code == 404
    r = await svc.client.post("/guardrail/v1/applied", json={}, headers=auth(tokens.xapp))
    assert r.status_code == 400


async def test_prediction_above_threshold_is_denied(svc: Running, tokens: Tokens) -> None:
    await svc.client.put(
        policy_url(GUARD, "g"), json=guard_body(slaViolationProbabilityThreshold=0.2), headers=auth(tokens.operator)
    )
    low = {"slaViolationProbability": 0.1, "model": "fwm"}
    high = {"slaViolationProbability": 0.6, "model": "fwm"}
    assert (await _check(svc, tokens.xapp, quota(30), at=0.0, prediction=low))["decision"] == "allow"
    v = await _check(svc, tokens.xapp, quota(30), at=0.0, prediction=high)
    assert v["decision"] == "deny"
    assert v["reasons"][0]["code"] == "predicted_sla_violation"


async def test_advisory_approval_flow(svc: Running, tokens: Tokens) -> None:
    body = guard_body(approval={"low": "autonomous", "medium": "advisory", "high": "advisory"})
    await svc.client.put(policy_url(GUARD, "g"), json=body, headers=auth(tokens.operator))
    action = {"kind": "ce_mode", "cellId": "c1", "target": "cell", "mode": "neural"}  # medium risk
    v = await _check(svc, tokens.xapp, action, at=0.0)
    assert v["decision"] == "deny"
    assert v["approvalId"]
    pending = (
        await svc.client.get("/guardrail/v1/approvals", params={"status": "pending"}, headers=auth(tokens.viewer))
    ).json()
    assert [p["approvalId"] for p in pending] == [v["approvalId"]]
    # using it before approval: 409
    r = await svc.client.post(
        "/guardrail/v1/check", json={"action": action, "approvalId": v["approvalId"]}, headers=auth(tokens.xapp)
    )
    assert r.status_code == 409
    r = await svc.client.post(
        f"/guardrail/v1/approvals/{v['approvalId']}",
        json={"decision": "approve", "comment": "trial in cell 1"},
        headers=auth(tokens.operator),
    )
    assert r.status_code == 200
    assert r.json()["status"] == "approved"
    ok = await _check(svc, tokens.xapp, action, at=1.0, approvalId=v["approvalId"])
    assert ok["decision"] == "allow"
    # single use
    r = await svc.client.post(
        "/guardrail/v1/check", json={"action": action, "approvalId": v["approvalId"]}, headers=auth(tokens.xapp)
    )
    assert r.status_code == 409


async def test_auto_rollback_after_n_breached_periods(svc: Running, tokens: Tokens) -> None:
    op, x = tokens.operator, tokens.xapp
    await svc.client.put(policy_url(GUARD, "g"), json=guard_body(), headers=auth(op))  # N = 2
    await svc.client.put(policy_url(SLA, "s"), json=sla_body(cells=["c1"]), headers=auth(op))
    v = await _check(svc, x, quota(30), at=0.0)
    await _applied(svc, x, verdictId=v["verdictId"], at=0.0)
    assert (await _report(svc, x, 5.0, 0.5))["rollbacks"] == []  # healthy period 1
    assert (await _report(svc, x, 5.0, 0.6))["rollbacks"] == []  # healthy period 2 -> 30 is last-known-good
    v = await _check(svc, x, quota(40), at=2.0)
    await _applied(svc, x, verdictId=v["verdictId"], at=2.0)
    first = await _report(svc, x, 50.0, 2.5)
    assert first["breaches"]
    assert first["rollbacks"] == []
    second = await _report(svc, x, 60.0, 3.5)
    [rb] = second["rollbacks"]
    assert rb["trigger"] == "auto"
    assert rb["status"] == "pending"
    assert rb["action"]["policies"] == [{"member": S1, "minPrbRatio": 30, "maxPrbRatio": 100, "dedicatedPrbRatio": 0}]
    assert rb["violations"] == ["maxPacketDelay"]
    pending = (
        await svc.client.get("/guardrail/v1/rollbacks", params={"status": "pending", "cellId": "c1"}, headers=auth(x))
    ).json()
    assert [p["rollbackId"] for p in pending] == [rb["rollbackId"]]
    await _applied(svc, x, rollbackId=rb["rollbackId"], at=3.6)
    assert svc.service.guard.state.current_prb["c1"]
    audit = (await svc.client.get("/audit/v1/records", params={"kind": "rollback"}, headers=auth(op))).json()
    assert [i["data"]["rollbackId"] for i in audit["items"]] == [rb["rollbackId"]]
    assert audit["items"][0]["actor"] == "slice-xapp"
    assert audit["items"][0]["decision"] == "auto"


async def test_manual_rollback(svc: Running, tokens: Tokens) -> None:
    x = tokens.xapp
    r = await svc.client.post("/guardrail/v1/rollbacks", json={"cellId": "c1"}, headers=auth(tokens.operator))
    assert r.status_code == 404
    for at, m in ((0.0, 30), (2.0, 35)):
        v = await _check(svc, x, quota(m), at=at)
        await _applied(svc, x, verdictId=v["verdictId"], at=at)
    r = await svc.client.post(
        "/guardrail/v1/rollbacks",
        json={"cellId": "c1", "sliceId": S1, "reason": "ticket 42"},
        headers=auth(tokens.operator),
    )
    assert r.status_code == 200, r.text
    [rb] = r.json()
    assert rb["trigger"] == "manual"
    assert rb["reason"] == "ticket 42"
    assert rb["action"]["policies"][0]["minPrbRatio"] == 30


async def test_in_process_action_report_is_rechecked_and_audited(svc: Running, tokens: Tokens) -> None:
    out = await _applied(svc, tokens.xapp, action=quota(30), at=0.0, reason="in-process verdict allow")
    records = (
        await svc.client.get("/audit/v1/records", params={"kind": "applied"}, headers=auth(tokens.viewer))
    ).json()["items"]
    assert records[-1]["id"] == out["auditId"]
    assert records[-1]["data"]["recheck"]["decision"] == "allow"
    assert records[-1]["why"] == "in-process verdict allow"


async def test_audit_filters_and_pagination(svc: Running, tokens: Tokens, clock: FakeClock) -> None:
    for i in range(7):
        clock.now += 10
        await _check(
            svc, tokens.xapp, {"kind": "beam_switch", "cellId": f"c{i % 2}", "ueId": "u", "beamId": i}, at=float(i * 10)
        )
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"kind": "verdict", "limit": 3}
        if after:
            params["after"] = after
        page = (await svc.client.get("/audit/v1/records", params=params, headers=auth(tokens.viewer))).json()
        seen.extend(i["id"] for i in page["items"])
        after = page["next"]
        if after is None:
            break
    assert len(seen) == 7
    assert seen == sorted(seen, key=int)
    c1 = (await svc.client.get("/audit/v1/records", params={"subject": "c1"}, headers=auth(tokens.viewer))).json()
    assert len(c1["items"]) == 3
    r = await svc.client.get("/audit/v1/records", params={"after": "bogus"}, headers=auth(tokens.viewer))
    assert r.status_code == 400

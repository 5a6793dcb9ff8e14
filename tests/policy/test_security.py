"""Token roles (401/403 on every protected route), CORS off by default, a complete OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policy.app import create_app
from policy.settings import PolicySettings
from policy.storage.memory import MemoryBackend
from tests.policy.a1_bodies import BASE, GUARD, guard_body, policy_url
from tests.policy.conftest import Running, Tokens, auth, running

CHECK = {"action": {"kind": "beam_switch", "cellId": "c1", "ueId": "u1", "beamId": 3}}
# (method, path, json body, roles allowed)
ROUTES: list[tuple[str, str, object, set[str]]] = [
    ("GET", f"{BASE}/policytypes", None, {"operator", "viewer", "xapp"}),
    ("GET", f"{BASE}/policytypes/{GUARD}", None, {"operator", "viewer", "xapp"}),
    ("GET", f"{BASE}/policytypes/{GUARD}/policies", None, {"operator", "viewer", "xapp"}),
    ("PUT", policy_url(GUARD, "g"), guard_body(), {"operator"}),
    ("DELETE", policy_url(GUARD, "zz"), None, {"operator"}),
    ("POST", "/guardrail/v1/check", CHECK, {"xapp"}),
    ("POST", "/guardrail/v1/applied", {"verdictId": "none"}, {"xapp"}),
    ("POST", "/guardrail/v1/kpi-reports", {"samples": []}, {"xapp"}),
    ("GET", "/guardrail/v1/rollbacks", None, {"operator", "viewer", "xapp"}),
    ("POST", "/guardrail/v1/rollbacks", {"cellId": "c1"}, {"operator"}),
    ("GET", "/guardrail/v1/approvals", None, {"operator", "viewer"}),
    ("POST", "/guardrail/v1/approvals/x", {"decision": "approve"}, {"operator"}),
    ("GET", "/audit/v1/records", None, {"operator", "viewer"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
async def test_roles(svc: Running, tokens: Tokens, method: str, path: str, body: object, allowed: set[str]) -> None:
    c = svc.client
    for headers in ({}, auth("not-a-token"), {"Authorization": f"Basic {tokens.operator}"}):
        r = await c.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.headers["content-type"].startswith("application/problem+json")
    for role, token in (("operator", tokens.operator), ("viewer", tokens.viewer), ("xapp", tokens.xapp)):
        r = await c.request(method, path, json=body, headers=auth(token))
        if role in allowed:
            assert r.status_code not in (401, 403), (role, path, r.text)
        else:
            assert r.status_code == 403, (role, path, r.text)


async def test_probes_and_metrics_need_no_token(svc: Running) -> None:
    assert (await svc.client.get("/ric/v1/health/alive")).status_code == 200
    assert (await svc.client.get("/ric/v1/health/ready")).json()["ready"] is True
    assert "nextric_policy_verdicts" in (await svc.client.get("/metrics")).text


async def test_cors_off_by_default_and_on_when_configured(
    make_settings: Callable[..., PolicySettings], svc: Running
) -> None:
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    r = await svc.client.options(f"{BASE}/policytypes", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    app = create_app(make_settings(cors_origins=["https://noc.example"]), backend=MemoryBackend())
    async for run in running(app):
        r = await run.client.options(f"{BASE}/policytypes", headers={**pre, "Origin": "https://noc.example"})
        assert r.headers["access-control-allow-origin"] == "https://noc.example"


async def test_openapi_document_is_complete(svc: Running) -> None:
    doc = (await svc.client.get("/openapi.json")).json()
    paths = doc["paths"]
    for method, path, _, _ in ROUTES:
        templated = path.replace(f"/{GUARD}", "/{policyTypeId}").replace("/policies/g", "/policies/{policyId}")
        templated = templated.replace("/policies/zz", "/policies/{policyId}").replace(
            "/approvals/x", "/approvals/{approvalId}"
        )
        assert method.lower() in paths[templated], templated
    assert f"{BASE}/policytypes/{{policyTypeId}}/policies/{{policyId}}/status" in paths
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    put = paths[f"{BASE}/policytypes/{{policyTypeId}}/policies/{{policyId}}"]["put"]
    assert {"201", "200", "400", "401", "403", "404", "409", "429", "503", "507"} <= set(put["responses"])
    assert any(p["name"] == "notificationDestination" for p in put["parameters"])
    assert "ProblemDetails" in doc["components"]["schemas"]


def test_no_token_in_settings_defaults() -> None:
    assert PolicySettings(_env_file=None).tokens == []  # type: ignore[call-arg]

"""A1-P v2 conformance: every path, every status code the A1AP spec lists for it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from nextric.errors import UnavailableError
from policy.app import create_app
from policy.settings import PolicySettings
from policy.storage import AuditQuery
from policy.storage.memory import MemoryBackend
from tests.policy.a1_bodies import BASE, GUARD, SLA, guard_body, policy_url, sla_body
from tests.policy.conftest import FakeClock, Notifications, Running, Tokens, auth, running


def _problem(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["title"]


async def test_policy_types_list_and_get(svc: Running, tokens: Tokens) -> None:
    r = await svc.client.get(f"{BASE}/policytypes", headers=auth(tokens.viewer))
    assert r.status_code == 200
    assert r.json() == sorted([SLA, GUARD])
    for type_id in (SLA, GUARD):
        r = await svc.client.get(f"{BASE}/policytypes/{type_id}", headers=auth(tokens.viewer))
        assert r.status_code == 200
        body = r.json()
        assert body["policySchema"]["type"] == "object"
        assert "enforceStatus" in body["statusSchema"]["properties"]
    _problem(await svc.client.get(f"{BASE}/policytypes/nope", headers=auth(tokens.viewer)), 404)


async def test_policy_lifecycle_codes(svc: Running, tokens: Tokens) -> None:
    c, op = svc.client, auth(tokens.operator)
    url = policy_url(SLA, "sla-1")
    assert (await c.get(f"{BASE}/policytypes/{SLA}/policies", headers=op)).json() == []
    r = await c.put(url, json=sla_body(), headers=op)
    assert r.status_code == 201
    assert r.headers["location"] == url
    assert r.json() == sla_body()
    r = await c.put(url, json=sla_body(maxPacketDelayMs=10.0), headers=op)
    assert r.status_code == 200
    assert (await c.get(url, headers=op)).json()["sliceSlaObjectives"] == {"maxPacketDelayMs": 10.0}
    assert (await c.get(f"{BASE}/policytypes/{SLA}/policies", headers=op)).json() == ["sla-1"]
    r = await c.get(f"{url}/status", headers=op)
    assert r.status_code == 200
    assert r.json() == {"enforceStatus": "ENFORCED"}
    assert (await c.delete(url, headers=op)).status_code == 204
    _problem(await c.get(url, headers=op), 404)
    _problem(await c.get(f"{url}/status", headers=op), 404)
    _problem(await c.delete(url, headers=op), 404)


async def test_404_for_unknown_type_on_every_instance_path(svc: Running, tokens: Tokens) -> None:
    c, op = svc.client, auth(tokens.operator)
    url = policy_url("unknown", "p")
    _problem(await c.get(f"{BASE}/policytypes/unknown/policies", headers=op), 404)
    _problem(await c.put(url, json=sla_body(), headers=op), 404)
    _problem(await c.get(url, headers=op), 404)
    _problem(await c.delete(url, headers=op), 404)
    _problem(await c.get(f"{url}/status", headers=op), 404)


@pytest.mark.parametrize(
    ("type_id", "body"),
    [
        (SLA, {"scope": {}}),
        (SLA, sla_body(sst=300)),
        (SLA, sla_body(maxPacketLossRate=2.0)),
        (SLA, sla_body(guaThroughputKbps=500.0, maxThroughputKbps=100.0)),
        (GUARD, {"maxStepPercent": 0}),
        (GUARD, {"sliceBounds": [{"sliceId": {"sst": 1}, "minPrbRatio": {"lower": 70, "upper": 20}}]}),
        (GUARD, {"unknownField": 1}),
        (GUARD, {"riskThresholds": {"mediumStepPercent": 50, "highStepPercent": 10}}),
    ],
)
async def test_put_400_on_schema_or_semantic_violation(
    svc: Running, tokens: Tokens, type_id: str, body: dict[str, object]
) -> None:
    _problem(await svc.client.put(policy_url(type_id, "bad"), json=body, headers=auth(tokens.operator)), 400)


async def test_put_400_on_non_object_and_bad_notification_destination(svc: Running, tokens: Tokens) -> None:
    op = auth(tokens.operator)
    _problem(await svc.client.put(policy_url(GUARD, "x"), json=[1, 2], headers=op), 400)
    _problem(await svc.client.put(policy_url(GUARD, "x"), content=b"{not json", headers=op), 400)
    r = await svc.client.put(
        policy_url(GUARD, "x"), json=guard_body(), params={"notificationDestination": "file:///etc/passwd"}, headers=op
    )
    _problem(r, 400)


async def test_put_409_on_conflicting_slice_sla(svc: Running, tokens: Tokens) -> None:
    op = auth(tokens.operator)
    assert (await svc.client.put(policy_url(SLA, "a"), json=sla_body(cells=["c1"]), headers=op)).status_code == 201
    _problem(await svc.client.put(policy_url(SLA, "b"), json=sla_body(cells=["c1", "c2"]), headers=op), 409)
    # disjoint cells or another slice do not conflict
    assert (await svc.client.put(policy_url(SLA, "c"), json=sla_body(cells=["c3"]), headers=op)).status_code == 201
    assert (await svc.client.put(policy_url(SLA, "d"), json=sla_body(sd="000002"), headers=op)).status_code == 201


async def test_put_507_when_store_is_full(make_settings: Callable[..., PolicySettings], tokens: Tokens) -> None:
    app = create_app(make_settings(max_policies=2), backend=MemoryBackend())
    async for r in running(app):
        op = auth(tokens.operator)
        for i in range(2):
            assert (await r.client.put(policy_url(GUARD, f"g{i}"), json=guard_body(), headers=op)).status_code == 201
        _problem(await r.client.put(policy_url(GUARD, "g9"), json=guard_body(), headers=op), 507)
        # an update of an existing instance still fits
        assert (await r.client.put(policy_url(GUARD, "g0"), json=guard_body(), headers=op)).status_code == 200


async def test_429_when_token_exceeds_its_rate(make_settings: Callable[..., PolicySettings], tokens: Tokens) -> None:
    app = create_app(make_settings(requests_per_s=0.001, burst=3), backend=MemoryBackend())
    async for r in running(app):
        codes = [(await r.client.get(f"{BASE}/policytypes", headers=auth(tokens.viewer))).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3] == 429
        last = await r.client.get(f"{BASE}/policytypes", headers=auth(tokens.viewer))
        _problem(last, 429)
        assert int(last.headers["retry-after"]) >= 1
        # buckets are per token
        assert (await r.client.get(f"{BASE}/policytypes", headers=auth(tokens.operator))).status_code == 200


class _Failing(MemoryBackend):
    """A backend whose writes fail, as Redis does when it is down."""

    fail = False

    def put_policy(self, policy: object, record: object) -> str:  # type: ignore[override]
        if self.fail:
            raise UnavailableError("store down")
        return super().put_policy(policy, record)  # type: ignore[arg-type]

    def delete_policy(self, type_id: str, policy_id: str, record: object) -> str:  # type: ignore[override]
        if self.fail:
            raise UnavailableError("store down")
        return super().delete_policy(type_id, policy_id, record)  # type: ignore[arg-type]

    def append_many(self, records: object) -> list[str]:  # type: ignore[override]
        if self.fail:
            raise UnavailableError("store down")
        return super().append_many(records)  # type: ignore[arg-type]


async def test_503_when_storage_is_down(make_settings: Callable[..., PolicySettings], tokens: Tokens) -> None:
    backend = _Failing()
    app = create_app(make_settings(), backend=backend)
    async for r in running(app):
        op = auth(tokens.operator)
        assert (await r.client.put(policy_url(GUARD, "g"), json=guard_body(), headers=op)).status_code == 201
        backend.fail = True
        _problem(await r.client.put(policy_url(GUARD, "g2"), json=guard_body(), headers=op), 503)
        _problem(await r.client.delete(policy_url(GUARD, "g"), headers=op), 503)
        backend.fail = False
        # nothing changed: the failed PUT and DELETE left neither an instance nor an audit record
        assert (await r.client.get(policy_url(GUARD, "g"), headers=op)).status_code == 200
        _problem(await r.client.get(policy_url(GUARD, "g2"), headers=op), 404)
        records, _ = backend.query(AuditQuery())
        assert [(x.kind, x.subject) for x in records] == [("policy_put", f"{GUARD}/g")]


async def test_413_on_oversized_body(make_settings: Callable[..., PolicySettings], tokens: Tokens) -> None:
    app = create_app(make_settings(max_body_bytes=1024), backend=MemoryBackend())
    async for r in running(app):
        big = guard_body(allowedCeModes=[f"m{i:05d}" for i in range(200)])
        _problem(await r.client.put(policy_url(GUARD, "g"), json=big, headers=auth(tokens.operator)), 413)

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(4):
                yield b" " * 512

        r2 = await r.client.put(policy_url(GUARD, "g"), content=chunks(), headers=auth(tokens.operator))
        _problem(r2, 413)


async def test_policies_survive_restart(make_settings: Callable[..., PolicySettings], tokens: Tokens) -> None:
    settings = make_settings()
    async for r in running(create_app(settings)):
        op = auth(tokens.operator)
        await r.client.put(policy_url(GUARD, "g"), json=guard_body(), headers=op)
        await r.client.put(policy_url(SLA, "s"), json=sla_body(), headers=op)
    async for r in running(create_app(settings)):
        assert (await r.client.get(policy_url(GUARD, "g"), headers=auth(tokens.viewer))).json() == guard_body()
        assert (await r.client.get(f"{BASE}/policytypes/{SLA}/policies", headers=auth(tokens.viewer))).json() == ["s"]


async def test_status_notification_callback(
    svc: Running, tokens: Tokens, notifications: Notifications, clock: FakeClock
) -> None:
    op = auth(tokens.operator)
    dest = "http://smo.example/a1-status"
    r = await svc.client.put(
        policy_url(SLA, "s"), json=sla_body(), params={"notificationDestination": dest}, headers=op
    )
    assert r.status_code == 201
    sample = {"cellId": "c1", "sliceId": {"sst": 1, "sd": "000001"}, "packetDelayMs": 50.0}
    r = await svc.client.post("/guardrail/v1/kpi-reports", json={"samples": [sample]}, headers=auth(tokens.xapp))
    assert r.status_code == 200
    assert r.json()["breaches"]
    status = (await svc.client.get(f"{policy_url(SLA, 's')}/status", headers=op)).json()
    assert status["enforceStatus"] == "NOT_ENFORCED"
    assert status["enforceReason"] == "OTHER_REASON"
    sample["packetDelayMs"] = 5.0
    await svc.client.post("/guardrail/v1/kpi-reports", json={"samples": [sample]}, headers=auth(tokens.xapp))
    await svc.service.notifier.drain()
    assert [body["enforceStatus"] for url, body in notifications.received if url == dest] == [
        "NOT_ENFORCED",
        "ENFORCED",
    ]

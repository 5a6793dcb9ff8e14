"""The intent API under a clumsy client and a failing SDL, over real HTTP on a real redis-server: an
Idempotency-Key makes a retried POST answer the intent it created (no duplicate), the same key with another body is
refused with 422; a tenant at its cap of intents gets 409; with Redis down a POST answers 503 problem+json with
Retry-After and stores nothing (no intent stuck in memory), and works again once Redis is back; an intent stored
while planning when the process stopped is planned again by the next rApp on the same Redis."""

from __future__ import annotations

import json

import httpx

from nextric.testing.redis_proc import start_redis
from rapps.intent_agent.app import build_agent, load_description
from rapps.intent_agent.service import IntentAgent
from tests.rapps.intent_agent.conftest import MAX_INTENTS, TMF, Rapp, inventory, until

EMBB = "Keep eMBB packet loss in the hospital zone below 2 %"
PROBLEM = "application/problem+json"


async def _ids(c: httpx.AsyncClient) -> list[str]:
    r = await c.get(f"{TMF}/intent")
    assert r.status_code == 200
    return [x["id"] for x in r.json()]


async def test_idempotency_key_answers_the_first_intent(rapp: Rapp) -> None:
    c = rapp.client
    body = {"name": "hospital", "naturalLanguage": EMBB}
    first = await c.post(f"{TMF}/intent", json=body, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == 201
    again = await c.post(f"{TMF}/intent", json=body, headers={"Idempotency-Key": "retry-1"})
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _ids(c) == [first.json()["id"]]
    other = await c.post(f"{TMF}/intent", json={**body, "name": "else"}, headers={"Idempotency-Key": "retry-1"})
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert "different request body" in other.json()["detail"]
    bad = await c.post(f"{TMF}/intent", json=body, headers={"Idempotency-Key": "with space"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM
    assert len(await _ids(c)) == 1


async def test_cap_of_intents_per_tenant(rapp: Rapp) -> None:
    c = rapp.client
    made = []
    for i in range(MAX_INTENTS):
        r = await c.post(f"{TMF}/intent", json={"name": f"n{i}", "naturalLanguage": EMBB})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    r = await c.post(f"{TMF}/intent", json={"name": "one too many", "naturalLanguage": EMBB})
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert "limit" in r.json()["detail"]
    assert sorted(await _ids(c)) == sorted(made)
    assert (await c.delete(f"{TMF}/intent/{made[0]}")).status_code == 204
    assert (await c.post(f"{TMF}/intent", json={"name": "room again", "naturalLanguage": EMBB})).status_code == 201


async def test_post_with_redis_down_is_503_and_stores_nothing(rapp: Rapp) -> None:
    c = rapp.client
    before = await _ids(c)
    port = rapp.redis.port
    rapp.redis.kill()
    r = await c.post(f"{TMF}/intent", json={"name": "lost?", "naturalLanguage": EMBB},
                     headers={"Idempotency-Key": "k-down"})
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["retry-after"].isdigit()
    assert "nothing was stored" in r.json()["detail"]
    assert await _ids(c) == before  # nothing half-created in memory
    again = start_redis(rapp.tmp_path / "redis", port=port)
    try:
        async def created() -> int:
            return (await c.post(f"{TMF}/intent", json={"name": "lost?", "naturalLanguage": EMBB},
                                 headers={"Idempotency-Key": "k-down"})).status_code
        await until(created, 201)  # the client's retry with the same key, once the SDL answers again
        ids = await _ids(c)
        assert len(ids) == len(before) + 1  # the retries made one intent, not several
    finally:
        again.stop()


async def test_intent_stored_while_planning_is_planned_again(rapp: Rapp) -> None:
    c = rapp.client
    r = await c.post(f"{TMF}/intent", json={"name": "hospital", "naturalLanguage": EMBB})
    assert r.status_code == 201
    rid = r.json()["id"]
    ns, key = rapp.settings.sdl_namespace, f"intent/{rid}"
    sdl = rapp.sdl()
    try:
        async def settled() -> bool:
            rec = json.loads((await sdl.get(ns, [key]))[key])
            return bool(rec["lifecycle"] != "planning")
        await until(settled, True)
        rec = json.loads((await sdl.get(ns, [key]))[key])
        rec["lifecycle"] = "planning"  # as if the process had stopped in the middle of planning
        await sdl.set(ns, {key: json.dumps(rec).encode()})
        restarted = build_agent(rapp.settings.model_copy(update={"audit_path": str(rapp.tmp_path / "a2.db")}), sdl,
                                load_description(inventory(rapp.tmp_path)))
        await restarted.load()
        assert restarted.tasks, "no planning task after load"
        await until(lambda: _lifecycle(restarted, rid), "not planning", timeout_s=60)
        restarted.audit.close()
    finally:
        await sdl.close()


async def _lifecycle(agent: IntentAgent, rid: str) -> str:
    rec = agent.intents[rid]
    return "planning" if rec.lifecycle == "planning" else "not planning"

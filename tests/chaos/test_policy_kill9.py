"""Chaos: ``kill -9`` of a real ``python -m policy`` process under concurrent A1 PUTs and DELETEs and guardrail
checks, a few rounds per backend (SQLite; Redis, whose own ``redis-server`` is killed -9 too in the last round).

After each kill the service is restarted on the same store and read back through its API:

- every acknowledged write is there: per policy id, the audit trail is exactly the acknowledged operations in
  order, plus at most the one request that was in flight at the kill (committed or not, never half);
- store and audit agree: a policy in force is the one its last audit record put there, a policy whose last
  record is a delete (or that has none) is not in force;
- every acknowledged guardrail check has its verdict record.

Each policy id is written by one thread only, so its operations are totally ordered and the check is exact.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from nextric.testing.redis_proc import RedisProcess, start_redis
from tests.chaos.conftest import Tokens, auth
from tests.policy.a1_bodies import SLA, policy_url, sla_body
from tests.policy.service_proc import ServiceProcess, start_service

pytestmark = [pytest.mark.slow, pytest.mark.timeout(75)]

ROUNDS = 3
WRITERS, SLOTS_PER_WRITER, CHECKERS = 3, 4, 2
ACKED_WRITES_PER_ROUND, ACKED_CHECKS_PER_ROUND = 30, 10

Op = tuple[str, int]  # ("put", seq) or ("delete", 0)


@dataclass
class Slot:
    """One policy id, written by one thread: its committed operations in order and the one in flight."""

    policy_id: str
    sd: str
    history: list[Op] = field(default_factory=list)
    inflight: Op | None = None

    def present(self) -> bool:
        return bool(self.history) and self.history[-1][0] == "put"

    def body(self, seq: int) -> dict[str, Any]:
        return sla_body(sd=self.sd, maxPacketDelayMs=seq, maxPacketLossRate=0.01)


@dataclass
class Round:
    """Counters of one load round; ``enough`` is set once the round acknowledged its quota."""

    writes: int = 0
    checks: int = 0
    verdicts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)

    def acked(self, *, write: bool) -> None:
        with self.lock:
            if write:
                self.writes += 1
            else:
                self.checks += 1
            if self.writes >= ACKED_WRITES_PER_ROUND and self.checks >= ACKED_CHECKS_PER_ROUND:
                self.enough.set()


def _writer(url: str, token: str, slots: list[Slot], seqs: Iterator[int], rnd: Round, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, headers=auth(token), timeout=10.0) as client:
        while True:
            slot = rng.choice(slots)
            op: Op = ("delete", 0) if slot.present() and rng.random() < 0.35 else ("put", next(seqs))
            slot.inflight = op
            try:
                if op[0] == "put":
                    r = client.put(policy_url(SLA, slot.policy_id), json=slot.body(op[1]))
                else:
                    r = client.delete(policy_url(SLA, slot.policy_id))
            except httpx.HTTPError:
                return  # killed: ``op`` stays in flight, committed or not
            slot.inflight = None
            expected = (201 if not slot.present() else 200) if op[0] == "put" else 204
            if r.status_code != expected:
                rnd.failures.append(f"{op} on {slot.policy_id}: {r.status_code} (expected {expected}) {r.text[:200]}")
                return
            slot.history.append(op)
            rnd.acked(write=True)


def _checker(url: str, token: str, rnd: Round, worker: int) -> None:
    with httpx.Client(base_url=url, headers=auth(token), timeout=10.0) as client:
        i = 0
        while True:
            i += 1
            action = {"kind": "beam_switch", "cellId": f"chaos{worker}", "ueId": f"u{i}", "beamId": i % 64}
            try:
                r = client.post("/guardrail/v1/check", json={"action": action, "reason": f"chaos w{worker} #{i}"})
            except httpx.HTTPError:
                return
            if r.status_code != 200:
                rnd.failures.append(f"check: {r.status_code} {r.text[:200]}")
                return
            rnd.verdicts.append(r.json()["verdictId"])
            rnd.acked(write=False)


def _kill_under_load(svc: ServiceProcess, tokens: Tokens, slots: list[Slot], seqs: Iterator[int], seed: int) -> Round:
    rnd = Round()
    threads = [
        threading.Thread(target=_writer, args=(svc.url, tokens.operator, slots[w::WRITERS], seqs, rnd, seed + w))
        for w in range(WRITERS)
    ] + [threading.Thread(target=_checker, args=(svc.url, tokens.xapp, rnd, c)) for c in range(CHECKERS)]
    for t in threads:
        t.start()
    reached = rnd.enough.wait(timeout=30)
    svc.kill9()  # requests are in flight
    for t in threads:
        t.join(timeout=30)
    assert not rnd.failures, rnd.failures[:5]
    assert reached, f"load too slow: {rnd.writes} writes, {rnd.checks} checks acknowledged in 30 s"
    return rnd


def _records(client: httpx.Client, **query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {**query, "limit": 1000}
        if after:
            params["after"] = after
        page = client.get("/audit/v1/records", params=params)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        after = page.json()["next"]
        if after is None:
            return items


def _op_of(record: dict[str, Any]) -> Op:
    if record["kind"] == "policy_delete":
        return ("delete", 0)
    assert record["kind"] == "policy_put", record
    return ("put", int(record["data"]["policy"]["sliceSlaObjectives"]["maxPacketDelayMs"]))


def _verify(svc: ServiceProcess, tokens: Tokens, slots: list[Slot], verdicts: list[str]) -> None:
    """Read the restarted service back; resolve each slot's in-flight operation from what the store holds."""
    with httpx.Client(base_url=svc.url, headers=auth(tokens.operator), timeout=10.0) as client:
        in_force = set(client.get(f"/A1-P/v2/policytypes/{SLA}/policies").json())
        assert in_force <= {s.policy_id for s in slots}, in_force
        for slot in slots:
            trail = [r for r in _records(client, subject=f"{SLA}/{slot.policy_id}") if r["kind"].startswith("policy_")]
            ops = [_op_of(r) for r in trail]
            acked = slot.history
            committed_inflight = slot.inflight is not None and ops == [*acked, slot.inflight]
            assert ops == acked or committed_inflight, (
                f"{slot.policy_id}: audit trail {ops[-4:]} is not the acknowledged {acked[-3:]} "
                f"(+ in flight {slot.inflight})"
            )
            slot.history, slot.inflight = ops, None
            # store and audit agree: what is in force is what the last record says
            if slot.present():
                assert slot.policy_id in in_force, f"{slot.policy_id}: audited as put, not in force"
                body = client.get(policy_url(SLA, slot.policy_id)).json()
                assert body == trail[-1]["data"]["policy"], f"{slot.policy_id}: store and audit differ"
            else:
                assert slot.policy_id not in in_force, f"{slot.policy_id}: in force without a put record last"
        audited = {r["data"]["verdictId"] for r in _records(client, kind="verdict")}
    missing = set(verdicts) - audited
    assert not missing, f"{len(missing)} acknowledged verdicts lost"


def _chaos(
    workdir: Path, tokens: Tokens, store_env: dict[str, str], after_kill: Callable[[int], None] = lambda _: None
) -> int:
    slots = [Slot(f"chaos-{i}", f"{i + 1:06x}") for i in range(WRITERS * SLOTS_PER_WRITER)]
    seqs = iter(range(1, 60_000))  # next() on a range iterator is atomic under the GIL
    verdicts: list[str] = []
    writes = 0
    svc = start_service(workdir, tokens.grants(), **store_env)
    try:
        for n in range(ROUNDS):
            rnd = _kill_under_load(svc, tokens, slots, seqs, seed=100 * n)
            writes += rnd.writes
            verdicts += rnd.verdicts
            after_kill(n)
            svc = start_service(workdir, tokens.grants(), **store_env)
            _verify(svc, tokens, slots, verdicts)
    finally:
        svc.stop()
    return writes


def test_sqlite_kill9_keeps_store_and_audit_one(tmp_path: Path, tokens: Tokens) -> None:
    db = tmp_path / "policy.db"

    def integrity(_: int) -> None:
        with closing(sqlite3.connect(str(db))) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    writes = _chaos(tmp_path, tokens, {"backend": "sqlite", "sqlite_path": str(db)}, integrity)
    assert writes >= ROUNDS * ACKED_WRITES_PER_ROUND


def test_redis_kill9_keeps_store_and_audit_one(tmp_path: Path, tokens: Tokens) -> None:
    with _redis(tmp_path / "redis") as holder:

        def kill_redis_in_last_round(n: int) -> None:
            if n == ROUNDS - 1:  # Redis dies too: only what it fsynced (whole scripts) may come back
                holder[0].kill()
                holder[0] = start_redis(tmp_path / "redis", port=holder[0].port)

        env = {"backend": "redis", "redis_url": holder[0].url, "redis_prefix": f"chaos-{uuid.uuid4().hex}:"}
        writes = _chaos(tmp_path, tokens, env, kill_redis_in_last_round)
    assert writes >= ROUNDS * ACKED_WRITES_PER_ROUND


@contextmanager
def _redis(workdir: Path) -> Iterator[list[RedisProcess]]:
    holder = [start_redis(workdir)]
    try:
        yield holder
    finally:
        holder[0].stop()


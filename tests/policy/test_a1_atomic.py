"""A1 writes and their audit records change together, and the in-memory view follows the store even when the
caller goes away mid-write (a cancelled request still waits for its transaction)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from policy.a1 import A1Service
from policy.principal import Principal
from policy.settings import Role
from policy.storage import AuditQuery, AuditRecord, StoredPolicy
from policy.storage.memory import MemoryBackend
from policy.types import builtin_types
from tests.policy.a1_bodies import GUARD, guard_body

ALICE = Principal("alice", frozenset({Role.OPERATOR}))


class _Gated(MemoryBackend):
    """Policy writes wait for ``gate`` (a slow fsync)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def put_policy(self, policy: StoredPolicy, record: AuditRecord) -> str:
        self.entered.set()
        self.gate.wait(10)
        return super().put_policy(policy, record)


async def test_cancelled_put_still_lands_in_memory_store_and_audit_together() -> None:
    backend = _Gated()
    changes: list[int] = []
    a1 = A1Service(builtin_types(), backend, on_change=lambda: changes.append(1))
    task = asyncio.create_task(a1.put(ALICE, GUARD, "g", guard_body(), None))
    assert await asyncio.to_thread(backend.entered.wait, 10)
    task.cancel()
    backend.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert a1.get(GUARD, "g") == guard_body()  # memory follows the store
    assert [p.policy_id for p in backend.load_policies()] == ["g"]
    records, _ = backend.query(AuditQuery())
    assert [(r.kind, r.subject, r.decision) for r in records] == [("policy_put", f"{GUARD}/g", "created")]
    assert changes == [1]
    await a1.delete(ALICE, GUARD, "g")
    assert a1.policy_ids(GUARD) == []
    records, _ = backend.query(AuditQuery(kind="policy_delete"))
    assert [r.subject for r in records] == [f"{GUARD}/g"]

"""One storage contract, run against every backend (memory, SQLite, a real Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy.storage import AuditQuery, AuditRecord, Backend, StoredPolicy
from policy.storage.memory import MemoryBackend
from policy.storage.redis import RedisBackend
from policy.storage.sqlite import SqliteBackend


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        b: Backend = MemoryBackend()
    elif request.param == "sqlite":
        b = SqliteBackend(tmp_path / "s.db")
    else:
        url = request.getfixturevalue("redis_url")
        b = RedisBackend(url, f"test-{uuid.uuid4().hex}:")
    yield b
    b.close()


def test_audit_append_query_filters_and_pages(backend: Backend) -> None:
    records = [
        AuditRecord(
            "verdict" if i % 3 else "applied", f"a{i % 2}", 100.0 + i, ("xapp",), f"c{i % 2}", "allow", "why", {"i": i}
        )
        for i in range(10)
    ]
    ids = backend.append_many(records[:4]) + backend.append_many(records[4:])
    assert len(set(ids)) == 10
    page, nxt = backend.query(AuditQuery(limit=4))
    assert [r.data["i"] for r in page] == [0, 1, 2, 3]
    assert page[0].roles == ("xapp",)
    seen = [r.data["i"] for r in page]
    while nxt is not None:
        page, nxt = backend.query(AuditQuery(limit=4, after=nxt))
        seen += [r.data["i"] for r in page]
    assert seen == list(range(10))
    only, _ = backend.query(AuditQuery(kind="applied", actor="a0"))
    assert [r.data["i"] for r in only] == [0, 6]
    window, _ = backend.query(AuditQuery(since=103.0, until=105.0, subject="c1"))
    assert [r.data["i"] for r in window] == [3]


def test_policies_put_load_delete(backend: Backend) -> None:
    backend.put_policy(StoredPolicy("T", "p1", {"a": 1}, "http://x/cb"))
    backend.put_policy(StoredPolicy("T", "p1", {"a": 2}, None))
    backend.put_policy(StoredPolicy("T", "p2", {"b": 1}))
    loaded = {p.policy_id: p for p in backend.load_policies()}
    assert loaded["p1"] == StoredPolicy("T", "p1", {"a": 2}, None)
    backend.delete_policy("T", "p1")
    assert [p.policy_id for p in backend.load_policies()] == ["p2"]
    backend.ping()

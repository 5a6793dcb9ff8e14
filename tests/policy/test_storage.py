"""One storage contract, run against every backend (memory, SQLite, a real Redis)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from nextric.errors import UnavailableError
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


def _rec(kind: str, subject: str, **data: object) -> AuditRecord:
    return AuditRecord(kind, "alice", 100.0, ("operator",), subject, "ok", None, dict(data))


def test_policies_put_load_delete(backend: Backend) -> None:
    rids = [
        backend.put_policy(StoredPolicy("T", "p1", {"a": 1}, "http://x/cb"), _rec("policy_put", "T/p1", n=1)),
        backend.put_policy(StoredPolicy("T", "p1", {"a": 2}, None), _rec("policy_put", "T/p1", n=2)),
        backend.put_policy(StoredPolicy("T", "p2", {"b": 1}), _rec("policy_put", "T/p2", n=3)),
    ]
    loaded = {p.policy_id: p for p in backend.load_policies()}
    assert loaded["p1"] == StoredPolicy("T", "p1", {"a": 2}, None)
    rids.append(backend.delete_policy("T", "p1", _rec("policy_delete", "T/p1", n=4)))
    assert [p.policy_id for p in backend.load_policies()] == ["p2"]
    backend.ping()
    # every write brought its audit record, in order, under the id it returned
    page, _ = backend.query(AuditQuery())
    assert [(r.id, r.kind, r.data["n"]) for r in page] == [
        (rids[0], "policy_put", 1), (rids[1], "policy_put", 2), (rids[2], "policy_put", 3),
        (rids[3], "policy_delete", 4),
    ]


def test_policy_writes_and_audit_appends_interleave_in_one_order(backend: Backend) -> None:
    first = backend.append_many([_rec("verdict", "c1", n=0)])
    put = backend.put_policy(StoredPolicy("T", "p", {}), _rec("policy_put", "T/p", n=1))
    last = backend.append_many([_rec("verdict", "c1", n=2)])
    page, _ = backend.query(AuditQuery())
    assert [r.id for r in page] == [*first, put, *last]


def test_sqlite_policy_write_rolls_back_with_its_failed_audit_record(tmp_path: Path) -> None:
    """The audit insert fails (a trigger refuses it): the policy write in the same transaction is undone."""
    b = SqliteBackend(tmp_path / "s.db")
    b.put_policy(StoredPolicy("T", "p", {"v": 1}), _rec("policy_put", "T/p"))
    other = sqlite3.connect(str(tmp_path / "s.db"))
    other.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit refused'); END")
    other.commit()
    with pytest.raises(UnavailableError):
        b.put_policy(StoredPolicy("T", "p", {"v": 2}), _rec("policy_put", "T/p"))
    with pytest.raises(UnavailableError):
        b.delete_policy("T", "p", _rec("policy_delete", "T/p"))
    assert b.load_policies() == [StoredPolicy("T", "p", {"v": 1})]
    other.execute("DROP TRIGGER refuse")
    other.commit()
    other.close()
    b.put_policy(StoredPolicy("T", "p", {"v": 3}), _rec("policy_put", "T/p"))  # usable again
    assert b.load_policies() == [StoredPolicy("T", "p", {"v": 3})]
    assert len(b.query(AuditQuery())[0]) == 2
    b.close()


def test_redis_policy_write_is_not_applied_when_its_audit_record_cannot_be(redis_url: str) -> None:
    """A stream key of the wrong type makes the audit XADD impossible: the hash is left untouched (a plain
    MULTI/EXEC would have run the HSET and failed only the XADD)."""
    prefix = f"test-{uuid.uuid4().hex}:"
    b = RedisBackend(redis_url, prefix)
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(f"{prefix}audit", "not a stream")
        with pytest.raises(UnavailableError):
            b.put_policy(StoredPolicy("T", "p", {"v": 1}), _rec("policy_put", "T/p"))
        assert b.load_policies() == []
        client.delete(f"{prefix}audit")
        b.put_policy(StoredPolicy("T", "p", {"v": 2}), _rec("policy_put", "T/p"))
        assert b.load_policies() == [StoredPolicy("T", "p", {"v": 2})]
    finally:
        client.close()
        b.close()

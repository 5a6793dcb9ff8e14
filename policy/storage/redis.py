"""Redis backend (deployment): the audit log is a Redis Stream (``XADD``), policies live in a hash; a policy
write and its audit record go in one Lua script (atomic, one ``MULTI``/``EXEC`` block in the AOF).

Durability comes from the Redis server: with ``appendonly yes`` + ``appendfsync always`` an acknowledged
``XADD`` is on disk, so the audit survives ``kill -9`` of this service and of Redis itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis
from redis.exceptions import RedisError

from nextric.errors import UnavailableError
from policy.storage.base import AuditQuery, AuditRecord, StoredPolicy

_SCAN_FACTOR = 20  # a filtered page scans at most limit * factor entries, then hands back a cursor

# A policy write and its audit record as one script: Redis runs it atomically and logs its effects to the AOF
# as one MULTI/EXEC block (a block cut short by a crash is dropped when the AOF loads), so both or neither
# survive. Key types are checked before anything is written: unlike a SQL transaction, neither MULTI/EXEC nor
# a script undoes a write when a later command fails (WRONGTYPE is the one error a command here can meet).
# KEYS: policies hash, audit stream. ARGV: "put" | "del", hash field, value, audit record JSON.
_WRITE_AUDITED = """
local ptype = redis.call('TYPE', KEYS[1])['ok']
local stype = redis.call('TYPE', KEYS[2])['ok']
if (ptype ~= 'none' and ptype ~= 'hash') or (stype ~= 'none' and stype ~= 'stream') then
  return redis.error_reply('WRONGTYPE policy store keys hold other types')
end
if ARGV[1] == 'put' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
end
return redis.call('XADD', KEYS[2], '*', 'r', ARGV[4])
"""


class RedisBackend:
    """Keys: ``{prefix}audit`` (stream, field ``r`` = record JSON) and ``{prefix}policies`` (hash)."""

    name = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        self._client: redis.Redis = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=5.0)
        self._stream = f"{prefix}audit"
        self._policies = f"{prefix}policies"
        self._write_audited = self._client.register_script(_WRITE_AUDITED)

    def append_many(self, records: Sequence[AuditRecord]) -> list[str]:
        try:
            pipe = self._client.pipeline(transaction=False)
            for r in records:
                pipe.xadd(self._stream, {"r": r.to_json()})
            return [_text(rid) for rid in pipe.execute()]
        except RedisError as exc:
            raise UnavailableError(f"audit append to Redis failed: {exc}") from exc

    def query(self, q: AuditQuery) -> tuple[list[AuditRecord], str | None]:
        page: list[AuditRecord] = []
        start = f"({q.after}" if q.after else "-"
        budget = q.limit * _SCAN_FACTOR
        batch = max(q.limit, 100)
        last: str | None = None
        try:
            while budget > 0:
                entries: Any = self._client.xrange(self._stream, min=start, max="+", count=min(batch, budget))
                if not entries:
                    return page, None
                for raw_id, fields in entries:
                    last = _text(raw_id)
                    budget -= 1
                    record = AuditRecord.from_json(fields[b"r"], last)
                    if q.matches(record):
                        page.append(record)
                        if len(page) == q.limit:
                            return page, last
                start = f"({last}"
        except RedisError as exc:
            raise UnavailableError(f"audit query on Redis failed: {exc}") from exc
        return page, last

    def put_policy(self, policy: StoredPolicy, record: AuditRecord) -> str:
        value = json.dumps({"body": policy.body, "notify": policy.notification_destination})
        return self._audited("put", _field(policy.type_id, policy.policy_id), value, record)

    def delete_policy(self, type_id: str, policy_id: str, record: AuditRecord) -> str:
        return self._audited("del", _field(type_id, policy_id), "", record)

    def _audited(self, op: str, key: str, value: str, record: AuditRecord) -> str:
        try:
            rid = self._write_audited(keys=[self._policies, self._stream], args=[op, key, value, record.to_json()])
        except RedisError as exc:
            raise UnavailableError(f"policy store write to Redis failed: {exc}") from exc
        return _text(rid)

    def load_policies(self) -> list[StoredPolicy]:
        raw: dict[bytes, bytes] = self._run(lambda: self._client.hgetall(self._policies))
        out: list[StoredPolicy] = []
        for key, value in raw.items():
            type_id, policy_id = json.loads(key)
            body = json.loads(value)
            out.append(StoredPolicy(type_id, policy_id, body["body"], body["notify"]))
        return out

    def ping(self) -> None:
        self._run(self._client.ping)

    def close(self) -> None:
        self._client.close()

    @staticmethod
    def _run(fn: Any) -> Any:
        try:
            return fn()
        except RedisError as exc:
            raise UnavailableError(f"Redis unavailable: {exc}") from exc


def _field(type_id: str, policy_id: str) -> str:
    return json.dumps([type_id, policy_id])


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

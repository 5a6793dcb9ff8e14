"""In-memory backend: same contract, no durability (unit tests and throwaway runs only)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from policy.storage.base import AuditQuery, AuditRecord, StoredPolicy


class MemoryBackend:
    """Lists and dicts behind one lock (a policy write and its audit record change under the same hold)."""

    name = "memory"

    def __init__(self) -> None:
        self._records: list[AuditRecord] = []
        self._policies: dict[tuple[str, str], StoredPolicy] = {}
        self._lock = threading.Lock()

    def append_many(self, records: Sequence[AuditRecord]) -> list[str]:
        with self._lock:
            return [self._append(r) for r in records]

    def _append(self, record: AuditRecord) -> str:
        rid = str(len(self._records) + 1)
        self._records.append(replace(record, id=rid))
        return rid

    def query(self, q: AuditQuery) -> tuple[list[AuditRecord], str | None]:
        with self._lock:
            start = int(q.after) if q.after else 0
            page: list[AuditRecord] = []
            for r in self._records[start:]:
                if q.matches(r):
                    page.append(r)
                    if len(page) == q.limit:
                        return page, r.id
            return page, None

    def put_policy(self, policy: StoredPolicy, record: AuditRecord) -> str:
        with self._lock:  # one lock: store and audit change together
            self._policies[(policy.type_id, policy.policy_id)] = policy
            return self._append(record)

    def delete_policy(self, type_id: str, policy_id: str, record: AuditRecord) -> str:
        with self._lock:
            self._policies.pop((type_id, policy_id), None)
            return self._append(record)

    def load_policies(self) -> list[StoredPolicy]:
        with self._lock:
            return list(self._policies.values())

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None

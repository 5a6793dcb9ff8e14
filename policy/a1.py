"""A1 policy management (A1AP v2 semantics): types, instances, status, notifications.

Raises the runtime's exception tree; ``policy.routes_a1`` turns it into A1 status codes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nextric.errors import ConflictError, NotFoundError, ResourceExhaustedError, ValidationError
from policy.destination import DestinationGuard
from policy.notify import Notifier
from policy.principal import Principal
from policy.storage import AuditRecord, Backend, StoredPolicy
from policy.types import SLICE_SLA_TYPE, PolicyType

ENFORCED: dict[str, Any] = {"enforceStatus": "ENFORCED"}


@dataclass
class Instance:
    """One policy instance in memory (the backend holds the durable copy)."""

    body: dict[str, Any]
    notify: str | None = None
    status: dict[str, Any] = field(default_factory=lambda: dict(ENFORCED))


class A1Service:
    """Policy types and instances; ``on_change`` tells the guardrail service to rebuild its policies."""

    def __init__(
        self,
        types: dict[str, PolicyType],
        backend: Backend,
        *,
        notifier: Notifier | None = None,
        destinations: DestinationGuard | None = None,
        max_policies: int = 1000,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._types = types
        self._backend = backend
        self._notifier = notifier
        self._destinations = destinations if destinations is not None else DestinationGuard()
        self._max = max_policies
        self._clock = clock
        self._on_change = on_change
        self._instances: dict[str, dict[str, Instance]] = {t: {} for t in types}
        self._lock = asyncio.Lock()

    async def load(self) -> int:
        """Read persisted instances (startup); returns how many were loaded."""
        stored = await asyncio.to_thread(self._backend.load_policies)
        for p in stored:
            if p.type_id in self._instances:
                self._instances[p.type_id][p.policy_id] = Instance(p.body, p.notification_destination)
        self._on_change()
        return len(stored)

    def set_on_change(self, callback: Callable[[], None]) -> None:
        """Register the listener for instance changes (the guardrail service's refresh)."""
        self._on_change = callback

    def type_ids(self) -> list[str]:
        return sorted(self._types)

    def policy_type(self, type_id: str) -> PolicyType:
        found = self._types.get(type_id)
        if found is None:
            raise NotFoundError(f"policy type {type_id!r} not found")
        return found

    def policy_ids(self, type_id: str) -> list[str]:
        self.policy_type(type_id)
        return sorted(self._instances[type_id])

    def instances(self, type_id: str) -> dict[str, Instance]:
        """Live view of one type's instances (read-only by convention)."""
        return self._instances.get(type_id, {})

    def _instance(self, type_id: str, policy_id: str) -> Instance:
        self.policy_type(type_id)
        found = self._instances[type_id].get(policy_id)
        if found is None:
            raise NotFoundError(f"policy {policy_id!r} of type {type_id!r} not found")
        return found

    def get(self, type_id: str, policy_id: str) -> dict[str, Any]:
        return self._instance(type_id, policy_id).body

    def status(self, type_id: str, policy_id: str) -> dict[str, Any]:
        return self._instance(type_id, policy_id).status

    async def put(
        self, who: Principal, type_id: str, policy_id: str, body: object, notify: str | None
    ) -> bool:
        """Create or replace an instance; True when created. The instance and its audit record are written in
        one transaction before it returns (a crash leaves both or neither)."""
        ptype = self.policy_type(type_id)
        _check_id(policy_id)
        ptype.validate(body)
        assert isinstance(body, dict)
        if notify is not None:
            await self._destinations.check(notify)
        async with self._lock:
            existing = self._instances[type_id].get(policy_id)
            if existing is None and sum(len(v) for v in self._instances.values()) >= self._max:
                raise ResourceExhaustedError(f"policy store is full ({self._max} instances)")
            if type_id == SLICE_SLA_TYPE:
                self._check_sla_conflict(policy_id, body)
            record = AuditRecord(
                "policy_put",
                who.name,
                self._clock(),
                who.role_names(),
                f"{type_id}/{policy_id}",
                "created" if existing is None else "updated",
                None,
                {
                    "policyTypeId": type_id,
                    "policyId": policy_id,
                    "policy": body,
                    "notificationDestination": notify,
                },
            )
            status = existing.status if existing is not None else dict(ENFORCED)

            def apply() -> None:
                self._instances[type_id][policy_id] = Instance(body, notify, status)

            await self._commit(
                lambda: self._backend.put_policy(StoredPolicy(type_id, policy_id, body, notify), record), apply
            )
        return existing is None

    async def delete(self, who: Principal, type_id: str, policy_id: str) -> None:
        """Delete an instance; the deletion and its audit record are one transaction."""
        async with self._lock:
            self._instance(type_id, policy_id)
            record = AuditRecord(
                "policy_delete",
                who.name,
                self._clock(),
                who.role_names(),
                f"{type_id}/{policy_id}",
                "deleted",
                None,
                {"policyTypeId": type_id, "policyId": policy_id},
            )
            await self._commit(
                lambda: self._backend.delete_policy(type_id, policy_id, record),
                lambda: self._instances[type_id].pop(policy_id, None),
            )

    async def _commit(self, write: Callable[[], object], apply: Callable[[], object]) -> None:
        """Run the store transaction ``write`` in a worker thread, then ``apply`` it to the in-memory view and tell
        the listener. A caller cancelled meanwhile (client gone) still waits for the transaction, so memory, and
        with it what the guardrail enforces, changes exactly when the store did."""
        task = asyncio.ensure_future(asyncio.to_thread(write))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is None:
                apply()
                self._on_change()
            raise
        apply()
        self._on_change()

    def set_status(self, type_id: str, policy_id: str, status: dict[str, Any]) -> None:
        """Update an instance's status; a change is sent to its notificationDestination."""
        inst = self._instances.get(type_id, {}).get(policy_id)
        if inst is None or inst.status == status:
            return
        inst.status = status
        if inst.notify and self._notifier is not None:
            self._notifier.notify(inst.notify, status)

    def _check_sla_conflict(self, policy_id: str, body: dict[str, Any]) -> None:
        scope = body["scope"]
        key = _slice_key(scope["sliceId"])
        cells = set(scope.get("cellIdList") or [])
        for other_id, other in self._instances[SLICE_SLA_TYPE].items():
            if other_id == policy_id:
                continue
            o_scope = other.body["scope"]
            o_cells = set(o_scope.get("cellIdList") or [])
            overlap = not cells or not o_cells or bool(cells & o_cells)
            if _slice_key(o_scope["sliceId"]) == key and overlap:
                raise ConflictError(f"policy {other_id!r} already targets this slice in overlapping cells")


def _slice_key(slice_id: dict[str, Any]) -> tuple[object, ...]:
    plmn = slice_id.get("plmnId", {})
    sd = slice_id.get("sd")
    return (plmn.get("mcc"), plmn.get("mnc"), slice_id["sst"], sd.lower() if sd else None)


def _check_id(policy_id: str) -> None:
    if not 1 <= len(policy_id) <= 256 or not policy_id.isprintable():
        raise ValidationError("policyId must be 1..256 printable characters")

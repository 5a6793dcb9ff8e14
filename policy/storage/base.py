"""The storage contract and the record types every backend stores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry: what happened (``kind``), who asked (``actor`` + ``roles``), on what (``subject``),
    the outcome (``decision``), why (``why``) and the full payload (``data``). ``ts`` is wall-clock epoch
    seconds; ``id`` is assigned by the backend (monotonic within one log)."""

    kind: str
    actor: str
    ts: float
    roles: tuple[str, ...] = ()
    subject: str | None = None
    decision: str | None = None
    why: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_json(self) -> str:
        body = asdict(self)
        body.pop("id")
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @staticmethod
    def from_json(raw: str | bytes, record_id: str) -> AuditRecord:
        body = json.loads(raw)
        body["roles"] = tuple(body.get("roles", ()))
        return AuditRecord(id=record_id, **body)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters (all optional, combined with AND) and a page: records after cursor ``after``, oldest first."""

    kind: str | None = None
    actor: str | None = None
    subject: str | None = None
    decision: str | None = None
    since: float | None = None
    until: float | None = None
    after: str | None = None
    limit: int = 100

    def matches(self, r: AuditRecord) -> bool:
        return (
            (self.kind is None or r.kind == self.kind)
            and (self.actor is None or r.actor == self.actor)
            and (self.subject is None or r.subject == self.subject)
            and (self.decision is None or r.decision == self.decision)
            and (self.since is None or r.ts >= self.since)
            and (self.until is None or r.ts < self.until)
        )


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """One A1 policy instance as persisted."""

    type_id: str
    policy_id: str
    body: dict[str, Any]
    notification_destination: str | None = None


class Backend(Protocol):
    """Blocking storage API (the service calls it from worker threads). Every write is durable on return;
    failures raise :class:`~nextric.errors.UnavailableError`. A policy write and its audit record are one
    transaction: after any crash either both are there or neither is."""

    name: str

    def append_many(self, records: Sequence[AuditRecord]) -> list[str]:
        """Append records in order, durably, in one batch; return their ids."""
        ...

    def query(self, q: AuditQuery) -> tuple[list[AuditRecord], str | None]:
        """One page of matching records and the cursor of the next page (``None`` at the end)."""
        ...

    def put_policy(self, policy: StoredPolicy, record: AuditRecord) -> str:
        """Create or replace ``policy`` and append its audit ``record`` in one transaction (both or neither are
        durable on return); the record's id."""
        ...

    def delete_policy(self, type_id: str, policy_id: str, record: AuditRecord) -> str:
        """Delete the instance and append its audit ``record`` in one transaction; the record's id."""
        ...

    def load_policies(self) -> list[StoredPolicy]: ...

    def ping(self) -> None:
        """Raise :class:`~nextric.errors.UnavailableError` when the store cannot be used."""
        ...

    def close(self) -> None: ...

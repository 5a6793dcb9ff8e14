"""Durable storage of the policy service: the append-only audit log and the A1 policy instances.

One :class:`~policy.storage.base.Backend` contract, three implementations: SQLite (embedded default, WAL +
synchronous writes), Redis (Streams for the audit log, a hash for policies) and in-memory (tests only).
"""

from policy.storage.base import AuditQuery, AuditRecord, Backend, StoredPolicy
from policy.storage.factory import open_backend
from policy.storage.writer import AuditWriter

__all__ = ["AuditQuery", "AuditRecord", "AuditWriter", "Backend", "StoredPolicy", "open_backend"]

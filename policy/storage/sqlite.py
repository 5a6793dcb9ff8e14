"""SQLite backend (embedded default): WAL journal, ``synchronous=FULL``, one transaction per audit batch and one
per policy write together with its audit record, so a record is on disk before its request is acknowledged,
survives ``kill -9``, and a policy is never in force without its record (nor a record without its write)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nextric.errors import UnavailableError
from policy.storage.base import AuditQuery, AuditRecord, StoredPolicy

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
    subject TEXT, decision TEXT, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_kind ON audit(kind);
CREATE INDEX IF NOT EXISTS audit_subject ON audit(subject);
CREATE TABLE IF NOT EXISTS policies (
    type_id TEXT NOT NULL, policy_id TEXT NOT NULL, body TEXT NOT NULL, notify TEXT,
    PRIMARY KEY (type_id, policy_id)
);
"""


class SqliteBackend:
    """One connection shared by the worker threads behind a lock (SQLite serialises writers anyway)."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise UnavailableError(f"cannot open SQLite store {path}: {exc}") from exc
        self._lock = threading.Lock()

    def append_many(self, records: Sequence[AuditRecord]) -> list[str]:
        with self._lock:
            try:
                cur = self._conn.cursor()
                cur.execute("BEGIN IMMEDIATE")
                ids = [_insert_audit(cur, r) for r in records]
                cur.execute("COMMIT")
                return ids
            except sqlite3.Error as exc:
                self._rollback()
                raise UnavailableError(f"audit append failed: {exc}") from exc

    def query(self, q: AuditQuery) -> tuple[list[AuditRecord], str | None]:
        where = ["id > ?"]
        args: list[Any] = [int(q.after) if q.after else 0]
        for column, value in (
            ("kind", q.kind),
            ("actor", q.actor),
            ("subject", q.subject),
            ("decision", q.decision),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if q.since is not None:
            where.append("ts >= ?")
            args.append(q.since)
        if q.until is not None:
            where.append("ts < ?")
            args.append(q.until)
        sql = f"SELECT id, body FROM audit WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        args.append(q.limit + 1)
        with self._lock:
            try:
                rows = self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise UnavailableError(f"audit query failed: {exc}") from exc
        page = [AuditRecord.from_json(body, str(rid)) for rid, body in rows[: q.limit]]
        more = len(rows) > q.limit
        return page, (page[-1].id if more and page else None)

    def put_policy(self, policy: StoredPolicy, record: AuditRecord) -> str:
        return self._write_audited(
            "INSERT INTO policies(type_id, policy_id, body, notify) VALUES (?,?,?,?) "
            "ON CONFLICT(type_id, policy_id) DO UPDATE SET body = excluded.body, notify = excluded.notify",
            (policy.type_id, policy.policy_id, json.dumps(policy.body), policy.notification_destination),
            record,
        )

    def delete_policy(self, type_id: str, policy_id: str, record: AuditRecord) -> str:
        return self._write_audited(
            "DELETE FROM policies WHERE type_id = ? AND policy_id = ?", (type_id, policy_id), record
        )

    def _write_audited(self, sql: str, args: tuple[Any, ...], record: AuditRecord) -> str:
        """The policy write and its audit record in one transaction (one fsync): both or neither survive."""
        with self._lock:
            try:
                cur = self._conn.cursor()
                cur.execute("BEGIN IMMEDIATE")
                cur.execute(sql, args)
                rid = _insert_audit(cur, record)
                cur.execute("COMMIT")
                return rid
            except sqlite3.Error as exc:
                self._rollback()
                raise UnavailableError(f"policy store write failed: {exc}") from exc

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the connection is unusable; the next write reports it
                self._conn.execute("ROLLBACK")

    def load_policies(self) -> list[StoredPolicy]:
        with self._lock:
            rows = self._conn.execute("SELECT type_id, policy_id, body, notify FROM policies").fetchall()
        return [StoredPolicy(t, p, json.loads(b), n) for t, p, b, n in rows]

    def ping(self) -> None:
        with self._lock:
            try:
                self._conn.execute("SELECT 1").fetchone()
            except sqlite3.Error as exc:
                raise UnavailableError(f"SQLite store unusable: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _insert_audit(cur: sqlite3.Cursor, r: AuditRecord) -> str:
    cur.execute(
        "INSERT INTO audit(ts, kind, actor, subject, decision, body) VALUES (?,?,?,?,?,?)",
        (r.ts, r.kind, r.actor, r.subject, r.decision, r.to_json()),
    )
    return str(cur.lastrowid)

"""The rApp's append-only audit log (SQLite, WAL, synchronous=FULL): every decision with its trace."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from nextric.errors import ConfigError


class AuditLog:
    """``on_append(kind)`` is called after each durable append (the rApp's metrics count them)."""

    def __init__(self, path: str, on_append: Callable[[str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._on_append = on_append
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT "
                             "NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, subject TEXT NOT NULL, why TEXT NOT NULL, "
                             "data TEXT NOT NULL)")
        except sqlite3.Error as exc:  # e.g. a relative path on a read-only root filesystem
            raise ConfigError(f"audit database {path!r} cannot be opened for writing ({exc}): set "
                              "NEXTRIC_RAPP_AUDIT_PATH to a file on a writable volume") from exc

    def append(self, kind: str, actor: str, subject: str, why: str, data: dict[str, Any]) -> int:
        with self._lock:
            cur = self._db.execute("INSERT INTO audit (ts, kind, actor, subject, why, data) VALUES (?,?,?,?,?,?)",
                                   (time.time(), kind, actor, subject, why, json.dumps(data, default=str)))
            row = int(cur.lastrowid or 0)
        if self._on_append is not None:
            self._on_append(kind)
        return row

    def query(self, subject: str | None = None, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        sql = "SELECT id, ts, kind, actor, subject, why, data FROM audit WHERE id > ?"
        args: list[Any] = [after]
        if subject:
            sql += " AND subject = ?"
            args.append(subject)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [{"id": r[0], "ts": r[1], "kind": r[2], "actor": r[3], "subject": r[4], "why": r[5],
                 "data": json.loads(r[6])} for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

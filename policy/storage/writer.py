"""Group commit for the audit log: concurrent appends share one durable write (one fsync per batch).

``await writer.append(record)`` returns only after the backend made the record durable; a failed batch
fails every append in it with :class:`~nextric.errors.UnavailableError`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future
from dataclasses import replace

from nextric.errors import NextricError, UnavailableError
from policy.storage.base import AuditRecord, Backend

_Item = tuple[AuditRecord, "Future[AuditRecord]"]


class AuditWriter:
    """A single writer thread drains a queue into ``backend.append_many`` in batches of ``batch_max``."""

    def __init__(self, backend: Backend, batch_max: int = 256) -> None:
        self._backend = backend
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    async def append(self, record: AuditRecord) -> AuditRecord:
        """The stored record (with its id), once durable."""
        fut: Future[AuditRecord] = Future()
        self._queue.put((record, fut))
        return await asyncio.wrap_future(fut)

    def close(self) -> None:
        if self._started:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._started = False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < self._batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._flush(batch)
            if stop:
                return

    def _flush(self, batch: list[_Item]) -> None:
        try:
            ids = self._backend.append_many([r for r, _ in batch])
        except NextricError as exc:
            for _, fut in batch:
                fut.set_exception(exc)
            return
        except Exception as exc:  # a backend bug must not kill the writer thread
            for _, fut in batch:
                fut.set_exception(UnavailableError(f"audit append failed: {exc}"))
            return
        for (record, fut), rid in zip(batch, ids, strict=True):
            fut.set_result(replace(record, id=rid))

"""The per-node tasks of an xApp: one task per E2 node it follows, kept in sync with the nodes it should follow.

Every xApp subscribes node by node (one indication stream each) and must, on every refresh: start a task for a
node that appeared (or was assigned to it), restart one whose task ended (its stream gave up), and stop the
task of a node that went away (or moved to another replica). On shutdown every task ends before the app returns.
A stopped task is cancelled and kept until it has really ended, so nothing of a released node keeps running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from nextric.e2.v1 import e2ap_pb2

NodeLoop = Callable[[e2ap_pb2.E2NodeInfo], Coroutine[Any, Any, None]]


class NodeTasks:
    def __init__(self, loop: NodeLoop) -> None:
        self._loop = loop
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._tasks

    def any_done(self) -> bool:
        """A followed node's task ended (its stream gave up): time to refresh."""
        return any(t.done() for t in self._tasks.values())

    def sync(self, wanted: Mapping[str, e2ap_pb2.E2NodeInfo]) -> list[str]:
        """Follow exactly the nodes in ``wanted`` (node id -> info); returns the ids no longer followed."""
        dropped = []
        for nid in list(self._tasks):
            if nid not in wanted or self._tasks[nid].done():
                task = self._tasks.pop(nid)
                task.cancel()
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
                if nid not in wanted:
                    dropped.append(nid)
        for nid in sorted(set(wanted) - set(self._tasks)):
            self._tasks[nid] = asyncio.create_task(self._loop(wanted[nid]), name=f"node {nid}")
        for task in list(self._stopping):  # cancel again what has not ended yet
            task.cancel()
        return dropped

    async def close(self) -> None:
        """Cancel every task and wait until all have ended."""
        pending = set(self._tasks.values()) | self._stopping
        self._tasks.clear()
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)

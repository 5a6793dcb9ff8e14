"""NodeTasks: one task per followed E2 node, kept in sync; released and closed tasks really end."""

from __future__ import annotations

import asyncio

from nextric.e2.node_tasks import NodeTasks
from nextric.e2.v1 import e2ap_pb2


def info(nid: str) -> e2ap_pb2.E2NodeInfo:
    return e2ap_pb2.E2NodeInfo(node_id=nid)


async def test_sync_starts_restarts_and_drops() -> None:
    started: list[str] = []
    release: dict[str, asyncio.Event] = {}

    async def loop(node: e2ap_pb2.E2NodeInfo) -> None:
        started.append(node.node_id)
        release[node.node_id] = ev = asyncio.Event()
        await ev.wait()  # the stream "gives up" when set

    tasks = NodeTasks(loop)
    assert tasks.sync({"a": info("a"), "b": info("b")}) == []
    await asyncio.sleep(0)
    assert sorted(started) == ["a", "b"]
    assert len(tasks) == 2
    assert "a" in tasks
    release["a"].set()  # a's loop ends: the next sync restarts it and drops nothing
    await asyncio.sleep(0)
    assert tasks.any_done()
    assert tasks.sync({"a": info("a"), "b": info("b")}) == []
    await asyncio.sleep(0)
    assert started.count("a") == 2
    assert tasks.sync({"a": info("a")}) == ["b"]  # b moved to another replica
    assert "b" not in tasks
    await tasks.close()
    assert len(tasks) == 0


async def test_a_released_task_that_swallows_its_cancel_is_cancelled_again() -> None:
    """A library that loses a cancel (redis-py#2028) must not keep a released node's loop alive: the next sync
    cancels it again, and close() waits until every task has ended."""
    rounds: list[int] = []

    async def stubborn(node: e2ap_pb2.E2NodeInfo) -> None:
        for i in range(2):  # swallows the first cancel, as a racing library call can
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                rounds.append(i)
                if i == 1:
                    raise

    tasks = NodeTasks(stubborn)
    tasks.sync({"a": info("a")})
    await asyncio.sleep(0)
    tasks.sync({})  # released: first cancel (swallowed)
    await asyncio.sleep(0)
    assert rounds == [0]
    tasks.sync({})  # the next refresh cancels it again
    await asyncio.sleep(0)
    assert rounds == [0, 1]
    tasks.sync({"b": info("b")})
    await asyncio.wait_for(tasks.close(), 5.0)  # b swallows one cancel too; close still returns
    assert rounds == [0, 1, 0, 1]

"""asyncio helpers shared by the adapters.

Some client libraries lose a task's cancellation when it races the completion of a call: redis-py's asyncio
client (redis/redis-py#2028, #2551: the cancel lands in an internal timeout block and the command returns
normally) and grpc.aio's unary calls (the cancel is turned into an ``AioRpcError``). A task that loses its
cancel keeps running after its owner asked it to stop: an xApp's node loop released on a rebalance would go
on controlling a node another replica now owns. ``Task.cancelling()`` still counts the request, so the
adapters call :func:`raise_if_cancelling` after each such library call and the cancel is not lost.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise ``CancelledError`` if the current task has a pending cancel request that was swallowed."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
